"""Choosing how the SDK reaches the store."""

from __future__ import annotations

import os
import sys

from .._shell import ipython_shell
from .base import MetricBatch, Transport

__all__ = ["MetricBatch", "Transport", "connect"]


def connect(url: str | None = None, token: str | None = None) -> Transport:
    """The transport for this process (``url``/``token`` override the environment).

    ``MLP_SERVER_URL`` (with ``MLP_TOKEN``) names a jupyter-mlp server: runs go there over
    HTTP, after a version handshake. Otherwise the SDK works in-process on ``MLP_HOME``.
    Inside IPython it says once where runs go, so nobody wonders why a server they
    expected is not receiving them.
    """
    if url is None:
        url, token = os.environ.get("MLP_SERVER_URL", "").strip(), os.environ.get("MLP_TOKEN")
    if url:
        from .http import HttpTransport

        transport: Transport = HttpTransport(url, token or None,
                                             retry_seconds=_retry_seconds())
        handshake(transport.info(), url)
        where = f"the jupyter-mlp server at {url}"
    else:
        from .local import LocalTransport

        local = LocalTransport.from_config()
        transport, where = local, f"in-process to {local.service.store.display_url}"
    if ipython_shell() is not None:
        print(f"mlp: logging {where}", file=sys.stderr)
    return transport


def _retry_seconds() -> float:
    from ..errors import InvalidInput

    raw = os.environ.get("MLP_RETRY_SECONDS", "").strip() or "10"
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise InvalidInput(f"MLP_RETRY_SECONDS={raw!r} must be a number of seconds (0 or more)",
                           field="MLP_RETRY_SECONDS")
    return value


def handshake(info: dict, url: str) -> None:
    """Refuse a server whose API this SDK does not speak, saying what to upgrade."""
    from .._version import __version__
    from ..errors import MLPError

    if info.get("api") != "v1":
        raise MLPError(f"the server at {url} speaks API {info.get('api')!r}, this SDK "
                       f"(jupyter-mlp {__version__}) speaks v1: install the server's version "
                       f"({info.get('version')}) in this kernel, or upgrade the server")


