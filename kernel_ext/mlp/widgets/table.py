"""The runs table: a page of a run search; the store sorts, filters and pages.

The view sends what the user asked for (sort by a column, a ``where`` query, the
next or previous page); this side re-queries the store and sends back one page.
Pages follow the store's keyset cursors; a stack of them leads back.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import anywidget
import traitlets as t

from .._client import get_client
from .._run import _duration
from ..errors import MLPError, QueryError
from . import _static

log = logging.getLogger("mlp")

STATIC = Path(__file__).parent / "static"

_ATTRIBUTES = (("name", "name"), ("experiment", "experiment"), ("status", "status"),
               ("user", "user"), ("start_time", "start time"), ("duration", "duration"))
_PLAIN_KEY = re.compile(r"[\w./:-]+")


def _field(prefix: str, key: str) -> str:
    """The query-language name of a param or metric (backticks around unusual keys)."""
    return f"{prefix}.{key}" if _PLAIN_KEY.fullmatch(key) else f"{prefix}.`{key}`"


def _when(ts: float | None) -> str:
    if ts is None:
        return ""
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


class RunsTable(anywidget.AnyWidget):
    """Runs of a search, a page at a time: click a header to sort, type a query to filter.

    >>> mlp.runs_table(experiment="demo", where="metrics.loss < 0.5", order_by="-start_time")
    """

    _esm = STATIC / "table.js"
    _css = STATIC / "table.css"

    where = t.Unicode("").tag(sync=True)
    order_by = t.Unicode("").tag(sync=True)
    #: ``[{"field": query field, "label", "group": "run"|"params"|"metrics"}]``
    columns: t.List[dict] = t.List().tag(sync=True)
    #: ``[{"id", "status", "cells": {field: text}}]``
    rows: t.List[dict] = t.List().tag(sync=True)
    page = t.Int(1).tag(sync=True)
    has_next = t.Bool(False).tag(sync=True)
    #: ``{}``, or ``{"message", "text"}`` plus ``"query", "position", "field"`` for a query.
    error = t.Dict().tag(sync=True)
    caption = t.Unicode("").tag(sync=True)

    def __init__(self, experiment: str | Sequence[str] | None = None, where: str | None = None,
                 order_by: str | Sequence[str] | None = None, *, page_size: int = 25) -> None:
        if isinstance(order_by, str) or order_by is None:
            order = order_by or ""
        else:
            order = ", ".join(order_by)
        super().__init__(where=where or "", order_by=order)
        self._experiment = experiment
        self._page_size = page_size
        self._cursors: list[str | None] = [None]  # the cursor of each page up to this one
        self._next: str | None = None
        self.on_msg(self._on_msg)
        self.refresh()

    # -- what the view (or a caller) asks for --------------------------------------------

    def sort(self, field: str) -> None:
        """Order by ``field``: ascending, or descending when it already was ascending."""
        self.order_by = f"-{field}" if self.order_by == field else field
        self._first_page()

    def filter(self, where: str) -> None:
        """Show only the runs matching the query (empty: all)."""
        self.where = where.strip()
        self._first_page()

    def next_page(self) -> None:
        if self._next is not None:
            self._cursors.append(self._next)
            self.refresh()

    def previous_page(self) -> None:
        if len(self._cursors) > 1:
            self._cursors.pop()
            self.refresh()

    def _first_page(self) -> None:
        self._cursors = [None]
        self.refresh()

    def _on_msg(self, _widget: Any, content: dict, _buffers: Any) -> None:
        """A request of the view. Whatever happens, it gets a ``{"type": "done", "id"}``
        reply: a request that changes nothing (the same page again, the same bad query)
        changes no synced trait, and the view would wait for one for ever."""
        try:
            kind = content.get("type")
            if kind == "sort":
                self.sort(str(content["field"]))
            elif kind == "filter":
                self.filter(str(content.get("where", "")))
            elif kind == "next":
                self.next_page()
            elif kind == "previous":
                self.previous_page()
            elif kind == "refresh":
                self.refresh()
        except Exception as e:  # shown in the table, not lost in the kernel's log
            self._show_error(e)
        finally:
            self.send({"type": "done", "id": content.get("id")})

    # -- the query -------------------------------------------------------------------

    def refresh(self) -> None:
        """Query the store for the current page again."""
        client = get_client()
        try:
            transport = client.transport
            if client.owned:
                # The latest metrics of this kernel's runs. Neither raised nor taken here:
                # a refusal (of points of some run) is for the code that logged them.
                client.flusher.flush(raise_errors=False)
            page = transport.search_runs(self._experiment, self.where or None,
                                         self.order_by or None, self._page_size,
                                         self._cursors[-1])
        except Exception as e:  # a bad query, or the store away: said in the table
            self._show_error(e)
            return
        runs = page["runs"]
        self._next = page["next_cursor"]
        with self.hold_sync():
            self.error = {}
            self.columns = _columns(runs)
            self.rows = [_row(r) for r in runs]
            self.page = len(self._cursors)
            self.has_next = self._next is not None
            self.caption = self._caption(len(runs))

    def _show_error(self, e: Exception) -> None:
        error: dict[str, Any]
        if isinstance(e, MLPError):
            error = {"message": e.message, "text": str(e), "field": e.field}
        else:
            log.debug("mlp: runs table query failed", exc_info=e)
            text = f"could not query the runs: {type(e).__name__}: {e}"
            error = {"message": text, "text": text, "field": None}
        if isinstance(e, QueryError):
            error.update(message=e.reason, query=e.query, position=e.position)
        with self.hold_sync():
            self.error = error
            self.rows = []
            self.has_next = False
            self.caption = self._caption(0)

    def _caption(self, n: int) -> str:
        exp = self._experiment
        scope = ("all experiments" if not exp else exp if isinstance(exp, str)
                 else ", ".join(exp))
        first = (len(self._cursors) - 1) * self._page_size
        rows = f"runs {first + 1}–{first + n}" if n else "no runs"
        parts = [scope, f"page {len(self._cursors)}", rows]
        if self.where:
            parts.append(f"where {self.where}")
        if self.order_by:
            parts.append(f"order by {self.order_by}")
        return " · ".join(parts)

    # -- display -----------------------------------------------------------------------

    def to_html(self) -> str:
        """The static table of the current page."""
        return _static.runs_table_html(self.columns, self.rows, self.caption, self.error)

    def _repr_mimebundle_(self, **kwargs: Any) -> tuple[dict, dict]:
        data, meta = super()._repr_mimebundle_() or ({}, {})
        data["text/plain"] = f"<RunsTable {self.caption}>"
        data["text/html"] = self.to_html()
        return data, meta


def _columns(runs: list[dict]) -> list[dict[str, str]]:
    cols = [{"field": f, "label": label, "group": "run"} for f, label in _ATTRIBUTES]
    for group in ("params", "metrics"):
        keys = sorted({k for r in runs for k in r[group]})
        cols += [{"field": _field(group, k), "label": k, "group": group} for k in keys]
    return cols


def _row(r: dict) -> dict[str, Any]:
    cells: dict[str, str] = {
        "name": r["name"], "experiment": r["experiment"], "status": r["status"],
        "user": r.get("user") or "", "start_time": _when(r.get("start_time")),
        "duration": _duration(r.get("duration")),
    }
    for k, v in r["params"].items():
        cells[_field("params", k)] = str(v)
    for k, v in r["metrics"].items():
        cells[_field("metrics", k)] = "" if v is None else _static.fmt(float(v))
    return {"id": r["id"], "status": r["status"], "cells": cells}
