import { afterEach, describe, expect, it } from 'vitest';
import { FeaturesModel, FeatureViewModel, RECENT_MATERIALIZATIONS, SAMPLE_ROWS } from '../src/featuresmodel';
import { FakeServer } from './helpers';
import { materialization, store } from './features-fixture';

const disposables: { dispose(): void }[] = [];

afterEach(() => {
  disposables.splice(0).forEach(m => m.dispose());
});

function features(server: FakeServer, pollInterval = 0): FeaturesModel {
  const m = new FeaturesModel({ client: server.client(), pollInterval });
  disposables.push(m);
  return m;
}

function opened(server: FakeServer): FeatureViewModel {
  const m = new FeatureViewModel({ client: server.client(), name: 'customer_stats', pollInterval: 0 });
  disposables.push(m);
  return m;
}

const paths = (server: FakeServer) => server.calls.map(c => new URL(c.url).pathname.replace('/mlp/api/v1/', ''));
const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

describe('MLPClient, feature store routes', () => {
  it('asks for one view\'s freshness, its recent materializations and a sample of n rows', async () => {
    const server = store();
    const client = server.client();
    await client.freshness('customer_stats');
    await client.materializations('customer_stats', 5);
    await client.featureSample('customer_stats', 3);
    const params = server.calls.map(c => new URL(c.url).searchParams);
    expect(params.map(p => [p.get('view'), p.get('limit'), p.get('n')])).toEqual([
      ['customer_stats', null, null],
      ['customer_stats', '5', null],
      [null, null, '3']
    ]);
  });

  it('reads the statistics\' non-finite numbers as numbers', async () => {
    const stats = await store().client().featureStats('customer_stats');
    expect(stats.features.avg_spend).toEqual({ nulls: 2, min: 1.5, max: Infinity, mean: 42.125 });
    expect(stats.features.segment.min).toBeNull();
  });
});

describe('FeaturesModel', () => {
  it('loads the views with their freshness', async () => {
    const m = features(store());
    expect(m.status).toBe('loading');
    await m.refresh();
    expect(m.status).toBe('ready');
    expect(m.views.map(v => [v.name, v.freshness?.status])).toEqual([
      ['customer_stats', 'stale'],
      ['orders', 'never']
    ]);
  });

  it('keeps a failure with the server\'s message for the section to say, never rejects', async () => {
    const server = new FakeServer().on('GET features/views', () => ({
      status: 500,
      body: { error: 'StoreUnavailable', message: 'the store is away: start PostgreSQL', field: null }
    }));
    const m = features(server);
    await expect(m.refresh()).resolves.toBeUndefined();
    expect(m.status).toBe('error');
    expect(m.error?.kind).toBe('StoreUnavailable');
    expect(m.error?.message).toContain('start PostgreSQL');
  });

  it('remembers whether it is open and the view opened, and ignores a malformed state', () => {
    const m = features(store());
    const states: unknown[] = [];
    m.stateChanged.connect((_, s) => states.push(s));
    m.setOpen(true);
    m.select('customer_stats');
    m.select('customer_stats');
    m.select(null);
    expect(states).toEqual([
      { open: true, selected: null },
      { open: true, selected: 'customer_stats' },
      { open: true, selected: null }
    ]);
    const again = features(store());
    again.restore({ open: true, selected: 'customer_stats' });
    expect(again.toJSON()).toEqual({ open: true, selected: 'customer_stats' });
    expect(again.detail?.name).toBe('customer_stats');
    again.restore({ open: 'yes' as unknown as boolean, selected: 3 as unknown as string });
    expect(again.toJSON()).toEqual({ open: true, selected: 'customer_stats' });
  });

  it('polls the list only while shown, and the opened view instead of the list', async () => {
    const server = store();
    const m = features(server, 0.01);
    await sleep(40);
    expect(server.calls.length).toBe(0);
    m.setActive(true);
    await sleep(60);
    expect(paths(server).filter(p => p === 'features/views').length).toBeGreaterThan(1);

    m.select('customer_stats');
    await sleep(30);
    const lists = paths(server).filter(p => p === 'features/views').length;
    await sleep(60);
    expect(paths(server).filter(p => p === 'features/views').length).toBe(lists);
    expect(paths(server).filter(p => p === 'features/views/customer_stats').length).toBeGreaterThan(1);

    m.setActive(false);
    await sleep(30);
    const n = server.calls.length;
    await sleep(60);
    expect(server.calls.length).toBe(n);
  });

  it('stops the opened view when another is opened or the list comes back', () => {
    const m = features(store());
    m.setActive(true);
    m.select('customer_stats');
    const first = m.detail!;
    expect(first.active).toBe(true);
    m.select(null);
    expect(first.isDisposed).toBe(true);
    expect(m.active).toBe(true);
  });
});

describe('FeatureViewModel', () => {
  it('loads the definition, freshness, recent materializations, statistics and newest rows', async () => {
    const server = store();
    const m = opened(server);
    await m.refresh();
    expect(m.status).toBe('ready');
    expect(m.view?.versions.map(v => v.version)).toEqual([1, 2]);
    expect(m.freshness?.status).toBe('stale');
    expect(m.materializations.map(x => x.id)).toEqual([3]);
    expect(m.stats?.rows).toBe(40);
    expect(m.sample?.rows.length).toBe(2);
    const urls = server.calls.map(c => new URL(c.url));
    expect(urls.find(u => u.pathname.endsWith('/materializations'))?.searchParams.get('limit')).toBe(String(RECENT_MATERIALIZATIONS));
    expect(urls.find(u => u.pathname.endsWith('/sample'))?.searchParams.get('n')).toBe(String(SAMPLE_ROWS));
  });

  it('scans the source again only for a new version or materialization, or on reload', async () => {
    let latest = 3;
    const server = store().on('GET features/materializations', () => ({
      body: { materializations: [materialization({ id: latest })] }
    }));
    const m = opened(server);
    const scans = () => paths(server).filter(p => p.endsWith('/stats')).length;
    await m.refresh();
    await m.refresh();
    expect(scans()).toBe(1);
    latest = 4;
    await m.refresh();
    expect(scans()).toBe(2);
    await m.reload();
    expect(scans()).toBe(3);
  });

  it('says an unreadable source where the statistics and rows go, and still shows the rest', async () => {
    const moved = { status: 400, body: { error: 'InvalidInput', message: 'no file /data/gone.parquet', field: 'source' } };
    const server = store()
      .on('GET features/views/customer_stats/stats', () => moved)
      .on('GET features/views/customer_stats/sample', () => moved);
    const m = opened(server);
    await m.refresh();
    expect(m.status).toBe('ready');
    expect(m.view?.name).toBe('customer_stats');
    expect(m.statsError?.message).toContain('/data/gone.parquet');
    expect(m.sampleError?.kind).toBe('InvalidInput');
    expect(m.stats).toBeNull();
  });

  it('says a view that is gone is not found', async () => {
    const gone = { status: 404, body: { error: 'NotFound', message: "no feature view named 'customer_stats'", field: 'view' } };
    const server = store()
      .on('GET features/views/customer_stats', () => gone)
      .on('GET features/freshness', () => gone);
    const m = opened(server);
    await m.refresh();
    expect(m.status).toBe('error');
    expect(m.error?.kind).toBe('NotFound');
  });
});
