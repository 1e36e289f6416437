import { afterEach, describe, expect, it } from 'vitest';
import { DiffModel, IDiffViewState } from '../src/diffmodel';
import { A, B, twoRuns } from './diff-fixture';
import { FakeServer, settle } from './helpers';

const models: DiffModel[] = [];

afterEach(() => {
  models.splice(0).forEach(m => m.dispose());
});

function model(server: FakeServer, runs: string[] = [A, B], state: Partial<IDiffViewState> | null = null, pollInterval = 0) {
  const m = new DiffModel({ client: server.client(), runs, state, pollInterval });
  models.push(m);
  return m;
}

function asked(server: FakeServer, i = -1): URLSearchParams {
  return new URL(server.calls.at(i)!.url).searchParams;
}

describe('DiffModel', () => {
  it('loads the diff in one request, loading until it comes', async () => {
    const server = new FakeServer().on('GET diff', () => ({ body: twoRuns() }));
    const m = model(server);
    const done = m.load();
    expect(m.status).toBe('loading');
    await done;
    expect(m.status).toBe('ready');
    expect(m.diff!.params[0].key).toBe('lr');
    expect(server.calls).toHaveLength(1);
    expect(asked(server).get('only_changed')).toBe('1');
    expect(asked(server).get('at')).toBe('last');
  });

  it('asks again with only_changed=0 when unchanged fields are shown, keeping the diff on screen meanwhile', async () => {
    const server = new FakeServer().on('GET diff', () => ({ body: twoRuns() }));
    const m = model(server);
    await m.load();
    const done = m.setOnlyChanged(false);
    expect(m.status).toBe('ready');
    expect(m.busy).toBe(true);
    await done;
    expect(asked(server).get('only_changed')).toBe('0');
    expect(m.busy).toBe(false);
    expect(m.toJSON().onlyChanged).toBe(false);
  });

  it('reads metrics where asked, and refuses an `at` the server would not take', async () => {
    const server = new FakeServer().on('GET diff', () => ({ body: twoRuns() }));
    const m = model(server);
    await m.load();
    await m.setAt('best:val_loss');
    expect(asked(server).get('at')).toBe('best:val_loss');
    await m.setAt('42');
    expect(asked(server).get('at')).toBe('42');
    await m.setAt('soon');
    expect(server.calls).toHaveLength(3);
    expect(m.at).toBe('42');
  });

  it('goes back to the last `at` when the server refuses the new one, keeping the diff', async () => {
    const server = new FakeServer().on('GET diff', call =>
      new URL(call.url).searchParams.get('at') === 'best:nope'
        ? { status: 400, body: { error: 'InvalidInput', message: "no run here has the metric 'nope'", field: 'at' } }
        : { body: twoRuns() }
    );
    const m = model(server);
    await m.load();
    await m.setAt('best:nope');
    expect(m.at).toBe('last');
    expect(m.status).toBe('ready');
    expect(m.error!.message).toContain('nope');
  });

  it('remembers runs as ids once references resolved, and its toggles, to restore them', async () => {
    const server = new FakeServer().on('GET diff', () => ({ body: twoRuns() }));
    const m = model(server, ['@latest~1', '@latest']);
    const states: IDiffViewState[] = [];
    m.stateChanged.connect((_, s) => states.push(s));
    await m.load();
    expect(asked(server).getAll('run')).toEqual(['@latest~1', '@latest']);
    expect(states.at(-1)!.runs).toEqual([A, B]);
    m.setAxis('time');
    expect(states.at(-1)).toEqual({ runs: [A, B], at: 'last', onlyChanged: true, axis: 'time', codeRun: 1 });

    const restored = model(server, [A, B], { at: 'best:acc', onlyChanged: false, axis: 'time', codeRun: 2 });
    await restored.load();
    expect(asked(server).get('at')).toBe('best:acc');
    expect(asked(server).get('only_changed')).toBe('0');
    expect(restored.axis).toBe('time');
    expect(restored.codeRun).toBe(1); // two runs: only one pair to show
  });

  it('shows the failure, and keeps the last diff when a later request fails', async () => {
    let fail = true;
    const server = new FakeServer().on('GET diff', () =>
      fail ? { status: 404, body: { error: 'NotFound', message: 'no run matches "x"', field: 'run' } } : { body: twoRuns() }
    );
    const m = model(server);
    await m.load();
    expect(m.status).toBe('error');
    expect(m.error!.kind).toBe('NotFound');
    fail = false;
    await m.load();
    expect(m.status).toBe('ready');
    fail = true;
    await m.refresh();
    expect(m.status).toBe('ready');
    expect(m.diff).not.toBeNull();
    expect(m.error!.message).toContain('no run matches');
  });

  it('says a comparison needs two runs without asking the server', async () => {
    const server = new FakeServer().on('GET diff', () => ({ body: twoRuns() }));
    const m = model(server, [A, A]);
    await m.load();
    expect(m.status).toBe('error');
    expect(server.calls).toHaveLength(0);
  });

  it('drops an answer to a question no longer asked', async () => {
    let release: () => void = () => undefined;
    const server = new FakeServer().on('GET diff', call => {
      const onlyChanged = new URL(call.url).searchParams.get('only_changed');
      const body = JSON.stringify(twoRuns({ only_changed: onlyChanged === '1' }));
      return onlyChanged === '1'
        ? () => new Promise<Response>(resolve => (release = () => resolve(new Response(body))))
        : { text: body };
    });
    const m = model(server);
    const first = m.load();
    await settle();
    await m.setOnlyChanged(false);
    release();
    await first;
    expect(m.diff!.only_changed).toBe(false);
  });

  it('refreshes a live diff while visible, and stops once no run is running', async () => {
    let live = true;
    const server = new FakeServer().on('GET diff', () => ({ body: twoRuns({ live }) }));
    const m = model(server, [A, B], null, 0.05);
    await m.load();
    m.setActive(true);
    await settle(200);
    const during = server.calls.length;
    expect(during).toBeGreaterThan(1);
    live = false;
    await settle(200);
    const after = server.calls.length;
    await settle(200);
    expect(server.calls.length).toBe(after);
  });

  it('does not refresh a live diff that is not on screen', async () => {
    const server = new FakeServer().on('GET diff', () => ({ body: twoRuns({ live: true }) }));
    const m = model(server, [A, B], null, 0.05);
    await m.load();
    await settle(200);
    expect(server.calls).toHaveLength(1);
  });
});
