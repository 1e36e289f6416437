import { afterEach, describe, expect, it } from 'vitest';
import { IRunViewState, RunModel } from '../src/runmodel';
import { FakeServer, ICall, run, settle } from './helpers';

const models: RunModel[] = [];

afterEach(() => {
  models.splice(0).forEach(m => m.dispose());
});

function summary(last: number, count = 100) {
  return { last, step: count - 1, time: 1, min: 0, max: 1, count };
}

function detail(overrides: Record<string, unknown> = {}) {
  return run({
    metrics: {
      loss: summary(0.1),
      acc: summary(0.9),
      'system/cpu': summary(50)
    },
    artifacts: [],
    children: [],
    ...overrides
  });
}

/** A server for one run; series answer every key asked with two points in the range asked. */
function serverFor(r: any): FakeServer {
  return new FakeServer()
    .on(`GET runs/${r.id}`, () => ({ body: r }))
    .on(`GET runs/${r.id}/series`, call => {
      const q = new URL(call.url).searchParams;
      const start = Number(q.get('start') ?? 0);
      const end = Number(q.get('end') ?? 1000);
      return {
        body: {
          run_id: r.id,
          x: q.get('x'),
          series: q.getAll('key').map(key => ({
            key,
            x: [start, end],
            y: [1, 2],
            count: q.has('start') ? 2 : 1_000_000,
            downsampled: !q.has('start'),
            nonfinite: 0,
            min: 1,
            max: 2,
            last: 2
          }))
        }
      };
    })
    .on('POST runs/search', () => ({ body: { runs: [], next_cursor: null } }));
}

function model(server: FakeServer, runId: string, state: Partial<IRunViewState> | null = null, pollInterval = 0): RunModel {
  const m = new RunModel({ client: server.client(), runId, state, pollInterval });
  models.push(m);
  return m;
}

const seriesCalls = (server: FakeServer): URLSearchParams[] =>
  server.calls.filter((c: ICall) => new URL(c.url).pathname.endsWith('/series')).map(c => new URL(c.url).searchParams);

describe('RunModel', () => {
  it('loads the run, and its points only once the charts are on screen', async () => {
    const r = detail();
    const server = serverFor(r);
    const m = model(server, r.id);
    await m.load();
    expect(m.status).toBe('ready');
    expect(m.run?.name).toBe(r.name);
    expect(m.chartKeys).toEqual(['acc', 'loss']); // system metrics only when there is nothing else
    expect(seriesCalls(server)).toHaveLength(0);
    m.showCharts(640);
    await settle();
    const [q] = seriesCalls(server);
    expect(q.getAll('key')).toEqual(['acc', 'loss']);
    expect(q.get('max_points')).toBe('640');
    expect(q.get('x')).toBe('step');
    expect(m.charts.map(c => [c.key, c.status, c.series?.count])).toEqual([
      ['acc', 'ready', 1_000_000],
      ['loss', 'ready', 1_000_000]
    ]);
  });

  it('charts system metrics when the run has no others, and at most ten metrics', async () => {
    const only = detail({ metrics: { 'system/cpu': summary(1), 'system/memory': summary(2) } });
    const m = model(serverFor(only), only.id);
    await m.load();
    expect(m.chartKeys).toEqual(['system/cpu', 'system/memory']);
    const metrics = Object.fromEntries(Array.from({ length: 14 }, (_, i) => [`m${String(i).padStart(2, '0')}`, summary(i)]));
    const many = detail({ metrics });
    const m2 = model(serverFor(many), many.id);
    await m2.load();
    expect(m2.chartKeys).toHaveLength(10);
    m2.setCharts(Object.keys(metrics));
    expect(m2.chartKeys).toHaveLength(10);
  });

  it('zooms one chart by asking for its range only, and resets', async () => {
    const r = detail();
    const server = serverFor(r);
    const m = model(server, r.id);
    await m.load();
    m.showCharts(500);
    await settle();
    m.zoom('loss', [100, 200]);
    expect(m.charts.find(c => c.key === 'loss')?.status).toBe('loading');
    await settle();
    const zoomed = seriesCalls(server)[1];
    expect(zoomed.getAll('key')).toEqual(['loss']);
    expect([zoomed.get('start'), zoomed.get('end')]).toEqual(['100', '200']);
    const loss = m.charts.find(c => c.key === 'loss')!;
    expect(loss.zoom).toEqual([100, 200]);
    expect(loss.series?.x).toEqual([100, 200]);
    expect(loss.series?.downsampled).toBe(false);
    expect(m.charts.find(c => c.key === 'acc')?.zoom).toBeNull();
    m.resetZoom('loss');
    await settle();
    const reset = seriesCalls(server)[2];
    expect(reset.has('start')).toBe(false);
    expect(m.charts.find(c => c.key === 'loss')?.zoom).toBeNull();
  });

  it('drops the answer to a zoom the user replaced before it came', async () => {
    const r = detail();
    const resolvers: (() => void)[] = [];
    const server = serverFor(r);
    const plain = server.routes.get(`GET runs/${r.id}/series`)!;
    server.on(`GET runs/${r.id}/series`, call => {
      const reply = plain(call) as { body: unknown };
      return () =>
        new Promise<Response>(resolve =>
          resolvers.push(() => resolve(new Response(JSON.stringify(reply.body), { status: 200 })))
        );
    });
    const m = model(server, r.id);
    await m.load();
    m.showCharts(500);
    await settle();
    resolvers.shift()!();
    await settle();
    m.zoom('loss', [1, 2]);
    await settle();
    m.zoom('loss', [5, 6]);
    await settle();
    resolvers[1](); // the second zoom answers first
    await settle();
    resolvers[0]();
    await settle();
    expect(m.charts.find(c => c.key === 'loss')?.series?.x).toEqual([5, 6]);
  });

  it('switches to the time axis: zooms dropped, points asked again, state remembered', async () => {
    const r = detail();
    const server = serverFor(r);
    const m = model(server, r.id);
    const states: IRunViewState[] = [];
    m.stateChanged.connect((_, s) => states.push(s));
    await m.load();
    m.showCharts(500);
    await settle();
    m.zoom('acc', [1, 2]);
    await settle();
    m.setAxis('time');
    await settle();
    const last = seriesCalls(server).pop()!;
    expect(last.get('x')).toBe('time');
    expect(last.getAll('key')).toEqual(['acc', 'loss']);
    expect(m.charts.every(c => c.zoom === null)).toBe(true);
    m.setLog(true);
    expect(states.pop()).toMatchObject({ runId: r.id, axis: 'time', log: true, tab: 'overview' });
  });

  it('restores the remembered tab, axis, scale, charts and artifact preview', async () => {
    const r = detail({ artifacts: [{ path: 'data/t.csv', size: 9, digest: null, created_at: null }] });
    const server = serverFor(r)
      .on(`GET runs/${r.id}/artifacts`, () => ({ body: { artifacts: r.artifacts } }))
      .on(`GET runs/${r.id}/artifact`, () => () => Promise.resolve(new Response('a,b\n1,2\n', { headers: { 'Content-Type': 'text/csv' } })));
    const m = model(server, r.id, { tab: 'artifacts', axis: 'time', log: true, charts: ['loss'], artifact: 'data/t.csv' });
    await m.load();
    await settle(10);
    expect(m.tab).toBe('artifacts');
    expect(m.chartKeys).toEqual(['loss']);
    expect(m.folder).toBe('data');
    expect(m.preview?.rows).toEqual([
      ['a', 'b'],
      ['1', '2']
    ]);
    expect(m.toJSON()).toEqual({ runId: r.id, tab: 'artifacts', axis: 'time', log: true, charts: ['loss'], artifact: 'data/t.csv' });
  });

  it('loads captures when their tab is first shown, once', async () => {
    const r = detail();
    let codeCalls = 0;
    const server = serverFor(r)
      .on(`GET runs/${r.id}/captures/code`, () => {
        codeCalls += 1;
        return { body: { capture: { type: 'notebook', cells: [{ execution_count: 1, source: 'x = 1' }] } } };
      })
      .on(`GET runs/${r.id}/captures/git`, () => ({ body: { capture: null } }))
      .on(`GET runs/${r.id}/captures/environment`, () => ({ body: { capture: { python: '3.12.1', packages: { numpy: '2.0' } } } }));
    const m = model(server, r.id);
    await m.load();
    expect(m.code.status).toBe('idle');
    m.setTab('code');
    await settle();
    expect(m.code.value?.cells?.[0].source).toBe('x = 1');
    expect(m.git.status).toBe('ready');
    expect(m.git.value).toBeNull();
    m.setTab('environment');
    await settle();
    expect(m.environment.value?.packages).toEqual({ numpy: '2.0' });
    m.setTab('code');
    await settle();
    expect(codeCalls).toBe(1);
  });

  it('previews an image as an object URL, a cut text as cut, and never fetches a binary file', async () => {
    const r = detail();
    const server = serverFor(r)
      .on(`GET runs/${r.id}/artifacts`, () => ({ body: { artifacts: [] } }))
      .on(`GET runs/${r.id}/artifact`, call => {
        const path = new URL(call.url).searchParams.get('path');
        return () =>
          Promise.resolve(
            path === 'roc.png'
              ? new Response(new Uint8Array([137, 80, 78, 71]), { headers: { 'Content-Type': 'image/png' } })
              : new Response('{"a": 1', { headers: { 'Content-Type': 'application/json', 'X-MLP-Truncated': 'true' } })
          );
      });
    const m = model(server, r.id);
    await m.load();
    await m.showArtifact('roc.png');
    expect(m.preview?.kind).toBe('image');
    expect(m.preview?.url).toMatch(/^blob:/);
    await m.showArtifact('metrics.json');
    expect(m.preview?.kind).toBe('json');
    expect(m.preview?.truncated).toBe(true);
    expect(m.preview?.text).toBe('{"a": 1');
    const before = server.calls.length;
    await m.showArtifact('model.pkl');
    expect(m.preview?.kind).toBe('binary');
    expect(server.calls.length).toBe(before);
    expect(m.downloadUrl('model.pkl')).toContain('path=model.pkl');
  });

  it('says the run is not there, with the server reason', async () => {
    const server = new FakeServer().on(`GET runs/${'0'.repeat(32)}`, () => ({
      status: 404,
      body: { error: 'NotFound', message: 'no run 000…', field: 'run' }
    }));
    const m = model(server, '0'.repeat(32));
    await m.load();
    expect(m.status).toBe('error');
    expect(m.error?.kind).toBe('NotFound');
  });

  it('loads the parent and the children', async () => {
    const parent = run({ name: 'sweep' });
    const child = run({ name: 'trial-1' });
    const r = detail({ parent_id: parent.id, children: [child.id] });
    const server = serverFor(r).on('POST runs/search', call =>
      call.body.where.startsWith('id =') ? { body: { runs: [parent], next_cursor: null } } : { body: { runs: [child], next_cursor: null } }
    );
    const m = model(server, r.id);
    await m.load();
    await settle();
    expect(m.parent?.name).toBe('sweep');
    expect(m.children.map(c => c.name)).toEqual(['trial-1']);
  });

  it('polls a running run while visible and stops once it finished', async () => {
    const r = detail({ status: 'running' });
    let loads = 0;
    const server = serverFor(r).on(`GET runs/${r.id}`, () => {
      loads += 1;
      return { body: { ...r, status: loads >= 3 ? 'finished' : 'running' } };
    });
    const m = model(server, r.id, null, 0.05);
    await m.load();
    m.setActive(true);
    await settle(400);
    expect(m.run?.status).toBe('finished');
    const after = loads;
    await settle(200);
    expect(loads).toBe(after);
  });
});
