"""How registry answers show in a notebook (HTML) and a console (text): the views the
``%mlp models / model / requests / promote / approve / reject`` magics return."""

from __future__ import annotations

import html
from datetime import datetime, timezone
from typing import Any

_STAGE_COLOR = {"production": "#2e7d32", "staging": "#ef6c00", "archived": "#757575",
                "none": "#9e9e9e"}


def _ts(t: float | None) -> str:
    if t is None:
        return ""
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _badge(stage: str) -> str:
    color = _STAGE_COLOR.get(stage, "#9e9e9e")
    return (f"<span class='jp-mlp-stage jp-mlp-stage-{html.escape(stage)}' style='background:"
            f"{color};color:white;border-radius:3px;padding:0 4px'>{html.escape(stage)}</span>")


def _run_link(run_id: str) -> str:
    e = html.escape(run_id)
    return (f"<a class='jp-mlp-open-run jp-mlp-run-{e}' data-mlp-run='{e}' href='#mlp-run={e}' "
            f"title='Open this run in the ML Platform panel'>{e[:8]}</a>")


def _table(head: list[str], rows: list[list[str]]) -> str:
    th = "".join(f"<th style='text-align:left'>{h}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td style='text-align:left'>{c}</td>" for c in r) + "</tr>"
                   for r in rows)
    return f"<table><tr>{th}</tr>{body}</table>"


class ModelsView:
    def __init__(self, models: list[dict]) -> None:
        self.models = models

    def __repr__(self) -> str:
        if not self.models:
            return "no registered models yet: mlp.register_model(run, 'name')"
        lines = [f"{'model':24} {'latest':>6} {'production':12} {'staging':10} open requests"]
        for m in self.models:
            lines.append(f"{m['name']:24} {m['latest_version'] or '-':>6} "
                         f"{','.join(map(str, m['stages']['production'])) or '-':12} "
                         f"{','.join(map(str, m['stages']['staging'])) or '-':10} "
                         f"{m['pending_requests']}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        if not self.models:
            return "<p>No registered models yet: <code>mlp.register_model(run, 'name')</code></p>"
        e = html.escape
        rows = [[f"<b>{e(m['name'])}</b>", str(m["latest_version"] or "-"),
                 " ".join(f"{_badge('production')} v{v}" for v in m["stages"]["production"]),
                 " ".join(f"{_badge('staging')} v{v}" for v in m["stages"]["staging"]),
                 e(", ".join(f"@{a}→v{v}" for a, v in sorted(m["aliases"].items()))),
                 str(m["pending_requests"]), e(m.get("description") or ""),
                 _ts(m["updated_at"])] for m in self.models]
        return _table(["model", "latest", "production", "staging", "aliases", "open requests",
                       "description", "updated"], rows)


class ModelView:
    def __init__(self, model: dict) -> None:
        self.model = model

    def __repr__(self) -> str:
        m = self.model
        lines = [f"model {m['name']}" + (f" — {m['description']}" if m.get("description") else "")]
        for v in m["versions"]:
            aliases = " ".join(f"@{a}" for a in v["aliases"])
            lines.append(f"  v{v['version']:<4} {v['stage']:11} run {v['run_id'][:8]} "
                         f"{_ts(v['created_at'])} {v.get('created_by') or ''} {aliases}".rstrip())
        for r in m["open_requests"]:
            lines.append(f"  request #{r['id']}: v{r['version']} → {r['to_stage']} by "
                         f"{r['requested_by']} ({r['status']}){': ' + r['reason'] if r['reason'] else ''}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        m, e = self.model, html.escape
        rows = [[f"v{v['version']}", _badge(v["stage"]), _run_link(v["run_id"]),
                 e(" ".join(f"@{a}" for a in v["aliases"])), e(v.get("created_by") or ""),
                 _ts(v["created_at"]), e(v.get("description") or "")] for v in m["versions"]]
        gate = m["policy"]["production"]
        policy = (f"production needs {gate['approvals']} approval(s)"
                  + (f", checks {', '.join(gate['checks'])}" if gate["checks"] else "")
                  + (f", validation {gate['validation']}" if gate["validation"] else "")
                  + (" (server default)" if m["policy_is_default"] else ""))
        out = (f"<div class='jp-mlp-model'><b>model {e(m['name'])}</b> "
               f"{e(m.get('description') or '')}<br><small>{e(policy)}</small>"
               + _table(["version", "stage", "run", "aliases", "by", "created", "description"],
                        rows))
        if m["open_requests"]:
            out += "<b>open requests</b>" + RequestsView(m["open_requests"])._rows_html()
        return out + "</div>"


class RequestsView:
    def __init__(self, requests: list[dict]) -> None:
        self.requests = requests

    def __repr__(self) -> str:
        if not self.requests:
            return "no transition requests"
        return "\n".join(_request_line(r) for r in self.requests)

    def _rows_html(self) -> str:
        e = html.escape
        rows = []
        for r in self.requests:
            checks = (r.get("checks") or {}).get("checks") or []
            have = (r.get("checks") or {}).get("approvals", {}).get("have", [])
            rows.append([f"#{r['id']}", f"{e(r['name'])} v{r['version']}",
                         f"{_badge(r['from_stage'])} → {_badge(r['to_stage'])}",
                         e(r["status"]), e(r["requested_by"]),
                         f"{len(have)}/{r['gate']['approvals']}",
                         "<br>".join(("✓ " if c["ok"] else "✗ ") + e(f"{c['check']}: {c['detail']}")
                                     for c in checks),
                         e(r.get("reason") or r.get("comment") or "")])
        return _table(["request", "model", "stage", "status", "by", "approvals", "checks",
                       "note"], rows)

    def _repr_html_(self) -> str:
        if not self.requests:
            return "<p>No transition requests.</p>"
        return self._rows_html()


def _request_line(r: dict) -> str:
    need = r["gate"]["approvals"]
    have = len((r.get("checks") or {}).get("approvals", {}).get("have", []))
    out = (f"#{r['id']} {r['name']} v{r['version']} {r['from_stage']} → {r['to_stage']}: "
           f"{r['status']} (by {r['requested_by']}, approvals {have}/{need})")
    if r.get("reason"):
        out += f" — {r['reason']}"
    return out


class RequestView(RequestsView):
    """One request, after promote / approve / reject: what happened, in one line."""

    def __init__(self, request: dict) -> None:
        super().__init__([request])

    def __repr__(self) -> str:
        r = self.requests[0]
        verb = {"applied": "applied: the version is now in", "pending": "pending for",
                "approved": "approved, held for", "rejected": "rejected for",
                "cancelled": "cancelled for"}[r["status"]]
        out = f"request #{r['id']}: {r['name']} v{r['version']} {verb} {r['to_stage']}"
        if r.get("reason"):
            out += f" — {r['reason']}"
        return out

    def _repr_html_(self) -> str:
        return f"<p>{html.escape(repr(self))}</p>" + self._rows_html()


def as_view(kind: str, data: Any) -> Any:
    return {"models": ModelsView, "model": ModelView, "requests": RequestsView,
            "request": RequestView}[kind](data)
