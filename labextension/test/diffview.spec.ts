import { nullTranslator } from '@jupyterlab/translation';
import * as React from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { lineKind } from '../src/components/diff/code';
import { formatDelta, improves } from '../src/components/diff/metrics';
import { DiffSections, DiffState } from '../src/components/diff/sections';
import { Summary } from '../src/components/diff/values';
import { DiffModel } from '../src/diffmodel';
import { A, B, C, threeRuns, twoRuns } from './diff-fixture';
import { FakeServer } from './helpers';

const trans = nullTranslator.load('jupyter_mlp');

const models: DiffModel[] = [];

beforeAll(() => {
  // the curves measure their width in a layout effect, which a server render skips (and says so)
  const error = console.error;
  vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => {
    if (!String(args[0]).includes('useLayoutEffect does nothing on the server')) {
      error(...args);
    }
  });
});

afterEach(() => {
  models.splice(0).forEach(m => m.dispose());
});

async function page(body: unknown, runs = [A, B], onlyChanged = true): Promise<HTMLString> {
  const server = new FakeServer().on('GET diff', () => ({ body }));
  const model = new DiffModel({ client: server.client(), runs, state: { onlyChanged }, pollInterval: 0 });
  models.push(model);
  await model.load();
  return new HTMLString(render(model));
}

/** The page below its header: the summary and every section (the header needs a browser). */
function render(model: DiffModel): string {
  const diff = model.diff;
  if (!diff) {
    return renderToStaticMarkup(React.createElement(DiffState, { model, trans }));
  }
  return renderToStaticMarkup(
    React.createElement(
      React.Fragment,
      null,
      React.createElement(Summary, { model, diff, trans, onSection: () => undefined }),
      React.createElement(DiffSections, { model, diff, trans })
    )
  );
}

/** Rendered markup, searched by the pieces the tests care about. */
class HTMLString {
  constructor(readonly html: string) {}
  section(name: string): string {
    const start = this.html.indexOf(`data-section="${name}" aria-label`);
    const end = this.html.indexOf('</section>', start);
    return start < 0 ? '' : this.html.slice(start, end);
  }
}

describe('the diff page', () => {
  it('puts the summary first, in the order the server ranked it', async () => {
    const { html } = await page(twoRuns());
    const summary = html.slice(html.indexOf('jp-mlp-DiffSummary'));
    expect(summary.indexOf('lr 0.01 → 0.003')).toBeLessThan(summary.indexOf('1 cell changed, 1 added'));
  });

  it('shows a changed param as before → after, highlighted, and an added one marked', async () => {
    const p = await page(twoRuns());
    const params = p.section('params');
    expect(params).toMatch(/data-key="lr" data-status="changed" class="jp-mlp-mod-changed"/);
    expect(params).toContain('jp-mlp-mod-before">0.01</span>');
    expect(params).toContain('jp-mlp-mod-after">0.003</span>');
    expect(params).toMatch(/data-key="optimizer.beta1"[^]*—[^]*0.9[^]*added/);
  });

  it('shows changed cells as coloured diffs and marks moved and added ones', async () => {
    const code = (await page(twoRuns())).section('code');
    expect(code).toContain('jp-mlp-DiffLine jp-mlp-mod-del">-lr = 0.01</div>');
    expect(code).toContain('jp-mlp-DiffLine jp-mlp-mod-add">+lr = 0.003</div>');
    expect(code).toMatch(/data-op="moved"[^]*moved from position 4 to 3/);
    expect(code).toMatch(/data-op="added"[^]*\+mlp.log_metric/);
    // unchanged cells fold into one line, closed while only what differs is shown
    expect(code).toMatch(/data-op="same"><details><summary[^>]*>1 unchanged cell</);
  });

  it('opens the unchanged cells when unchanged fields are shown', async () => {
    const code = (await page(twoRuns({ only_changed: false }), [A, B], false)).section('code');
    expect(code).toMatch(/data-op="same"><details open="">/);
  });

  it('marks the better run and colours each delta by whether it is an improvement', async () => {
    const metrics = (await page(twoRuns())).section('metrics');
    expect(metrics).toMatch(/data-metric="val_loss"[^]*jp-mlp-DiffDelta jp-mlp-mod-improved">−0.04/);
    expect(metrics).toMatch(/data-metric="acc"[^]*jp-mlp-DiffNumber jp-mlp-mod-better/);
    expect(metrics).toContain('NaN');
  });

  it('lists packages and artifacts that changed', async () => {
    const p = await page(twoRuns());
    expect(p.section('environment')).toMatch(/data-key="numpy"[^]*1.26.4[^]*2.0.1/);
    expect(p.section('artifacts')).toMatch(/data-key="model.pt"[^]*1.0 KB · aaa[^]*2.0 KB · bbb/);
  });

  it('folds a long package list and says which run captured no environment', async () => {
    const packages = Array.from({ length: 40 }, (_, i) => ({
      key: `pkg${i}`,
      values: ['1.0', null],
      status: 'removed',
      score: 1,
      numeric: false
    }));
    const body = twoRuns();
    body.environment = { python: { key: 'python', values: ['3.12.3', null], status: 'removed', score: 1, numeric: false }, packages, git: [], inputs: [] };
    const env = (await page(body)).section('environment');
    expect(env).toContain('lr-0.003 captured no environment');
    expect(env).toMatch(/<details><summary[^>]*>Packages: 40 rows</);
  });

  it('says when a section has nothing that differs, and offers the unchanged rows', async () => {
    const tags = (await page(twoRuns())).section('tags');
    expect(tags).toContain('No tag differs (1 the same).');
    expect(tags).toContain('show unchanged');
  });

  it('says when nothing differs at all', async () => {
    const same = { changed: 0, added: 0, removed: 0, same: 3, moved: 0 };
    const counts = Object.fromEntries(['params', 'metrics', 'code', 'environment', 'artifacts', 'tags', 'attributes'].map(s => [s, same]));
    const { html } = await page(
      twoRuns({ summary: [{ section: 'params', text: 'no differences' }], counts, params: [], metrics: [], varying: [] })
    );
    expect(html).toContain('No difference found');
  });

  it('for three runs puts values side by side and lists what varies', async () => {
    const p = await page(threeRuns(), [A, B, C]);
    expect(p.section('params')).toMatch(/jp-mlp-mod-wide[^]*lr-0.001[^]*mod-differs">0.003[^]*mod-differs">0.001/);
    expect(p.html).toMatch(/What varies[^]*data-key="lr"[^]*1.0 KB · aaa · — · —/);
    expect(p.section('metrics')).not.toContain('jp-mlp-DiffDelta');
  });

  it('tells what to do when the runs cannot be compared', async () => {
    const server = new FakeServer().on('GET diff', () => ({ status: 404, body: { error: 'NotFound', message: 'no run matches "x"', field: 'run' } }));
    const model = new DiffModel({ client: server.client(), runs: [A, 'x'], pollInterval: 0 });
    models.push(model);
    await model.load();
    const failed = render(model);
    expect(failed).toContain('no run matches');
    expect(failed).toContain('mlp.restore_run');
    expect(failed).toContain('Retry');
  });
});

describe('diff helpers', () => {
  it('reads unified diff lines by kind', () => {
    expect(['--- a', '+++ b', '@@ -1 +1 @@', '-x', '+y', ' z'].map(lineKind)).toEqual([
      'header',
      'header',
      'hunk',
      'del',
      'add',
      'context'
    ]);
    expect(lineKind('--- not a header', 5)).toBe('del');
  });

  it('signs deltas and says whether they improve a min or max metric', () => {
    expect(formatDelta(-0.04)).toBe('−0.04');
    expect(formatDelta(0.05)).toBe('+0.05');
    expect(formatDelta(NaN)).toBe('');
    expect(improves(-0.04, 'min')).toBe(true);
    expect(improves(-0.04, 'max')).toBe(false);
    expect(improves(0, 'max')).toBeNull();
  });
});
