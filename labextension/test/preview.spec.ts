import { describe, expect, it } from 'vitest';
import { listFolder, parseDelimited, previewBytes, previewKind } from '../src/preview';

describe('artifact previews', () => {
  it('picks the preview by content type, else by extension', () => {
    expect(previewKind('plots/roc.png')).toBe('image');
    expect(previewKind('a/b', 'image/svg+xml')).toBe('image');
    expect(previewKind('data.CSV')).toBe('table');
    expect(previewKind('data.tsv')).toBe('table');
    expect(previewKind('metrics.json')).toBe('json');
    expect(previewKind('train.log')).toBe('text');
    expect(previewKind('notes', 'text/plain')).toBe('text');
    expect(previewKind('model/MLmodel')).toBe('text');
    expect(previewKind('model.pkl')).toBe('binary');
    expect(previewBytes('binary')).toBe(0);
    expect(previewBytes('text')).toBe(64 * 1024);
  });

  it('reads CSV with quotes, escaped quotes, CRLF and newlines in fields', () => {
    const text = 'name,note\r\n"a, b","say ""hi"""\r\nc,"two\nlines"\r\n';
    expect(parseDelimited(text)).toEqual([
      ['name', 'note'],
      ['a, b', 'say "hi"'],
      ['c', 'two\nlines']
    ]);
    expect(parseDelimited('x\ty\n1\t2', '\t')).toEqual([
      ['x', 'y'],
      ['1', '2']
    ]);
  });

  it('drops the partial last row of a cut file and stops at the row limit', () => {
    expect(parseDelimited('a,b\n1,2\n3,', ',', true)).toEqual([
      ['a', 'b'],
      ['1', '2']
    ]);
    const many = Array.from({ length: 1000 }, (_, i) => `${i}`).join('\n');
    expect(parseDelimited(many, ',', false, 10)).toHaveLength(10);
  });

  it('lists one folder of a flat artifact list: folders with their file counts, then files', () => {
    const art = (path: string, size = 1) => ({ path, size, digest: null, created_at: null });
    const all = [art('roc.png', 5), art('data/train.csv', 2), art('data/test.csv', 3), art('data/raw/x.bin'), art('model/MLmodel')];
    const top = listFolder(all, '');
    expect(top.folders.map(f => [f.name, f.files, f.size])).toEqual([
      ['data', 3, 6],
      ['model', 1, 1]
    ]);
    expect(top.files.map(f => f.path)).toEqual(['roc.png']);
    const data = listFolder(all, 'data/');
    expect(data.folders.map(f => f.path)).toEqual(['data/raw']);
    expect(data.files.map(f => f.path)).toEqual(['data/test.csv', 'data/train.csv']);
  });
});
