import { nullTranslator } from '@jupyterlab/translation';
import * as React from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { afterEach, describe, expect, it } from 'vitest';
import { FeaturesModel, FeatureViewModel } from '../src/featuresmodel';
import { FeaturesSection, FeatureViewPage } from '../src/featuresview';
import { FakeServer } from './helpers';
import { materialization, store as fixtureStore } from './features-fixture';

const trans = nullTranslator.load('jupyter_mlp');
const disposables: { dispose(): void }[] = [];

afterEach(() => {
  disposables.splice(0).forEach(m => m.dispose());
});

/** customer_stats with a failed materialization after the finished one. */
function store(): FakeServer {
  return fixtureStore().on('GET features/materializations', () => ({
    body: { materializations: [materialization({ id: 4, status: 'failed', error: 'no file x.parquet' }), materialization()] }
  }));
}

async function section(server: FakeServer): Promise<string> {
  const m = new FeaturesModel({ client: server.client(), pollInterval: 0 });
  disposables.push(m);
  await m.refresh();
  return renderToStaticMarkup(React.createElement(FeaturesSection, { model: m, trans }));
}

async function page(server: FakeServer): Promise<string> {
  const m = new FeatureViewModel({ client: server.client(), name: 'customer_stats', pollInterval: 0 });
  disposables.push(m);
  await m.refresh();
  return renderToStaticMarkup(React.createElement(FeatureViewPage, { model: m, trans, onBack: () => undefined }));
}

describe('FeaturesSection', () => {
  it('lists each view with version, keys, feature count, owner and freshness badge', async () => {
    const html = await section(store());
    expect(html).toContain('data-view="customer_stats"');
    expect(html).toContain('data-status="stale"');
    expect(html).toContain('stale · 3h old, SLO 1h');
    expect(html).toContain('customer_id');
    expect(html).toContain('2 features');
    expect(html).toContain('lena');
    expect(html).toMatch(/data-view="orders".*never materialized/);
    expect(html).toContain('(global)');
  });

  it('says an API failure in the section', async () => {
    const server = new FakeServer().on('GET features/views', () => ({
      status: 403,
      body: { error: 'AccessDenied', message: 'you may not read the feature store', field: null }
    }));
    const html = await section(server);
    expect(html).toContain('Could not load the feature views');
    expect(html).toContain('you may not read the feature store');
  });

  it('says how to define a view when there is none', async () => {
    const html = await section(new FakeServer().on('GET features/views', () => ({ body: { views: [] } })));
    expect(html).toContain('No feature views yet');
  });
});

describe('FeatureViewPage', () => {
  it('shows the definition, freshness, schema with statistics, newest rows, materializations and versions', async () => {
    const html = await page(store());
    expect(html).toContain('v2 of 2');
    expect(html).toContain('Spend per customer, daily');
    expect(html).toContain('<code>event_timestamp</code>');
    expect(html).toContain('<code>created</code>');
    expect(html).toContain('30d');
    expect(html).toContain('DataFrame, 40 rows');
    expect(html).toContain('team=growth');
    expect(html).toContain('stale · 3h old, SLO 1h');
    expect(html).toContain('3h / 1h');
    expect(html).toMatch(/data-feature="avg_spend"><td><code>avg_spend<\/code><\/td><td>float<\/td><td>2<\/td><td>1.5<\/td><td>∞<\/td><td>42.13<\/td>/);
    expect(html).toMatch(/data-feature="segment"><td><code>segment<\/code><\/td><td>string<\/td><td>0<\/td><td><\/td>/);
    expect(html).toContain('<th>avg_spend</th>');
    expect(html).toContain('gold');
    expect(html).toContain('class="jp-mlp-muted" title="null">null</td>');
    expect(html).toContain('no file x.parquet');
    expect(html).toContain('20 keys, 20 written');
    expect(html).toMatch(/v2<\/th><td>[^<]*omar/);
  });

  it('says an unreadable source in place of the statistics and rows', async () => {
    const moved = { status: 400, body: { error: 'InvalidInput', message: 'no file /data/gone.parquet', field: 'source' } };
    const server = store()
      .on('GET features/views/customer_stats/stats', () => moved)
      .on('GET features/views/customer_stats/sample', () => moved);
    const html = await page(server);
    expect(html).toContain('Could not read statistics: no file /data/gone.parquet');
    expect(html).toContain('Could not read the newest rows: no file /data/gone.parquet');
    expect(html).toContain('data-feature="avg_spend"');
  });
});
