import { nullTranslator } from '@jupyterlab/translation';
import { describe, expect, it } from 'vitest';
import { describeSource, durationOrNone, entityKeys, formatCell, freshnessBadge, shortDuration } from '../src/featuresformat';
import { freshness } from './features-fixture';

const trans = nullTranslator.load('jupyter_mlp');

describe('shortDuration', () => {
  it('writes durations the way SLOs and TTLs are given, at most two units', () => {
    expect(shortDuration(45)).toBe('45s');
    expect(shortDuration(12 * 60)).toBe('12m');
    expect(shortDuration(3600)).toBe('1h');
    expect(shortDuration(5400)).toBe('1h 30m');
    expect(shortDuration(3 * 3600 + 59)).toBe('3h');
    expect(shortDuration(30 * 86400)).toBe('30d');
    expect(shortDuration(2 * 86400 + 4 * 3600)).toBe('2d 4h');
    expect(shortDuration(0.2)).toBe('0s');
  });

  it('is blank for what is not a duration', () => {
    expect(shortDuration(null)).toBe('');
    expect(shortDuration(undefined)).toBe('');
    expect(shortDuration(-1)).toBe('');
    expect(shortDuration(NaN)).toBe('');
    expect(durationOrNone(null, trans)).toBe('none');
    expect(durationOrNone(86400, trans)).toBe('1d');
  });
});

describe('freshnessBadge', () => {
  it('says a stale view\'s age against its SLO', () => {
    expect(freshnessBadge(freshness(), trans)).toMatchObject({ status: 'stale', label: 'stale · 3h old, SLO 1h' });
    expect(freshnessBadge(freshness(), trans).title).toContain('materialize the view again');
  });

  it('says a fresh view\'s age against its SLO', () => {
    const f = freshness({ status: 'fresh', age: 12 * 60 });
    expect(freshnessBadge(f, trans)).toMatchObject({ status: 'fresh', label: 'fresh · 12m old, SLO 1h' });
  });

  it('says a view was never materialized, also when the server sent no freshness', () => {
    const never = freshness({ status: 'never', age: null, last_materialized: null, online_version: null });
    expect(freshnessBadge(never, trans).label).toBe('never materialized');
    expect(freshnessBadge(null, trans).status).toBe('never');
    expect(freshnessBadge(undefined, trans).label).toBe('never materialized');
  });

  it('says a view without an SLO has none, with its age', () => {
    const f = freshness({ status: 'unmonitored', slo: null, age: 90 });
    expect(freshnessBadge(f, trans)).toMatchObject({ status: 'unmonitored', label: 'no SLO · 1m 30s old' });
  });

  it('says when a materialization left no rows online', () => {
    const f = freshness({ age: null, newest_event_time: null });
    expect(freshnessBadge(f, trans).label).toBe('stale · no rows online, SLO 1h');
  });
});

describe('describeSource', () => {
  it('names a path, a query or a stored DataFrame', () => {
    expect(describeSource({ kind: 'parquet', uri: '/data/stats/' }, trans)).toBe('parquet: /data/stats/');
    expect(describeSource({ kind: 'csv', uri: 's3://b/x.csv' }, trans)).toBe('csv: s3://b/x.csv');
    expect(describeSource({ kind: 'sql', query: 'SELECT * FROM t', url: 'postgresql://db' }, trans)).toBe('sql: SELECT * FROM t');
    expect(describeSource({ kind: 'dataframe', digest: 'ab'.repeat(32), rows: 40 }, trans)).toBe(
      'DataFrame, 40 rows (stored abababababab)'
    );
  });
});

describe('entityKeys and formatCell', () => {
  it('lists the join keys, or says the view is global', () => {
    expect(entityKeys({ join_keys: ['customer_id', 'region'] }, trans)).toBe('customer_id, region');
    expect(entityKeys({ join_keys: [] }, trans)).toBe('(global)');
  });

  it('shows null as null and numbers as the runs table does', () => {
    expect(formatCell(null)).toBe('null');
    expect(formatCell(undefined)).toBe('null');
    expect(formatCell(12.3456789)).toBe('12.35');
    expect(formatCell('gold')).toBe('gold');
    expect(formatCell(true)).toBe('true');
  });
});
