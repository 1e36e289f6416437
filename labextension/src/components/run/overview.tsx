import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';
import { formatCount, formatValue } from '../../format';
import { MAX_CHARTS, RunModel } from '../../runmodel';
import { ChartGrid } from './charts';

/** Tables longer than this get a filter box. */
const FILTER_FROM = 12;

/** Params and metric summaries beside the charts: the run at a glance. */
export function Overview(props: { model: RunModel; trans: TranslationBundle }): JSX.Element {
  const { model, trans } = props;
  return (
    <div className="jp-mlp-Overview">
      <div className="jp-mlp-Overview-side">
        <ParamsTable model={model} trans={trans} />
        <MetricsTable model={model} trans={trans} />
      </div>
      <div className="jp-mlp-Overview-main">
        <ChartGrid model={model} trans={trans} />
      </div>
    </div>
  );
}

function useFilter(count: number, trans: TranslationBundle, label: string): [(key: string) => boolean, JSX.Element | null] {
  const [filter, setFilter] = React.useState('');
  const needle = filter.trim().toLowerCase();
  const box =
    count > FILTER_FROM ? (
      <input
        className="jp-mlp-TableFilter"
        type="search"
        placeholder={label}
        aria-label={label}
        value={filter}
        onChange={e => setFilter(e.target.value)}
      />
    ) : null;
  return [(key: string) => !needle || key.toLowerCase().includes(needle), box];
}

/** The run's params, by key. */
export function ParamsTable(props: { model: RunModel; trans: TranslationBundle }): JSX.Element {
  const { model, trans } = props;
  const params = Object.entries(model.run?.params ?? {}).sort(([a], [b]) => a.localeCompare(b));
  const [matches, box] = useFilter(params.length, trans, trans.__('Filter params'));
  return (
    <section className="jp-mlp-Section jp-mlp-Params" aria-label={trans.__('Params')}>
      <h2 className="jp-mlp-Section-title">
        {trans.__('Params')} <span className="jp-mlp-muted">{params.length}</span>
      </h2>
      {box}
      {params.length === 0 ? (
        <p className="jp-mlp-muted">{trans.__('No params. Log them with mlp.log_params({"lr": 0.1}).')}</p>
      ) : (
        <table className="jp-mlp-KV">
          <tbody>
            {params
              .filter(([k]) => matches(k))
              .map(([k, v]) => (
                <tr key={k} data-param={k}>
                  <th title={k}>{k}</th>
                  <td title={typeof v === 'string' ? v : JSON.stringify(v)}>{formatValue(v)}</td>
                </tr>
              ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** Every metric's last value, extremes and size; the checkbox charts it. */
export function MetricsTable(props: { model: RunModel; trans: TranslationBundle }): JSX.Element | null {
  const { model, trans } = props;
  const metrics = model.run?.metrics ?? {};
  const keys = model.metricKeys;
  const charted = model.chartKeys;
  const [matches, box] = useFilter(keys.length, trans, trans.__('Filter metrics'));
  if (!keys.length) {
    return null;
  }
  return (
    <section className="jp-mlp-Section jp-mlp-Metrics" aria-label={trans.__('Metrics')}>
      <h2 className="jp-mlp-Section-title">
        {trans.__('Metrics')} <span className="jp-mlp-muted">{keys.length}</span>
      </h2>
      {box}
      <table className="jp-mlp-KV jp-mlp-MetricsTable">
        <thead>
          <tr>
            <th title={trans.__('Chart it (up to %1)', MAX_CHARTS)}>{trans.__('Chart')}</th>
            <th>{trans.__('Metric')}</th>
            <th>{trans.__('Last')}</th>
            <th>{trans.__('Min')}</th>
            <th>{trans.__('Max')}</th>
            <th>{trans.__('Points')}</th>
          </tr>
        </thead>
        <tbody>
          {keys
            .filter(k => matches(k))
            .map(k => {
              const m = metrics[k];
              const on = charted.includes(k);
              return (
                <tr key={k} data-metric={k}>
                  <td>
                    <input
                      type="checkbox"
                      checked={on}
                      disabled={!on && charted.length >= MAX_CHARTS}
                      aria-label={trans.__('Chart %1', k)}
                      onChange={() => model.toggleChart(k)}
                    />
                  </td>
                  <th title={k}>{k}</th>
                  <td title={m.step !== null ? trans.__('at step %1', m.step) : undefined}>{formatValue(m.last)}</td>
                  <td>{formatValue(m.min)}</td>
                  <td>{formatValue(m.max)}</td>
                  <td>{formatCount(m.count)}</td>
                </tr>
              );
            })}
        </tbody>
      </table>
      {model.chartsChosen && (
        <button className="jp-mlp-LinkButton" onClick={() => model.setCharts(null)}>
          {trans.__('Default charts')}
        </button>
      )}
    </section>
  );
}
