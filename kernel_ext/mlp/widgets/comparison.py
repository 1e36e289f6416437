"""The compare widget: two or more runs at one glance, drawn from one run diff (``mlp.diff``).

The diff is data (schema ``mlp.diff/1``); this module only shows it. The view (compare.js)
draws the summary, the sections and the overlaid curves, and does smoothing, alignment (by
step or by wall time) and zoom itself. While a compared run is still running, a daemon
thread asks for the diff again every ``REFRESH_INTERVAL`` seconds until no run is live (or
the widget is closed). Executed and converted notebooks keep static HTML of the same diff.

(Not named compare.py: importing a submodule sets it on its package, and
``mlp.widgets.compare`` is the function.)
"""

from __future__ import annotations

import contextvars
import html
import json
import logging
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import anywidget
import traitlets as t

from .._run import _duration
from .._shell import ipython_shell
from ..errors import MLPError
from . import _static

log = logging.getLogger("mlp")

STATIC = Path(__file__).parent / "static"
SCHEMA = "mlp.diff/1"
#: Seconds between two fetches of the diff while a compared run is running.
REFRESH_INTERVAL = 2.0
#: Failed fetches in a row after which a live widget stops asking.
MAX_FAILURES = 5
#: The static HTML draws at most this many metrics, this many points per line.
STATIC_CURVES = 4
STATIC_POINTS = 150

def _joined_esm() -> str:
    """compare.js after chart.js's drawing helpers (ticks, ranges, smoothing, paths): an
    anywidget front end is one module, so the two files are joined here rather than copied."""
    chart = (STATIC / "chart.js").read_text()
    export = "export default { initialize, render };"
    if export not in chart:
        raise RuntimeError("chart.js no longer ends with its default export: update comparison.py")
    return chart.replace(export, "") + "\n" + (STATIC / "compare.js").read_text()


def _joined_css() -> str:
    """chart.css (the plot's classes) and compare.css: a page may show no live chart."""
    return (STATIC / "chart.css").read_text() + "\n" + (STATIC / "compare.css").read_text()


def fetch(refs: Sequence[Any], *, only_changed: bool, at: str | int,
          max_points: int) -> dict[str, Any]:
    """The diff of ``refs`` as a dict, from ``mlp.diff`` (whichever transport it uses)."""
    import mlp

    data = getattr(mlp.diff(*refs, only_changed=only_changed, at=at, max_points=max_points),
                   "data", None)
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        got = data.get("schema") if isinstance(data, dict) else type(data).__name__
        raise MLPError(f"the compare widget reads run diffs of schema {SCHEMA}, got {got!r}: "
                       f"update jupyter-mlp in the kernel and on the server alike")
    return data


class CompareWidget(_static.StaticFallback, anywidget.AnyWidget):
    """Runs side by side: what changed first, then params, metrics (overlaid curves), code
    (cell by cell), environment, artifacts, tags and attributes.

    >>> mlp.compare("@latest~1", "@latest")          # shows below the cell
    >>> mlp.compare("demo/a", "demo/b", "demo/c", only_changed=False, at="best:val_loss")
    """

    _esm = _joined_esm()
    _css = _joined_css()

    #: The run diff, as ``mlp.diff(...).data`` (schema ``mlp.diff/1``).
    data = t.Dict().tag(sync=True)
    #: Asked of the diff (``at``: "last", "best:KEY" or a step, checked by ``mlp.diff``); the
    #: view may change them, which fetches the diff again.
    only_changed = t.Bool(True).tag(sync=True)
    at = t.Unicode("last").tag(sync=True)
    #: Why the last fetch failed ("" when it did not); the diff shown is then the previous one.
    error = t.Unicode("").tag(sync=True)
    # View state, set by the view and kept here so a re-rendered view keeps it.
    metric = t.Unicode("").tag(sync=True)
    align = t.Enum(["step", "time"], "step").tag(sync=True)
    smoothing = t.Float(0.0).tag(sync=True)
    log_y = t.Bool(False).tag(sync=True)
    _set_up = False

    def __init__(self, refs: Sequence[Any], *, only_changed: bool = True,
                 at: str | int = "last", max_points: int = 500) -> None:
        self._refs = tuple(refs)
        self._max_points = max_points
        data = fetch(self._refs, only_changed=only_changed, at=at, max_points=max_points)
        super().__init__(data=data, only_changed=only_changed, at=str(at))
        self._fetch_lock = threading.Lock()
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None
        # The creating cell's context: messages sent from the refreshing thread carry it.
        self._context = contextvars.copy_context()
        self._display_id = uuid.uuid4().hex
        self._displayed = False
        self._hooked = False
        self._set_up = True
        self.observe(self._asked_again, names=["only_changed", "at"])
        self._follow()

    # -- fetching --------------------------------------------------------------------------

    @property
    def live(self) -> bool:
        """Whether a compared run is still running (the widget then updates itself)."""
        return bool(self.data.get("live"))

    def refresh(self) -> None:
        """Fetch the diff again. A failure is raised, and shown in the widget (``error``)
        above the diff it still shows."""
        with self._fetch_lock:
            try:
                data = fetch(self._refs, only_changed=self.only_changed, at=self.at,
                             max_points=self._max_points)
            except Exception as e:
                log.debug("mlp: compare could not fetch the diff", exc_info=e)
                self.error = str(e) if isinstance(e, MLPError) else f"{type(e).__name__}: {e}"
                raise
            with self.hold_sync():
                self.data = data
                self.error = ""

    def _asked_again(self, change: Mapping[str, Any]) -> None:
        try:
            self.refresh()
        except Exception:
            return  # shown in the widget
        self._follow()

    def _follow(self) -> None:
        """While a run is live: a daemon thread fetches the diff again until none is."""
        if not self.live or self._closed.is_set():
            return
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._context.run, args=(self._loop,),
                                            name="mlp-compare", daemon=True)
            self._thread.start()
        shell = ipython_shell()
        if shell is not None and not self._hooked:
            shell.events.register("post_run_cell", self._after_cell)
            self._hooked = True

    def _loop(self) -> None:
        failures, took = 0, 0.0
        # A diff that takes long to compute (long histories) is asked for less often: the
        # store spends at most a fifth of its time on this widget.
        while not self._closed.wait(max(REFRESH_INTERVAL, 4 * took)):
            t0 = time.monotonic()
            try:
                self.refresh()
                failures = 0
            except Exception as e:
                failures += 1
                if failures >= MAX_FAILURES:
                    self.error = (f"stopped updating after {failures} failed attempts: "
                                  f"{self.error or e}")
                    return
            took = time.monotonic() - t0
            if not self.live:
                return

    # -- display ---------------------------------------------------------------------------

    def to_html(self) -> str:
        """Static HTML of the diff: what nbconvert and nbclient keep."""
        return compare_html(self.data, self.error)

    def _text(self) -> str:
        labels = " ↔ ".join(r["label"] for r in self.data.get("runs", []))
        lines = "; ".join(s["text"] for s in self.data.get("summary", [])[:3])
        return f"<Compare {labels}: {lines or 'no differences'}>"


    def _after_cell(self, result: Any = None) -> None:
        """After each cell: once no compared run is live, the saved notebook gets the final
        diff's static HTML, and the hook goes."""
        if self.live and not self._closed.is_set():
            return
        self._unhook()
        if self._displayed and not self._closed.is_set():
            from IPython.display import update_display

            update_display(self._bundle(), raw=True, display_id=self._display_id)

    def _unhook(self) -> None:
        shell = ipython_shell()
        if (self._hooked and shell is not None
                and self._after_cell in shell.events.callbacks["post_run_cell"]):
            shell.events.unregister("post_run_cell", self._after_cell)
        self._hooked = False

    def close(self) -> None:
        if self._set_up:  # not when __init__ refused its arguments
            self._closed.set()
            self._unhook()
        super().close()


def compare(a: Any, b: Any, *more: Any, only_changed: bool = True, at: str | int = "last",
            max_points: int = 500) -> CompareWidget:
    """The compare widget of runs ``a`` (the baseline), ``b`` and ``more`` (see
    ``mlp.widgets.compare``)."""
    return CompareWidget((a, b, *more), only_changed=only_changed, at=at, max_points=max_points)


# -- static HTML ---------------------------------------------------------------------------

_E = html.escape
_STATUS_COLOR = {"changed": "var(--jp-warn-color1, #b26a00)",
                 "added": "var(--jp-success-color1, #2e7d32)",
                 "removed": "var(--jp-error-color1, #c62828)",
                 "moved": "var(--jp-info-color1, #0277bd)", "same": "inherit"}
_LINE_STYLE = {"+": "background:rgba(46,160,67,0.18)", "-": "background:rgba(248,81,73,0.18)",
               "@": "color:var(--jp-ui-font-color2, #666)"}
_TABLE = "style='border-collapse:collapse;margin:4px 0;font-size:inherit'"
_CELL = "style='padding:2px 8px;text-align:left;vertical-align:top'"
_MUTED = "color:var(--jp-ui-font-color2, #666)"


def value_text(v: Any, key: str = "") -> str:
    """A diff value as the widget shows it: ``—`` for missing, numbers short."""
    if v is None:
        return "—"
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, (int, float)):
        if key == "duration":
            return _duration(float(v))
        if key == "start_time":
            return datetime.fromtimestamp(v, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
        return str(v) if isinstance(v, int) else _static.fmt(v)
    if isinstance(v, (dict, list)):
        return json.dumps(v, sort_keys=True)
    return str(v)


def compare_html(data: Mapping[str, Any], error: str = "") -> str:
    """The diff as plain HTML: summary, tables, code diffs and a few small curves."""
    if not data:
        return f"<div class='mlp-static-compare'>{_E(error or 'no diff')}</div>"
    labels = [r["label"] for r in data["runs"]]
    parts = ["<div class='mlp-static-compare' style='font:12px sans-serif'>", _head(data)]
    if error:
        parts.append(f"<pre style='color:var(--jp-error-color1, #b00)'>{_E(error)}</pre>")
    summary = data.get("summary") or []
    parts.append("<ul style='margin:4px 0'>" + "".join(
        f"<li><span style='{_MUTED}'>{_E(s['section'])}</span> {_E(s['text'])}</li>"
        for s in summary) + "</ul>" if summary else "<div>no differences</div>")
    if len(labels) > 2 and data.get("varying"):
        parts.append(_section("what varies", _varying_table(data["varying"], labels)))
    counts = data.get("counts", {})
    parts.append(_section("params", _rows_table(data.get("params", []), labels), counts))
    parts.append(_section("metrics", _metrics_html(data, labels), counts))
    parts.append(_section("code", _code_html(data.get("code") or {}, labels), counts))
    parts.append(_section("environment", _environment_html(data.get("environment") or {},
                                                           labels), counts))
    parts.append(_section("artifacts", _artifacts_table(data.get("artifacts", []), labels),
                          counts))
    for name in ("tags", "attributes"):
        parts.append(_section(name, _rows_table(data.get(name, []), labels), counts))
    parts.append("</div>")
    return "".join(parts)


def _head(data: Mapping[str, Any]) -> str:
    runs = " ↔ ".join(f"<b style='color:{_static.color(i)}'>{_E(r['label'])}</b> "
                      f"<span style='{_MUTED}'>({_E(r['status'])})</span>"
                      for i, r in enumerate(data["runs"]))
    return (f"<div>Compare {runs} <span style='{_MUTED}'>· {_E(at_text(data.get('at')))}"
            f"{' · live' if data.get('live') else ''}</span></div>")


def at_text(at: Mapping[str, Any] | None) -> str:
    """``"metrics at the last step"``, ``"metrics at each run's best val_loss"``, ..."""
    if not at or at.get("mode") == "last":
        return "metrics at the last step"
    if at["mode"] == "best":
        return f"metrics at each run's best {at.get('key')}"
    return f"metrics at step {at.get('step')}"


def _section(name: str, body: str, counts: Mapping[str, Any] | None = None) -> str:
    c = (counts or {}).get(name) or {}
    said = ", ".join(f"{n} {k}" for k, n in c.items() if n and k != "same")
    note = f" <span style='font-weight:normal;{_MUTED}'>{_E(said)}</span>" if said else ""
    return f"<h4 style='margin:10px 0 2px'>{_E(name)}{note}</h4>{body}"


def _status(status: str) -> str:
    return f"<span style='color:{_STATUS_COLOR.get(status, 'inherit')}'>{_E(status)}</span>"


def _table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A table of already-escaped cells."""
    return (f"<table {_TABLE}><thead><tr>" + "".join(f"<th {_CELL}>{h}</th>" for h in head)
            + "</tr></thead><tbody>" + "".join(
                "<tr>" + "".join(f"<td {_CELL}>{c}</td>" for c in r) + "</tr>" for r in rows)
            + "</tbody></table>")


def _rows_table(rows: Sequence[Mapping[str, Any]], labels: Sequence[str]) -> str:
    if not rows:
        return f"<div style='{_MUTED}'>no differences</div>"
    return _table(["key", *map(_E, labels), ""],
                  [[_E(r["key"]), *(_E(value_text(v, r["key"])) for v in r["values"]),
                    _status(r["status"])] for r in rows])


def _varying_table(varying: Sequence[Mapping[str, Any]], labels: Sequence[str]) -> str:
    return _table(["", "key", *map(_E, labels), "score"],
                  [[_E(v["section"]), _E(v["key"]), *(_E(value_text(x)) for x in v["values"]),
                    f"{v['score']:.2f}"] for v in varying])


def _metric_value(m: Mapping[str, Any], i: int) -> str:
    r = m["runs"][i]
    if r is None:
        return "—"
    text = _E(value_text(r.get("at")))
    if r.get("at_step") is not None:
        text += f" <span style='{_MUTED}'>@{r['at_step']}</span>"
    return f"<b>{text} ★</b>" if m.get("better") == i else text


def _metrics_html(data: Mapping[str, Any], labels: Sequence[str]) -> str:
    metrics = data.get("metrics", [])
    if not metrics:
        return f"<div style='{_MUTED}'>no differences</div>"
    two = len(labels) == 2
    rows = []
    for m in metrics:
        row = [_E(m["key"]), "↓" if m["direction"] == "min" else "↑",
               *(_metric_value(m, i) for i in range(len(labels)))]
        if two:
            delta = (m.get("delta") or {}).get("at")
            row.append("" if delta is None else _E(_signed(delta)))
        rows.append(row)
    table = _table(["metric", "better", *map(_E, labels), *(["Δ"] if two else [])], rows)
    return table + _curves_html(data, labels)


def _signed(v: Any) -> str:
    if isinstance(v, (int, float)):
        return ("+" if v > 0 else "") + _static.fmt(v)
    return str(v)  # "NaN", "Infinity"


def _curves_html(data: Mapping[str, Any], labels: Sequence[str]) -> str:
    """Small SVGs of the highest-scoring metrics, by step, thinned to ``STATIC_POINTS``."""
    series = (data.get("curves") or {}).get("series") or {}
    order = [m["key"] for m in sorted(data.get("metrics", []), key=lambda m: -m["score"])]
    keys = [k for k in order if k in series][:STATIC_CURVES]
    out = []
    for key in keys:
        lines = {}
        for label, c in zip(labels, series[key], strict=False):
            n = len(c["step"]) if c else 0
            stride = max(1, -(-n // STATIC_POINTS))
            lines[label] = {"x": c["step"][::stride] if c else [],
                            "y": c["value"][::stride] if c else [], "n": n}
        out.append(_static.chart_svg(lines, key, "by step"))
    more = len(series) - len(keys)
    if series and more > 0:
        out.append(f"<div style='{_MUTED}'>{more} more metric curves in the live widget</div>")
    return "".join(out)


def _diff_pre(lines: Sequence[str]) -> str:
    body = "".join(f"<div style='{_LINE_STYLE.get(line[:1], '')}'>{_E(line) or ' '}</div>"
                   for line in lines)
    return (f"<pre style='margin:2px 0 6px;padding:4px;font-size:11px;"
            f"border:1px solid var(--jp-border-color2, #ddd)'>{body}</pre>")


def _cell_title(op: Mapping[str, Any]) -> str:
    def at(i: Any, count: Any) -> str:
        return f"cell {i}" + (f" [{count}]" if count is not None else "")

    kind = op["op"]
    if kind == "added":
        return f"{at(op['b'], op['b_count'])} added"
    if kind == "removed":
        return f"{at(op['a'], op['a_count'])} removed"
    if kind == "moved":
        edited = " and changed" if op.get("diff") else ""
        return f"{at(op['a'], op['a_count'])} moved to {at(op['b'], op['b_count'])}{edited}"
    return f"{at(op['b'], op['b_count'])} changed"


def op_lines(op: Mapping[str, Any]) -> list[str]:
    """The lines shown for a cell: its diff, else its source marked as added or removed."""
    if op.get("diff"):
        return list(op["diff"])
    mark = {"added": "+", "removed": "-"}.get(op["op"], " ")
    return [mark + line for line in op["source"].split("\n")]


def _code_html(code: Mapping[str, Any], labels: Sequence[str]) -> str:
    pairs = code.get("pairs") or []
    if not pairs or all(k == "none" for k in code.get("kinds", [])):
        return f"<div style='{_MUTED}'>no code recorded</div>"
    out = []
    for p in pairs:
        said = ", ".join(f"{p[k]} {k}" for k in ("changed", "added", "removed", "moved", "same")
                         if p.get(k))
        out.append(f"<div><b>{_E(labels[p['a']])} → {_E(labels[p['b']])}</b> "
                   f"<span style='{_MUTED}'>{_E(said or 'the same')}</span></div>")
        if p.get("script_diff"):
            out.append(_diff_pre(p["script_diff"]))
        for op in p.get("ops", []):
            if op["op"] != "same":
                out.append(f"<div style='color:{_STATUS_COLOR[op['op']]}'>"
                           f"{_E(_cell_title(op))}</div>" + _diff_pre(op_lines(op)))
    return "".join(out)


def _environment_html(env: Mapping[str, Any], labels: Sequence[str]) -> str:
    rows = [dict(env["python"], key="python")] if env.get("python") else []
    for group in ("packages", "git", "inputs"):
        rows += [dict(r, key=f"{group}: {r['key']}" if group != "packages" else r["key"])
                 for r in env.get(group, [])]
    return _rows_table(rows, labels)


def artifact_text(v: Mapping[str, Any] | None) -> str:
    if v is None:
        return "—"
    digest = str(v.get("digest", "")).split(":")[-1][:10]
    return f"{digest} · {v.get('size', 0):,} B"


def _artifacts_table(artifacts: Sequence[Mapping[str, Any]], labels: Sequence[str]) -> str:
    if not artifacts:
        return f"<div style='{_MUTED}'>no differences</div>"
    return _table(["path", *map(_E, labels), ""],
                  [[_E(a["path"]), *(_E(artifact_text(v)) for v in a["values"]),
                    _status(a["status"])] for a in artifacts])
