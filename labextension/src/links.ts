/**
 * Links to a run view from notebook outputs (`%mlp show`): any element
 * `<a class="jp-mlp-open-run">` that names a run. Untrusted outputs lose data
 * attributes to JupyterLab's sanitizer and get their `href` rewritten to a
 * file URL, so the run may be named three ways, tried in this order:
 * `data-mlp-run="ID"`, a class `jp-mlp-run-ID`, or `mlp-run=ID` in the href.
 */

/** The selector of such links (a delegated listener matches it). */
export const OPEN_RUN_LINK = '.jp-mlp-open-run';

/** What of an element the lookup reads: `Element` has it, and so do test doubles. */
export interface IAttributes {
  getAttribute(name: string): string | null;
}

/** The run a link opens, or null when it names none. */
export function linkedRun(link: IAttributes): string | null {
  const data = link.getAttribute('data-mlp-run');
  if (data) {
    return data;
  }
  const cls = /(?:^|\s)jp-mlp-run-([0-9a-f]{32})(?:\s|$)/.exec(link.getAttribute('class') ?? '');
  if (cls) {
    return cls[1];
  }
  let href = link.getAttribute('href') ?? '';
  try {
    href = decodeURIComponent(href);
  } catch {
    // a malformed escape: read it as it is
  }
  const match = /mlp-run=([\w@~.-]+)/.exec(href);
  return match ? match[1] : null;
}
