"""Which local files an artifact call stores, and under which run-relative paths.

Shared by the in-process service and the HTTP transport, so both read a folder
the same way; the store still checks every path before keeping anything.
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path

from .errors import InvalidInput


def artifact_files(local_path: str | PathLike, artifact_path: str | None = None,
                   contents: bool = False) -> list[tuple[Path, str]]:
    """``[(file, logical path)]``: a file goes to ``artifact_path`` (default: its name); a
    folder's files go under ``artifact_path`` (default: its name), or with ``contents=True``
    under ``artifact_path`` or the run's root."""
    src = Path(local_path)
    if not src.exists():
        raise InvalidInput(f"{str(src)!r} does not exist: give the path of a file or folder",
                           field="local_path")
    if contents and not src.is_dir():
        raise InvalidInput(f"{str(src)!r} is not a folder: use log_artifact for one file",
                           field="local_path")
    if src.is_file():
        return [(src, artifact_path if artifact_path is not None else src.name)]
    if contents and artifact_path in (None, "", "."):
        base = ""
    else:
        base = artifact_path if artifact_path is not None else src.name
    return [(f, "/".join(p for p in (base, f.relative_to(src).as_posix()) if p))
            for f in sorted(src.rglob("*")) if f.is_file()]
