import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';
import { IAuditEvent, IModelVersion, Stage, STAGES } from '../../api';
import { formatDateTime } from '../../format';
import { ModelPageModel } from '../../registrymodel';
import { StageBadge, stageLabel } from './badges';

/** The versions, newest first: stage, aliases, who made it and when, its run (opens it), a promotion request. */
export function Versions(props: { model: ModelPageModel; trans: TranslationBundle; openRun: (runId: string) => void }): JSX.Element {
  const { model, trans, openRun } = props;
  const versions = model.model?.versions ?? [];
  return (
    <section className="jp-mlp-Section jp-mlp-Versions" aria-label={trans.__('Versions')}>
      <h2 className="jp-mlp-Section-title">{trans.__('Versions')}</h2>
      {versions.length === 0 ? (
        <p className="jp-mlp-muted">{trans.__('No versions yet: mlp.register_model(run, "%1") makes one.', model.name)}</p>
      ) : (
        <table className="jp-mlp-VersionTable">
          <thead>
            <tr>
              <th>{trans.__('Version')}</th>
              <th>{trans.__('Stage')}</th>
              <th>{trans.__('Aliases')}</th>
              <th>{trans.__('Created')}</th>
              <th>{trans.__('Run')}</th>
              <th>{trans.__('Description')}</th>
              <th>{trans.__('Request a stage')}</th>
            </tr>
          </thead>
          <tbody>
            {versions.map(v => (
              <VersionRow key={v.version} version={v} model={model} trans={trans} openRun={openRun} />
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function VersionRow(props: {
  version: IModelVersion;
  model: ModelPageModel;
  trans: TranslationBundle;
  openRun: (runId: string) => void;
}): JSX.Element {
  const { version: v, model, trans, openRun } = props;
  return (
    <tr className="jp-mlp-Version" data-version={v.version} data-stage={v.stage}>
      <td className="jp-mlp-Version-number">v{v.version}</td>
      <td>
        <StageBadge stage={v.stage} trans={trans} />
      </td>
      <td>
        {(v.aliases ?? []).map(a => (
          <span key={a} className="jp-mlp-Alias">
            @{a}
          </span>
        ))}
      </td>
      <td>
        {v.created_by ?? '—'}
        <div className="jp-mlp-muted">{formatDateTime(v.created_at)}</div>
      </td>
      <td>
        <button
          className="jp-mlp-LinkButton jp-mlp-RunLink"
          data-run-id={v.run_id}
          title={trans.__('Open run %1 (%2)', v.run_id, v.source)}
          onClick={() => openRun(v.run_id)}
        >
          {v.run_id.slice(0, 8)}
        </button>
      </td>
      <td className="jp-mlp-Version-description">{v.description ?? ''}</td>
      <td>
        <PromotionForm version={v} model={model} trans={trans} />
      </td>
    </tr>
  );
}

/** A stage picker, a comment and Request: the gate of that stage decides the rest. */
function PromotionForm(props: { version: IModelVersion; model: ModelPageModel; trans: TranslationBundle }): JSX.Element {
  const { version: v, model, trans } = props;
  const choices = STAGES.filter(s => s !== v.stage);
  const [stage, setStage] = React.useState<Stage>(choices.includes('production') ? 'production' : choices[0]);
  const [comment, setComment] = React.useState('');
  const busy = model.busy === `version:${v.version}`;
  return (
    <form
      className="jp-mlp-Promote"
      onSubmit={e => {
        e.preventDefault();
        void model.requestStage(v.version, stage, comment).then(ok => ok && setComment(''));
      }}
    >
      <select
        className="jp-mlp-Promote-stage"
        value={stage}
        aria-label={trans.__('Stage for version %1', v.version)}
        onChange={e => setStage(e.target.value as Stage)}
      >
        {choices.map(s => (
          <option key={s} value={s}>
            {stageLabel(s, trans)}
          </option>
        ))}
      </select>
      <input
        className="jp-mlp-Promote-comment"
        type="text"
        value={comment}
        placeholder={trans.__('Why (optional)')}
        aria-label={trans.__('Comment for version %1', v.version)}
        onChange={e => setComment(e.target.value)}
      />
      <button className="jp-mlp-Button" type="submit" disabled={busy} title={trans.__('Ask to move version %1 to this stage', v.version)}>
        {trans.__('Request')}
      </button>
    </form>
  );
}

/** What an audit action says, in words. */
function actionLabel(action: string, trans: TranslationBundle): string {
  const labels: Record<string, string> = {
    model_created: trans.__('created the model'),
    version_created: trans.__('registered'),
    stage_changed: trans.__('moved'),
    alias_set: trans.__('set alias'),
    alias_removed: trans.__('removed alias'),
    request_made: trans.__('requested'),
    approved: trans.__('approved'),
    rejected: trans.__('rejected'),
    applied: trans.__('applied'),
    cancelled: trans.__('cancelled'),
    policy_changed: trans.__('changed the policy'),
    tags_set: trans.__('set tags')
  };
  return labels[action] ?? action;
}

/**
 * What changed: from → to; only the new value when there was none before (a
 * version's source); a policy's JSON in the tooltip, too long for the line.
 */
function Change(props: { event: IAuditEvent }): JSX.Element | null {
  const { event: e } = props;
  if (e.action === 'policy_changed') {
    return (
      <span className="jp-mlp-Timeline-change jp-mlp-muted" title={`${e.from ?? '—'}\n→ ${e.to ?? '—'}`}>
        {' …'}
      </span>
    );
  }
  if (e.from === null && e.to === null) {
    return null;
  }
  return <span className="jp-mlp-Timeline-change"> {e.from === null ? e.to : `${e.from} → ${e.to ?? '—'}`}</span>;
}

/** The audit log as a timeline, newest first: who, when, what, which version, from → to, the comment. */
export function AuditTimeline(props: { events: IAuditEvent[]; trans: TranslationBundle }): JSX.Element {
  const { events, trans } = props;
  return (
    <section className="jp-mlp-Section jp-mlp-Audit" aria-label={trans.__('Audit log')}>
      <h2 className="jp-mlp-Section-title">{trans.__('Audit log')}</h2>
      {events.length === 0 ? (
        <p className="jp-mlp-muted">{trans.__('Nothing recorded yet.')}</p>
      ) : (
        <ol className="jp-mlp-Timeline">
          {events.map(e => (
            <li key={e.id} className="jp-mlp-Timeline-event" data-action={e.action} data-version={e.version ?? ''}>
              <time className="jp-mlp-Timeline-at" dateTime={new Date(e.at * 1000).toISOString()}>
                {formatDateTime(e.at)}
              </time>
              <span className="jp-mlp-Timeline-actor">{e.actor ?? trans.__('someone')}</span>{' '}
              <span className="jp-mlp-Timeline-action">{actionLabel(e.action, trans)}</span>
              {e.version !== null && <span className="jp-mlp-Timeline-version"> v{e.version}</span>}
              <Change event={e} />
              {e.request_id !== null && <span className="jp-mlp-muted"> #{e.request_id}</span>}
              {e.comment && <q className="jp-mlp-Timeline-comment">{e.comment}</q>}
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
