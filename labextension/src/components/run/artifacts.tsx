import { TranslationBundle } from '@jupyterlab/translation';
import { closeIcon, downloadIcon, fileIcon, folderIcon, imageIcon, jsonIcon, spreadsheetIcon } from '@jupyterlab/ui-components';
import * as React from 'react';
import { IArtifact } from '../../api';
import { formatBytes, formatDateTime } from '../../format';
import { previewKind, TEXT_PREVIEW_BYTES } from '../../preview';
import { IPreview, RunModel } from '../../runmodel';
import { Failure, Loading } from '../states';

/** The artifact tree of the run, folder by folder, and a preview of the file picked. */
export function ArtifactsTab(props: { model: RunModel; trans: TranslationBundle }): JSX.Element {
  const { model, trans } = props;
  const artifacts = model.artifacts;
  if (artifacts.status === 'idle' || (artifacts.status === 'loading' && !artifacts.value)) {
    return <Loading label={trans.__('Loading the artifacts…')} />;
  }
  if (artifacts.status === 'error' && artifacts.error && !artifacts.value) {
    return (
      <Failure title={trans.__('Could not list the artifacts')} error={artifacts.error} trans={trans} onRetry={() => void model.refresh()} />
    );
  }
  if (!artifacts.value?.length) {
    return (
      <div className="jp-mlp-State" role="status">
        <p className="jp-mlp-State-title">{trans.__('No artifacts on this run')}</p>
        <p>{trans.__('Log files or folders during the run and they show here, with previews:')}</p>
        <pre className="jp-mlp-State-code">{'mlp.log_artifact("roc.png")\nmlp.log_artifacts("outputs/")'}</pre>
      </div>
    );
  }
  return (
    <div className="jp-mlp-Artifacts">
      <ArtifactList model={model} trans={trans} />
      <div className="jp-mlp-Artifacts-preview">
        {model.preview ? (
          <Preview model={model} preview={model.preview} trans={trans} />
        ) : (
          <div className="jp-mlp-State jp-mlp-muted">{trans.__('Pick a file to preview it.')}</div>
        )}
      </div>
    </div>
  );
}

function ArtifactList(props: { model: RunModel; trans: TranslationBundle }): JSX.Element {
  const { model, trans } = props;
  const { folders, files } = model.listing;
  const crumbs = model.folder ? model.folder.split('/') : [];
  return (
    <nav className="jp-mlp-Artifacts-list" aria-label={trans.__('Artifacts')}>
      <div className="jp-mlp-Breadcrumbs">
        <button className="jp-mlp-LinkButton" onClick={() => model.openFolder('')}>
          {trans.__('artifacts')}
        </button>
        {crumbs.map((name, i) => (
          <React.Fragment key={i}>
            {' / '}
            <button className="jp-mlp-LinkButton" onClick={() => model.openFolder(crumbs.slice(0, i + 1).join('/'))}>
              {name}
            </button>
          </React.Fragment>
        ))}
      </div>
      <ul>
        {folders.map(f => (
          <li key={f.path}>
            <button className="jp-mlp-Artifact jp-mlp-mod-folder" data-path={f.path} onClick={() => model.openFolder(f.path)}>
              <folderIcon.react tag="span" className="jp-mlp-Artifact-icon" />
              <span className="jp-mlp-Artifact-name">{f.name}/</span>
              <span className="jp-mlp-Artifact-size">{trans._n('%1 file', '%1 files', f.files)}</span>
            </button>
          </li>
        ))}
        {files.map(a => (
          <li key={a.path}>
            <button
              className={`jp-mlp-Artifact${model.preview?.path === a.path ? ' jp-mod-selected' : ''}`}
              data-path={a.path}
              aria-pressed={model.preview?.path === a.path}
              onClick={() => void model.showArtifact(a.path)}
            >
              <ArtifactIcon path={a.path} />
              <span className="jp-mlp-Artifact-name">{a.path.slice(a.path.lastIndexOf('/') + 1)}</span>
              <span className="jp-mlp-Artifact-size">{formatBytes(a.size)}</span>
            </button>
          </li>
        ))}
      </ul>
    </nav>
  );
}

function ArtifactIcon(props: { path: string }): JSX.Element {
  const kind = previewKind(props.path);
  const icon = kind === 'image' ? imageIcon : kind === 'table' ? spreadsheetIcon : kind === 'json' ? jsonIcon : fileIcon;
  return <icon.react tag="span" className="jp-mlp-Artifact-icon" />;
}

function Preview(props: { model: RunModel; preview: IPreview; trans: TranslationBundle }): JSX.Element {
  const { model, preview, trans } = props;
  const artifact: IArtifact | undefined = (model.artifacts.value ?? []).find(a => a.path === preview.path);
  const size = artifact?.size ?? null;
  return (
    <section className="jp-mlp-Preview" data-kind={preview.kind} aria-label={trans.__('Preview of %1', preview.path)}>
      <header className="jp-mlp-Preview-header">
        <span className="jp-mlp-Preview-path" title={artifact?.digest ?? undefined}>
          {preview.path}
        </span>
        <span className="jp-mlp-muted">
          {formatBytes(size)}
          {artifact?.created_at ? ` · ${formatDateTime(artifact.created_at)}` : ''}
        </span>
        <a className="jp-mlp-Button" href={model.downloadUrl(preview.path)} download={preview.path.split('/').pop()}>
          <downloadIcon.react tag="span" />
          {trans.__('Download')}
        </a>
        <button className="jp-mlp-IconButton" title={trans.__('Close the preview')} onClick={() => model.closeArtifact()}>
          <closeIcon.react tag="span" />
        </button>
      </header>
      <PreviewBody preview={preview} size={size} trans={trans} />
    </section>
  );
}

function PreviewBody(props: { preview: IPreview; size: number | null; trans: TranslationBundle }): JSX.Element {
  const { preview, size, trans } = props;
  if (preview.status === 'loading') {
    return <Loading label={trans.__('Loading the preview…')} />;
  }
  if (preview.status === 'error' && preview.error) {
    return <Failure title={trans.__('Could not load the preview')} error={preview.error} trans={trans} />;
  }
  if (preview.kind === 'binary' || (preview.kind === 'image' && !preview.url)) {
    return (
      <div className="jp-mlp-State" role="status">
        <p>
          {preview.kind === 'image'
            ? trans.__('This image is too large to preview (%1); download it instead.', formatBytes(size))
            : trans.__('No preview for this kind of file (%1); download it to open it.', formatBytes(size))}
        </p>
      </div>
    );
  }
  const cut = preview.truncated && (
    <p className="jp-mlp-Note">
      {trans.__('Showing the first %1 of %2; download the file for all of it.', formatBytes(TEXT_PREVIEW_BYTES), formatBytes(size))}
    </p>
  );
  if (preview.kind === 'image') {
    return (
      <div className="jp-mlp-Preview-image">
        <img src={preview.url!} alt={preview.path} />
      </div>
    );
  }
  if (preview.kind === 'table' && preview.rows) {
    const [head, ...body] = preview.rows;
    return (
      <div className="jp-mlp-Preview-table">
        {cut}
        <p className="jp-mlp-muted">
          {trans._n('%1 row shown', '%1 rows shown', body.length)}
        </p>
        <table className="jp-mlp-DataTable">
          {head && (
            <thead>
              <tr>
                {head.map((cell, i) => (
                  <th key={i}>{cell}</th>
                ))}
              </tr>
            </thead>
          )}
          <tbody>
            {body.map((row, r) => (
              <tr key={r}>
                {row.map((cell, i) => (
                  <td key={i}>{cell}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    );
  }
  return (
    <div className="jp-mlp-Preview-text">
      {cut}
      <pre>{preview.text}</pre>
    </div>
  );
}
