import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';
import { DiffSection, IDiff, IDiffCounts, IDiffRow, IDiffRun } from '../../api';
import { DiffModel } from '../../diffmodel';
import { formatBytes, formatDateTime, formatDuration, formatValue } from '../../format';

/** What every part of the diff page is given: the model, its diff, the strings. */
export interface IDiffProps {
  model: DiffModel;
  diff: IDiff;
  trans: TranslationBundle;
}

/** How a value of a row reads: `formatValue` unless a section knows better (durations, sizes). */
export type ValueFormat = (value: unknown, key: string) => string;

/** The colour of run `index` (curves, legend, column heads): one of ten, by CSS class. */
export function runColor(index: number): string {
  return `jp-mlp-mod-run${index % 10}`;
}

/** A dot in the run's colour and its label. */
export function RunLabel(props: { run: IDiffRun; index: number }): JSX.Element {
  const { run, index } = props;
  return (
    <span className="jp-mlp-DiffRunLabel" title={`${run.name ?? run.label} (${run.id})`}>
      <span className={`jp-mlp-DiffDot ${runColor(index)}`} />
      {run.label}
    </span>
  );
}

export function sectionLabel(section: DiffSection | string, trans: TranslationBundle): string {
  switch (section) {
    case 'params':
      return trans.__('Params');
    case 'metrics':
      return trans.__('Metrics');
    case 'code':
      return trans.__('Code');
    case 'environment':
      return trans.__('Environment');
    case 'artifacts':
      return trans.__('Artifacts');
    case 'tags':
      return trans.__('Tags');
    case 'attributes':
      return trans.__('Attributes');
    default:
      return section;
  }
}

/** Fields that differ in a section (changed, added, removed, moved). */
export function differing(counts: IDiffCounts | undefined): number {
  return counts ? counts.changed + counts.added + counts.removed + (counts.moved ?? 0) : 0;
}

/** The one-glance lines, most important first; a click goes to the section. */
export function Summary(props: IDiffProps & { onSection: (section: DiffSection) => void }): JSX.Element {
  const { model, diff, trans, onSection } = props;
  // the server still writes a line ("no differences") when nothing differs
  const nothing = Object.values(diff.counts).every(c => differing(c) === 0);
  if (!diff.summary.length || nothing) {
    return (
      <section className="jp-mlp-Section jp-mlp-DiffSummary" aria-label={trans.__('Summary')}>
        <div className="jp-mlp-State" role="status">
          <p className="jp-mlp-State-title">{trans.__('No difference found')}</p>
          <p className="jp-mlp-muted">
            {trans.__('These runs have the same params, metrics, code, environment, artifacts and tags.')}
          </p>
          {model.onlyChanged && (
            <button className="jp-mlp-PagerButton" onClick={() => void model.setOnlyChanged(false)}>
              {trans.__('Show what they share')}
            </button>
          )}
        </div>
      </section>
    );
  }
  return (
    <section className="jp-mlp-Section jp-mlp-DiffSummary" aria-label={trans.__('Summary')}>
      <ul className="jp-mlp-DiffSummary-lines">
        {diff.summary.map((line, i) => (
          <li key={i} data-section={line.section}>
            <button className="jp-mlp-DiffSummary-section" onClick={() => onSection(line.section)}>
              {sectionLabel(line.section, trans)}
            </button>
            <span className="jp-mlp-DiffSummary-text">{line.text}</span>
          </li>
        ))}
      </ul>
      {diff.runs.length > 2 && <Varying diff={diff} trans={trans} />}
    </section>
  );
}

/** Fields shown in the "what varies" list before "and N more". */
const VARYING_SHOWN = 15;

/** For 3 or more runs: which fields differ at all, most different first. */
function Varying(props: { diff: IDiff; trans: TranslationBundle }): JSX.Element | null {
  const { diff, trans } = props;
  const [all, setAll] = React.useState(false);
  if (!diff.varying.length) {
    return null;
  }
  const shown = all ? diff.varying : diff.varying.slice(0, VARYING_SHOWN);
  return (
    <div className="jp-mlp-DiffVarying">
      <h3 className="jp-mlp-DiffVarying-title">{trans.__('What varies')}</h3>
      <ul>
        {shown.map(v => (
          <li key={`${v.section}:${v.key}`} data-key={v.key}>
            <span className="jp-mlp-DiffVarying-score" style={{ width: `${Math.round(Math.max(0.05, v.score) * 40)}px` }} />
            <span className="jp-mlp-muted">{sectionLabel(v.section, trans)}</span> <code>{v.key}</code>{' '}
            <span className="jp-mlp-muted">
              {v.values.map(x => (x === null ? '—' : v.section === 'artifacts' ? artifactFormat(x, v.key) : formatValue(x))).join(' · ')}
            </span>
          </li>
        ))}
      </ul>
      {diff.varying.length > shown.length && (
        <button className="jp-mlp-LinkButton" onClick={() => setAll(true)}>
          {trans.__('and %1 more', diff.varying.length - shown.length)}
        </button>
      )}
    </div>
  );
}

/** What a section says when it has no rows: nothing differs (and how many are the same), or nothing at all. */
export function NoRows(props: { model: DiffModel; counts: IDiffCounts | undefined; what: string; trans: TranslationBundle }): JSX.Element {
  const { model, counts, what, trans } = props;
  const same = counts?.same ?? 0;
  return (
    <p className="jp-mlp-muted jp-mlp-DiffNone">
      {same > 0
        ? trans._n('No %2 differs (%1 the same).', 'No %2 differs (%1 the same).', same, what)
        : trans.__('No %1 in these runs.', what)}
      {same > 0 && model.onlyChanged && (
        <>
          {' '}
          <button className="jp-mlp-LinkButton" onClick={() => void model.setOnlyChanged(false)}>
            {trans.__('show unchanged')}
          </button>
        </>
      )}
    </p>
  );
}

function statusLabel(status: string, trans: TranslationBundle): string {
  switch (status) {
    case 'added':
      return trans.__('added');
    case 'removed':
      return trans.__('removed');
    case 'changed':
      return trans.__('changed');
    default:
      return trans.__('same');
  }
}

/**
 * Rows of values across the runs. Two runs: `before → after`, the changed
 * ones highlighted, added and removed ones marked. Three or more: a column
 * per run, each value that differs from the baseline's highlighted.
 */
export function RowsTable(props: {
  runs: IDiffRun[];
  rows: IDiffRow[];
  trans: TranslationBundle;
  format?: ValueFormat;
  label: string;
}): JSX.Element {
  const { runs, rows, trans, label } = props;
  const format = props.format ?? ((v: unknown) => formatValue(v));
  const show = (v: unknown, key: string) => (v === null || v === undefined ? '—' : format(v, key));
  if (runs.length === 2) {
    return (
      <table className="jp-mlp-KV jp-mlp-DiffRows" aria-label={label}>
        <tbody>
          {rows.map(row => (
            <tr key={row.key} data-key={row.key} data-status={row.status} className={`jp-mlp-mod-${row.status}`}>
              <th title={row.key}>{row.key}</th>
              <td>
                {row.status === 'same' ? (
                  <span className="jp-mlp-DiffValue">{show(row.values[0], row.key)}</span>
                ) : (
                  <>
                    <span className="jp-mlp-DiffValue jp-mlp-mod-before">{show(row.values[0], row.key)}</span>
                    <span className="jp-mlp-DiffArrow"> → </span>
                    <span className="jp-mlp-DiffValue jp-mlp-mod-after">{show(row.values[1], row.key)}</span>
                    {row.status !== 'changed' && (
                      <span className={`jp-mlp-Badge jp-mlp-mod-${row.status}`}>{statusLabel(row.status, trans)}</span>
                    )}
                  </>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    );
  }
  return (
    <div className="jp-mlp-DiffScroll">
      <table className="jp-mlp-KV jp-mlp-DiffRows jp-mlp-mod-wide" aria-label={label}>
        <thead>
          <tr>
            <th />
            {runs.map((run, i) => (
              <th key={run.id}>
                <RunLabel run={run} index={i} />
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map(row => (
            <tr key={row.key} data-key={row.key} data-status={row.status} className={`jp-mlp-mod-${row.status}`}>
              <th title={row.key}>{row.key}</th>
              {row.values.map((v, i) => (
                <td
                  key={i}
                  className={i > 0 && !sameValue(v, row.values[0]) ? 'jp-mlp-DiffValue jp-mlp-mod-differs' : 'jp-mlp-DiffValue'}
                >
                  {show(v, row.key)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function sameValue(a: unknown, b: unknown): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}

/** Attributes read as what they are: durations and start times. */
export function formatAttribute(value: unknown, key: string): string {
  if (typeof value === 'number' && key === 'duration') {
    return formatDuration(value);
  }
  if (typeof value === 'number' && key === 'start_time') {
    return formatDateTime(value);
  }
  return formatValue(value);
}

/** An artifact file on one run: its size and the start of its digest. */
export const artifactFormat: ValueFormat = value => {
  const v = value as { digest?: string; size?: number };
  const digest = (v.digest ?? '').replace(/^[a-z0-9]+:/, '').slice(0, 10);
  return `${formatBytes(v.size)}${digest ? ` · ${digest}` : ''}`;
};
