import { describe, expect, it } from 'vitest';
import { formatBytes, formatCount, formatDuration, formatTime, formatValue, serverPath } from '../src/format';

describe('formatDuration', () => {
  it('reads at a glance from milliseconds to days', () => {
    expect(formatDuration(0.0425)).toBe('43 ms');
    expect(formatDuration(3.21)).toBe('3.2 s');
    expect(formatDuration(42.4)).toBe('42 s');
    expect(formatDuration(245)).toBe('4 m 05 s');
    expect(formatDuration(2 * 3600 + 180)).toBe('2 h 03 m');
    expect(formatDuration(3 * 86400 + 4 * 3600)).toBe('3 d 04 h');
  });

  it('shows nothing for a missing or nonsense duration', () => {
    expect(formatDuration(null)).toBe('');
    expect(formatDuration(NaN)).toBe('');
    expect(formatDuration(-1)).toBe('');
  });
});

describe('formatValue', () => {
  it('keeps 4 significant digits and spells out non-finite values', () => {
    expect(formatValue(0.123456)).toBe('0.1235');
    expect(formatValue(42)).toBe('42');
    expect(formatValue(1.5e-5)).toBe('1.500e-5');
    expect(formatValue(NaN)).toBe('NaN');
    expect(formatValue(Infinity)).toBe('∞');
    expect(formatValue(-Infinity)).toBe('-∞');
    expect(formatValue('adam')).toBe('adam');
    expect(formatValue(true)).toBe('true');
    expect(formatValue(undefined)).toBe('');
  });
});

describe('formatTime', () => {
  it('shows the time alone today and the date before', () => {
    const now = new Date(2026, 10, 29, 15, 0);
    const today = new Date(2026, 10, 29, 9, 30).getTime() / 1000;
    const earlier = new Date(2026, 10, 2, 9, 30).getTime() / 1000;
    expect(formatTime(today, now)).not.toMatch(/Nov/);
    expect(formatTime(earlier, now)).toMatch(/2/);
    expect(formatTime(earlier, now).length).toBeGreaterThan(formatTime(today, now).length);
  });
});

describe('serverPath', () => {
  it('makes a path under the server root relative, and refuses one outside it', () => {
    expect(serverPath('/home/priya/work/train.ipynb', '/home/priya')).toBe('work/train.ipynb');
    expect(serverPath('/home/priya/work/train.ipynb', '/home/priya/')).toBe('work/train.ipynb');
    expect(serverPath('/home/priyanka/train.ipynb', '/home/priya')).toBeNull();
    expect(serverPath('/tmp/x.ipynb', '~')).toBeNull();
    expect(serverPath('work/train.ipynb', '/home/priya')).toBe('work/train.ipynb');
    expect(serverPath('./train.ipynb', '')).toBe('train.ipynb');
    expect(serverPath('C:\\Users\\p\\a.ipynb', 'C:\\Users\\p')).toBe('a.ipynb');
  });
});

describe('formatBytes and formatCount', () => {
  it('writes sizes in powers of 1024 and counts with separators', () => {
    expect(formatBytes(812)).toBe('812 B');
    expect(formatBytes(1536)).toBe('1.5 KB');
    expect(formatBytes(23 * 1024 * 1024)).toBe('23 MB');
    expect(formatBytes(null)).toBe('');
    expect(formatCount(1_000_000)).toBe((1_000_000).toLocaleString());
    expect(formatCount(NaN)).toBe('');
  });
});
