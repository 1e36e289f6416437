import { describe, expect, it } from 'vitest';
import { toNumber } from '../src/api';
import { FakeServer, run } from './helpers';

const ID = 'ab'.repeat(16);

describe('toNumber', () => {
  it('reads numbers and the strict-JSON spellings of NaN and the infinities', () => {
    expect(toNumber(0.5)).toBe(0.5);
    expect(toNumber('NaN')).toBeNaN();
    expect(toNumber('Infinity')).toBe(Infinity);
    expect(toNumber('-Infinity')).toBe(-Infinity);
    expect(toNumber('0.5')).toBeNull();
    expect(toNumber(null)).toBeNull();
  });
});

describe('MLPClient, run view routes', () => {
  it('reads search metrics spelled as strict-JSON strings as numbers', async () => {
    const server = new FakeServer().on('POST runs/search', () => ({
      body: { runs: [run({ metrics: { loss: 'NaN', up: 'Infinity', acc: 0.9 } })], next_cursor: null }
    }));
    const { runs } = await server.client().searchRuns({});
    expect(runs[0].metrics.loss).toBeNaN();
    expect(runs[0].metrics.up).toBe(Infinity);
    expect(runs[0].metrics.acc).toBe(0.9);
  });

  it('loads a run by id, its metric summaries as numbers whichever way NaN is spelled', async () => {
    const text = JSON.stringify(
      run({ id: ID, metrics: { loss: { last: 'NaN', step: 3, time: 1, min: 0.1, max: 'Infinity', count: 4 } } })
    ).replace('"min":0.1', '"min":-Infinity');
    const server = new FakeServer().on(`GET runs/${ID}`, () => ({ text }));
    const r = await server.client().run(ID);
    expect(r.metrics.loss.last).toBeNaN();
    expect(r.metrics.loss.min).toBe(-Infinity);
    expect(r.metrics.loss.max).toBe(Infinity);
    expect(r.metrics.loss.count).toBe(4);
  });

  it('resolves a reference such as @latest before loading the run', async () => {
    const server = new FakeServer()
      .on('GET runs/resolve', () => ({ body: { run_id: ID } }))
      .on(`GET runs/${ID}`, () => ({ body: run({ id: ID, metrics: {} }) }));
    const r = await server.client().run('@latest');
    expect(r.id).toBe(ID);
    expect(new URL(server.calls[0].url).searchParams.get('ref')).toBe('@latest');
  });

  it('asks for series by key, axis, points and range, and reads them as numbers', async () => {
    const server = new FakeServer().on(`GET runs/${ID}/series`, () => ({
      body: {
        run_id: ID,
        x: 'time',
        series: [
          { key: 'loss', x: [1, 2], y: [0.5, 'NaN'], count: 9, downsampled: true, nonfinite: 1, min: 0.5, max: 'Infinity', last: 'NaN' }
        ]
      }
    }));
    const answer = await server.client().series(ID, { keys: ['loss', 'val/acc'], x: 'time', maxPoints: 640.4, start: 10, end: 20 });
    const params = new URL(server.calls[0].url).searchParams;
    expect(params.getAll('key')).toEqual(['loss', 'val/acc']);
    expect(params.get('x')).toBe('time');
    expect(params.get('max_points')).toBe('640');
    expect(params.get('start')).toBe('10');
    expect(params.get('end')).toBe('20');
    const s = answer.series[0];
    expect(s.y[0]).toBe(0.5);
    expect(s.y[1]).toBeNaN();
    expect(s.max).toBe(Infinity);
    expect(s.last).toBeNaN();
    expect(s.downsampled).toBe(true);
  });

  it('leaves out an open range and keeps max_points within what the server takes', async () => {
    const server = new FakeServer().on(`GET runs/${ID}/series`, () => ({ body: { run_id: ID, x: 'step', series: [] } }));
    await server.client().series(ID, { keys: ['loss'], maxPoints: 3, start: null });
    const params = new URL(server.calls[0].url).searchParams;
    expect(params.has('start')).toBe(false);
    expect(params.has('end')).toBe(false);
    expect(params.get('max_points')).toBe('16');
  });

  it('finds children with the query language, oldest first', async () => {
    const server = new FakeServer().on('POST runs/search', () => ({ body: { runs: [], next_cursor: null } }));
    await server.client().children(ID);
    expect(server.searches()[0].body).toEqual({ where: `parent_id = '${ID}'`, order_by: ['start_time'], limit: 100 });
  });

  it('reads captures, null when the run has none', async () => {
    const server = new FakeServer()
      .on(`GET runs/${ID}/captures/code`, () => ({ body: { capture: { type: 'notebook', cells: [] } } }))
      .on(`GET runs/${ID}/captures/git`, () => ({ body: { capture: null } }));
    const client = server.client();
    expect((await client.capture(ID, 'code'))?.type).toBe('notebook');
    expect(await client.capture(ID, 'git')).toBeNull();
  });

  it('fetches the first bytes of an artifact and says when the server cut it', async () => {
    const server = new FakeServer().on(`GET runs/${ID}/artifact`, () => () =>
      Promise.resolve(new Response('a,b\n1,2\n', { headers: { 'Content-Type': 'text/csv; charset=utf-8', 'X-MLP-Truncated': 'true' } }))
    );
    const bytes = await server.client().artifact(ID, 'data/t.csv', 8);
    const params = new URL(server.calls[0].url).searchParams;
    expect(params.get('path')).toBe('data/t.csv');
    expect(params.get('max_bytes')).toBe('8');
    expect(bytes.contentType).toBe('text/csv');
    expect(bytes.truncated).toBe(true);
    expect(await bytes.blob.text()).toBe('a,b\n1,2\n');
  });

  it('cuts an artifact itself when the server sends more than asked', async () => {
    const server = new FakeServer().on(`GET runs/${ID}/artifact`, () => () => Promise.resolve(new Response('0123456789')));
    const bytes = await server.client().artifact(ID, 'log.txt', 4);
    expect(bytes.truncated).toBe(true);
    expect(await bytes.blob.text()).toBe('0123');
  });

  it('turns a refused artifact into an error with the server message', async () => {
    const server = new FakeServer().on(`GET runs/${ID}/artifact`, () => ({
      status: 404,
      body: { error: 'NotFound', message: "no artifact 'x.png' on this run", field: 'path' }
    }));
    const error = await server.client().artifact(ID, 'x.png').catch(e => e);
    expect(error.kind).toBe('NotFound');
    expect(error.message).toContain('x.png');
  });

  it('builds a download link that carries the token and keeps the path out of the URL path', () => {
    const url = new URL(new FakeServer().client().artifactUrl(ID, 'plots/../roc.png'));
    expect(url.pathname).toBe(`/mlp/api/v1/runs/${ID}/artifact`);
    expect(url.searchParams.get('path')).toBe('plots/../roc.png');
    expect(url.searchParams.get('token')).toBe('secret');
  });

  it('asks for the keys of some experiments', async () => {
    const server = new FakeServer().on('GET keys', () => ({ body: { metrics: ['loss'], params: ['lr'], tags: [] } }));
    const keys = await server.client().keys(['a', 'b']);
    expect(new URL(server.calls[0].url).searchParams.getAll('experiment')).toEqual(['a', 'b']);
    expect(keys.metrics).toEqual(['loss']);
  });
});
