"""The model registry through each transport (in-process and REST) on SQLite and
PostgreSQL, as one user (the in-process user, or the server's owner). Rules between users
(approvals by others, self-approval) are in tests/server/test_registry_users.py."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import create_engine, text

from mlp.errors import AccessDenied, Conflict, InvalidInput, NotFound, QueryError

MLMODEL = """artifact_path: model
flavors:
  python_function:
    loader_module: mlp.models.pyfunc
    python_version: 3.11.7
  sklearn:
    pickled_model: model.pkl
signature:
  inputs: '[{"type": "double", "name": "x"}]'
  outputs: '[{"type": "long"}]'
"""


def model_run(t, tmp_path, name="train", auc=0.9, folder="model"):
    r = t.create_run("reg", name)
    d = tmp_path / r["id"] / folder
    d.mkdir(parents=True)
    (d / "MLmodel").write_text(MLMODEL)
    (d / "model.pkl").write_bytes(b"not really a pickle")
    t.log_artifact(r["id"], d)
    import numpy as np

    from mlp.transport import MetricBatch

    t.log_metrics([MetricBatch(r["id"], "auc", np.array([0]), np.array([time.time()]),
                               np.array([auc]))])
    t.end_run(r["id"], "finished")
    return r


def reg(t, action, **kw):
    return t.registry(action, **kw)


def test_register_numbers_versions_and_links_the_run(transport, tmp_path):
    r = model_run(transport, tmp_path)
    v1 = reg(transport, "register", run_ref=r["id"], name="churn")
    v2 = reg(transport, "register", run_ref="reg/train", name="churn", description="again",
             tags={"owner": "ads"})
    assert (v1["version"], v2["version"]) == (1, 2)
    assert v1["run_id"] == r["id"] and v1["source"] == f"runs:/{r['id']}/model"
    assert v1["stage"] == "none" and v1["info"]["flavors"] == ["python_function", "sklearn"]
    assert v1["info"]["signature"]["inputs"].startswith("[")
    assert v2["tags"] == {"owner": "ads"} and v2["description"] == "again"
    m = reg(transport, "get_model", name="churn")
    assert [v["version"] for v in m["versions"]] == [2, 1]
    listed = reg(transport, "list_models")
    assert listed[0]["name"] == "churn" and listed[0]["latest_version"] == 2
    assert transport.get_run(r["id"])["models"] == [
        {"name": "churn", "version": 1, "stage": "none"},
        {"name": "churn", "version": 2, "stage": "none"}]


def test_register_refuses_what_is_not_a_model_and_keeps_what_exists(transport, tmp_path):
    r = model_run(transport, tmp_path)
    reg(transport, "register", run_ref=r["id"], name="churn")
    with pytest.raises(InvalidInput, match="no model at 'weights'.*mlp.log_model"):
        reg(transport, "register", run_ref=r["id"], name="churn", artifact="weights")
    with pytest.raises(InvalidInput, match="model name"):
        reg(transport, "register", run_ref=r["id"], name="bad/name")
    with pytest.raises(NotFound):
        reg(transport, "register", run_ref="f" * 32, name="churn")
    assert [v["version"] for v in reg(transport, "get_model", name="churn")["versions"]] == [1]


def test_stages_aliases_and_production_archives_the_previous_version(transport, tmp_path):
    r = model_run(transport, tmp_path)
    for _ in range(3):
        reg(transport, "register", run_ref=r["id"], name="churn")
    req = reg(transport, "request_transition", name="churn", version=1, stage="production",
              comment="first")
    assert req["status"] == "applied"  # a single user's server: no approvals needed
    reg(transport, "request_transition", name="churn", version=2, stage="production")
    m = {v["version"]: v["stage"] for v in reg(transport, "get_model", name="churn")["versions"]}
    assert m == {1: "archived", 2: "production", 3: "none"}
    assert reg(transport, "resolve", name="churn", ref="@production")["version"] == 2
    reg(transport, "set_alias", name="churn", alias="champion", version=3)
    reg(transport, "set_alias", name="churn", alias="champion", version=1)
    assert reg(transport, "resolve", name="churn", ref="@champion")["version"] == 1
    by_alias = reg(transport, "request_transition", name="churn", version="@champion",
                   stage="staging")
    assert (by_alias["version"], by_alias["status"]) == (1, "applied")
    with pytest.raises(NotFound, match="no alias 'nope'.*champion"):
        reg(transport, "resolve", name="churn", ref="@nope")
    with pytest.raises(InvalidInput, match="not a stage name"):
        reg(transport, "set_alias", name="churn", alias="production", version=1)
    with pytest.raises(InvalidInput, match="in production already"):
        reg(transport, "request_transition", name="churn", version=2, stage="production")
    with pytest.raises(InvalidInput, match="stage must be one of"):
        reg(transport, "request_transition", name="churn", version=3, stage="prod")
    with pytest.raises(NotFound, match="no version 9 \\(latest is 3\\)"):
        reg(transport, "request_transition", name="churn", version=9, stage="staging")


def test_audit_is_complete_and_answers_which_version_was_in_production(transport, tmp_path):
    r = model_run(transport, tmp_path)
    reg(transport, "register", run_ref=r["id"], name="churn")
    reg(transport, "register", run_ref=r["id"], name="churn")
    reg(transport, "request_transition", name="churn", version=1, stage="production")
    t1 = time.time()
    time.sleep(0.05)
    reg(transport, "request_transition", name="churn", version=2, stage="production",
        comment="better auc")
    reg(transport, "set_alias", name="churn", alias="champion", version=2)
    reg(transport, "update_model", name="churn", policy={"production": {"approvals": 1}})
    events = reg(transport, "audit", name="churn")
    actions = [(e["action"], e["version"], e["from"], e["to"]) for e in events]
    assert actions[:3] == [("model_created", None, None, "churn"),
                           ("version_created", 1, None, f"runs:/{r['id']}/model"),
                           ("version_created", 2, None, f"runs:/{r['id']}/model")]
    assert ("stage_changed", 1, "production", "archived") in actions
    assert ("stage_changed", 2, "none", "production") in actions
    assert ("alias_set", 2, None, "champion→2") in actions
    assert actions[-1][0] == "policy_changed"
    assert all(e["actor"] for e in events)
    made = [e for e in events if e["action"] == "request_made" and e["version"] == 2]
    assert made[0]["comment"] == "better auc"
    assert reg(transport, "stage_at", name="churn", at=t1) == [1]
    assert reg(transport, "stage_at", name="churn", at=time.time()) == [2]
    assert reg(transport, "stage_at", name="churn", at=0) == []


def test_the_audit_log_cannot_be_edited_even_in_sql(service, db_url, tmp_path):
    from mlp.transport.local import LocalTransport
    from mlp_server.registry import open_registry

    t = LocalTransport(service)
    r = model_run(t, tmp_path)
    open_registry(service).register(r["id"], "churn", user="alice")
    engine = create_engine(db_url)
    try:
        for stmt in ("UPDATE registry_audit SET actor = 'mallory'", "DELETE FROM registry_audit"):
            with pytest.raises(Exception, match="append-only"), engine.begin() as conn:
                conn.execute(text(stmt))
    finally:
        engine.dispose()
    assert [e["actor"] for e in reg(t, "audit", name="churn")] == ["alice", "alice"]


def test_checks_hold_a_request_and_say_why(transport, tmp_path):
    r = model_run(transport, tmp_path, auc=0.8)
    reg(transport, "register", run_ref=r["id"], name="churn")
    reg(transport, "update_model", name="churn", policy={
        "production": {"approvals": 0, "checks": ["metrics.auc >= 0.85"]}})
    req = reg(transport, "request_transition", name="churn", version=1, stage="production")
    assert req["status"] == "pending"
    assert req["checks"]["checks"] == [{"check": "metrics.auc >= 0.85", "ok": False,
                                        "detail": "the source run has auc = 0.8"}]
    assert "check failed: metrics.auc >= 0.85" in req["reason"]
    assert reg(transport, "get_model", name="churn")["versions"][0]["stage"] == "none"
    with pytest.raises(Conflict, match=f"request {req['id']} already asks"):
        reg(transport, "request_transition", name="churn", version=1, stage="production")
    done = reg(transport, "cancel", request_id=req["id"], comment="retrain first")
    assert done["status"] == "cancelled"
    assert reg(transport, "requests", status=["pending", "approved"]) == []


def test_self_approval_is_refused_saying_why(transport, tmp_path):
    r = model_run(transport, tmp_path)
    reg(transport, "register", run_ref=r["id"], name="churn")
    reg(transport, "update_model", name="churn", policy={"production": {"approvals": 1}})
    req = reg(transport, "request_transition", name="churn", version=1, stage="production")
    assert req["status"] == "pending" and "1 more approval(s)" in req["reason"]
    with pytest.raises(AccessDenied, match="an approval must come from someone else"):
        reg(transport, "approve", request_id=req["id"])
    assert reg(transport, "get_request", request_id=req["id"])["status"] == "pending"


@pytest.mark.parametrize(("policy", "match"), [
    ({"prod": {}}, "unknown policy key"),
    ({"production": {"approvals": -1}}, "approvals must be a whole number"),
    ({"production": {"checks": "metrics.auc > 1"}}, "must be a list of queries"),
    ({"production": {"validation": "not a function"}}, "module:function"),
])
def test_bad_policies_are_refused_and_the_old_one_kept(transport, tmp_path, policy, match):
    r = model_run(transport, tmp_path)
    reg(transport, "register", run_ref=r["id"], name="churn")
    with pytest.raises(InvalidInput, match=match):
        reg(transport, "update_model", name="churn", policy=policy)
    m = reg(transport, "get_model", name="churn")
    assert m["policy_is_default"] and m["policy"]["production"]["approvals"] == 0


def test_a_malformed_check_points_at_the_mistake(transport, tmp_path):
    r = model_run(transport, tmp_path)
    reg(transport, "register", run_ref=r["id"], name="churn")
    with pytest.raises(QueryError):
        reg(transport, "update_model", name="churn",
            policy={"production": {"checks": ["metrics.auc >="]}})


def test_webhooks_need_an_allowed_host(transport):
    with pytest.raises(AccessDenied, match="allowed hosts"):
        reg(transport, "add_webhook", url="https://evil.example.com/hook", secret="s" * 16)
    with pytest.raises(InvalidInput, match="http"):
        reg(transport, "add_webhook", url="ftp://x/hook", secret="s" * 16)


def test_descriptions_and_tags_of_models_and_versions_are_kept_and_audited(transport, tmp_path):
    r = model_run(transport, tmp_path)
    reg(transport, "register", run_ref=r["id"], name="churn")
    reg(transport, "update_model", name="churn", description="churn classifier")
    reg(transport, "update_version", name="churn", version=1, description="first cut")
    reg(transport, "set_tags", name="churn", tags={"team": "ads"})
    reg(transport, "set_tags", name="churn", tags={"data": "2026-10"}, version=1)
    m = reg(transport, "get_model", name="churn")
    assert m["description"] == "churn classifier" and m["tags"] == {"team": "ads"}
    v = m["versions"][0]
    assert v["description"] == "first cut" and v["tags"] == {"data": "2026-10"}
    actions = [(e["action"], e["version"]) for e in reg(transport, "audit", name="churn")]
    assert ("description_changed", None) in actions and ("description_changed", 1) in actions
    assert ("tag_set", 1) in actions
