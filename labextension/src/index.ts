/**
 * jupyter-mlp's JupyterLab extension: the ML Platform sidebar (experiments and
 * runs, live) and run views in the main area. Settings: schema/plugin.json;
 * remembered state: the state database (sidebar) and the layout restorer (run views).
 */
import { ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, MainAreaWidget, WidgetTracker } from '@jupyterlab/apputils';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IStateDB } from '@jupyterlab/statedb';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import { PageConfig } from '@jupyterlab/coreutils';
import { ReadonlyPartialJSONObject } from '@lumino/coreutils';
import { MLPClient } from './api';
import { IRunActions } from './components/run/header';
import { serverPath } from './format';
import { linkedRun, OPEN_RUN_LINK } from './links';
import { DiffModel, IDiffViewState } from './diffmodel';
import { DiffView } from './diffview';
import { FeaturesModel, IFeaturesState } from './featuresmodel';
import { IJobsState, JobsModel } from './jobsmodel';
import { IRunsState, RunsModel } from './model';
import { RunsPanel } from './panel';
import { IRegistryState, ModelPageModel, ModelsModel } from './registrymodel';
import { RegistryView } from './registryview';
import { IRunViewState, RunModel } from './runmodel';
import { RunView } from './runview';

export { MLPClient, MLPError, parseJSON } from './api';
export type { IExperiment, IInfo, IRun, IRunPage, ISearchQuery } from './api';
export { RunsModel } from './model';
export { RunModel } from './runmodel';
export { DiffModel } from './diffmodel';
export { ModelPageModel, ModelsModel } from './registrymodel';
export { FeaturesModel, FeatureViewModel } from './featuresmodel';
export { JobsModel, JobViewModel } from './jobsmodel';
export { linkedRun, OPEN_RUN_LINK } from './links';

const PLUGIN_ID = 'jupyter-mlp-labextension:plugin';
const STATE_KEY = 'jupyter-mlp:runs';
const REGISTRY_STATE_KEY = 'jupyter-mlp:registry';
const FEATURES_STATE_KEY = 'jupyter-mlp:features';
const JOBS_STATE_KEY = 'jupyter-mlp:jobs';

export namespace CommandIDs {
  export const showRuns = 'mlp:show-runs';
  export const refresh = 'mlp:refresh-runs';
  /** Open a run's view in the main area: args `{runId}` (an id or a reference such as `@latest`), optional `tab`. */
  export const openRun = 'mlp:open-run';
  /** Compare runs in the main area: args `{runs}` (ids or references, baseline first), optional `at`, `onlyChanged`, `axis`. */
  export const compare = 'mlp:compare';
  /** Open a registered model in the main area: args `{name}`. */
  export const openModel = 'mlp:open-model';
  /** Show the model registry in the sidebar. */
  export const showRegistry = 'mlp:show-registry';
  /** Show the jobs on Ray in the sidebar. */
  export const showJobs = 'mlp:show-jobs';
}

const plugin: JupyterFrontEndPlugin<RunsModel> = {
  id: PLUGIN_ID,
  description: 'The ML Platform sidebar: experiments and runs of jupyter-mlp, live.',
  autoStart: true,
  optional: [ILayoutRestorer, ISettingRegistry, IStateDB, ITranslator, ICommandPalette, IRenderMimeRegistry],
  activate: (
    app: JupyterFrontEnd,
    restorer: ILayoutRestorer | null,
    settingRegistry: ISettingRegistry | null,
    state: IStateDB | null,
    translator: ITranslator | null,
    palette: ICommandPalette | null,
    rendermime: IRenderMimeRegistry | null
  ): RunsModel => {
    const trans = (translator ?? nullTranslator).load('jupyter_mlp');
    const client = new MLPClient(app.serviceManager.serverSettings);
    const model = new RunsModel({ client });
    const openRun = (runId: string) => void app.commands.execute(CommandIDs.openRun, { runId });
    const compareRuns = (runs: string[]) => void app.commands.execute(CommandIDs.compare, { runs });
    const openModel = (name: string) => void app.commands.execute(CommandIDs.openModel, { name });
    const models = new ModelsModel({ client });
    const features = new FeaturesModel({ client });
    const jobs = new JobsModel({ client });
    const panel = new RunsPanel(
      model,
      translator ?? nullTranslator,
      openRun,
      compareRuns,
      { model: models, openModel },
      features,
      jobs
    );
    app.shell.add(panel, 'left', { rank: 600 });
    restorer?.add(panel, panel.id);

    const tracker = new WidgetTracker<MainAreaWidget<RunView>>({ namespace: 'mlp-run' });
    const actions: IRunActions = {
      openRun,
      openModel,
      serverPath: path => serverPath(path, PageConfig.getOption('serverRoot')),
      openPath: path => {
        if (app.commands.hasCommand('docmanager:open')) {
          void app.commands.execute('docmanager:open', { path });
        }
      }
    };
    let pollInterval = 3;
    let diffCounter = 0;
    app.commands.addCommand(CommandIDs.openRun, {
      label: trans.__('Open ML Platform Run'),
      execute: args => {
        const runId = String(args.runId ?? '').trim();
        if (!runId) {
          return;
        }
        const saved = args as Partial<IRunViewState>;
        const open = tracker.find(w => w.content.model.runId === runId);
        if (open) {
          if (saved.tab) {
            open.content.model.setTab(saved.tab);
          }
          app.shell.activateById(open.id);
          return open;
        }
        const runModel = new RunModel({ client, runId, state: saved, pollInterval });
        const view = new RunView({ model: runModel, actions, translator: translator ?? nullTranslator, rendermime });
        const widget = new MainAreaWidget({ content: view });
        widget.id = `jp-mlp-run-${runId}`;
        widget.addClass('jp-mlp-RunWidget');
        runModel.stateChanged.connect(() => void tracker.save(widget));
        void tracker.add(widget);
        app.shell.add(widget, 'main');
        app.shell.activateById(widget.id);
        void runModel.load();
        return widget;
      }
    });
    restorer?.restore(tracker, {
      command: CommandIDs.openRun,
      args: widget => widget.content.model.toJSON() as unknown as ReadonlyPartialJSONObject,
      name: widget => widget.content.model.runId
    });

    const diffs = new WidgetTracker<MainAreaWidget<DiffView>>({ namespace: 'mlp-diff' });
    app.commands.addCommand(CommandIDs.compare, {
      label: trans.__('Compare ML Platform Runs'),
      caption: trans.__('Compare runs: params, metrics, code, environment, artifacts and tags'),
      isEnabled: args => (args.runs === undefined ? model.selection : runList(args.runs)).length >= 2,
      execute: args => {
        const runs = args.runs === undefined ? model.selection : runList(args.runs);
        if (runs.length < 2) {
          return;
        }
        const same = (w: MainAreaWidget<DiffView>) => w.content.model.runIds.join(',') === runs.join(',');
        const open = diffs.find(same);
        if (open) {
          app.shell.activateById(open.id);
          return open;
        }
        const saved = args as Partial<IDiffViewState>;
        const diffModel = new DiffModel({ client, runs, state: saved, pollInterval });
        const view = new DiffView({ model: diffModel, translator: translator ?? nullTranslator, openRun });
        const widget = new MainAreaWidget({ content: view });
        widget.id = `jp-mlp-diff-${++diffCounter}`;
        widget.addClass('jp-mlp-DiffWidget');
        diffModel.stateChanged.connect(() => void diffs.save(widget));
        void diffs.add(widget);
        app.shell.add(widget, 'main');
        app.shell.activateById(widget.id);
        void diffModel.load();
        return widget;
      }
    });
    restorer?.restore(diffs, {
      command: CommandIDs.compare,
      args: widget => widget.content.model.toJSON() as unknown as ReadonlyPartialJSONObject,
      name: widget => widget.content.model.runIds.join(',')
    });

    // who "you" are, to disable approving your own request: the identity the server
    // authenticated (`GET /api/me`, which JupyterLab 4.0 and later load at start)
    let me: string | null = null;
    const user = app.serviceManager.user;
    void user?.ready.then(() => {
      me = user.identity?.username ?? null;
      modelViews.forEach(w => w.content.model.setMe(me));
    }, () => undefined);
    const modelViews = new WidgetTracker<MainAreaWidget<RegistryView>>({ namespace: 'mlp-model' });
    app.commands.addCommand(CommandIDs.openModel, {
      label: trans.__('Open Registered Model'),
      execute: args => {
        const name = String(args.name ?? '').trim();
        if (!name) {
          return;
        }
        const open = modelViews.find(w => w.content.model.name === name);
        if (open) {
          app.shell.activateById(open.id);
          return open;
        }
        const pageModel = new ModelPageModel({ client, name, me, pollInterval });
        pageModel.acted.connect(() => void models.refresh());
        const view = new RegistryView({ model: pageModel, openRun, translator: translator ?? nullTranslator });
        const widget = new MainAreaWidget({ content: view });
        widget.id = `jp-mlp-model-${encodeURIComponent(name)}`;
        widget.addClass('jp-mlp-ModelWidget');
        void modelViews.add(widget);
        app.shell.add(widget, 'main');
        app.shell.activateById(widget.id);
        void pageModel.refresh();
        return widget;
      }
    });
    restorer?.restore(modelViews, {
      command: CommandIDs.openModel,
      args: widget => widget.content.model.toJSON() as unknown as ReadonlyPartialJSONObject,
      name: widget => widget.content.model.name
    });
    app.commands.addCommand(CommandIDs.showRegistry, {
      label: trans.__('Show the Model Registry'),
      execute: () => {
        panel.setSection('registry');
        app.shell.activateById(panel.id);
      }
    });
    palette?.addItem({ command: CommandIDs.showRegistry, category: trans.__('ML Platform') });
    app.commands.addCommand(CommandIDs.showJobs, {
      label: trans.__('Show the Jobs on Ray'),
      execute: () => {
        panel.setSection('jobs');
        app.shell.activateById(panel.id);
      }
    });
    palette?.addItem({ command: CommandIDs.showJobs, category: trans.__('ML Platform') });

    // `%mlp show` output links here, in any notebook or console output (links.ts);
    // caught before JupyterLab's own link handling, which would open the href
    const follow = (event: Event) => {
      const link = (event.target as Element | null)?.closest?.(OPEN_RUN_LINK);
      const runId = link && linkedRun(link);
      if (runId) {
        event.preventDefault();
        event.stopPropagation();
        openRun(runId);
      }
    };
    document.addEventListener('click', follow, true);
    document.addEventListener('keydown', event => event.key === 'Enter' && follow(event), true);

    app.commands.addCommand(CommandIDs.showRuns, {
      label: trans.__('Show ML Platform Runs'),
      execute: () => app.shell.activateById(panel.id)
    });
    app.commands.addCommand(CommandIDs.refresh, {
      label: trans.__('Refresh ML Platform Runs'),
      execute: () => model.refresh()
    });
    palette?.addItem({ command: CommandIDs.showRuns, category: trans.__('ML Platform') });
    palette?.addItem({ command: CommandIDs.refresh, category: trans.__('ML Platform') });
    palette?.addItem({ command: CommandIDs.compare, category: trans.__('ML Platform') });

    if (settingRegistry) {
      void settingRegistry.load(PLUGIN_ID).then(settings => {
        const apply = () => {
          pollInterval = settings.get('pollInterval').composite as number;
          model.setPollInterval(pollInterval);
          diffs.forEach(w => w.content.model.setPollInterval(pollInterval));
          models.setPollInterval(pollInterval);
          features.setPollInterval(pollInterval);
          jobs.setPollInterval(pollInterval);
          modelViews.forEach(w => w.content.model.setPollInterval(pollInterval));
          void model.setPageSize(settings.get('pageSize').composite as number);
        };
        apply();
        settings.changed.connect(apply);
      }, reason => console.error('jupyter-mlp: could not load settings', reason));
    }

    void Promise.all([state?.fetch(REGISTRY_STATE_KEY), app.restored]).then(([saved]) => {
      models.restore((saved ?? null) as Partial<IRegistryState> | null);
      models.stateChanged.connect((_, value) => {
        void state?.save(REGISTRY_STATE_KEY, value as unknown as ReadonlyPartialJSONObject);
      });
    });
    void Promise.all([state?.fetch(FEATURES_STATE_KEY), app.restored]).then(([saved]) => {
      features.restore((saved ?? null) as Partial<IFeaturesState> | null);
      features.stateChanged.connect((_, value) => {
        void state?.save(FEATURES_STATE_KEY, value as unknown as ReadonlyPartialJSONObject);
      });
    });
    void Promise.all([state?.fetch(JOBS_STATE_KEY), app.restored]).then(([saved]) => {
      jobs.restore((saved ?? null) as Partial<IJobsState> | null);
      jobs.stateChanged.connect((_, value) => {
        void state?.save(JOBS_STATE_KEY, value as unknown as ReadonlyPartialJSONObject);
      });
    });
    void Promise.all([state?.fetch(STATE_KEY), app.restored]).then(([saved]) => {
      model.stateChanged.connect((_, value) => {
        void state?.save(STATE_KEY, value as unknown as ReadonlyPartialJSONObject);
      });
      return model.restore((saved ?? null) as Partial<IRunsState> | null);
    });
    return model;
  }
};

/** Run ids from a command's `runs` argument: a list, or one string of ids separated by commas or spaces. */
function runList(value: unknown): string[] {
  const items = Array.isArray(value) ? value.map(String) : typeof value === 'string' ? value.split(/[\s,]+/) : [];
  return [...new Set(items.map(s => s.trim()).filter(Boolean))];
}

export default plugin;
