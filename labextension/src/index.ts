/**
 * jupyter-mlp's JupyterLab extension: the ML Platform sidebar (experiments and
 * runs, live). Settings: schema/plugin.json; remembered state: the state database.
 */
import { ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IStateDB } from '@jupyterlab/statedb';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import { ReadonlyPartialJSONObject } from '@lumino/coreutils';
import { MLPClient } from './api';
import { IRunsState, RunsModel } from './model';
import { RunsPanel } from './panel';

export { MLPClient, MLPError, parseJSON } from './api';
export type { IExperiment, IInfo, IRun, IRunPage, ISearchQuery } from './api';
export { RunsModel } from './model';

const PLUGIN_ID = 'jupyter-mlp-labextension:plugin';
const STATE_KEY = 'jupyter-mlp:runs';

export namespace CommandIDs {
  export const showRuns = 'mlp:show-runs';
  export const refresh = 'mlp:refresh-runs';
}

const plugin: JupyterFrontEndPlugin<RunsModel> = {
  id: PLUGIN_ID,
  description: 'The ML Platform sidebar: experiments and runs of jupyter-mlp, live.',
  autoStart: true,
  optional: [ILayoutRestorer, ISettingRegistry, IStateDB, ITranslator, ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    restorer: ILayoutRestorer | null,
    settingRegistry: ISettingRegistry | null,
    state: IStateDB | null,
    translator: ITranslator | null,
    palette: ICommandPalette | null
  ): RunsModel => {
    const trans = (translator ?? nullTranslator).load('jupyter_mlp');
    const model = new RunsModel({ client: new MLPClient(app.serviceManager.serverSettings) });
    const panel = new RunsPanel(model, translator ?? nullTranslator);
    app.shell.add(panel, 'left', { rank: 600 });
    restorer?.add(panel, panel.id);

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

    if (settingRegistry) {
      void settingRegistry.load(PLUGIN_ID).then(settings => {
        const apply = () => {
          model.setPollInterval(settings.get('pollInterval').composite as number);
          void model.setPageSize(settings.get('pageSize').composite as number);
        };
        apply();
        settings.changed.connect(apply);
      }, reason => console.error('jupyter-mlp: could not load settings', reason));
    }

    void Promise.all([state?.fetch(STATE_KEY), app.restored]).then(([saved]) => {
      model.stateChanged.connect((_, value) => {
        void state?.save(STATE_KEY, value as unknown as ReadonlyPartialJSONObject);
      });
      return model.restore((saved ?? null) as Partial<IRunsState> | null);
    });
    return model;
  }
};

export default plugin;
