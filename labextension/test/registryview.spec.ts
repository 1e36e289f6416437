import { nullTranslator } from '@jupyterlab/translation';
import * as React from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { afterEach, describe, expect, it } from 'vitest';
import { ModelList } from '../src/components/registry/list';
import { Requests } from '../src/components/registry/requests';
import { AuditTimeline } from '../src/components/registry/versions';
import { ModelPageModel, ModelsModel } from '../src/registrymodel';
import { FakeServer } from './helpers';
import { detail, EVENTS, request, SUMMARY } from './registry-fixture';

const trans = nullTranslator.load('jupyter_mlp');
const disposables: { dispose(): void }[] = [];

afterEach(() => {
  disposables.splice(0).forEach(m => m.dispose());
});

async function page(me: string, requests: any[]): Promise<ModelPageModel> {
  const server = new FakeServer()
    .on('GET registry/models/churn', () => ({ body: detail(requests) }))
    .on('GET registry/models/churn/audit', () => ({ body: { events: EVENTS } }));
  const m = new ModelPageModel({ client: server.client(), name: 'churn', me, pollInterval: 0 });
  disposables.push(m);
  await m.refresh();
  return m;
}

/** The Approve button of a request, as rendered. */
function approveButton(html: string, id: number): string {
  const card = html.slice(html.indexOf(`data-request-id="${id}"`));
  return /<button[^>]*jp-mlp-Approve[^>]*>/.exec(card)?.[0] ?? '';
}

describe('Requests', () => {
  it('shows the gate: approvals had of needed, each check with its result and detail, what is missing', async () => {
    const html = renderToStaticMarkup(React.createElement(Requests, { model: await page('bob', [request()]), trans }));
    expect(html).toContain('approvals 0 of 1');
    expect(html).toContain('✓</span><code>metrics.auc &gt;= 0.85</code>');
    expect(html).toContain('holds on the source run');
    expect(html).toContain('1 more approval(s) from someone other than alice');
    expect(html).toContain('requested by alice');
    expect(approveButton(html, 7)).not.toContain('disabled');
  });

  it('disables Approve on your own request and says why, inline and as the tooltip', async () => {
    const mine = request({ id: 8, requested_by: 'bob' });
    const html = renderToStaticMarkup(React.createElement(Requests, { model: await page('bob', [mine]), trans }));
    const reason = 'you made this request: an approval must come from someone else';
    expect(approveButton(html, 8)).toContain('disabled');
    expect(approveButton(html, 8)).toContain(`title="${reason}"`);
    expect(html).toContain(`>${reason}</p>`);
    expect(html).toContain('Cancel request');
  });

  it('marks a failing check with ✗', async () => {
    const failing = request({
      checks: { approvals: { needed: 1, have: ['carol'] }, checks: [{ check: 'metrics.auc >= 0.95', ok: false, detail: 'auc is 0.91' }] }
    });
    const html = renderToStaticMarkup(React.createElement(Requests, { model: await page('bob', [failing]), trans }));
    expect(html).toContain('approvals 1 of 1');
    expect(html).toContain('✗</span><code>metrics.auc &gt;= 0.95</code>');
    expect(html).toContain('auc is 0.91');
  });
});

describe('AuditTimeline', () => {
  it('says who did what to which version, from → to, with the comment, newest first', async () => {
    const m = await page('bob', []);
    const html = renderToStaticMarkup(React.createElement(AuditTimeline, { events: m.audit, trans }));
    expect(html.indexOf('requested')).toBeLessThan(html.indexOf('registered'));
    expect(html).toContain('none → production');
    expect(html).toContain('better auc');
  });
});

describe('ModelList', () => {
  it('says how to make a first model when there is none', async () => {
    const server = new FakeServer().on('GET registry/models', () => ({ body: { models: [] } }));
    const m = new ModelsModel({ client: server.client(), pollInterval: 0 });
    disposables.push(m);
    await m.refresh();
    expect(renderToStaticMarkup(React.createElement(ModelList, { model: m, trans }))).toContain("mlp.register_model(run, &#x27;name&#x27;)");
  });

  it('lists a model with its latest version, stage badges, aliases and open requests', async () => {
    const server = new FakeServer().on('GET registry/models', () => ({ body: { models: [SUMMARY] } }));
    const m = new ModelsModel({ client: server.client(), pollInterval: 0 });
    disposables.push(m);
    await m.refresh();
    const html = renderToStaticMarkup(React.createElement(ModelList, { model: m, trans }));
    expect(html).toContain('latest v2');
    expect(html).toContain('production v1');
    expect(html).toContain('@champion→v1');
    expect(html).toContain('1 request');
  });
});
