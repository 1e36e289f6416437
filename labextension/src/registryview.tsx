import { ITranslator, nullTranslator, TranslationBundle } from '@jupyterlab/translation';
import { refreshIcon, UseSignal } from '@jupyterlab/ui-components';
import * as React from 'react';
import { Requests } from './components/registry/requests';
import { AuditTimeline, Versions } from './components/registry/versions';
import { StageBadge } from './components/registry/badges';
import { Failure, Loading } from './components/states';
import { formatDateTime } from './format';
import { mlpIcon } from './icons';
import { ModelPageModel } from './registrymodel';
import { ModelWidget } from './visible';

export namespace RegistryView {
  export interface IOptions {
    model: ModelPageModel;
    /** Opens a version's run in the run view. */
    openRun: (runId: string) => void;
    translator?: ITranslator;
  }
}

/** One registered model in the main area: open requests with their gates, versions, the audit log. */
export class RegistryView extends ModelWidget {
  constructor(options: RegistryView.IOptions) {
    super();
    this.model = options.model;
    this._openRun = options.openRun;
    this._trans = (options.translator ?? nullTranslator).load('jupyter_mlp');
    this.addClass('jp-mlp-RegistryView');
    this.title.icon = mlpIcon;
    this.title.closable = true;
    this.title.label = this.model.name;
    this.title.caption = this._trans.__('Registered model %1', this.model.name);
  }

  readonly model: ModelPageModel;

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
        {() => <ModelPage model={this.model} trans={this._trans} openRun={this._openRun} />}
      </UseSignal>
    );
  }

  private _openRun: (runId: string) => void;
  private _trans: TranslationBundle;
}

function ModelPage(props: { model: ModelPageModel; trans: TranslationBundle; openRun: (runId: string) => void }): JSX.Element {
  const { model, trans, openRun } = props;
  const detail = model.model;
  if (!detail) {
    return (
      <div className="jp-mlp-RegistryPage">
        {model.status === 'error' && model.error ? (
          <Failure
            title={model.error.kind === 'NotFound' ? trans.__('No model %1', model.name) : trans.__('Could not load model %1', model.name)}
            error={model.error}
            trans={trans}
            onRetry={() => void model.refresh()}
            hint={
              model.error.kind === 'NotFound'
                ? trans.__('It may live on another server; mlp.register_model(run, "%1") creates it here.', model.name)
                : undefined
            }
          />
        ) : (
          <Loading label={trans.__('Loading the model…')} />
        )}
      </div>
    );
  }
  const aliases = Object.entries(detail.aliases);
  const production = detail.versions.filter(v => v.stage === 'production');
  return (
    <div className="jp-mlp-RegistryPage">
      <header className="jp-mlp-RegistryHeader">
        <div className="jp-mlp-RunHeader-title">
          <h1 className="jp-mlp-RegistryHeader-name">{detail.name}</h1>
          {production.map(v => (
            <StageBadge key={v.version} stage="production" version={v.version} trans={trans} />
          ))}
          <span className="jp-mlp-RunHeader-spacer" />
          <button className="jp-mlp-IconButton" title={trans.__('Refresh now')} onClick={() => void model.refresh()}>
            <refreshIcon.react tag="span" />
          </button>
        </div>
        {detail.description && <p className="jp-mlp-RegistryHeader-description">{detail.description}</p>}
        <p className="jp-mlp-muted">
          {trans.__('Created by %1, %2', detail.created_by ?? '—', formatDateTime(detail.created_at))}
          {model.me && <> · {trans.__('you are %1', model.me)}</>}
        </p>
        {aliases.length > 0 && (
          <p className="jp-mlp-RegistryHeader-aliases">
            {aliases.map(([a, v]) => (
              <span key={a} className="jp-mlp-Alias">
                @{a}→v{v}
              </span>
            ))}
          </p>
        )}
      </header>
      {model.status === 'error' && model.error && (
        <p className="jp-mlp-RegistryPage-error" role="alert">
          {trans.__('Could not refresh: %1 (showing what was loaded last; the view retries by itself)', model.error.message)}
        </p>
      )}
      {model.actionError && (
        <div className="jp-mlp-RegistryPage-error" role="alert">
          {model.actionError.message}
          <button className="jp-mlp-LinkButton" onClick={() => model.clearActionError()}>
            {trans.__('dismiss')}
          </button>
        </div>
      )}
      <Requests model={model} trans={trans} />
      <Versions model={model} trans={trans} openRun={openRun} />
      <AuditTimeline events={model.audit} trans={trans} />
    </div>
  );
}
