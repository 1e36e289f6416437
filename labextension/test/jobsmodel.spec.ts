import { afterEach, describe, expect, it } from 'vitest';
import { JOBS_LIMIT, JobsModel, JobViewModel } from '../src/jobsmodel';
import { FakeServer } from './helpers';
import { job, jobId, ray } from './jobs-fixture';

const disposables: { dispose(): void }[] = [];

afterEach(() => {
  disposables.splice(0).forEach(m => m.dispose());
});

function jobs(server: FakeServer, pollInterval = 0): JobsModel {
  const m = new JobsModel({ client: server.client(), pollInterval });
  disposables.push(m);
  return m;
}

function opened(server: FakeServer, options: { maxLines?: number; pollInterval?: number } = {}): JobViewModel {
  const m = new JobViewModel({ client: server.client(), id: jobId(1), pollInterval: options.pollInterval ?? 0, maxLines: options.maxLines });
  disposables.push(m);
  return m;
}

const paths = (server: FakeServer) => server.calls.map(c => new URL(c.url).pathname.replace('/mlp/api/v1/', ''));
const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

describe('MLPClient, jobs routes', () => {
  it('lists with status, limit and mine, follows logs from an offset, and cancels with a POST', async () => {
    const server = ray().on(`POST jobs/${jobId(1)}/cancel`, () => ({ body: job({ status: 'stopped', message: 'cancelled by alice' }) }));
    const client = server.client();
    await client.jobs({ status: 'running', limit: 5, mine: true });
    await client.jobs();
    const logs = await client.jobLogs(jobId(1), 7);
    const stopped = await client.cancelJob(jobId(1));
    const cluster = await client.cluster();
    const urls = server.calls.map(c => new URL(c.url));
    const q = (u: URL) => ['status', 'limit', 'mine'].map(k => u.searchParams.get(k));
    expect(q(urls[0])).toEqual(['running', '5', 'true']);
    expect(q(urls[1])).toEqual([null, null, null]);
    expect(urls[2].searchParams.get('offset')).toBe('7');
    expect(logs).toEqual({ text: 'tick 2\n', offset: 14, status: 'running', message: null, more: true });
    expect(server.calls[3].method).toBe('POST');
    expect(stopped.message).toBe('cancelled by alice');
    expect(cluster.nodes.length).toBe(1);
  });
});

describe('JobsModel', () => {
  it('loads the jobs, newest first, with the cluster', async () => {
    const server = ray();
    const m = jobs(server);
    expect(m.status).toBe('loading');
    await m.refresh();
    expect(m.status).toBe('ready');
    expect(m.jobs.map(j => j.status)).toEqual(['running', 'pending', 'failed', 'succeeded']);
    expect(m.cluster?.totals.cpus).toBe(2);
    expect(m.live).toBe(true);
    expect(new URL(server.calls[0].url).searchParams.get('limit')).toBe(String(JOBS_LIMIT));
  });

  it('keeps a failure with the server\'s message for the section to say, never rejects', async () => {
    const server = new FakeServer()
      .on('GET jobs', () => ({ status: 503, body: { error: 'ClusterUnavailable', message: 'no Ray cluster at http://x:8265', field: null } }))
      .on('GET cluster', () => ({ status: 503, body: { error: 'ClusterUnavailable', message: 'no Ray cluster at http://x:8265', field: null } }));
    const m = jobs(server);
    await expect(m.refresh()).resolves.toBeUndefined();
    expect(m.status).toBe('error');
    expect(m.error?.status).toBe(503);
    expect(m.clusterError?.message).toContain('no Ray cluster');
  });

  it('lists the jobs when only the cluster cannot be asked', async () => {
    const server = ray().on('GET cluster', () => ({ status: 503, body: { error: 'ClusterUnavailable', message: 'the head is away', field: null } }));
    const m = jobs(server);
    await m.refresh();
    expect(m.status).toBe('ready');
    expect(m.jobs.length).toBe(4);
    expect(m.clusterError?.message).toBe('the head is away');
  });

  it('remembers whether it is open and the job opened, and ignores a malformed state', () => {
    const m = jobs(ray());
    const states: unknown[] = [];
    m.stateChanged.connect((_, s) => states.push(s));
    m.setOpen(true);
    m.select(jobId(1));
    m.select(jobId(1));
    m.select('not-a-job');
    m.select(null);
    expect(states).toEqual([
      { open: true, selected: null },
      { open: true, selected: jobId(1) },
      { open: true, selected: null }
    ]);
    const again = jobs(ray());
    again.restore({ open: true, selected: jobId(1) });
    expect(again.toJSON()).toEqual({ open: true, selected: jobId(1) });
    expect(again.detail?.id).toBe(jobId(1));
    again.restore({ open: 'yes' as unknown as boolean, selected: '../etc' });
    expect(again.toJSON()).toEqual({ open: true, selected: jobId(1) });
  });

  it('polls the list only while shown, and the opened job instead of the list', async () => {
    const server = ray();
    const m = jobs(server, 0.01);
    await sleep(40);
    expect(server.calls.length).toBe(0);
    m.setActive(true);
    await sleep(60);
    expect(paths(server).filter(p => p === 'jobs').length).toBeGreaterThan(1);

    m.select(jobId(1));
    await sleep(30);
    const lists = paths(server).filter(p => p === 'jobs').length;
    await sleep(60);
    expect(paths(server).filter(p => p === 'jobs').length).toBe(lists);
    expect(paths(server).filter(p => p === `jobs/${jobId(1)}/logs`).length).toBeGreaterThan(1);

    m.setActive(false);
    await sleep(30);
    const n = server.calls.length;
    await sleep(60);
    expect(server.calls.length).toBe(n);
  });

  it('opens a job with what the list knows of it, and stops it when the list comes back', async () => {
    const m = jobs(ray());
    await m.refresh();
    m.setActive(true);
    m.select(jobId(3));
    const first = m.detail!;
    expect(first.job?.name).toBe('oom.py');
    expect(first.active).toBe(true);
    m.select(null);
    expect(first.isDisposed).toBe(true);
    expect(m.active).toBe(true);
  });
});

describe('JobViewModel', () => {
  it('tails the output from the offset it reached, and stops asking once there is no more', async () => {
    let log = 'tick 1\n';
    let more = true;
    const server = ray('', () => more).on(`GET jobs/${jobId(1)}/logs`, call => {
      const offset = Number(new URL(call.url).searchParams.get('offset'));
      return { body: { text: log.slice(offset), offset: log.length, status: more ? 'running' : 'succeeded', message: null, more } };
    });
    const m = opened(server);
    await m.refresh();
    expect(m.log).toBe('tick 1\n');
    log += 'tick 2\ntick 3\n';
    await m.refresh();
    expect(m.log).toBe('tick 1\ntick 2\ntick 3\n');
    const offsets = server.calls.filter(c => c.url.includes('/logs')).map(c => new URL(c.url).searchParams.get('offset'));
    expect(offsets).toEqual(['0', '7']);

    more = false;
    server.on(`GET jobs/${jobId(1)}`, () => ({ body: job({ status: 'succeeded', ended_at: 1, exit_code: 0 }) }));
    await m.refresh();
    // the output saw the end first: the job is asked once more, then nothing is
    await m.refresh();
    expect(m.job?.status).toBe('succeeded');
    expect(m.job?.exit_code).toBe(0);
    expect(m.settled).toBe(true);
    const n = server.calls.length;
    await m.refresh();
    expect(server.calls.length).toBe(n);
  });

  it('keeps only the last lines', async () => {
    const text = Array.from({ length: 30 }, (_, i) => `line ${i}\n`).join('');
    const m = opened(ray(text), { maxLines: 10 });
    await m.refresh();
    expect(m.log.split('\n').filter(Boolean)).toEqual(Array.from({ length: 10 }, (_, i) => `line ${i + 20}`));
    expect(m.logDropped).toBe(true);
  });

  it('says a job that is not there, and output that cannot be read apart from the job', async () => {
    const gone = new FakeServer().on(`GET jobs/${jobId(1)}`, () => ({
      status: 404,
      body: { error: 'NotFound', message: `no job ${jobId(1)}`, field: null }
    }));
    const m = opened(gone);
    await m.refresh();
    expect(m.status).toBe('error');
    expect(m.error?.kind).toBe('NotFound');

    const unreadable = ray().on(`GET jobs/${jobId(1)}/logs`, () => ({
      status: 503,
      body: { error: 'ClusterUnavailable', message: 'the cluster is away', field: null }
    }));
    const n = opened(unreadable);
    await n.refresh();
    expect(n.status).toBe('ready');
    expect(n.job?.status).toBe('running');
    expect(n.logError?.message).toBe('the cluster is away');
  });

  it('cancels once at a time, takes the answer, and keeps a refusal to say', async () => {
    let release: () => void = () => undefined;
    const server = ray().on(`POST jobs/${jobId(1)}/cancel`, () => async () => {
      await new Promise<void>(r => (release = r));
      return new Response(JSON.stringify(job({ status: 'stopped', message: 'cancelled by alice', ended_at: 1 })), { status: 200 });
    });
    const m = opened(server);
    await m.refresh();
    const done = m.cancel();
    expect(m.cancelling).toBe(true);
    void m.cancel();
    await sleep(10);
    release();
    await done;
    expect(server.calls.filter(c => c.method === 'POST').length).toBe(1);
    expect(m.cancelling).toBe(false);
    expect(m.job?.status).toBe('stopped');
    expect(m.job?.message).toBe('cancelled by alice');

    const refused = ray().on(`POST jobs/${jobId(1)}/cancel`, () => ({
      status: 403,
      body: { error: 'AccessDenied', message: 'only alice may cancel this job', field: null }
    }));
    const r = opened(refused);
    await r.refresh();
    await expect(r.cancel()).resolves.toBeUndefined();
    expect(r.cancelError?.message).toBe('only alice may cancel this job');
    expect(r.job?.status).toBe('running');
  });

  it('reloads all the output again', async () => {
    const m = opened(ray('a\nb\n'));
    await m.refresh();
    await m.reload();
    expect(m.log).toBe('a\nb\n');
  });
});

