"""jupyter-mlp's server side: the platform services and the Jupyter server extension."""

from mlp._version import __version__

__all__ = ["__version__"]


def _jupyter_labextension_paths() -> list[dict]:
    """Where the built panel is, for ``jupyter labextension develop``."""
    return [{"src": "labextension", "dest": "jupyter-mlp-labextension"}]


def _jupyter_server_extension_points() -> list[dict]:
    from .app import MLPExtension

    return [{"module": "mlp_server", "app": MLPExtension}]
