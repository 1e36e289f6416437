"""A bounded summary of a metric series, for charts: the same size for 10 points or 10 million.

The step axis is cut into at most ``buckets`` buckets of equal width (a power of two
steps wide, doubling as the series grows, aligned on step 0). Each bucket keeps four points: those with
its lowest and highest step, and those with its lowest and highest value. Drawn as a
line, that is what a pixel-wide column of a chart shows (min/max decimation), and
the series' first and last points and its extremes are always kept exactly.

Every reduction is a minimum or maximum and bucket edges depend on the width alone,
so folding is order-independent and idempotent: points may arrive out of order or twice (a history read racing live
points) without changing the result.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

# The four points a bucket keeps: lowest step, highest step, lowest value, highest value.
_ROLES = ("lo", "hi", "min", "max")


class _Table(NamedTuple):
    """Buckets sorted by index; for each role, the step and value of its point."""

    idx: np.ndarray  # int64
    steps: dict[str, np.ndarray]  # role -> int64
    values: dict[str, np.ndarray]  # role -> float64


class Downsampler:
    """Fold points in with ``add``; ``series`` gives at most ``max_points`` of them.

    >>> d = Downsampler(max_points=400)
    >>> d.add(np.arange(1_000_000), np.random.rand(1_000_000))
    >>> steps, values = d.series()   # <= 400 points, extremes included
    """

    def __init__(self, max_points: int = 2000) -> None:
        if max_points < 4:
            raise ValueError("max_points must be at least 4")
        self.buckets = max_points // 4
        self.width = 1.0  # steps per bucket; a power of two
        self.count = 0  # points folded in, the non-finite ones included
        self.nonfinite = 0  # NaN/inf values: counted, not drawn
        self._table: _Table | None = None

    def add(self, steps, values) -> None:
        """Fold in points (array-likes of steps and values, of equal length)."""
        s = np.asarray(steps, dtype=np.int64)
        v = np.asarray(values, dtype=np.float64)
        self.count += len(v)
        finite = np.isfinite(v)
        if not finite.all():
            self.nonfinite += int(len(v) - np.count_nonzero(finite))
            s, v = s[finite], v[finite]
        if not len(v):
            return
        if len(s) > 1 and not (s[1:] >= s[:-1]).all():
            order = np.argsort(s, kind="stable")
            s, v = s[order], v[order]
        # Steps ascend now: widen the buckets until old and new fit, then group.
        self._fit(float(s[0]), float(s[-1]))
        idx = self._index(s)
        batch = _group(idx, {r: s for r in _ROLES}, {r: v for r in _ROLES})
        self._table = batch if self._table is None else _merge(self._table, batch)

    def series(self) -> tuple[np.ndarray, np.ndarray]:
        """The kept points, by ascending step (a step that holds two values appears twice)."""
        t = self._table
        if t is None:
            return np.empty(0, np.int64), np.empty(0, np.float64)
        steps = np.concatenate([t.steps[r] for r in _ROLES])
        values = np.concatenate([t.values[r] for r in _ROLES])
        # Within a step, keep the order of the roles so lines draw lo -> min/max -> hi.
        role = np.repeat(np.arange(len(_ROLES)), len(t.idx))
        order = np.lexsort((role, steps))
        steps, values = steps[order], values[order]
        keep = np.ones(len(steps), bool)
        keep[1:] = (steps[1:] != steps[:-1]) | (values[1:] != values[:-1])
        return steps[keep], values[keep]

    def _index(self, s: np.ndarray) -> np.ndarray:
        return np.floor(s / self.width).astype(np.int64)

    def _fit(self, lo: float, hi: float) -> None:
        """Double the bucket width until the buckets from ``lo`` to ``hi`` and those held
        span at most ``self.buckets`` indices."""
        t = self._table
        first = math.floor(lo / self.width)
        last = math.floor(hi / self.width)
        if t is not None:
            first, last = min(first, int(t.idx[0])), max(last, int(t.idx[-1]))
        doublings = 0
        while last - first >= self.buckets:
            first, last = first // 2, last // 2
            doublings += 1
        if not doublings:
            return
        self.width *= 2.0**doublings
        if t is not None:
            # floor(floor(x / w) / 2**k) == floor(x / (w * 2**k)), and an arithmetic shift
            # floors: re-index, then merge the buckets that now share an index.
            self._table = _group(t.idx >> min(doublings, 63), t.steps, t.values)


def _group(idx: np.ndarray, steps: dict[str, np.ndarray],
           values: dict[str, np.ndarray]) -> _Table:
    """Reduce rows that share a bucket index (``idx`` ascending) to one row per bucket."""
    n = len(idx)
    starts = np.flatnonzero(np.r_[True, idx[1:] != idx[:-1]]) if n else np.empty(0, np.int64)
    out_s: dict[str, np.ndarray] = {}
    out_v: dict[str, np.ndarray] = {}
    for role in _ROLES:
        key = steps[role] if role in ("lo", "hi") else values[role]
        at = _extreme_at(key, starts, n, largest=role in ("hi", "max"))
        out_s[role], out_v[role] = steps[role][at], values[role][at]
    return _Table(idx[starts], out_s, out_v)


def _extreme_at(key: np.ndarray, starts: np.ndarray, n: int, largest: bool) -> np.ndarray:
    """Per group (rows ``starts[i]`` up to the next start), the first row holding the
    group's smallest (or largest) ``key``."""
    reduce = np.maximum if largest else np.minimum
    best = reduce.reduceat(key, starts)
    lengths = np.diff(np.r_[starts, n])
    hits = np.flatnonzero(key == np.repeat(best, lengths))
    return hits[np.searchsorted(hits, starts)]


def _merge(a: _Table, b: _Table) -> _Table:
    idx = np.concatenate([a.idx, b.idx])
    order = np.argsort(idx, kind="stable")
    return _group(idx[order],
                  {r: np.concatenate([a.steps[r], b.steps[r]])[order] for r in _ROLES},
                  {r: np.concatenate([a.values[r], b.values[r]])[order] for r in _ROLES})
