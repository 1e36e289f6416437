"""Errors raised by the mlp SDK and the platform services.

They live in the kernel package so that both transports (in-process and HTTP)
raise the same classes: a user catches ``mlp.errors.InvalidInput`` whichever
way their run reaches the store.
"""

from __future__ import annotations


class MLPError(Exception):
    """Base class of every error jupyter-mlp raises on purpose."""

    #: HTTP status a handler maps this error to.
    status = 500

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def to_dict(self) -> dict:
        return {"error": type(self).__name__, "message": self.message, "field": self.field}


class InvalidInput(MLPError):
    """A value given by the caller is malformed; the message names it and the fix."""

    status = 400


class NotFound(MLPError):
    """A run, experiment, artifact or metric that does not exist."""

    status = 404


class Conflict(MLPError):
    """The request contradicts what is stored (e.g. re-logging a param with another value)."""

    status = 409


class QueryError(InvalidInput):
    """A malformed search query; ``position`` is the 0-based offset of the problem."""

    def __init__(self, message: str, query: str, position: int, field: str = "where") -> None:
        pointer = " " * (position + 2) + "^"
        super().__init__(f"{message} (at position {position})\n  {query}\n{pointer}", field=field)
        self.query = query
        self.position = position
        self.reason = message

    def to_dict(self) -> dict:
        return {**super().to_dict(), "reason": self.reason, "query": self.query,
                "position": self.position}


class SchemaMismatch(MLPError):
    """The database schema is not the one this version of jupyter-mlp needs."""

    status = 503


class AccessDenied(MLPError):
    """The server refused the credentials (``MLP_TOKEN``): fixable, so data is kept."""

    status = 403


class StoreUnavailable(MLPError):
    """The store is briefly away (the database restarts, is locked, or unreachable)."""

    status = 503


class ClusterUnavailable(MLPError):
    """The Ray cluster jobs run on could not be reached, started or asked (the server itself
    is fine, so this is not retried as an outage of the server)."""

    status = 424


class ServerFault(MLPError):
    """The server failed on a request it should have handled (a bug): retrying the same
    data will fail the same way."""


class ServerDependencyMissing(MLPError):
    """In-process mode needs packages that a kernel-only install does not have."""


class EnvironmentMismatch(UserWarning):
    """Warned by ``mlp.load_model`` when this environment differs from the one a model pinned
    (packages, Python); ``differences`` lists each: ``scikit-learn 1.5.0 here, model pinned
    1.4.2``. A model may still load, yet predict differently or fail later."""

    def __init__(self, model: str, differences: list[str]) -> None:
        self.model = model
        self.differences = list(differences)
        super().__init__(
            f"{model} was saved in another environment:\n"
            + "".join(f"  - {d}\n" for d in self.differences)
            + "install its requirements.txt (pip install -r <model>/requirements.txt) to "
            "predict as it did when it was logged")


def from_dict(data: dict) -> MLPError:
    """Rebuild an error sent as JSON by the server (used by the HTTP transport)."""
    if data.get("error") == "QueryError" and "position" in data:
        return QueryError(data.get("reason", ""), data.get("query", ""), int(data["position"]),
                          field=data.get("field") or "where")
    cls = {c.__name__: c for c in (InvalidInput, NotFound, Conflict, SchemaMismatch,
                                   AccessDenied, StoreUnavailable, ServerFault,
                                   ClusterUnavailable)}.get(
        data.get("error", ""), MLPError
    )
    return cls(data.get("message", "unknown error"), field=data.get("field"))
