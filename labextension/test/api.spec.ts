import { describe, expect, it } from 'vitest';
import { MLPError, parseJSON } from '../src/api';
import { FakeServer, run } from './helpers';

describe('parseJSON', () => {
  it('reads strict JSON as JSON.parse does', () => {
    expect(parseJSON('{"a": [1, 2.5, null, "x"]}')).toEqual({ a: [1, 2.5, null, 'x'] });
  });

  it('reads the bare NaN and infinity tokens Python writes as numbers', () => {
    const v = parseJSON('{"m": {"loss": NaN, "up": Infinity, "down": -Infinity}, "l": [NaN,-Infinity]}');
    expect(v.m.loss).toBeNaN();
    expect(v.m.up).toBe(Infinity);
    expect(v.m.down).toBe(-Infinity);
    expect(v.l[0]).toBeNaN();
    expect(v.l[1]).toBe(-Infinity);
  });

  it('leaves the same words inside strings alone, escaped quotes included', () => {
    const v = parseJSON('{"name": "NaN \\"Infinity\\" -Infinity", "x": NaN, "k": "a\\\\"}');
    expect(v.name).toBe('NaN "Infinity" -Infinity');
    expect(v.x).toBeNaN();
    expect(v.k).toBe('a\\');
  });

  it('still refuses malformed JSON', () => {
    expect(() => parseJSON('{"a": }')).toThrow(SyntaxError);
    expect(() => parseJSON('{"a": NaN, }')).toThrow(SyntaxError);
  });
});

describe('MLPClient', () => {
  it('searches with the server-side query, order, limit and cursor', async () => {
    const server = new FakeServer().on('POST runs/search', () => ({ body: { runs: [], next_cursor: null } }));
    await server.client().searchRuns({
      experiment: 'demo',
      where: 'metrics.loss < 0.5',
      order_by: ['-metrics.loss'],
      limit: 25,
      cursor: 'abc'
    });
    const [call] = server.searches();
    expect(call.method).toBe('POST');
    expect(new URL(call.url).pathname).toBe('/mlp/api/v1/runs/search');
    expect(call.body).toEqual({
      experiment: 'demo',
      where: 'metrics.loss < 0.5',
      order_by: ['-metrics.loss'],
      limit: 25,
      cursor: 'abc'
    });
  });

  it('leaves out an empty query, order, cursor and experiment', async () => {
    const server = new FakeServer().on('POST runs/search', () => ({ body: { runs: [], next_cursor: null } }));
    await server.client().searchRuns({ experiment: null, where: '  ', order_by: [], cursor: null });
    expect(server.searches()[0].body).toEqual({ limit: 50 });
  });

  it('reads runs whose metrics are NaN', async () => {
    const r = run();
    const text = JSON.stringify({ runs: [{ ...r, metrics: { loss: 0 } }], next_cursor: null }).replace(
      '"loss":0',
      '"loss":NaN'
    );
    const server = new FakeServer().on('POST runs/search', () => ({ text }));
    const page = await server.client().searchRuns({});
    expect(page.runs[0].metrics.loss).toBeNaN();
  });

  it('turns the server error shape into a typed error with the query position', async () => {
    const server = new FakeServer().on('POST runs/search', () => ({
      status: 400,
      body: {
        error: 'QueryError',
        message: "expected a value (at position 15)\n  metrics.loss < \n                 ^",
        field: 'where',
        reason: 'expected a value',
        query: 'metrics.loss < ',
        position: 15
      }
    }));
    const error = await server.client().searchRuns({ where: 'metrics.loss < ' }).catch(e => e);
    expect(error).toBeInstanceOf(MLPError);
    expect(error.kind).toBe('QueryError');
    expect(error.isQueryError).toBe(true);
    expect(error.status).toBe(400);
    expect(error.field).toBe('where');
    expect(error.position).toBe(15);
    expect(error.reason).toBe('expected a value');
    expect(error.query).toBe('metrics.loss < ');
  });

  it('says what to do when the server has no ML Platform API', async () => {
    const error = await new FakeServer().client().info().catch(e => e);
    expect(error.kind).toBe('NotFound');
    expect(error.message).toContain('jupyter server extension list');
  });

  it('reports an unreachable server as a network error', async () => {
    const server = new FakeServer().on('GET info', () => () => Promise.reject(new TypeError('fetch failed')));
    const error = await server.client().info().catch(e => e);
    expect(error).toBeInstanceOf(MLPError);
    expect(error.kind).toBe('NetworkError');
    expect(error.message).toContain('fetch failed');
  });

  it('lists experiments and reads the handshake', async () => {
    const server = new FakeServer()
      .on('GET experiments', () => ({ body: { experiments: [{ id: 1, name: 'demo', runs: 3, last_run: 1 }] } }))
      .on('GET info', () => ({ body: { version: '0.1.0' } }));
    const client = server.client();
    expect(await client.experiments()).toEqual([{ id: 1, name: 'demo', runs: 3, last_run: 1 }]);
    expect((await client.info()).version).toBe('0.1.0');
  });
});
