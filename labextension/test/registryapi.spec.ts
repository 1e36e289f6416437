import { describe, expect, it } from 'vitest';
import { MLPError } from '../src/api';
import { FakeServer } from './helpers';
import { detail, EVENTS, request, SUMMARY } from './registry-fixture';

describe('MLPClient, registry routes', () => {
  it('lists models, with the name filter as the server\'s like', async () => {
    const server = new FakeServer().on('GET registry/models', () => ({ body: { models: [SUMMARY] } }));
    const client = server.client();
    expect(await client.models()).toEqual([SUMMARY]);
    await client.models(' churn* ');
    expect(new URL(server.calls[0].url).searchParams.get('like')).toBeNull();
    expect(new URL(server.calls[1].url).searchParams.get('like')).toBe('churn*');
  });

  it('loads a model by name, escaped in the path', async () => {
    const server = new FakeServer().on('GET registry/models/churn%20v2', () => ({ body: detail() }));
    const m = await server.client().model('churn v2');
    expect(m.versions.map(v => v.version)).toEqual([2, 1]);
    expect(m.open_requests[0].gate.approvals).toBe(1);
  });

  it('asks for requests by model and status', async () => {
    const server = new FakeServer().on('GET registry/requests', () => ({ body: { requests: [request()] } }));
    const list = await server.client().transitionRequests({ model: 'churn', status: ['pending', 'approved'] });
    expect(list[0].id).toBe(7);
    const params = new URL(server.calls[0].url).searchParams;
    expect(params.get('model')).toBe('churn');
    expect(params.getAll('status')).toEqual(['pending', 'approved']);
  });

  it('requests a stage with a trimmed comment, and leaves an empty one out', async () => {
    const server = new FakeServer().on('POST registry/requests', () => ({ status: 201, body: request() }));
    const client = server.client();
    await client.requestTransition('churn', 2, 'production', '  better auc ');
    await client.requestTransition('churn', 2, 'staging', '   ');
    expect(server.calls[0].body).toEqual({ model: 'churn', version: 2, stage: 'production', comment: 'better auc' });
    expect(server.calls[1].body).toEqual({ model: 'churn', version: 2, stage: 'staging' });
  });

  it('posts decisions to the request\'s route', async () => {
    const server = new FakeServer()
      .on('POST registry/requests/7/approve', () => ({ body: request({ status: 'applied' }) }))
      .on('POST registry/requests/7/reject', () => ({ body: request({ status: 'rejected' }) }));
    const client = server.client();
    expect((await client.decide(7, 'approve', 'ok')).status).toBe('applied');
    expect((await client.decide(7, 'reject')).status).toBe('rejected');
    expect(server.calls[0].body).toEqual({ comment: 'ok' });
    expect(server.calls[1].body).toEqual({});
  });

  it('turns a refused self-approval into an AccessDenied error with the server\'s words', async () => {
    const message = 'you (alice) made request 7: an approval must come from someone else';
    const server = new FakeServer().on('POST registry/requests/7/approve', () => ({
      status: 403,
      body: { error: 'AccessDenied', message, field: 'request' }
    }));
    const error = await server.client().decide(7, 'approve').catch(e => e);
    expect(error).toBeInstanceOf(MLPError);
    expect(error.kind).toBe('AccessDenied');
    expect(error.status).toBe(403);
    expect(error.message).toBe(message);
  });

  it('reads a model\'s audit log, or the whole registry\'s', async () => {
    const server = new FakeServer()
      .on('GET registry/models/churn/audit', () => ({ body: { events: EVENTS } }))
      .on('GET registry/audit', () => ({ body: { events: [] } }));
    const client = server.client();
    expect((await client.audit('churn')).map(e => e.action)).toEqual(['version_created', 'request_made']);
    expect(await client.audit()).toEqual([]);
    expect(new URL(server.calls[0].url).searchParams.get('limit')).toBe('1000');
  });
});
