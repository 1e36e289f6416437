"""The feature store's vocabulary, shared by the SDK and the server (plain Python, no engine):
durations, instants, names, dtypes, sources and feature references."""

from __future__ import annotations

import math
import os
import re
from datetime import datetime, timedelta, timezone
from typing import Any

from ..errors import InvalidInput

NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
#: The dtypes a feature may declare; DuckDB's types map onto them.
DTYPES = ("int", "float", "string", "bool", "timestamp")
_DTYPE_ALIASES = {
    "int": "int", "int64": "int", "int32": "int", "integer": "int", "bigint": "int", "long": "int",
    "float": "float", "float64": "float", "float32": "float", "double": "float", "real": "float",
    "number": "float",
    "string": "string", "str": "string", "text": "string", "varchar": "string",
    "object": "string",
    "bool": "bool", "boolean": "bool",
    "timestamp": "timestamp", "datetime": "timestamp", "datetime64": "timestamp",
    "datetime64[ns]": "timestamp", "date": "timestamp",
}
_UNITS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*$")
REASONS = ("no_timestamp", "no_rows_for_key", "only_future_rows", "outside_ttl",
           "created_after_as_of", "null_value")


def check_name(kind: str, name: Any) -> str:
    if not isinstance(name, str) or not NAME.match(name):
        raise InvalidInput(f"{kind} name {name!r} must start with a letter or '_' and hold only "
                           "letters, digits and '_' (at most 128), e.g. 'customer_stats'",
                           field="name")
    return name


def duration(value: Any, field: str) -> float | None:
    """Seconds from a timedelta, a number of seconds or '30d', '12h', '15min', '45s', '2w'."""
    if value is None:
        return None
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str) and (m := _DURATION.match(value.lower())) and \
            m.group(2) in _UNITS:
        seconds = float(m.group(1)) * _UNITS[m.group(2)]
    else:
        if hasattr(value, "total_seconds"):  # pandas Timedelta
            return duration(timedelta(seconds=value.total_seconds()), field)
        raise InvalidInput(f"{field}={value!r} is not a duration: give a timedelta, seconds, or "
                           "a string such as '30d', '12h', '15min' or '45s'", field=field)
    if not (math.isfinite(seconds) and seconds > 0):
        raise InvalidInput(f"{field}={value!r} must be a positive duration", field=field)
    return seconds


def instant(value: Any, field: str) -> float | None:
    """Seconds since the epoch from a datetime (naive: UTC), pandas Timestamp, ISO string or
    number of seconds."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise InvalidInput(f"{field}={value!r} is not a time", field=field)
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            raise InvalidInput(f"{field}={value!r} is not a time", field=field)
        return float(value)
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise InvalidInput(f"{field}={value!r} is not an ISO time such as "
                               "'2024-05-01T12:00:00Z'", field=field) from None
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime()
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.timestamp()
    if hasattr(value, "year") and hasattr(value, "month"):  # a date
        return datetime(value.year, value.month, value.day, tzinfo=timezone.utc).timestamp()
    raise InvalidInput(f"{field}={value!r} is not a time: give a datetime (naive means UTC), an "
                       "ISO string or seconds since the epoch", field=field)


def iso(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, tz=timezone.utc).isoformat().replace("+00:00", "Z")


def dtype(value: Any, field: str) -> str:
    key = str(value).strip().lower()
    if key in _DTYPE_ALIASES:
        return _DTYPE_ALIASES[key]
    raise InvalidInput(f"{field}: dtype {value!r} is not one of {', '.join(DTYPES)}",
                       field=field)


def dtype_of_duckdb(type_name: str) -> str | None:
    """Our dtype for a DuckDB column type (None: not a feature type we store)."""
    t = type_name.upper()
    if t in ("BOOLEAN",):
        return "bool"
    if any(t.startswith(p) for p in ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT",
                                      "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT")):
        return "int"
    if t in ("FLOAT", "DOUBLE", "REAL") or t.startswith("DECIMAL"):
        return "float"
    if t.startswith("VARCHAR") or t in ("UUID",):
        return "string"
    if t.startswith("TIMESTAMP") or t == "DATE":
        return "timestamp"
    return None


def source_spec(value: Any) -> dict:
    """A source as stored: ``{"kind": "parquet"|"csv"|"sql"|"dataframe", ...}``. Local paths
    are made absolute so another process (the server, a later session) finds them."""
    if isinstance(value, dict) and value.get("kind") in ("parquet", "csv", "sql", "dataframe"):
        spec = dict(value)
        if spec["kind"] in ("parquet", "csv"):
            if not isinstance(spec.get("uri"), str) or not spec["uri"].strip():
                raise InvalidInput(f"a {spec['kind']} source needs a path or URL", field="source")
            spec["uri"] = absolute(spec["uri"])
            spec.setdefault("options", {})
        elif spec["kind"] == "sql":
            if not isinstance(spec.get("query"), str) or not spec["query"].strip():
                raise InvalidInput("a SQL source needs a query or a table", field="source")
            if not isinstance(spec.get("url"), str) or not spec["url"].strip():
                raise InvalidInput("a SQL source needs a SQLAlchemy URL", field="source")
            _no_password(spec["url"])
        elif not re.match(r"^[0-9a-f]{64}$", str(spec.get("digest", ""))):
            raise InvalidInput("a DataFrame source needs the digest of its stored data",
                               field="source")
        return spec
    if isinstance(value, (str, os.PathLike)):
        uri = os.fspath(value)
        low = uri.lower().rstrip("/")
        kind = "csv" if low.endswith((".csv", ".csv.gz", ".tsv")) else "parquet"
        return source_spec({"kind": kind, "uri": uri})
    raise InvalidInput(
        f"source {type(value).__name__} is not one mlp.features reads: give a Parquet or CSV "
        "path or URL (a file or a partitioned folder), a pandas DataFrame, or "
        "mlp.features.sql(query, url)", field="source")


def absolute(uri: str) -> str:
    if re.match(r"^[A-Za-z][A-Za-z0-9+.\-]*://", uri):
        return uri.rstrip("/") if uri.endswith("/") and uri.count("/") > 3 else uri
    return os.path.abspath(os.path.expanduser(uri))


def _no_password(url: str) -> None:
    m = re.match(r"^[^:]+://[^:/@]+:([^@]*)@", url)
    if m and m.group(1):
        raise InvalidInput("the SQL source's URL holds a password, which would be stored with "
                           "the view for anyone to read: leave it out and give it through the "
                           "driver's usual place (PGPASSWORD, ~/.pgpass, ...)", field="source")


def parse_ref(ref: Any) -> tuple[str, int | None, str]:
    """``"view:feature"``, ``"view@3:feature"`` or ``"view:*"`` as (view, version, feature)."""
    m = re.match(r"^\s*([A-Za-z_][A-Za-z0-9_]*)(?:@(\d+))?:([A-Za-z_][A-Za-z0-9_]*|\*)\s*$",
                 ref) if isinstance(ref, str) else None
    if not m:
        raise InvalidInput(f"feature {ref!r} is not 'view:feature' (or 'view:*', or "
                           "'view@VERSION:feature' to pin a version)", field="features")
    return m.group(1), (int(m.group(2)) if m.group(2) else None), m.group(3)
