/**
 * Answers of `GET diff` (schema `mlp.diff/1`, see the server's tracking/diff.py):
 * two runs of Priya's notebook that differ in lr, one cell and numpy; and a
 * third run for the 3+ runs layout. Non-finite numbers are spelled as the
 * server spells them in strict JSON.
 */

export const A = 'a'.repeat(32);
export const B = 'b'.repeat(32);
export const C = 'c'.repeat(32);

function diffRun(id: string, label: string, overrides: Record<string, unknown> = {}) {
  return {
    id,
    name: label,
    experiment: 'demo',
    status: 'finished',
    start_time: 1_700_000_000,
    end_time: 1_700_000_060,
    duration: 60,
    user: 'priya',
    host: 'box',
    label,
    ...overrides
  };
}

function metricRun(last: number | string, best: number, bestStep: number, at: number | string = last) {
  return { last, min: best, max: 1, best, best_step: bestStep, at, at_step: 9, count: 10, nonfinite: 0 };
}

/** Two runs: lr 0.01 → 0.003, one cell changed and one added, val_loss better in the second. */
export function twoRuns(overrides: Record<string, unknown> = {}): any {
  return {
    schema: 'mlp.diff/1',
    runs: [diffRun(A, 'lr-0.01'), diffRun(B, 'lr-0.003', { start_time: 1_700_000_100, end_time: 1_700_000_170, duration: 70 })],
    at: { mode: 'last', key: null, step: null, steps: [9, 9] },
    only_changed: true,
    live: false,
    summary: [
      { section: 'params', text: 'lr 0.01 → 0.003' },
      { section: 'metrics', text: 'val_loss better by 0.04 at its best step (lr-0.003)' },
      { section: 'code', text: '1 cell changed, 1 added' },
      { section: 'environment', text: 'numpy 1.26.4 → 2.0.1' }
    ],
    counts: {
      params: { changed: 1, added: 1, removed: 0, same: 2 },
      metrics: { changed: 2, added: 0, removed: 0, same: 0 },
      code: { changed: 1, added: 1, removed: 0, same: 2, moved: 1 },
      environment: { changed: 1, added: 0, removed: 0, same: 40 },
      artifacts: { changed: 1, added: 0, removed: 0, same: 0 },
      tags: { changed: 0, added: 0, removed: 0, same: 1 },
      attributes: { changed: 2, added: 0, removed: 0, same: 3 }
    },
    params: [
      { key: 'lr', values: [0.01, 0.003], status: 'changed', score: 0.7, numeric: true },
      { key: 'optimizer.beta1', values: [null, 0.9], status: 'added', score: 1, numeric: true }
    ],
    tags: [],
    attributes: [
      { key: 'duration', values: [60, 70], status: 'changed', score: 0.14, numeric: true },
      { key: 'start_time', values: [1_700_000_000, 1_700_000_100], status: 'changed', score: 0.01, numeric: true }
    ],
    metrics: [
      {
        key: 'acc',
        direction: 'max',
        status: 'changed',
        runs: [metricRun(0.8, 0.82, 7), metricRun(0.85, 0.86, 8)],
        delta: { last: 0.05, best: 0.04, at: 0.05 },
        better: 1,
        score: 0.06
      },
      {
        key: 'val_loss',
        direction: 'min',
        status: 'changed',
        runs: [metricRun('NaN', 0.3, 5), metricRun(0.28, 0.26, 9)],
        delta: { last: 'NaN', best: -0.04, at: 'NaN' },
        better: 1,
        score: 0.13
      }
    ],
    curves: {
      max_points: 500,
      series: {
        acc: [
          { step: [0, 5, 9], time: [0, 30, 60], value: [0.1, 0.7, 0.8] },
          { step: [0, 5, 9], time: [0, 35, 70], value: [0.2, 0.75, 0.85] }
        ],
        val_loss: [
          { step: [0, 5], time: [0, 30], value: [1, 0.3] },
          { step: [0, 5, 9], time: [0, 35, 70], value: [1, 0.4, 'Infinity'] }
        ]
      }
    },
    code: {
      kinds: ['cells', 'cells'],
      pairs: [
        {
          a: 0,
          b: 1,
          ops: [
            { op: 'same', a: 0, b: 0, a_count: 1, b_count: 1, source: 'import mlp', diff: [] },
            {
              op: 'changed',
              a: 1,
              b: 1,
              a_count: 2,
              b_count: 2,
              source: 'lr = 0.003\nmlp.log_params({"lr": lr})',
              diff: ['-lr = 0.01', '+lr = 0.003', ' mlp.log_params({"lr": lr})']
            },
            { op: 'moved', a: 3, b: 2, a_count: 4, b_count: 3, source: 'print("done")', diff: [] },
            { op: 'added', a: null, b: 3, a_count: null, b_count: 4, source: 'mlp.log_metric("acc", 0.85)', diff: [] }
          ],
          script_diff: null,
          changed: 1,
          added: 1,
          removed: 0,
          moved: 1,
          same: 1
        }
      ]
    },
    environment: {
      python: { key: 'python', values: ['3.12.3', '3.12.3'], status: 'same', score: 0, numeric: false },
      packages: [{ key: 'numpy', values: ['1.26.4', '2.0.1'], status: 'changed', score: 0.5, numeric: false }],
      git: [],
      inputs: []
    },
    artifacts: [
      {
        path: 'model.pt',
        values: [
          { digest: 'sha256:aaa', size: 1024 },
          { digest: 'sha256:bbb', size: 2048 }
        ],
        status: 'changed',
        score: 1
      }
    ],
    varying: [
      { section: 'params', key: 'optimizer.beta1', values: [null, 0.9], score: 1 },
      { section: 'params', key: 'lr', values: [0.01, 0.003], score: 0.7 },
      { section: 'environment', key: 'numpy', values: ['1.26.4', '2.0.1'], score: 0.5 }
    ],
    ...overrides
  };
}

/** Three runs: values side by side, a pair of code per run after the first, no deltas. */
export function threeRuns(): any {
  const two = twoRuns();
  return {
    ...two,
    runs: [...two.runs, diffRun(C, 'lr-0.001')],
    at: { mode: 'last', key: null, step: null, steps: [9, 9, 9] },
    params: [{ key: 'lr', values: [0.01, 0.003, 0.001], status: 'changed', score: 0.9, numeric: true }],
    metrics: two.metrics.map((m: any) => ({
      ...m,
      runs: [...m.runs, metricRun(0.9, 0.9, 9)],
      delta: { last: null, best: null, at: null },
      better: 2
    })),
    curves: { max_points: 500, series: { acc: [...two.curves.series.acc, null] } },
    code: {
      kinds: ['cells', 'cells', 'script'],
      pairs: [
        two.code.pairs[0],
        { a: 0, b: 2, ops: [], script_diff: ['-import mlp', '+import mlp, torch'], changed: 0, added: 0, removed: 0, moved: 0, same: 0 }
      ]
    },
    varying: [
      { section: 'params', key: 'lr', values: [0.01, 0.003, 0.001], score: 0.9 },
      { section: 'artifacts', key: 'model.pt', values: [{ digest: 'sha256:aaa', size: 1024 }, null, null], score: 0.5 }
    ]
  };
}
