import { TranslationBundle } from '@jupyterlab/translation';
import { caretDownIcon, caretUpIcon } from '@jupyterlab/ui-components';
import * as React from 'react';
import { IRun } from '../api';
import { formatDuration, formatTime, formatValue } from '../format';
import { RunsModel } from '../model';

interface IColumn {
  /** The field the server orders by. */
  field: string;
  label: string;
  className: string;
  cell: (run: IRun) => React.ReactNode;
  title?: (run: IRun) => string;
}

function columns(model: RunsModel, trans: TranslationBundle): IColumn[] {
  return [
    {
      field: 'status',
      label: trans.__('Status'),
      className: 'jp-mlp-col-status',
      cell: run => <StatusBadge status={run.status} trans={trans} />,
      title: run => run.status_reason ?? run.status
    },
    {
      field: 'name',
      label: trans.__('Name'),
      className: 'jp-mlp-col-name',
      cell: run => run.name,
      title: run => `${run.experiment}/${run.name}\n${run.id}${run.source_name ? `\n${run.source_name}` : ''}`
    },
    {
      field: 'start_time',
      label: trans.__('Start'),
      className: 'jp-mlp-col-start',
      cell: run => formatTime(run.start_time),
      title: run => new Date(run.start_time * 1000).toISOString()
    },
    {
      field: 'duration',
      label: trans.__('Duration'),
      className: 'jp-mlp-col-duration',
      cell: run => formatDuration(run.duration)
    },
    ...model.metricColumns.map(key => ({
      field: `metrics.${quoteKey(key)}`,
      label: key,
      className: 'jp-mlp-col-metric',
      cell: (run: IRun) => formatValue(run.metrics?.[key])
    })),
    ...model.paramColumns.map(key => ({
      field: `params.${quoteKey(key)}`,
      label: key,
      className: 'jp-mlp-col-param',
      cell: (run: IRun) => formatValue(run.params?.[key])
    }))
  ];
}

/** A key the query language takes bare, else in backticks (`val/loss` is fine bare, `a b` is not). */
export function quoteKey(key: string): string {
  return /^[A-Za-z0-9_.\-/:]+$/.test(key) ? key : `\`${key}\``;
}

export function StatusBadge(props: { status: string; trans: TranslationBundle }): JSX.Element {
  const labels: Record<string, string> = {
    running: props.trans.__('running'),
    finished: props.trans.__('finished'),
    failed: props.trans.__('failed'),
    killed: props.trans.__('killed'),
    crashed: props.trans.__('crashed')
  };
  return (
    <span className={`jp-mlp-StatusBadge jp-mlp-mod-${props.status}`}>{labels[props.status] ?? props.status}</span>
  );
}

/**
 * The page of runs. Headers order by the server; a click selects a run,
 * Ctrl/⌘-click adds or removes one, Shift-click selects a range.
 */
export function RunsTable(props: {
  model: RunsModel;
  trans: TranslationBundle;
  onOpen?: (runId: string) => void;
}): JSX.Element {
  const { model, trans, onOpen } = props;
  const cols = columns(model, trans);
  const allSelected = model.runs.length > 0 && model.runs.every(r => model.isSelected(r.id));
  return (
    <div className="jp-mlp-Table-scroll">
      <table className={`jp-mlp-Table${model.status === 'loading' ? ' jp-mod-loading' : ''}`}>
        <thead>
          <tr>
            <th className="jp-mlp-col-select">
              <input
                type="checkbox"
                aria-label={trans.__('Select every run on this page')}
                checked={allSelected}
                onChange={() =>
                  allSelected ? model.clearSelection() : model.runs.forEach(r => model.isSelected(r.id) || model.select(r.id, 'toggle'))
                }
              />
            </th>
            {cols.map(col => {
              const order = model.orderOf(col.field);
              return (
                <th key={col.field} className={col.className} aria-sort={order ?? 'none'}>
                  <button
                    className="jp-mlp-SortButton"
                    title={trans.__('Order by %1', col.field)}
                    onClick={() => void model.toggleOrder(col.field)}
                  >
                    <span className="jp-mlp-SortButton-label">{col.label}</span>
                    {order === 'ascending' && <caretUpIcon.react tag="span" />}
                    {order === 'descending' && <caretDownIcon.react tag="span" />}
                  </button>
                </th>
              );
            })}
          </tr>
        </thead>
        <tbody>
          {model.runs.map(run => (
            <tr
              key={run.id}
              data-run-id={run.id}
              className={`jp-mlp-Run${model.isSelected(run.id) ? ' jp-mod-selected' : ''}`}
              aria-selected={model.isSelected(run.id)}
              title={onOpen ? trans.__('Double-click (or Enter) opens the run') : undefined}
              tabIndex={onOpen ? 0 : undefined}
              onClick={e => model.select(run.id, e.shiftKey ? 'range' : e.ctrlKey || e.metaKey ? 'toggle' : 'only')}
              onDoubleClick={() => onOpen?.(run.id)}
              onKeyDown={e => {
                if (e.key === 'Enter' && e.target === e.currentTarget) {
                  onOpen?.(run.id);
                }
              }}
            >
              <td className="jp-mlp-col-select">
                <input
                  type="checkbox"
                  aria-label={trans.__('Select run %1', run.name)}
                  checked={model.isSelected(run.id)}
                  onClick={e => e.stopPropagation()}
                  onChange={() => model.select(run.id, 'toggle')}
                />
              </td>
              {cols.map(col => (
                <td key={col.field} className={col.className} title={col.title?.(run)}>
                  {col.cell(run)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Which metric and param columns to show; "Automatic" takes the first few the page has. */
export function ColumnPicker(props: { model: RunsModel; trans: TranslationBundle }): JSX.Element {
  const { model, trans } = props;
  const toggle = (list: string[], key: string) => (list.includes(key) ? list.filter(k => k !== key) : [...list, key]);
  const group = (title: string, keys: string[], chosen: string[], set: (next: string[]) => void) => (
    <fieldset className="jp-mlp-Columns-group">
      <legend>{title}</legend>
      {keys.length === 0 && <span className="jp-mlp-muted">{trans.__('none yet')}</span>}
      {keys.map(key => (
        <label key={key}>
          <input type="checkbox" checked={chosen.includes(key)} onChange={() => set(toggle(chosen, key))} />
          {key}
        </label>
      ))}
    </fieldset>
  );
  return (
    <details
      className="jp-mlp-Columns"
      onToggle={e => (e.currentTarget as HTMLDetailsElement).open && void model.loadKeys()}
    >
      <summary>{trans.__('Columns')}</summary>
      <div className="jp-mlp-Columns-body">
        {group(trans.__('Metrics'), model.metricKeys, model.metricColumns, next =>
          model.setColumns(next, model.paramColumns)
        )}
        {group(trans.__('Params'), model.paramKeys, model.paramColumns, next =>
          model.setColumns(model.metricColumns, next)
        )}
        {model.columnsChosen && (
          <button className="jp-mlp-LinkButton" onClick={() => model.setColumns(null, null)}>
            {trans.__('Automatic columns')}
          </button>
        )}
      </div>
    </details>
  );
}

/** Previous/next page (the server's cursors) and where in the results this page is. */
export function Pager(props: { model: RunsModel; trans: TranslationBundle }): JSX.Element | null {
  const { model, trans } = props;
  if (!model.hasNext && !model.hasPrevious) {
    return null;
  }
  const first = model.pageIndex * model.pageSize + 1;
  return (
    <div className="jp-mlp-Pager">
      <button className="jp-mlp-PagerButton" disabled={!model.hasPrevious} onClick={() => void model.previousPage()}>
        {trans.__('‹ Previous')}
      </button>
      <span className="jp-mlp-Pager-label">
        {trans.__('runs %1–%2', first, first + model.runs.length - 1)}
      </span>
      <button className="jp-mlp-PagerButton" disabled={!model.hasNext} onClick={() => void model.nextPage()}>
        {trans.__('Next ›')}
      </button>
    </div>
  );
}
