import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';
import { IModelSummary } from '../../api';
import { ModelsModel } from '../../registrymodel';
import { Failure, Loading } from '../states';
import { StageBadge } from './badges';

/**
 * The registry in the sidebar: a name filter and the models, each with its
 * latest version, production and staging versions, aliases and open requests.
 * A click (or Enter) opens the model in the main area.
 */
export function ModelList(props: { model: ModelsModel; trans: TranslationBundle; onOpen?: (name: string) => void }): JSX.Element {
  const { model, trans, onOpen } = props;
  const [draft, setDraft] = React.useState(model.filter);
  // a filter restored after the first render shows in the box too
  React.useEffect(() => setDraft(model.filter), [model.filter]);
  return (
    <div className="jp-mlp-Registry">
      <form
        className="jp-mlp-Registry-filter"
        onSubmit={e => {
          e.preventDefault();
          void model.setFilter(draft);
        }}
      >
        <input
          className="jp-mlp-Filter-input jp-mlp-Registry-filterInput"
          type="search"
          value={draft}
          placeholder={trans.__('Filter models by name (churn*)')}
          aria-label={trans.__('Filter models by name')}
          onChange={e => {
            setDraft(e.target.value);
            if (!e.target.value) {
              void model.setFilter('');
            }
          }}
        />
      </form>
      {model.models.length > 0 && (
        <ul className="jp-mlp-ModelList" aria-label={trans.__('Registered models')}>
          {model.models.map(m => (
            <ModelRow key={m.name} summary={m} trans={trans} onOpen={onOpen} />
          ))}
        </ul>
      )}
      <ModelsState model={model} trans={trans} onClear={() => (setDraft(''), void model.setFilter(''))} />
    </div>
  );
}

function ModelRow(props: { summary: IModelSummary; trans: TranslationBundle; onOpen?: (name: string) => void }): JSX.Element {
  const { summary: m, trans, onOpen } = props;
  const aliases = Object.entries(m.aliases);
  return (
    <li
      className="jp-mlp-ModelRow"
      data-model={m.name}
      tabIndex={0}
      title={m.description ?? trans.__('Open %1', m.name)}
      onClick={() => onOpen?.(m.name)}
      onKeyDown={e => e.key === 'Enter' && onOpen?.(m.name)}
    >
      <div className="jp-mlp-ModelRow-head">
        <span className="jp-mlp-ModelRow-name">{m.name}</span>
        <span className="jp-mlp-muted jp-mlp-ModelRow-latest">
          {m.latest_version === null ? trans.__('no versions') : trans.__('latest v%1', m.latest_version)}
        </span>
        {m.pending_requests > 0 && (
          <span className="jp-mlp-RequestCount" title={trans._n('%1 open request', '%1 open requests', m.pending_requests)}>
            {trans._n('%1 request', '%1 requests', m.pending_requests)}
          </span>
        )}
      </div>
      <div className="jp-mlp-ModelRow-stages">
        {m.stages.production.map(v => (
          <StageBadge key={`p${v}`} stage="production" version={v} trans={trans} />
        ))}
        {m.stages.staging.map(v => (
          <StageBadge key={`s${v}`} stage="staging" version={v} trans={trans} />
        ))}
        {aliases.map(([alias, v]) => (
          <span key={alias} className="jp-mlp-Alias" title={trans.__('@%1 is version %2', alias, v)}>
            @{alias}→v{v}
          </span>
        ))}
      </div>
    </li>
  );
}

function ModelsState(props: { model: ModelsModel; trans: TranslationBundle; onClear: () => void }): JSX.Element | null {
  const { model, trans } = props;
  if (model.status === 'error' && model.error) {
    return (
      <Failure
        title={trans.__('Could not load the model registry')}
        error={model.error}
        trans={trans}
        onRetry={() => void model.refresh()}
        hint={
          model.error.kind === 'NotFound'
            ? trans.__('This server has no registry routes: upgrade jupyter-mlp on the server, then retry.')
            : undefined
        }
      />
    );
  }
  if (model.models.length > 0) {
    return null;
  }
  if (model.status === 'loading') {
    return <Loading label={trans.__('Loading models…')} />;
  }
  if (model.filter) {
    return (
      <div className="jp-mlp-State" role="status">
        <p className="jp-mlp-State-title">{trans.__('No model matches %1', model.filter)}</p>
        <button className="jp-mlp-PagerButton" onClick={props.onClear}>
          {trans.__('Clear the filter')}
        </button>
      </div>
    );
  }
  return (
    <div className="jp-mlp-State" role="status">
      <p className="jp-mlp-State-title">{trans.__('No models yet')}</p>
      <p>{trans.__('Register a model from a run that logged one:')}</p>
      <pre className="jp-mlp-State-code">{"mlp.register_model(run, 'name')"}</pre>
    </div>
  );
}
