import { ITranslator, nullTranslator, TranslationBundle } from '@jupyterlab/translation';
import { refreshIcon, UseSignal } from '@jupyterlab/ui-components';
import * as React from 'react';
import { ExperimentList } from './components/experiments';
import { FilterBox } from './components/filter';
import { HealthStrip } from './components/health';
import { RunsState } from './components/states';
import { ColumnPicker, Pager, RunsTable } from './components/table';
import { MAX_COMPARED } from './diffmodel';
import { ModelList } from './components/registry/list';
import { mlpIcon } from './icons';
import { RunsModel } from './model';
import { ModelsModel } from './registrymodel';
import { ModelWidget } from './visible';

/** The ML Platform sidebar: health, experiments, the filter and the runs of the model. */
export class RunsPanel extends ModelWidget {
  /**
   * `openRun` opens a run's view in the main area (double-click, Enter, or Open);
   * `compareRuns` opens the comparison of the selected runs (Compare).
   */
  constructor(
    model: RunsModel,
    translator: ITranslator = nullTranslator,
    openRun?: (runId: string) => void,
    compareRuns?: (runIds: string[]) => void,
    registry?: { model: ModelsModel; openModel: (name: string) => void }
  ) {
    super();
    this.model = model;
    this.registry = registry?.model ?? null;
    this._openModel = registry?.openModel;
    this.registry?.changed.connect(() => this.setActive(this.isVisible), this);
    this._openRun = openRun;
    this._compareRuns = compareRuns;
    this._trans = translator.load('jupyter_mlp');
    this.id = 'jp-mlp-sidebar';
    this.addClass('jp-mlp-RunsPanel');
    this.title.icon = mlpIcon;
    this.title.caption = this._trans.__('ML Platform');
  }

  readonly model: RunsModel;
  /** The model registry's list, shown instead of the runs when `registry.open`. */
  readonly registry: ModelsModel | null;

  /** Only the section shown polls: the runs, or the registry. */
  protected setActive(active: boolean): void {
    const registry = this.registry?.open ?? false;
    this.model.setActive(active && !registry);
    this.registry?.setActive(active && registry);
  }

  render(): JSX.Element {
    const runs = () => <RunsBrowser model={this.model} trans={this._trans} onOpen={this._openRun} onCompare={this._compareRuns} />;
    const registry = this.registry;
    if (!registry) {
      return <UseSignal signal={this.model.changed}>{runs}</UseSignal>;
    }
    return (
      <UseSignal signal={registry.changed}>
        {() => (
          <div className="jp-mlp-Browser">
            <header className="jp-mlp-Header">
              <h2 className="jp-mlp-Title">{this._trans.__('ML Platform')}</h2>
              <button
                className="jp-mlp-IconButton"
                title={this._trans.__('Refresh now')}
                onClick={() => void (registry.open ? registry.refresh() : this.model.refresh())}
              >
                <refreshIcon.react tag="span" />
              </button>
            </header>
            <div className="jp-mlp-Sections" role="tablist" aria-label={this._trans.__('ML Platform sections')}>
              {([false, true] as const).map(open => (
                <button
                  key={String(open)}
                  role="tab"
                  data-section={open ? 'registry' : 'runs'}
                  className={`jp-mlp-Tab${registry.open === open ? ' jp-mod-selected' : ''}`}
                  aria-selected={registry.open === open}
                  onClick={() => registry.setOpen(open)}
                >
                  {open ? this._trans.__('Registry') : this._trans.__('Runs')}
                </button>
              ))}
            </div>
            {registry.open ? (
              <ModelList model={registry} trans={this._trans} onOpen={this._openModel} />
            ) : (
              <UseSignal signal={this.model.changed}>{() => runs()}</UseSignal>
            )}
          </div>
        )}
      </UseSignal>
    );
  }

  private _openModel?: (name: string) => void;
  private _compareRuns?: (runIds: string[]) => void;
  private _openRun?: (runId: string) => void;
  private _trans: TranslationBundle;
}

/** Runs opened at once from a selection, at most. */
const OPEN_AT_ONCE = 10;

function RunsBrowser(props: {
  model: RunsModel;
  trans: TranslationBundle;
  onOpen?: (runId: string) => void;
  onCompare?: (runIds: string[]) => void;
}): JSX.Element {
  const { model, trans, onOpen, onCompare } = props;
  const selected = model.selection.length;
  return (
    <div className="jp-mlp-Browser jp-mlp-RunsBrowser">
      <header className="jp-mlp-Header">
        <h2 className="jp-mlp-Title">{trans.__('ML Platform')}</h2>
        <button className="jp-mlp-IconButton" title={trans.__('Refresh now')} onClick={() => void model.refresh()}>
          <refreshIcon.react tag="span" />
        </button>
      </header>
      <HealthStrip model={model} trans={trans} />
      <ExperimentList model={model} trans={trans} />
      <FilterBox model={model} trans={trans} />
      <div className="jp-mlp-Toolbar">
        {model.runs.length > 0 ? <ColumnPicker model={model} trans={trans} /> : <span />}
        {selected > 0 && (
          <span className="jp-mlp-Selection">
            {trans._n('%1 run selected', '%1 runs selected', selected)}
            {onOpen && (
              <button
                className="jp-mlp-LinkButton jp-mlp-OpenSelected"
                title={trans.__('Open the selected runs in the main area')}
                onClick={() => model.selection.slice(0, OPEN_AT_ONCE).forEach(onOpen)}
              >
                {trans.__('open')}
              </button>
            )}
            {onCompare && (
              <CompareButton selection={model.selection} trans={trans} onCompare={onCompare} />
            )}
            <button className="jp-mlp-LinkButton" onClick={() => model.clearSelection()}>
              {trans.__('clear')}
            </button>
          </span>
        )}
      </div>
      {model.runs.length > 0 && <RunsTable model={model} trans={trans} onOpen={onOpen} />}
      <RunsState model={model} trans={trans} />
      <Pager model={model} trans={trans} />
    </div>
  );
}

/** Compare the selected runs, in the order they were selected (the first is the baseline). */
function CompareButton(props: { selection: string[]; trans: TranslationBundle; onCompare: (runIds: string[]) => void }): JSX.Element {
  const { selection, trans, onCompare } = props;
  const n = selection.length;
  const title =
    n < 2
      ? trans.__('Select two or more runs to compare them (Ctrl- or Shift-click)')
      : n > MAX_COMPARED
        ? trans.__('Compare at most %1 runs at once', MAX_COMPARED)
        : trans.__('Compare the selected runs; the first selected is the baseline');
  return (
    <button
      className="jp-mlp-LinkButton jp-mlp-CompareSelected"
      title={title}
      disabled={n < 2 || n > MAX_COMPARED}
      onClick={() => onCompare(selection)}
    >
      {trans.__('Compare')}
    </button>
  );
}
