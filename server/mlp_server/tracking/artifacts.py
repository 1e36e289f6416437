"""Content-addressed artifact storage on a folder or any fsspec URL.

Each file is stored once under ``objects/<2 hex>/<62 hex>`` by its SHA-256;
the store's ``artifacts`` table maps a run's logical paths to digests, so
logging the same checkpoint from ten runs stores it once.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
import uuid
from pathlib import Path

from mlp.errors import InvalidInput, NotFound

_DIGEST = re.compile(r"^[0-9a-f]{64}$")
MAX_PATH = 1024


def clean_artifact_path(path: str) -> str:
    """Normalize a run-relative artifact path; refuse one that would leave the run's root."""
    if not isinstance(path, str) or not path.strip():
        raise InvalidInput("artifact path is empty: give a relative path such as 'plots/roc.png'",
                           field="artifact_path")
    p = path.replace("\\", "/")
    if p.startswith("/") or re.match(r"^[A-Za-z]:/", p):
        raise InvalidInput(
            f"artifact path {path!r} is absolute: give a path relative to the run, "
            "such as 'plots/roc.png'", field="artifact_path")
    norm = posixpath.normpath(p)
    if norm == ".." or norm.startswith("../") or "/../" in f"/{norm}/":
        raise InvalidInput(
            f"artifact path {path!r} escapes the run's artifact folder: remove the '..' parts",
            field="artifact_path")
    if norm == ".":
        raise InvalidInput(f"artifact path {path!r} names the run's folder itself: give a "
                           "file path such as 'plots/roc.png'", field="artifact_path")
    if len(norm) > MAX_PATH:
        raise InvalidInput(f"artifact path {norm[:40]!r}... is longer than {MAX_PATH} characters",
                           field="artifact_path")
    return norm


class ArtifactStore:
    """Blobs by digest under ``root`` (a local folder or an fsspec URL)."""

    def __init__(self, root: str) -> None:
        from fsspec.core import url_to_fs

        self.root_url = root
        self.fs, self.root = url_to_fs(root)

    def object_path(self, digest: str) -> str:
        if not _DIGEST.match(digest):
            raise InvalidInput(f"{digest!r} is not a SHA-256 digest", field="digest")
        return posixpath.join(self.root, "objects", digest[:2], digest[2:])

    def put_file(self, local_path: str | Path) -> tuple[str, int]:
        """Store a local file; returns (digest, size). A blob already stored is not rewritten.

        The file is hashed while it is copied, so the digest is that of the bytes stored
        even if the file changes meanwhile (a checkpoint still being written).
        """
        tmp = posixpath.join(self.root, "tmp", uuid.uuid4().hex)
        self.fs.makedirs(posixpath.dirname(tmp), exist_ok=True)
        h = hashlib.sha256()
        size = 0
        try:
            with open(local_path, "rb") as src, self.fs.open(tmp, "wb") as dst:
                while chunk := src.read(1 << 20):
                    h.update(chunk)
                    dst.write(chunk)
                    size += len(chunk)
            digest = h.hexdigest()
            target = self.object_path(digest)
            if self.fs.exists(target):
                self.fs.rm(tmp)
            else:
                self.fs.makedirs(posixpath.dirname(target), exist_ok=True)
                # Renamed into place, so readers never see half a file.
                self.fs.mv(tmp, target)
        except BaseException:
            if self.fs.exists(tmp):
                self.fs.rm(tmp)
            raise
        return digest, size

    def open(self, digest: str):
        """The blob, opened for binary reading."""
        src = self.object_path(digest)
        if not self.fs.exists(src):
            raise NotFound(f"artifact blob {digest} is missing from {self.root_url}")
        return self.fs.open(src, "rb")

    def get_file(self, digest: str, local_path: str | Path) -> None:
        src = self.object_path(digest)
        if not self.fs.exists(src):
            raise NotFound(f"artifact blob {digest} is missing from {self.root_url}")
        Path(local_path).parent.mkdir(parents=True, exist_ok=True)
        self.fs.get_file(src, str(local_path))
