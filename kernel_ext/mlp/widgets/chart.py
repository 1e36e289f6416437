"""The live metric chart of a run: points reach it while the training loop still runs.

A training loop keeps the kernel's event loop busy, so nothing waits for it:

- the flushing thread hands each batch of points to the chart's *tap*, which only
  folds them into one bounded ``Downsampler`` per key (a few milliseconds per
  million points);
- one daemon thread (shared by every live chart) sends the changed series to the
  front end every ``PUSH_INTERVAL`` seconds, in the context of the cell that
  created the chart, so the kernel routes its messages there;
- when the run has ended, the chart stops listening, and after the cell that ended
  it, replaces its static HTML (what a saved notebook shows) with the final curve.

Drawing, legend toggles, smoothing, log scale and zoom are the view's (chart.js).
"""

from __future__ import annotations

import contextvars
import logging
import operator
import threading
import time
import uuid
from collections.abc import Callable, Collection, Iterable
from pathlib import Path
from typing import Any

import anywidget
import numpy as np
import traitlets as t

from .._client import Client
from .._run import Run
from .._shell import ipython_shell
from ..errors import InvalidInput
from . import _static
from ._downsample import Downsampler

log = logging.getLogger("mlp")

STATIC = Path(__file__).parent / "static"
#: The fewest points per line a chart accepts for ``max_points``.
MIN_POINTS = 16
#: Seconds between two pushes of a chart's changed series to the front end.
PUSH_INTERVAL = 0.5


class LiveChart(_static.StaticFallback, anywidget.AnyWidget):
    """Metrics of one run, one line per key, downsampled to ``max_points`` per key.

    >>> with mlp.start_run(experiment="demo"):
    ...     mlp.live_chart()            # shows below the cell, updates as you log
    ...     for step in range(100_000):
    ...         mlp.log_metric("loss", 1 / (step + 1))
    """

    _esm = STATIC / "chart.js"
    _css = STATIC / "chart.css"

    title = t.Unicode("").tag(sync=True)
    status = t.Unicode("").tag(sync=True)
    #: ``{key: {"x": steps, "y": values, "n": points logged, "mx": bucket middles,
    #: "my": bucket means}}``, keys sorted, plus ``"nonfinite": {"count", "step", "value"}``
    #: for a key that logged NaN or inf (``step``: the lowest such step). While the run goes
    #: on, the view gets only the keys that changed (custom messages ``{"type": "series",
    #: "changed": {key: ...}}``); the whole of it at the start and at the end.
    series = t.Dict().tag(sync=True)
    #: Names the chart among the page's, for the view's store of what changed.
    chart_id = t.Unicode("").tag(sync=True)
    # View state, set by the view and kept here so a re-rendered view keeps it.
    hidden = t.List(t.Unicode()).tag(sync=True)
    smoothing = t.Float(0.0).tag(sync=True)
    log_y = t.Bool(False).tag(sync=True)
    _set_up = False
    _quiet: Collection[str] = ()  # traits that change here only, unsynced (see _push)

    def __init__(self, run: Run, keys: Iterable[str] | None = None, *,
                 max_points: int = 2000) -> None:
        points = _integer(max_points)
        if points is None or points < MIN_POINTS:
            raise InvalidInput(f"max_points must be an integer of at least {MIN_POINTS} (the "
                               f"points kept per line), got {max_points!r}", field="max_points")
        display_id = uuid.uuid4().hex
        super().__init__(title=run.ref, status=run._data.get("status", ""), chart_id=display_id)
        self._run = run
        self._client: Client = run._client
        self._keys = None if keys is None else set(keys)
        self._max_points = points
        self._samplers: dict[str, Downsampler] = {}
        self._changed: set[str] = set()  # keys folded into since the last push
        self._lock = threading.Lock()  # samplers and flags: the tap writes from its thread
        self._push_lock = threading.RLock()  # one push at a time, whichever thread
        self._finished = False  # the final state is sent, the samplers released
        self._display_id = display_id
        self._displayed = False
        self._final_shown = False
        # The creating cell's context: messages sent from the pushing thread carry it.
        self._context = contextvars.copy_context()
        self._remove_tap: Callable[[], None] | None = None
        self._live = run.id in self._client.owned
        self._set_up = True
        try:
            self._load_history()
            if self._live:
                self._push(whole=True)
            else:
                self._finish()
        except BaseException:
            self.close()  # no tap, no open comm left behind
            raise
        shell = ipython_shell()
        if self._live:
            _pusher.add(self)
            if shell is not None:
                shell.events.register("post_run_cell", self._after_cell)

    # -- state -------------------------------------------------------------------------

    @property
    def run(self) -> Run:
        return self._run

    @property
    def live(self) -> bool:
        """Whether the chart still receives points (its run has not ended)."""
        return self._live

    def _wants(self, key: str) -> bool:
        if self._keys is None:
            return not key.startswith("system/")
        return key in self._keys

    def _fold(self, key: str, steps: Any, values: Any) -> None:
        with self._lock:
            if self._finished:
                return
            d = self._samplers.get(key)
            if d is None:
                d = self._samplers[key] = Downsampler(self._max_points)
            d.add(steps, values)
            self._changed.add(key)

    def _on_batch(self, batch: dict) -> None:
        """The tap: called by the flushing thread with each batch; folds, nothing more."""
        rid = self._run.id
        for (run_id, key), (steps, _times, values) in batch.items():
            if run_id == rid and len(values) and self._wants(key):
                self._fold(key, np.frombuffer(steps, np.int64), np.frombuffer(values, np.float64))

    def _load_history(self) -> None:
        """Fold in what the store holds; a live chart then taps what comes after. The flusher
        is held meanwhile, so no batch is both tapped and read, nor read too early."""
        held = False
        if self._live:
            # What is buffered goes to the store first. A refusal (of another run's points,
            # say) stays for the code that logged them: never raised, nor taken, here.
            self._client.transport  # noqa: B018 - connecting names the spool to replay
            self._client.flusher.flush(raise_errors=False)
            held = self._client.flusher.hold()
        try:
            if self._live:
                self._remove_tap = self._client.tap(self._on_batch)
            transport = self._client.transport
            for key in sorted(transport.get_run(self._run.id)["metrics"]):
                if self._wants(key):
                    h = transport.metric_history(self._run.id, key)
                    self._fold(key, h["step"], h["value"])
        finally:
            if held:
                self._client.flusher.release_hold()

    def _push(self, whole: bool = False) -> None:
        """Send the keys that changed since the last push, as a custom message (``series``
        here changes too, unsynced: a view that renders later asks for it whole); with
        ``whole``, all of ``series`` as synced state."""
        with self._push_lock:
            changed = self._merge_changes(quiet=not whole)
            if changed and not whole:
                self.send({"type": "series", "changed": changed})

    def _merge_changes(self, quiet: bool) -> dict[str, Any]:
        """Fold the state of the keys changed since the last push into ``series`` (not synced
        when ``quiet``); returns their state."""
        with self._lock:
            changed = {k: _key_state(self._samplers[k]) for k in sorted(self._changed)}
            self._changed.clear()
        if changed:
            self._quiet = {"series"} if quiet else set()
            try:
                self.series = dict(sorted({**self.series, **changed}.items()))
            finally:
                self._quiet = set()
        return changed

    def _should_send_property(self, key: str, value: Any) -> bool:
        if key in self._quiet:
            return False
        return super()._should_send_property(key, value)

    # -- the end of the run ------------------------------------------------------------

    def _tick(self) -> None:
        """Called by the pushing thread every ``PUSH_INTERVAL``."""
        # A run leaves `owned` after its last points went through the tap: read this first.
        if self._run.id not in self._client.owned:
            self._stop()
            self._finish()
        else:
            self._push()

    def _finish(self) -> None:
        """Once the run has ended (and the tap is gone): the series whole, with the final
        status, in one message, once; then the samplers go, as the view needs only what
        ``series`` holds."""
        with self._push_lock:
            if self._finished:
                return
            self._merge_changes(quiet=True)
            self._quiet = {"status"}
            try:
                self.status = self._run._data.get("status", "")
            finally:
                self._quiet = set()
            # Whole, even when unchanged here: the view got the last changes as messages, a
            # saved notebook (and a view rendered later) keeps only synced state.
            self.send_state(["series", "status"])
            with self._lock:
                self._finished = True
                self._samplers = {}
                self._changed = set()

    def _stop(self) -> None:
        """Stop listening for points."""
        with self._lock:
            if not self._live:
                return
            self._live = False
        if self._remove_tap is not None:
            self._remove_tap()
            self._remove_tap = None
        _pusher.discard(self)

    def _after_cell(self, result: Any = None) -> None:
        """After each cell: once the run has ended, show the final curve (also in the saved
        notebook) and stop."""
        if self._run.id in self._client.owned:
            return
        self._stop()
        self._finish()
        self._unhook()
        self._show_final()

    def _unhook(self) -> None:
        shell = ipython_shell()
        if shell is not None and self._after_cell in shell.events.callbacks["post_run_cell"]:
            shell.events.unregister("post_run_cell", self._after_cell)

    def _show_final(self) -> None:
        if self._displayed and not self._final_shown:
            from IPython.display import update_display

            self._final_shown = True
            update_display(self._bundle(), raw=True, display_id=self._display_id)

    # -- display -------------------------------------------------------------------------

    def _note(self) -> str:
        series = self.series
        n = sum(s["n"] for s in series.values())
        shown = sum(len(s["x"]) for s in series.values())
        return f"{self.status} · {n:,} points" + (f", {shown:,} drawn" if shown < n else "")

    def to_html(self) -> str:
        """The static chart of the current (downsampled) series."""
        return _static.chart_svg(self.series, self.title, self._note())

    def _text(self) -> str:
        return f"<LiveChart {self.title} {self._note()}>"

    def close(self) -> None:
        if self._set_up:  # not when __init__ refused its arguments
            self._stop()
            self._unhook()
        super().close()


def _key_state(d: Downsampler) -> dict[str, Any]:
    """What the view draws of one key."""
    steps, values = d.series()
    middles, means = d.means()
    out: dict[str, Any] = {"x": steps.tolist(), "y": values.tolist(), "n": d.count,
                           "mx": middles.tolist(), "my": means.tolist()}
    if d.first_nonfinite is not None:
        step, value = d.first_nonfinite
        out["nonfinite"] = {"count": d.nonfinite, "step": step, "value": _static.fmt(value)}
    return out


def _integer(value: Any) -> int | None:
    """``value`` as an int when it is an integer (numpy's too), not a bool, float or str."""
    if isinstance(value, bool):
        return None
    try:
        return operator.index(value)
    except TypeError:
        return None


class _Pusher:
    """The one daemon thread that pushes changed series to every live chart."""

    def __init__(self) -> None:
        self._charts: list[LiveChart] = []
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def add(self, chart: LiveChart) -> None:
        with self._lock:
            self._charts.append(chart)
            # (After a fork the parent's thread is not in the child: it shows as not alive.)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="mlp-live-charts",
                                                daemon=True)
                self._thread.start()

    def discard(self, chart: LiveChart) -> None:
        with self._lock:
            if chart in self._charts:
                self._charts.remove(chart)

    def _loop(self) -> None:
        while True:
            time.sleep(PUSH_INTERVAL)
            with self._lock:
                charts = list(self._charts)
                if not charts:
                    self._thread = None
                    return
            for chart in charts:
                try:
                    chart._context.run(chart._tick)
                except Exception as e:  # one broken chart must not stop the others
                    log.debug("mlp: live chart update failed: %s", e)


_pusher = _Pusher()


def live_chart(run: Run | str | None = None, keys: Iterable[str] | None = None, *,
               max_points: int = 2000) -> LiveChart:
    """A chart of a run's metrics (default: the active run's), live while the run is.

    ``keys`` picks the metrics (default: all but ``system/*``); each line keeps at most
    ``max_points`` points (min/max per bucket) however many were logged.
    """
    from .._api import active_run, get_run

    if run is None:
        run = active_run()
        if run is None:
            raise InvalidInput("no active run to chart: start one, or pass run= (a Run or a "
                               "reference such as 'demo/baseline')", field="run")
    elif not isinstance(run, Run):
        run = get_run(run)
    return LiveChart(run, keys, max_points=max_points)

