"""Webhook deliveries: the registry queues one row per (hook, event) with the change itself;
this deliverer POSTs them from a server thread, signed, retried with backoff, logged.

A delivery is ``POST url`` with a JSON body (``id``, ``event``, ``model``, ``version``,
``from``, ``to``, ``actor``, ``at``, ``comment``, ``request_id``) and the headers
``X-MLP-Event``, ``X-MLP-Delivery``, ``X-MLP-Timestamp`` and ``X-MLP-Signature:
sha256=<hex>``, the HMAC-SHA256 under the hook's secret of ``<timestamp>.<body>``. Any 2xx
answer delivers it; anything else (a redirect too: they are not followed) is retried after
``backoff``, ``2 x backoff``, ... seconds until ``max_attempts``, then marked failed. A slow
or failing hook never blocks the registry: changes only queue rows.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import select, update

from mlp.errors import MLPError

from ..store.schema import registry_audit, webhook_deliveries, webhooks

log = logging.getLogger("mlp_server.webhooks")


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The X-MLP-Signature value of a delivery (receivers recompute and compare it)."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


class Deliverer:
    """Sends due deliveries; ``run_once`` is called periodically from a worker thread."""

    def __init__(self, registry: Any, *, max_attempts: int = 8, backoff: float = 2.0,
                 timeout: float = 10.0, clock: Callable[[], float] = time.time,
                 post: Callable[..., Any] | None = None) -> None:
        self.registry = registry
        self.store = registry.store
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.timeout = timeout
        self.clock = clock
        if post is None:
            import requests

            session = requests.Session()
            post = session.post
        self._post = post

    def run_once(self, limit: int = 50) -> int:
        """Attempt every due delivery (at most ``limit``); returns how many were attempted."""
        now = self.clock()
        d = webhook_deliveries
        with self.store.read() as conn:
            due = conn.execute(
                select(d.c.id, d.c.attempts, d.c.audit_id, webhooks.c.url, webhooks.c.secret,
                       webhooks.c.active, registry_audit)
                .select_from(d.join(webhooks, webhooks.c.id == d.c.webhook_id)
                             .join(registry_audit, registry_audit.c.id == d.c.audit_id))
                .where(d.c.status == "pending", d.c.next_attempt_at <= now)
                .order_by(d.c.next_attempt_at, d.c.id).limit(limit)).all()
        for row in due:
            self._deliver(row)
        return len(due)

    def _deliver(self, row) -> None:
        body = json.dumps({
            "id": row.id, "event": row.action, "model": row.model, "version": row.version,
            "from": row.from_value, "to": row.to_value, "actor": row.actor, "at": row.at,
            "comment": row.comment, "request_id": row.request_id, "audit_id": row.audit_id,
        }, separators=(",", ":")).encode()
        ts = f"{self.clock():.3f}"
        code, error = None, None
        if not row.active:
            error = "the webhook was removed"
        else:
            try:
                self.registry.check_webhook_url(row.url)  # the allowlist may have changed
                resp = self._post(row.url, data=body, timeout=self.timeout,
                                  allow_redirects=False, headers={
                                      "Content-Type": "application/json",
                                      "User-Agent": "jupyter-mlp-webhooks",
                                      "X-MLP-Event": row.action,
                                      "X-MLP-Delivery": str(row.id),
                                      "X-MLP-Timestamp": ts,
                                      "X-MLP-Signature": sign(row.secret, ts, body)})
                code = resp.status_code
                if not 200 <= code < 300:
                    error = f"HTTP {code}"
            except MLPError as e:
                error = str(e)
            except Exception as e:  # a network error: retried
                error = f"{type(e).__name__}: {e}"[:500]
        attempts = row.attempts + 1
        now = self.clock()
        if error is None:
            values = {"status": "delivered", "delivered_at": now, "last_error": None}
        elif attempts >= self.max_attempts or not row.active:
            values = {"status": "failed", "last_error": error, "next_attempt_at": None}
            log.warning("webhook delivery %s to %s failed for good: %s", row.id, row.url, error)
        else:
            values = {"last_error": error,
                      "next_attempt_at": now + self.backoff * 2 ** (attempts - 1)}
        with self.store.write() as conn:
            # Only if no other deliverer took it meanwhile (same attempt count).
            conn.execute(update(webhook_deliveries).where(
                webhook_deliveries.c.id == row.id, webhook_deliveries.c.attempts == row.attempts,
                webhook_deliveries.c.status == "pending").values(
                attempts=attempts, last_code=code, **values))
