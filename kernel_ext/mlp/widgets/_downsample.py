"""A bounded summary of a metric series, for charts: the same size for 10 points or 10 million.

The step axis is cut into at most ``buckets`` buckets of equal width (a power of two
steps wide, doubling as the series grows, aligned on step 0). Each bucket keeps four points: those with
its lowest and highest step, and those with its lowest and highest value. Drawn as a
line, that is what a pixel-wide column of a chart shows (min/max decimation), and
the series' first and last points and its extremes are always kept exactly. Each bucket
also keeps the sum and the number of its values: their mean is what smoothing averages
(the four kept points are the bucket's extremes, whose average is far from its mean).

Those four points are minima and maxima and bucket edges depend on the width alone, so
they do not depend on the order points arrive in, nor on points arriving twice; sums and
counts do count a point that arrives twice (the chart never folds a point in twice).
NaN and infinite values are not drawn: they are counted, with the lowest step that holds
one, so a chart can say from which step on a metric is no longer finite.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

# The four points a bucket keeps: lowest step, highest step, lowest value, highest value.
_ROLES = ("lo", "hi", "min", "max")
#: The fewest points a Downsampler keeps: two buckets, as steps on both sides of 0 need.
MIN_POINTS = 8


class _Table(NamedTuple):
    """Buckets sorted by index; for each role, the step and value of its point."""

    idx: np.ndarray  # int64
    steps: dict[str, np.ndarray]  # role -> int64
    values: dict[str, np.ndarray]  # role -> float64
    sums: np.ndarray  # float64: the sum of the bucket's values
    counts: np.ndarray  # int64: how many values the bucket holds


class Downsampler:
    """Fold points in with ``add``; ``series`` gives at most ``max_points`` of them.

    >>> d = Downsampler(max_points=400)
    >>> d.add(np.arange(1_000_000), np.random.rand(1_000_000))
    >>> steps, values = d.series()   # <= 400 points, extremes included
    >>> centers, means = d.means()   # <= 100: the mean of each bucket
    """

    def __init__(self, max_points: int = 2000) -> None:
        if max_points < MIN_POINTS:
            raise ValueError(f"max_points must be at least {MIN_POINTS}")
        self.buckets = max_points // 4
        self._shift = 0  # a bucket is 2**shift steps wide
        self.count = 0  # points folded in, the non-finite ones included
        self.nonfinite = 0  # NaN/inf values: counted, not drawn
        #: (step, value) of the non-finite value with the lowest step, or None.
        self.first_nonfinite: tuple[int, float] | None = None
        self._table: _Table | None = None

    @property
    def width(self) -> float:
        """Steps per bucket: a power of two."""
        return 2.0**self._shift

    def add(self, steps, values) -> None:
        """Fold in points (array-likes of steps and values, of equal length)."""
        s = np.asarray(steps, dtype=np.int64)
        v = np.asarray(values, dtype=np.float64)
        self.count += len(v)
        finite = np.isfinite(v)
        if not finite.all():
            bad = np.flatnonzero(~finite)
            self.nonfinite += len(bad)
            at = bad[np.argmin(s[bad])]
            if self.first_nonfinite is None or s[at] < self.first_nonfinite[0]:
                self.first_nonfinite = (int(s[at]), float(v[at]))
            s, v = s[finite], v[finite]
        if not len(v):
            return
        if len(s) > 1 and not (s[1:] >= s[:-1]).all():
            order = np.argsort(s, kind="stable")
            s, v = s[order], v[order]
        # Steps ascend now: widen the buckets until old and new fit, then group.
        self._fit(int(s[0]), int(s[-1]))
        batch = _group(s >> self._shift, {r: s for r in _ROLES}, {r: v for r in _ROLES},
                       v, np.ones(len(v), np.int64))
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

    def means(self) -> tuple[np.ndarray, np.ndarray]:
        """Per bucket, by ascending step: the middle of its lowest and highest step, and the
        mean of its values."""
        t = self._table
        if t is None:
            return np.empty(0, np.float64), np.empty(0, np.float64)
        centers = t.steps["lo"] / 2 + t.steps["hi"] / 2  # halves first: no int64 overflow
        return centers, t.sums / t.counts

    def _fit(self, lo: int, hi: int) -> None:
        """Double the bucket width until the buckets from ``lo`` to ``hi`` and those held
        span at most ``self.buckets`` indices."""
        t = self._table
        first, last = lo >> self._shift, hi >> self._shift
        if t is not None:
            first, last = min(first, int(t.idx[0])), max(last, int(t.idx[-1]))
        doublings = 0
        # Halving floors, so indices end at -1 or 0: stop there, whatever `buckets` is.
        while last - first >= self.buckets and (first >> 1, last >> 1) != (first, last):
            first, last = first >> 1, last >> 1
            doublings += 1
        if not doublings:
            return
        self._shift += doublings
        if t is not None:
            # floor(floor(x / w) / 2**k) == floor(x / (w * 2**k)), and an arithmetic shift
            # floors: re-index, then merge the buckets that now share an index.
            self._table = _group(t.idx >> doublings, t.steps, t.values, t.sums, t.counts)


def _group(idx: np.ndarray, steps: dict[str, np.ndarray], values: dict[str, np.ndarray],
           sums: np.ndarray, counts: np.ndarray) -> _Table:
    """Reduce rows that share a bucket index (``idx`` ascending) to one row per bucket."""
    n = len(idx)
    starts = np.flatnonzero(np.r_[True, idx[1:] != idx[:-1]]) if n else np.empty(0, np.int64)
    out_s: dict[str, np.ndarray] = {}
    out_v: dict[str, np.ndarray] = {}
    for role in _ROLES:
        key = steps[role] if role in ("lo", "hi") else values[role]
        at = _extreme_at(key, starts, n, largest=role in ("hi", "max"))
        out_s[role], out_v[role] = steps[role][at], values[role][at]
    if not n:
        return _Table(idx, out_s, out_v, sums, counts)
    return _Table(idx[starts], out_s, out_v, np.add.reduceat(sums, starts),
                  np.add.reduceat(counts, starts))


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
                  {r: np.concatenate([a.values[r], b.values[r]])[order] for r in _ROLES},
                  np.concatenate([a.sums, b.sums])[order],
                  np.concatenate([a.counts, b.counts])[order])
