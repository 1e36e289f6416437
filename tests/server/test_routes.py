"""The REST API as a client meets it: a real Jupyter server with the extension."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
import requests

ANY_RUN = "0" * 32


def concrete(path: str) -> str:
    # A value each path parameter's pattern accepts (ids are numbers, decisions are words).
    values = {"run_id": ANY_RUN, "kind": "code", "request_id": "1", "hook_id": "1",
              "decision": "approve", "mid": "1", "digest": "0" * 64, "job_id": ANY_RUN}
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m[1], "x"), path)


def api(server, method, path, **kw):
    headers = {"Authorization": f"token {server.token}", **kw.pop("headers", {})}
    return requests.request(method, f"{server.url}/mlp/api/v1/{path}", headers=headers,
                            timeout=30, **kw)


def test_openapi_document_is_valid_and_lists_every_route(http_server):
    from openapi_spec_validator import validate

    from mlp_server.handlers import ROUTES

    doc = api(http_server, "GET", "openapi.json").json()
    validate(doc)
    assert len(doc["paths"]) == len(ROUTES) + 1
    assert "/mlp/api/v1/runs/search" in doc["paths"]


def test_every_route_refuses_an_anonymous_request(http_server):
    doc = api(http_server, "GET", "openapi.json").json()
    checked = 0
    for path, methods in doc["paths"].items():
        for method in methods:
            resp = requests.request(method.upper(), http_server.url + concrete(path),
                                    timeout=30, data=b"{}")
            assert resp.status_code in (401, 403), (method, path, resp.status_code)
            checked += 1
    assert checked >= 20


def test_version_handshake(http_server):
    from mlp import __version__

    info = api(http_server, "GET", "info").json()
    assert info["version"] == __version__ and info["api"] == "v1"
    assert info["schema"] == info["schema_expected"]


@pytest.mark.parametrize(("method", "path", "kw", "status", "error", "text"), [
    ("POST", "runs/search", {"json": {"where": "metrics.loss <"}}, 400, "QueryError",
     "expected a value"),
    ("GET", f"runs/{ANY_RUN}", {}, 404, "NotFound", "no run has id"),
    ("POST", "metrics", {"data": b"garbage"}, 400, "InvalidInput", "malformed metrics body"),
    ("POST", "runs", {"data": b"{not json"}, 400, "InvalidInput", "not JSON"),
    ("POST", "runs", {"json": {"experiment": "a/b"}}, 400, "InvalidInput", "without '/'"),
])
def test_bad_requests_get_json_errors_naming_the_problem(http_server, method, path, kw, status,
                                                        error, text):
    resp = api(http_server, method, path, **kw)
    assert resp.status_code == status
    body = resp.json()
    assert body["error"] == error and text in body["message"]


def test_a_query_error_keeps_its_position_over_http(http_server):
    body = api(http_server, "POST", "runs/search",
               json={"where": "metrics.loss < 0.5 and (x"}).json()
    assert body["position"] == 24 and body["field"] == "where"


def test_the_extension_is_enabled_on_install():
    out = subprocess.run([sys.executable, "-m", "jupyter_server", "extension", "list"],
                         capture_output=True, text=True, timeout=60)
    text = out.stdout + out.stderr
    assert re.search(r"mlp_server\s+(\x1b\[\d+m)?enabled", text), text


def test_jupyter_config_reaches_the_services(tmp_path):
    from conftest import JupyterServer

    (tmp_path / "jupyter_server_config.py").write_text(
        f"c.MLP.artifact_root = {str(tmp_path / 'team-artifacts')!r}\n")
    server = JupyterServer.start(tmp_path, f"sqlite:///{tmp_path / 'cfg.db'}",
                                 (f"--config={tmp_path / 'jupyter_server_config.py'}",))
    try:
        assert api(server, "GET", "info").json()["artifact_root"] == str(
            tmp_path / "team-artifacts")
    finally:
        server.stop()


def _strict(text: str):
    import json

    def refuse(token):
        raise AssertionError(f"bare {token} in a JSON answer")

    return json.loads(text, parse_constant=refuse)


def test_answers_are_strict_json_with_nan_and_infinity_spelled_out(http_server):
    from mlp.transport.http import HttpTransport

    t = HttpTransport(http_server.url, http_server.token)
    run = t.create_run("strict", "r")
    import numpy as np

    from mlp.transport import MetricBatch

    t.log_metrics([MetricBatch(run["id"], "loss", np.arange(3), np.full(3, 1e9),
                               np.array([np.inf, -np.inf, np.nan]))])
    raw = _strict(api(http_server, "GET", f"runs/{run['id']}").text)
    assert raw["metrics"]["loss"]["min"] == "-Infinity"
    assert raw["metrics"]["loss"]["max"] == "Infinity" and raw["metrics"]["loss"]["last"] == "NaN"
    rows = _strict(api(http_server, "POST", "runs/search", json={"experiment": "strict"}).text)
    assert rows["runs"][0]["metrics"]["loss"] == "NaN"
    # ... and the SDK reads numbers back.
    m = t.get_run(run["id"])["metrics"]["loss"]
    assert m["min"] == -np.inf and m["max"] == np.inf and np.isnan(m["last"])
    t.close()


def test_artifacts_are_served_with_their_type_and_previews_are_cut(http_server, tmp_path):
    from mlp.transport.http import HttpTransport

    t = HttpTransport(http_server.url, http_server.token)
    run = t.create_run("files", "r")
    csv = tmp_path / "table.csv"
    csv.write_text("a,b\n" + "1,2\n" * 50_000)
    t.log_artifact(run["id"], csv)
    full = api(http_server, "GET", f"runs/{run['id']}/artifact", params={"path": "table.csv"})
    assert full.headers["Content-Type"].startswith("text/csv")
    assert full.content == csv.read_bytes() and "X-MLP-Truncated" not in full.headers
    assert full.headers["X-Content-Type-Options"] == "nosniff"
    cut = api(http_server, "GET", f"runs/{run['id']}/artifact",
              params={"path": "table.csv", "max_bytes": 1000})
    assert cut.content == csv.read_bytes()[:1000] and cut.headers["X-MLP-Truncated"] == "true"
    assert int(cut.headers["X-MLP-Size"]) == csv.stat().st_size
    bad = api(http_server, "GET", f"runs/{run['id']}/artifact",
              params={"path": "table.csv", "max_bytes": "lots"})
    assert bad.status_code == 400 and bad.json()["field"] == "max_bytes"
    t.close()


@pytest.mark.parametrize(("field", "value"), [
    ("pid", -1), ("pid", "abc"), ("pid", 1.5), ("pid", 2**70), ("start_time", "abc"),
    ("pid_started", "x"), ("host", {}), ("source_type", {}), ("source_name", []),
    ("run_id", ["x"]), ("captures", ["x"]), ("parent_id", 7),
])
def test_run_fields_of_the_wrong_kind_are_refused_by_name(http_server, field, value):
    resp = api(http_server, "POST", "runs", json={"experiment": "bad", field: value})
    assert resp.status_code == 400, resp.text
    assert resp.json()["field"] == field


def test_heartbeat_ids_and_search_limits_of_the_wrong_kind_are_refused_by_name(http_server):
    resp = api(http_server, "POST", "heartbeat", json={"run_ids": [1, {}]})
    assert resp.status_code == 400 and resp.json()["field"] == "run_ids"
    resp = api(http_server, "POST", "runs/search", json={"limit": 10**30})
    assert resp.status_code == 400 and resp.json()["field"] == "limit"


def test_artifact_names_in_any_script_download_and_folders_are_refused(http_server, tmp_path):
    from mlp.transport.http import HttpTransport

    t = HttpTransport(http_server.url, http_server.token)
    run = t.create_run("names", "r")
    f = tmp_path / "数据.csv"
    f.write_text("a,b\n1,2\n")
    t.log_artifact(run["id"], f, "dir/数据.csv")
    got = api(http_server, "GET", f"runs/{run['id']}/artifact", params={"path": "dir/数据.csv"})
    assert got.status_code == 200 and got.content == f.read_bytes()
    assert "filename*=UTF-8''%E6%95%B0%E6%8D%AE.csv" in got.headers["Content-Disposition"]
    folder = api(http_server, "GET", f"runs/{run['id']}/artifact", params={"path": "dir"})
    assert folder.status_code == 400 and "is a folder" in folder.json()["message"]
    t.close()
