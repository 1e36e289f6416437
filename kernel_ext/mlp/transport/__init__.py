"""Choosing how the SDK reaches the store."""

from __future__ import annotations

import os
import sys

from .base import MetricBatch, Transport

__all__ = ["MetricBatch", "Transport", "connect"]


def connect() -> Transport:
    """The transport for this process: in-process on ``MLP_HOME`` (the default).

    Inside IPython it says once where runs go, so nobody wonders why a server
    they expected is not receiving them.
    """
    from ..errors import InvalidInput
    from .local import LocalTransport

    if os.environ.get("MLP_SERVER_URL"):
        # Never log somewhere else than asked without saying so.
        raise InvalidInput(
            "MLP_SERVER_URL is set, but this version of jupyter-mlp logs in-process only (the "
            "HTTP transport comes with the server extension). Unset MLP_SERVER_URL to log to "
            "the store under MLP_HOME.", field="MLP_SERVER_URL")
    transport = LocalTransport.from_config()
    shell = _ipython()
    if shell is not None:
        print(f"mlp: logging in-process to {transport.service.store.display_url}",
              file=sys.stderr)
    return transport


def _ipython():
    mod = sys.modules.get("IPython")
    return mod.get_ipython() if mod is not None else None
