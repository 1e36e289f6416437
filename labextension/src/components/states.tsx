import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';
import { MLPError } from '../api';
import { RunsModel } from '../model';

/** A spinner and what is being loaded. */
export function Loading(props: { label: string }): JSX.Element {
  return (
    <div className="jp-mlp-State" role="status">
      <div className="jp-mlp-Spinner" />
      <p>{props.label}</p>
    </div>
  );
}

/** A failure: what failed, the server's reason, what to do about it, and Retry. */
export function Failure(props: {
  title: string;
  error: MLPError;
  trans: TranslationBundle;
  onRetry?: () => void;
  hint?: React.ReactNode;
}): JSX.Element {
  const { error, trans } = props;
  return (
    <div className="jp-mlp-State jp-mlp-mod-error" role="alert">
      <p className="jp-mlp-State-title">{props.title}</p>
      <p>{error.message}</p>
      <p className="jp-mlp-muted">
        {props.hint ??
          (error.kind === 'NetworkError'
            ? trans.__('Check that JupyterLab’s server is still running, then retry.')
            : trans.__('Fix the cause above, then retry.'))}
      </p>
      {props.onRetry && (
        <button className="jp-mlp-PagerButton" onClick={props.onRetry}>
          {trans.__('Retry')}
        </button>
      )}
    </div>
  );
}

/**
 * What the panel says instead of a table: loading, a failure and what to do
 * about it, no runs yet and how to make one, nothing matching the filter.
 * Null when the table has rows to show.
 */
export function RunsState(props: { model: RunsModel; trans: TranslationBundle }): JSX.Element | null {
  const { model, trans } = props;
  if (model.status === 'error' && model.error) {
    return (
      <Failure
        title={trans.__('Could not load the runs')}
        error={model.error}
        trans={trans}
        onRetry={() => void model.refresh()}
        hint={
          model.error.kind === 'NetworkError'
            ? trans.__('The panel retries by itself; check that JupyterLab’s server is still running.')
            : undefined
        }
      />
    );
  }
  if (model.runs.length > 0) {
    return null;
  }
  if (model.status === 'loading') {
    return <Loading label={trans.__('Loading runs…')} />;
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
