"""Named tokens (mlp_server.auth.NamedTokens): a team's logins without JupyterHub, and
mlp.connect switching the SDK between users — the binder demo's second user."""

from __future__ import annotations

import json

import pytest
from token_users import api

import mlp
from mlp.errors import AccessDenied, Conflict

ALICE, BOB = "alice-" + "a" * 20, "bob-" + "b" * 20


@pytest.fixture
def team(tmp_path):
    from conftest import JupyterServer

    tokens = tmp_path / "tokens.json"
    tokens.write_text(json.dumps({"alice": ALICE, "bob": BOB}))
    server = JupyterServer.start(tmp_path, f"sqlite:///{tmp_path / 'team.db'}", (
        "--ServerApp.identity_provider_class=mlp_server.auth.NamedTokens",
        f"--NamedTokens.tokens_file={tokens}", "--MLPRegistry.shared=True"))
    yield server, tokens
    mlp.connect()
    server.stop()


def test_each_token_acts_as_its_user_and_others_are_refused(team):
    server, tokens = team
    assert api(server, "POST", "runs", token=ALICE, json={"experiment": "e"}).json()[
        "user"] == "alice"
    assert api(server, "POST", "runs", token=BOB, json={"experiment": "e"}).json()[
        "user"] == "bob"
    assert api(server, "POST", "runs", token="x" * 30, json={}).status_code == 403
    tokens.write_text(json.dumps({"alice": ALICE, "carol": "carol-" + "c" * 20}))
    assert api(server, "POST", "runs", token=BOB, json={}).status_code == 403  # file re-read
    assert api(server, "POST", "runs", token="carol-" + "c" * 20,
               json={"experiment": "e"}).json()["user"] == "carol"


def test_connect_switches_users_for_a_gated_promotion(team, tmp_path):
    server, _ = team
    info = mlp.connect(server.url, ALICE)
    assert info["transport"] == "http"
    d = tmp_path / "model"
    d.mkdir()
    (d / "MLmodel").write_text("flavors:\n  python_function:\n    loader_module: x\n")
    with mlp.start_run(experiment="team") as run:
        mlp.log_artifact(d)
        with pytest.raises(Conflict, match="end the active run"):
            mlp.connect(server.url, BOB)
    assert mlp.get_run(run.id).user == "alice"
    mlp.register_model(run, "churn")
    req = mlp.request_transition("churn", 1, "production")
    assert req["status"] == "pending"
    with pytest.raises(AccessDenied, match="someone else"):
        mlp.approve(req["id"])
    mlp.connect(server.url, BOB)
    assert mlp.approve(req["id"])["status"] == "applied"
    assert [(e["actor"], e["action"]) for e in mlp.audit("churn").to_dict("records")][-3:] == [
        ("bob", "approved"), ("bob", "stage_changed"), ("bob", "applied")]
    mlp.connect()
    assert mlp.status()["transport"] == "in-process"
