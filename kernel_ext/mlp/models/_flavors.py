"""Flavors: how a model is written (scikit-learn, or our python_function for any object with
``predict`` and for plain functions) and how a model folder is loaded back, whoever wrote it."""

from __future__ import annotations

import importlib
import inspect
import pickle
from pathlib import Path
from typing import Any

from ..errors import InvalidInput
from . import _env, pyfunc

SKLEARN = "sklearn"
PYFUNC = "python_function"
OUR_LOADER = "mlp.models.pyfunc"
_ENV = {"conda": _env.CONDA_FILE, "virtualenv": _env.PYTHON_ENV_FILE}
#: Modules whose distribution has another name, for "pip install ..." advice.
_DISTRIBUTIONS = {"sklearn": "scikit-learn", "yaml": "pyyaml"}


def kind_of(model: Any) -> str:
    """``"sklearn"``, ``"object"`` (has ``predict``) or ``"function"``; anything else is refused
    naming what a model must be."""
    if inspect.isclass(model):
        raise InvalidInput(f"{model.__name__} is a class: log a fitted instance of it, "
                           f"e.g. mlp.log_model({model.__name__}().fit(X, y), 'model')",
                           field="model")
    if callable(getattr(model, "predict", None)):
        return SKLEARN if type(model).__module__.split(".")[0] == "sklearn" else "object"
    if callable(model):
        return "function"
    raise InvalidInput(f"a {type(model).__name__} has no predict method: log a fitted model "
                       "(an object with predict(X)) or a function of X", field="model")


def dumps(model: Any) -> bytes:
    """The model as cloudpickle bytes: classes and functions defined in a notebook are
    stored by value, so loading needs no copy of the notebook."""
    try:
        import cloudpickle
    except ImportError:
        raise InvalidInput("log_model needs cloudpickle: pip install 'jupyter-mlp[models]'",
                           field="model") from None
    try:
        return cloudpickle.dumps(model)
    except Exception as e:
        raise InvalidInput(
            f"cannot pickle the {type(model).__name__} model ({type(e).__name__}: {e}): "
            "models must not hold open files, locks, connections or generators; drop them "
            "(e.g. in __getstate__) before logging", field="model") from None


def flavors(kind: str) -> dict:
    """The MLmodel ``flavors`` section of a model of this kind, as MLflow 3 writes it."""
    common = {"env": dict(_ENV), "python_version": _env.python_version()}
    if kind == SKLEARN:
        import sklearn

        return {
            PYFUNC: {"loader_module": "mlflow.sklearn", "model_path": pyfunc.MODEL_FILE,
                     "predict_fn": "predict", **common},
            SKLEARN: {"pickled_model": pyfunc.MODEL_FILE, "sklearn_version": sklearn.__version__,
                      "serialization_format": "cloudpickle", "code": None},
        }
    return {PYFUNC: {"loader_module": OUR_LOADER, "data": pyfunc.MODEL_FILE,
                     "predict_fn": "predict", **common}}


def packages(kind: str) -> set[str]:
    """Distributions a model of this kind needs to load, besides those its pickle names."""
    return {"cloudpickle", "scikit-learn"} if kind == SKLEARN else {"cloudpickle", "jupyter-mlp"}


def load(folder: Path, mlmodel: dict, label: str) -> Any:
    """The model in ``folder``: the estimator itself for scikit-learn, the original object (or
    a ``FunctionModel``) for ours, else what the python_function loader module returns."""
    try:
        return _load(folder, mlmodel.get("flavors") or {}, label)
    except ModuleNotFoundError as e:
        missing = (e.name or "").split(".")[0]
        raise InvalidInput(f"{label} needs the {missing!r} module, which is not installed "
                           f"here: {_install_hint(folder, missing)} and load it again",
                           field="ref") from None


def _load(folder: Path, flavor: dict, label: str) -> Any:
    if SKLEARN in flavor:
        return _load_sklearn(folder, flavor[SKLEARN])
    conf = flavor.get(PYFUNC)
    if conf is None:
        raise InvalidInput(f"{label} has flavors {sorted(flavor)} and no python_function "
                           "flavor: load it with the library that wrote it", field="ref")
    module = conf.get("loader_module")
    data = folder / conf["data"] if conf.get("data") else folder
    if module == OUR_LOADER:
        obj = pyfunc.load_pickled(data)
        return obj if hasattr(obj, "predict") else pyfunc.FunctionModel(obj)
    return importlib.import_module(module)._load_pyfunc(str(data))


def _load_sklearn(folder: Path, conf: dict) -> Any:
    path = folder / conf.get("pickled_model", pyfunc.MODEL_FILE)
    fmt = conf.get("serialization_format", "pickle")
    if fmt == "cloudpickle":
        return pyfunc.load_pickled(path)
    if fmt == "pickle":
        with open(path, "rb") as f:
            return pickle.load(f)
    if fmt == "skops":
        try:
            import skops.io
        except ImportError:
            raise InvalidInput("this scikit-learn model was saved with skops: pip install skops "
                               "to load it", field="ref") from None
        return skops.io.load(path, trusted=conf.get("skops_trusted_types"))
    raise InvalidInput(f"unknown scikit-learn serialization_format {fmt!r} in the MLmodel "
                       "file: expected pickle, cloudpickle or skops", field="ref")


def _install_hint(folder: Path, module: str) -> str:
    """``pip install 'xgboost==2.0.3'``: the model's own pin of the missing package if any."""
    dist = _DISTRIBUTIONS.get(module, module)
    req = folder / _env.REQUIREMENTS_FILE
    for line in req.read_text().splitlines() if req.is_file() else ():
        name = line.split("=")[0].split("[")[0].split("<")[0].split(">")[0].strip()
        if _env.canonical(name) == _env.canonical(dist):
            return f"pip install '{line.strip()}'"
    return f"pip install {dist}"
