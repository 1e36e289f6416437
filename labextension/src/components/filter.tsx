import { TranslationBundle } from '@jupyterlab/translation';
import { closeIcon, filterIcon } from '@jupyterlab/ui-components';
import * as React from 'react';
import { MLPError } from '../api';
import { RunsModel } from '../model';

/**
 * The query language as a filter box: Enter applies, Escape restores the
 * applied query. The server's refusal shows under it, pointing at the position.
 */
export function FilterBox(props: { model: RunsModel; trans: TranslationBundle }): JSX.Element {
  const { model, trans } = props;
  const [draft, setDraft] = React.useState(model.query);
  const applied = React.useRef(model.query);
  if (applied.current !== model.query) {
    // the model changed the query (restored state): follow it
    applied.current = model.query;
    setDraft(model.query);
  }
  const apply = () => void model.setQuery(draft);
  return (
    <div className="jp-mlp-Filter">
      <div className="jp-mlp-Filter-box">
        <filterIcon.react className="jp-mlp-Filter-icon" tag="span" />
        <input
          className="jp-mlp-Filter-input"
          type="text"
          spellCheck={false}
          value={draft}
          placeholder={trans.__('Filter, e.g. metrics.acc > 0.9 and params.lr < 0.1')}
          aria-label={trans.__('Filter runs with a query; Enter applies it')}
          aria-invalid={!!model.queryError}
          onChange={e => setDraft(e.target.value)}
          onKeyDown={e => {
            if (e.key === 'Enter') {
              apply();
            } else if (e.key === 'Escape') {
              setDraft(model.query);
            }
          }}
        />
        {draft && (
          <button
            className="jp-mlp-IconButton"
            title={trans.__('Clear the filter')}
            onClick={() => {
              setDraft('');
              void model.setQuery('');
            }}
          >
            <closeIcon.react tag="span" />
          </button>
        )}
      </div>
      {model.queryError && <QueryErrorView error={model.queryError} trans={trans} />}
    </div>
  );
}

/** The query with a caret under the position of the problem, and what is wrong there. */
function QueryErrorView(props: { error: MLPError; trans: TranslationBundle }): JSX.Element {
  const { error, trans } = props;
  const what = error.field === 'order_by' ? trans.__('Order') : trans.__('Query');
  const reason = error.reason ?? error.message;
  return (
    <div className="jp-mlp-QueryError" role="alert">
      <div className="jp-mlp-QueryError-reason">
        {error.position !== null
          ? trans.__('%1 error at position %2: %3', what, error.position, reason)
          : trans.__('%1 error: %2', what, reason)}
      </div>
      {error.query !== null && error.position !== null && (
        <pre className="jp-mlp-QueryError-pointer">
          {error.query}
          {'\n'}
          {' '.repeat(error.position)}^
        </pre>
      )}
    </div>
  );
}
