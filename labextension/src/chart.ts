/**
 * The geometry of the run view's metric charts, apart from drawing: extents,
 * scales, ticks, the SVG path of a line and the point nearest the pointer.
 * Pure functions, so the unit tests pin down the corner cases (a constant
 * metric, a log scale over values ≤ 0, NaN in the data, a zero-width zoom).
 */

export type Range = [number, number];

/** A map from data to pixels and back, linear or log10. */
export interface IScale {
  (value: number): number;
  readonly domain: Range;
  readonly range: Range;
  readonly log: boolean;
  invert(pixel: number): number;
}

/** The most ticks an axis draws, whatever the arithmetic says: a bad range never loops for long. */
const MAX_TICKS = 50;

/** Whether a value can be drawn: finite, and positive on a log scale. */
export function drawable(value: number, log = false): boolean {
  return Number.isFinite(value) && (!log || value > 0);
}

/** The smallest and largest drawable values, or null when there is none. */
export function extent(values: ArrayLike<number>, log = false): Range | null {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (drawable(v, log)) {
      if (v < lo) {
        lo = v;
      }
      if (v > hi) {
        hi = v;
      }
    }
  }
  return lo <= hi ? [lo, hi] : null;
}

/** The extent of `ys` over the points whose x falls in `xRange` (all points when null). */
export function extentWithin(xs: ArrayLike<number>, ys: ArrayLike<number>, xRange: Range | null, log = false): Range | null {
  if (!xRange) {
    return extent(ys, log);
  }
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < ys.length; i++) {
    const x = xs[i];
    const v = ys[i];
    if (x >= xRange[0] && x <= xRange[1] && drawable(v, log)) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
  }
  return lo <= hi ? [lo, hi] : null;
}

/**
 * Room around a range so a line never sits on the frame; a constant (or
 * nearly constant) range is widened by its magnitude, so ticks stay sane.
 */
export function pad(range: Range, log = false, fraction = 0.05): Range {
  let [lo, hi] = range;
  if (log) {
    const [a, b] = pad([Math.log10(lo), Math.log10(hi)], false, fraction);
    return [10 ** a, 10 ** b];
  }
  const magnitude = Math.max(Math.abs(lo), Math.abs(hi));
  const minWidth = magnitude > 0 ? magnitude * 1e-9 : 1e-9;
  if (hi - lo < minWidth) {
    const half = magnitude > 0 ? magnitude * 0.05 : 1;
    return [lo - half, hi + half];
  }
  const margin = (hi - lo) * fraction;
  lo -= margin;
  hi += margin;
  return [lo, hi];
}

/** A scale from `domain` to `range` pixels; on a log scale the domain must be positive. */
export function scale(domain: Range, range: Range, log = false): IScale {
  const t = log ? Math.log10 : (v: number) => v;
  const d0 = t(domain[0]);
  const d1 = t(domain[1]);
  const k = d1 === d0 ? 0 : (range[1] - range[0]) / (d1 - d0);
  const f = ((value: number) => range[0] + (t(value) - d0) * k) as IScale;
  Object.assign(f, {
    domain,
    range,
    log,
    invert: (pixel: number) => {
      const v = k === 0 ? d0 : d0 + (pixel - range[0]) / k;
      return log ? 10 ** v : v;
    }
  });
  return f;
}

/** About `count` round ticks (1, 2 or 5 × 10ⁿ apart) covering `lo`..`hi`. */
export function linearTicks(lo: number, hi: number, count = 5): number[] {
  if (!(Number.isFinite(lo) && Number.isFinite(hi)) || hi < lo) {
    return [];
  }
  if (hi === lo) {
    return [lo];
  }
  const step = niceStep((hi - lo) / Math.max(1, count));
  const first = Math.ceil(lo / step);
  // rounded to the step's digits (not to significant ones: 1.7e9 + 0.001 must stay apart)
  const decimals = Math.min(20, Math.max(0, Math.ceil(-Math.log10(step)) + 1));
  const ticks: number[] = [];
  for (let i = 0; i < MAX_TICKS; i++) {
    const v = (first + i) * step;
    if (v > hi + step * 1e-9) {
      break;
    }
    const tick = Math.abs(v) < step * 1e-9 ? 0 : Number(v.toFixed(decimals));
    if (ticks[ticks.length - 1] !== tick) {
      ticks.push(tick);
    }
  }
  return ticks;
}

function niceStep(rough: number): number {
  const power = 10 ** Math.floor(Math.log10(rough));
  const f = rough / power;
  return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * power;
}

/** Powers of ten in `lo`..`hi` (positive); linear ticks when the range spans less than a decade. */
export function logTicks(lo: number, hi: number, count = 5): number[] {
  if (!(lo > 0 && hi > 0) || !(Number.isFinite(lo) && Number.isFinite(hi)) || hi < lo) {
    return [];
  }
  const a = Math.ceil(Math.log10(lo) - 1e-9);
  const b = Math.floor(Math.log10(hi) + 1e-9);
  if (b - a < 1) {
    return linearTicks(lo, hi, count).filter(v => v > 0);
  }
  const every = Math.max(1, Math.ceil((b - a + 1) / Math.max(2, count)));
  const ticks: number[] = [];
  for (let e = a; e <= b && ticks.length < MAX_TICKS; e += every) {
    ticks.push(10 ** e);
  }
  return ticks;
}

const TIME_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800];

/** Ticks on a wall-clock axis (epoch seconds) at round seconds, minutes, hours or days. */
export function timeTicks(lo: number, hi: number, count = 5): number[] {
  if (!(Number.isFinite(lo) && Number.isFinite(hi)) || hi < lo) {
    return [];
  }
  const rough = (hi - lo) / Math.max(1, count);
  const step = TIME_STEPS.find(s => s >= rough);
  if (step === undefined) {
    return linearTicks(lo / 86400, hi / 86400, count).map(d => d * 86400);
  }
  if (rough < 1) {
    return linearTicks(lo, hi, count);
  }
  // round to the step in local time, so hours land on :00 in the user's zone
  const offset = step >= 3600 ? new Date(lo * 1000).getTimezoneOffset() * -60 : 0;
  const first = Math.ceil((lo + offset) / step) * step - offset;
  const ticks: number[] = [];
  for (let v = first; v <= hi && ticks.length < MAX_TICKS; v += step) {
    ticks.push(v);
  }
  return ticks;
}

/** A tick label with as many digits as the distance between ticks needs (on a log scale, the value's own). */
export function formatTick(value: number, ticks: number[], log = false): string {
  if (!Number.isFinite(value)) {
    return String(value);
  }
  const abs = Math.abs(value);
  if (abs !== 0 && (abs >= 1e6 || abs < 1e-4 || (log && abs < 1e-3))) {
    return value.toExponential(log ? 0 : 1).replace('e+', 'e');
  }
  if (log) {
    return String(Number(value.toPrecision(3)));
  }
  const step = ticks.length > 1 ? Math.abs(ticks[1] - ticks[0]) : abs;
  const decimals = step > 0 && step < 1 ? Math.min(10, Math.ceil(-Math.log10(step) - 1e-9)) : 0;
  return value.toLocaleString(undefined, { maximumFractionDigits: decimals, minimumFractionDigits: 0 });
}

/** A wall-clock tick label: the time of day, with the date when the axis spans days. */
export function formatTimeTick(epoch: number, ticks: number[]): string {
  const d = new Date(epoch * 1000);
  const span = ticks.length > 1 ? ticks[ticks.length - 1] - ticks[0] : 0;
  const step = ticks.length > 1 ? ticks[1] - ticks[0] : 0;
  if (span >= 86400) {
    return d.toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
  }
  const fraction = step > 0 && step < 1 ? Math.min(3, Math.ceil(-Math.log10(step) - 1e-9)) : 0;
  return d.toLocaleTimeString(undefined, {
    hour: '2-digit',
    minute: '2-digit',
    ...(step < 60 ? { second: '2-digit' } : {}),
    ...(fraction ? { fractionalSecondDigits: fraction as 1 | 2 | 3 } : {})
  });
}

/**
 * The SVG path of a line through the drawable points. A point that cannot be
 * drawn (NaN, ±inf, ≤ 0 on a log scale) breaks the line instead of bending it
 * to the frame. Coordinates are rounded to 0.1 px, which keeps the path short.
 */
export function linePath(xs: ArrayLike<number>, ys: ArrayLike<number>, sx: IScale, sy: IScale): string {
  const parts: string[] = [];
  let pen = false;
  const n = Math.min(xs.length, ys.length);
  for (let i = 0; i < n; i++) {
    const x = xs[i];
    const y = ys[i];
    if (!drawable(x, sx.log) || !drawable(y, sy.log)) {
      pen = false;
      continue;
    }
    parts.push(`${pen ? 'L' : 'M'}${round1(sx(x))},${round1(sy(y))}`);
    pen = true;
  }
  return parts.join('');
}

function round1(v: number): number {
  return Math.round(v * 10) / 10;
}

/** The index of the point whose x is nearest `x` in ascending `xs` (-1 when empty); NaN-safe. */
export function nearestIndex(xs: ArrayLike<number>, x: number): number {
  const n = xs.length;
  if (n === 0 || !Number.isFinite(x)) {
    return -1;
  }
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] < x) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  if (lo > 0 && Math.abs(xs[lo - 1] - x) <= Math.abs(xs[lo] - x)) {
    return lo - 1;
  }
  return lo;
}

/** A zoom range from two pixel positions of a drag, in data units, ordered; null when too narrow to mean it. */
export function dragRange(sx: IScale, fromPx: number, toPx: number, minPx = 4): Range | null {
  if (Math.abs(toPx - fromPx) < minPx) {
    return null;
  }
  const a = sx.invert(Math.min(fromPx, toPx));
  const b = sx.invert(Math.max(fromPx, toPx));
  return b > a ? [a, b] : null;
}
