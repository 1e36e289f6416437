import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';
import { IDiff, IDiffCurve, IDiffMetric, IDiffMetricRun, XAxis } from '../../api';
import {
  drawable,
  extent,
  extentWithin,
  formatTick,
  linearTicks,
  linePath,
  nearestIndex,
  pad,
  Range,
  scale
} from '../../chart';
import { formatCount, formatDuration, formatValue } from '../../format';
import { Axes, AxisSwitch, MARGIN, useWidth, ZoomOverlay } from '../chartframe';
import { IDiffProps, RunLabel, runColor } from './values';

/** Where metrics are read, as the server's `at`: its label in the picker. */
function atLabel(diff: IDiff, trans: TranslationBundle): string {
  const at = diff.at;
  if (at.mode === 'best' && at.key) {
    return trans.__('at the best step of %1', at.key);
  }
  if (at.mode === 'step' && at.step !== null) {
    return trans.__('at step %1', formatCount(at.step));
  }
  return trans.__('last');
}

/** A signed difference: `+0.05`, `−0.04`; empty without one. */
export function formatDelta(delta: number | null): string {
  if (delta === null || Number.isNaN(delta)) {
    return '';
  }
  if (delta === 0) {
    return '±0';
  }
  return `${delta > 0 ? '+' : '−'}${formatValue(Math.abs(delta))}`;
}

/** Whether a delta is an improvement for a metric that is better `min` or `max` (null: neither). */
export function improves(delta: number | null, direction: 'min' | 'max'): boolean | null {
  if (delta === null || !Number.isFinite(delta) || delta === 0) {
    return null;
  }
  return direction === 'min' ? delta < 0 : delta > 0;
}

/** Where to read the metrics: last, the best step of a metric, a step. */
function AtPicker(props: IDiffProps): JSX.Element {
  const { model, diff, trans } = props;
  const mode = model.at === 'last' ? 'last' : model.at.startsWith('best:') ? model.at : 'step';
  const [step, setStep] = React.useState(/^\d+$/.test(model.at) ? model.at : '');
  return (
    <span className="jp-mlp-DiffAt">
      <label className="jp-mlp-Check">
        {trans.__('Compare values')}
        <select
          className="jp-mlp-DiffAt-select"
          value={mode}
          onChange={e => {
            const value = e.target.value;
            if (value !== 'step') {
              void model.setAt(value);
            } else if (step) {
              void model.setAt(step);
            }
          }}
        >
          <option value="last">{trans.__('at their last point')}</option>
          {diff.metrics.map(m => (
            <option key={m.key} value={`best:${m.key}`}>
              {trans.__('at the best step of %1', m.key)}
            </option>
          ))}
          <option value="step">{trans.__('at a step…')}</option>
        </select>
      </label>
      {mode === 'step' && (
        <form
          className="jp-mlp-DiffAt-step"
          onSubmit={e => {
            e.preventDefault();
            void model.setAt(step);
          }}
        >
          <input
            type="number"
            min={0}
            step={1}
            value={step}
            placeholder={trans.__('step')}
            aria-label={trans.__('Step to compare at')}
            onChange={e => setStep(e.target.value)}
          />
          <button className="jp-mlp-PagerButton" type="submit" disabled={!/^\d+$/.test(step)}>
            {trans.__('Compare')}
          </button>
        </form>
      )}
    </span>
  );
}

/** A metric's value of one kind on one run, with the step it was read at. */
function valueOf(r: IDiffMetricRun | null, kind: 'at' | 'last' | 'best'): { value: number | null; step: number | null } {
  if (!r) {
    return { value: null, step: null };
  }
  if (kind === 'at') {
    return { value: r.at, step: r.at_step };
  }
  if (kind === 'best') {
    return { value: r.best, step: r.best_step };
  }
  return { value: r.last, step: null };
}

/**
 * Every metric's value at `at` (when that is not the last point), last and
 * best on each run; for two runs the difference, coloured by whether it is
 * an improvement; the run best at `at` is marked.
 */
export function MetricsTable(props: IDiffProps): JSX.Element {
  const { model, diff, trans } = props;
  const two = diff.runs.length === 2;
  const kinds: ('at' | 'last' | 'best')[] = diff.at.mode === 'last' ? ['last', 'best'] : ['at', 'last', 'best'];
  const kindLabel = (kind: 'at' | 'last' | 'best') =>
    kind === 'at' ? atLabel(diff, trans) : kind === 'last' ? trans.__('last') : trans.__('best');
  return (
    <>
      <div className="jp-mlp-Charts-toolbar">
        <AtPicker model={model} diff={diff} trans={trans} />
      </div>
      <div className="jp-mlp-DiffScroll">
        <table className="jp-mlp-KV jp-mlp-DiffMetrics" aria-label={trans.__('Metrics')}>
          <thead>
            <tr>
              <th>{trans.__('Metric')}</th>
              <th />
              {diff.runs.map((run, i) => (
                <th key={run.id}>
                  <RunLabel run={run} index={i} />
                </th>
              ))}
              {two && <th title={trans.__('second run minus the baseline')}>{trans.__('Δ')}</th>}
              <th>{trans.__('Better')}</th>
            </tr>
          </thead>
          {diff.metrics.map(metric => (
            <tbody key={metric.key} data-metric={metric.key} data-status={metric.status} className={`jp-mlp-mod-${metric.status}`}>
              {kinds.map((kind, k) => (
                <tr key={kind} data-kind={kind}>
                  {k === 0 && (
                    <th rowSpan={kinds.length} title={metric.key}>
                      {metric.key}
                      <span
                        className="jp-mlp-muted jp-mlp-DiffDirection"
                        title={metric.direction === 'min' ? trans.__('lower is better') : trans.__('higher is better')}
                      >
                        {metric.direction === 'min' ? ' ↓' : ' ↑'}
                      </span>
                    </th>
                  )}
                  <td className="jp-mlp-muted">{kindLabel(kind)}</td>
                  {metric.runs.map((r, i) => {
                    const { value, step } = valueOf(r, kind);
                    const best = k === 0 && metric.better === i;
                    return (
                      <td
                        key={i}
                        className={`jp-mlp-DiffNumber${best ? ' jp-mlp-mod-better' : ''}`}
                        title={step !== null ? trans.__('at step %1', step) : undefined}
                      >
                        {value === null ? '—' : formatValue(value)}
                        {r && r.nonfinite > 0 && k === 0 && (
                          <span className="jp-mlp-muted" title={trans.__('points that are NaN or ±inf')}>
                            {' '}
                            {trans.__('(%1 NaN/inf)', r.nonfinite)}
                          </span>
                        )}
                      </td>
                    );
                  })}
                  {two && <DeltaCell metric={metric} kind={kind} />}
                  {k === 0 && (
                    <td rowSpan={kinds.length} className="jp-mlp-DiffBetter">
                      {metric.better !== null && diff.runs[metric.better] ? (
                        <RunLabel run={diff.runs[metric.better]} index={metric.better} />
                      ) : (
                        <span className="jp-mlp-muted">{trans.__('tie')}</span>
                      )}
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          ))}
        </table>
      </div>
    </>
  );
}

function DeltaCell(props: { metric: IDiffMetric; kind: 'at' | 'last' | 'best' }): JSX.Element {
  const { metric, kind } = props;
  const delta = metric.delta[kind];
  const good = improves(delta, metric.direction);
  return (
    <td className={`jp-mlp-DiffNumber jp-mlp-DiffDelta${good === null ? '' : good ? ' jp-mlp-mod-improved' : ' jp-mlp-mod-worse'}`}>
      {formatDelta(delta)}
    </td>
  );
}

const HEIGHT = 180;
const GAP = 12;
let clipCounter = 0;

/**
 * One chart per metric with every run's downsampled curve overlaid, by step
 * or by time since each run started; drag to zoom, double-click to reset.
 */
export function Curves(props: IDiffProps): JSX.Element | null {
  const { model, diff, trans } = props;
  const [ref, width] = useWidth<HTMLDivElement>();
  const keys = diff.metrics.map(m => m.key).filter(k => diff.curves.series[k]?.some(c => c && c.value.length));
  const cols = Math.max(1, Math.min(width >= 900 ? 2 : 1, keys.length));
  const chartWidth = Math.max(220, Math.floor((width - GAP * (cols - 1)) / cols));
  return (
    <section className="jp-mlp-Charts jp-mlp-DiffCurves" aria-label={trans.__('Metric curves')}>
      <div className="jp-mlp-Charts-toolbar">
        <AxisSwitch
          axis={model.axis}
          onChange={axis => model.setAxis(axis)}
          labels={{ group: trans.__('Align curves by'), step: trans.__('Step'), time: trans.__('Time since start') }}
        />
        <span className="jp-mlp-DiffLegend">
          {diff.runs.map((run, i) => (
            <RunLabel key={run.id} run={run} index={i} />
          ))}
        </span>
        <span className="jp-mlp-muted">{trans.__('Drag across a chart to zoom in; double-click to zoom out.')}</span>
      </div>
      <div ref={ref} className="jp-mlp-Charts-grid" style={{ gridTemplateColumns: `repeat(${cols}, minmax(0, 1fr))` }}>
        {width > 0 &&
          keys.map(key => (
            <OverlayChart
              key={`${key}:${model.axis}`}
              metric={key}
              curves={diff.curves.series[key]}
              width={chartWidth}
              axis={model.axis}
              trans={trans}
            />
          ))}
      </div>
      {keys.length === 0 && <p className="jp-mlp-muted">{trans.__('No metric has points to draw.')}</p>}
    </section>
  );
}

interface ILine {
  run: number;
  xs: number[];
  ys: number[];
}

function linesOf(curves: (IDiffCurve | null)[], axis: XAxis): ILine[] {
  return curves.flatMap((c, run) => (c && c.value.length ? [{ run, xs: axis === 'step' ? c.step : c.time, ys: c.value }] : []));
}

function tickLabel(value: number, ticks: number[], axis: XAxis): string {
  return axis === 'time' ? formatDuration(value) || '0' : formatTick(value, ticks);
}

/** One metric, one line per run in the run's colour, a readout of every run at the pointer. */
function OverlayChart(props: {
  metric: string;
  curves: (IDiffCurve | null)[];
  width: number;
  axis: XAxis;
  trans: TranslationBundle;
}): JSX.Element {
  const { metric, curves, width, axis, trans } = props;
  const [zoom, setZoom] = React.useState<Range | null>(null);
  const [hover, setHover] = React.useState<number | null>(null);
  const clipId = React.useRef(`jp-mlp-diffclip-${++clipCounter}`).current;
  const lines = React.useMemo(() => linesOf(curves, axis), [curves, axis]);
  const geo = React.useMemo(() => {
    const xData = extent(lines.flatMap(l => l.xs));
    const xDomain = zoom ?? xData;
    const ranges = lines.map(l => extentWithin(l.xs, l.ys, zoom)).filter((r): r is Range => r !== null);
    if (!xDomain || !ranges.length) {
      return null;
    }
    const x = xDomain[1] > xDomain[0] ? xDomain : pad(xDomain);
    const y = pad([Math.min(...ranges.map(r => r[0])), Math.max(...ranges.map(r => r[1]))]);
    const sx = scale(x, [MARGIN.left, width - MARGIN.right]);
    const sy = scale(y, [HEIGHT - MARGIN.bottom, MARGIN.top]);
    const xTicks = linearTicks(x[0], x[1], Math.max(2, Math.floor((width - MARGIN.left - MARGIN.right) / 90)));
    const yTicks = linearTicks(y[0], y[1], 4);
    return { sx, sy, xTicks, yTicks, paths: lines.map(l => ({ run: l.run, points: l.xs.length, d: linePath(l.xs, l.ys, sx, sy) })) };
  }, [lines, zoom, width]);

  let readout: JSX.Element | null = null;
  if (geo && hover !== null) {
    const x = geo.sx.invert(hover);
    const values = lines.map(l => {
      const i = nearestIndex(l.xs, x);
      return { run: l.run, y: i >= 0 ? l.ys[i] : NaN };
    });
    readout = (
      <>
        <line className="jp-mlp-Chart-cursor" x1={hover} x2={hover} y1={MARGIN.top} y2={HEIGHT - MARGIN.bottom} />
        {values.map(
          v =>
            drawable(v.y) && <circle key={v.run} className={`jp-mlp-DiffCurve-dot ${runColor(v.run)}`} cx={hover} cy={geo.sy(v.y)} r={3} />
        )}
        <text className="jp-mlp-Chart-readout" x={hover > width / 2 ? hover - 6 : hover + 6} y={MARGIN.top + 12} textAnchor={hover > width / 2 ? 'end' : 'start'}>
          {`${axis === 'step' ? trans.__('step %1', formatCount(x)) : formatDuration(x)}: ${values.map(v => formatValue(v.y)).join(' · ')}`}
        </text>
      </>
    );
  }

  return (
    <figure className="jp-mlp-Chart jp-mlp-DiffChart" data-mlp-metric={metric}>
      <figcaption className="jp-mlp-Chart-header">
        <span className="jp-mlp-Chart-title" title={metric}>
          {metric}
        </span>
        {zoom && (
          <button className="jp-mlp-LinkButton" onClick={() => setZoom(null)}>
            {trans.__('reset zoom')}
          </button>
        )}
      </figcaption>
      {!geo ? (
        <div className="jp-mlp-Chart-message" style={{ height: HEIGHT }}>
          {zoom ? trans.__('No points in this range; double-click to zoom out.') : trans.__('No finite points to draw.')}
        </div>
      ) : (
        <svg className="jp-mlp-Chart-svg" width={width} height={HEIGHT} role="img" aria-label={metric}>
          <Axes
            sx={geo.sx}
            sy={geo.sy}
            width={width}
            height={HEIGHT}
            yTicks={geo.yTicks.map(t => [t, formatTick(t, geo.yTicks)])}
            xTicks={geo.xTicks.map(t => [t, tickLabel(t, geo.xTicks, axis)])}
          />
          <clipPath id={clipId}>
            <rect x={MARGIN.left} y={0} width={width - MARGIN.left - MARGIN.right} height={HEIGHT - MARGIN.bottom} />
          </clipPath>
          {geo.paths.map(p => (
            <path
              key={p.run}
              className={`jp-mlp-DiffCurve-line ${runColor(p.run)}`}
              data-run={p.run}
              data-points={p.points}
              d={p.d}
              clipPath={`url(#${clipId})`}
            />
          ))}
          {readout}
          <ZoomOverlay sx={geo.sx} width={width} height={HEIGHT} onHover={setHover} onZoom={setZoom} onReset={() => setZoom(null)} />
        </svg>
      )}
    </figure>
  );
}
