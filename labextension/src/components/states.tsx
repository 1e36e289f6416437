import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';
import { RunsModel } from '../model';

/**
 * What the panel says instead of a table: loading, a failure and what to do
 * about it, no runs yet and how to make one, nothing matching the filter.
 * Null when the table has rows to show.
 */
export function RunsState(props: { model: RunsModel; trans: TranslationBundle }): JSX.Element | null {
  const { model, trans } = props;
  if (model.status === 'error' && model.error) {
    return (
      <div className="jp-mlp-State jp-mlp-mod-error" role="alert">
        <p className="jp-mlp-State-title">{trans.__('Could not load the runs')}</p>
        <p>{model.error.message}</p>
        <p className="jp-mlp-muted">
          {model.error.kind === 'NetworkError'
            ? trans.__('The panel retries by itself; check that JupyterLab’s server is still running.')
            : trans.__('Fix the cause above, then retry.')}
        </p>
        <button className="jp-mlp-PagerButton" onClick={() => void model.refresh()}>
          {trans.__('Retry')}
        </button>
      </div>
    );
  }
  if (model.runs.length > 0) {
    return null;
  }
  if (model.status === 'loading') {
    return (
      <div className="jp-mlp-State" role="status">
        <div className="jp-mlp-Spinner" />
        <p>{trans.__('Loading runs…')}</p>
      </div>
    );
  }
  if (model.query) {
    return (
      <div className="jp-mlp-State" role="status">
        <p className="jp-mlp-State-title">{trans.__('No run matches this filter')}</p>
        <p className="jp-mlp-muted">
          <code>{model.query}</code>
        </p>
        <button className="jp-mlp-PagerButton" onClick={() => void model.setQuery('')}>
          {trans.__('Clear the filter')}
        </button>
      </div>
    );
  }
  return (
    <div className="jp-mlp-State" role="status">
      <p className="jp-mlp-State-title">
        {model.experiment ? trans.__('No runs in %1 yet', model.experiment) : trans.__('No runs yet')}
      </p>
      <p>{trans.__('Track a training cell in a notebook and it shows up here as it runs:')}</p>
      <pre className="jp-mlp-State-code">{'%load_ext mlp\n%%mlp track --experiment demo\n…your training loop…'}</pre>
      <p className="jp-mlp-muted">{trans.__('or, in Python: with mlp.start_run(experiment="demo"): …')}</p>
    </div>
  );
}
