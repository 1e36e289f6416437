import { describe, expect, it } from 'vitest';
import {
  dragRange,
  extent,
  extentWithin,
  formatTick,
  linearTicks,
  linePath,
  logTicks,
  nearestIndex,
  pad,
  scale,
  timeTicks
} from '../src/chart';

describe('chart geometry', () => {
  it('takes the extent of the drawable values only', () => {
    expect(extent([3, NaN, -1, Infinity, 2])).toEqual([-1, 3]);
    expect(extent([0, -2, 5, 0.1], true)).toEqual([0.1, 5]);
    expect(extent([NaN])).toBeNull();
    expect(extent([-1, 0], true)).toBeNull();
  });

  it('takes the y extent within a zoomed x range', () => {
    expect(extentWithin([0, 1, 2, 3], [9, 1, 2, 8], [1, 2])).toEqual([1, 2]);
    expect(extentWithin([0, 1], [9, 1], [5, 6])).toBeNull();
  });

  it('widens a constant range by its magnitude, and zero by one', () => {
    const [lo, hi] = pad([0.3, 0.3]);
    expect(lo).toBeLessThan(0.3);
    expect(hi).toBeGreaterThan(0.3);
    expect(hi - lo).toBeCloseTo(0.03);
    expect(pad([0, 0])).toEqual([-1, 1]);
    const [a, b] = pad([0.30000000000000004, 0.3 + 1e-17]);
    expect(linearTicks(a, b).length).toBeGreaterThan(1);
  });

  it('maps data to pixels and back, linear and log', () => {
    const s = scale([0, 10], [0, 100]);
    expect(s(5)).toBe(50);
    expect(s.invert(25)).toBe(2.5);
    const l = scale([1, 100], [100, 0], true);
    expect(l(10)).toBeCloseTo(50);
    expect(l.invert(50)).toBeCloseTo(10);
  });

  it('puts round ticks inside the range and never too many', () => {
    expect(linearTicks(0, 1, 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(linearTicks(-0.3, 0.3, 3)).toEqual([-0.2, 0, 0.2]);
    expect(linearTicks(5, 5)).toEqual([5]);
    expect(linearTicks(0, 1e300, 1e9).length).toBeLessThanOrEqual(50);
    expect(linearTicks(NaN, 1)).toEqual([]);
  });

  it('puts log ticks at powers of ten, linear ones within a decade', () => {
    expect(logTicks(0.001, 10, 5)).toEqual([0.001, 0.01, 0.1, 1, 10]);
    expect(logTicks(2, 8, 3).every(t => t >= 2 && t <= 8)).toBe(true);
    expect(logTicks(-1, 10)).toEqual([]);
  });

  it('keeps ticks of a sub-second span of epoch seconds apart', () => {
    const ticks = linearTicks(1795933960.875915, 1795933960.8823965, 6);
    expect(ticks.length).toBeGreaterThan(3);
    expect(new Set(ticks).size).toBe(ticks.length);
    expect(ticks.every(t => t >= 1795933960.875915 && t <= 1795933960.8823965)).toBe(true);
  });

  it('labels log ticks by their value', () => {
    expect(formatTick(1e-4, [1e-4, 1e-2, 1], true)).toBe('1e-4');
    expect(formatTick(0.01, [1e-4, 1e-2, 1], true)).toBe('0.01');
    expect(formatTick(100, [1, 100], true)).toBe('100');
  });

  it('puts time ticks on round seconds and minutes', () => {
    const t0 = 1_700_000_000;
    const ticks = timeTicks(t0, t0 + 600, 5);
    expect(ticks.length).toBeGreaterThanOrEqual(3);
    expect(ticks.every(t => t % 60 === 0)).toBe(true);
  });

  it('writes tick labels with the digits the spacing needs', () => {
    expect(formatTick(0.25, [0, 0.05])).toBe((0.25).toLocaleString(undefined, { maximumFractionDigits: 2 }));
    expect(formatTick(2e7, [0, 1e7])).toBe('2.0e7');
  });

  it('breaks the line at points it cannot draw instead of bending it', () => {
    const sx = scale([0, 3], [0, 30]);
    const sy = scale([1, 1000], [30, 0], true);
    expect(linePath([0, 1, 2, 3], [1, 10, -5, 1000], sx, sy)).toBe('M0,30L10,20M30,0');
    const lin = scale([0, 1], [0, 10]);
    expect(linePath([0, 1], [NaN, 1], lin, lin)).toBe('M10,10');
  });

  it('finds the point nearest the pointer', () => {
    const xs = [0, 10, 20, 30];
    expect(nearestIndex(xs, 14)).toBe(1);
    expect(nearestIndex(xs, 16)).toBe(2);
    expect(nearestIndex(xs, -5)).toBe(0);
    expect(nearestIndex(xs, 99)).toBe(3);
    expect(nearestIndex([], 1)).toBe(-1);
    expect(nearestIndex(xs, NaN)).toBe(-1);
  });

  it('turns a drag into an ordered range, ignoring a click', () => {
    const s = scale([0, 100], [0, 200]);
    expect(dragRange(s, 100, 40)).toEqual([20, 50]);
    expect(dragRange(s, 100, 102)).toBeNull();
  });
});
