import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';
import { RunsModel } from '../model';

/** One line at the top of the panel: is the server there, which version and store, is the data fresh. */
export function HealthStrip(props: { model: RunsModel; trans: TranslationBundle }): JSX.Element {
  const { model, trans } = props;
  const { info, infoError } = model;
  if (infoError) {
    return (
      <div className="jp-mlp-Health jp-mlp-mod-error" role="status" title={infoError.message}>
        <span className="jp-mlp-Health-dot" />
        <span>{trans.__('ML Platform unreachable: %1', infoError.message)}</span>
      </div>
    );
  }
  if (!info) {
    return (
      <div className="jp-mlp-Health" role="status">
        <span className="jp-mlp-Health-dot" />
        <span>{trans.__('Connecting to the ML Platform…')}</span>
      </div>
    );
  }
  const schemaBehind = info.schema_expected && info.schema !== info.schema_expected;
  const updated = model.updatedAt ? new Date(model.updatedAt).toLocaleTimeString() : '';
  return (
    <div
      className={`jp-mlp-Health ${schemaBehind ? 'jp-mlp-mod-warn' : 'jp-mlp-mod-ok'}`}
      role="status"
      title={trans.__('server %1 · API %2 · store %3 · schema %4 · artifacts %5', info.version, info.api, info.store, info.schema ?? '?', info.artifact_root)}
    >
      <span className="jp-mlp-Health-dot" />
      <span className="jp-mlp-Health-text">
        {schemaBehind
          ? trans.__('Store schema %1, server needs %2: run `jupyter mlp db upgrade`', info.schema ?? '?', info.schema_expected ?? '?')
          : trans.__('jupyter-mlp %1 · %2', info.version, storeKind(info.store))}
      </span>
      {updated && <span className="jp-mlp-Health-updated">{trans.__('updated %1', updated)}</span>}
    </div>
  );
}

/** `postgresql+psycopg://u@db/mlp` → `postgresql`; the full URL is in the strip's title. */
function storeKind(url: string): string {
  return (url.split(':')[0] || url).split('+')[0];
}
