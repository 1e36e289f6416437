import { describe, expect, it } from 'vitest';
import { linkedRun } from '../src/links';

const ID = '0123456789abcdef0123456789abcdef';

function link(attrs: Record<string, string>) {
  return { getAttribute: (name: string) => attrs[name] ?? null };
}

describe('linkedRun', () => {
  it('reads the run of a %mlp show link from its data attribute first', () => {
    expect(linkedRun(link({ 'data-mlp-run': ID, class: 'jp-mlp-open-run', href: '#' }))).toBe(ID);
  });

  it('reads it from a class when the sanitizer dropped the data attribute', () => {
    expect(linkedRun(link({ class: `jp-mlp-open-run jp-mlp-run-${ID}` }))).toBe(ID);
  });

  it('reads it from an href, also once JupyterLab rewrote it to a file URL', () => {
    expect(linkedRun(link({ href: `#mlp-run=${ID}` }))).toBe(ID);
    expect(linkedRun(link({ href: `http://h/files/%23mlp-run%3D${ID}?_xsrf=2%7Cab` }))).toBe(ID);
    expect(linkedRun(link({ href: '#mlp-run=@latest' }))).toBe('@latest');
  });

  it('names no run for a link without one', () => {
    expect(linkedRun(link({ class: 'jp-mlp-open-run', href: 'http://h/files/%23?_xsrf=1' }))).toBeNull();
    expect(linkedRun(link({ href: '%E0%A4%A' }))).toBeNull();
  });
});
