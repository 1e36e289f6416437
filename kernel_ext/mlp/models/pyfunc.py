"""The ``python_function`` loader of the models jupyter-mlp writes for objects with ``predict``
and for plain functions (``loader_module: mlp.models.pyfunc`` in their MLmodel file).

MLflow calls ``_load_pyfunc`` from ``mlflow.pyfunc.load_model`` when jupyter-mlp is installed,
so its tools and model servers run these models too.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

from ..errors import InvalidInput

MODEL_FILE = "model.pkl"


def _call(fn: Any, model_input: Any, params: dict | None) -> Any:
    """``fn(model_input)``, handing ``params`` on only to a function that takes them."""
    if params:
        try:
            takes = "params" in inspect.signature(fn).parameters
        except (TypeError, ValueError):  # builtins and some extension types
            takes = False
        if takes:
            return fn(model_input, params=params)
    return fn(model_input)


class FunctionModel:
    """A plain function logged as a model: ``model.predict(X)`` (or ``model(X)``) calls it.

    >>> model = mlp.load_model("runs:/3f2a.../scorer")
    >>> model.predict(df)
    """

    def __init__(self, fn: Any) -> None:
        self.fn = fn

    def predict(self, model_input: Any, params: dict | None = None) -> Any:
        return _call(self.fn, model_input, params)

    def __call__(self, model_input: Any) -> Any:
        return self.fn(model_input)

    def __repr__(self) -> str:
        return f"<FunctionModel {getattr(self.fn, '__qualname__', self.fn)!r}>"


class ObjectModel:
    """What MLflow's pyfunc calls for an object with ``predict``: ``predict(X, params=None)``."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def predict(self, model_input: Any, params: dict | None = None) -> Any:
        return _call(self.model.predict, model_input, params)

    @property
    def python_model(self) -> Any:
        """The logged object: MLflow's ``PyFuncModel.unwrap_python_model()`` returns it."""
        return self.model


def load_pickled(path: str | Path) -> Any:
    """The object in a cloudpickle file (of a model folder, or the file itself)."""
    p = Path(path)
    if p.is_dir():
        p = p / MODEL_FILE
    try:
        import cloudpickle
    except ImportError:
        raise InvalidInput("this model was pickled with cloudpickle: pip install "
                           "'jupyter-mlp[models]' (or cloudpickle) to load it",
                           field="model") from None
    with open(p, "rb") as f:
        return cloudpickle.load(f)


def wrap(obj: Any) -> FunctionModel | ObjectModel:
    return ObjectModel(obj) if hasattr(obj, "predict") else FunctionModel(obj)


def _load_pyfunc(data_path: str, model_config: Any = None) -> FunctionModel | ObjectModel:
    """Called by ``mlflow.pyfunc.load_model`` with the model file's path."""
    return wrap(load_pickled(data_path))
