import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';
import { IDiff, IDiffCellOp, IDiffCodePair } from '../../api';
import { IDiffProps, RunLabel } from './values';

/** The class of a unified diff line: added, deleted, a hunk or file header, or context. */
export function lineKind(line: string, index: number): 'add' | 'del' | 'hunk' | 'header' | 'context' {
  if (index < 2 && (line.startsWith('--- ') || line.startsWith('+++ '))) {
    return 'header';
  }
  if (line.startsWith('@@')) {
    return 'hunk';
  }
  if (line.startsWith('+')) {
    return 'add';
  }
  if (line.startsWith('-')) {
    return 'del';
  }
  return 'context';
}

/** Unified diff lines, coloured by kind. */
export function DiffLines(props: { lines: string[]; label: string }): JSX.Element {
  return (
    <pre className="jp-mlp-DiffLines" aria-label={props.label}>
      {props.lines.map((line, i) => (
        <div key={i} className={`jp-mlp-DiffLine jp-mlp-mod-${lineKind(line, i)}`}>
          {line || ' '}
        </div>
      ))}
    </pre>
  );
}

/** A whole cell as added or removed lines. */
function sourceLines(source: string, sign: '+' | '-'): string[] {
  return source.split('\n').map(line => `${sign}${line}`);
}

function prompt(count: number | null): string {
  return `[${count ?? ' '}]`;
}

/** One cell of the pair: what happened to it, and its diff or source. */
function Cell(props: { op: IDiffCellOp; trans: TranslationBundle }): JSX.Element {
  const { op, trans } = props;
  let title: string;
  let lines: string[] | null;
  switch (op.op) {
    case 'changed':
      title = trans.__('Cell %1 → %2 changed', prompt(op.a_count), prompt(op.b_count));
      lines = op.diff;
      break;
    case 'moved':
      title = op.diff.length
        ? trans.__('Cell moved from position %1 to %2, and edited', (op.a ?? 0) + 1, (op.b ?? 0) + 1)
        : trans.__('Cell moved from position %1 to %2', (op.a ?? 0) + 1, (op.b ?? 0) + 1);
      lines = op.diff.length ? op.diff : null;
      break;
    case 'added':
      title = trans.__('Cell %1 added', prompt(op.b_count));
      lines = sourceLines(op.source, '+');
      break;
    case 'removed':
      title = trans.__('Cell %1 removed', prompt(op.a_count));
      lines = sourceLines(op.source, '-');
      break;
    default:
      title = trans.__('Cell %1', prompt(op.b_count));
      lines = null;
  }
  return (
    <li className={`jp-mlp-DiffCell jp-mlp-mod-${op.op}`} data-op={op.op}>
      <div className="jp-mlp-DiffCell-title">
        <span className={`jp-mlp-Badge jp-mlp-mod-${op.op}`}>{opLabel(op.op, trans)}</span> {title}
      </div>
      {lines ? (
        <DiffLines lines={lines} label={title} />
      ) : (
        <pre className="jp-mlp-DiffLines jp-mlp-mod-plain">{op.source}</pre>
      )}
    </li>
  );
}

/** The ops with each run of unchanged cells gathered in a list. */
function groupSame(ops: IDiffCellOp[]): (IDiffCellOp | IDiffCellOp[])[] {
  const out: (IDiffCellOp | IDiffCellOp[])[] = [];
  for (const op of ops) {
    const last = out[out.length - 1];
    if (op.op !== 'same') {
      out.push(op);
    } else if (Array.isArray(last)) {
      last.push(op);
    } else {
      out.push([op]);
    }
  }
  return out;
}

/** Cells the same in both runs: one line, opened to their sources when unchanged fields are shown. */
function SameCells(props: { ops: IDiffCellOp[]; open: boolean; trans: TranslationBundle }): JSX.Element {
  const { ops, open, trans } = props;
  return (
    <li className="jp-mlp-DiffCell jp-mlp-mod-same" data-op="same">
      <details open={open}>
        <summary className="jp-mlp-DiffCell-title">{trans._n('%1 unchanged cell', '%1 unchanged cells', ops.length)}</summary>
        {ops.map((op, i) => (
          <pre key={i} className="jp-mlp-DiffLines jp-mlp-mod-plain">
            {op.source}
          </pre>
        ))}
      </details>
    </li>
  );
}

function opLabel(op: string, trans: TranslationBundle): string {
  switch (op) {
    case 'changed':
      return trans.__('changed');
    case 'moved':
      return trans.__('moved');
    case 'added':
      return trans.__('added');
    case 'removed':
      return trans.__('removed');
    default:
      return trans.__('same');
  }
}

/** The pair's counts as one line: `1 changed, 1 added, 1 moved`. */
function pairCounts(pair: IDiffCodePair, trans: TranslationBundle): string {
  const parts = [
    pair.changed && trans._n('%1 cell changed', '%1 cells changed', pair.changed),
    pair.added && trans._n('%1 added', '%1 added', pair.added),
    pair.removed && trans._n('%1 removed', '%1 removed', pair.removed),
    pair.moved && trans._n('%1 moved', '%1 moved', pair.moved),
    pair.same && trans._n('%1 the same', '%1 the same', pair.same)
  ].filter(Boolean);
  return parts.join(', ');
}

/**
 * The baseline's code against another run's: for notebooks, cell by cell
 * (changed cells as unified diffs, moved, added and removed cells marked);
 * for scripts, line by line. With three or more runs, a picker chooses the
 * other run.
 */
export function CodeDiff(props: IDiffProps): JSX.Element {
  const { model, diff, trans } = props;
  const other = model.codeRun;
  const pair = diff.code.pairs.find(p => p.a === 0 && p.b === other) ?? diff.code.pairs[0];
  const kinds = diff.code.kinds;
  return (
    <div className="jp-mlp-DiffCode">
      {diff.runs.length > 2 && (
        <label className="jp-mlp-Check jp-mlp-DiffCode-pick">
          {trans.__('Baseline %1 against', diff.runs[0].label)}
          <select value={other} onChange={e => model.setCodeRun(Number(e.target.value))}>
            {diff.runs.slice(1).map((run, i) => (
              <option key={run.id} value={i + 1}>
                {run.label}
              </option>
            ))}
          </select>
        </label>
      )}
      {!pair ? (
        <p className="jp-mlp-muted">{trans.__('The server sent no code comparison.')}</p>
      ) : (
        <PairView pair={pair} diff={diff} kinds={kinds} onlyChanged={model.onlyChanged} trans={trans} />
      )}
    </div>
  );
}

function PairView(props: {
  pair: IDiffCodePair;
  diff: IDiff;
  kinds: string[];
  onlyChanged: boolean;
  trans: TranslationBundle;
}): JSX.Element {
  const { pair, diff, kinds, onlyChanged, trans } = props;
  const without = [pair.a, pair.b].filter(i => (kinds[i] ?? 'none') === 'none');
  if (without.length) {
    return (
      <div className="jp-mlp-State" role="status">
        <p className="jp-mlp-State-title">
          {without.length === 2
            ? trans.__('Neither run captured its code')
            : trans.__('%1 captured no code', diff.runs[without[0]]?.label ?? '')}
        </p>
        <p className="jp-mlp-muted">
          {trans.__(
            'Runs started in a notebook or a script capture their cells or source by themselves, unless started with capture=False.'
          )}
        </p>
      </div>
    );
  }
  const a = diff.runs[pair.a];
  const b = diff.runs[pair.b];
  const heading = (
    <p className="jp-mlp-DiffCode-heading">
      {a && <RunLabel run={a} index={pair.a} />} → {b && <RunLabel run={b} index={pair.b} />}{' '}
      <span className="jp-mlp-muted">{pairCounts(pair, trans)}</span>
    </p>
  );
  if (pair.script_diff !== null && pair.script_diff !== undefined) {
    const mixed = kinds[pair.a] !== kinds[pair.b];
    return (
      <>
        {heading}
        {mixed && (
          <p className="jp-mlp-Note">{trans.__('One run ran a notebook, the other a script: their code is compared as text.')}</p>
        )}
        {pair.script_diff.length ? (
          <DiffLines lines={pair.script_diff} label={trans.__('Script diff')} />
        ) : (
          <p className="jp-mlp-muted">{trans.__('The scripts are the same.')}</p>
        )}
      </>
    );
  }
  return (
    <>
      {heading}
      {pair.ops.length ? (
        <ol className="jp-mlp-DiffCells">
          {groupSame(pair.ops).map((group, i) =>
            Array.isArray(group) ? (
              <SameCells key={`same-${i}`} ops={group} open={!onlyChanged} trans={trans} />
            ) : (
              <Cell key={`${group.op}-${group.a}-${group.b}-${i}`} op={group} trans={trans} />
            )
          )}
        </ol>
      ) : (
        <p className="jp-mlp-muted">{trans.__('No cell differs.')}</p>
      )}
    </>
  );
}
