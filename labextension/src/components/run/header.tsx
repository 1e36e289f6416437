import { Clipboard } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { copyIcon, refreshIcon } from '@jupyterlab/ui-components';
import * as React from 'react';
import { IRun } from '../../api';
import { formatDateTime, formatDuration } from '../../format';
import { RunModel } from '../../runmodel';
import { StageBadge } from '../registry/badges';
import { StatusBadge } from '../table';

/** What a run view can ask of the application around it. */
export interface IRunActions {
  /** Open another run's view (parent, child). */
  openRun(runId: string): void;
  /** Open a registered model's view (the versions made from the run). */
  openModel?(name: string): void;
  /** The path of a file under the Jupyter server's root (null: outside it, or unknown). */
  serverPath?(path: string): string | null;
  /** Open a file of the Jupyter server by its path under the root (the run's notebook). */
  openPath?(path: string): void;
}

/** Children listed by name before "and N more". */
const CHILDREN_SHOWN = 12;

/**
 * Who, when, where from: status, name and experiment; start, end, duration,
 * user and host; the notebook or script (opens it); the id (copies it);
 * parent and children (open them); tags; why it failed.
 */
export function RunHeader(props: { model: RunModel; trans: TranslationBundle; actions: IRunActions }): JSX.Element | null {
  const { model, trans, actions } = props;
  const run = model.run;
  if (!run) {
    return null;
  }
  const source = run.source_name;
  const local = source ? (actions.serverPath?.(source) ?? null) : null;
  const sourceLabel =
    run.source_type === 'notebook' ? trans.__('Notebook') : run.source_type === 'script' ? trans.__('Script') : trans.__('Source');
  const tags = Object.entries(run.tags ?? {});
  return (
    <header className="jp-mlp-RunHeader">
      <div className="jp-mlp-RunHeader-title">
        <StatusBadge status={run.status} trans={trans} />
        <h1 className="jp-mlp-RunHeader-name">{run.name}</h1>
        <span className="jp-mlp-RunHeader-experiment" title={trans.__('Experiment')}>
          {run.experiment}
        </span>
        <span className="jp-mlp-RunHeader-spacer" />
        <button className="jp-mlp-IconButton" title={trans.__('Refresh now')} onClick={() => void model.refresh()}>
          <refreshIcon.react tag="span" />
        </button>
      </div>
      {run.deleted_at !== null && run.deleted_at !== undefined && (
        <div className="jp-mlp-RunHeader-banner" role="status">
          {trans.__('This run is deleted: searches skip it. mlp.restore_run("%1") brings it back.', run.id)}
        </div>
      )}
      {run.status_reason && run.status !== 'finished' && run.status !== 'running' && (
        <div className="jp-mlp-RunHeader-reason" role="status">
          {run.status_reason}
        </div>
      )}
      <dl className="jp-mlp-Facts">
        <Fact label={trans.__('Started')}>{formatDateTime(run.start_time)}</Fact>
        <Fact label={trans.__('Ended')}>
          {run.end_time ? formatDateTime(run.end_time) : run.status === 'running' ? trans.__('still running') : '—'}
        </Fact>
        <Fact label={trans.__('Duration')}>{formatDuration(run.duration)}</Fact>
        <Fact label={trans.__('User')}>
          {run.user ?? '—'}
          {run.host && <span className="jp-mlp-muted"> {trans.__('on %1', run.host)}</span>}
        </Fact>
        {source && (
          <Fact label={sourceLabel}>
            {actions.openPath && local !== null ? (
              <button
                className="jp-mlp-LinkButton jp-mlp-RunHeader-source"
                title={trans.__('Open %1', source)}
                onClick={() => actions.openPath?.(local)}
              >
                {local}
              </button>
            ) : (
              <code className="jp-mlp-RunHeader-source" title={source}>
                {source}
              </code>
            )}
          </Fact>
        )}
        <Fact label={trans.__('Run id')}>
          <code className="jp-mlp-RunHeader-id">{run.id}</code>
          <button
            className="jp-mlp-IconButton"
            title={trans.__('Copy the run id')}
            onClick={() => Clipboard.copyToSystem(run.id)}
          >
            <copyIcon.react tag="span" />
          </button>
        </Fact>
        {(run.models ?? []).length > 0 && (
          <Fact label={trans.__('Registered as')}>
            <span className="jp-mlp-RunHeader-models">
              {(run.models ?? []).map(m => (
                <button
                  key={`${m.name}/${m.version}`}
                  className="jp-mlp-LinkButton jp-mlp-ModelLink"
                  data-model={m.name}
                  data-version={m.version}
                  disabled={!actions.openModel}
                  title={trans.__('Open model %1 (version %2, %3)', m.name, m.version, m.stage)}
                  onClick={() => actions.openModel?.(m.name)}
                >
                  {m.name} v{m.version}
                  {m.stage !== 'none' && <StageBadge stage={m.stage} trans={trans} />}
                </button>
              ))}
            </span>
          </Fact>
        )}
        {run.parent_id && (
          <Fact label={trans.__('Parent')}>
            <RunLink run={model.parent} id={run.parent_id} trans={trans} actions={actions} />
          </Fact>
        )}
        {model.children.length > 0 && (
          <Fact label={trans._n('%1 child run', '%1 child runs', model.children.length)}>
            <span className="jp-mlp-RunHeader-children">
              {model.children.slice(0, CHILDREN_SHOWN).map(child => (
                <RunLink key={child.id} run={child} id={child.id} trans={trans} actions={actions} />
              ))}
              {model.children.length > CHILDREN_SHOWN && (
                <span className="jp-mlp-muted">
                  {trans.__('and %1 more (filter the sidebar with parent_id = \'%2\')', model.children.length - CHILDREN_SHOWN, run.id)}
                </span>
              )}
            </span>
          </Fact>
        )}
      </dl>
      {tags.length > 0 && (
        <ul className="jp-mlp-Tags" aria-label={trans.__('Tags')}>
          {tags.map(([k, v]) => (
            <li key={k} className="jp-mlp-Tag" title={`${k} = ${v}`}>
              <span className="jp-mlp-Tag-key">{k}</span>
              <span className="jp-mlp-Tag-value">{v}</span>
            </li>
          ))}
        </ul>
      )}
    </header>
  );
}

function Fact(props: { label: string; children: React.ReactNode }): JSX.Element {
  return (
    <div className="jp-mlp-Fact">
      <dt>{props.label}</dt>
      <dd>{props.children}</dd>
    </div>
  );
}

/** A run's name (its id while unknown) that opens its view. */
function RunLink(props: { run: IRun | null; id: string; trans: TranslationBundle; actions: IRunActions }): JSX.Element {
  const { run, id, trans } = props;
  return (
    <button
      className="jp-mlp-LinkButton jp-mlp-RunLink"
      data-run-id={id}
      title={trans.__('Open run %1', run ? `${run.experiment}/${run.name}` : id)}
      onClick={() => props.actions.openRun(id)}
    >
      {run && <span className={`jp-mlp-StatusDot jp-mlp-mod-${run.status}`} />}
      {run ? run.name : id.slice(0, 8)}
    </button>
  );
}
