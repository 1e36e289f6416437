"""Content hashes of a run's inputs (``mlp.log_input``), so a diff shows when two runs
trained on different data."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from .errors import InvalidInput

_BLOCK = 1 << 20


def describe(data: Any) -> dict:
    """``{"digest": "sha256:...", "kind": ..., ...}`` of a DataFrame or Series (values,
    index, column names and dtypes), a numpy array, bytes, or a file or folder path."""
    mod = type(data).__module__.split(".")[0]
    if mod == "pandas" and hasattr(data, "dtypes"):
        import pandas as pd

        h = hashlib.sha256()
        frame = data.to_frame() if isinstance(data, pd.Series) else data
        h.update(repr([(str(c), str(t)) for c, t in frame.dtypes.items()]).encode())
        h.update(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes())
        return {"digest": "sha256:" + h.hexdigest(), "kind": "dataframe",
                "rows": int(len(frame)), "columns": [str(c) for c in frame.columns]}
    if mod == "numpy" and hasattr(data, "tobytes"):
        import numpy as np

        arr = np.ascontiguousarray(data)
        h = hashlib.sha256(f"{arr.dtype.str}{arr.shape}".encode())
        h.update(arr.tobytes() if arr.dtype != object else repr(arr.tolist()).encode())
        return {"digest": "sha256:" + h.hexdigest(), "kind": "array",
                "shape": list(arr.shape), "dtype": str(arr.dtype)}
    if isinstance(data, (bytes, bytearray, memoryview)):
        return {"digest": "sha256:" + hashlib.sha256(bytes(data)).hexdigest(), "kind": "bytes",
                "size": len(data)}
    if isinstance(data, (str, os.PathLike)):
        p = Path(data).expanduser()
        if p.is_file():
            return {"digest": "sha256:" + _file(p), "kind": "file", "path": str(p.resolve()),
                    "size": p.stat().st_size}
        if p.is_dir():
            h, files, size = hashlib.sha256(), 0, 0
            for f in sorted(x for x in p.rglob("*") if x.is_file()):
                h.update(f"{f.relative_to(p).as_posix()}\0{_file(f)}\n".encode())
                files, size = files + 1, size + f.stat().st_size
            return {"digest": "sha256:" + h.hexdigest(), "kind": "folder",
                    "path": str(p.resolve()), "files": files, "size": size}
        raise InvalidInput(f"input {str(data)!r} is not a file or folder here", field="data")
    raise InvalidInput(f"log_input takes a DataFrame, Series, numpy array, bytes or a path, "
                       f"got {type(data).__name__}", field="data")


def _file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(_BLOCK):
            h.update(block)
    return h.hexdigest()
