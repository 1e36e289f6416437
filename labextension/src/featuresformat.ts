/** How the feature store reads in the sidebar: ages against SLOs, sources, keys, cells. */
import { TranslationBundle } from '@jupyterlab/translation';
import { IFeatureSource, IFeatureView, IFreshness, FreshnessStatus } from './api';
import { formatValue } from './format';

/** A duration the way SLOs and TTLs are written: `45s`, `12m`, `3h`, `1h 30m`, `30d`, `2d 4h`. */
export function shortDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) {
    return '';
  }
  const s = Math.round(seconds);
  const units: [string, number][] = [
    ['d', 86400],
    ['h', 3600],
    ['m', 60],
    ['s', 1]
  ];
  const i = units.findIndex(([, size]) => s >= size);
  if (i < 0) {
    return '0s';
  }
  const [unit, size] = units[i];
  const whole = Math.floor(s / size);
  const [next, nextSize] = units[i + 1] ?? ['', 0];
  const rest = nextSize ? Math.floor((s % size) / nextSize) : 0;
  return rest ? `${whole}${unit} ${rest}${next}` : `${whole}${unit}`;
}

/** What a freshness badge says and how it is coloured. */
export interface IFreshnessBadge {
  status: FreshnessStatus;
  /** `stale · 3h old, SLO 1h`, `fresh · 12m old, SLO 1h`, `never materialized`, `no SLO · 3h old`. */
  label: string;
  /** The long form, for the tooltip. */
  title: string;
}

/** The badge of a view's freshness; a view the server sent none for reads as never materialized. */
export function freshnessBadge(f: IFreshness | null | undefined, trans: TranslationBundle): IFreshnessBadge {
  if (!f || f.status === 'never') {
    return {
      status: 'never',
      label: trans.__('never materialized'),
      title: trans.__('Nothing of this view is in the online store yet: mlp.features.materialize(view)')
    };
  }
  const age = shortDuration(f.age);
  const slo = shortDuration(f.slo);
  const old = age ? trans.__('%1 old', age) : trans.__('no rows online');
  if (f.status === 'unmonitored') {
    return {
      status: f.status,
      label: `${trans.__('no SLO')} · ${old}`,
      title: trans.__('The newest value online is %1; the view sets no freshness_slo to hold it to', old)
    };
  }
  const word = f.status === 'fresh' ? trans.__('fresh') : trans.__('stale');
  return {
    status: f.status,
    label: `${word} · ${old}, ${trans.__('SLO %1', slo)}`,
    title:
      f.status === 'fresh'
        ? trans.__('The newest value online is %1, within the SLO of %2', old, slo)
        : trans.__('The newest value online is %1, past the SLO of %2: materialize the view again', old, slo)
  };
}

/** Where a view reads its rows: a path or URL, a query, or a stored DataFrame. */
export function describeSource(source: IFeatureSource, trans: TranslationBundle): string {
  switch (source.kind) {
    case 'parquet':
    case 'csv':
      return `${source.kind}: ${source.uri ?? ''}`;
    case 'sql':
      return `sql: ${source.query ?? ''}`;
    case 'dataframe':
      return trans.__('DataFrame, %1 rows (stored %2)', source.rows ?? '?', (source.digest ?? '').slice(0, 12));
    default:
      return JSON.stringify(source);
  }
}

/** A view's entity keys: `customer_id, region`, or `(global)` for a view without entities. */
export function entityKeys(view: Pick<IFeatureView, 'join_keys'>, trans: TranslationBundle): string {
  return view.join_keys.length ? view.join_keys.join(', ') : trans.__('(global)');
}

/** A TTL or SLO in seconds, or `none`. */
export function durationOrNone(seconds: number | null | undefined, trans: TranslationBundle): string {
  return shortDuration(seconds) || trans.__('none');
}

/** A value of a sample row or a statistic; null is null, not blank. */
export function formatCell(value: unknown): string {
  return value === null || value === undefined ? 'null' : formatValue(value);
}
