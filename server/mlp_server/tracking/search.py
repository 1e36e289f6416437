"""Compiling a parsed run query and an order to one SQL statement."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, func, not_, or_, select

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

_DURATION = func.coalesce(runs.c.end_time, runs.c.heartbeat_at, runs.c.start_time) - runs.c.start_time


def attribute_column(key: str) -> ColumnElement:
    if key == "experiment":
        return experiments.c.name
    if key == "duration":
        return _DURATION
    return runs.c[key]


def where_clause(node: Node) -> ColumnElement[bool]:
    """The SQL condition on ``runs`` (joined with ``experiments``) for a query AST."""
    if isinstance(node, BoolOp):
        parts = [where_clause(n) for n in node.items]
        return and_(*parts) if node.op == "and" else or_(*parts)
    if isinstance(node, Not):
        return not_(where_clause(node.item))
    return _compare(node)


def _compare(c: Compare) -> ColumnElement[bool]:
    f = c.field
    if f.kind == "attr":
        col = attribute_column(f.key)
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
    return exists(select(1).where(*present, _value_cond(f.kind, table, c)))


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


def apply_order(stmt: Select, order: list[OrderKey]) -> Select:
    """Add ORDER BY for each key (missing values last), then newest first, then id."""
    clauses = []
    for i, key in enumerate(order):
        f: Field = key.field
        if f.kind == "attr":
            cols = [attribute_column(f.key)]
        else:
            table = {"metrics": metric_latest, "params": params, "tags": tags}[f.kind].alias(f"o{i}")
            stmt = stmt.outerjoin(table, and_(table.c.run_id == runs.c.id, table.c.key == f.key))
            if f.kind == "metrics":
                cols = [table.c.last_value]
            elif f.kind == "params":
                cols = [table.c.value_num, table.c.value]
            else:
                cols = [table.c.value]
        for col in cols:
            clauses.append((col.desc() if key.descending else col.asc()).nulls_last())
    clauses += [runs.c.start_time.desc(), runs.c.id.asc()]
    return stmt.order_by(*clauses)

