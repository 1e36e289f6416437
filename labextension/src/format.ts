/** How values read in a narrow sidebar: short, exact where it matters, full text in titles. */

/** A duration in seconds: `850 ms`, `12.3 s`, `4 m 05 s`, `2 h 03 m`, `3 d 04 h`. */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) {
    return '';
  }
  if (seconds < 1) {
    return `${Math.round(seconds * 1000)} ms`;
  }
  if (seconds < 60) {
    return `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)} s`;
  }
  const pad = (n: number) => String(n).padStart(2, '0');
  const s = Math.floor(seconds);
  if (s < 3600) {
    return `${Math.floor(s / 60)} m ${pad(s % 60)} s`;
  }
  if (s < 86400) {
    return `${Math.floor(s / 3600)} h ${pad(Math.floor((s % 3600) / 60))} m`;
  }
  return `${Math.floor(s / 86400)} d ${pad(Math.floor((s % 86400) / 3600))} h`;
}

/** A start time (epoch seconds): the time of day today, else the date and time. */
export function formatTime(epoch: number | null | undefined, now: Date = new Date()): string {
  if (epoch === null || epoch === undefined || !Number.isFinite(epoch)) {
    return '';
  }
  const d = new Date(epoch * 1000);
  const time = d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
  if (d.toDateString() === now.toDateString()) {
    return time;
  }
  const date = d.toLocaleDateString(undefined, {
    month: 'short',
    day: 'numeric',
    ...(d.getFullYear() === now.getFullYear() ? {} : { year: 'numeric' })
  });
  return `${date} ${time}`;
}

/** A metric or param value: numbers to 4 significant digits, NaN and ±inf spelled out. */
export function formatValue(value: unknown): string {
  if (value === null || value === undefined) {
    return '';
  }
  if (typeof value === 'number') {
    if (Number.isNaN(value)) {
      return 'NaN';
    }
    if (!Number.isFinite(value)) {
      return value > 0 ? '∞' : '-∞';
    }
    if (Number.isInteger(value) && Math.abs(value) < 1e7) {
      return String(value);
    }
    const abs = Math.abs(value);
    if (abs !== 0 && (abs < 1e-3 || abs >= 1e7)) {
      return value.toExponential(3);
    }
    return String(Number(value.toPrecision(4)));
  }
  if (typeof value === 'string') {
    return value;
  }
  return JSON.stringify(value);
}

/** A size in bytes: `812 B`, `1.5 KB`, `23 MB` (powers of 1024, as file browsers show). */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes) || bytes < 0) {
    return '';
  }
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

/** A full date and time (epoch seconds) in the user's locale, seconds included. */
export function formatDateTime(epoch: number | null | undefined): string {
  if (epoch === null || epoch === undefined || !Number.isFinite(epoch)) {
    return '';
  }
  return new Date(epoch * 1000).toLocaleString(undefined, {
    year: 'numeric',
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit'
  });
}

/** A count with the locale's thousands separators: `1,000,000`. */
export function formatCount(n: number | null | undefined): string {
  return n === null || n === undefined || !Number.isFinite(n) ? '' : Math.round(n).toLocaleString();
}

/**
 * A path as the Jupyter server's contents know it: relative to its root
 * directory (`serverRoot`); null when the path lies outside it. Relative
 * paths are taken as relative already.
 */
export function serverPath(path: string, root: string): string | null {
  const p = path.replace(/\\/g, '/');
  if (!p.startsWith('/') && !/^[A-Za-z]:\//.test(p)) {
    return p.replace(/^\.\//, '');
  }
  const r = root.replace(/\\/g, '/').replace(/\/+$/, '');
  if (!r || r.startsWith('~')) {
    return null;
  }
  return p.startsWith(`${r}/`) ? p.slice(r.length + 1) : null;
}
