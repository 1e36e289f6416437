"""Metric points as chunks: encoding, merging and summaries.

A chunk is up to ``CHUNK_POINTS`` points of one run and key, stored as three
little-endian arrays (int64 steps, float64 wall times, float64 values). NaN and
±inf survive exactly because the bytes are the IEEE values themselves.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

CHUNK_POINTS = 8192
#: A newest chunk smaller than this is topped up by the next flush instead of starting a
#: new one; bigger ones are left alone, so a slow logger rewrites at most ~24 KB a flush.
SMALL_CHUNK = 1024


@dataclass
class Series:
    """Points of one metric of one run, in the order they were logged."""

    run_id: str
    key: str
    steps: np.ndarray  # int64
    times: np.ndarray  # float64, seconds since the epoch
    values: np.ndarray  # float64

    def __post_init__(self) -> None:
        self.steps = np.ascontiguousarray(self.steps, dtype="<i8")
        self.times = np.ascontiguousarray(self.times, dtype="<f8")
        self.values = np.ascontiguousarray(self.values, dtype="<f8")
        if not (len(self.steps) == len(self.times) == len(self.values)):
            raise ValueError("steps, times and values must have the same length")

    def __len__(self) -> int:
        return len(self.values)


def encode(steps: np.ndarray, times: np.ndarray, values: np.ndarray) -> dict:
    """Column values of one chunk row."""
    return {
        "n": len(values),
        "step_min": int(steps.min()),
        "step_max": int(steps.max()),
        "time_min": float(times.min()),
        "time_max": float(times.max()),
        # Views, not copies: the drivers read the bytes straight from the arrays.
        "steps": np.ascontiguousarray(steps, dtype="<i8").data,
        "times": np.ascontiguousarray(times, dtype="<f8").data,
        "vals": np.ascontiguousarray(values, dtype="<f8").data,
    }


def decode(steps: bytes, times: bytes, vals: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The arrays of one chunk row's ``steps``, ``times`` and ``vals`` columns."""
    return (
        np.frombuffer(steps, dtype="<i8"),
        np.frombuffer(times, dtype="<f8"),
        np.frombuffer(vals, dtype="<f8"),
    )


def db_float(x: float) -> float | None:
    """NaN as NULL: SQLite has no NaN, and a summary of NaN is "no number"."""
    return None if math.isnan(x) else x


@dataclass
class Summary:
    last_value: float
    last_step: int
    last_time: float
    min_value: float | None
    max_value: float | None
    count: int

    @classmethod
    def of(cls, s: Series) -> Summary:
        # The latest point is the one with the highest step; a tie goes to the later time.
        # (Linear, unlike a sort: this runs on every flush, beside the training loop.)
        # Among equal (step, time) the point logged last wins: search from the end.
        at_top = np.flatnonzero(s.steps == s.steps.max())[::-1]
        i = int(at_top[np.argmax(s.times[at_top])])
        finite = s.values[~np.isnan(s.values)]
        return cls(
            last_value=float(s.values[i]),
            last_step=int(s.steps[i]),
            last_time=float(s.times[i]),
            min_value=float(finite.min()) if len(finite) else None,
            max_value=float(finite.max()) if len(finite) else None,
            count=len(s),
        )

    def merged(self, old: Summary | None) -> Summary:
        if old is None:
            return self
        newer = (self.last_step, self.last_time) >= (old.last_step, old.last_time)
        last = self if newer else old
        mins = [v for v in (self.min_value, old.min_value) if v is not None]
        maxs = [v for v in (self.max_value, old.max_value) if v is not None]
        return Summary(
            last_value=last.last_value,
            last_step=last.last_step,
            last_time=last.last_time,
            min_value=min(mins) if mins else None,
            max_value=max(maxs) if maxs else None,
            count=self.count + old.count,
        )

    def row(self) -> dict:
        return {
            "last_value": db_float(self.last_value),
            "last_step": self.last_step,
            "last_time": self.last_time,
            "min_value": self.min_value,
            "max_value": self.max_value,
            "count": self.count,
        }

    @classmethod
    def from_row(cls, row) -> Summary:
        return cls(
            last_value=math.nan if row.last_value is None else row.last_value,
            last_step=row.last_step,
            last_time=row.last_time,
            min_value=row.min_value,
            max_value=row.max_value,
            count=row.count,
        )


def downsample(x: np.ndarray, y: np.ndarray, max_points: int) -> tuple[np.ndarray, np.ndarray]:
    """At most ``max_points`` of the (x-sorted, finite) points for a chart: the x range is cut
    into ``max_points // 4`` equal buckets and each keeps its first, lowest, highest and last
    point, so spikes and the curve's ends survive (the "M4" reduction charts use)."""
    n = len(x)
    if n <= max_points:
        return x, y
    buckets = max(1, max_points // 4)
    lo, hi = float(x[0]), float(x[-1])
    if hi <= lo:  # every point at one x: its first, lowest, highest and last
        keep = np.unique([0, int(np.argmin(y)), int(np.argmax(y)), n - 1])
        return x[keep], y[keep]
    b = np.minimum(((x - lo) * (buckets / (hi - lo))).astype(np.int64), buckets - 1)
    starts = np.flatnonzero(np.r_[True, b[1:] != b[:-1]])
    ends = np.r_[starts[1:], n] - 1
    seg = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, n]))
    mins = np.minimum.reduceat(y, starts)
    maxs = np.maximum.reduceat(y, starts)
    keep = np.unique(np.concatenate([starts, ends, _first_per_bucket(y == mins[seg], seg),
                                     _first_per_bucket(y == maxs[seg], seg)]))
    return x[keep], y[keep]


def _first_per_bucket(mask: np.ndarray, seg: np.ndarray) -> np.ndarray:
    """The first position where ``mask`` holds in each bucket (``seg`` is sorted)."""
    idx = np.flatnonzero(mask)
    s = seg[idx]
    return idx[np.r_[True, s[1:] != s[:-1]]]
