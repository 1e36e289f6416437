import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';
import { DiffSection, IDiff, IDiffRow } from '../../api';
import { DiffModel } from '../../diffmodel';
import { Failure, Loading } from '../states';
import { CodeDiff } from './code';
import { Curves, MetricsTable } from './metrics';
import { artifactFormat, differing, formatAttribute, IDiffProps, NoRows, RowsTable, sectionLabel, ValueFormat } from './values';

/** The sections of a diff, in the order the page shows them. */
export const DIFF_SECTIONS: DiffSection[] = ['params', 'metrics', 'code', 'environment', 'artifacts', 'tags', 'attributes'];

/**
 * Every section of the diff, each titled with how many of its fields differ;
 * `mount` hands each section's element to the page (for jumping to it).
 */
export function DiffSections(
  props: IDiffProps & { mount?: (section: DiffSection, node: HTMLElement | null) => void }
): JSX.Element {
  const { model, diff, trans, mount } = props;
  return (
    <>
      {DIFF_SECTIONS.map(section => (
        <section
          key={section}
          ref={node => mount?.(section, node)}
          className="jp-mlp-Section jp-mlp-DiffSection"
          data-section={section}
          aria-label={sectionLabel(section, trans)}
        >
          <h2 className="jp-mlp-Section-title">
            {sectionLabel(section, trans)}
            <SectionCount diff={diff} section={section} trans={trans} />
          </h2>
          <SectionBody model={model} diff={diff} section={section} trans={trans} />
        </section>
      ))}
    </>
  );
}

/** What the page shows before it has a diff: loading, or why the runs could not be compared and what to do. */
export function DiffState(props: { model: DiffModel; trans: TranslationBundle }): JSX.Element {
  const { model, trans } = props;
  if (model.status !== 'error' || !model.error) {
    return <Loading label={trans.__('Comparing the runs…')} />;
  }
  const kind = model.error.kind;
  const nothing = kind === 'InvalidInput' && model.error.field === 'run' && model.runIds.length < 2;
  return (
    <Failure
      title={nothing ? trans.__('Nothing to compare') : trans.__('Could not compare %1', model.runIds.join(', '))}
      error={model.error}
      trans={trans}
      onRetry={nothing ? undefined : () => void model.load()}
      hint={
        kind === 'NotFound'
          ? trans.__(
              'A run may have been deleted (mlp.restore_run brings it back); if every run exists, the server may be older than the Compare view: upgrade jupyter-mlp where JupyterLab runs.'
            )
          : nothing
            ? trans.__('Select two or more runs in the ML Platform sidebar (Ctrl- or Shift-click), then Compare.')
            : undefined
      }
    />
  );
}

/** How many fields of a section differ; its tooltip says how many are the same. */
export function SectionCount(props: { diff: IDiff; section: DiffSection; trans: TranslationBundle }): JSX.Element | null {
  const counts = props.diff.counts[props.section];
  if (!counts) {
    return null;
  }
  const n = differing(counts);
  return (
    <span
      className={`jp-mlp-DiffCount${n ? ' jp-mlp-mod-changed' : ''}`}
      title={props.trans.__('%1 differ, %2 the same', n, counts.same)}
    >
      {n}
    </span>
  );
}

function SectionBody(props: IDiffProps & { section: DiffSection }): JSX.Element {
  const { model, diff, section, trans } = props;
  const counts = diff.counts[section];
  const rows = (list: IDiffRow[], what: string, format?: ValueFormat) =>
    list.length ? (
      <RowsTable runs={diff.runs} rows={list} trans={trans} format={format} label={sectionLabel(section, trans)} />
    ) : (
      <NoRows model={model} counts={counts} what={what} trans={trans} />
    );
  switch (section) {
    case 'params':
      return rows(diff.params, trans.__('param'));
    case 'tags':
      return rows(diff.tags, trans.__('tag'));
    case 'attributes':
      return rows(diff.attributes, trans.__('attribute'), formatAttribute);
    case 'artifacts':
      return rows(
        diff.artifacts.map(a => ({ key: a.path, values: a.values, status: a.status, score: a.score, numeric: false })),
        trans.__('artifact'),
        artifactFormat
      );
    case 'metrics':
      return diff.metrics.length ? (
        <>
          <MetricsTable model={model} diff={diff} trans={trans} />
          <Curves model={model} diff={diff} trans={trans} />
        </>
      ) : (
        <NoRows model={model} counts={counts} what={trans.__('metric')} trans={trans} />
      );
    case 'code':
      return <CodeDiff model={model} diff={diff} trans={trans} />;
    case 'environment':
      return <Environment model={model} diff={diff} trans={trans} />;
  }
}

/** Python, packages, git and inputs, each as rows; what has no rows is left out. */
function Environment(props: IDiffProps): JSX.Element {
  const { model, diff, trans } = props;
  const env = diff.environment;
  const parts: [string, string, IDiffRow[]][] = [
    ['python', trans.__('Python'), env.python && (env.python.status !== 'same' || !model.onlyChanged) ? [env.python] : []],
    ['packages', trans.__('Packages'), env.packages],
    ['git', trans.__('Git'), env.git],
    ['inputs', trans.__('Inputs'), env.inputs]
  ];
  const shown = parts.filter(([, , list]) => list.length);
  if (!shown.length) {
    return <NoRows model={model} counts={diff.counts.environment} what={trans.__('environment field')} trans={trans} />;
  }
  // a run without an environment capture (capture=False) has every package "removed": say why
  const without = diff.runs.filter((_, i) => env.python?.values[i] == null && env.packages.every(r => r.values[i] == null));
  return (
    <>
      {without.length > 0 && without.length < diff.runs.length && (
        <p className="jp-mlp-Note" role="note">
          {trans.__(
            '%1 captured no environment (started with capture=False, or not from Python): its packages show as missing.',
            without.map(r => r.label).join(', ')
          )}
        </p>
      )}
      {shown.map(([key, label, list]) => (
        <div key={key} className="jp-mlp-DiffEnv" data-part={key}>
          {list.length > FOLD_FROM ? (
            <details>
              <summary className="jp-mlp-DiffEnv-title">{trans.__('%1: %2 rows', label, list.length)}</summary>
              <RowsTable runs={diff.runs} rows={list} trans={trans} label={label} />
            </details>
          ) : (
            <>
              <h3 className="jp-mlp-DiffEnv-title">{label}</h3>
              <RowsTable runs={diff.runs} rows={list} trans={trans} label={label} />
            </>
          )}
        </div>
      ))}
    </>
  );
}

/** Environment tables longer than this start folded (the summary names the top ones). */
const FOLD_FROM = 30;
