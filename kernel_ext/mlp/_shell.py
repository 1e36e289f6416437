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


def watch_cells(shell: Any = None) -> dict[int, str]:
    """Remember the frontend's cell id of each execution from now on (JupyterLab sends one
    with every cell it runs), so a diff can tell an edited cell from a new one. Returns the
    map {execution count: cell id}; registered once per shell."""
    shell = ipython_shell() if shell is None else shell
    if shell is None:
        return {}
    ids = getattr(shell, "_mlp_cell_ids", None)
    if ids is not None:
        return ids
    ids: dict[int, str] = {}

    def running(info: Any) -> None:
        # The cell running now (the one that starts a run) is captured before it ends: it
        # is the latest history entry, under key 0 until its count is known.
        cell_id = getattr(info, "cell_id", None)
        ids.pop(0, None)
        if cell_id and getattr(info, "store_history", False):
            ids[0] = str(cell_id)

    def ran(result: Any) -> None:
        cell_id = ids.pop(0, None)
        count = getattr(result, "execution_count", None)
        if cell_id and isinstance(count, int):
            ids[count] = cell_id

    try:
        shell.events.register("pre_run_cell", running)
        shell.events.register("post_run_cell", ran)
        shell._mlp_cell_ids = ids
    except (AttributeError, ValueError):
        return {}
    return ids
