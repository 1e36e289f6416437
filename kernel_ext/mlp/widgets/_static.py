"""Static HTML of the widgets: what nbconvert, nbclient and GitHub show in place of a live view.

Pure functions of the widgets' state, so the fallback always matches what the
widget was showing (and stays as small as that state: bounded by ``max_points``).
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from typing import Any

#: Line colours, shared with chart.js (a colour-blind-friendly palette).
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf")

_W, _H = 640, 300
_L, _R, _T, _B = 64, 12, 12, 28  # plot margins: left, right, top, bottom


def color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def fmt(v: float) -> str:
    """A number as a chart legend or a table shows it."""
    if not math.isfinite(v):
        return "NaN" if math.isnan(v) else "inf" if v > 0 else "-inf"
    return f"{v:.6g}"


def chart_svg(series: Mapping[str, Mapping[str, Any]], title: str = "", note: str = "") -> str:
    """An SVG line chart: ``series`` is ``{key: {"x": steps, "y": values, "n": count}}`` (and
    ``"nonfinite": {"step", "value"}`` for a key that logged NaN or inf), as ``LiveChart``'s."""
    e = html.escape
    drawn = {k: s for k, s in series.items() if len(s["x"])}
    head = (f"<div class='mlp-static-chart' style='font:12px sans-serif'>"
            f"<div><b>{e(title)}</b> <span style='color:#666'>{e(note)}</span></div>")
    if not drawn:
        notes = " ".join(_legend_item(i, k, s) for i, (k, s) in enumerate(series.items())
                         if s.get("nonfinite"))
        return head + ("<div style='color:#666;padding:8px 0'>no points yet</div>"
                       if not notes else f"<div>{notes}</div>") + "</div>"
    xs = [x for s in drawn.values() for x in (s["x"][0], s["x"][-1])]
    ys = [y for s in drawn.values() for y in s["y"]]
    x0, x1 = _span(min(xs), max(xs))
    y0, y1 = _span(min(ys), max(ys))
    pw, ph = _W - _L - _R, _H - _T - _B

    def px(x: float) -> float:
        return _L + (x - x0) / (x1 - x0) * pw

    def py(y: float) -> float:
        return _T + (1 - (y - y0) / (y1 - y0)) * ph

    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{_W}' height='{_H}' "
             f"viewBox='0 0 {_W} {_H}' role='img' aria-label='{e(title)}'>",
             f"<rect x='{_L}' y='{_T}' width='{pw}' height='{ph}' fill='none' stroke='#ccc'/>"]
    for y in (y0, (y0 + y1) / 2, y1):
        parts.append(f"<text x='{_L - 4}' y='{py(y) + 4:.1f}' text-anchor='end' "
                     f"font-size='11' fill='#555'>{e(fmt(y))}</text>")
    for x in (x0, x1):
        parts.append(f"<text x='{px(x):.1f}' y='{_H - 10}' text-anchor='middle' "
                     f"font-size='11' fill='#555'>{e(fmt(x))}</text>")
    for i, (key, s) in enumerate(series.items()):
        if not len(s["x"]):
            continue
        pts = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in zip(s["x"], s["y"], strict=True))
        parts.append(f"<polyline fill='none' stroke='{color(i)}' stroke-width='1.5' "
                     f"points='{pts}'><title>{e(key)}</title></polyline>")
    parts.append("</svg>")
    legend = " ".join(_legend_item(i, k, s) for i, (k, s) in enumerate(series.items())
                      if len(s["x"]) or s.get("nonfinite"))
    return head + "".join(parts) + f"<div>{legend}</div></div>"


def nonfinite_note(s: Mapping[str, Any]) -> str:
    """``"NaN since step 12"`` for a series that logged NaN or inf (from the lowest such
    step), else ``""``."""
    bad = s.get("nonfinite")
    return f"{bad['value']} since step {bad['step']}" if bad else ""


def _legend_item(i: int, key: str, s: Mapping[str, Any]) -> str:
    e = html.escape
    facts = []
    if len(s["x"]):
        facts.append(f"last {e(fmt(s['y'][-1]))} at step {s['x'][-1]}")
    facts.append(f"{s.get('n', len(s['x'])):,} points")
    out = (f"<span style='color:{color(i)}'>&#9632;</span> {e(key)} "
           f"<span style='color:#666'>({', '.join(facts)})</span>")
    if note := nonfinite_note(s):
        out += f" <b style='color:#b00'>{e(note)}</b>"
    return out


def _span(lo: float, hi: float) -> tuple[float, float]:
    if hi - lo > max(abs(lo), abs(hi)) * 1e-9:  # as chart.js: a constant stays one
        return lo, hi
    pad = abs(lo) * 0.05 or 1.0
    return lo - pad, hi + pad


def runs_table_html(columns: Sequence[Mapping[str, str]], rows: Sequence[Mapping[str, Any]],
                    caption: str = "", error: Mapping[str, Any] | None = None) -> str:
    """A plain HTML table: ``columns`` are ``{"field", "label"}``, ``rows`` carry ``cells``."""
    e = html.escape
    out = [f"<div class='mlp-static-runs' style='font:12px sans-serif'>"
           f"<div style='color:#555'>{e(caption)}</div>"]
    if error:
        out.append(f"<pre style='color:#b00'>{e(error.get('text') or error['message'])}</pre>")
    out.append("<table><thead><tr>"
               + "".join(f"<th style='text-align:left'>{e(c['label'])}</th>" for c in columns)
               + "</tr></thead><tbody>")
    for r in rows:
        out.append("<tr>" + "".join(f"<td>{e(str(r['cells'].get(c['field'], '')))}</td>"
                                    for c in columns) + "</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


class StaticFallback:
    """Mixed into an anywidget (before it): the widget's mime bundle also carries
    ``to_html()`` and ``_text()``, so nbconvert and nbclient keep a static view; it is shown
    under ``_display_id`` so a later ``update_display`` can replace that HTML."""

    _displayed = False
    _display_id: str

    def _text(self) -> str:
        raise NotImplementedError

    def to_html(self) -> str:
        raise NotImplementedError

    def _bundle(self) -> dict:
        data, _ = super()._repr_mimebundle_() or ({}, {})  # type: ignore[misc]
        data["text/plain"] = self._text()
        data["text/html"] = self.to_html()
        return data

    def _repr_mimebundle_(self, **kwargs) -> tuple[dict, dict]:
        return self._bundle(), {}

    def _ipython_display_(self) -> None:
        from IPython.display import display

        self._displayed = True
        display(self._bundle(), raw=True, display_id=self._display_id)
