// The runs table (RunsTable in table.py). The store sorts, filters and pages: this view
// sends what the user asked for and shows the page the kernel sends back.

function html(tag, cls, parent, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  if (parent) parent.appendChild(e);
  return e;
}

function render({ model, el }) {
  el.classList.add("jp-mlp-runs");
  const bar = html("form", "jp-mlp-runs-bar", el);
  const query = html("input", "jp-mlp-runs-where", bar);
  Object.assign(query, { type: "text", spellcheck: false,
    placeholder: "where … e.g. metrics.loss < 0.5 and params.depth = 6" });
  html("button", "", bar, "filter").type = "submit";
  const refresh = html("button", "", bar, "↻");
  refresh.type = "button";
  refresh.title = "query again";
  const error = html("div", "jp-mlp-runs-error", el);
  const wrap = html("div", "jp-mlp-runs-scroll", el);
  const table = html("table", "jp-mlp-runs-table", wrap);
  const foot = html("div", "jp-mlp-runs-foot", el);
  const prev = html("button", "", foot, "‹ previous");
  const caption = html("span", "jp-mlp-runs-caption", foot);
  const next = html("button", "", foot, "next ›");

  // Until the kernel answers each request with {type: "done", id} (it may be busy), show
  // that a request is on its way. Ids are this view's own: other views' answers don't count.
  const view = Math.random().toString(36).slice(2, 10);
  const pending = new Set();
  let asked = 0;
  const ask = (content) => {
    const id = `${view}-${++asked}`;
    pending.add(id);
    el.classList.add("jp-mlp-busy");
    model.send({ ...content, id });
  };
  const answered = (msg) => {
    if (!msg || msg.type !== "done" || !pending.delete(msg.id)) return;
    if (!pending.size) el.classList.remove("jp-mlp-busy");
  };
  model.on("msg:custom", answered);
  const filter = () => ask({ type: "filter", where: query.value });
  bar.addEventListener("submit", (ev) => { ev.preventDefault(); filter(); });
  // Keys typed here are the query's, not notebook shortcuts (JupyterLab would take Enter).
  query.addEventListener("keydown", (ev) => {
    ev.stopPropagation();
    if (ev.key === "Enter") { ev.preventDefault(); filter(); }
  });
  refresh.addEventListener("click", () => ask({ type: "refresh" }));
  prev.addEventListener("click", () => ask({ type: "previous" }));
  next.addEventListener("click", () => ask({ type: "next" }));

  function draw() {
    if (document.activeElement !== query) query.value = model.get("where");
    const err = model.get("error") || {};
    error.replaceChildren();
    error.style.display = err.message ? "block" : "none";
    if (err.message) {
      html("div", "", error, err.message);
      if (err.query !== undefined && err.position !== undefined) {
        const pre = html("pre", "", error);
        pre.append(err.query.slice(0, err.position));
        html("mark", "", pre, err.query.slice(err.position, err.position + 1) || " ");
        pre.append(err.query.slice(err.position + 1));
        pre.append("\n" + " ".repeat(err.position) + "^ position " + err.position);
      }
    }
    const columns = model.get("columns") || [];
    const order = model.get("order_by") || "";
    table.replaceChildren();
    const headRow = html("tr", "", html("thead", "", table));
    for (const col of columns) {
      const th = html("th", `jp-mlp-runs-${col.group}`, headRow, col.label);
      th.title = `sort by ${col.field}`;
      if (order === col.field) th.append(" ▲");
      else if (order === `-${col.field}`) th.append(" ▼");
      th.addEventListener("click", () => ask({ type: "sort", field: col.field }));
    }
    const body = html("tbody", "", table);
    for (const row of model.get("rows") || []) {
      const tr = html("tr", "", body);
      tr.title = row.id;
      for (const col of columns) {
        const td = html("td", `jp-mlp-runs-${col.group}`, tr, row.cells[col.field] ?? "");
        if (col.field === "status") td.classList.add(`jp-mlp-status-${row.status}`);
      }
    }
    caption.textContent = model.get("caption");
    prev.disabled = model.get("page") <= 1;
    next.disabled = !model.get("has_next");
  }

  const events = ["change:rows", "change:columns", "change:error", "change:caption",
    "change:has_next", "change:page"];
  let frame = 0;
  const schedule = () => {
    if (!frame) frame = requestAnimationFrame(() => { frame = 0; draw(); });
  };
  for (const e of events) model.on(e, schedule);
  draw();
  return () => {
    for (const e of events) model.off(e, schedule);
    model.off("msg:custom", answered);
    if (frame) cancelAnimationFrame(frame);
  };
}

export default { render };
