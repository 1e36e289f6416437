import { afterEach, describe, expect, it } from 'vitest';
import { RunsModel } from '../src/model';
import { FakeServer, INFO, run, settle } from './helpers';

const models: RunsModel[] = [];

function model(server: FakeServer, options: Partial<RunsModel.IOptions> = {}): RunsModel {
  const m = new RunsModel({ client: server.client(), pollInterval: 0, pageSize: 2, ...options });
  models.push(m);
  return m;
}

afterEach(() => {
  models.splice(0).forEach(m => m.dispose());
});

/** A server with `runs`, paged by a cursor that is the index of the next run. */
function serverWith(runs: any[]): FakeServer {
  return new FakeServer()
    .on('GET info', () => ({ body: INFO }))
    .on('GET experiments', () => ({ body: { experiments: [{ id: 1, name: 'demo', runs: runs.length, last_run: 1 }] } }))
    .on('POST runs/search', call => {
      const start = Number(call.body.cursor ?? 0);
      const end = start + call.body.limit;
      return { body: { runs: runs.slice(start, end), next_cursor: end < runs.length ? String(end) : null } };
    });
}

describe('RunsModel', () => {
  it('restores the remembered experiment, query and order and loads page 1', async () => {
    const server = serverWith([run(), run()]);
    const m = model(server);
    await m.restore({ experiment: 'demo', query: 'metrics.loss < 1', orderBy: ['-metrics.loss'] });
    expect(server.searches()[0].body).toEqual({
      experiment: 'demo',
      where: 'metrics.loss < 1',
      order_by: ['-metrics.loss'],
      limit: 2
    });
    expect(m.status).toBe('ready');
    expect(m.runs).toHaveLength(2);
    expect(m.info?.version).toBe('0.1.0');
    expect(m.experiments.map(e => e.name)).toEqual(['demo']);
  });

  it('ignores a malformed remembered state', async () => {
    const m = model(serverWith([]));
    await m.restore({ query: 42, orderBy: 'x', experiment: 7 } as any);
    expect(m.query).toBe('');
    expect(m.orderBy).toEqual(['-start_time']);
    expect(m.experiment).toBeNull();
  });

  it('remembers what the user changed, not what was restored', async () => {
    const m = model(serverWith([]));
    const saved: any[] = [];
    m.stateChanged.connect((_, s) => saved.push(s));
    await m.restore({ query: 'status = "running"' });
    expect(saved).toEqual([]);
    await m.setQuery('  params.lr = 0.1 ');
    await m.toggleOrder('metrics.acc');
    expect(saved.at(-1)).toMatchObject({ query: 'params.lr = 0.1', orderBy: ['-metrics.acc'] });
  });

  it('pages forward with the server cursor and back to the start', async () => {
    const runs = [run(), run(), run(), run(), run()];
    const server = serverWith(runs);
    const m = model(server);
    await m.restore(null);
    expect(m.runs.map(r => r.id)).toEqual([runs[0].id, runs[1].id]);
    expect(m.hasPrevious).toBe(false);
    await m.nextPage();
    await m.nextPage();
    expect(m.runs.map(r => r.id)).toEqual([runs[4].id]);
    expect(m.pageIndex).toBe(2);
    expect(m.hasNext).toBe(false);
    await m.previousPage();
    expect(m.runs.map(r => r.id)).toEqual([runs[2].id, runs[3].id]);
    expect(server.searches().map(c => c.body.cursor)).toEqual([undefined, '2', '4', '2']);
  });

  it('goes back to page 1 when the query changes', async () => {
    const server = serverWith([run(), run(), run()]);
    const m = model(server);
    await m.restore(null);
    await m.nextPage();
    await m.setQuery('metrics.loss < 1');
    expect(m.pageIndex).toBe(0);
    expect(server.searches().at(-1)!.body.cursor).toBeUndefined();
  });

  it('shows a refused query inline and keeps the last good runs', async () => {
    const good = [run()];
    const server = serverWith(good);
    const m = model(server);
    await m.restore(null);
    server.on('POST runs/search', call =>
      call.body.where === 'metrics.loss <'
        ? {
            status: 400,
            body: { error: 'QueryError', message: 'm', field: 'where', reason: 'expected a value', query: 'metrics.loss <', position: 14 }
          }
        : { body: { runs: good, next_cursor: null } }
    );
    await m.setQuery('metrics.loss <');
    expect(m.queryError?.position).toBe(14);
    expect(m.error).toBeNull();
    expect(m.status).toBe('ready');
    expect(m.runs).toEqual(good);
    await m.setQuery('metrics.loss < 1');
    expect(m.queryError).toBeNull();
  });

  it('cycles a header between descending and ascending, names ascending first', async () => {
    const m = model(serverWith([]));
    await m.restore(null);
    await m.toggleOrder('metrics.acc');
    expect(m.orderBy).toEqual(['-metrics.acc']);
    expect(m.orderOf('metrics.acc')).toBe('descending');
    await m.toggleOrder('metrics.acc');
    expect(m.orderBy).toEqual(['metrics.acc']);
    expect(m.orderOf('metrics.acc')).toBe('ascending');
    await m.toggleOrder('name');
    expect(m.orderBy).toEqual(['name']);
    expect(m.orderOf('metrics.acc')).toBeNull();
  });

  it('selects one run, toggles others and extends a range', async () => {
    const runs = [run(), run(), run(), run()];
    const m = model(serverWith(runs), { pageSize: 10 });
    await m.restore(null);
    const emitted: string[][] = [];
    m.selectionChanged.connect((_, ids) => emitted.push(ids));
    m.select(runs[0].id);
    m.select(runs[2].id, 'toggle');
    expect(m.selection).toEqual([runs[0].id, runs[2].id]);
    m.select(runs[2].id, 'toggle');
    expect(m.selection).toEqual([runs[0].id]);
    m.select(runs[1].id, 'only');
    m.select(runs[3].id, 'range');
    expect(new Set(m.selection)).toEqual(new Set([runs[1].id, runs[2].id, runs[3].id]));
    m.clearSelection();
    expect(m.selection).toEqual([]);
    expect(emitted).toHaveLength(6);
  });

  it('drops an answer to a question no longer asked', async () => {
    let release: () => void = () => undefined;
    const slow = new Promise<void>(resolve => (release = resolve));
    const fresh = [run({ name: 'fresh' })];
    const server = serverWith([]).on('POST runs/search', call =>
      call.body.where === 'old'
        ? () => slow.then(() => new Response(JSON.stringify({ runs: [run({ name: 'stale' })], next_cursor: null })))
        : { body: { runs: fresh, next_cursor: null } }
    );
    const m = model(server);
    const first = m.setQuery('old');
    await m.setQuery('new');
    release();
    await first;
    expect(m.runs.map(r => r.name)).toEqual(['fresh']);
  });

  it('reports an unreachable server and recovers on refresh', async () => {
    let down = true;
    const server = serverWith([run()]);
    const search = server.routes.get('POST runs/search')!;
    server.on('POST runs/search', call => (down ? () => Promise.reject(new TypeError('fetch failed')) : search(call)));
    const m = model(server);
    await m.restore(null);
    expect(m.status).toBe('error');
    expect(m.error?.kind).toBe('NetworkError');
    down = false;
    await m.refresh();
    expect(m.status).toBe('ready');
    expect(m.error).toBeNull();
    expect(m.runs).toHaveLength(1);
  });

  it('falls back to every experiment when the remembered one is gone', async () => {
    const server = serverWith([run()]);
    const search = server.routes.get('POST runs/search')!;
    server.on('POST runs/search', call =>
      call.body.experiment === 'gone'
        ? { status: 404, body: { error: 'NotFound', message: "no experiment named 'gone'", field: 'experiment' } }
        : search(call)
    );
    const m = model(server);
    await m.restore({ experiment: 'gone' });
    await settle(10);
    expect(m.experiment).toBeNull();
    expect(m.runs).toHaveLength(1);
  });

  it('picks the first metric and param columns of the page unless the user chose some', async () => {
    const runs = [
      run({ metrics: { 'system/cpu_percent': 3, loss: 0.1, acc: 0.9 }, params: { lr: 0.1 } }),
      run({ metrics: { f1: 0.3, zeta: 1 }, params: { depth: 6 } })
    ];
    const m = model(serverWith(runs));
    await m.restore(null);
    expect(m.metricKeys).toEqual(['acc', 'f1', 'loss', 'zeta', 'system/cpu_percent']);
    expect(m.metricColumns).toEqual(['acc', 'f1', 'loss']);
    expect(m.paramColumns).toEqual(['depth', 'lr']);
    m.setColumns(['zeta'], []);
    expect(m.metricColumns).toEqual(['zeta']);
    expect(m.paramColumns).toEqual([]);
    expect(m.toJSON().metricColumns).toEqual(['zeta']);
  });

  it('offers the keys the server says the experiment uses, beyond the page', async () => {
    const server = serverWith([run({ metrics: { loss: 0.1 }, params: { lr: 0.1 } })]).on('GET keys', call => {
      const experiments = new URL(call.url).searchParams.getAll('experiment');
      return { body: { metrics: experiments.length ? ['f1'] : ['auc', 'f1'], params: ['depth'], tags: [] } };
    });
    const m = model(server);
    await m.restore({ experiment: 'demo' });
    expect(m.metricKeys).toEqual(['loss']);
    await m.loadKeys();
    expect(m.metricKeys).toEqual(['f1', 'loss']);
    expect(m.paramKeys).toEqual(['depth', 'lr']);
    expect(m.metricColumns).toEqual(['loss']); // automatic columns still come from the page
    await m.setExperiment(null);
    expect(m.metricKeys).toEqual(['loss']);
    await m.loadKeys();
    expect(m.metricKeys).toEqual(['auc', 'f1', 'loss']);
  });

  it('keeps the page keys when the server has no keys route', async () => {
    const m = model(serverWith([run({ metrics: { loss: 0.1 } })]));
    await m.restore(null);
    await m.loadKeys();
    expect(m.metricKeys).toEqual(['loss']);
  });

  it('polls while active and stops while hidden', async () => {
    const server = serverWith([run()]);
    const m = model(server, { pollInterval: 0.05 });
    await m.restore(null);
    const before = server.searches().length;
    await settle(200);
    expect(server.searches().length).toBe(before);
    m.setActive(true);
    await settle(300);
    const polled = server.searches().length;
    expect(polled).toBeGreaterThanOrEqual(before + 3);
    m.setActive(false);
    await settle(100);
    const stopped = server.searches().length;
    await settle(300);
    expect(server.searches().length).toBe(stopped);
  });
});
