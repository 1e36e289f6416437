import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';
import { ICodeCapture, IGitCapture } from '../../api';
import { RunModel } from '../../runmodel';
import { Failure, Loading } from '../states';

/**
 * Code highlighted as JupyterLab highlights it in Markdown: a fenced block
 * through the app's Markdown parser, then its sanitizer. Plain text until
 * then, or when the app has no parser.
 */
export function Highlighted(props: { code: string; language: string; rendermime: IRenderMimeRegistry | null }): JSX.Element {
  const { code, language, rendermime } = props;
  const [html, setHtml] = React.useState<string | null>(null);
  React.useEffect(() => {
    let live = true;
    const parser = rendermime?.markdownParser;
    if (!parser || !rendermime) {
      setHtml(null);
      return;
    }
    const ticks = '`'.repeat(Math.max(3, longestRun(code, '`') + 1));
    parser
      .render(`${ticks}${language}\n${code}\n${ticks}`)
      .then(out => live && setHtml(rendermime.sanitizer.sanitize(out)))
      .catch(() => live && setHtml(null));
    return () => {
      live = false;
    };
  }, [code, language, rendermime]);
  if (html === null) {
    return (
      <pre className="jp-mlp-Code">
        <code>{code}</code>
      </pre>
    );
  }
  return <div className="jp-mlp-Code jp-RenderedHTMLCommon jp-RenderedMarkdown" dangerouslySetInnerHTML={{ __html: html }} />;
}

function longestRun(text: string, char: string): number {
  let best = 0;
  let run = 0;
  for (const c of text) {
    run = c === char ? run + 1 : 0;
    best = Math.max(best, run);
  }
  return best;
}

/** The captured cells in order (or the script), then the git state with its diff. */
export function CodeTab(props: { model: RunModel; trans: TranslationBundle; rendermime: IRenderMimeRegistry | null }): JSX.Element {
  const { model, trans, rendermime } = props;
  const { code, git } = model;
  return (
    <div className="jp-mlp-CodeTab">
      {code.status === 'loading' || code.status === 'idle' ? (
        <Loading label={trans.__('Loading the captured code…')} />
      ) : code.status === 'error' && code.error ? (
        <Failure title={trans.__('Could not load the captured code')} error={code.error} trans={trans} onRetry={() => void model.refresh()} />
      ) : (
        <CodeView capture={code.value} trans={trans} rendermime={rendermime} />
      )}
      {git.status === 'ready' && git.value && <GitView git={git.value} trans={trans} rendermime={rendermime} />}
    </div>
  );
}

function CodeView(props: { capture: ICodeCapture | null; trans: TranslationBundle; rendermime: IRenderMimeRegistry | null }): JSX.Element {
  const { capture, trans, rendermime } = props;
  if (!capture || capture.type === 'interactive' || (!capture.cells?.length && !capture.source)) {
    return (
      <div className="jp-mlp-State" role="status">
        <p className="jp-mlp-State-title">{trans.__('No code was captured for this run')}</p>
        <p className="jp-mlp-muted">
          {capture?.error
            ? trans.__('Capturing failed: %1', capture.error)
            : trans.__(
                'Runs started in a notebook or a script capture their cells or source, git state and environment by themselves, unless started with capture=False.'
              )}
        </p>
      </div>
    );
  }
  const cells = capture.cells ?? [];
  return (
    <section className="jp-mlp-Section" aria-label={trans.__('Code')}>
      <h2 className="jp-mlp-Section-title">
        {capture.type === 'script'
          ? trans.__('Script')
          : trans._n('%1 cell, in the order they ran', '%1 cells, in the order they ran', cells.length)}
        {capture.path && <code className="jp-mlp-Section-path">{capture.path}</code>}
      </h2>
      {capture.truncated && (
        <p className="jp-mlp-Note">{trans.__('Only the most recent code was kept: the capture has a size limit.')}</p>
      )}
      {capture.argv && capture.argv.length > 0 && (
        <p className="jp-mlp-muted">
          <code>{capture.argv.join(' ')}</code>
        </p>
      )}
      {capture.type === 'script' && capture.source !== undefined ? (
        <Highlighted code={capture.source} language="python" rendermime={rendermime} />
      ) : (
        <ol className="jp-mlp-Cells">
          {cells.map((cell, i) => (
            <li key={`${cell.execution_count}-${i}`} className="jp-mlp-Cell">
              <span className="jp-mlp-Cell-prompt">[{cell.execution_count ?? ' '}]:</span>
              <Highlighted code={cell.source} language={languageOf(cell.source)} rendermime={rendermime} />
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}

/** A cell that starts with a cell magic is not Python for the highlighter. */
function languageOf(source: string): string {
  const first = source.trimStart();
  if (first.startsWith('%%bash') || first.startsWith('%%sh') || first.startsWith('!')) {
    return 'bash';
  }
  return 'python';
}

function GitView(props: { git: IGitCapture; trans: TranslationBundle; rendermime: IRenderMimeRegistry | null }): JSX.Element {
  const { git, trans, rendermime } = props;
  return (
    <section className="jp-mlp-Section jp-mlp-Git" aria-label={trans.__('Git')}>
      <h2 className="jp-mlp-Section-title">{trans.__('Git')}</h2>
      {git.error && <p className="jp-mlp-Note">{trans.__('Reading git failed: %1', git.error)}</p>}
      <table className="jp-mlp-KV">
        <tbody>
          <tr>
            <th>{trans.__('Commit')}</th>
            <td>
              <code>{git.commit ?? trans.__('none yet')}</code>
              {git.dirty && <span className="jp-mlp-Badge jp-mlp-mod-warn">{trans.__('uncommitted changes')}</span>}
            </td>
          </tr>
          <tr>
            <th>{trans.__('Branch')}</th>
            <td>{git.branch ?? trans.__('detached HEAD')}</td>
          </tr>
          {git.remote && (
            <tr>
              <th>{trans.__('Remote')}</th>
              <td>
                <code>{git.remote}</code>
              </td>
            </tr>
          )}
          {git.untracked && git.untracked.length > 0 && (
            <tr>
              <th>{trans.__('Untracked')}</th>
              <td>{git.untracked.join(', ')}</td>
            </tr>
          )}
        </tbody>
      </table>
      {git.diff && (
        <details className="jp-mlp-Diff" open={git.diff.length < 20000}>
          <summary>
            {git.truncated ? trans.__('Diff against HEAD (cut at its size limit)') : trans.__('Diff against HEAD')}
          </summary>
          <Highlighted code={git.diff} language="diff" rendermime={rendermime} />
        </details>
      )}
    </section>
  );
}
