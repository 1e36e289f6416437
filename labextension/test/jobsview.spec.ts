import { nullTranslator } from '@jupyterlab/translation';
import * as React from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { afterEach, describe, expect, it } from 'vitest';
import { JobsModel, JobViewModel } from '../src/jobsmodel';
import { JobPage, JobsSection } from '../src/jobsview';
import { FakeServer } from './helpers';
import { job, jobId, JOBS, MiB, ray } from './jobs-fixture';

const trans = nullTranslator.load('jupyter_mlp');
const disposables: { dispose(): void }[] = [];

afterEach(() => {
  disposables.splice(0).forEach(m => m.dispose());
});

async function section(server: FakeServer): Promise<string> {
  const m = new JobsModel({ client: server.client(), pollInterval: 0 });
  disposables.push(m);
  await m.refresh();
  return renderToStaticMarkup(React.createElement(JobsSection, { model: m, trans, onOpenRun: () => undefined }));
}

async function page(server: FakeServer, id = jobId(1)): Promise<string> {
  const m = new JobViewModel({ client: server.client(), id, pollInterval: 0 });
  disposables.push(m);
  await m.refresh();
  return renderToStaticMarkup(React.createElement(JobPage, { model: m, trans, onBack: () => undefined, onOpenRun: () => undefined }));
}

describe('JobsSection', () => {
  it('lists each job with short id, name, status, resources, who, and the message of a failed or pending one', async () => {
    const html = await section(ray());
    expect(html).toContain('Ray cluster at http://127.0.0.1:8265 · 1 node · in use: 1/2 CPUs');
    expect(html).toContain(`data-job="${jobId(1)}" data-status="running"`);
    expect(html).toContain(`>${jobId(1).slice(0, 8)}</code>`);
    expect(html).toContain('1 CPU · 256 MiB');
    expect(html).toContain('8 CPUs');
    expect(html).toContain('alice');
    expect(html).toMatch(/data-status="failed".*jp-mlp-JobMessage jp-mlp-mod-error[^>]*>out of memory: peak 297 MiB of 200 MiB requested/);
    expect(html).toMatch(/data-status="pending".*jp-mlp-JobMessage jp-mlp-mod-warn[^>]*>pending: waiting for resources/);
    expect(html.indexOf(jobId(1))).toBeLessThan(html.indexOf(jobId(4)));
  });

  it('says a local head that has not started', async () => {
    const server = ray().on('GET cluster', () => ({
      body: { address: null, embedded: true, started: false, nodes: [], totals: {}, in_use: {}, jobs: { pending: 0, running: 0 } }
    }));
    expect(await section(server)).toContain('local Ray head: not started (starts with the first job)');
  });

  it('says an API failure in the section, never a blank panel', async () => {
    const unavailable = { status: 503, body: { error: 'ClusterUnavailable', message: 'no Ray cluster answers at http://x:8265', field: null } };
    const html = await section(new FakeServer().on('GET jobs', () => unavailable).on('GET cluster', () => unavailable));
    expect(html).toContain('Could not load the jobs');
    expect(html).toContain('no Ray cluster answers at http://x:8265');
    expect(html).toContain('The Ray cluster is unavailable');
    expect(html).toContain('Retry');
  });

  it('says how to submit a job when there is none', async () => {
    const html = await section(ray().on('GET jobs', () => ({ body: { jobs: [] } })));
    expect(html).toContain('No jobs yet');
    expect(html).toContain('mlp.submit(');
  });
});

describe('JobPage', () => {
  it('shows status, resources, timing, its run, Cancel and the output of a running job', async () => {
    const html = await page(ray());
    expect(html).toContain(`class="jp-mlp-JobView" data-job="${jobId(1)}" data-status="running"`);
    expect(html).toContain('>running</span>');
    expect(html).toContain(`data-run-id="${'f'.repeat(31)}1"`);
    expect(html).toContain('Open run ffffffff');
    expect(html).toContain('jp-mlp-JobView-cancel');
    expect(html).toContain('>Cancel</button>');
    expect(html).toContain('>python -u train.py --lr 0.1</code>');
    expect(html).toContain('1 CPU · 256 MiB');
    expect(html).toContain('(live)');
    expect(html).toContain('<pre class="jp-mlp-JobLog">tick 1\ntick 2\n</pre>');
  });

  it('shows a failure\'s message, exit code and peak memory, and no Cancel once ended', async () => {
    const server = ray('Killed\n', () => false).on(`GET jobs/${jobId(3)}`, () => ({ body: JOBS[2] }))
      .on(`GET jobs/${jobId(3)}/logs`, () => ({ body: { text: 'Killed\n', offset: 7, status: 'failed', message: JOBS[2].message, more: false } }));
    const html = await page(server, jobId(3));
    expect(html).toContain('data-status="failed"');
    expect(html).toContain("ask for more with memory=&#x27;371MiB&#x27;");
    expect(html).toContain('<th scope="row">exit code</th><td>1</td>');
    expect(html).toContain('297 MiB of 200 MiB requested');
    expect(html).not.toContain('jp-mlp-JobView-cancel');
    expect(html).not.toContain('(live)');
    expect(html).toContain('Killed');
  });

  it('says output that cannot be read, and a job that printed nothing', async () => {
    const html = await page(
      ray().on(`GET jobs/${jobId(1)}/logs`, () => ({ status: 503, body: { error: 'ClusterUnavailable', message: 'the cluster is away', field: null } }))
    );
    expect(html).toContain('Could not read the output: the cluster is away');
    const done = ray('', () => false).on(`GET jobs/${jobId(1)}`, () => ({ body: job({ status: 'succeeded', ended_at: 1, memory: 2 * MiB }) }));
    expect(await page(done)).toContain('The job printed nothing.');
  });
});
