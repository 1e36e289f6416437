"""The model registry from the SDK: ``mlp.register_model``, ``mlp.request_transition``,
``mlp.approve`` and friends. Every change acts as the user the server authenticated (in
process: the OS user); the server enforces the gates."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .errors import InvalidInput

if TYPE_CHECKING:
    import pandas as pd

    from ._run import Run

_MODELS_URI = re.compile(r"^models:/(?P<name>[^/@]+)(?:/(?P<version>\d+)|@(?P<label>[^/]+))/?$")


def _reg(action: str, **kw: Any) -> Any:
    from ._client import get_client

    return get_client().transport.registry(action, **kw)


def register_model(run: Run | str, name: str, artifact: str = "model", *,
                   description: str | None = None, tags: Mapping[str, Any] | None = None
                   ) -> dict:
    """Register the model a run logged at ``artifact`` (``mlp.log_model``, or MLflow's
    MLmodel folder) as version N+1 of ``name`` (created on first use). The version links to
    the run, and the run lists its versions.

    >>> v = mlp.register_model(run, "churn")        # {'name': 'churn', 'version': 1, ...}
    """
    from ._client import get_client

    c = get_client()
    rid = getattr(run, "id", run)
    if isinstance(rid, str) and rid in c.owned:
        c.flush()  # its artifacts are uploaded synchronously; its end may be buffered
    return _reg("register", run_ref=rid, name=name, artifact=artifact, description=description,
                tags=tags)


def models(like: str | None = None) -> pd.DataFrame:
    """Registered models: name, latest version, versions in staging and production, aliases,
    open requests (``like="churn*"`` filters by name)."""
    import pandas as pd

    rows = _reg("list_models", name_like=like)
    cols = ["name", "latest_version", "versions", "production", "staging", "aliases",
            "pending_requests", "description", "updated_at"]
    return pd.DataFrame([{
        **r, "production": r["stages"]["production"], "staging": r["stages"]["staging"],
        "updated_at": _time(r["updated_at"])} for r in rows], columns=cols)


def get_model(name: str) -> dict:
    """A model: versions (newest first, with stage, aliases, run), aliases, tags, the gate
    policy it is judged by, and its open transition requests."""
    return _reg("get_model", name=name)


def get_model_version(name: str, version: int | str) -> dict:
    """One version by number, ``"@alias"`` or ``"@production"`` (the newest in a stage)."""
    return _reg("resolve", name=name, ref=version)


def create_model(name: str, *, description: str | None = None,
                 tags: Mapping[str, Any] | None = None, policy: Mapping | None = None) -> dict:
    """An empty model, optionally with its own gate policy (see ``set_model_policy``)."""
    return _reg("create_model", name=name, description=description, tags=tags, policy=policy)


def set_model_policy(name: str, policy: Mapping | None) -> dict:
    """Set the model's gate policy (None: back to the server's default); audited.

    >>> mlp.set_model_policy("churn", {"production": {
    ...     "approvals": 1, "checks": ["metrics.auc >= 0.85"],
    ...     "validation": "team.checks:validate"}})
    """
    if policy is None:
        return _reg("update_model", name=name, reset_policy=True)
    return _reg("update_model", name=name, policy=dict(policy))


def set_model_description(name: str, description: str, version: int | None = None) -> dict:
    """The description of a model, or of one of its versions (audited)."""
    if version is not None:
        return _reg("update_version", name=name, version=version, description=description)
    return _reg("update_model", name=name, description=description)


def set_model_tags(name: str, tags: Mapping[str, Any], version: int | None = None) -> None:
    """Tags of a model, or of one of its versions."""
    _reg("set_tags", name=name, tags=dict(tags), version=version)


def set_alias(name: str, alias: str, version: int | str) -> dict:
    """Point a free alias (``champion``, ``candidate``...) at a version; moves are audited.
    ``mlp.load_model("models:/churn@champion")`` follows it."""
    return _reg("set_alias", name=name, alias=alias, version=version)


def delete_alias(name: str, alias: str) -> None:
    _reg("delete_alias", name=name, alias=alias)


def request_transition(name: str, version: int | str, stage: str, *,
                       comment: str | None = None) -> dict:
    """Ask to move a version (a number, ``"@alias"`` or ``"@stage"``) to ``staging``,
    ``production``, ``archived`` or ``none``. The
    model's gate decides: applied at once when it needs no approval and its checks pass;
    otherwise ``pending`` until others approve (``mlp.approve(request["id"])``)."""
    return _reg("request_transition", name=name, version=version, stage=stage, comment=comment)


def approve(request_id: int, *, comment: str | None = None) -> dict:
    """Approve someone else's transition request (your own is refused)."""
    return _reg("approve", request_id=request_id, comment=comment)


def reject(request_id: int, *, comment: str | None = None) -> dict:
    return _reg("reject", request_id=request_id, comment=comment)


def cancel_request(request_id: int, *, comment: str | None = None) -> dict:
    """Withdraw your own open request."""
    return _reg("cancel", request_id=request_id, comment=comment)


def transition_requests(name: str | None = None,
             status: str | Iterable[str] | None = ("pending", "approved")) -> list[dict]:
    """Transition requests, newest first (default: the open ones), with their gate, the
    results of its checks, and the reviews."""
    st = [status] if isinstance(status, str) else None if status is None else list(status)
    return _reg("requests", name=name, status=st)


def get_request(request_id: int) -> dict:
    return _reg("get_request", request_id=request_id)


def audit(name: str | None = None, *, since: datetime | float | None = None,
          until: datetime | float | None = None, limit: int | None = 1000) -> pd.DataFrame:
    """Every registry change (of one model, or all), oldest first: when, who, what, the
    version, from → to, the comment, the request."""
    import pandas as pd

    rows = _reg("audit", name=name, since=_epoch(since), until=_epoch(until), limit=limit)
    cols = ["at", "actor", "model", "version", "action", "from", "to", "comment", "request_id"]
    return pd.DataFrame([{**r, "at": _time(r["at"])} for r in rows], columns=cols)


def model_at(name: str, at: datetime | float, stage: str = "production") -> list[int]:
    """Which versions of ``name`` were in ``stage`` at time ``at`` (from the audit log)."""
    return _reg("stage_at", name=name, at=_epoch(at), stage=stage)


def add_webhook(url: str, secret: str, *, model: str | None = None,
                events: Iterable[str] | None = None) -> dict:
    """POST registry events (all, or ``events`` such as ``["applied"]``) of one model or all
    to ``url``, signed with HMAC-SHA256 under ``secret`` (see the README); the host must be on
    the server's allowlist (``c.MLPRegistry.webhook_hosts``)."""
    return _reg("add_webhook", url=url, secret=secret, model=model,
                events=None if events is None else list(events))


def webhooks() -> list[dict]:
    return _reg("webhooks")


def remove_webhook(webhook_id: int) -> None:
    _reg("remove_webhook", hid=webhook_id)


def webhook_deliveries(webhook_id: int) -> list[dict]:
    """A webhook's delivery log, newest first: event, status, attempts, last error."""
    return _reg("deliveries", hid=webhook_id)


def resolve_model_uri(uri: str) -> tuple[str, str]:
    """``models:/churn/3``, ``models:/churn@champion`` or ``models:/churn@production`` →
    (run id, artifact path) of that version."""
    m = _MODELS_URI.match(uri) if isinstance(uri, str) else None
    if m is None:
        raise InvalidInput(f"a model URI looks like models:/NAME/VERSION or models:/NAME@ALIAS, "
                           f"got {uri!r}", field="uri")
    ref = m["version"] if m["version"] else f"@{m['label']}"
    v = _reg("resolve", name=m["name"], ref=ref)
    return v["run_id"], v["artifact"]


def _epoch(t: datetime | float | None) -> float | None:
    if t is None:
        return None
    if isinstance(t, datetime):
        return t.timestamp()
    if isinstance(t, (int, float)) and not isinstance(t, bool):
        return float(t)
    raise InvalidInput(f"a time is a datetime or seconds since the epoch, got {t!r}",
                       field="at")


def _time(t: float | None) -> Any:
    import pandas as pd

    return None if t is None else pd.Timestamp(t, unit="s", tz="UTC")
