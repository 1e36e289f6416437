"""The model registry (no tornado, no Jupyter): models and versions linked to runs, stages
and aliases, transition requests judged by gate policies, the append-only audit log, and
webhook deliveries queued in the same transaction as the change they announce.

The acting user is always passed in by the caller: the identity the server authenticated
(or, in-process, the OS user). Checks and validations run here, on the server.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import urlparse

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from mlp.errors import AccessDenied, Conflict, InvalidInput, NotFound

from ..store.schema import (
    model_aliases,
    model_tags,
    model_versions,
    registered_models,
    registry_audit,
    request_reviews,
    transition_requests,
    webhook_deliveries,
    webhooks,
)
from . import policy as policies

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,254}$")
_ALIAS = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]{0,254}$")
OPEN = ("pending", "approved")
EVENTS = ("model_created", "version_created", "stage_changed", "alias_set", "alias_removed",
          "request_made", "approved", "rejected", "applied", "cancelled", "policy_changed",
          "description_changed", "tag_set")


class RegistryService:
    """Models over the tracking service's store (a model version points at a run artifact)."""

    def __init__(self, tracking: Any, default_policy: Mapping | None = None, *,
                 validation_timeout: float = 300.0, webhook_hosts: Iterable[str] = (),
                 store_env: Mapping[str, str] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.tracking = tracking
        self.store = tracking.store
        self.default_policy = policies.validate(dict(default_policy or policies.SINGLE_USER))
        self.validation_timeout = validation_timeout
        self.webhook_hosts = [h.lower() for h in webhook_hosts]
        #: Environment for validation workers: where the store is, so mlp.load_model works.
        self.store_env = dict(store_env or {})
        self.clock = clock

    # -- models -------------------------------------------------------------------------

    def create_model(self, name: str, *, user: str | None, description: str | None = None,
                     tags: Mapping[str, Any] | None = None, policy: Mapping | None = None
                     ) -> dict:
        """A new, empty model (``register`` creates one on first use too)."""
        _check_name(name)
        stored = None if policy is None else json.dumps(policies.validate(dict(policy)))
        now = self.clock()
        with self.store.write() as conn:
            if conn.execute(select(registered_models.c.id)
                            .where(registered_models.c.name == name)).first():
                raise Conflict(f"a model named {name!r} exists already", field="name")
            mid = self._insert_model(conn, name, user, description, stored, now)
            for k, v in _tags(tags).items():
                conn.execute(insert(model_tags).values(model_id=mid, version=0, key=k, value=v))
        return self.get_model(name)

    def _insert_model(self, conn, name: str, user: str | None, description: str | None,
                      stored_policy: str | None, now: float) -> int:
        try:
            with conn.begin_nested():
                mid = conn.execute(insert(registered_models).values(
                    name=name, description=description, policy=stored_policy, created_at=now,
                    created_by=user, updated_at=now).returning(registered_models.c.id)
                ).scalar_one()
        except IntegrityError:
            raise Conflict(f"a model named {name!r} was created at the same time; try again",
                           field="name") from None
        self._audit(conn, now, user, mid, name, None, "model_created", None, name)
        return mid

    def list_models(self, name_like: str | None = None) -> list[dict]:
        """Every model with its latest version, versions per stage, aliases and open requests
        (one query per table, whatever the number of models)."""
        m, v = registered_models, model_versions
        with self.store.read() as conn:
            q = select(m.c.id, m.c.name, m.c.description, m.c.updated_at, m.c.created_by)
            if name_like:
                q = q.where(m.c.name.ilike(name_like.replace("*", "%")))
            models = {r.id: {"name": r.name, "description": r.description,
                             "updated_at": r.updated_at, "created_by": r.created_by,
                             "latest_version": None, "versions": 0,
                             "stages": {"staging": [], "production": []}, "aliases": {},
                             "pending_requests": 0}
                      for r in conn.execute(q.order_by(m.c.name))}
            if not models:
                return []

            def of(col):  # every model's rows when not filtered: no list of ids to send
                return col.in_(list(models)) if name_like else col.is_not(None)

            for r in conn.execute(select(v.c.model_id, func.max(v.c.version), func.count())
                                  .where(of(v.c.model_id)).group_by(v.c.model_id)):
                if r[0] in models:
                    models[r[0]]["latest_version"], models[r[0]]["versions"] = r[1], r[2]
            for r in conn.execute(select(v.c.model_id, v.c.version, v.c.stage).where(
                    of(v.c.model_id), v.c.stage.in_(("staging", "production")))
                    .order_by(v.c.version)):
                if r.model_id in models:
                    models[r.model_id]["stages"][r.stage].append(r.version)
            for r in conn.execute(select(model_aliases).where(of(model_aliases.c.model_id))):
                if r.model_id in models:
                    models[r.model_id]["aliases"][r.alias] = r.version
            t = transition_requests
            for r in conn.execute(select(t.c.model_id, func.count()).where(
                    of(t.c.model_id), t.c.status.in_(OPEN)).group_by(t.c.model_id)):
                if r[0] in models:
                    models[r[0]]["pending_requests"] = r[1]
        return list(models.values())

    def get_model(self, name: str) -> dict:
        """A model with its versions (newest first), aliases, tags, effective policy and open
        requests."""
        with self.store.read() as conn:
            m = self._model(conn, name)
            versions = [self._version_dict(r, name) for r in conn.execute(
                select(model_versions).where(model_versions.c.model_id == m.id)
                .order_by(model_versions.c.version.desc()))]
            aliases = {r.alias: r.version for r in conn.execute(
                select(model_aliases).where(model_aliases.c.model_id == m.id))}
            tags: dict[int, dict] = {}
            for r in conn.execute(select(model_tags).where(model_tags.c.model_id == m.id)):
                tags.setdefault(r.version, {})[r.key] = r.value
            reqs = self._requests(conn, transition_requests.c.model_id == m.id,
                                  transition_requests.c.status.in_(OPEN))
        for ver in versions:
            ver["aliases"] = sorted(a for a, n in aliases.items() if n == ver["version"])
            ver["tags"] = tags.get(ver["version"], {})
        return {"name": m.name, "description": m.description, "created_at": m.created_at,
                "created_by": m.created_by, "updated_at": m.updated_at,
                "tags": tags.get(0, {}), "aliases": aliases,
                "policy": policies.effective(m.policy, self.default_policy),
                "policy_is_default": m.policy is None, "versions": versions,
                "open_requests": reqs}

    def update_model(self, name: str, *, user: str | None, description: str | None = None,
                     policy: Mapping | None = None, reset_policy: bool = False) -> dict:
        """Change a model's description or gate policy (both audited)."""
        new_policy = None if policy is None else json.dumps(policies.validate(dict(policy)))
        now = self.clock()
        with self.store.write() as conn:
            m = self._model(conn, name, lock=True)
            values: dict[str, Any] = {"updated_at": now}
            if description is not None and description != m.description:
                values["description"] = description
                self._audit(conn, now, user, m.id, name, None, "description_changed",
                            m.description, description)
            if new_policy is not None or reset_policy:
                old = json.dumps(policies.effective(m.policy, self.default_policy))
                values["policy"] = new_policy
                now_policy = new_policy or json.dumps(self.default_policy)
                if old != now_policy:
                    self._audit(conn, now, user, m.id, name, None, "policy_changed", old,
                                now_policy)
            conn.execute(update(registered_models).where(registered_models.c.id == m.id)
                         .values(**values))
        return self.get_model(name)

    def update_version(self, name: str, version: int | str, *, user: str | None,
                       description: str) -> dict:
        """Change a version's description (audited)."""
        if not isinstance(description, str):
            raise InvalidInput("description must be text", field="description")
        now = self.clock()
        with self.store.write() as conn:
            m = self._model(conn, name, lock=True)
            v = self._version(conn, m, version)
            if v.description != description:
                conn.execute(update(model_versions).where(
                    model_versions.c.model_id == m.id, model_versions.c.version == v.version)
                    .values(description=description))
                self._audit(conn, now, user, m.id, name, v.version, "description_changed",
                            v.description, description)
        return self.get_version(name, version)

    def set_tags(self, name: str, tags: Mapping[str, Any], version: int | None = None, *,
                 user: str | None) -> None:
        now = self.clock()
        with self.store.write() as conn:
            m = self._model(conn, name)
            v = 0 if version is None else self._version(conn, m, version).version
            for k, val in _tags(tags).items():
                old = conn.execute(select(model_tags.c.value).where(
                    model_tags.c.model_id == m.id, model_tags.c.version == v,
                    model_tags.c.key == k)).scalar()
                if old == val:
                    continue
                if old is None:
                    conn.execute(insert(model_tags).values(model_id=m.id, version=v, key=k,
                                                           value=val))
                else:
                    conn.execute(update(model_tags).where(
                        model_tags.c.model_id == m.id, model_tags.c.version == v,
                        model_tags.c.key == k).values(value=val))
                self._audit(conn, now, user, m.id, name, v or None, "tag_set", old,
                            f"{k}={val}")

    # -- versions -----------------------------------------------------------------------

    def register(self, run_ref: str, name: str, artifact: str = "model", *,
                 user: str | None, description: str | None = None,
                 tags: Mapping[str, Any] | None = None) -> dict:
        """Version N+1 of ``name`` (created if new) from the run's ``artifact`` folder, which
        must hold an MLmodel file (``mlp.log_model`` or MLflow wrote it)."""
        _check_name(name)
        run_id = self.tracking.resolve_run(run_ref)
        art = _clean(artifact)
        info = self._model_info(run_id, art)
        now = self.clock()
        with self.store.write() as conn:
            row = conn.execute(select(registered_models).where(registered_models.c.name == name)
                               .with_for_update()).first()
            mid = row.id if row else self._insert_model(conn, name, user, None, None, now)
            if row:  # the lock serialises version numbers
                conn.execute(update(registered_models).where(registered_models.c.id == mid)
                             .values(updated_at=now))
            n = (conn.execute(select(func.max(model_versions.c.version))
                              .where(model_versions.c.model_id == mid)).scalar() or 0) + 1
            conn.execute(insert(model_versions).values(
                model_id=mid, version=n, run_id=run_id, artifact=art, stage="none",
                description=description, info=json.dumps(info), created_at=now,
                created_by=user, stage_changed_at=now))
            for k, v in _tags(tags).items():
                conn.execute(insert(model_tags).values(model_id=mid, version=n, key=k, value=v))
            self._audit(conn, now, user, mid, name, n, "version_created", None,
                        f"runs:/{run_id}/{art}")
        return self.get_version(name, n)

    def _model_info(self, run_id: str, art: str) -> dict:
        try:
            fh, size = self.tracking.open_artifact(run_id, f"{art}/MLmodel")
        except NotFound:
            have = sorted({a["path"].split("/")[0] for a in self.tracking.list_artifacts(run_id)})
            raise InvalidInput(
                f"run {run_id[:8]} has no model at {art!r} (no {art}/MLmodel): log one with "
                f"mlp.log_model(model, {art!r})"
                + (f"; its artifacts are {', '.join(have)}" if have else ""),
                field="artifact") from None
        with fh:
            text = fh.read(min(size, 1 << 20)).decode("utf-8", "replace")
        try:
            import yaml

            meta = yaml.safe_load(text) or {}
        except Exception as e:
            raise InvalidInput(f"{art}/MLmodel of run {run_id[:8]} is not valid YAML: {e}",
                               field="artifact") from None
        flavors = meta.get("flavors") if isinstance(meta, dict) else None
        if not isinstance(flavors, dict) or not flavors:
            raise InvalidInput(f"{art}/MLmodel of run {run_id[:8]} names no flavors",
                               field="artifact")
        sig = meta.get("signature") if isinstance(meta.get("signature"), dict) else None
        return {"flavors": sorted(flavors), "signature": sig,
                "loader_module": (flavors.get("python_function") or {}).get("loader_module"),
                "python_version": (flavors.get("python_function") or {}).get("python_version")}

    def get_version(self, name: str, version: int | str) -> dict:
        with self.store.read() as conn:
            m = self._model(conn, name)
            row = self._version(conn, m, version)
            out = self._version_dict(row, name)
            out["aliases"] = sorted(conn.execute(select(model_aliases.c.alias).where(
                model_aliases.c.model_id == m.id, model_aliases.c.version == row.version))
                .scalars())
            out["tags"] = {r.key: r.value for r in conn.execute(select(model_tags).where(
                model_tags.c.model_id == m.id, model_tags.c.version == row.version))}
        return out

    def resolve(self, name: str, ref: str | int) -> dict:
        """A version by number, ``@alias`` or ``@stage`` (the newest version in it)."""
        return self.get_version(name, ref)

    def _version_dict(self, r, name: str) -> dict:
        return {"name": name, "version": r.version, "run_id": r.run_id, "artifact": r.artifact,
                "source": f"runs:/{r.run_id}/{r.artifact}", "stage": r.stage,
                "description": r.description, "info": json.loads(r.info) if r.info else {},
                "created_at": r.created_at, "created_by": r.created_by,
                "stage_changed_at": r.stage_changed_at}

    # -- aliases ------------------------------------------------------------------------

    def set_alias(self, name: str, alias: str, version: int | str, *, user: str | None) -> dict:
        """Point ``alias`` (e.g. ``champion``) at a version; moving it is audited."""
        if not isinstance(alias, str) or not _ALIAS.match(alias) or alias in policies.STAGES:
            raise InvalidInput(f"alias must be a word of letters, digits, _ or - (not a stage "
                               f"name: {', '.join(policies.STAGES)}), got {alias!r}",
                               field="alias")
        now = self.clock()
        with self.store.write() as conn:
            m = self._model(conn, name, lock=True)
            n = self._version(conn, m, version).version
            old = conn.execute(select(model_aliases.c.version).where(
                model_aliases.c.model_id == m.id, model_aliases.c.alias == alias)).scalar()
            if old == n:
                return {"alias": alias, "version": n}
            if old is None:
                conn.execute(insert(model_aliases).values(model_id=m.id, alias=alias, version=n,
                                                          updated_at=now))
            else:
                conn.execute(update(model_aliases).where(
                    model_aliases.c.model_id == m.id, model_aliases.c.alias == alias)
                    .values(version=n, updated_at=now))
            self._audit(conn, now, user, m.id, name, n, "alias_set",
                        None if old is None else f"{alias}→{old}", f"{alias}→{n}")
        return {"alias": alias, "version": n}

    def delete_alias(self, name: str, alias: str, *, user: str | None) -> None:
        now = self.clock()
        with self.store.write() as conn:
            m = self._model(conn, name, lock=True)
            old = conn.execute(select(model_aliases.c.version).where(
                model_aliases.c.model_id == m.id, model_aliases.c.alias == alias)).scalar()
            if old is None:
                raise NotFound(f"model {name!r} has no alias {alias!r}", field="alias")
            conn.execute(model_aliases.delete().where(model_aliases.c.model_id == m.id,
                                                      model_aliases.c.alias == alias))
            self._audit(conn, now, user, m.id, name, old, "alias_removed", f"{alias}→{old}",
                        None)

    # -- transition requests --------------------------------------------------------------

    def request_transition(self, name: str, version: int | str, stage: str, *,
                           user: str | None, comment: str | None = None) -> dict:
        """Ask to move a version to a stage. Applied at once when the model's gate for that
        stage needs no approvals and its checks pass; otherwise pending."""
        if not user:
            raise AccessDenied("a transition request needs an authenticated user", field="user")
        if stage not in policies.STAGES:
            raise InvalidInput(f"stage must be one of {', '.join(policies.STAGES)}, got "
                               f"{stage!r}", field="stage")
        now = self.clock()
        with self.store.write() as conn:
            m = self._model(conn, name, lock=True)
            v = self._version(conn, m, version)
            if v.stage == stage:
                raise InvalidInput(f"{name} version {v.version} is in {stage} already",
                                   field="stage")
            dup = conn.execute(select(transition_requests.c.id).where(
                transition_requests.c.model_id == m.id,
                transition_requests.c.version == v.version,
                transition_requests.c.to_stage == stage,
                transition_requests.c.status.in_(OPEN))).scalar()
            if dup is not None:
                raise Conflict(f"request {dup} already asks to move {name} version {v.version} "
                               f"to {stage}: approve, reject or cancel it", field="stage")
            gate = policies.effective(m.policy, self.default_policy)
            rid = conn.execute(insert(transition_requests).values(
                model_id=m.id, version=v.version, from_stage=v.stage, to_stage=stage,
                status="pending", requested_by=user, requested_at=now, comment=comment,
                policy=json.dumps(gate)).returning(transition_requests.c.id)).scalar_one()
            self._audit(conn, now, user, m.id, name, v.version, "request_made", v.stage, stage,
                        comment, rid)
        return self._advance(rid, user)

    def approve(self, request_id: int, *, user: str | None, comment: str | None = None) -> dict:
        """Approve a request (never your own); applied once its gate is met."""
        return self._review(request_id, user, "approve", comment)

    def reject(self, request_id: int, *, user: str | None, comment: str | None = None) -> dict:
        """Reject a request: it is closed, nothing changes."""
        return self._review(request_id, user, "reject", comment)

    def cancel(self, request_id: int, *, user: str | None, comment: str | None = None) -> dict:
        """Withdraw your own open request."""
        now = self.clock()
        with self.store.write() as conn:
            req = self._request_row(conn, request_id, lock=True)
            if req.status not in OPEN:
                raise Conflict(f"request {request_id} is {req.status} already", field="request")
            if user != req.requested_by:
                raise AccessDenied(f"only {req.requested_by}, who made request {request_id}, can "
                                   f"cancel it; reject it instead", field="request")
            conn.execute(update(transition_requests).where(transition_requests.c.id == req.id)
                         .values(status="cancelled", decided_at=now, reason=comment))
            self._audit(conn, now, user, req.model_id, self._model_name(conn, req.model_id),
                        req.version, "cancelled", req.status, "cancelled", comment, req.id)
        return self.get_request(request_id)

    def _review(self, request_id: int, user: str | None, decision: str,
                comment: str | None) -> dict:
        if not user:
            raise AccessDenied("a review needs an authenticated user", field="user")
        now = self.clock()
        with self.store.write() as conn:
            req = self._request_row(conn, request_id, lock=True)
            if req.status not in OPEN:
                raise Conflict(f"request {request_id} is {req.status} already", field="request")
            if user == req.requested_by:
                if decision == "approve":
                    raise AccessDenied(
                        f"you ({user}) made request {request_id}: an approval must come from "
                        f"someone else; ask a teammate, or cancel the request", field="request")
                raise AccessDenied(f"you ({user}) made request {request_id}: cancel it instead "
                                   "of rejecting it", field="request")
            done = conn.execute(select(request_reviews.c.decision).where(
                request_reviews.c.request_id == req.id, request_reviews.c.user == user)).scalar()
            if done == "approve" and decision == "approve":
                raise Conflict(f"you ({user}) approved request {request_id} already",
                               field="request")
            conn.execute(insert(request_reviews).values(request_id=req.id, user=user,
                                                        decision=decision, comment=comment,
                                                        at=now))
            name = self._model_name(conn, req.model_id)
            if decision == "reject":
                conn.execute(update(transition_requests).where(
                    transition_requests.c.id == req.id).values(
                    status="rejected", decided_at=now, reason=comment or f"rejected by {user}"))
                self._audit(conn, now, user, req.model_id, name, req.version, "rejected",
                            req.from_stage, req.to_stage, comment, req.id)
            else:
                self._audit(conn, now, user, req.model_id, name, req.version, "approved",
                            req.from_stage, req.to_stage, comment, req.id)
        if decision == "reject":
            return self.get_request(request_id)
        return self._advance(request_id, user)

    def _advance(self, request_id: int, actor: str | None) -> dict:
        """Judge an open request against its gate; apply it when the gate is met."""
        with self.store.read() as conn:
            req = self._request_row(conn, request_id)
            name = self._model_name(conn, req.model_id)
            approvers = sorted(set(conn.execute(select(request_reviews.c.user).where(
                request_reviews.c.request_id == req.id,
                request_reviews.c.decision == "approve")).scalars()) - {req.requested_by})
            v = conn.execute(select(model_versions).where(
                model_versions.c.model_id == req.model_id,
                model_versions.c.version == req.version)).first()
        gate = json.loads(req.policy)[req.to_stage]
        results = [self._check(v.run_id, q) for q in gate["checks"]]
        if gate.get("validation"):
            results.append(self._validate(gate["validation"], name, v))
        needed = gate["approvals"]
        checks_ok = all(r["ok"] for r in results)
        approved = len(approvers) >= needed
        summary = {"approvals": {"needed": needed, "have": approvers}, "checks": results}
        now = self.clock()
        with self.store.write() as conn:
            m = self._model(conn, name, lock=True)
            cur = self._request_row(conn, request_id, lock=True)
            if cur.status not in OPEN:  # decided meanwhile
                return self._request_dict(conn, cur)
            values: dict[str, Any] = {"checks": json.dumps(summary)}
            if approved and checks_ok:
                self._apply(conn, m, cur, actor, now)
                values.update(status="applied", decided_at=now, reason=None)
            else:
                missing = []
                if not approved:
                    missing.append(f"{needed - len(approvers)} more approval(s) from someone "
                                   f"other than {cur.requested_by}")
                missing += [f"check failed: {r['check']} ({r['detail']})" for r in results
                            if not r["ok"]]
                values.update(status="approved" if approved and needed else "pending",
                              reason="; ".join(missing))
            conn.execute(update(transition_requests).where(transition_requests.c.id == cur.id)
                         .values(**values))
        return self.get_request(request_id)

    def _apply(self, conn, m, req, actor: str | None, now: float) -> None:
        """Move the version (the model row is locked), archiving the earlier production
        version unless the model keeps several; everything audited in this transaction."""
        gate = json.loads(req.policy)
        name = m.name
        v = conn.execute(select(model_versions).where(model_versions.c.model_id == m.id,
                                                      model_versions.c.version == req.version)
                         ).first()
        if req.to_stage == "production" and not gate.get("allow_multiple_production"):
            for old in conn.execute(select(model_versions.c.version).where(
                    model_versions.c.model_id == m.id, model_versions.c.stage == "production",
                    model_versions.c.version != req.version)).scalars().all():
                conn.execute(update(model_versions).where(
                    model_versions.c.model_id == m.id, model_versions.c.version == old)
                    .values(stage="archived", stage_changed_at=now))
                self._audit(conn, now, actor, m.id, name, old, "stage_changed", "production",
                            "archived", f"replaced by version {req.version}", req.id)
        conn.execute(update(model_versions).where(model_versions.c.model_id == m.id,
                                                  model_versions.c.version == req.version)
                     .values(stage=req.to_stage, stage_changed_at=now))
        self._audit(conn, now, actor, m.id, name, req.version, "stage_changed", v.stage,
                    req.to_stage, req.comment, req.id)
        self._audit(conn, now, actor, m.id, name, req.version, "applied", v.stage, req.to_stage,
                    None, req.id)
        conn.execute(update(registered_models).where(registered_models.c.id == m.id)
                     .values(updated_at=now))

    def _check(self, run_id: str, query: str) -> dict:
        """One metric check on the version's source run, in the search language."""
        try:
            found = self.tracking.search_runs(
                None, where=f"run_id = '{run_id}' and ({query})", limit=1,
                include_deleted=True)["runs"]
        except InvalidInput as e:
            return {"check": query, "ok": False, "detail": str(e).splitlines()[0]}
        if found:
            return {"check": query, "ok": True, "detail": "holds on the source run"}
        run = self.tracking.get_run(run_id)
        values = {k: v.get("last") for k, v in run["metrics"].items()}
        mentioned = {k: values[k] for k in values if f"metrics.{k}" in query}
        detail = ("the source run has " + ", ".join(f"{k} = {v:.4g}" for k, v in
                                                    mentioned.items())
                  if mentioned else "does not hold on the source run")
        return {"check": query, "ok": False, "detail": detail}

    def _validate(self, function: str, name: str, v) -> dict:
        """Run ``module:function(model_uri, version)`` in a worker process."""
        payload = json.dumps({"function": function, "model_uri": f"models:/{name}/{v.version}",
                              "version": {"name": name, "version": v.version, "run_id": v.run_id,
                                          "artifact": v.artifact}})
        env = {k: val for k, val in os.environ.items()
               if k not in ("MLP_SERVER_URL", "MLP_TOKEN", "JPY_SESSION_NAME")}
        env.update(self.store_env)
        label = f"validation {function}"
        try:
            out = subprocess.run([sys.executable, "-m", "mlp_server.registry.validate"],
                                 input=payload, capture_output=True, text=True, env=env,
                                 timeout=self.validation_timeout)
        except subprocess.TimeoutExpired:
            return {"check": label, "ok": False,
                    "detail": f"timed out after {self.validation_timeout:g} s"}
        lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
        if out.returncode != 0 or not lines:
            tail = (out.stderr or out.stdout).strip().splitlines()[-1:] or ["no output"]
            return {"check": label, "ok": False,
                    "detail": f"the worker failed (exit {out.returncode}): {tail[0]}"}
        res = json.loads(lines[-1])
        return {"check": label, "ok": bool(res.get("ok")), "detail": res.get("detail", "")}

    def requests(self, name: str | None = None, status: str | Iterable[str] | None = None
                 ) -> list[dict]:
        """Transition requests, newest first; ``status`` one or several of pending, approved,
        rejected, applied, cancelled."""
        conds = []
        statuses = [status] if isinstance(status, str) else list(status or [])
        bad = set(statuses) - {"pending", "approved", "rejected", "applied", "cancelled"}
        if bad:
            raise InvalidInput(f"status must be pending, approved, rejected, applied or "
                               f"cancelled, got {', '.join(sorted(bad))}", field="status")
        with self.store.read() as conn:
            if name is not None:
                conds.append(transition_requests.c.model_id == self._model(conn, name).id)
            if statuses:
                conds.append(transition_requests.c.status.in_(statuses))
            return self._requests(conn, *conds)

    def get_request(self, request_id: int) -> dict:
        with self.store.read() as conn:
            return self._request_dict(conn, self._request_row(conn, request_id))

    def _requests(self, conn, *conds) -> list[dict]:
        rows = conn.execute(select(transition_requests).where(*conds)
                            .order_by(transition_requests.c.id.desc())).all()
        if not rows:
            return []
        names = {r.id: r.name for r in conn.execute(
            select(registered_models.c.id, registered_models.c.name)
            .where(registered_models.c.id.in_({r.model_id for r in rows})))}
        reviews: dict[int, list] = {}
        for r in conn.execute(select(request_reviews).where(
                request_reviews.c.request_id.in_([r.id for r in rows]))
                .order_by(request_reviews.c.id)):
            reviews.setdefault(r.request_id, []).append(
                {"user": r.user, "decision": r.decision, "comment": r.comment, "at": r.at})
        return [self._request_out(r, names[r.model_id], reviews.get(r.id, [])) for r in rows]

    def _request_dict(self, conn, r) -> dict:
        name = self._model_name(conn, r.model_id)
        reviews = [{"user": x.user, "decision": x.decision, "comment": x.comment, "at": x.at}
                   for x in conn.execute(select(request_reviews).where(
                       request_reviews.c.request_id == r.id).order_by(request_reviews.c.id))]
        return self._request_out(r, name, reviews)

    @staticmethod
    def _request_out(r, name: str, reviews: list[dict]) -> dict:
        gate = json.loads(r.policy)[r.to_stage]
        return {"id": r.id, "name": name, "version": r.version, "from_stage": r.from_stage,
                "to_stage": r.to_stage, "status": r.status, "requested_by": r.requested_by,
                "requested_at": r.requested_at, "comment": r.comment, "gate": gate,
                "checks": json.loads(r.checks) if r.checks else None,
                "decided_at": r.decided_at, "reason": r.reason, "reviews": reviews}

    def _request_row(self, conn, request_id: Any, lock: bool = False):
        if isinstance(request_id, bool) or not isinstance(request_id, int):
            try:
                request_id = int(str(request_id).lstrip("#"))
            except ValueError:
                raise InvalidInput(f"a request id is a number, got {request_id!r}",
                                   field="request") from None
        q = select(transition_requests).where(transition_requests.c.id == request_id)
        row = conn.execute(q.with_for_update() if lock else q).first()
        if row is None:
            raise NotFound(f"no transition request {request_id}", field="request")
        return row

    # -- audit --------------------------------------------------------------------------

    def audit(self, name: str | None = None, *, since: float | None = None,
              until: float | None = None, limit: int | None = 1000) -> list[dict]:
        """Every registry change, oldest first: who, when, what, from → to, the comment."""
        a = registry_audit
        with self.store.read() as conn:
            q = select(a)
            if name is not None:
                q = q.where(a.c.model_id == self._model(conn, name).id)
            if since is not None:
                q = q.where(a.c.at >= since)
            if until is not None:
                q = q.where(a.c.at <= until)
            q = q.order_by(a.c.id)
            if limit is not None:
                q = q.limit(limit)
            return [{"id": r.id, "at": r.at, "actor": r.actor, "model": r.model,
                     "version": r.version, "action": r.action, "from": r.from_value,
                     "to": r.to_value, "comment": r.comment, "request_id": r.request_id}
                    for r in conn.execute(q)]

    def stage_at(self, name: str, at: float, stage: str = "production") -> list[int]:
        """Which versions were in ``stage`` at time ``at``, replayed from the audit log."""
        if stage not in policies.STAGES:
            raise InvalidInput(f"stage must be one of {', '.join(policies.STAGES)}",
                               field="stage")
        state: dict[int, str] = {}
        for e in self.audit(name, until=at, limit=None):
            if e["action"] == "version_created":
                state[e["version"]] = "none"
            elif e["action"] == "stage_changed":
                state[e["version"]] = e["to"]
        return sorted(v for v, s in state.items() if s == stage)

    def _audit(self, conn, at: float, actor: str | None, model_id: int, model: str,
               version: int | None, action: str, from_value: Any, to_value: Any,
               comment: str | None = None, request_id: int | None = None) -> int:
        aid = conn.execute(insert(registry_audit).values(
            at=at, actor=actor, model_id=model_id, model=model, version=version, action=action,
            from_value=None if from_value is None else str(from_value),
            to_value=None if to_value is None else str(to_value), comment=comment,
            request_id=request_id).returning(registry_audit.c.id)).scalar_one()
        # Webhook deliveries are queued with the change itself (an outbox): a change that
        # rolls back announces nothing, one that commits is announced even after a crash.
        for h in conn.execute(select(webhooks.c.id, webhooks.c.events).where(
                webhooks.c.active == 1,
                (webhooks.c.model.is_(None)) | (webhooks.c.model == model))):
            events = json.loads(h.events) if h.events else None
            if events is None or action in events:
                conn.execute(insert(webhook_deliveries).values(
                    webhook_id=h.id, audit_id=aid, status="pending", attempts=0,
                    next_attempt_at=at, created_at=at))
        return aid

    # -- webhooks -----------------------------------------------------------------------

    def add_webhook(self, url: str, *, user: str | None, secret: str,
                    model: str | None = None, events: Iterable[str] | None = None) -> dict:
        """Deliver registry events (all, or ``events``) of one model or all to ``url``, signed
        with HMAC-SHA256 of the body under ``secret``. The host must be on the allowlist."""
        self.check_webhook_url(url)
        if not isinstance(secret, str) or len(secret) < 16:
            raise InvalidInput("the webhook secret must be at least 16 characters (it signs "
                               "every delivery)", field="secret")
        evs = None if events is None else list(events)
        if evs is not None and (not evs or set(evs) - set(EVENTS)):
            raise InvalidInput(f"events must be some of {', '.join(EVENTS)}", field="events")
        now = self.clock()
        with self.store.write() as conn:
            if model is not None:
                self._model(conn, model)
            hid = conn.execute(insert(webhooks).values(
                model=model, url=url, secret=secret, events=None if evs is None else
                json.dumps(evs), active=1, created_by=user, created_at=now)
                .returning(webhooks.c.id)).scalar_one()
        return self._webhook(hid)

    def check_webhook_url(self, url: str) -> None:
        p = urlparse(url if isinstance(url, str) else "")
        host = (p.hostname or "").lower()
        if p.scheme not in ("http", "https") or not host:
            raise InvalidInput(f"a webhook URL must be http(s)://host/..., got {url!r}",
                               field="url")
        if not any(host == h or (h.startswith("*.") and host.endswith(h[1:]))
                   for h in self.webhook_hosts):
            allowed = ", ".join(self.webhook_hosts) or "none yet"
            raise AccessDenied(f"webhooks may only call allowed hosts ({allowed}); {host} is "
                               f"not one: an admin adds it with c.MLPRegistry.webhook_hosts",
                               field="url")

    def _webhook(self, hid: int) -> dict:
        with self.store.read() as conn:
            r = conn.execute(select(webhooks).where(webhooks.c.id == hid)).first()
        if r is None:
            raise NotFound(f"no webhook {hid}", field="webhook")
        return {"id": r.id, "model": r.model, "url": r.url,
                "events": json.loads(r.events) if r.events else None, "active": bool(r.active),
                "created_by": r.created_by, "created_at": r.created_at}

    def webhooks(self) -> list[dict]:
        with self.store.read() as conn:
            ids = list(conn.execute(select(webhooks.c.id).order_by(webhooks.c.id)).scalars())
        return [self._webhook(i) for i in ids]

    def remove_webhook(self, hid: int, *, user: str | None) -> None:
        with self.store.write() as conn:
            n = conn.execute(update(webhooks).where(webhooks.c.id == hid).values(active=0))
            if n.rowcount == 0:
                raise NotFound(f"no webhook {hid}", field="webhook")

    def deliveries(self, hid: int | None = None, limit: int = 200) -> list[dict]:
        """The delivery log, newest first."""
        d = webhook_deliveries
        with self.store.read() as conn:
            q = select(d, registry_audit.c.action, registry_audit.c.model).select_from(
                d.join(registry_audit, registry_audit.c.id == d.c.audit_id))
            if hid is not None:
                q = q.where(d.c.webhook_id == hid)
            return [{"id": r.id, "webhook_id": r.webhook_id, "audit_id": r.audit_id,
                     "event": r.action, "model": r.model, "status": r.status,
                     "attempts": r.attempts, "next_attempt_at": r.next_attempt_at,
                     "last_code": r.last_code, "last_error": r.last_error,
                     "created_at": r.created_at, "delivered_at": r.delivered_at}
                    for r in conn.execute(q.order_by(d.c.id.desc()).limit(limit))]

    # -- helpers ------------------------------------------------------------------------

    def _model(self, conn, name: str, lock: bool = False):
        if not isinstance(name, str) or not name:
            raise InvalidInput(f"a model name is a non-empty string, got {name!r}", field="name")
        q = select(registered_models).where(registered_models.c.name == name)
        row = conn.execute(q.with_for_update() if lock else q).first()
        if row is None:
            raise NotFound(f"no model named {name!r}: register one with "
                           f"mlp.register_model(run, {name!r})", field="name")
        return row

    def _model_name(self, conn, model_id: int) -> str:
        return conn.execute(select(registered_models.c.name)
                            .where(registered_models.c.id == model_id)).scalar_one()

    def _version(self, conn, m, version: int | str):
        """A version row by number (``3``, ``"v3"``), ``"@alias"`` or ``"@stage"``."""
        if isinstance(version, str) and version.startswith("@"):
            version = self._labelled(conn, m, version[1:])
        try:
            n = int(str(version).lstrip("v")) if not isinstance(version, bool) else None
        except ValueError:
            n = None
        if n is None:
            raise InvalidInput(f"a version is a number, got {version!r}", field="version")
        row = conn.execute(select(model_versions).where(model_versions.c.model_id == m.id,
                                                        model_versions.c.version == n)).first()
        if row is None:
            latest = conn.execute(select(func.max(model_versions.c.version))
                                  .where(model_versions.c.model_id == m.id)).scalar()
            raise NotFound(f"model {m.name!r} has no version {n}"
                           + (f" (latest is {latest})" if latest else " (no versions yet)"),
                           field="version")
        return row


    def _labelled(self, conn, m, label: str) -> int:
        n = conn.execute(select(model_aliases.c.version).where(
            model_aliases.c.model_id == m.id, model_aliases.c.alias == label)).scalar()
        if n is not None:
            return n
        if label in policies.STAGES:
            n = conn.execute(select(func.max(model_versions.c.version)).where(
                model_versions.c.model_id == m.id, model_versions.c.stage == label)).scalar()
            if n is None:
                raise NotFound(f"model {m.name!r} has no version in {label}", field="version")
            return n
        known = sorted(conn.execute(select(model_aliases.c.alias).where(
            model_aliases.c.model_id == m.id)).scalars())
        raise NotFound(f"model {m.name!r} has no alias {label!r}"
                       + (f"; its aliases are {', '.join(known)}" if known else "")
                       + f"; stages are {', '.join(policies.STAGES)}", field="version")


def _check_name(name: Any) -> None:
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidInput(f"a model name is 1-255 letters, digits, '.', '_' or '-', starting "
                           f"with a letter or digit, got {name!r}", field="name")


def _clean(path: Any) -> str:
    if not isinstance(path, str) or not path.strip("/ "):
        raise InvalidInput(f"artifact must be the model's folder in the run, got {path!r}",
                           field="artifact")
    p = path.strip().strip("/")
    if ".." in p.split("/"):
        raise InvalidInput(f"artifact {path!r} leaves the run's folder", field="artifact")
    return p


def _tags(tags: Mapping[str, Any] | None) -> dict[str, str]:
    if tags is None:
        return {}
    if not isinstance(tags, Mapping):
        raise InvalidInput(f"tags must be a dict, got {tags!r}", field="tags")
    out = {}
    for k, v in tags.items():
        if not isinstance(k, str) or not k or len(k) > 255:
            raise InvalidInput(f"tag names are strings of 1-255 characters, got {k!r}",
                               field="tags")
        out[k] = v if isinstance(v, str) else json.dumps(v)
    return out

