import { describe, expect, it } from 'vitest';
import { formatDuration, formatTime, formatValue } from '../src/format';

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
