"""Whether this code runs in IPython, and in a Jupyter kernel: one answer for the SDK."""

from __future__ import annotations

import sys
from typing import Any


def ipython_shell() -> Any:
    """The running IPython shell, or None. Only a process that already imported IPython can
    be inside one; importing it here would cost hundreds of milliseconds in plain scripts."""
    ipython = sys.modules.get("IPython")
    get_ipython = getattr(ipython, "get_ipython", None)
    return get_ipython() if get_ipython is not None else None


def is_kernel_shell(shell: Any) -> bool:
    """A Jupyter kernel's shell (ipykernel's ZMQInteractiveShell or a subclass of it)."""
    return shell is not None and any("ZMQ" in cls.__name__ for cls in type(shell).__mro__)


def in_kernel() -> bool:
    """Whether this process is a Jupyter kernel (not merely a program that imported one)."""
    return is_kernel_shell(ipython_shell())
