"""A model's signature and input example, in the JSON MLflow reads from an MLmodel file.

A DataFrame is described column by column (``{"type": "double", "name": "age",
"required": true}``), a numpy array as one tensor (``{"type": "tensor", "tensor-spec":
{"dtype": "float64", "shape": [-1, 4]}}``, the first axis variable). The example is saved as
``input_example.json`` (a DataFrame in pandas' "split" orientation) with the request body a
model server takes (``serving_input_example.json``).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
import warnings
from typing import Any

from ..errors import InvalidInput

EXAMPLE_FILE = "input_example.json"
SERVING_FILE = "serving_input_example.json"


def _numpy_type(dtype: Any) -> str | None:
    """MLflow's name for a column dtype (numpy or pandas extension); None: look at values."""
    kind, size = dtype.kind, getattr(dtype, "itemsize", 8)
    if kind == "b":
        return "boolean"
    if kind == "i":
        return "integer" if size <= 4 else "long"
    if kind == "u":
        return "integer" if size < 4 else "long" if size < 8 else None
    if kind == "f":
        return "float" if size <= 4 else "double"
    if kind == "U":
        return "string"
    if kind == "S":
        return "binary"
    if kind == "M":
        return "datetime"
    return None


def _value_type(values: list) -> str | None:
    """The type of a column of Python objects (strings in an object column, say)."""
    kinds = set()
    for v in values:
        if _missing(v):
            continue
        if isinstance(v, bool):
            kinds.add("boolean")
        elif isinstance(v, int):
            kinds.add("long")
        elif isinstance(v, float):
            kinds.add("double")
        elif isinstance(v, str):
            kinds.add("string")
        elif isinstance(v, (bytes, bytearray)):
            kinds.add("binary")
        elif isinstance(v, (dt.datetime, dt.date)):
            kinds.add("datetime")
        else:
            return None
    if kinds == {"long", "double"}:
        return "double"
    return kinds.pop() if len(kinds) == 1 else None


def _missing(v: Any) -> bool:
    if isinstance(v, float):
        return math.isnan(v)
    return v is None or type(v).__name__ in ("NAType", "NaTType")


def _column_spec(name: Any, col: Any) -> dict:
    dtype = col.dtype
    kind = _numpy_type(dtype)
    if kind is None:  # object or string columns: what the values are
        kind = _value_type(col.infer_objects().tolist())
    if kind is None:
        raise InvalidInput(
            f"cannot describe column {name!r} ({dtype}) of the example: use columns of "
            "numbers, booleans, strings, bytes or datetimes, or pass signature=",
            field="example")
    spec: dict = {"type": kind}
    if name is not None:
        spec["name"] = name
    spec["required"] = not bool(col.isna().any())
    return spec


def _tensor_spec(arr: Any) -> dict:
    import numpy as np

    dtype = arr.dtype
    if dtype.char == "U":
        dtype = np.dtype("str")
    elif dtype.char == "S":
        dtype = np.dtype("bytes")
    elif dtype.kind == "O" or _numpy_type(dtype) is None:
        raise InvalidInput(f"cannot describe an array of {dtype} in a signature: use a "
                           "numeric, boolean or string array, or pass signature=",
                           field="example")
    return {"type": "tensor", "tensor-spec": {"dtype": str(dtype),
                                              "shape": [-1, *arr.shape[1:]]}}


def schema(data: Any, *, row_output: bool = False) -> list[dict]:
    """MLflow's schema of a DataFrame, Series or numpy array. ``row_output``: a 1-D array
    predicted from a DataFrame is one unnamed column (one value per row), as MLflow says."""
    import numpy as np
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return [_column_spec(c, data[c]) for c in data.columns]
    if isinstance(data, pd.Series):
        return [_column_spec(data.name, data)]
    if isinstance(data, np.ndarray):
        if row_output and data.ndim == 1:
            return [_column_spec(None, pd.Series(data))]
        return [_tensor_spec(data)]
    if isinstance(data, (list, tuple)):
        return schema(np.asarray(data), row_output=row_output)
    raise InvalidInput(f"cannot describe {type(data).__name__} in a signature: the example "
                       "must be a pandas DataFrame or a numpy array, and predict should "
                       "return one of those or a Series (or pass signature=)", field="example")


def infer(example: Any, prediction: Any) -> dict:
    """``{"inputs": json, "outputs": json, "params": None}`` as MLflow stores a signature."""
    import numpy as np

    inputs = schema(example)
    tensor = isinstance(example, np.ndarray)
    try:
        outputs = None if prediction is None else schema(prediction, row_output=not tensor)
    except InvalidInput as e:  # the model is fine; only its output type is left open
        warnings.warn(f"the signature's output is 'any': {e.message}", stacklevel=4)
        outputs = [{"type": "any", "required": True}]
    return {"inputs": json.dumps(inputs),
            "outputs": None if outputs is None else json.dumps(outputs), "params": None}


def normalize(signature: Any) -> dict:
    """A signature given by the caller: MLflow's ``ModelSignature`` or a dict with
    ``inputs``/``outputs``/``params`` as schema lists or their JSON."""
    if hasattr(signature, "to_dict") and not isinstance(signature, dict):
        signature = signature.to_dict()
    if not isinstance(signature, dict) or "inputs" not in signature:
        raise InvalidInput("signature must be a dict with 'inputs' (and optionally "
                           "'outputs', 'params') or an mlflow ModelSignature",
                           field="signature")
    out = {}
    for key in ("inputs", "outputs", "params"):
        value = signature.get(key)
        if isinstance(value, str):
            try:
                json.loads(value)
            except ValueError as e:
                raise InvalidInput(f"signature[{key!r}] is not valid JSON: {e}",
                                   field="signature") from None
        elif value is not None:
            value = json.dumps(value)
        out[key] = value
    return out


def _jsonable(o: Any) -> Any:
    """What json cannot encode by itself, as MLflow encodes it."""
    import numpy as np

    if isinstance(o, np.ndarray):
        return [_jsonable(x) for x in o.tolist()] if o.dtype == object else o.tolist()
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, (bytes, bytearray)):
        return base64.encodebytes(o).decode("ascii")
    if isinstance(o, np.datetime64):
        return str(np.datetime_as_string(o))
    if isinstance(o, (dt.date, dt.datetime, dt.time)):  # pandas Timestamps too
        return o.isoformat()
    raise TypeError(f"{type(o).__name__} is not JSON serializable")


def _no_nan(v: Any) -> Any:
    if isinstance(v, list):
        return [_no_nan(x) for x in v]
    return None if _missing(v) else v


def example_files(example: Any) -> tuple[dict, dict[str, str]]:
    """``(saved_input_example_info, {file name: text})`` for an example."""
    import numpy as np
    import pandas as pd

    if isinstance(example, pd.DataFrame):
        split = example.to_dict(orient="split")
        data: Any = {"columns": split["columns"], "data": _no_nan(split["data"])}
        if list(example.columns) == list(range(len(example.columns))):
            del data["columns"]  # default labels: MLflow leaves them out
        info = {"artifact_path": EXAMPLE_FILE, "pandas_orient": "split" if "columns" in data
                else "values", "serving_input_path": SERVING_FILE, "type": "dataframe"}
        serving = {"dataframe_split": data}
    elif isinstance(example, np.ndarray):
        data = _no_nan(example.tolist()) if example.dtype.kind in "fc" else example
        info = {"artifact_path": EXAMPLE_FILE, "serving_input_path": SERVING_FILE,
                "type": "ndarray"}
        serving = {"inputs": data}
    else:
        raise InvalidInput(f"example must be a pandas DataFrame or a numpy array, got "
                           f"{type(example).__name__} (e.g. example=X.head())", field="example")
    files = {EXAMPLE_FILE: json.dumps(data, default=_jsonable),
             SERVING_FILE: json.dumps(serving, default=_jsonable, indent=2)}
    return info, files
