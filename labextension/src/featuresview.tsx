import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';
import { IFeatureView, IFreshness, IMaterialization, MLPError } from './api';
import { Failure, Loading } from './components/states';
import { formatCount, formatDateTime, formatDuration, formatValue } from './format';
import { describeSource, durationOrNone, entityKeys, formatCell, freshnessBadge, shortDuration } from './featuresformat';
import { FeaturesModel, FeatureViewModel } from './featuresmodel';

/**
 * The feature store in the sidebar: the feature views with their freshness,
 * or, once one is clicked, that view in full.
 */
export function FeaturesSection(props: { model: FeaturesModel; trans: TranslationBundle }): JSX.Element {
  const { model, trans } = props;
  return (
    <div className="jp-mlp-Features">
      {model.detail ? (
        <FeatureViewPage model={model.detail} trans={trans} onBack={() => model.select(null)} />
      ) : (
        <FeatureList model={model} trans={trans} />
      )}
    </div>
  );
}

function FeatureList(props: { model: FeaturesModel; trans: TranslationBundle }): JSX.Element {
  const { model, trans } = props;
  return (
    <>
      {model.views.length > 0 && (
        <ul className="jp-mlp-FeatureList" aria-label={trans.__('Feature views')}>
          {model.views.map(v => (
            <FeatureRow key={v.name} view={v} trans={trans} onOpen={() => model.select(v.name)} />
          ))}
        </ul>
      )}
      <FeaturesState model={model} trans={trans} />
    </>
  );
}

function FeatureRow(props: { view: IFeatureView; trans: TranslationBundle; onOpen: () => void }): JSX.Element {
  const { view: v, trans, onOpen } = props;
  return (
    <li
      className="jp-mlp-FeatureRow"
      data-view={v.name}
      tabIndex={0}
      title={v.description ?? trans.__('Open %1', v.name)}
      onClick={onOpen}
      onKeyDown={e => e.key === 'Enter' && onOpen()}
    >
      <div className="jp-mlp-FeatureRow-head">
        <span className="jp-mlp-FeatureRow-name">{v.name}</span>
        <span className="jp-mlp-muted">v{v.version}</span>
        <FreshnessBadge freshness={v.freshness} trans={trans} />
      </div>
      <div className="jp-mlp-FeatureRow-meta jp-mlp-muted">
        <span className="jp-mlp-FeatureRow-keys" title={trans.__('Entity keys')}>
          {entityKeys(v, trans)}
        </span>
        <span className="jp-mlp-FeatureRow-count">{trans._n('%1 feature', '%1 features', v.features.length)}</span>
        {v.owner && <span className="jp-mlp-FeatureRow-owner">{v.owner}</span>}
      </div>
    </li>
  );
}

/** `stale · 3h old, SLO 1h`, coloured by status; `materializing` beside it while a run goes. */
export function FreshnessBadge(props: { freshness: IFreshness | null | undefined; trans: TranslationBundle }): JSX.Element {
  const { freshness, trans } = props;
  const badge = freshnessBadge(freshness, trans);
  return (
    <>
      <span className={`jp-mlp-FreshnessBadge jp-mlp-mod-${badge.status}`} data-status={badge.status} title={badge.title}>
        {badge.label}
      </span>
      {(freshness?.running ?? 0) > 0 && <span className="jp-mlp-FreshnessBadge jp-mlp-mod-running">{trans.__('materializing')}</span>}
    </>
  );
}

function FeaturesState(props: { model: FeaturesModel; trans: TranslationBundle }): JSX.Element | null {
  const { model, trans } = props;
  if (model.status === 'error' && model.error) {
    return (
      <Failure
        title={trans.__('Could not load the feature views')}
        error={model.error}
        trans={trans}
        onRetry={() => void model.refresh()}
        hint={
          model.error.kind === 'NotFound'
            ? trans.__('This server has no feature store routes: upgrade jupyter-mlp on the server, then retry.')
            : undefined
        }
      />
    );
  }
  if (model.views.length > 0) {
    return null;
  }
  if (model.status === 'loading') {
    return <Loading label={trans.__('Loading feature views…')} />;
  }
  return (
    <div className="jp-mlp-State" role="status">
      <p className="jp-mlp-State-title">{trans.__('No feature views yet')}</p>
      <p>{trans.__('Define one over a DataFrame, Parquet, CSV or SQL source:')}</p>
      <pre className="jp-mlp-State-code">{'mlp.features.feature_view("name", source=df, entities=[...], event_time="ts")'}</pre>
    </div>
  );
}

/** One feature view: definition, freshness, schema with statistics, versions, materializations, newest rows. */
export function FeatureViewPage(props: { model: FeatureViewModel; trans: TranslationBundle; onBack: () => void }): JSX.Element {
  const { model, trans, onBack } = props;
  const view = model.view;
  return (
    <div className="jp-mlp-FeatureView" data-view={model.name}>
      <div className="jp-mlp-FeatureView-nav">
        <button className="jp-mlp-LinkButton jp-mlp-FeatureView-back" onClick={onBack}>
          {trans.__('← Feature views')}
        </button>
      </div>
      <h3 className="jp-mlp-FeatureView-name">
        {model.name}
        {view && (
          <span className="jp-mlp-muted">
            {' '}
            {trans.__('v%1 of %2', view.version, view.latest_version)}
          </span>
        )}
      </h3>
      {model.status === 'error' && model.error && (
        <Failure
          title={trans.__('Could not load feature view %1', model.name)}
          error={model.error}
          trans={trans}
          onRetry={() => void model.reload()}
        />
      )}
      {!view && model.status === 'loading' && <Loading label={trans.__('Loading %1…', model.name)} />}
      {view && (
        <>
          {view.description && <p className="jp-mlp-FeatureView-description">{view.description}</p>}
          <Definition view={view} trans={trans} />
          <Freshness model={model} trans={trans} />
          <Schema model={model} trans={trans} />
          <Sample model={model} trans={trans} />
          <Materializations items={model.materializations} trans={trans} />
          <Versions model={model} trans={trans} />
        </>
      )}
    </div>
  );
}

function Section(props: { name: string; title: string; children: React.ReactNode }): JSX.Element {
  return (
    <section className={`jp-mlp-Section jp-mlp-FeatureView-${props.name}`}>
      <h4 className="jp-mlp-Section-title">{props.title}</h4>
      {props.children}
    </section>
  );
}

function KV(props: { rows: [string, React.ReactNode][] }): JSX.Element {
  return (
    <table className="jp-mlp-KV">
      <tbody>
        {props.rows.map(([k, v]) => (
          <tr key={k}>
            <th scope="row">{k}</th>
            <td>{v}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Definition(props: { view: IFeatureView; trans: TranslationBundle }): JSX.Element {
  const { view: v, trans } = props;
  const tags = Object.entries(v.tags ?? {});
  const rows: [string, React.ReactNode][] = [
    [trans.__('owner'), v.owner ?? ''],
    [trans.__('entities'), v.entities.map(e => `${e.name} v${e.version}`).join(', ') || trans.__('(global)')],
    [trans.__('keys'), <code>{entityKeys(v, trans)}</code>],
    [trans.__('event time'), <code>{v.event_time}</code>],
    [trans.__('created time'), v.created_time ? <code>{v.created_time}</code> : trans.__('none')],
    [trans.__('TTL'), durationOrNone(v.ttl, trans)],
    [trans.__('source'), <code className="jp-mlp-FeatureView-source">{describeSource(v.source, trans)}</code>]
  ];
  if (tags.length) {
    rows.push([trans.__('tags'), tags.map(([k, val]) => `${k}=${val}`).join(', ')]);
  }
  return (
    <Section name="definition" title={trans.__('Definition')}>
      <KV rows={rows} />
    </Section>
  );
}

function Freshness(props: { model: FeatureViewModel; trans: TranslationBundle }): JSX.Element {
  const { model, trans } = props;
  const f = model.freshness;
  const version = model.view?.version;
  const rows: [string, React.ReactNode][] = [
    [trans.__('newest event online'), formatDateTime(f?.newest_event_time) || trans.__('none')],
    [trans.__('last materialized'), formatDateTime(f?.last_materialized) || trans.__('never')],
    [
      trans.__('age vs SLO'),
      `${shortDuration(f?.age) || '–'} / ${durationOrNone(f?.slo ?? model.view?.freshness_slo, trans)}`
    ],
    [trans.__('online version'), f?.online_version ? `v${f.online_version}` : trans.__('none')]
  ];
  return (
    <Section name="freshness" title={trans.__('Freshness')}>
      <div className="jp-mlp-FeatureView-badge">
        <FreshnessBadge freshness={f} trans={trans} />
        {f?.online_version && version && f.online_version !== version && (
          <span className="jp-mlp-muted">{trans.__('online serves v%1, not v%2', f.online_version, version)}</span>
        )}
      </div>
      <KV rows={rows} />
    </Section>
  );
}

function Schema(props: { model: FeatureViewModel; trans: TranslationBundle }): JSX.Element {
  const { model, trans } = props;
  const stats = model.stats;
  const features = model.view?.features ?? [];
  return (
    <Section name="schema" title={trans.__('Schema')}>
      {stats && (
        <p className="jp-mlp-muted jp-mlp-FeatureView-summary">
          {trans.__(
            '%1 rows, %2 keys, events %3 – %4',
            formatCount(stats.rows),
            formatCount(stats.keys),
            formatDateTime(stats.event_time_min),
            formatDateTime(stats.event_time_max)
          )}
        </p>
      )}
      <ScanError error={model.statsError} what={trans.__('statistics')} trans={trans} />
      <div className="jp-mlp-FeatureView-scroll">
        <table className="jp-mlp-KV jp-mlp-FeatureSchema">
          <thead>
            <tr>
              {[trans.__('feature'), trans.__('dtype'), trans.__('nulls'), trans.__('min'), trans.__('max'), trans.__('mean')].map(h => (
                <th key={h}>{h}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {features.map(f => {
              const s = stats?.features[f.name];
              return (
                <tr key={f.name} data-feature={f.name}>
                  <td>
                    <code>{f.name}</code>
                  </td>
                  <td>{f.dtype}</td>
                  <td>{s ? formatCount(s.nulls) : ''}</td>
                  <td>{stat(s?.min)}</td>
                  <td>{stat(s?.max)}</td>
                  <td>{stat(s?.mean)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </Section>
  );
}

/** A statistic, blank where there is none (min, max and mean of a non-numeric feature). */
function stat(value: number | null | undefined): string {
  return value === null || value === undefined ? '' : formatValue(value);
}

function Sample(props: { model: FeatureViewModel; trans: TranslationBundle }): JSX.Element {
  const { model, trans } = props;
  const sample = model.sample;
  return (
    <Section name="sample" title={trans.__('Newest rows')}>
      <ScanError error={model.sampleError} what={trans.__('the newest rows')} trans={trans} />
      {sample && sample.rows.length === 0 && <p className="jp-mlp-muted">{trans.__('The source has no rows.')}</p>}
      {sample && sample.rows.length > 0 && (
        <div className="jp-mlp-FeatureView-scroll">
          <table className="jp-mlp-KV jp-mlp-FeatureSample">
            <thead>
              <tr>
                {sample.columns.map(c => (
                  <th key={c}>{c}</th>
                ))}
              </tr>
            </thead>
            <tbody>
              {sample.rows.map((row, i) => (
                <tr key={i}>
                  {row.map((value, j) => (
                    <td key={j} className={value === null ? 'jp-mlp-muted' : undefined} title={formatCell(value)}>
                      {formatCell(value)}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Section>
  );
}

/** A source the server could not read: said in its place, the rest of the view still shows. */
function ScanError(props: { error: MLPError | null; what: string; trans: TranslationBundle }): JSX.Element | null {
  const { error, what, trans } = props;
  if (!error) {
    return null;
  }
  return (
    <p className="jp-mlp-FeatureView-error" role="alert">
      {trans.__('Could not read %1: %2', what, error.message)}
    </p>
  );
}

function Materializations(props: { items: IMaterialization[]; trans: TranslationBundle }): JSX.Element {
  const { items, trans } = props;
  return (
    <Section name="materializations" title={trans.__('Recent materializations')}>
      {items.length === 0 ? (
        <p className="jp-mlp-muted">{trans.__('None yet: mlp.features.materialize(view) writes the online store.')}</p>
      ) : (
        <ul className="jp-mlp-Materializations">
          {items.map(m => (
            <li key={m.id} className="jp-mlp-Materialization" data-status={m.status} title={m.error ?? undefined}>
              <span className={`jp-mlp-FreshnessBadge jp-mlp-mod-${m.status}`}>
                {m.status === 'running' ? trans.__('running %1%', Math.round((m.progress ?? 0) * 100)) : m.status}
              </span>{' '}
              {formatDateTime(m.started_at)} · v{m.version}
              {m.finished_at !== null && ` · ${formatDuration(m.finished_at - m.started_at)}`}
              {m.status === 'finished' &&
                ` · ${trans.__('%1 keys, %2 written', formatCount(m.keys), formatCount(m.written))}`}
              {m.started_by && <span className="jp-mlp-muted"> · {m.started_by}</span>}
              {m.error && <div className="jp-mlp-FeatureView-error">{m.error}</div>}
            </li>
          ))}
        </ul>
      )}
    </Section>
  );
}

function Versions(props: { model: FeatureViewModel; trans: TranslationBundle }): JSX.Element {
  const { model, trans } = props;
  const versions = [...(model.view?.versions ?? [])].reverse();
  return (
    <Section name="versions" title={trans.__('Versions')}>
      <KV
        rows={versions.map(v => [
          `v${v.version}`,
          `${formatDateTime(v.created_at)}${v.created_by ? ` · ${v.created_by}` : ''}`
        ])}
      />
    </Section>
  );
}
