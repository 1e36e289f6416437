import { ITranslator, nullTranslator, TranslationBundle } from '@jupyterlab/translation';
import { refreshIcon, UseSignal } from '@jupyterlab/ui-components';
import { Signal } from '@lumino/signaling';
import * as React from 'react';
import { ExperimentList } from './components/experiments';
import { FilterBox } from './components/filter';
import { HealthStrip } from './components/health';
import { RunsState } from './components/states';
import { ColumnPicker, Pager, RunsTable } from './components/table';
import { MAX_COMPARED } from './diffmodel';
import { FeaturesModel } from './featuresmodel';
import { FeaturesSection } from './featuresview';
import { JobsModel } from './jobsmodel';
import { JobsSection } from './jobsview';
import { ModelList } from './components/registry/list';
import { mlpIcon } from './icons';
import { RunsModel } from './model';
import { ModelsModel } from './registrymodel';
import { ModelWidget } from './visible';

/** Which part of the sidebar shows: the runs, the model registry, the feature store, or the jobs on Ray. */
export type Section = 'runs' | 'registry' | 'features' | 'jobs';

/** The ML Platform sidebar: health, experiments, the filter and the runs of the model; the registry, the feature store and the jobs beside them. */
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
    registry?: { model: ModelsModel; openModel: (name: string) => void },
    features?: FeaturesModel,
    jobs?: JobsModel
  ) {
    super();
    this.model = model;
    this.registry = registry?.model ?? null;
    this.features = features ?? null;
    this.jobs = jobs ?? null;
    this._openModel = registry?.openModel;
    this.registry?.changed.connect(this._onSectionState, this);
    this.features?.changed.connect(this._onSectionState, this);
    this.jobs?.changed.connect(this._onSectionState, this);
    this._section = this.section;
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
  /** The feature views, shown instead of the runs and the registry when `features.open`. */
  readonly features: FeaturesModel | null;
  /** The jobs on Ray, shown instead of the other sections when `jobs.open`. */
  readonly jobs: JobsModel | null;

  /** The section shown: the jobs, the feature store or the registry when open, else the runs. */
  get section(): Section {
    return this.jobs?.open ? 'jobs' : this.features?.open ? 'features' : this.registry?.open ? 'registry' : 'runs';
  }

  /** Show a section; the others close, so a reload brings back this one. */
  setSection(section: Section): void {
    // the section shown opens before the others close (the jobs show over the feature store,
    // the feature store over the registry), so no section in between shows and polls
    const sections: [Section, { setOpen(open: boolean): void } | null][] = [
      ['registry', this.registry],
      ['features', this.features],
      ['jobs', this.jobs]
    ];
    sections.find(([key]) => key === section)?.[1]?.setOpen(true);
    sections.forEach(([key, part]) => key !== section && part?.setOpen(false));
  }

  /** Only the section shown polls. */
  protected setActive(active: boolean): void {
    const section = this.section;
    this.model.setActive(active && section === 'runs');
    this.registry?.setActive(active && section === 'registry');
    this.features?.setActive(active && section === 'features');
    this.jobs?.setActive(active && section === 'jobs');
  }

  render(): JSX.Element {
    const runs = () => <RunsBrowser model={this.model} trans={this._trans} onOpen={this._openRun} onCompare={this._compareRuns} />;
    if (!this.registry && !this.features && !this.jobs) {
      return <UseSignal signal={this.model.changed}>{runs}</UseSignal>;
    }
    return <UseSignal signal={this._sectionChanged}>{() => this._renderSections(runs)}</UseSignal>;
  }

  private _renderSections(runs: () => JSX.Element): JSX.Element {
    const { registry, features, jobs } = this;
    const section = this.section;
    const tabs: [Section, string][] = [['runs', this._trans.__('Runs')]];
    if (registry) {
      tabs.push(['registry', this._trans.__('Registry')]);
    }
    if (features) {
      tabs.push(['features', this._trans.__('Features')]);
    }
    if (jobs) {
      tabs.push(['jobs', this._trans.__('Jobs')]);
    }
    const refresh = () =>
      section === 'jobs' && jobs
        ? jobs.detail
          ? jobs.detail.reload()
          : jobs.refresh()
        : section === 'features' && features
        ? features.detail
          ? features.detail.reload()
          : features.refresh()
        : section === 'registry' && registry
          ? registry.refresh()
          : this.model.refresh();
    return (
      <div className="jp-mlp-Browser">
        <header className="jp-mlp-Header">
          <h2 className="jp-mlp-Title">{this._trans.__('ML Platform')}</h2>
          <button className="jp-mlp-IconButton" title={this._trans.__('Refresh now')} onClick={() => void refresh()}>
            <refreshIcon.react tag="span" />
          </button>
        </header>
        <div className="jp-mlp-Sections" role="tablist" aria-label={this._trans.__('ML Platform sections')}>
          {tabs.map(([key, label]) => (
            <button
              key={key}
              role="tab"
              data-section={key}
              className={`jp-mlp-Tab${section === key ? ' jp-mod-selected' : ''}`}
              aria-selected={section === key}
              onClick={() => this.setSection(key)}
            >
              {label}
            </button>
          ))}
        </div>
        {/* keyed: a UseSignal keeps the signal it was mounted with, so each section mounts its own */}
        {section === 'jobs' && jobs ? (
          <UseSignal key="jobs" signal={jobs.changed}>
            {() => <JobsSection model={jobs} trans={this._trans} onOpenRun={this._openRun} />}
          </UseSignal>
        ) : section === 'features' && features ? (
          <UseSignal key="features" signal={features.changed}>
            {() => <FeaturesSection model={features} trans={this._trans} />}
          </UseSignal>
        ) : section === 'registry' && registry ? (
          <UseSignal key="registry" signal={registry.changed}>
            {() => <ModelList model={registry} trans={this._trans} onOpen={this._openModel} />}
          </UseSignal>
        ) : (
          <UseSignal key="runs" signal={this.model.changed}>
            {() => runs()}
          </UseSignal>
        )}
      </div>
    );
  }

  /** A section opened or closed: poll what shows, and switch the view when the section changed. */
  private _onSectionState(): void {
    this.setActive(this.isVisible);
    const section = this.section;
    if (section !== this._section) {
      this._section = section;
      this._sectionChanged.emit();
    }
  }

  private _openModel?: (name: string) => void;
  private _compareRuns?: (runIds: string[]) => void;
  private _openRun?: (runId: string) => void;
  private _section: Section;
  private _sectionChanged = new Signal<this, void>(this);
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
