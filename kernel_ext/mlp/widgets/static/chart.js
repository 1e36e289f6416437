// The live metric chart (LiveChart in chart.py): an SVG line chart drawn by hand, so it
// needs no network. The kernel sends downsampled series; legend toggles, smoothing, the
// log scale, the hover readout and zoom (drag across the plot, double-click to reset)
// all happen here, so they work while a training loop keeps the kernel busy.
//
// Each key's series: "x"/"y" the points kept (each bucket's first, last, lowest and highest),
// "n" the points logged, "mx"/"my" each bucket's middle step and mean (what smoothing
// averages), and "nonfinite" {count, step, value} once the key logged NaN or inf.
// While the run goes on, the kernel sends only the keys that changed, as messages
// {type: "series", changed}; the synced `series` is whole at the start and at the end.

const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
  "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];  // the same as _static.PALETTE
const SVG_NS = "http://www.w3.org/2000/svg";
const HEIGHT = 280;
const M = { l: 64, r: 16, t: 12, b: 30 };  // plot margins

function html(tag, cls, parent, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  if (parent) parent.appendChild(e);
  return e;
}

function svg(tag, attrs, parent) {
  const e = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (parent) parent.appendChild(e);
  return e;
}

export function fmt(v) {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e6 || a < 1e-3)) return v.toExponential(2).replace(/\.?0+e/, "e");
  return String(+v.toPrecision(4));
}

// About n round numbers between lo and hi: lo + i * step, never more than 2n + 2 of them
// (adding step to v again and again stops moving v once step is below v's rounding). A span
// too narrow for its magnitude to hold distinct round numbers gives just [lo].
export function ticks(lo, hi, n) {
  const span = hi - lo;
  n = Math.max(1, n);
  if (!(span > 0) || !Number.isFinite(span) || span <= tiny(lo, hi)) return [lo];
  const mag = 10 ** Math.floor(Math.log10(span / n));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => span / s <= n) || 10 * mag;
  const first = Math.ceil(lo / step);
  if (!Number.isFinite(first)) return [lo];  // a step below the smallest double
  const out = [];
  for (let i = 0; i <= 2 * n + 2; i++) {
    const v = (first + i) * step;
    if (v > hi + step * 1e-9) break;
    out.push(+v.toPrecision(12));
  }
  return out.length ? out : [lo];
}

// The narrowest span worth drawing between lo and hi: a few parts in a billion of their
// magnitude (values closer than that are the same to a tick label, and to a pixel).
function tiny(lo, hi) {
  return Math.max(Math.abs(lo), Math.abs(hi)) * 1e-9;
}

// [lo, hi] widened about its middle to at least `min` (and tiny(lo, hi)) wide: the x range of
// a series of one step, or of a zoom however often repeated.
export function atLeast(lo, hi, min) {
  const need = Math.max(min, tiny(lo, hi));
  if (hi - lo >= need) return [lo, hi];
  const mid = lo / 2 + hi / 2;
  return [mid - need / 2, mid + need / 2];
}

// The y range to draw for values from lo to hi: padded by 4%. A constant metric (which
// smoothing turns into values a few rounding errors apart) gets +-5% of its magnitude (+-1
// at 0), nothing drawn gets [0, 1].
export function yRange(lo, hi) {
  if (!Number.isFinite(lo) || !Number.isFinite(hi) || hi < lo) return [0, 1];
  if (hi - lo <= tiny(lo, hi)) {
    const mid = lo / 2 + hi / 2, pad = Math.abs(mid) * 0.05 || 1;
    lo = mid - pad;
    hi = mid + pad;
  }
  const pad = (hi - lo) * 0.04;
  return [lo - pad, hi + pad];
}

// Exponential moving average, debiased at the start (as TensorBoard smooths).
export function smooth(ys, weight) {
  if (!(weight > 0)) return ys;
  const out = new Array(ys.length);
  let acc = 0;
  for (let i = 0; i < ys.length; i++) {
    acc = acc * weight + (1 - weight) * ys[i];
    out[i] = acc / (1 - weight ** (i + 1));
  }
  return out;
}

// "NaN since step 12" for a key that logged NaN or inf (from the lowest such step), else "".
export function nonfiniteNote(s) {
  const bad = s && s.nonfinite;
  return bad ? `${bad.value} since step ${bad.step}` : "";
}

// What draw() plots of one key: the points as they are, and with smoothing, the smoothed
// bucket means (smoothing the kept extremes would average the bucket's highs and lows). `ty`
// maps values to the y axis (log10 on a log scale).
export function lineOf(s, weight, ty) {
  const xs = s.x, ys = s.y;
  let sx = null, sy = null;
  if (weight > 0) {
    sx = s.mx || xs;  // (a series saved before means were sent: its points)
    sy = smooth(s.my || ys, weight);
  }
  return { xs, ys, raw: ys.map(ty), sx, sy, smooth: sy && sy.map(ty), bad: s.nonfinite || null,
    note: nonfiniteNote(s) };
}

// `series` with the keys of `changed` replaced, keys sorted.
export function merge(series, changed) {
  const out = { ...series, ...changed };
  return Object.fromEntries(Object.keys(out).sort().map((k) => [k, out[k]]));
}

// Per chart (by chart_id): its series with the changes received since the last whole one.
const changes = new Map();

function seriesOf(model) {
  return changes.get(model.get("chart_id")) || model.get("series") || {};
}

// Once per model, before any view: keep the changes, whichever view shows them.
function initialize({ model }) {
  const id = model.get("chart_id");
  const whole = () => changes.delete(id);
  const changed = (msg) => {
    if (msg && msg.type === "series") changes.set(id, merge(seriesOf(model), msg.changed));
  };
  model.on("change:series", whole);
  model.on("msg:custom", changed);
  return () => { model.off("change:series", whole); model.off("msg:custom", changed); };
}

// Index of the first x >= target in an ascending array.
function lowerBound(xs, target) {
  let lo = 0, hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] < target) lo = mid + 1; else hi = mid;
  }
  return lo;
}

function nearest(xs, target) {
  const i = lowerBound(xs, target);
  if (i === 0) return 0;
  if (i >= xs.length) return xs.length - 1;
  return target - xs[i - 1] <= xs[i] - target ? i - 1 : i;
}

function pathOf(xs, ys, from, to, X, Y) {
  let d = "", pen = false;
  for (let i = from; i < to; i++) {
    const y = ys[i];
    if (!Number.isFinite(y)) { pen = false; continue; }
    d += `${pen ? "L" : "M"}${X(xs[i]).toFixed(1)},${Y(y).toFixed(1)}`;
    pen = true;
  }
  return d;
}

let clipIds = 0;

function render({ model, el }) {
  el.classList.add("jp-mlp-chart");
  const head = html("div", "jp-mlp-chart-head", el);
  const title = html("span", "jp-mlp-chart-title", head);
  const note = html("span", "jp-mlp-chart-note", head);
  const tools = html("span", "jp-mlp-chart-tools", head);
  const smoothLabel = html("label", "", tools, "smoothing ");
  const smoothing = html("input", "", smoothLabel);
  Object.assign(smoothing, { type: "range", min: 0, max: 0.99, step: 0.01 });
  const logLabel = html("label", "", tools);
  const logY = html("input", "", logLabel);
  logY.type = "checkbox";
  logLabel.append(" log y");
  const reset = html("button", "jp-mlp-chart-reset", tools, "reset zoom");
  const box = html("div", "jp-mlp-chart-plot", el);
  const plot = svg("svg", { height: HEIGHT }, box);
  const tip = html("div", "jp-mlp-chart-tip", box);
  const legend = html("div", "jp-mlp-chart-legend", el);
  const clipId = `jp-mlp-clip-${++clipIds}-${Math.random().toString(36).slice(2, 8)}`;

  let zoom = null;   // [x0, x1] while zoomed
  let drag = null;   // pixel x where a drag started
  let hoverX = null; // pixel x of the pointer
  let view = null;   // what the last draw computed, for hovering
  let frame = 0;

  const schedule = () => {
    if (!frame) frame = requestAnimationFrame(() => { frame = 0; draw(); });
  };
  const save = (name, value) => { model.set(name, value); model.save_changes(); };

  smoothing.addEventListener("input", () => save("smoothing", +smoothing.value));
  logY.addEventListener("change", () => save("log_y", logY.checked));
  reset.addEventListener("click", () => { zoom = null; schedule(); });

  function draw() {
    const series = seriesOf(model);
    const keys = Object.keys(series).sort();
    const hidden = new Set(model.get("hidden") || []);
    const weight = model.get("smoothing") || 0;
    const log = !!model.get("log_y");
    smoothing.value = weight;
    logY.checked = log;
    reset.style.display = zoom ? "" : "none";
    title.textContent = model.get("title");
    let n = 0, shown = 0;
    for (const k of keys) { n += series[k].n; shown += series[k].x.length; }
    note.textContent = `${model.get("status")} · ${n.toLocaleString()} points` +
      (shown < n ? `, ${shown.toLocaleString()} drawn` : "");

    const ty = log ? (y) => (y > 0 ? Math.log10(y) : NaN) : (y) => y;
    const lines = keys.map((key, i) => ({ key, color: PALETTE[i % PALETTE.length],
      visible: !hidden.has(key), ...lineOf(series[key], weight, ty) }));
    const visible = lines.filter((l) => l.visible && l.xs.length);
    drawLegend(lines, hidden);

    const width = Math.max(320, box.clientWidth || 640);
    const pw = width - M.l - M.r, ph = HEIGHT - M.t - M.b;
    plot.setAttribute("width", width);
    plot.setAttribute("viewBox", `0 0 ${width} ${HEIGHT}`);
    plot.replaceChildren();
    view = null;
    if (!visible.length) {
      svg("text", { x: width / 2, y: HEIGHT / 2, "text-anchor": "middle", class: "jp-mlp-chart-empty" },
        plot).textContent = keys.length ? "every line is hidden" : "no points yet";
      return;
    }
    let [x0, x1] = zoom || [Math.min(...visible.map((l) => l.xs[0])),
      Math.max(...visible.map((l) => l.xs[l.xs.length - 1]))];
    [x0, x1] = atLeast(x0, x1, 2);
    let y0 = Infinity, y1 = -Infinity;
    for (const l of visible) {
      for (const [xs, arr] of [[l.xs, l.raw], [l.sx, l.smooth]]) {
        if (!arr) continue;
        const to = lowerBound(xs, x1 + 1e-9);
        for (let i = lowerBound(xs, x0); i < to; i++) {
          const y = arr[i];
          if (Number.isFinite(y)) { if (y < y0) y0 = y; if (y > y1) y1 = y; }
        }
      }
    }
    [y0, y1] = yRange(y0, y1);
    const X = (x) => M.l + ((x - x0) / (x1 - x0)) * pw;
    const Y = (y) => M.t + (1 - (y - y0) / (y1 - y0)) * ph;

    const axes = svg("g", { class: "jp-mlp-chart-axes" }, plot);
    for (const v of ticks(x0, x1, Math.max(2, Math.floor(pw / 90)))) {
      svg("line", { x1: X(v), x2: X(v), y1: M.t, y2: M.t + ph }, axes);
      svg("text", { x: X(v), y: HEIGHT - 10, "text-anchor": "middle" }, axes).textContent = fmt(v);
    }
    for (const v of ticks(y0, y1, 5)) {
      svg("line", { x1: M.l, x2: M.l + pw, y1: Y(v), y2: Y(v) }, axes);
      svg("text", { x: M.l - 6, y: Y(v) + 4, "text-anchor": "end" }, axes).textContent =
        fmt(log ? 10 ** v : v);
    }
    svg("rect", { x: M.l, y: M.t, width: pw, height: ph, class: "jp-mlp-chart-frame" }, axes);
    const clip = svg("clipPath", { id: clipId }, svg("defs", {}, plot));
    svg("rect", { x: M.l, y: M.t, width: pw, height: ph }, clip);
    const g = svg("g", { "clip-path": `url(#${clipId})` }, plot);
    // One point beyond each edge, so lines reach the frame when zoomed.
    const path = (xs, ys) => pathOf(xs, ys, Math.max(0, lowerBound(xs, x0) - 1),
      Math.min(xs.length, lowerBound(xs, x1) + 1), X, Y);
    for (const l of visible) {
      svg("path", { d: path(l.xs, l.raw), stroke: l.color,
        class: l.smooth ? "jp-mlp-chart-raw" : "jp-mlp-chart-line" }, g);
      if (l.smooth) {
        svg("path", { d: path(l.sx, l.smooth), stroke: l.color, class: "jp-mlp-chart-line" }, g);
      }
    }
    const selection = svg("rect", { y: M.t, height: ph, class: "jp-mlp-chart-selection",
      width: 0 }, plot);
    const marks = svg("g", {}, plot);
    view = { x0, x1, pw, X, Y, ty, visible, selection, marks };
    drawHover();
  }

  function drawLegend(lines, hidden) {
    legend.replaceChildren();
    for (const l of lines) {
      const item = html("span", "jp-mlp-chart-key" + (l.visible ? "" : " jp-mlp-off"), legend);
      html("span", "jp-mlp-chart-swatch", item).style.background = l.color;
      html("span", "", item, l.key);
      if (l.ys.length) html("span", "jp-mlp-chart-last", item, fmt(l.ys[l.ys.length - 1]));
      if (l.note) html("span", "jp-mlp-chart-bad", item, l.note);
      item.title = "click to show or hide";
      item.addEventListener("click", () => {
        const next = new Set(hidden);
        if (next.has(l.key)) next.delete(l.key); else next.add(l.key);
        save("hidden", [...next]);
      });
    }
  }

  function drawHover() {
    tip.style.display = "none";
    if (!view) return;
    view.marks.replaceChildren();
    const { x0, x1, pw, X, Y, ty, visible } = view;
    if (drag !== null && hoverX !== null) {
      view.selection.setAttribute("x", Math.min(drag, hoverX));
      view.selection.setAttribute("width", Math.abs(hoverX - drag));
    }
    if (hoverX === null || hoverX < M.l || hoverX > M.l + pw) return;
    const x = x0 + ((hoverX - M.l) / pw) * (x1 - x0);
    const rows = [];
    for (const l of visible) {
      // The smoothed line where there is one, else the points.
      const [xs, ys] = l.smooth ? [l.sx, l.sy] : [l.xs, l.ys];
      const i = nearest(xs, x);
      const y = ty(ys[i]);
      if (Number.isFinite(y)) {
        svg("circle", { cx: X(xs[i]), cy: Y(y), r: 3, fill: l.color }, view.marks);
      }
      rows.push([l, Math.round(xs[i]), ys[i], l.bad && x >= l.bad.step ? l.note : ""]);
    }
    svg("line", { x1: hoverX, x2: hoverX, y1: M.t, y2: HEIGHT - M.b, class: "jp-mlp-chart-cursor" },
      view.marks);
    tip.replaceChildren();
    for (const [l, step, value, bad] of rows) {
      const row = html("div", "", tip);
      html("span", "jp-mlp-chart-swatch", row).style.background = l.color;
      row.append(`${l.key} ${fmt(value)} @ ${step}`);
      if (bad) html("span", "jp-mlp-chart-bad", row, ` · ${bad}`);
    }
    tip.style.display = "block";
    tip.style.left = `${Math.min(hoverX + 12, Math.max(0, box.clientWidth - tip.offsetWidth))}px`;
  }

  const pointer = (ev) => ev.clientX - plot.getBoundingClientRect().left;
  plot.addEventListener("mousemove", (ev) => { hoverX = pointer(ev); drawHover(); });
  plot.addEventListener("mouseleave", () => { hoverX = null; drag = null; drawHover(); });
  plot.addEventListener("mousedown", (ev) => { drag = pointer(ev); ev.preventDefault(); });
  plot.addEventListener("mouseup", (ev) => {
    const end = pointer(ev);
    if (drag !== null && view && Math.abs(end - drag) > 4) {
      const { x0, x1, pw } = view;
      const at = (px) => x0 + ((Math.min(Math.max(px, M.l), M.l + pw) - M.l) / pw) * (x1 - x0);
      zoom = atLeast(at(Math.min(drag, end)), at(Math.max(drag, end)), 2);
      schedule();
    }
    drag = null;
  });
  plot.addEventListener("dblclick", () => { zoom = null; schedule(); });

  const events = ["change:series", "change:hidden", "change:smoothing", "change:log_y",
    "change:status", "change:title"];
  for (const e of events) model.on(e, schedule);
  model.on("msg:custom", schedule);
  const resize = typeof ResizeObserver === "undefined" ? null : new ResizeObserver(schedule);
  if (resize) resize.observe(box);
  draw();
  return () => {
    for (const e of events) model.off(e, schedule);
    model.off("msg:custom", schedule);
    if (resize) resize.disconnect();
    if (frame) cancelAnimationFrame(frame);
  };
}

export default { initialize, render };
