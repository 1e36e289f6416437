"""The run query language: parsing to a small AST and compiling it to SQL.

    metrics.loss < 0.5 and (params.depth = 6 or tags.team = 'ads')
    name like 'base%' and not status = 'failed'
    params.optimizer.name in ('adam', 'sgd') and metrics.acc is not null

Fields are ``metrics.KEY`` (the run's last value), ``params.KEY``, ``tags.KEY``
or a run attribute (see ``ATTRIBUTES``). A key with characters outside
``[A-Za-z0-9_.-/:]`` is written in backticks: ``metrics.`val loss```.
Comparisons: ``= != < <= > >= like`` (``like`` is case-insensitive, ``%`` and
``_`` are wildcards), ``in (...)``, ``is [not] null``; combined with ``and``,
``or``, ``not`` and parentheses. A comparison on a metric, param or tag that a
run does not have is false (``not`` of it is true).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from mlp.errors import QueryError

#: Run attributes a query may name, mapped to whether they hold times.
ATTRIBUTES = {
    "id": False,
    "run_id": False,
    "name": False,
    "status": False,
    "user": False,
    "host": False,
    "experiment": False,
    "parent_id": False,
    "source_name": False,
    "source_type": False,
    "start_time": True,
    "end_time": True,
    "duration": False,
}
KINDS = {"metrics": "metrics", "metric": "metrics", "params": "params", "param": "params",
         "tags": "tags", "tag": "tags", "attributes": "attr", "attribute": "attr", "attr": "attr"}
# Commas separate order keys, except inside a `backtick key`.
_ORDER_SPLIT = re.compile(r",(?=(?:[^`]*`[^`]*`)*[^`]*$)")
OPS = {"=": "=", "==": "=", "!=": "!=", "<>": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<num>[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?))(?![\w.])
  | (?P<str>'(?:[^']|'')*'(?!')|"(?:[^"]|"")*"(?!"))
  | (?P<op><=|>=|!=|<>|==|=|<|>)
  | (?P<punct>[(),])
  | (?P<ident>[A-Za-z_][\w]*(?:\.(?:`[^`]+`|[\w./:-]+))?)
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class Field:
    kind: str  # metrics | params | tags | attr
    key: str
    pos: int


@dataclass(frozen=True)
class Compare:
    field: Field
    op: str  # = != < <= > >= like not like in not in is null is not null
    value: Any
    pos: int


@dataclass(frozen=True)
class BoolOp:
    op: str  # and | or
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    item: Node


Node = Compare | BoolOp | Not


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str
    pos: int
    value: Any = None


def _tokenize(query: str) -> list[_Tok]:
    toks: list[_Tok] = []
    pos = 0
    while pos < len(query):
        m = _TOKEN.match(query, pos)
        if not m:
            ch = query[pos]
            if ch == "." and query[pos + 1:pos + 2] == "`":
                raise QueryError("unterminated backtick key: close it with `", query, pos + 1)
            if ch in "'\"":
                raise QueryError(f"unterminated string starting with {ch}", query, pos)
            raise QueryError(f"unexpected character {ch!r}", query, pos)
        kind = m.lastgroup or ""
        text = m.group()
        if kind == "num":
            toks.append(_Tok("value", text, pos, float(text) if _is_float(text) else int(text)))
        elif kind == "str":
            q = text[0]
            toks.append(_Tok("value", text, pos, text[1:-1].replace(q + q, q)))
        elif kind != "ws":
            toks.append(_Tok(kind, text, pos))
        pos = m.end()
    toks.append(_Tok("end", "", len(query)))
    return toks


def _is_float(text: str) -> bool:
    return any(c in text for c in ".eE")


class _Parser:
    def __init__(self, query: str) -> None:
        self.query = query
        self.toks = _tokenize(query)
        self.i = 0

    @property
    def tok(self) -> _Tok:
        return self.toks[self.i]

    def error(self, message: str, tok: _Tok | None = None) -> QueryError:
        return QueryError(message, self.query, (tok or self.tok).pos)

    def word(self, *words: str) -> bool:
        t = self.tok
        if t.kind == "ident" and t.text.lower() in words:
            self.i += 1
            return True
        return False

    def expect_punct(self, ch: str, what: str) -> None:
        if self.tok.kind == "punct" and self.tok.text == ch:
            self.i += 1
            return
        raise self.error(f"expected {what}, found {self._describe()}")

    def _describe(self) -> str:
        return "the end of the query" if self.tok.kind == "end" else repr(self.tok.text)

    def parse(self) -> Node:
        if self.tok.kind == "end":
            raise self.error("the query is empty")
        node = self.or_expr()
        if self.tok.kind != "end":
            raise self.error(f"expected 'and', 'or' or the end of the query, found {self._describe()}")
        return node

    def or_expr(self) -> Node:
        items = [self.and_expr()]
        while self.word("or"):
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else BoolOp("or", tuple(items))

    def and_expr(self) -> Node:
        items = [self.not_expr()]
        while self.word("and"):
            items.append(self.not_expr())
        return items[0] if len(items) == 1 else BoolOp("and", tuple(items))

    def not_expr(self) -> Node:
        if self.word("not"):
            return Not(self.not_expr())
        if self.tok.kind == "punct" and self.tok.text == "(":
            self.i += 1
            node = self.or_expr()
            self.expect_punct(")", "')' to close the parenthesis")
            return node
        return self.comparison()

    def field(self) -> Field:
        t = self.tok
        if t.kind != "ident" or t.text.lower() in ("and", "or", "not"):
            raise self.error(
                f"expected a field such as metrics.loss, params.lr, tags.team or start_time, "
                f"found {self._describe()}"
            )
        self.i += 1
        head, dot, rest = t.text.partition(".")
        if not dot:
            name = head.lower()
            if name not in ATTRIBUTES:
                raise self.error(
                    f"unknown field {t.text!r}: use metrics.KEY, params.KEY, tags.KEY or one of "
                    + ", ".join(sorted(ATTRIBUTES)),
                    t,
                )
            return Field("attr", "id" if name == "run_id" else name, t.pos)
        kind = KINDS.get(head.lower())
        if kind is None:
            raise self.error(
                f"unknown field prefix {head!r}: use metrics., params., tags. or attributes.", t
            )
        key = rest[1:-1] if rest.startswith("`") else rest
        if kind == "attr":
            if key.lower() not in ATTRIBUTES:
                raise self.error(f"unknown run attribute {key!r}", t)
            key = "id" if key.lower() == "run_id" else key.lower()
        return Field(kind, key, t.pos)

    def value(self) -> tuple[Any, int]:
        """The next literal and its position; bare true/false are booleans."""
        t = self.tok
        if t.kind == "value":
            self.i += 1
            return t.value, t.pos
        if t.kind == "ident" and t.text.lower() in ("true", "false"):
            self.i += 1
            return t.text.lower() == "true", t.pos
        raise self.error(f"expected a value (a number or a 'quoted string'), found {self._describe()}")

    def comparison(self) -> Node:
        f = self.field()
        t = self.tok
        if t.kind == "op":
            self.i += 1
            v, pos = self.value()
            return self._check(Compare(f, OPS[t.text], v, t.pos), (pos,))
        negate = self.word("not")
        if self.word("like"):
            v, pos = self.value()
            if not isinstance(v, str):
                raise QueryError("'like' takes a 'quoted pattern'", self.query, pos)
            return self._check(Compare(f, "not like" if negate else "like", v, t.pos), (pos,))
        if self.word("in"):
            self.expect_punct("(", "'(' after 'in'")
            items = [self.value()]
            while self.tok.kind == "punct" and self.tok.text == ",":
                self.i += 1
                items.append(self.value())
            self.expect_punct(")", "')' to close the list")
            return self._check(Compare(f, "not in" if negate else "in",
                                       tuple(v for v, _ in items), t.pos),
                               tuple(p for _, p in items))
        if negate:
            raise self.error(f"expected 'like' or 'in' after 'not', found {self._describe()}")
        if self.word("is"):
            neg = self.word("not")
            if not self.word("null"):
                raise self.error(f"expected 'null' after 'is', found {self._describe()}")
            return Compare(f, "is not null" if neg else "is null", None, t.pos)
        raise self.error(
            f"expected an operator (= != < <= > >= like in is) after {_name(f)}, "
            f"found {self._describe()}"
        )

    def _check(self, c: Compare, positions: tuple[int, ...]) -> Compare:
        """Type-check the values of a comparison; errors point at the offending value."""
        values = c.value if isinstance(c.value, tuple) else (c.value,)
        numeric = c.field.kind == "metrics" or (c.field.kind == "attr" and c.field.key == "duration")
        if numeric and c.op in ("like", "not like"):
            raise QueryError(f"'like' compares text; {_name(c.field)} is a number", self.query,
                             positions[0])
        if numeric:
            for v, pos in zip(values, positions, strict=True):
                if not isinstance(v, (int, float)) or isinstance(v, bool):
                    raise QueryError(
                        f"{_name(c.field)} is a number: compare it with a number, not "
                        f"{str(v).lower() if isinstance(v, bool) else repr(v)}",
                        self.query, pos)
        if c.field.kind == "attr" and not numeric and not ATTRIBUTES[c.field.key]:
            for v, pos in zip(values, positions, strict=True):
                if not isinstance(v, str):
                    raise QueryError(f"{c.field.key} is text: compare it with a 'quoted "
                                     f"string', not {str(v).lower() if isinstance(v, bool) else v}",
                                     self.query, pos)
        if c.field.kind == "attr" and ATTRIBUTES.get(c.field.key):
            times = tuple(_time(v, pos, c.field, self.query)
                          for v, pos in zip(values, positions, strict=True))
            return Compare(c.field, c.op, times if isinstance(c.value, tuple) else times[0], c.pos)
        return c


def _name(f: Field) -> str:
    return f.key if f.kind == "attr" else f"{f.kind}.{f.key}"


def _time(v: Any, pos: int, field: Field, query: str) -> float:
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    try:
        dt = datetime.fromisoformat(str(v).replace("Z", "+00:00"))
    except ValueError:
        raise QueryError(
            f"{field.key} takes a time: seconds since the epoch or an ISO date such as "
            f"'2026-11-01' or '2026-11-01T14:00:00Z', not {v!r}", query, pos) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.timestamp()


def parse(query: str) -> Node:
    """Parse a query; raises ``QueryError`` pointing at the position of the problem."""
    return _Parser(query).parse()


@dataclass(frozen=True)
class OrderKey:
    field: Field
    descending: bool


def parse_order_by(order_by: str | list[str] | tuple[str, ...] | None) -> list[OrderKey]:
    """``"-metrics.acc"``, ``"start_time desc"``, ``["params.lr", "-name"]`` → order keys."""
    if not order_by:
        return []
    specs = [s for part in ([order_by] if isinstance(order_by, str) else order_by)
             for s in _ORDER_SPLIT.split(str(part))]
    keys = []
    for raw in specs:
        body = raw.lstrip()
        desc = False
        if body.startswith(("-", "+")):
            desc, body = body[0] == "-", body[1:].lstrip()
        offset = len(raw) - len(body)
        try:
            p = _Parser(body)
            f = p.field()
            if p.word("desc"):
                desc = True
            elif p.word("asc"):
                desc = False
            if p.tok.kind != "end":
                raise p.error("expected FIELD, -FIELD or 'FIELD desc'")
        except QueryError as e:
            raise QueryError(e.reason, raw, e.position + offset, field="order_by") from None
        keys.append(OrderKey(f, desc))
    return keys
