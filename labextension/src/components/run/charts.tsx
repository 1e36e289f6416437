import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';
import { IMetricSummary, XAxis } from '../../api';
import {
  drawable,
  extent,
  extentWithin,
  formatTick,
  formatTimeTick,
  IScale,
  linearTicks,
  linePath,
  logTicks,
  nearestIndex,
  pad,
  Range,
  scale,
  timeTicks
} from '../../chart';
import { formatCount, formatDateTime, formatValue } from '../../format';
import { Axes, AxisSwitch, MARGIN, useWidth, ZoomOverlay } from '../chartframe';
import { IChart, MAX_CHARTS, RunModel } from '../../runmodel';

const HEIGHT = 200;
const GAP = 12;
let clipCounter = 0;

/** How many charts sit side by side in a grid this wide. */
function columnsFor(width: number, charts: number): number {
  const cols = width >= 1150 ? 3 : width >= 760 ? 2 : 1;
  return Math.max(1, Math.min(cols, charts));
}

/**
 * The run's metric charts: step or time axis and log scale for all of them;
 * each chart zooms by dragging (the server sends the visible range in full
 * detail) and resets by double-click.
 */
export function ChartGrid(props: { model: RunModel; trans: TranslationBundle }): JSX.Element {
  const { model, trans } = props;
  const [ref, width] = useWidth<HTMLDivElement>();
  const charts = model.charts;
  const cols = columnsFor(width, charts.length);
  const chartWidth = Math.max(200, Math.floor((width - GAP * (cols - 1)) / cols));
  React.useEffect(() => {
    if (width > 0 && charts.length) {
      model.showCharts(chartWidth - MARGIN.left - MARGIN.right);
    }
  }, [width, chartWidth, charts.length, model]);
  const metrics = model.run?.metrics ?? {};
  return (
    <section className="jp-mlp-Charts" aria-label={trans.__('Metric charts')}>
      <div className="jp-mlp-Charts-toolbar">
        <AxisSwitch
          axis={model.axis}
          onChange={axis => model.setAxis(axis)}
          labels={{ group: trans.__('X axis'), step: trans.__('Step'), time: trans.__('Time') }}
        />
        <label className="jp-mlp-Check">
          <input type="checkbox" checked={model.log} onChange={e => model.setLog(e.target.checked)} />
          {trans.__('Log scale')}
        </label>
        <span className="jp-mlp-muted">
          {trans.__('Drag across a chart to zoom in; double-click to zoom out.')}
        </span>
      </div>
      <div ref={ref} className="jp-mlp-Charts-grid" style={{ gridTemplateColumns: `repeat(${cols}, minmax(0, 1fr))` }}>
        {width > 0 &&
          charts.map(chart => (
            <Chart
              key={chart.key}
              chart={chart}
              summary={metrics[chart.key] ?? null}
              width={chartWidth}
              axis={model.axis}
              log={model.log}
              trans={trans}
              onZoom={range => model.zoom(chart.key, range)}
              onReset={() => model.resetZoom(chart.key)}
            />
          ))}
      </div>
      {charts.length === 0 && (
        <div className="jp-mlp-State" role="status">
          <p className="jp-mlp-State-title">{trans.__('No metric charted')}</p>
          <p className="jp-mlp-muted">
            {model.metricKeys.length
              ? trans.__('Tick metrics in the table to chart them (up to %1).', MAX_CHARTS)
              : trans.__('This run logged no metrics. Log some with mlp.log_metric("loss", value, step=i) and they chart here.')}
          </p>
        </div>
      )}
    </section>
  );
}

interface IChartProps {
  chart: IChart;
  summary: IMetricSummary | null;
  width: number;
  axis: XAxis;
  log: boolean;
  trans: TranslationBundle;
  onZoom: (range: Range) => void;
  onReset: () => void;
}

/** The scales and the line of one chart, or why there is nothing to draw. */
interface IGeometry {
  sx: IScale;
  sy: IScale;
  path: string;
  xTicks: number[];
  yTicks: number[];
  /** The points as dots too, when there are few (a single point draws no line). */
  markers: [number, number][];
}

/** Dots are drawn when a chart has at most this many points. */
const MARKERS_UP_TO = 60;

function geometry(chart: IChart, width: number, axis: XAxis, log: boolean): IGeometry | null {
  const series = chart.series;
  if (!series || series.x.length === 0) {
    return null;
  }
  const xs = series.x;
  const ys = series.y;
  const xData = extent(xs);
  const xDomain = chart.zoom ?? xData;
  const yData = extentWithin(xs, ys, chart.zoom, log);
  if (!xDomain || !yData) {
    return null;
  }
  const x = xDomain[1] > xDomain[0] ? xDomain : pad(xDomain);
  const y = pad(yData, log);
  const sx = scale(x, [MARGIN.left, width - MARGIN.right]);
  const sy = scale(y, [HEIGHT - MARGIN.bottom, MARGIN.top], log);
  // wall-clock labels are wider than step numbers
  const ticksX = Math.max(2, Math.floor((width - MARGIN.left - MARGIN.right) / (axis === 'time' ? 140 : 90)));
  const xTicks = axis === 'time' ? timeTicks(x[0], x[1], ticksX) : linearTicks(x[0], x[1], ticksX);
  const yTicks = log ? logTicks(y[0], y[1], 4) : linearTicks(y[0], y[1], 4);
  const markers: [number, number][] = [];
  if (xs.length <= MARKERS_UP_TO) {
    xs.forEach((v, i) => {
      if (drawable(v) && drawable(ys[i], log) && (!chart.zoom || (v >= chart.zoom[0] && v <= chart.zoom[1]))) {
        markers.push([sx(v), sy(ys[i])]);
      }
    });
  }
  return { sx, sy, path: linePath(xs, ys, sx, sy), xTicks, yTicks, markers };
}

/** The x tick labels, each once (ticks closer than the labels' precision would repeat one). */
function xLabels(ticks: number[], axis: XAxis): [number, string][] {
  const out: [number, string][] = [];
  for (const t of ticks) {
    const label = axis === 'time' ? formatTimeTick(t, ticks) : formatTick(t, ticks);
    if (out.length === 0 || out[out.length - 1][1] !== label) {
      out.push([t, label]);
    }
  }
  return out;
}

/** One metric: a line, axes, a hover readout, drag to zoom, double-click to reset. */
export function Chart(props: IChartProps): JSX.Element {
  const { chart, summary, width, axis, log, trans } = props;
  const geo = React.useMemo(() => geometry(chart, width, axis, log), [chart, width, axis, log]);
  const [hover, setHover] = React.useState<number | null>(null);
  // unique in the document: every run view is its own React root, so React.useId would repeat
  const clipId = React.useRef(`jp-mlp-clip-${++clipCounter}`).current;
  const series = chart.series;

  let readout: JSX.Element | null = null;
  if (geo && series && hover !== null) {
    const i = nearestIndex(series.x, geo.sx.invert(hover));
    if (i >= 0) {
      const x = series.x[i];
      const y = series.y[i];
      const px = geo.sx(x);
      const py = drawable(y, log) ? geo.sy(y) : null;
      readout = (
        <>
          <line className="jp-mlp-Chart-cursor" x1={px} x2={px} y1={MARGIN.top} y2={HEIGHT - MARGIN.bottom} />
          {py !== null && <circle className="jp-mlp-Chart-dot" cx={px} cy={py} r={3} />}
          <text
            className="jp-mlp-Chart-readout"
            x={px > width / 2 ? px - 6 : px + 6}
            y={MARGIN.top + 12}
            textAnchor={px > width / 2 ? 'end' : 'start'}
          >
            {`${axis === 'step' ? trans.__('step %1', formatCount(x)) : formatDateTime(x)}: ${formatValue(y)}`}
          </text>
        </>
      );
    }
  }

  return (
    <figure className="jp-mlp-Chart" data-mlp-metric={chart.key} aria-busy={chart.status === 'loading'}>
      <figcaption className="jp-mlp-Chart-header">
        <span className="jp-mlp-Chart-title" title={chart.key}>
          {chart.key}
        </span>
        {summary && (
          <span className="jp-mlp-Chart-summary" title={trans.__('last · min … max')}>
            {formatValue(summary.last)}
            <span className="jp-mlp-muted">
              {' '}
              ({formatValue(summary.min)} … {formatValue(summary.max)})
            </span>
          </span>
        )}
        {chart.status === 'loading' && <span className="jp-mlp-Spinner jp-mlp-Spinner-small" />}
      </figcaption>
      {chart.status === 'error' && chart.error ? (
        <div className="jp-mlp-Chart-message jp-mlp-mod-error" role="alert">
          {trans.__('Could not load the points: %1', chart.error.message)}
        </div>
      ) : !geo ? (
        <div className="jp-mlp-Chart-message" style={{ height: HEIGHT }}>
          {chart.status === 'loading'
            ? trans.__('Loading points…')
            : series && series.x.length && log
              ? trans.__('Nothing to draw on a log scale: every value is ≤ 0.')
              : chart.zoom
                ? trans.__('No points in this range; double-click to zoom out.')
                : trans.__('No finite points to draw.')}
        </div>
      ) : (
        <svg className="jp-mlp-Chart-svg" width={width} height={HEIGHT} role="img" aria-label={chart.key}>
          <Axes
            sx={geo.sx}
            sy={geo.sy}
            width={width}
            height={HEIGHT}
            yTicks={geo.yTicks.map(t => [t, formatTick(t, geo.yTicks, log)])}
            xTicks={xLabels(geo.xTicks, axis)}
          />
          <clipPath id={clipId}>
            <rect x={MARGIN.left} y={0} width={width - MARGIN.left - MARGIN.right} height={HEIGHT - MARGIN.bottom} />
          </clipPath>
          <path className="jp-mlp-Chart-line" d={geo.path} clipPath={`url(#${clipId})`} />
          {geo.markers.map(([cx, cy], i) => (
            <circle key={i} className="jp-mlp-Chart-marker" cx={cx} cy={cy} r={2.5} />
          ))}
          {readout}
          <ZoomOverlay sx={geo.sx} width={width} height={HEIGHT} onHover={setHover} onZoom={props.onZoom} onReset={props.onReset} />
        </svg>
      )}
      <ChartFooter chart={chart} axis={axis} trans={trans} onReset={props.onReset} />
    </figure>
  );
}

/** How many points are drawn of how many there are, what was left out, and the zoom. */
function ChartFooter(props: { chart: IChart; axis: XAxis; trans: TranslationBundle; onReset: () => void }): JSX.Element | null {
  const { chart, axis, trans } = props;
  const series = chart.series;
  if (!series) {
    return null;
  }
  const shown = series.x.length;
  const fmt = (v: number) => (axis === 'time' ? formatDateTime(v) : formatCount(v));
  return (
    <div className="jp-mlp-Chart-footer">
      <span className="jp-mlp-Chart-points" data-count={series.count} data-shown={shown}>
        {series.downsampled
          ? trans.__('%1 of %2 points (downsampled)', formatCount(shown), formatCount(series.count))
          : trans._n('%2 point', '%2 points', series.count, formatCount(series.count))}
      </span>
      {series.nonfinite > 0 && (
        <span className="jp-mlp-Chart-nonfinite">
          {trans._n('%1 NaN/inf point not drawn', '%1 NaN/inf points not drawn', series.nonfinite)}
        </span>
      )}
      {chart.zoom && (
        <span className="jp-mlp-Chart-zoom">
          {trans.__('zoomed to %1 – %2', fmt(chart.zoom[0]), fmt(chart.zoom[1]))}{' '}
          <button className="jp-mlp-LinkButton" onClick={props.onReset}>
            {trans.__('reset')}
          </button>
        </span>
      )}
    </div>
  );
}
