import { FakeServer } from './helpers';

/** Jobs on Ray as the server describes them: one running, one pending, one failed out of memory, one done. */
export const NOW = 1_700_000_000;
export const MiB = 2 ** 20;

export function jobId(n: number): string {
  return n.toString(16).padStart(32, 'a');
}

export function job(overrides: Record<string, unknown> = {}): any {
  return {
    id: jobId(1),
    run_id: 'f'.repeat(31) + '1',
    kind: 'script',
    name: 'train.py',
    entrypoint: 'python -u -m mlp._jobrun --memory 268435456 --policy stop -- python -u train.py --lr 0.1',
    status: 'running',
    message: null,
    cluster: 'http://127.0.0.1:8265',
    created_at: NOW - 60,
    created_by: 'alice',
    started_at: NOW - 50,
    ended_at: null,
    duration: null,
    exit_code: null,
    peak_memory: null,
    cpus: 1,
    gpus: null,
    memory: 256 * MiB,
    args: ['--lr', '0.1'],
    env: ['WANDB_MODE'],
    requirements: [],
    inputs: [],
    experiment: 'demo',
    request_id: null,
    ...overrides
  };
}

export const JOBS = [
  job(),
  job({
    id: jobId(2),
    name: 'big.py',
    status: 'pending',
    started_at: null,
    cpus: 8,
    message: 'pending: waiting for resources (8 CPUs; the cluster has 2 free)'
  }),
  job({
    id: jobId(3),
    name: 'oom.py',
    status: 'failed',
    started_at: NOW - 300,
    ended_at: NOW - 290,
    duration: 10,
    exit_code: 1,
    memory: 200 * MiB,
    peak_memory: 297 * MiB,
    message: "out of memory: peak 297 MiB of 200 MiB requested — ask for more with memory='371MiB'"
  }),
  job({ id: jobId(4), name: 'ok.py', status: 'succeeded', started_at: NOW - 600, ended_at: NOW - 588, duration: 12, exit_code: 0, created_by: 'bob' })
];

export const CLUSTER = {
  address: 'http://127.0.0.1:8265',
  embedded: false,
  started: true,
  nodes: [{ node_id: 'n1', host: 'box', head: true, cpus: 2, gpus: 0, memory: 4 * 1024 * MiB, resources: {} }],
  totals: { cpus: 2, gpus: 0, memory: 4 * 1024 * MiB },
  in_use: { cpus: 1, gpus: 0, memory: 256 * MiB },
  jobs: { pending: 1, running: 1 }
};

/** A server with the jobs above, the cluster, and job 1's output in `log` (read from `offset`). */
export function ray(log = 'tick 1\ntick 2\n', more = () => true): FakeServer {
  return new FakeServer()
    .on('GET jobs', () => ({ body: { jobs: JOBS } }))
    .on('GET cluster', () => ({ body: CLUSTER }))
    .on(`GET jobs/${jobId(1)}`, () => ({ body: JOBS[0] }))
    .on(`GET jobs/${jobId(1)}/logs`, call => {
      const offset = Number(new URL(call.url).searchParams.get('offset') ?? 0);
      return { body: { text: log.slice(offset), offset: log.length, status: 'running', message: null, more: more() } };
    });
}
