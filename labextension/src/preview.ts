/**
 * How an artifact is previewed: what kind of file it is, how much of it to
 * fetch, and delimited text read into rows. No DOM here.
 */
import { IArtifact } from './api';

/** How a file shows: drawn, as a table, pretty JSON, plain text, or only its size and a download link. */
export type PreviewKind = 'image' | 'table' | 'json' | 'text' | 'binary';

/** Text, JSON and tables are previewed from their first 64 KB. */
export const TEXT_PREVIEW_BYTES = 64 * 1024;

/** Images larger than this are not drawn, only offered for download. */
export const IMAGE_PREVIEW_BYTES = 16 * 1024 * 1024;

/** Rows of a CSV/TSV preview drawn at most (the 64 KB usually holds fewer). */
export const TABLE_PREVIEW_ROWS = 500;

const IMAGE = new Set(['png', 'jpg', 'jpeg', 'gif', 'webp', 'svg', 'bmp', 'ico', 'avif']);
const TEXT = new Set([
  'txt', 'log', 'md', 'rst', 'py', 'r', 'sql', 'sh', 'yaml', 'yml', 'toml', 'ini', 'cfg', 'conf',
  'xml', 'html', 'htm', 'js', 'ts', 'css', 'out', 'err', 'jsonl', 'ndjson', 'properties', 'env'
]);

/** The extension of a path, lower case, without the dot ('' when none). */
export function extension(path: string): string {
  const name = path.slice(path.lastIndexOf('/') + 1);
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(dot + 1).toLowerCase() : '';
}

/**
 * The kind of preview a file gets, from the server's Content-Type when it
 * says something useful, else from the file's extension.
 */
export function previewKind(path: string, contentType = ''): PreviewKind {
  const ext = extension(path);
  const type = contentType.toLowerCase();
  if (type.startsWith('image/') || IMAGE.has(ext)) {
    return 'image';
  }
  if (ext === 'csv' || ext === 'tsv' || type === 'text/csv' || type === 'text/tab-separated-values') {
    return 'table';
  }
  if (ext === 'json' || ext === 'ipynb' || type === 'application/json') {
    return 'json';
  }
  if (type.startsWith('text/') || TEXT.has(ext) || name(path).toLowerCase() === 'mlmodel') {
    return 'text';
  }
  return 'binary';
}

function name(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** How many bytes a preview of this kind asks the server for (0: none, the file is not fetched). */
export function previewBytes(kind: PreviewKind): number {
  return kind === 'image' ? IMAGE_PREVIEW_BYTES : kind === 'binary' ? 0 : TEXT_PREVIEW_BYTES;
}

/**
 * Rows of delimited text (RFC 4180 quoting: `"a, b"`, `""` for a quote,
 * newlines inside quotes). When the text was cut (`truncated`), the last row
 * may be partial and is dropped. At most `maxRows` rows.
 */
export function parseDelimited(text: string, delimiter = ',', truncated = false, maxRows = TABLE_PREVIEW_ROWS): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let i = 0;
  const endRow = () => {
    row.push(field);
    field = '';
    if (!(row.length === 1 && row[0] === '')) {
      rows.push(row);
    }
    row = [];
  };
  while (i < text.length && rows.length <= maxRows) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
      } else {
        field += c;
      }
      i += 1;
      continue;
    }
    if (c === '"' && field === '') {
      quoted = true;
    } else if (c === delimiter) {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      endRow();
      if (c === '\r' && text[i + 1] === '\n') {
        i += 1;
      }
    } else {
      field += c;
    }
    i += 1;
  }
  const complete = i >= text.length;
  if (complete && (field !== '' || row.length)) {
    if (truncated) {
      row = [];
      field = '';
    } else {
      endRow();
    }
  }
  return rows.slice(0, maxRows);
}

/** A folder of the artifact tree: its path, how many files it holds (at any depth) and their bytes. */
export interface IArtifactFolder {
  path: string;
  name: string;
  files: number;
  size: number;
}

/** What one folder of the artifact tree shows: its sub-folders, then its files. */
export interface IFolderListing {
  folders: IArtifactFolder[];
  files: IArtifact[];
}

/** The entries of folder `prefix` ('' for the top) of a flat list of artifact paths. */
export function listFolder(artifacts: IArtifact[], prefix: string): IFolderListing {
  const base = prefix ? `${prefix.replace(/\/+$/, '')}/` : '';
  const folders = new Map<string, IArtifactFolder>();
  const files: IArtifact[] = [];
  for (const a of artifacts) {
    if (!a.path.startsWith(base)) {
      continue;
    }
    const rest = a.path.slice(base.length);
    const slash = rest.indexOf('/');
    if (slash < 0) {
      files.push(a);
      continue;
    }
    const folderName = rest.slice(0, slash);
    const folder = folders.get(folderName) ?? { path: base + folderName, name: folderName, files: 0, size: 0 };
    folder.files += 1;
    folder.size += a.size ?? 0;
    folders.set(folderName, folder);
  }
  const byName = (a: { path: string }, b: { path: string }) => a.path.localeCompare(b.path);
  return { folders: [...folders.values()].sort(byName), files: files.sort(byName) };
}
