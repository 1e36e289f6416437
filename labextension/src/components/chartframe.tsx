import * as React from 'react';
import { XAxis } from '../api';
import { dragRange, IScale, Range } from '../chart';

/**
 * What the run view's charts and the comparison's overlaid curves share: the
 * width of their grid, the step/time switch, the axes, and the overlay that reports the pointer and
 * zooms by dragging (double-click resets).
 */

/** Room around the plot for the tick labels. */
export const MARGIN = { top: 8, right: 14, bottom: 24, left: 58 };

/** A ref for an element and its width in pixels, kept as it resizes (0 until measured). */
export function useWidth<T extends HTMLElement>(): [React.RefObject<T>, number] {
  const ref = React.useRef<T>(null);
  const [width, setWidth] = React.useState(0);
  React.useLayoutEffect(() => {
    const node = ref.current;
    if (!node) {
      return;
    }
    setWidth(node.clientWidth);
    const observer = new ResizeObserver(() => setWidth(node.clientWidth));
    observer.observe(node);
    return () => observer.disconnect();
  }, []);
  return [ref, width];
}

/** Horizontal grid lines with their labels, and the x labels along the bottom. */
export function Axes(props: {
  sx: IScale;
  sy: IScale;
  width: number;
  height: number;
  yTicks: [number, string][];
  xTicks: [number, string][];
}): JSX.Element {
  const { sx, sy, width, height } = props;
  return (
    <g className="jp-mlp-Chart-grid">
      {props.yTicks.map(([t, label]) => (
        <g key={`y${t}`}>
          <line x1={MARGIN.left} x2={width - MARGIN.right} y1={sy(t)} y2={sy(t)} />
          <text className="jp-mlp-Chart-tick" x={MARGIN.left - 6} y={sy(t) + 4} textAnchor="end">
            {label}
          </text>
        </g>
      ))}
      {props.xTicks.map(([t, label]) => (
        <text key={`x${t}`} className="jp-mlp-Chart-tick" x={sx(t)} y={height - 6} textAnchor="middle">
          {label}
        </text>
      ))}
    </g>
  );
}

/**
 * The plot area's pointer: `onHover` gets the x pixel under the pointer (null
 * when it leaves, or while dragging); a drag draws a brush and zooms to its
 * range; a double-click resets the zoom.
 */
export function ZoomOverlay(props: {
  sx: IScale;
  width: number;
  height: number;
  onHover: (px: number | null) => void;
  onZoom: (range: Range) => void;
  onReset: () => void;
}): JSX.Element {
  const { sx, width, height, onHover } = props;
  const [drag, setDrag] = React.useState<{ from: number; to: number } | null>(null);
  const clamp = (px: number) => Math.max(MARGIN.left, Math.min(width - MARGIN.right, px));
  const pointerX = (e: React.PointerEvent) => clamp(e.clientX - (e.currentTarget as Element).getBoundingClientRect().left + MARGIN.left);
  return (
    <>
      {drag && (
        <rect
          className="jp-mlp-Chart-brush"
          x={Math.min(drag.from, drag.to)}
          y={MARGIN.top}
          width={Math.abs(drag.to - drag.from)}
          height={height - MARGIN.top - MARGIN.bottom}
        />
      )}
      <rect
        className="jp-mlp-Chart-overlay"
        x={MARGIN.left}
        y={MARGIN.top}
        width={Math.max(0, width - MARGIN.left - MARGIN.right)}
        height={height - MARGIN.top - MARGIN.bottom}
        onPointerDown={e => {
          (e.currentTarget as Element).setPointerCapture(e.pointerId);
          const px = pointerX(e);
          setDrag({ from: px, to: px });
          onHover(null);
        }}
        onPointerMove={e => {
          const px = pointerX(e);
          if (drag) {
            setDrag({ ...drag, to: px });
          } else {
            onHover(px);
          }
        }}
        onPointerUp={e => {
          if (drag) {
            const px = pointerX(e);
            const range = dragRange(sx, drag.from, px);
            setDrag(null);
            onHover(px);
            if (range) {
              props.onZoom(range);
            }
          }
        }}
        onPointerLeave={() => onHover(null)}
        onDoubleClick={() => props.onReset()}
      />
    </>
  );
}

/** Step or time on the x axis, as two buttons; `labels` names them and the group. */
export function AxisSwitch(props: {
  axis: XAxis;
  onChange: (axis: XAxis) => void;
  labels: { group: string; step: string; time: string };
}): JSX.Element {
  const { axis, labels } = props;
  return (
    <span className="jp-mlp-Segmented" role="group" aria-label={labels.group}>
      {(['step', 'time'] as XAxis[]).map(a => (
        <button
          key={a}
          className={`jp-mlp-Segmented-button${axis === a ? ' jp-mod-selected' : ''}`}
          aria-pressed={axis === a}
          data-axis={a}
          onClick={() => props.onChange(a)}
        >
          {a === 'step' ? labels.step : labels.time}
        </button>
      ))}
    </span>
  );
}
