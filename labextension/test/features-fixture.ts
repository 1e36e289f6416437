import { FakeServer } from './helpers';

/** A feature store as the server describes it: `customer_stats` (stale, v2) and `orders` (never materialized). */
export const NOW = 1_700_000_000;

export function freshness(overrides: Record<string, unknown> = {}): any {
  return {
    view: 'customer_stats',
    version: 2,
    online_version: 2,
    newest_event_time: NOW - 3 * 3600,
    last_materialized: NOW - 600,
    age: 3 * 3600,
    slo: 3600,
    status: 'stale',
    materializations: 3,
    running: 0,
    ...overrides
  };
}

export function view(overrides: Record<string, unknown> = {}): any {
  return {
    name: 'customer_stats',
    version: 2,
    latest_version: 2,
    entities: [{ name: 'customer', version: 1 }],
    join_keys: ['customer_id'],
    key_types: { customer_id: 'BIGINT' },
    source: { kind: 'dataframe', digest: 'ab'.repeat(32), rows: 40 },
    event_time: 'event_timestamp',
    created_time: 'created',
    ttl: 30 * 86400,
    features: [
      { name: 'avg_spend', dtype: 'float' },
      { name: 'segment', dtype: 'string' }
    ],
    description: 'Spend per customer, daily',
    owner: 'lena',
    freshness_slo: 3600,
    tags: { team: 'growth' },
    created_at: NOW - 86400,
    created_by: 'lena',
    updated_at: NOW - 3600,
    freshness: freshness(),
    ...overrides
  };
}

export const ORDERS = view({
  name: 'orders',
  version: 1,
  latest_version: 1,
  owner: null,
  join_keys: [],
  entities: [],
  features: [{ name: 'total', dtype: 'float' }],
  freshness: freshness({ view: 'orders', version: 1, online_version: null, newest_event_time: null, last_materialized: null, age: null, status: 'never', materializations: 0 })
});

export function detail(overrides: Record<string, unknown> = {}): any {
  const { freshness: _, ...rest } = view(overrides);
  return {
    ...rest,
    versions: [
      { version: 1, created_at: NOW - 2 * 86400, created_by: 'lena' },
      { version: 2, created_at: NOW - 86400, created_by: 'omar' }
    ]
  };
}

export function materialization(overrides: Record<string, unknown> = {}): any {
  return {
    id: 3,
    view: 'customer_stats',
    version: 2,
    status: 'finished',
    start: null,
    end: NOW - 600,
    incremental: false,
    keys: 20,
    written: 20,
    newest_event_time: NOW - 3 * 3600,
    started_at: NOW - 610,
    finished_at: NOW - 600,
    started_by: 'lena',
    error: null,
    progress: 1,
    ...overrides
  };
}

export const STATS = {
  rows: 40,
  keys: 20,
  event_time_min: NOW - 10 * 86400,
  event_time_max: NOW - 3 * 3600,
  features: {
    avg_spend: { nulls: 2, min: 1.5, max: 'Infinity', mean: 42.125 },
    segment: { nulls: 0, min: null, max: null, mean: null }
  }
};

export const SAMPLE = {
  columns: ['customer_id', 'event_timestamp', 'created', 'avg_spend', 'segment'],
  rows: [
    [7, '2023-11-14T19:13:20', '2023-11-14T19:13:20', 12.5, 'gold'],
    [8, '2023-11-14T18:13:20', '2023-11-14T18:13:20', null, 'silver']
  ]
};

/** A server with every feature store route `customer_stats` needs; tests override routes with `.on`. */
export function store(): FakeServer {
  return new FakeServer()
    .on('GET features/views', () => ({ body: { views: [view(), ORDERS] } }))
    .on('GET features/views/customer_stats', () => ({ body: detail() }))
    .on('GET features/freshness', () => ({ body: { views: [freshness()] } }))
    .on('GET features/materializations', () => ({ body: { materializations: [materialization()] } }))
    .on('GET features/views/customer_stats/stats', () => ({ body: STATS }))
    .on('GET features/views/customer_stats/sample', () => ({ body: SAMPLE }));
}
