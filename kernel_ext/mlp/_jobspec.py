"""What a job asks for, checked the same way by the SDK and the server: resources, memory
sizes, environment, requirements."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from .errors import InvalidInput

_UNITS = {"": 1, "b": 1, "k": 10**3, "kb": 10**3, "m": 10**6, "mb": 10**6, "g": 10**9,
          "gb": 10**9, "t": 10**12, "tb": 10**12, "ki": 2**10, "kib": 2**10, "mi": 2**20,
          "mib": 2**20, "gi": 2**30, "gib": 2**30, "ti": 2**40, "tib": 2**40}
_SIZE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

#: Job states; the last three are final.
STATES = ("submitting", "pending", "running", "succeeded", "failed", "stopped")
FINAL = ("succeeded", "failed", "stopped")


def parse_memory(value: Any, field: str = "memory") -> int | None:
    """Bytes from ``4GiB``, ``512MiB``, ``2GB``, ``1.5G`` or an int; None stays None."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise InvalidInput(f"{field}={value!r} is not a size; write e.g. memory='4GiB'",
                           field=field)
    if isinstance(value, (int, float)):
        n = float(value)
    else:
        m = _SIZE.match(str(value))
        unit = m.group(2).lower() if m else None
        if m is None or unit not in _UNITS:
            raise InvalidInput(f"{field}={value!r} is not a size; write e.g. '4GiB', '512MiB' "
                               "or a number of bytes", field=field)
        n = float(m.group(1)) * _UNITS[unit]
    if not math.isfinite(n) or n <= 0:
        raise InvalidInput(f"{field}={value!r} must be more than 0 bytes", field=field)
    return int(n)


def human_bytes(n: float | None) -> str:
    """``4.0 GiB``, ``512 MiB``."""
    if n is None:
        return "-"
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            v = n / size
            return f"{v:.1f} {unit}" if v < 100 else f"{v:.0f} {unit}"
    return f"{int(n)} B"


def check_count(value: Any, field: str, default: float) -> float:
    """cpus/gpus: a number ≥ 0 (fractions allowed, as in Ray)."""
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            not math.isfinite(value) or value < 0:
        raise InvalidInput(f"{field}={value!r} must be a number of at least 0", field=field)
    return float(value)


def check_env(env: Any) -> dict[str, str]:
    if env is None:
        return {}
    if not isinstance(env, Mapping):
        raise InvalidInput(f"env must be a dict of names to strings, got {type(env).__name__}",
                           field="env")
    out = {}
    for k, v in env.items():
        if not isinstance(k, str) or not _ENV_NAME.match(k):
            raise InvalidInput(f"env name {k!r} is not a valid environment variable name",
                               field="env")
        if k.startswith("MLP_") or k.startswith("RAY_"):
            raise InvalidInput(f"env name {k!r} is reserved (MLP_* and RAY_* are set by the "
                               "platform)", field="env")
        out[k] = v if isinstance(v, str) else str(v)
    return out


def check_strings(value: Any, field: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, Sequence) or not all(isinstance(v, str) and v.strip()
                                                  for v in value):
        raise InvalidInput(f"{field} must be a list of strings, got {value!r}", field=field)
    return [v.strip() if field == "requirements" else v for v in value]


def resources_text(cpus: float, gpus: float, memory: int | None) -> str:
    parts = [f"cpus={_num(cpus)}"]
    if gpus:
        parts.append(f"gpus={_num(gpus)}")
    if memory:
        parts.append(f"memory={human_bytes(memory)}")
    return ", ".join(parts)


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"
