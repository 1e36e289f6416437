import { describe, expect, it } from 'vitest';
import { A, B, twoRuns } from './diff-fixture';
import { FakeServer } from './helpers';

describe('MLPClient.diff', () => {
  it('asks for every run in order, with at, only_changed and max_points', async () => {
    const server = new FakeServer().on('GET diff', () => ({ body: twoRuns() }));
    await server.client().diff({ runs: [A, '@latest'], at: 'best:val_loss', onlyChanged: false, maxPoints: 300.4 });
    const q = new URL(server.calls[0].url).searchParams;
    expect(q.getAll('run')).toEqual([A, '@latest']);
    expect(q.get('at')).toBe('best:val_loss');
    expect(q.get('only_changed')).toBe('0');
    expect(q.get('max_points')).toBe('300');
  });

  it('leaves out what was not asked, so the server defaults apply', async () => {
    const server = new FakeServer().on('GET diff', () => ({ body: twoRuns() }));
    await server.client().diff({ runs: [A, B] });
    const q = new URL(server.calls[0].url).searchParams;
    expect(q.getAll('run')).toEqual([A, B]);
    expect(['at', 'only_changed', 'max_points'].filter(k => q.has(k))).toEqual([]);
  });

  it('reads metric values, deltas and curve points spelled NaN or Infinity as numbers', async () => {
    const server = new FakeServer().on('GET diff', () => ({ body: twoRuns() }));
    const diff = await server.client().diff({ runs: [A, B] });
    const valLoss = diff.metrics.find(m => m.key === 'val_loss')!;
    expect(valLoss.runs[0]!.last).toBeNaN();
    expect(valLoss.delta.at).toBeNaN();
    expect(valLoss.delta.best).toBe(-0.04);
    expect(diff.curves.series.val_loss[1]!.value).toEqual([1, 0.4, Infinity]);
    expect(diff.runs.map(r => r.label)).toEqual(['lr-0.01', 'lr-0.003']);
  });

  it('fills in lists a sparse answer leaves out', async () => {
    const server = new FakeServer().on('GET diff', () => ({
      body: { schema: 'mlp.diff/1', runs: [], at: { mode: 'last', key: null, step: null, steps: [] }, live: false }
    }));
    const diff = await server.client().diff({ runs: [A, B] });
    expect(diff.params).toEqual([]);
    expect(diff.code.pairs).toEqual([]);
    expect(diff.environment.packages).toEqual([]);
    expect(diff.curves.series).toEqual({});
  });

  it("turns the server's refusal into an MLPError with its kind and message", async () => {
    const server = new FakeServer().on('GET diff', () => ({
      status: 404,
      body: { error: 'NotFound', message: 'no run matches "nope"', field: 'run' }
    }));
    await expect(server.client().diff({ runs: [A, 'nope'] })).rejects.toMatchObject({
      kind: 'NotFound',
      field: 'run',
      message: 'no run matches "nope"'
    });
  });
});
