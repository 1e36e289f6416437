import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ITranslator, nullTranslator, TranslationBundle } from '@jupyterlab/translation';
import { UseSignal } from '@jupyterlab/ui-components';
import * as React from 'react';
import { ArtifactsTab } from './components/run/artifacts';
import { CodeTab } from './components/run/code';
import { EnvironmentTab } from './components/run/environment';
import { IRunActions, RunHeader } from './components/run/header';
import { Overview } from './components/run/overview';
import { Failure, Loading } from './components/states';
import { mlpIcon } from './icons';
import { RUN_TABS, RunModel, RunTab } from './runmodel';
import { ModelWidget } from './visible';

export namespace RunView {
  export interface IOptions {
    model: RunModel;
    actions: IRunActions;
    translator?: ITranslator;
    /** Highlights captured code as JupyterLab highlights Markdown code blocks. */
    rendermime?: IRenderMimeRegistry | null;
  }
}

/** One run in the main area: its header, then overview (params, metrics, charts), artifacts, code, environment. */
export class RunView extends ModelWidget {
  constructor(options: RunView.IOptions) {
    super();
    this.model = options.model;
    this._actions = options.actions;
    this._rendermime = options.rendermime ?? null;
    this._trans = (options.translator ?? nullTranslator).load('jupyter_mlp');
    this.addClass('jp-mlp-RunView');
    this.title.icon = mlpIcon;
    this.title.closable = true;
    this._updateTitle();
    this.model.changed.connect(this._updateTitle, this);
  }

  readonly model: RunModel;

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
        {() => <RunPage model={this.model} trans={this._trans} actions={this._actions} rendermime={this._rendermime} />}
      </UseSignal>
    );
  }

  private _updateTitle(): void {
    const run = this.model.run;
    this.title.label = run ? run.name : this.model.status === 'error' ? this._trans.__('Run not found') : this._trans.__('Run');
    this.title.caption = run
      ? this._trans.__('Run %1 of %2 (%3), %4', run.name, run.experiment, run.id, run.status)
      : this.model.runId;
  }

  private _actions: IRunActions;
  private _rendermime: IRenderMimeRegistry | null;
  private _trans: TranslationBundle;
}

function tabLabel(tab: RunTab, trans: TranslationBundle): string {
  switch (tab) {
    case 'overview':
      return trans.__('Overview');
    case 'artifacts':
      return trans.__('Artifacts');
    case 'code':
      return trans.__('Code');
    case 'environment':
      return trans.__('Environment');
  }
}

function RunPage(props: {
  model: RunModel;
  trans: TranslationBundle;
  actions: IRunActions;
  rendermime: IRenderMimeRegistry | null;
}): JSX.Element {
  const { model, trans, actions, rendermime } = props;
  if (!model.run) {
    if (model.status === 'error' && model.error) {
      return (
        <div className="jp-mlp-RunPage">
          <Failure
            title={model.error.kind === 'NotFound' ? trans.__('No run %1', model.runId) : trans.__('Could not load run %1', model.runId)}
            error={model.error}
            trans={trans}
            onRetry={() => void model.load()}
            hint={
              model.error.kind === 'NotFound'
                ? trans.__('It may have been deleted (mlp.restore_run brings a deleted run back), or it lives on another server.')
                : undefined
            }
          />
        </div>
      );
    }
    return (
      <div className="jp-mlp-RunPage">
        <Loading label={trans.__('Loading the run…')} />
      </div>
    );
  }
  const artifacts = model.run.artifacts?.length;
  return (
    <div className="jp-mlp-RunPage">
      <RunHeader model={model} trans={trans} actions={actions} />
      <div className="jp-mlp-Tabs" role="tablist" aria-label={trans.__('Run sections')}>
        {RUN_TABS.map(tab => (
          <button
            key={tab}
            role="tab"
            data-tab={tab}
            className={`jp-mlp-Tab${model.tab === tab ? ' jp-mod-selected' : ''}`}
            aria-selected={model.tab === tab}
            onClick={() => model.setTab(tab)}
          >
            {tabLabel(tab, trans)}
            {tab === 'artifacts' && artifacts ? <span className="jp-mlp-Tab-count">{artifacts}</span> : null}
          </button>
        ))}
      </div>
      <div className="jp-mlp-TabPanel" role="tabpanel" data-tab={model.tab}>
        {model.tab === 'overview' && <Overview model={model} trans={trans} />}
        {model.tab === 'artifacts' && <ArtifactsTab model={model} trans={trans} />}
        {model.tab === 'code' && <CodeTab model={model} trans={trans} rendermime={rendermime} />}
        {model.tab === 'environment' && <EnvironmentTab model={model} trans={trans} />}
      </div>
    </div>
  );
}
