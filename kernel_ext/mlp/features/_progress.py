"""A progress bar for long feature work: a widget in a notebook, a line on a terminal, nothing
for work that ends within a second."""

from __future__ import annotations

import sys
import time
from typing import Any


class Progress:
    """``update(fraction)`` as work goes; ``done()`` at the end. Shown only after ``delay``."""

    def __init__(self, label: str, enabled: bool | None = True, delay: float = 1.0) -> None:
        self.label = label
        self.enabled = enabled is not False
        self.start = time.monotonic()
        self.delay = delay
        self._bar: Any = None
        self._text: Any = None
        self._line = False

    def update(self, fraction: float) -> None:
        if not self.enabled or fraction < 0:
            return
        if self._bar is None and not self._line:
            if time.monotonic() - self.start < self.delay:
                return
            self._show()
        fraction = max(0.0, min(1.0, fraction))
        elapsed = time.monotonic() - self.start
        text = f"{self.label}: {fraction:.0%} ({elapsed:.0f} s)"
        if self._bar is not None:
            self._bar.value = fraction
            self._text.value = text
        elif self._line:
            sys.stderr.write("\r" + text)
            sys.stderr.flush()

    def _show(self) -> None:
        from .._shell import ipython_shell

        shell = ipython_shell()
        if shell is not None and getattr(shell, "kernel", None) is not None:
            try:
                import ipywidgets as w
                from IPython.display import display

                self._bar = w.FloatProgress(min=0.0, max=1.0, value=0.0,
                                            layout=w.Layout(width="40%"))
                self._text = w.Label(self.label)
                self._box = w.HBox([self._bar, self._text])
                display(self._box)
                return
            except ImportError:
                pass
        self._line = True

    def done(self, summary: str | None = None) -> None:
        if self._bar is not None:
            self._bar.value = 1.0
            self._bar.bar_style = "success"
            self._text.value = summary or f"{self.label}: done in " \
                f"{time.monotonic() - self.start:.1f} s"
        elif self._line:
            sys.stderr.write("\r" + (summary or f"{self.label}: done in "
                                     f"{time.monotonic() - self.start:.1f} s") + "\n")
            sys.stderr.flush()

    def failed(self) -> None:
        if self._bar is not None:
            self._bar.bar_style = "danger"
        elif self._line:
            sys.stderr.write("\n")
