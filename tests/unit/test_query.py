"""The run query language: parse() and parse_order_by() build the right AST, and every
malformed query raises a QueryError that says what was expected and points at the problem."""

from __future__ import annotations

import calendar
import re

import pytest
from sqlalchemy import select
from sqlalchemy.dialects import sqlite

from mlp.errors import InvalidInput, QueryError
from mlp_server.store.schema import runs
from mlp_server.tracking.query import (
    ATTRIBUTES,
    BoolOp,
    Compare,
    Field,
    Not,
    OrderKey,
    parse,
    parse_order_by,
)
from mlp_server.tracking.search import where_clause

# -- helpers ----------------------------------------------------------------------------------


def shape(node):
    """The AST without positions: ("and"|"or", [...]), ("not", x) or (kind, key, op, value)."""
    if isinstance(node, BoolOp):
        return (node.op, [shape(n) for n in node.items])
    if isinstance(node, Not):
        return ("not", shape(node.item))
    assert isinstance(node, Compare)
    return (node.field.kind, node.field.key, node.op, node.value)


def parse_error(query: str) -> QueryError:
    with pytest.raises(QueryError) as info:
        parse(query)
    return info.value


def order_error(order_by) -> QueryError:
    with pytest.raises(QueryError) as info:
        parse_order_by(order_by)
    return info.value


def epoch(*ymdhms: int) -> float:
    """Seconds since the epoch of a UTC time, computed without datetime."""
    return float(calendar.timegm((*ymdhms, *(0,) * (6 - len(ymdhms)))))


def sql(query: str) -> str:
    """The WHERE clause of a query, compiled for SQLite with literal values, on one line."""
    stmt = select(runs.c.id).where(where_clause(parse(query)))
    text = str(stmt.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}))
    return " ".join(text.split())


A = ("metrics", "a", "<", 1)
B = ("metrics", "b", "<", 2)
C = ("metrics", "c", "<", 3)


# -- precedence -------------------------------------------------------------------------------


def test_and_binds_tighter_than_or():
    assert shape(parse("metrics.a < 1 or metrics.b < 2 and metrics.c < 3")) == (
        "or", [A, ("and", [B, C])])
    assert shape(parse("metrics.a < 1 and metrics.b < 2 or metrics.c < 3")) == (
        "or", [("and", [A, B]), C])


def test_parentheses_override_precedence():
    assert shape(parse("(metrics.a < 1 or metrics.b < 2) and metrics.c < 3")) == (
        "and", [("or", [A, B]), C])
    assert shape(parse("metrics.a < 1 and (metrics.b < 2 or metrics.c < 3)")) == (
        "and", [A, ("or", [B, C])])


def test_chains_of_the_same_operator_flatten_into_one_node():
    assert shape(parse("metrics.a < 1 and metrics.b < 2 and metrics.c < 3")) == ("and", [A, B, C])
    assert shape(parse("metrics.a < 1 or metrics.b < 2 or metrics.c < 3")) == ("or", [A, B, C])


def test_redundant_parentheses_are_transparent():
    assert shape(parse("((metrics.a < 1))")) == A
    assert shape(parse("( metrics.a < 1 )")) == A


def test_not_binds_tighter_than_and():
    assert shape(parse("not metrics.a < 1 and metrics.b < 2")) == ("and", [("not", A), B])


def test_not_applies_to_a_parenthesised_group():
    assert shape(parse("not (metrics.a < 1 or metrics.b < 2)")) == ("not", ("or", [A, B]))


def test_not_can_be_repeated():
    assert shape(parse("not not metrics.a < 1")) == ("not", ("not", A))


def test_single_comparison_is_not_wrapped_in_a_bool_op():
    node = parse("metrics.a < 1")
    assert isinstance(node, Compare)


def test_readme_examples_parse():
    assert shape(parse("metrics.loss < 0.5 and (params.depth = 6 or tags.team = 'ads')")) == (
        "and", [("metrics", "loss", "<", 0.5),
                ("or", [("params", "depth", "=", 6), ("tags", "team", "=", "ads")])])
    assert shape(parse("params.optimizer.name in ('adam', 'sgd') and not status = 'failed'")) == (
        "and", [("params", "optimizer.name", "in", ("adam", "sgd")),
                ("not", ("attr", "status", "=", "failed"))])
    assert shape(parse("name like 'baseline%' and start_time >= '2026-11-01'")) == (
        "and", [("attr", "name", "like", "baseline%"),
                ("attr", "start_time", ">=", epoch(2026, 11, 1))])
    assert shape(parse("metrics.`val/loss` is not null")) == (
        "metrics", "val/loss", "is not null", None)


# -- operators --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "normalised"),
    [("=", "="), ("==", "="), ("!=", "!="), ("<>", "!="),
     ("<", "<"), ("<=", "<="), (">", ">"), (">=", ">=")],
)
def test_comparison_operators_normalise_aliases(op, normalised):
    assert shape(parse(f"metrics.loss {op} 0.5")) == ("metrics", "loss", normalised, 0.5)


@pytest.mark.parametrize("op", ["=", "==", "!=", "<>", "<", "<=", ">", ">="])
def test_comparison_operators_need_no_spaces(op):
    node = parse(f"metrics.loss{op}0.5")
    assert shape(node)[3] == 0.5


def test_like_and_not_like():
    assert shape(parse("name like 'base%'")) == ("attr", "name", "like", "base%")
    assert shape(parse("tags.team not like 'a_s'")) == ("tags", "team", "not like", "a_s")


def test_in_and_not_in_hold_a_tuple_of_values():
    assert shape(parse("params.opt in ('adam', 'sgd')")) == (
        "params", "opt", "in", ("adam", "sgd"))
    assert shape(parse("params.depth not in (4, 6.5, -1)")) == (
        "params", "depth", "not in", (4, 6.5, -1))


def test_in_with_a_single_value_is_still_a_tuple():
    assert shape(parse("params.opt in ('adam')")) == ("params", "opt", "in", ("adam",))


def test_is_null_and_is_not_null():
    assert shape(parse("metrics.acc is null")) == ("metrics", "acc", "is null", None)
    assert shape(parse("metrics.acc is not null")) == ("metrics", "acc", "is not null", None)
    assert shape(parse("end_time is null")) == ("attr", "end_time", "is null", None)


# -- fields and keys --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind"),
    [("metrics", "metrics"), ("metric", "metrics"), ("params", "params"), ("param", "params"),
     ("tags", "tags"), ("tag", "tags")],
)
def test_field_prefixes_and_their_singulars(text, kind):
    assert parse(f"{text}.x is null").field.kind == kind


def test_keys_keep_dots_after_the_prefix():
    assert shape(parse("params.optimizer.name = 'adam'")) == (
        "params", "optimizer.name", "=", "adam")


@pytest.mark.parametrize("key", ["val-loss", "train/loss", "epoch:3", "a.b/c-d:e_f", "x9"])
def test_keys_may_hold_letters_digits_and_dot_dash_slash_colon(key):
    assert parse(f"metrics.{key} < 1").field.key == key


def test_backtick_keys_may_hold_spaces_and_other_characters():
    assert shape(parse("metrics.`val loss` < 0.5")) == ("metrics", "val loss", "<", 0.5)
    assert shape(parse("params.`lr (init)` = 0.1")) == ("params", "lr (init)", "=", 0.1)
    assert shape(parse("tags.`a=b` = 'c'")) == ("tags", "a=b", "=", "c")


def test_keys_keep_their_case_while_prefixes_do_not():
    assert shape(parse("METRICS.Val_Loss < 1")) == ("metrics", "Val_Loss", "<", 1)


def test_field_and_comparison_record_their_positions():
    node = parse("name = 'x' and  metrics.loss  <= 1")
    first, second = node.items
    assert first.field == Field("attr", "name", 0)
    assert first.pos == 5
    assert second.field.pos == 16
    assert second.pos == 30


# -- values -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [("0", 0), ("42", 42), ("-3", -3), ("+3", 3), ("0.5", 0.5), (".5", 0.5), ("5.", 5.0),
     ("-0.25", -0.25), ("1e-3", 1e-3), ("1E5", 1e5), ("-2.5e+2", -250.0), (".5e1", 5.0)],
)
def test_numbers(text, value):
    got = parse(f"metrics.loss > {text}").value
    assert got == value
    assert type(got) is type(value)


def test_integers_stay_ints_and_anything_with_a_point_or_exponent_is_a_float():
    assert type(parse("params.depth = 6").value) is int
    assert type(parse("params.depth = 6.0").value) is float
    assert type(parse("params.depth = 6e0").value) is float


def test_negative_number_right_after_an_operator():
    assert parse("metrics.loss>-1").value == -1
    assert parse("metrics.loss>=-1e-3").value == -1e-3


@pytest.mark.parametrize(
    ("text", "value"),
    [("'adam'", "adam"), ('"adam"', "adam"), ("''", ""), ('""', ""),
     ("'it''s'", "it's"), ('"say ""hi"""', 'say "hi"'),
     ("'say \"hi\"'", 'say "hi"'), ('"it\'s"', "it's"),
     ("'a and b or c'", "a and b or c"), ("'(x)'", "(x)"), ("' 1 '", " 1 ")],
)
def test_quoted_strings(text, value):
    assert parse(f"tags.t = {text}").value == value


def test_a_quoted_number_stays_a_string():
    assert parse("params.depth = '6'").value == "6"


@pytest.mark.parametrize(("text", "value"), [("true", "true"), ("false", "false"),
                                             ("TRUE", "true"), ("False", "false")])
def test_bare_true_and_false_are_booleans_in_any_case(text, value):
    assert parse(f"params.flag = {text}").value is (value == "true")


def test_true_and_false_in_a_list():
    assert parse("tags.ok in (true, false)").value == (True, False)


# -- attributes -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(set(ATTRIBUTES) - {"run_id", "start_time", "end_time",
                                                          "duration"}))
def test_every_text_attribute_is_a_field(name):
    assert shape(parse(f"{name} = 'x'")) == ("attr", name, "=", "x")


def test_run_id_is_an_alias_of_id():
    assert shape(parse("run_id = 'abc'")) == ("attr", "id", "=", "abc")
    assert shape(parse("attributes.run_id = 'abc'")) == ("attr", "id", "=", "abc")


@pytest.mark.parametrize("prefix", ["attributes", "attribute", "attr", "ATTRIBUTES"])
def test_attribute_prefix(prefix):
    assert shape(parse(f"{prefix}.status = 'failed'")) == ("attr", "status", "=", "failed")


def test_attribute_names_are_case_insensitive():
    assert shape(parse("Status = 'failed'")) == ("attr", "status", "=", "failed")
    assert shape(parse("attributes.STATUS = 'failed'")) == ("attr", "status", "=", "failed")


def test_duration_compares_with_numbers():
    assert shape(parse("duration > 60")) == ("attr", "duration", ">", 60)
    assert shape(parse("duration in (1, 2.5)")) == ("attr", "duration", "in", (1, 2.5))


# -- times ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("'2026-11-01'", epoch(2026, 11, 1)),
        ("'2026-11-01T14:00:00Z'", epoch(2026, 11, 1, 14)),
        ("'2026-11-01T14:00:00'", epoch(2026, 11, 1, 14)),
        ("'2026-11-01 14:00'", epoch(2026, 11, 1, 14)),
        ("'2026-11-01T14:00:00+02:00'", epoch(2026, 11, 1, 12)),
        ("'2026-11-01T14:00:00-05:30'", epoch(2026, 11, 1, 19, 30)),
        ("'2026-11-01T14:00:00.5Z'", epoch(2026, 11, 1, 14) + 0.5),
        ('"2026-11-01"', epoch(2026, 11, 1)),
    ],
)
def test_iso_times_become_epoch_seconds_utc_unless_an_offset_is_given(text, seconds):
    assert parse(f"start_time >= {text}").value == seconds


def test_naive_iso_time_is_utc():
    assert parse("end_time < '2026-01-01T00:00:00'").value == parse(
        "end_time < '2026-01-01T00:00:00Z'").value == epoch(2026, 1, 1)


def test_epoch_numbers_become_float_seconds():
    value = parse("start_time > 1700000000").value
    assert value == 1700000000.0
    assert type(value) is float


def test_time_lists_convert_every_item():
    assert shape(parse("start_time in ('2026-11-01', 0)")) == (
        "attr", "start_time", "in", (epoch(2026, 11, 1), 0.0))


def test_time_attribute_through_the_attributes_prefix_converts_too():
    assert parse("attributes.END_TIME <= '2026-11-01'").value == epoch(2026, 11, 1)


def test_time_is_null_keeps_none():
    assert parse("end_time is not null").value is None


# -- case-insensitive keywords ----------------------------------------------------------------


def test_keywords_are_case_insensitive():
    assert shape(parse("NOT metrics.a < 1 AND metrics.b < 2 Or metrics.c < 3")) == (
        "or", [("and", [("not", A), B]), C])
    assert shape(parse("name LIKE 'x%'")) == ("attr", "name", "like", "x%")
    assert shape(parse("name Not Like 'x%'")) == ("attr", "name", "not like", "x%")
    assert shape(parse("params.o IN ('a')")) == ("params", "o", "in", ("a",))
    assert shape(parse("params.o NOT IN ('a')")) == ("params", "o", "not in", ("a",))
    assert shape(parse("metrics.a IS NULL")) == ("metrics", "a", "is null", None)
    assert shape(parse("metrics.a Is Not Null")) == ("metrics", "a", "is not null", None)


# -- errors -----------------------------------------------------------------------------------

ERRORS = [
    # (query, position, fragments of the message)
    ("", 0, ["the query is empty"]),
    ("   ", 3, ["the query is empty"]),
    ("metrics.loss <", 14, ["expected a value", "found the end of the query"]),
    ("metrics.loss < and metrics.b < 1", 15, ["expected a value", "found 'and'"]),
    ("metrics.loss < < 1", 15, ["expected a value", "found '<'"]),
    ("metrics.loss < 1 and", 20, ["expected a field", "metrics.loss",
                                  "found the end of the query"]),
    ("metrics.loss < 0.5 or", 21, ["expected a field", "found the end of the query"]),
    ("metrics.loss = 1 and or x = 2", 21, ["expected a field", "found 'or'"]),
    ("and = 1", 0, ["expected a field", "found 'and'"]),
    ("= 1", 0, ["expected a field", "found '='"]),
    ("not", 3, ["expected a field", "found the end of the query"]),
    ("()", 1, ["expected a field", "found ')'"]),
    ("metrics.loss", 12, ["expected an operator", "after metrics.loss",
                          "found the end of the query"]),
    ("params.lr 0.1", 10, ["expected an operator", "after params.lr", "found '0.1'"]),
    ("status 'x'", 7, ["expected an operator", "found \"'x'\""]),
    ("(metrics.loss < 1", 17, ["expected ')' to close the parenthesis",
                               "found the end of the query"]),
    ("((metrics.loss < 1) and metrics.b < 2", 37, ["expected ')' to close the parenthesis"]),
    ("metrics.loss <= 1)", 17, ["expected 'and', 'or' or the end of the query", "found ')'"]),
    ("name = 'abc", 7, ["unterminated string", "'"]),
    ('name = "abc', 7, ["unterminated string", '"']),
    ("name = 'a' and tags.t = 'b", 24, ["unterminated string"]),
    ("metrics.loss ~ 3", 13, ["unexpected character '~'"]),
    ("metrics.loss < 1 ;", 17, ["unexpected character ';'"]),
    ("foo = 1", 0, ["unknown field 'foo'", "metrics.KEY", "params.KEY", "tags.KEY",
                    "start_time"]),
    ("metrics.a < 1 and bogus = 2", 18, ["unknown field 'bogus'"]),
    ("foo.bar = 1", 0, ["unknown field prefix 'foo'", "metrics.", "params.", "tags.",
                        "attributes."]),
    ("attributes.foo = 1", 0, ["unknown run attribute 'foo'"]),
    ("name not = 'x'", 9, ["expected 'like' or 'in' after 'not'", "found '='"]),
    ("name not 'x'", 9, ["expected 'like' or 'in' after 'not'", "found \"'x'\""]),
    ("name not", 8, ["expected 'like' or 'in' after 'not'", "found the end of the query"]),
    ("metrics.loss is 3", 16, ["expected 'null' after 'is'", "found '3'"]),
    ("metrics.loss is not 3", 20, ["expected 'null' after 'is'", "found '3'"]),
    ("metrics.loss is", 15, ["expected 'null' after 'is'", "found the end of the query"]),
    ("name in 'a'", 8, ["expected '(' after 'in'", "found \"'a'\""]),
    ("name in ()", 9, ["expected a value", "found ')'"]),
    ("name in ('a',)", 13, ["expected a value", "found ')'"]),
    ("name in ('a'", 12, ["expected ')' to close the list", "found the end of the query"]),
    ("name in ('a' 'b')", 13, ["expected ')' to close the list", "found \"'b'\""]),
    ("metrics.loss < 1 2", 17, ["expected 'and', 'or' or the end of the query", "found '2'"]),
    ("tags.t = true false", 14, ["expected 'and', 'or' or the end of the query",
                               "found 'false'"]),
    ("name = adam", 7, ["expected a value (a number or a 'quoted string')", "found 'adam'"]),
]

# Values of the wrong type are found once the comparison is parsed. Their messages are right;
# their positions are the value's.
VALUE_ERRORS = [
    # (query, position of the offending value, fragments of the message)
    ("metrics.loss = 'a'", 15, ["metrics.loss is a number", "compare it with a number",
                                "not 'a'"]),
    ("metrics.loss in (1, 'a')", 20, ["metrics.loss is a number", "not 'a'"]),
    ("metrics.loss = true", 15, ["metrics.loss is a number", "not true"]),
    ("duration > '5'", 11, ["duration is a number", "not '5'"]),
    ("name like 3", 10, ["'like' takes a 'quoted pattern'"]),
    ("name not like 3", 14, ["'like' takes a 'quoted pattern'"]),
    ("start_time > 'yesterday'", 13, ["start_time takes a time", "seconds since the epoch",
                                      "ISO date", "not 'yesterday'"]),
    ("end_time < '2026-13-01'", 11, ["end_time takes a time", "not '2026-13-01'"]),
    ("start_time in ('2026-11-01', 'soon')", 29, ["start_time takes a time", "not 'soon'"]),
]


@pytest.mark.parametrize(("query", "position", "fragments"), ERRORS,
                         ids=[repr(e[0]) for e in ERRORS])
def test_malformed_query_raises_query_error_at_the_offending_token(query, position, fragments):
    err = parse_error(query)
    assert err.position == position, err.reason
    for fragment in fragments:
        assert fragment in err.reason
    assert err.query == query
    assert err.field == "where"


@pytest.mark.parametrize(("query", "position", "fragments"), VALUE_ERRORS,
                         ids=[repr(e[0]) for e in VALUE_ERRORS])
def test_value_of_the_wrong_type_raises_query_error_saying_what_is_expected(
        query, position, fragments):
    err = parse_error(query)
    for fragment in fragments:
        assert fragment in err.reason
    assert err.query == query
    assert err.field == "where"
    assert 0 < err.position <= position


@pytest.mark.parametrize("query", [e[0] for e in ERRORS + VALUE_ERRORS],
                         ids=[repr(e[0]) for e in ERRORS + VALUE_ERRORS])
def test_error_text_shows_the_query_and_a_caret_under_the_position(query):
    err = parse_error(query)
    position = err.position
    first, shown, pointer = str(err).split("\n")
    assert first == f"{err.reason} (at position {position})"
    assert shown == f"  {query}"
    assert pointer == " " * (position + 2) + "^"
    if position < len(query):
        assert shown[pointer.index("^")] == query[position]


def test_query_error_is_an_invalid_input_for_the_where_field():
    err = parse_error("foo.bar = 1")
    assert isinstance(err, InvalidInput)
    assert err.status == 400
    assert err.to_dict() == {"error": "QueryError", "message": str(err), "field": "where",
                             "reason": err.reason, "query": "foo.bar = 1", "position": 0}
    # ... which is what the HTTP transport rebuilds it from
    from mlp.errors import from_dict

    again = from_dict(err.to_dict())
    assert type(again) is type(err) and str(again) == str(err) and again.position == 0


def test_unknown_field_message_lists_every_attribute():
    reason = parse_error("foo = 1").reason
    for name in ATTRIBUTES:
        assert name in reason


def test_caret_points_at_the_unknown_field_in_a_longer_query():
    err = parse_error("metrics.a < 1 and (tags.t = 'x' or nope.x = 1)")
    assert err.position == 35
    assert str(err).splitlines()[2] == " " * 37 + "^"


# -- positions and messages of subtler errors ----------------------------------------------


@pytest.mark.parametrize(("query", "value_pos"), [e[:2] for e in VALUE_ERRORS],
                         ids=[repr(e[0]) for e in VALUE_ERRORS])
def test_value_type_errors_point_at_the_offending_value(query, value_pos):
    assert parse_error(query).position == value_pos


@pytest.mark.parametrize("query", ["metrics.loss like 'a%'", "duration not like '5%'"])
def test_like_on_a_number_field_says_like_compares_text(query):
    assert "'like' compares text" in parse_error(query).reason


def test_unterminated_string_with_a_doubled_quote_points_at_its_opening_quote():
    err = parse_error("name = 'it''s")
    assert "unterminated string" in err.reason
    assert err.position == 7


def test_unclosed_backtick_key_says_so():
    err = parse_error("metrics.`val loss < 1")
    assert "backtick" in err.reason
    assert err.position == 8


def test_missing_operator_message_keeps_a_key_containing_attr_dot():
    reason = parse_error("metrics.attr.x 3").reason
    assert "after metrics.attr.x," in reason


# -- parse_order_by ---------------------------------------------------------------------------


def keys(order_by):
    return [(k.field.kind, k.field.key, k.descending) for k in parse_order_by(order_by)]


@pytest.mark.parametrize("empty", [None, "", [], ()])
def test_order_by_nothing_is_an_empty_list(empty):
    assert parse_order_by(empty) == []


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("metrics.acc", [("metrics", "acc", False)]),
        ("-metrics.acc", [("metrics", "acc", True)]),
        ("+name", [("attr", "name", False)]),
        ("start_time desc", [("attr", "start_time", True)]),
        ("start_time DESC", [("attr", "start_time", True)]),
        ("params.lr ASC", [("params", "lr", False)]),
        ("params.lr asc", [("params", "lr", False)]),
        ("  -  params.lr  ", [("params", "lr", True)]),
        ("run_id", [("attr", "id", False)]),
        ("attributes.Status desc", [("attr", "status", True)]),
        ("params.optimizer.name", [("params", "optimizer.name", False)]),
        ("-metrics.`val loss`", [("metrics", "val loss", True)]),
        ("tags.team", [("tags", "team", False)]),
    ],
)
def test_order_by_single_spec(spec, expected):
    assert keys(spec) == expected


def test_order_by_comma_separated_string():
    assert keys("-metrics.acc, params.depth asc,name desc") == [
        ("metrics", "acc", True), ("params", "depth", False), ("attr", "name", True)]


def test_order_by_list_and_tuple():
    expected = [("params", "depth", False), ("attr", "start_time", True)]
    assert keys(["params.depth", "-start_time"]) == expected
    assert keys(("params.depth", "start_time desc")) == expected


def test_order_by_list_items_may_themselves_be_comma_separated():
    assert keys(["name", "-metrics.a, tags.t"]) == [
        ("attr", "name", False), ("metrics", "a", True), ("tags", "t", False)]


def test_order_by_returns_order_keys():
    (key,) = parse_order_by("-metrics.acc")
    assert isinstance(key, OrderKey)
    assert key.field == Field("metrics", "acc", 0)
    assert key.descending is True


def test_order_by_a_field_named_desc_is_a_field():
    assert keys("params.desc") == [("params", "desc", False)]


@pytest.mark.parametrize(
    ("order_by", "position", "fragment"),
    [
        ("foo.bar", 0, "unknown field prefix 'foo'"),
        ("bogus", 0, "unknown field 'bogus'"),
        ("attributes.nope", 0, "unknown run attribute 'nope'"),
        ("name foo", 5, "expected FIELD, -FIELD or 'FIELD desc'"),
        # (None: 'desc' or 'extra' may be blamed, both are fair)
        ("name desc extra", None, "expected FIELD, -FIELD or 'FIELD desc'"),
        ("name,", 0, "expected a field"),
        (["name", "nope"], 0, "unknown field 'nope'"),
    ],
)
def test_order_by_errors_are_query_errors_for_the_order_by_field(order_by, position, fragment):
    err = order_error(order_by)
    assert err.field == "order_by"
    assert err.to_dict()["field"] == "order_by"
    if position is not None:
        assert err.position == position
    assert fragment in err.reason


def test_order_by_error_shows_the_offending_spec():
    err = order_error(["name", "nope desc"])
    assert err.query == "nope desc"
    assert "nope desc" in str(err)


@pytest.mark.parametrize(
    ("order_by", "position"),
    [("-foo.bar", 1), ("-name foo", 6), ("name, foo.bar", 1), ("  +nope", 3), ("-", 1)],
)
def test_order_by_error_position_lines_up_with_the_shown_spec(order_by, position):
    err = order_error(order_by)
    assert err.query in order_by
    assert err.position == position


@pytest.mark.parametrize("order_by", ["metrics.loss ~", "name;"])
def test_order_by_tokenizer_errors_are_for_the_order_by_field(order_by):
    assert order_error(order_by).field == "order_by"


def test_order_by_backtick_key_with_a_space_and_desc():
    assert keys("metrics.`val loss` desc") == [("metrics", "val loss", True)]


def test_order_by_backtick_key_holding_a_comma():
    assert keys("-metrics.`a,b`") == [("metrics", "a,b", True)]


# -- compiling to SQL (search.where_clause) ---------------------------------------------------


def test_param_compared_with_a_number_uses_value_num():
    text = sql("params.depth = 6")
    assert "params.value_num = 6" in text
    assert "params.\"key\" = 'depth'" in text


def test_param_compared_with_a_string_uses_value():
    text = sql("params.opt = 'adam'")
    assert "params.value = 'adam'" in text
    assert "value_num" not in text


def test_param_in_numbers_uses_value_num_and_mixed_lists_use_text():
    # (literal_binds renders an IN list with the first item's type, so the lists are uniform)
    assert "params.value_num IN (1, 2)" in sql("params.x in (1, 2)")
    assert "params.value_num IN (0.5, 1.5)" in sql("params.x not in (0.5, 1.5)").replace(
        "NOT IN", "IN")
    assert "params.value IN ('1', 'a')" in sql("params.x in (1, 'a')")


def test_param_like_compares_text_even_with_a_numeric_looking_pattern():
    assert "lower(params.value) LIKE lower('0.1%')" in sql("params.lr like '0.1%'")


def test_like_is_case_insensitive_via_lower():
    assert "lower(runs.name) LIKE lower('Base%')" in sql("name like 'Base%'")
    assert "lower(tags.value) NOT LIKE lower('a%')" in sql("tags.team not like 'a%'")


def test_tags_always_compare_as_text_and_whole_floats_lose_their_point():
    assert "tags.value = '1'" in sql("tags.x = 1.0")
    assert "tags.value = '0.5'" in sql("tags.x = 0.5")


def test_metric_compares_its_last_value_in_a_correlated_exists():
    text = sql("metrics.loss < 0.5")
    assert re.search(r"EXISTS \(SELECT 1 FROM metric_latest WHERE metric_latest.run_id = runs.id "
                     r"AND metric_latest.\"key\" = 'loss' AND metric_latest.last_value < 0.5\)",
                     text), text


def test_is_null_on_a_metric_is_not_exists():
    assert "NOT (EXISTS (SELECT 1 FROM metric_latest" in sql("metrics.acc is null")
    assert "WHERE EXISTS (SELECT 1 FROM metric_latest" in sql("metrics.acc is not null")


def test_attribute_is_null_compares_the_column():
    assert "runs.end_time IS NULL" in sql("end_time is null")
    assert "runs.parent_id IS NOT NULL" in sql("parent_id is not null")


def test_time_attribute_compiles_to_epoch_seconds():
    assert f"runs.start_time >= {epoch(2026, 11, 1)}" in sql("start_time >= '2026-11-01'")


def test_experiment_and_duration_attributes_map_to_their_columns():
    assert "experiments.name = 'e'" in sql("experiment = 'e'")
    # A running run (no end time yet) counts its duration up to the time of the query.
    assert re.search(r"coalesce\(runs.end_time, [0-9.]+\) - runs.start_time > 5",
                     sql("duration > 5"))
    assert "runs.id = 'abc'" in sql("run_id = 'abc'")


def test_boolean_structure_compiles_with_and_or_not():
    text = sql("status = 'failed' or name = 'a' and not tags.t is null")
    assert text.startswith("SELECT runs.id FROM runs WHERE runs.status = 'failed' OR "
                           "runs.name = 'a' AND NOT (NOT (EXISTS (SELECT 1 FROM tags"), text
