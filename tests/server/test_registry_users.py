"""The registry's rules between users, through a real Jupyter server whose login names users
(``alice-token`` is alice): gates, self-approval, reviews, validations in a worker process,
concurrent promotions, and webhooks delivered to a real HTTP receiver."""

from __future__ import annotations

import hashlib
import hmac
import http.server
import json
import os
import threading
import time

import pytest
from token_users import model_version, start_named

from mlp.errors import AccessDenied, Conflict
from mlp.transport.http import HttpTransport


@pytest.fixture(scope="module",
                params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def team_server(request, tmp_path_factory):
    """A shared server (production needs one approval), webhooks to 127.0.0.1 allowed; one
    per backend for the module, its store emptied before each test."""
    from conftest import PG_URL

    if request.param == "postgres" and not PG_URL:
        if os.environ.get("CI"):
            pytest.fail("MLP_TEST_PG_URL is not set in CI: .ci/run must start PostgreSQL")
        pytest.skip("MLP_TEST_PG_URL is not set: run the suite with `make test`")
    root = tmp_path_factory.mktemp("team")
    url = f"sqlite:///{root / 'store.db'}" if request.param == "sqlite" else PG_URL
    server = start_named(root, url, (
        "--MLPRegistry.shared=True", "--MLPRegistry.webhook_hosts=127.0.0.1",
        "--MLPRegistry.webhook_backoff=0.2", "--MLPRegistry.webhook_max_attempts=4",
        "--MLPExtension.webhook_interval=0.1"), token="admin-token")
    yield server
    server.stop()


@pytest.fixture
def team(team_server):
    team_server.empty_store()
    users = {u: HttpTransport(team_server.url, f"{u}-token") for u in ("alice", "bob", "carol")}
    yield team_server, users
    for t in users.values():
        t.close()


def test_production_needs_someone_elses_approval(team, tmp_path):
    _, u = team
    v = model_version(u["alice"], tmp_path)
    req = u["alice"].registry("request_transition", name="churn", version=v["version"],
                              stage="production", comment="auc 0.90")
    assert req["status"] == "pending" and req["requested_by"] == "alice"
    assert req["gate"]["approvals"] == 1
    with pytest.raises(AccessDenied, match=r"you \(alice\) made request .* someone else"):
        u["alice"].registry("approve", request_id=req["id"])
    with pytest.raises(AccessDenied, match="only alice.*can cancel it"):
        u["bob"].registry("cancel", request_id=req["id"])
    done = u["bob"].registry("approve", request_id=req["id"], comment="looks good")
    assert done["status"] == "applied"
    assert done["reviews"] == [{"user": "bob", "decision": "approve", "comment": "looks good",
                                "at": done["reviews"][0]["at"]}]
    assert u["carol"].registry("resolve", name="churn", ref="@production")["version"] == 1
    with pytest.raises(Conflict, match="is applied already"):
        u["carol"].registry("approve", request_id=req["id"])
    log = [(e["actor"], e["action"]) for e in u["carol"].registry("audit", name="churn")]
    assert log == [("alice", "model_created"), ("alice", "version_created"),
                   ("alice", "request_made"), ("bob", "approved"), ("bob", "stage_changed"),
                   ("bob", "applied")]


def test_a_rejection_closes_the_request_and_changes_nothing(team, tmp_path):
    _, u = team
    model_version(u["alice"], tmp_path)
    req = u["alice"].registry("request_transition", name="churn", version=1, stage="production")
    out = u["bob"].registry("reject", request_id=req["id"], comment="drift on segment B")
    assert out["status"] == "rejected" and out["reason"] == "drift on segment B"
    assert u["alice"].registry("get_model", name="churn")["versions"][0]["stage"] == "none"
    again = u["alice"].registry("request_transition", name="churn", version=1, stage="production")
    assert again["status"] == "pending"  # a closed request does not block a new one


def test_validation_runs_in_a_worker_and_its_failure_holds_the_request(team, tmp_path):
    _, u = team
    model_version(u["alice"], tmp_path)
    u["alice"].registry("update_model", name="churn", policy={"production": {
        "approvals": 1, "checks": ["metrics.auc >= 0.85"],
        "validation": "registry_checks:has_mlmodel"}})
    req = u["alice"].registry("request_transition", name="churn", version=1, stage="production")
    done = u["bob"].registry("approve", request_id=req["id"])
    assert done["status"] == "applied", done
    assert [c["ok"] for c in done["checks"]["checks"]] == [True, True]
    model_version(u["alice"], tmp_path)
    u["alice"].registry("update_model", name="churn", policy={"production": {
        "approvals": 1, "validation": "registry_checks:holdout_too_low"}})
    req = u["alice"].registry("request_transition", name="churn", version=2, stage="production")
    held = u["bob"].registry("approve", request_id=req["id"])
    assert held["status"] == "approved"  # approved, but the validation fails
    assert "holdout set is 0.61, below 0.7" in held["reason"]
    assert u["bob"].registry("resolve", name="churn", ref="@production")["version"] == 1


def test_concurrent_promotions_leave_one_production_version(team, tmp_path):
    _, u = team
    for _ in range(4):
        model_version(u["alice"], tmp_path)
    reqs = [u["alice"].registry("request_transition", name="churn", version=n,
                                stage="production")["id"] for n in (1, 2, 3, 4)]
    errors: list = []

    def approve(rid):
        try:
            HttpTransport(team[0].url, "bob-token").registry("approve", request_id=rid)
        except Exception as e:  # noqa: BLE001 - collected for the assertion
            errors.append(e)

    threads = [threading.Thread(target=approve, args=(r,)) for r in reqs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    stages = [v["stage"] for v in u["carol"].registry("get_model", name="churn")["versions"]]
    assert stages.count("production") == 1 and stages.count("archived") == 3
    applied = [e for e in u["carol"].registry("audit", name="churn") if e["action"] == "applied"]
    assert len(applied) == 4


class Receiver(http.server.BaseHTTPRequestHandler):
    got: list = []
    fail_first = 0

    def do_POST(self):  # noqa: N802 - the http.server API
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Receiver.got.append((self.path, dict(self.headers), body))
        seen = sum(1 for p, _, _ in Receiver.got if p == self.path)
        code = 500 if seen <= Receiver.fail_first else 204  # the first ones fail, per path
        self.send_response(code)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    Receiver.got, Receiver.fail_first = [], 2
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/hook"
    srv.shutdown()


def wait_for(cond, timeout=30.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return True
        time.sleep(0.1)
    return False


def test_webhooks_are_signed_retried_and_logged(team, tmp_path, receiver):
    _, u = team
    secret = "s3cret-s3cret-s3cret"
    model_version(u["alice"], tmp_path)  # the model must exist before a hook names it
    hook = u["alice"].registry("add_webhook", url=receiver, secret=secret, model="churn",
                               events=["applied"])
    dead = u["alice"].registry("add_webhook", url=receiver.replace("/hook", "/gone"),
                               secret=secret, events=["request_made"])
    req = u["alice"].registry("request_transition", name="churn", version=1, stage="staging")
    assert req["status"] == "applied"  # the registry did not wait for any hook
    assert wait_for(lambda: any(d["status"] == "delivered" for d in u["alice"].registry(
        "deliveries", hid=hook["id"])))
    (d,) = u["alice"].registry("deliveries", hid=hook["id"])
    assert d["event"] == "applied" and d["attempts"] == 3 and d["last_code"] == 204
    ok = [(h, b) for _, h, b in Receiver.got if json.loads(b)["event"] == "applied"]
    headers, body = ok[-1]
    payload = json.loads(body)
    assert (payload["model"], payload["version"], payload["to"]) == ("churn", 1, "staging")
    expected = hmac.new(secret.encode(), headers["X-MLP-Timestamp"].encode() + b"." + body,
                        hashlib.sha256).hexdigest()
    assert headers["X-MLP-Signature"] == f"sha256={expected}"
    assert headers["X-MLP-Event"] == "applied" and headers["X-MLP-Delivery"] == str(d["id"])
    (other,) = u["alice"].registry("deliveries", hid=dead["id"])
    assert other["event"] == "request_made"


def test_a_failing_hook_is_given_up_after_its_attempts_and_blocks_nothing(team, tmp_path,
                                                                          receiver):
    _, u = team
    Receiver.fail_first = 10**6  # always 500
    model_version(u["alice"], tmp_path)
    hook = u["alice"].registry("add_webhook", url=receiver, secret="x" * 16)
    t = time.perf_counter()
    u["alice"].registry("request_transition", name="churn", version=1, stage="staging")
    assert time.perf_counter() - t < 10
    assert wait_for(lambda: all(d["status"] == "failed" for d in u["alice"].registry(
        "deliveries", hid=hook["id"])), timeout=120)
    ds = u["alice"].registry("deliveries", hid=hook["id"])
    assert {d["event"] for d in ds} >= {"request_made", "applied", "stage_changed"}
    assert all(d["attempts"] == 4 and d["last_error"] == "HTTP 500" for d in ds)
