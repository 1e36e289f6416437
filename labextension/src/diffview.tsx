import { ITranslator, nullTranslator, TranslationBundle } from '@jupyterlab/translation';
import { refreshIcon, UseSignal } from '@jupyterlab/ui-components';
import * as React from 'react';
import { DiffSection, IDiff } from './api';
import { DiffSections, DiffState, DIFF_SECTIONS, SectionCount } from './components/diff/sections';
import { IDiffProps, RunLabel, sectionLabel, Summary } from './components/diff/values';
import { StatusBadge } from './components/table';
import { DiffModel } from './diffmodel';
import { formatDateTime, formatDuration, formatTime } from './format';
import { mlpIcon } from './icons';
import { ModelWidget } from './visible';

export namespace DiffView {
  export interface IOptions {
    model: DiffModel;
    translator?: ITranslator;
    /** Open one run's own view. */
    openRun?: (runId: string) => void;
  }
}

/**
 * Runs side by side in the main area: a one-glance summary, then params,
 * metrics (values and overlaid curves), code, environment, artifacts, tags
 * and attributes, from one answer of the server.
 */
export class DiffView extends ModelWidget {
  constructor(options: DiffView.IOptions) {
    super();
    this.model = options.model;
    this._openRun = options.openRun;
    this._trans = (options.translator ?? nullTranslator).load('jupyter_mlp');
    this.addClass('jp-mlp-DiffView');
    this.title.icon = mlpIcon;
    this.title.closable = true;
    this._updateTitle();
    this.model.changed.connect(this._updateTitle, this);
  }

  readonly model: DiffModel;

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this.model.dispose();
    super.dispose();
  }

  render(): JSX.Element {
    return (
      <UseSignal signal={this.model.changed}>
        {() => <DiffPage model={this.model} trans={this._trans} openRun={this._openRun} />}
      </UseSignal>
    );
  }

  private _updateTitle(): void {
    const runs = this.model.diff?.runs;
    this.title.label =
      runs && runs.length === 2
        ? this._trans.__('%1 ↔ %2', runs[0].label, runs[1].label)
        : this._trans.__('Compare %1 runs', runs?.length ?? this.model.runIds.length);
    this.title.caption = runs
      ? this._trans.__('Comparison of %1', runs.map(r => `${r.label} (${r.id})`).join(', '))
      : this.model.runIds.join(', ');
  }

  private _openRun?: (runId: string) => void;
  private _trans: TranslationBundle;
}

/** The page of a DiffView: its states, header, summary and sections. */
export function DiffPage(props: { model: DiffModel; trans: TranslationBundle; openRun?: (runId: string) => void }): JSX.Element {
  const { model, trans, openRun } = props;
  const sections = React.useRef(new Map<DiffSection, HTMLElement>());
  const diff = model.diff;
  if (!diff) {
    return (
      <div className="jp-mlp-RunPage jp-mlp-DiffPage">
        <DiffState model={model} trans={trans} />
      </div>
    );
  }
  const goTo = (section: DiffSection) => sections.current.get(section)?.scrollIntoView({ block: 'start', behavior: 'smooth' });
  const mount = (section: DiffSection, node: HTMLElement | null) => {
    if (node) {
      sections.current.set(section, node);
    } else {
      sections.current.delete(section);
    }
  };
  return (
    <div className="jp-mlp-RunPage jp-mlp-DiffPage" aria-busy={model.busy}>
      <DiffHeader model={model} diff={diff} trans={trans} onSection={goTo} />
      <RunsStrip diff={diff} trans={trans} onOpen={openRun} />
      <Summary model={model} diff={diff} trans={trans} onSection={goTo} />
      <DiffSections model={model} diff={diff} trans={trans} mount={mount} />
    </div>
  );
}

/** The title, the toolbar (show unchanged, refresh) and links to the sections. */
function DiffHeader(props: IDiffProps & { onSection: (section: DiffSection) => void }): JSX.Element {
  const { model, diff, trans, onSection } = props;
  return (
    <header className="jp-mlp-DiffHeader">
      <div className="jp-mlp-RunHeader-title">
        <h1 className="jp-mlp-RunHeader-name">{trans._n('Comparing %1 run', 'Comparing %1 runs', diff.runs.length)}</h1>
        {diff.live && (
          <span className="jp-mlp-Badge jp-mlp-mod-live" title={trans.__('A run is still running: this comparison refreshes by itself.')}>
            {trans.__('live')}
          </span>
        )}
        <span className="jp-mlp-RunHeader-spacer" />
        {model.busy && <span className="jp-mlp-Spinner jp-mlp-Spinner-small" role="status" aria-label={trans.__('Loading')} />}
        {model.updatedAt !== null && (
          <span className="jp-mlp-muted">{trans.__('as of %1', formatTime(model.updatedAt / 1000))}</span>
        )}
        <label className="jp-mlp-Check jp-mlp-DiffShowUnchanged" title={trans.__('Also list params, packages, cells… that are the same in every run')}>
          <input type="checkbox" checked={!model.onlyChanged} onChange={e => void model.setOnlyChanged(!e.target.checked)} />
          {trans.__('Show unchanged')}
        </label>
        <button className="jp-mlp-IconButton" title={trans.__('Refresh now')} onClick={() => void model.refresh()}>
          <refreshIcon.react tag="span" />
        </button>
      </div>
      {model.error && (
        <div className="jp-mlp-RunHeader-reason" role="alert">
          {trans.__('Could not update the comparison: %1. What is shown is from before.', model.error.message)}
        </div>
      )}
      <nav className="jp-mlp-DiffNav" aria-label={trans.__('Sections')}>
        {DIFF_SECTIONS.map(section => (
          <button key={section} className="jp-mlp-LinkButton" onClick={() => onSection(section)}>
            {sectionLabel(section, trans)}
            <SectionCount diff={diff} section={section} trans={trans} />
          </button>
        ))}
      </nav>
    </header>
  );
}

/** The runs compared, baseline first; a click opens a run's own view. */
export function RunsStrip(props: { diff: IDiff; trans: TranslationBundle; onOpen?: (runId: string) => void }): JSX.Element {
  const { diff, trans, onOpen } = props;
  return (
    <ol className="jp-mlp-DiffRuns">
      {diff.runs.map((run, i) => (
        <li key={run.id} className="jp-mlp-DiffRuns-run" data-run-id={run.id}>
          <RunLabel run={run} index={i} />
          {i === 0 && <span className="jp-mlp-Badge">{trans.__('baseline')}</span>}
          <StatusBadge status={run.status} trans={trans} />
          <span className="jp-mlp-muted">
            {run.experiment} · {formatDateTime(run.start_time)} · {formatDuration(run.duration)}
          </span>
          {onOpen && (
            <button className="jp-mlp-LinkButton" title={trans.__('Open this run’s view')} onClick={() => onOpen(run.id)}>
              {trans.__('open')}
            </button>
          )}
        </li>
      ))}
    </ol>
  );
}
