"""Widgets: a live metric chart, a runs table and a run comparison (anywidget), each with a
static HTML fallback.

Imported on first use only (``mlp.live_chart``, ``mlp.runs_table``, ``mlp.compare``, the
magics), so ``import mlp`` stays light; they need ``pip install "jupyter-mlp[widgets]"``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .._run import Run
    from .chart import LiveChart
    from .comparison import CompareWidget
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


def compare(a: Run | str, b: Run | str, *more: Run | str, only_changed: bool = True,
            at: str | int = "last", max_points: int = 500) -> CompareWidget:
    """Runs side by side (``a`` is the baseline): first what changed at a glance (``lr 0.01 →
    0.003``, ``1 cell changed``), then params, metrics with their curves overlaid, code cell
    by cell, environment, artifacts, tags and attributes; for 3+ runs, what varies most.

    ``only_changed=False`` shows unchanged rows too; ``at`` reads the metrics at the
    ``"last"`` step, at each run's best step of a metric (``"best:val_loss"``) or at a step.
    While a run is running, the widget updates itself. The data is ``mlp.diff(...)``'s.

    >>> mlp.compare("@latest~1", "@latest")
    >>> mlp.compare("demo/a", "demo/b", "demo/c", at="best:val_loss")
    """
    try:
        from .comparison import compare as make
    except ImportError as e:
        raise ImportError(f"{_MISSING} ({e})") from e
    return make(a, b, *more, only_changed=only_changed, at=at, max_points=max_points)
