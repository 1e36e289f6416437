// The compare widget (CompareWidget in comparison.py): runs side by side, drawn from one run
// diff (schema "mlp.diff/1", the synced `data`). What changed comes first, then one section
// each for params, metrics, code, environment, artifacts, tags and attributes.
//
// comparison.py loads this after chart.js's code (an anywidget front end is one module), so the
// drawing helpers are chart.js's: html, svg, fmt, ticks, atLeast, yRange, smooth,
// lowerBound, nearest, pathOf, PALETTE, M. The overlaid curves are drawn here; the metric
// picker, alignment by step or wall time, smoothing, log scale, hover and zoom (drag across
// the plot, double-click to reset) need nothing from the kernel.

const PLOT_HEIGHT = 260;
const COUNT_KINDS = ["changed", "added", "removed", "moved"];

// A diff value as a cell shows it: "—" when missing, numbers short, objects as JSON.
export function valueText(v, key) {
  if (v === null || v === undefined) return "—";
  if (typeof v === "number") {
    if (key === "duration") return durationText(v);
    if (key === "start_time") return new Date(v * 1000).toISOString().replace("T", " ")
      .slice(0, 19) + " UTC";
    return Number.isInteger(v) ? String(v) : fmt(v);
  }
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

export function durationText(s) {
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60) % 60, h = Math.floor(s / 3600), sec = Math.floor(s) % 60;
  const two = (n) => String(n).padStart(2, "0");
  return h ? `${h}h${two(m)}m` : `${m}m${two(sec)}s`;
}

// "+0.04" / "-0.04"; the non-finite values arrive as strings ("NaN", "Infinity").
export function signed(v) {
  if (typeof v !== "number") return v === null || v === undefined ? "" : String(v);
  return (v > 0 ? "+" : "") + fmt(v);
}

// "1 changed · 2 added" of a section's counts ("" when nothing differs).
export function countsText(c) {
  if (!c) return "";
  return COUNT_KINDS.filter((k) => c[k]).map((k) => `${c[k]} ${k}`).join(" · ");
}

export function atText(at) {
  if (!at || at.mode === "last") return "metrics at the last step";
  if (at.mode === "best") return `metrics at each run's best ${at.key}`;
  return `metrics at step ${at.step}`;
}

// The choices of the "at" picker: the last step, each metric's best step, and the step asked.
export function atChoices(data, current) {
  const out = ["last", ...(data.metrics || []).map((m) => `best:${m.key}`)];
  if (current && !out.includes(current)) out.push(current);
  return out;
}

// The metric to draw first: the one that differs most and has curves.
export function defaultMetric(data) {
  const series = (data.curves && data.curves.series) || {};
  const ranked = [...(data.metrics || [])].sort((a, b) => b.score - a.score);
  const m = ranked.find((r) => series[r.key]);
  return m ? m.key : Object.keys(series).sort()[0] || "";
}

// The lines of one metric, one per run (null where the run has no points): x is the step or
// the seconds since that run's start, `sy` the smoothed values (null without smoothing).
export function curveLines(data, key, align, weight) {
  const per = (data.curves && data.curves.series && data.curves.series[key]) || [];
  return (data.runs || []).map((run, i) => {
    const c = per[i];
    if (!c || !c.value || !c.value.length) return null;
    const xs = align === "time" ? c.time : c.step;
    return { index: i, label: run.label, color: PALETTE[i % PALETTE.length], xs, ys: c.value,
      sy: weight > 0 ? smooth(c.value, weight) : null };
  });
}

// The class of a unified diff line: added, removed, a hunk header or context.
export function lineKind(line) {
  const c = line.charAt(0);
  return c === "+" ? "add" : c === "-" ? "del" : c === "@" ? "hunk" : "ctx";
}

// The lines shown for a cell: its diff, else its source marked as added or removed.
export function opLines(op) {
  if (op.diff && op.diff.length) return op.diff;
  const mark = op.op === "added" ? "+" : op.op === "removed" ? "-" : " ";
  return String(op.source || "").split("\n").map((l) => mark + l);
}

export function cellTitle(op) {
  const at = (i, n) => `cell ${i}${n === null || n === undefined ? "" : ` [${n}]`}`;
  if (op.op === "added") return `${at(op.b, op.b_count)} added`;
  if (op.op === "removed") return `${at(op.a, op.a_count)} removed`;
  if (op.op === "moved") {
    return `${at(op.a, op.a_count)} moved to ${at(op.b, op.b_count)}` +
      (op.diff && op.diff.length ? " and changed" : "");
  }
  return `${at(op.b, op.b_count)} changed`;
}

export function artifactText(v) {
  if (!v) return "—";
  return `${String(v.digest || "").split(":").pop().slice(0, 10)} · ${(v.size || 0)
    .toLocaleString()} B`;
}

// -- drawing ----------------------------------------------------------------------------

function table(parent, head, rows) {
  const t = html("table", "jp-mlp-compare-table", parent);
  const tr = html("tr", "", html("thead", "", t));
  for (const h of head) html("th", "", tr, h);
  const body = html("tbody", "", t);
  for (const r of rows) {
    const row = html("tr", r.cls || "", body);
    for (const c of r.cells) {
      const td = html("td", c.cls || "", row, c.text);
      if (c.title) td.title = c.title;
    }
    if (r.onclick) { row.classList.add("jp-mlp-compare-pick"); row.onclick = r.onclick; }
  }
  return t;
}

function nothing(parent, data, what) {
  html("div", "jp-mlp-compare-none", parent,
    data.only_changed ? `no differences in ${what}` : `no ${what}`);
}

function statusCell(status) {
  return { text: status === "same" ? "" : status, cls: `jp-mlp-compare-tag-${status}` };
}

function rowsTable(parent, data, rows, what) {
  if (!rows || !rows.length) { nothing(parent, data, what); return; }
  const two = data.runs.length === 2;
  table(parent, ["key", ...data.runs.map((r) => r.label), ""], rows.map((r) => ({
    cls: `jp-mlp-compare-${r.status}`,
    cells: [{ text: r.key, cls: "jp-mlp-compare-key" }, ...r.values.map((v, i) => {
      let text = valueText(v, r.key);
      // Two numbers: the second says by how much it moved.
      if (two && i === 1 && r.numeric && typeof v === "number" &&
          typeof r.values[0] === "number" && r.key !== "start_time" && v !== r.values[0]) {
        text += ` (${signed(v - r.values[0])})`;
      }
      return { text, title: text };
    }), statusCell(r.status)],
  })));
}

function drawVarying(parent, data) {
  const top = Math.max(...data.varying.map((v) => v.score), 1e-9);
  const t = table(parent, ["", "key", ...data.runs.map((r) => r.label), "varies"],
    data.varying.map((v) => ({ cells: [{ text: v.section, cls: "jp-mlp-compare-muted" },
      { text: v.key, cls: "jp-mlp-compare-key" },
      ...v.values.map((x) => ({ text: valueText(x, v.key) })), { text: "" }] })));
  t.querySelectorAll("tbody tr").forEach((tr, i) => {
    const bar = html("span", "jp-mlp-compare-bar", tr.lastChild);
    bar.style.width = `${Math.round((60 * data.varying[i].score) / top)}px`;
    bar.title = `score ${data.varying[i].score.toFixed(2)}`;
  });
}

function metricsTable(parent, data, pick) {
  const two = data.runs.length === 2;
  const metrics = data.metrics || [];
  if (!metrics.length) { nothing(parent, data, "metrics"); return; }
  table(parent, ["metric", "better", ...data.runs.map((r) => r.label), ...(two ? ["Δ"] : [])],
    metrics.map((m) => ({
      cls: `jp-mlp-compare-${m.status}`,
      onclick: () => pick(m.key),
      cells: [{ text: m.key, cls: "jp-mlp-compare-key" },
        { text: m.direction === "min" ? "↓ lower" : "↑ higher", cls: "jp-mlp-compare-muted" },
        ...m.runs.map((r, i) => r === null ? { text: "—" } : {
          text: `${valueText(r.at)}${r.at_step === null || r.at_step === undefined ? "" :
            ` @${r.at_step}`}${m.better === i ? " ★" : ""}`,
          cls: m.better === i ? "jp-mlp-compare-better" : "",
          title: `last ${valueText(r.last)} · best ${valueText(r.best)} @${r.best_step}` +
            ` · ${r.count} points` + (r.nonfinite ? ` · ${r.nonfinite} NaN/inf` : ""),
        }),
        ...(two ? [{ text: signed(m.delta && m.delta.at) }] : [])],
    })));
}

function drawCode(parent, data) {
  const code = data.code || {};
  const pairs = code.pairs || [];
  if (!pairs.length || (code.kinds || []).every((k) => k === "none")) {
    html("div", "jp-mlp-compare-none", parent, "no code recorded");
    return;
  }
  for (const p of pairs) {
    const head = html("div", "jp-mlp-compare-pair", parent);
    html("b", "", head, `${data.runs[p.a].label} → ${data.runs[p.b].label}`);
    const said = ["changed", "added", "removed", "moved", "same"].filter((k) => p[k])
      .map((k) => `${p[k]} ${k}`).join(", ");
    html("span", "jp-mlp-compare-muted", head, ` ${said || "the same"}`);
    const kinds = [code.kinds[p.a], code.kinds[p.b]];
    if (kinds[0] !== kinds[1]) {
      html("span", "jp-mlp-compare-muted", head, ` (${kinds[0]} against ${kinds[1]})`);
    }
    if (p.script_diff && p.script_diff.length) diffBlock(parent, p.script_diff);
    const same = [];
    for (const op of p.ops || []) {
      if (op.op === "same") { same.push(op); continue; }
      const cell = html("div", `jp-mlp-compare-cell jp-mlp-compare-cell-${op.op}`, parent);
      html("div", "jp-mlp-compare-cell-title", cell, cellTitle(op));
      diffBlock(cell, opLines(op));
    }
    if (same.length) {
      const d = html("details", "jp-mlp-compare-same-cells", parent);
      html("summary", "", d, `${same.length} unchanged cell${same.length > 1 ? "s" : ""}`);
      for (const op of same) {
        html("div", "jp-mlp-compare-cell-title", d, cellTitle(op).replace(" changed", ""));
        diffBlock(d, opLines(op));
      }
    }
  }
}

function diffBlock(parent, lines) {
  const pre = html("pre", "jp-mlp-compare-diff", parent);
  for (const line of lines) {
    html("div", `jp-mlp-compare-line jp-mlp-compare-line-${lineKind(line)}`, pre, line || " ");
  }
}

function drawEnvironment(parent, data) {
  const env = data.environment || {};
  const rows = env.python ? [{ ...env.python, key: "python" }] : [];
  for (const group of ["packages", "git", "inputs"]) {
    for (const r of env[group] || []) {
      rows.push({ ...r, key: group === "packages" ? r.key : `${group}: ${r.key}` });
    }
  }
  rowsTable(parent, data, rows, "the environment");
}

function drawArtifacts(parent, data) {
  const rows = data.artifacts || [];
  if (!rows.length) { nothing(parent, data, "artifacts"); return; }
  table(parent, ["path", ...data.runs.map((r) => r.label), ""], rows.map((a) => ({
    cls: `jp-mlp-compare-${a.status}`,
    cells: [{ text: a.path, cls: "jp-mlp-compare-key" },
      ...a.values.map((v) => ({ text: artifactText(v), title: v ? v.digest : "" })),
      statusCell(a.status)],
  })));
}

let plotIds = 0;

function renderCompare({ model, el }) {
  el.classList.add("jp-mlp-compare");
  const open = new Map();  // section -> open, as the user left it
  const save = (name, value) => { model.set(name, value); model.save_changes(); };
  let plot = null;  // the curves panel of the last draw
  // The zoom of the curves, kept while the diff updates (a live run) for the same metric.
  const kept = { zoom: null, key: null, align: null };

  // A section, open when something in it differs (or as the user left it).
  function section(name, note, body) {
    const d = html("details", "jp-mlp-compare-section", el);
    d.dataset.section = name;
    d.open = open.has(name) ? open.get(name) : !!note || name === "metrics";
    const s = html("summary", "", d, name);
    html("span", "jp-mlp-compare-counts", s, note || "no differences");
    d.addEventListener("toggle", () => open.set(name, d.open));
    body(html("div", "jp-mlp-compare-body", d));
    return d;
  }

  function draw() {
    const data = model.get("data") || {};
    const focus = el.ownerDocument && el.contains(el.ownerDocument.activeElement) ?
      el.ownerDocument.activeElement.className : null;
    if (plot) plot.dispose();
    plot = null;
    el.replaceChildren();
    if (!data.runs) { html("div", "jp-mlp-compare-error", el, model.get("error") || "no diff"); return; }
    drawHead(data);
    const error = model.get("error");
    if (error) html("div", "jp-mlp-compare-error", el, error);
    const summary = html("ul", "jp-mlp-compare-summary", el);
    for (const s of data.summary || []) {
      const li = html("li", "", summary);
      const tag = html("button", `jp-mlp-compare-tag jp-mlp-compare-goto`, li, s.section);
      tag.title = `show ${s.section}`;
      tag.onclick = () => {
        const d = el.querySelector(`details[data-section="${s.section}"]`);
        if (d) { d.open = true; d.scrollIntoView({ block: "nearest" }); }
      };
      html("span", "", li, s.text);
    }
    if (!(data.summary || []).length) html("li", "jp-mlp-compare-muted", summary, "no differences");
    const counts = data.counts || {};
    if (data.runs.length > 2 && (data.varying || []).length) {
      section("what varies", `${data.varying.length} fields, most varying first`,
        (b) => drawVarying(b, data));
    }
    section("params", countsText(counts.params), (b) => rowsTable(b, data, data.params, "params"));
    section("metrics", countsText(counts.metrics), (b) => {
      metricsTable(b, data, (key) => save("metric", key));
      if (Object.keys((data.curves && data.curves.series) || {}).length) plot = curves(b, data);
    });
    section("code", countsText(counts.code), (b) => drawCode(b, data));
    section("environment", countsText(counts.environment), (b) => drawEnvironment(b, data));
    section("artifacts", countsText(counts.artifacts), (b) => drawArtifacts(b, data));
    for (const name of ["tags", "attributes"]) {
      section(name, countsText(counts[name]), (b) => rowsTable(b, data, data[name], name));
    }
    if (focus) { const f = el.getElementsByClassName(focus)[0]; if (f) f.focus(); }
  }

  function drawHead(data) {
    const head = html("div", "jp-mlp-compare-head", el);
    html("span", "jp-mlp-compare-title", head, "Compare");
    for (const [i, r] of data.runs.entries()) {
      const chip = html("span", "jp-mlp-compare-run", head);
      html("span", "jp-mlp-chart-swatch", chip).style.background = PALETTE[i % PALETTE.length];
      html("span", "", chip, r.label);
      html("span", `jp-mlp-compare-status jp-mlp-compare-status-${r.status}`, chip, r.status);
      chip.title = `${r.experiment} · ${r.id}${i === 0 ? " · the baseline" : ""}`;
    }
    html("span", "jp-mlp-compare-muted", head, atText(data.at));
    if (data.live) html("span", "jp-mlp-compare-live", head, "live");
    const tools = html("span", "jp-mlp-compare-tools", head);
    const allLabel = html("label", "", tools);
    const all = html("input", "jp-mlp-compare-all", allLabel);
    all.type = "checkbox";
    all.checked = !data.only_changed;
    allLabel.append(" show unchanged");
    all.addEventListener("change", () => save("only_changed", !all.checked));
    const atLabel = html("label", "", tools, "at ");
    const at = html("select", "jp-mlp-compare-at", atLabel);
    for (const c of atChoices(data, model.get("at"))) html("option", "", at, c).value = c;
    at.value = model.get("at");
    at.addEventListener("change", () => save("at", at.value));
  }

  // The overlaid curves of one metric: a panel that redraws itself on its own settings.
  function curves(parent, data) {
    // Unique on the page, whichever copy of this module counts: radio groups and clip paths
    // are the document's.
    const id = `${++plotIds}-${Math.random().toString(36).slice(2, 8)}`;
    const panel = html("div", "jp-mlp-compare-curves", parent);
    const bar = html("div", "jp-mlp-compare-tools", panel);
    const picker = html("select", "jp-mlp-compare-metric", html("label", "", bar, "metric "));
    for (const k of Object.keys(data.curves.series).sort()) html("option", "", picker, k).value = k;
    const alignBox = html("span", "", bar);
    const radios = ["step", "time"].map((a) => {
      const l = html("label", "", alignBox);
      const r = html("input", "", l);
      Object.assign(r, { type: "radio", name: `jp-mlp-align-${id}`, value: a });
      l.append(a === "step" ? " by step " : " by time ");
      r.addEventListener("change", () => save("align", a));
      return r;
    });
    const smoothLabel = html("label", "", bar, "smoothing ");
    const smoothing = html("input", "", smoothLabel);
    Object.assign(smoothing, { type: "range", min: 0, max: 0.99, step: 0.01 });
    smoothing.addEventListener("input", () => save("smoothing", +smoothing.value));
    const logLabel = html("label", "", bar);
    const logY = html("input", "", logLabel);
    logY.type = "checkbox";
    logLabel.append(" log y");
    logY.addEventListener("change", () => save("log_y", logY.checked));
    const reset = html("button", "jp-mlp-chart-reset", bar, "reset zoom");
    picker.addEventListener("change", () => save("metric", picker.value));
    const box = html("div", "jp-mlp-chart-plot", panel);
    const canvas = svg("svg", { height: PLOT_HEIGHT }, box);
    const tip = html("div", "jp-mlp-chart-tip", box);
    const legend = html("div", "jp-mlp-chart-legend", panel);
    const clipId = `jp-mlp-compare-clip-${id}`;
    let drag = null, hoverX = null, view = null, frame = 0;
    const schedule = () => {
      if (!frame) frame = requestAnimationFrame(() => { frame = 0; drawPlot(); });
    };
    reset.addEventListener("click", () => { kept.zoom = null; schedule(); });

    function drawPlot() {
      let key = model.get("metric");
      if (!data.curves.series[key]) key = defaultMetric(data);
      const align = model.get("align") === "time" ? "time" : "step";
      if (key !== kept.key || align !== kept.align) Object.assign(kept, { zoom: null, key, align });
      const weight = model.get("smoothing") || 0;
      const log = !!model.get("log_y");
      picker.value = key;
      radios.forEach((r) => { r.checked = r.value === align; });
      smoothing.value = weight;
      logY.checked = log;
      reset.style.display = kept.zoom ? "" : "none";
      const ty = log ? (y) => (y > 0 ? Math.log10(y) : NaN) : (y) => y;
      const all = curveLines(data, key, align, weight);
      const lines = all.filter(Boolean).map((l) => ({ ...l, raw: l.ys.map(ty),
        smooth: l.sy && l.sy.map(ty) }));
      legend.replaceChildren();
      for (const [i, r] of data.runs.entries()) {
        const item = html("span", "jp-mlp-chart-key", legend);
        html("span", "jp-mlp-chart-swatch", item).style.background = PALETTE[i % PALETTE.length];
        html("span", "", item, r.label);
        const l = all[i];
        html("span", "jp-mlp-chart-last", item, l ? fmt(l.ys[l.ys.length - 1]) : "no points");
      }
      const width = Math.max(320, box.clientWidth || 640);
      const pw = width - M.l - M.r, ph = PLOT_HEIGHT - M.t - M.b;
      canvas.setAttribute("width", width);
      canvas.setAttribute("viewBox", `0 0 ${width} ${PLOT_HEIGHT}`);
      canvas.replaceChildren();
      view = null;
      if (!lines.length) {
        svg("text", { x: width / 2, y: PLOT_HEIGHT / 2, "text-anchor": "middle",
          class: "jp-mlp-chart-empty" }, canvas).textContent = "no points";
        return;
      }
      let [x0, x1] = kept.zoom || [Math.min(...lines.map((l) => l.xs[0])),
        Math.max(...lines.map((l) => l.xs[l.xs.length - 1]))];
      [x0, x1] = atLeast(x0, x1, align === "time" ? 1e-3 : 2);
      let y0 = Infinity, y1 = -Infinity;
      for (const l of lines) {
        for (const arr of [l.raw, l.smooth]) {
          if (!arr) continue;
          const to = lowerBound(l.xs, x1 + 1e-9);
          for (let i = lowerBound(l.xs, x0); i < to; i++) {
            const y = arr[i];
            if (Number.isFinite(y)) { if (y < y0) y0 = y; if (y > y1) y1 = y; }
          }
        }
      }
      [y0, y1] = yRange(y0, y1);
      const X = (x) => M.l + ((x - x0) / (x1 - x0)) * pw;
      const Y = (y) => M.t + (1 - (y - y0) / (y1 - y0)) * ph;
      const axes = svg("g", { class: "jp-mlp-chart-axes" }, canvas);
      for (const v of ticks(x0, x1, Math.max(2, Math.floor(pw / 90)))) {
        svg("line", { x1: X(v), x2: X(v), y1: M.t, y2: M.t + ph }, axes);
        svg("text", { x: X(v), y: PLOT_HEIGHT - 10, "text-anchor": "middle" }, axes)
          .textContent = align === "time" ? `${fmt(v)}s` : fmt(v);
      }
      for (const v of ticks(y0, y1, 5)) {
        svg("line", { x1: M.l, x2: M.l + pw, y1: Y(v), y2: Y(v) }, axes);
        svg("text", { x: M.l - 6, y: Y(v) + 4, "text-anchor": "end" }, axes).textContent =
          fmt(log ? 10 ** v : v);
      }
      svg("rect", { x: M.l, y: M.t, width: pw, height: ph, class: "jp-mlp-chart-frame" }, axes);
      const clip = svg("clipPath", { id: clipId }, svg("defs", {}, canvas));
      svg("rect", { x: M.l, y: M.t, width: pw, height: ph }, clip);
      const g = svg("g", { "clip-path": `url(#${clipId})` }, canvas);
      const path = (xs, ys) => pathOf(xs, ys, Math.max(0, lowerBound(xs, x0) - 1),
        Math.min(xs.length, lowerBound(xs, x1) + 1), X, Y);
      for (const l of lines) {
        svg("path", { d: path(l.xs, l.raw), stroke: l.color,
          class: l.smooth ? "jp-mlp-chart-raw" : "jp-mlp-chart-line" }, g);
        if (l.smooth) {
          svg("path", { d: path(l.xs, l.smooth), stroke: l.color, class: "jp-mlp-chart-line" }, g);
        }
      }
      const selection = svg("rect", { y: M.t, height: ph, class: "jp-mlp-chart-selection",
        width: 0 }, canvas);
      const marks = svg("g", {}, canvas);
      view = { x0, x1, pw, X, Y, ty, lines, selection, marks, align };
      drawHover();
    }

    function drawHover() {
      tip.style.display = "none";
      if (!view) return;
      view.marks.replaceChildren();
      const { x0, x1, pw, X, Y, ty, lines } = view;
      if (drag !== null && hoverX !== null) {
        view.selection.setAttribute("x", Math.min(drag, hoverX));
        view.selection.setAttribute("width", Math.abs(hoverX - drag));
      }
      if (hoverX === null || hoverX < M.l || hoverX > M.l + pw) return;
      const x = x0 + ((hoverX - M.l) / pw) * (x1 - x0);
      tip.replaceChildren();
      for (const l of lines) {
        const ys = l.sy || l.ys;
        const i = nearest(l.xs, x);
        const y = ty(ys[i]);
        if (Number.isFinite(y)) svg("circle", { cx: X(l.xs[i]), cy: Y(y), r: 3, fill: l.color }, view.marks);
        const row = html("div", "", tip);
        html("span", "jp-mlp-chart-swatch", row).style.background = l.color;
        const at = view.align === "time" ? `${fmt(l.xs[i])}s` : `${l.xs[i]}`;
        row.append(`${l.label} ${fmt(ys[i])} @ ${at}`);
      }
      svg("line", { x1: hoverX, x2: hoverX, y1: M.t, y2: PLOT_HEIGHT - M.b,
        class: "jp-mlp-chart-cursor" }, view.marks);
      tip.style.display = "block";
      tip.style.left = `${Math.min(hoverX + 12, Math.max(0, box.clientWidth - tip.offsetWidth))}px`;
    }

    const pointer = (ev) => ev.clientX - canvas.getBoundingClientRect().left;
    canvas.addEventListener("mousemove", (ev) => { hoverX = pointer(ev); drawHover(); });
    canvas.addEventListener("mouseleave", () => { hoverX = null; drag = null; drawHover(); });
    canvas.addEventListener("mousedown", (ev) => { drag = pointer(ev); ev.preventDefault(); });
    canvas.addEventListener("mouseup", (ev) => {
      const end = pointer(ev);
      if (drag !== null && view && Math.abs(end - drag) > 4) {
        const { x0, x1, pw } = view;
        const at = (px) => x0 + ((Math.min(Math.max(px, M.l), M.l + pw) - M.l) / pw) * (x1 - x0);
        kept.zoom = atLeast(at(Math.min(drag, end)), at(Math.max(drag, end)),
          view.align === "time" ? 1e-3 : 2);
        schedule();
      }
      drag = null;
    });
    canvas.addEventListener("dblclick", () => { kept.zoom = null; schedule(); });
    const events = ["change:metric", "change:align", "change:smoothing", "change:log_y"];
    for (const e of events) model.on(e, schedule);
    const resize = typeof ResizeObserver === "undefined" ? null : new ResizeObserver(schedule);
    if (resize) resize.observe(box);
    drawPlot();
    return {
      dispose() {
        for (const e of events) model.off(e, schedule);
        if (resize) resize.disconnect();
        if (frame) cancelAnimationFrame(frame);
      },
    };
  }

  const redraw = () => draw();
  model.on("change:data", redraw);
  model.on("change:error", redraw);
  draw();
  return () => {
    model.off("change:data", redraw);
    model.off("change:error", redraw);
    if (plot) plot.dispose();
  };
}

export default { render: renderCompare };
