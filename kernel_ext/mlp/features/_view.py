"""What ``%mlp features`` shows: the views with freshness badges, or one view's schema,
statistics, freshness and newest rows. HTML in a notebook, text elsewhere."""

from __future__ import annotations

import time
from html import escape
from typing import Any

_BADGE = {"fresh": ("#1a7f37", "fresh"), "stale": ("#cf222e", "stale"),
          "never": ("#6e7781", "never materialized"), "unmonitored": ("#9a6700", "no SLO")}


def _human(seconds: float | None) -> str:
    from . import _human as h

    return h(seconds) or "-"


def _when(ts: float | None) -> str:
    if ts is None:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(ts))


def badge_text(f: dict | None) -> str:
    if not f:
        return "-"
    label = _BADGE.get(f["status"], ("", f["status"]))[1]
    if f["status"] in ("fresh", "stale"):
        return f"{label} · {_human(f['age'])} old, SLO {_human(f['slo'])}"
    if f["status"] == "unmonitored":
        return f"{label} · {_human(f['age'])} old"
    return label


def _badge(f: dict | None) -> str:
    if not f:
        return ""
    color = _BADGE.get(f["status"], ("#6e7781", ""))[0]
    return (f"<span style='background:{color};color:white;border-radius:8px;"
            f"padding:1px 7px;font-size:90%'>{escape(badge_text(f))}</span>")


class ViewsList:
    """``%mlp features``."""

    def __init__(self, views: list[dict]) -> None:
        self.views = views

    def __repr__(self) -> str:
        if not self.views:
            return "no feature views yet: define one with mlp.features.feature_view(...)"
        lines = [f"{'view':24} {'ver':>3}  {'keys':18} {'feats':>5}  {'owner':12} freshness"]
        for v in self.views:
            lines.append(f"{v['name']:24} {v['version']:>3}  "
                         f"{', '.join(v['join_keys']) or '(global)':18} "
                         f"{len(v['features']):>5}  {str(v.get('owner') or '-'):12} "
                         f"{badge_text(v.get('freshness'))}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        if not self.views:
            return f"<p>{escape(repr(self))}</p>"
        rows = "".join(
            f"<tr><td><b>{escape(v['name'])}</b></td><td>{v['version']}</td>"
            f"<td><code>{escape(', '.join(v['join_keys']) or '(global)')}</code></td>"
            f"<td>{len(v['features'])}</td><td>{_human(v.get('ttl'))}</td>"
            f"<td>{escape(str(v.get('owner') or ''))}</td><td>{_badge(v.get('freshness'))}</td>"
            f"<td>{escape(v.get('description') or '')}</td></tr>" for v in self.views)
        return ("<table class='mlp-features'><tr><th>view</th><th>version</th><th>keys</th>"
                "<th>features</th><th>TTL</th><th>owner</th><th>freshness</th>"
                f"<th>description</th></tr>{rows}</table>")


class ViewDetail:
    """``%mlp features VIEW``: schema with statistics, freshness and a sample."""

    def __init__(self, view: dict, stats: dict | None, fresh: dict | None, sample: Any,
                 errors: list[str]) -> None:
        self.view, self.stats, self.fresh, self.sample, self.errors = \
            view, stats, fresh, sample, errors

    def _schema(self) -> list[tuple[str, str, Any, Any, Any, Any]]:
        st = (self.stats or {}).get("features", {})
        return [(f["name"], f["dtype"], st.get(f["name"], {}).get("nulls"),
                 st.get(f["name"], {}).get("min"), st.get(f["name"], {}).get("max"),
                 st.get(f["name"], {}).get("mean")) for f in self.view["features"]]

    def __repr__(self) -> str:
        v = self.view
        out = [f"{v['name']} v{v['version']} (of {v.get('latest_version', v['version'])}) "
               f"keys={', '.join(v['join_keys']) or '(global)'} event_time={v['event_time']} "
               f"created_time={v.get('created_time') or '-'} ttl={_human(v.get('ttl'))}",
               f"owner {v.get('owner') or '-'} · {v.get('description') or ''}",
               f"freshness: {badge_text(self.fresh)}; newest event online "
               f"{_when((self.fresh or {}).get('newest_event_time'))}, last materialized "
               f"{_when((self.fresh or {}).get('last_materialized'))}"]
        if self.stats:
            out.append(f"{self.stats['rows']:,} rows, {self.stats['keys']:,} keys, events "
                       f"{_when(self.stats['event_time_min'])} .. "
                       f"{_when(self.stats['event_time_max'])}")
        out.append(f"{'feature':20} {'dtype':9} {'nulls':>8} {'min':>10} {'max':>10} "
                   f"{'mean':>10}")
        for name, dt, nulls, lo, hi, mean in self._schema():
            out.append(f"{name:20} {dt:9} {_fmt(nulls):>8} {_fmt(lo):>10} {_fmt(hi):>10} "
                       f"{_fmt(mean):>10}")
        out += [f"({e})" for e in self.errors]
        if self.sample is not None:
            out += ["newest rows:", self.sample.to_string(index=False, max_rows=20)]
        return "\n".join(out)

    def _repr_html_(self) -> str:
        v = self.view
        src = v["source"]
        where = src.get("uri") or src.get("query") or f"a stored DataFrame ({src.get('rows')} " \
                                                       "rows)"
        rows = "".join(f"<tr><td><code>{escape(n)}</code></td><td>{d}</td><td>{_fmt(nl)}</td>"
                       f"<td>{_fmt(lo)}</td><td>{_fmt(hi)}</td><td>{_fmt(m)}</td></tr>"
                       for n, d, nl, lo, hi, m in self._schema())
        stats = ""
        if self.stats:
            stats = (f"{self.stats['rows']:,} rows · {self.stats['keys']:,} keys · events "
                     f"{_when(self.stats['event_time_min'])} – "
                     f"{_when(self.stats['event_time_max'])}<br>")
        fr = self.fresh or {}
        errs = "".join(f"<p style='color:#cf222e'>{escape(e)}</p>" for e in self.errors)
        sample = "" if self.sample is None else \
            f"<details><summary>newest rows</summary>{self.sample.to_html(index=False)}</details>"
        return (f"<div><h4 style='margin:4px 0'>{escape(v['name'])} "
                f"<small>version {v['version']} of {v.get('latest_version', v['version'])}"
                f"</small> {_badge(self.fresh)}</h4>"
                f"<p>{escape(v.get('description') or '')}</p>"
                f"keys <code>{escape(', '.join(v['join_keys']) or '(global)')}</code> · event "
                f"time <code>{escape(v['event_time'])}</code> · created time "
                f"<code>{escape(v.get('created_time') or '-')}</code> · TTL "
                f"{_human(v.get('ttl'))} · owner {escape(str(v.get('owner') or '-'))}<br>"
                f"source <code>{escape(str(where))}</code><br>{stats}"
                f"newest event online {_when(fr.get('newest_event_time'))} · last "
                f"materialized {_when(fr.get('last_materialized'))}"
                f"<table><tr><th>feature</th><th>dtype</th><th>nulls</th><th>min</th>"
                f"<th>max</th><th>mean</th></tr>{rows}</table>{errs}{sample}</div>")


def _fmt(x: Any) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.4g}"
    if isinstance(x, int):
        return f"{x:,}"
    return str(x)
