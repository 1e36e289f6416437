"""Widgets: a live metric chart and a runs table (anywidget), each with a static HTML fallback.

Imported on first use only (``mlp.live_chart``, ``mlp.runs_table``, the magics), so
``import mlp`` stays light; they need ``pip install "jupyter-mlp[widgets]"``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .._run import Run
    from .chart import LiveChart
    from .table import RunsTable

_MISSING = "widgets need anywidget: pip install 'jupyter-mlp[widgets]'"


def available() -> bool:
    """Whether widgets can show here: in a Jupyter kernel, with anywidget installed."""
    from .._shell import in_kernel

    if not in_kernel():
        return False
    try:
        import anywidget  # noqa: F401
    except ImportError:
        return False
    return True


def live_chart(run: Run | str | None = None, keys: Iterable[str] | None = None, *,
               max_points: int = 2000) -> LiveChart:
    """A live chart of a run's metrics (default: the active run's), one line per key.

    It updates while the loop runs (within about two seconds of logging) and keeps at most
    ``max_points`` (16 or more) points per key however many are logged; ``keys`` picks the
    metrics (default: all but ``system/*``). Legend toggles, smoothing, log scale, hover and
    zoom happen in the browser; executed notebooks keep a static SVG of the final curve.

    >>> with mlp.start_run(experiment="demo"):
    ...     display(mlp.live_chart())
    ...     for step in range(100_000):
    ...         mlp.log_metric("loss", 1 / (step + 1))
    """
    try:
        from .chart import live_chart as make
    except ImportError as e:
        raise ImportError(f"{_MISSING} ({e})") from e
    return make(run, keys, max_points=max_points)


def runs_table(experiment: str | Sequence[str] | None = None, where: str | None = None,
               order_by: str | Sequence[str] | None = None, page_size: int = 25) -> RunsTable:
    """An interactive table of a run search: click a header to sort, type a ``where`` query
    to filter, page with next/previous; the store sorts, filters and pages.

    >>> mlp.runs_table(experiment="demo", where="metrics.loss < 0.5", order_by="-start_time")
    """
    try:
        from .table import RunsTable
    except ImportError as e:
        raise ImportError(f"{_MISSING} ({e})") from e
    return RunsTable(experiment, where, order_by, page_size=page_size)
