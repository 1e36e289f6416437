import { afterEach, describe, expect, it } from 'vitest';
import { likePattern, ModelPageModel, ModelsModel } from '../src/registrymodel';
import { FakeServer } from './helpers';
import { detail, EVENTS, request, SUMMARY } from './registry-fixture';

const disposables: { dispose(): void }[] = [];

afterEach(() => {
  disposables.splice(0).forEach(m => m.dispose());
});

function models(server: FakeServer): ModelsModel {
  const m = new ModelsModel({ client: server.client(), pollInterval: 0 });
  disposables.push(m);
  return m;
}

function page(server: FakeServer, me: string | null = 'bob'): ModelPageModel {
  const m = new ModelPageModel({ client: server.client(), name: 'churn', me, pollInterval: 0 });
  disposables.push(m);
  return m;
}

function registry(requests = [request()]): FakeServer {
  return new FakeServer()
    .on('GET registry/models', () => ({ body: { models: [SUMMARY] } }))
    .on('GET registry/models/churn', () => ({ body: detail(requests) }))
    .on('GET registry/models/churn/audit', () => ({ body: { events: EVENTS } }));
}

describe('likePattern', () => {
  it('keeps a pattern with a wildcard and looks for a plain word anywhere in the name', () => {
    expect(likePattern('churn*')).toBe('churn*');
    expect(likePattern(' churn ')).toBe('*churn*');
    expect(likePattern('  ')).toBeUndefined();
  });
});

describe('ModelsModel', () => {
  it('loads the models and says it is ready', async () => {
    const m = models(registry());
    expect(m.status).toBe('loading');
    await m.refresh();
    expect(m.status).toBe('ready');
    expect(m.models[0].stages.production).toEqual([1]);
  });

  it('filters by name on the server and remembers the filter and the section', async () => {
    const server = registry();
    const m = models(server);
    const states: unknown[] = [];
    m.stateChanged.connect((_, s) => states.push(s));
    m.setOpen(true);
    await m.setFilter('churn');
    expect(new URL(server.calls[0].url).searchParams.get('like')).toBe('*churn*');
    expect(states).toEqual([
      { open: true, filter: '' },
      { open: true, filter: 'churn' }
    ]);
    const again = models(server);
    again.restore({ open: true, filter: 'churn', ...({ junk: 1 } as object) });
    expect(again.toJSON()).toEqual({ open: true, filter: 'churn' });
    again.restore({ open: 'yes' as unknown as boolean });
    expect(again.open).toBe(true);
  });

  it('keeps a failure with the server\'s message for the view to say', async () => {
    const server = new FakeServer().on('GET registry/models', () => ({
      status: 500,
      body: { error: 'StoreUnavailable', message: 'the store is away: start PostgreSQL', field: null }
    }));
    const m = models(server);
    await m.refresh();
    expect(m.status).toBe('error');
    expect(m.error?.kind).toBe('StoreUnavailable');
    expect(m.error?.message).toContain('start PostgreSQL');
  });

  it('polls only while shown', async () => {
    const server = registry();
    const m = new ModelsModel({ client: server.client(), pollInterval: 0.01 });
    disposables.push(m);
    await new Promise(r => setTimeout(r, 50));
    expect(server.calls.length).toBe(0);
    m.setActive(true);
    await new Promise(r => setTimeout(r, 60));
    expect(server.calls.length).toBeGreaterThan(1);
    m.setActive(false);
    await new Promise(r => setTimeout(r, 30));
    const n = server.calls.length;
    await new Promise(r => setTimeout(r, 60));
    expect(server.calls.length).toBe(n);
  });
});

describe('ModelPageModel', () => {
  it('loads the model, its open requests and the audit log newest first', async () => {
    const m = page(registry());
    await m.refresh();
    expect(m.model?.name).toBe('churn');
    expect(m.requests.map(r => r.id)).toEqual([7]);
    expect(m.audit.map(e => e.id)).toEqual([2, 1]);
  });

  it('refuses to let you review your own request, and says why', async () => {
    const m = page(registry(), 'alice');
    await m.refresh();
    expect(m.reviewable(m.requests[0])).toEqual({ ok: false, reason: 'own' });
    m.setMe('bob');
    expect(m.reviewable(m.requests[0])).toEqual({ ok: true, reason: null });
    const approvedByBob = request({ reviews: [{ user: 'bob', decision: 'approve', comment: null, at: 1 }] });
    expect(m.reviewable(approvedByBob)).toEqual({ ok: false, reason: 'approved' });
  });

  it('lets anyone try when the identity is unknown: the server has the last word', async () => {
    const m = page(registry(), null);
    await m.refresh();
    expect(m.reviewable(m.requests[0]).ok).toBe(true);
  });

  it('approves with a comment, then reloads and shows the version moved', async () => {
    let applied = false;
    const server = registry()
      .on('POST registry/requests/7/approve', () => ((applied = true), { body: request({ status: 'applied' }) }))
      .on('GET registry/models/churn', () => ({ body: applied ? { ...detail([]), versions: [] } : detail() }));
    const m = page(server);
    await m.refresh();
    const seen: (string | null)[] = [];
    m.changed.connect(() => seen.push(m.busy));
    let acted = 0;
    m.acted.connect(() => (acted += 1));
    expect(await m.decide(m.requests[0], 'approve', 'looks good')).toBe(true);
    expect(server.calls.find(c => new URL(c.url).pathname.endsWith('/approve'))?.body).toEqual({ comment: 'looks good' });
    expect(seen[0]).toBe('request:7');
    expect(m.busy).toBeNull();
    expect(m.requests).toEqual([]);
    expect(m.actionError).toBeNull();
    expect(acted).toBe(1);
  });

  it('keeps the server\'s refusal of a decision and still reloads', async () => {
    const server = registry().on('POST registry/requests/7/approve', () => ({
      status: 403,
      body: { error: 'AccessDenied', message: 'you (bob) made request 7: an approval must come from someone else', field: 'request' }
    }));
    const m = page(server);
    await m.refresh();
    let acted = 0;
    m.acted.connect(() => (acted += 1));
    expect(await m.decide(m.requests[0], 'approve')).toBe(false);
    expect(m.actionError?.kind).toBe('AccessDenied');
    expect(acted).toBe(0);
    expect(m.status).toBe('ready');
    m.clearActionError();
    expect(m.actionError).toBeNull();
  });

  it('requests a stage for a version', async () => {
    const server = registry().on('POST registry/requests', () => ({ status: 201, body: request({ id: 8 }) }));
    const m = page(server);
    await m.refresh();
    expect(await m.requestStage(2, 'staging', 'try it')).toBe(true);
    expect(server.calls.find(c => c.method === 'POST')?.body).toEqual({ model: 'churn', version: 2, stage: 'staging', comment: 'try it' });
  });

  it('says a missing model is not found', async () => {
    const server = new FakeServer()
      .on('GET registry/models/churn', () => ({ status: 404, body: { error: 'NotFound', message: 'no model churn', field: 'name' } }))
      .on('GET registry/models/churn/audit', () => ({ status: 404, body: { error: 'NotFound', message: 'no model churn', field: 'name' } }));
    const m = page(server);
    await m.refresh();
    expect(m.status).toBe('error');
    expect(m.error?.kind).toBe('NotFound');
    expect(m.toJSON()).toEqual({ name: 'churn' });
  });
});
