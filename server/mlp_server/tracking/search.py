"""Compiling a parsed run query and an order to SQL, with keyset paging."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    exists,
    false,
    func,
    literal,
    not_,
    or_,
    select,
)

from ..store.schema import experiments, metric_latest, params, runs, tags
from .query import BoolOp, Compare, Field, Node, Not, OrderKey

_CMP = {
    "=": lambda c, v: c == v,
    "!=": lambda c, v: c != v,
    "<": lambda c, v: c < v,
    "<=": lambda c, v: c <= v,
    ">": lambda c, v: c > v,
    ">=": lambda c, v: c >= v,
    "like": lambda c, v: c.ilike(v),
    "not like": lambda c, v: not_(c.ilike(v)),
    "in": lambda c, v: c.in_(v),
    "not in": lambda c, v: c.not_in(v),
}

def attribute_column(key: str, now: float | None = None) -> ColumnElement:
    if key == "experiment":
        return experiments.c.name
    if key == "duration":
        # A running run's duration counts up to now.
        now = time.time() if now is None else now
        return func.coalesce(runs.c.end_time, literal(now)) - runs.c.start_time
    return runs.c[key]


def where_clause(node: Node, now: float | None = None,
                 selective: Callable[[Select], list[str] | None] | None = None
                 ) -> ColumnElement[bool]:
    """The SQL condition on ``runs`` (joined with ``experiments``) for a query AST.

    ``selective(ids_query)`` returns the run ids a metric condition matches when they are
    few (else None); those conditions become a list of ids rather than a per-run probe.
    """
    if isinstance(node, BoolOp):
        parts = [where_clause(n, now, selective) for n in node.items]
        return and_(*parts) if node.op == "and" else or_(*parts)
    if isinstance(node, Not):
        return not_(where_clause(node.item, now, selective))
    return _compare(node, now, selective)


def _compare(c: Compare, now: float | None,
             selective: Callable[[Select], list[str] | None] | None = None
             ) -> ColumnElement[bool]:
    f = c.field
    if f.kind == "attr":
        col = attribute_column(f.key, now)
        if c.op == "is null":
            return col.is_(None)
        if c.op == "is not null":
            return col.is_not(None)
        cond = _CMP[c.op](col, c.value)
        # Guarded so that `not parent_id = 'x'` keeps the runs that have no parent.
        return and_(col.is_not(None), cond) if getattr(col, "nullable", False) else cond
    table = {"metrics": metric_latest, "params": params, "tags": tags}[f.kind]
    present = [table.c.run_id == runs.c.id, table.c.key == f.key]
    if c.op == "is null":
        return not_(exists(select(1).where(*present)))
    if c.op == "is not null":
        return exists(select(1).where(*present))
    few = selective(metric_matches(c)) if f.kind == "metrics" and selective else None
    if few is not None:
        # Few runs match: name them, instead of probing every run walked in order. Neither
        # planner can see how few match (the values of all metrics share one column's
        # statistics); a list of ids it can.
        return runs.c.id.in_(few)
    return exists(select(1).where(*present, _value_cond(f.kind, table, c)))


def metric_matches(c: Compare) -> Select:
    """The ids of the runs whose metric satisfies the comparison."""
    return select(metric_latest.c.run_id).where(metric_latest.c.key == c.field.key,
                                                _value_cond("metrics", metric_latest, c))


def _value_cond(kind: str, table: Any, c: Compare) -> ColumnElement[bool]:
    if kind == "metrics":
        return _CMP[c.op](table.c.last_value, c.value)
    values = c.value if isinstance(c.value, tuple) else (c.value,)
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    if kind == "params" and numeric and c.op not in ("like", "not like"):
        return _CMP[c.op](table.c.value_num, c.value)
    as_text = tuple(_text(v) for v in values)
    # A bare true/false matches however the value was spelled when logged (Python's True).
    col = func.lower(table.c.value) if any(isinstance(v, bool) for v in values) else table.c.value
    return _CMP[c.op](col, as_text if isinstance(c.value, tuple) else as_text[0])


def _text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


@dataclass(frozen=True)
class SortKey:
    expr: ColumnElement
    descending: bool
    nullable: bool

    def clause(self) -> ColumnElement:
        c = self.expr.desc() if self.descending else self.expr.asc()
        # Only where NULLs can occur: "NULLS LAST" on a NOT NULL column keeps PostgreSQL
        # from walking the index backwards.
        return c.nulls_last() if self.nullable else c


#: Every order ends with these, so the order is total and a cursor can resume it.
TIE_BREAK = [SortKey(runs.c.start_time, True, False), SortKey(runs.c.id, False, False)]


def apply_order(stmt: Select, order: list[OrderKey], now: float | None = None
                ) -> tuple[Select, list[SortKey]]:
    """Join what the order needs; return the statement and its sort keys (missing last)."""
    keys: list[SortKey] = []
    for i, key in enumerate(order):
        f: Field = key.field
        if f.kind == "attr":
            col = attribute_column(f.key, now)
            keys.append(SortKey(col, key.descending, getattr(col, "nullable", True)))
            continue
        table = {"metrics": metric_latest, "params": params, "tags": tags}[f.kind].alias(f"o{i}")
        stmt = stmt.outerjoin(table, and_(table.c.run_id == runs.c.id, table.c.key == f.key))
        if f.kind == "metrics":
            keys.append(SortKey(table.c.last_value, key.descending, True))
        elif f.kind == "params":
            keys += [SortKey(table.c.value_num, key.descending, True),
                     SortKey(table.c.value, key.descending, True)]
        else:
            keys.append(SortKey(table.c.value, key.descending, True))
    keys += TIE_BREAK
    return stmt.order_by(*(k.clause() for k in keys)), keys


def after(keys: list[SortKey], values: list[Any]) -> ColumnElement[bool]:
    """Rows that come after the row whose sort values are ``values`` (keyset paging)."""
    ors = []
    equal: list[ColumnElement[bool]] = []
    for key, v in zip(keys, values, strict=True):
        if v is None:
            # Missing values sort last: nothing with a value comes after a missing one.
            equal.append(key.expr.is_(None))
            continue
        later = key.expr < v if key.descending else key.expr > v
        if key.nullable:
            later = or_(later, key.expr.is_(None))
        ors.append(and_(*equal, later))
        equal.append(key.expr == v)
    if not ors:
        return false()
    first, v0 = keys[0], values[0]
    if not first.nullable and v0 is not None:
        # The same rows, with a bound on the first key the database can seek an index to
        # (SQLite scans for an OR of ranges).
        bound = first.expr <= v0 if first.descending else first.expr >= v0
        return and_(bound, or_(*ors))
    return or_(*ors)
