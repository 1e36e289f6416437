"""jupyter-mlp's server side: the platform services and (later) the Jupyter extension."""

from mlp._version import __version__

__all__ = ["__version__"]
