"""The feature store's REST routes as a client without the SDK sees them: JSON errors that name
the problem, the online route, data upload, freshness on /metrics, and a shared server that
reads only the sources its admin allowed."""

from __future__ import annotations

import time

import pandas as pd
import pytest
import requests
from conftest import JupyterServer

import mlp

fs = mlp.features


def api(server, method, path, **kw):
    return requests.request(method, f"{server.url}/mlp/api/v1/{path}",
                            headers={"Authorization": f"token {server.token}"}, timeout=30, **kw)


def rows(n=3):
    now = pd.Timestamp.now(tz="UTC").tz_localize(None).floor("s")
    return pd.DataFrame([{"customer_id": k, "event_timestamp": now - pd.Timedelta(hours=2),
                          "spend": float(k)} for k in range(n)])


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    root = tmp_path_factory.mktemp("features-shared")
    allowed = root / "allowed"
    allowed.mkdir()
    server = JupyterServer.start(root, f"sqlite:///{root / 's.db'}", extra=(
        "--MLPExtension.freshness_interval=0.5", "--MLPFeatures.shared=True",
        f"--MLPFeatures.allowed_sources={allowed}"))
    yield server, allowed
    server.stop()


@pytest.fixture
def client_of(shared):
    server, allowed = shared
    mlp.connect(server.url, server.token)
    return server, allowed


def test_online_route_answers_in_request_order_with_statuses(client_of):
    server, _ = client_of
    fs.entity("customer", ["customer_id"])
    fs.feature_view("spend_a", entities=["customer"], source=rows(),
                    event_time="event_timestamp", ttl="1d", freshness_slo="1h")
    fs.materialize("spend_a")
    r = api(server, "POST", "features/online", json={
        "entities": {"customer_id": [2, 99, 0]}, "features": ["spend_a:spend"]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["features"] == ["spend"] and body["dtypes"] == ["float"]
    assert body["values"] == [[2.0], [None], [0.0]]
    assert body["status"] == [["present"], ["not_found"], ["present"]]
    assert body["entities"] == [{"customer_id": 2}, {"customer_id": 99}, {"customer_id": 0}]
    for bad, field, words in [
        ({"features": ["spend_a:spend"]}, "entities", "needs 'entities'"),
        ({"entities": {"customer_id": [1]}, "features": "spend_a:spend"}, "features",
         "wrong type"),
        ({"entities": {"customer_id": [1]}, "features": ["spend_a"]}, "features",
         "'view:feature'"),
        ({"entities": {"customer_id": [1, 2], "x": [1]}, "features": ["spend_a:spend"]},
         "entities", "different lengths")]:
        r = api(server, "POST", "features/online", json=bad)
        assert r.status_code == 400 and r.json()["field"] == field, r.text
        assert words in r.json()["message"]


def test_token_clients_get_the_direct_online_path_with_the_same_answers(client_of):
    """A client sending the server's token (a service, the SDK) is answered by the direct
    path; a browser (it sends Origin) and a token in the URL go through Jupyter's handler.
    Both give the same statuses and bodies, on one kept-alive connection."""
    import http.client
    from urllib.parse import urlparse

    server, _ = client_of
    fs.entity("customer", ["customer_id"])
    fs.feature_view("spend_d", entities=["customer"], source=rows(150),
                    event_time="event_timestamp", ttl="1d")
    fs.materialize("spend_d")
    u = urlparse(server.url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    path = "/mlp/api/v1/features/online"

    def post(raw, **headers):
        conn.request("POST", path + headers.pop("query", ""), body=raw, headers=headers)
        r = conn.getresponse()
        return r.status, r.read(), r.getheader("Server-Timing")

    token = {"Authorization": f"token {server.token}"}
    browser = {**token, "Origin": server.url}
    bodies = [
        b'{"entities": {"customer_id": [2, 99, 0]}, "features": ["spend_d:spend"]}',
        b'{"entities": {"customer_id": %s}, "features": ["spend_d:spend"]}'  # off the loop
        % str(list(range(160))).encode(),
        b'{"features": ["spend_d:spend"]}', b'{"entities": [], "features": "spend_d:spend"}',
        b'{"entities": {"customer_id": [1]}, "features": ["nope:spend"]}',
        b'not json', b'[1, 2]']
    for raw in bodies:
        fast, regular = post(raw, **token), post(raw, **browser)
        assert fast[2] is not None and fast[2].startswith("online;dur="), fast
        assert regular[2] is None, regular  # Jupyter's handler: no Server-Timing
        assert fast[:2] == regular[:2], (raw, fast, regular)
    assert post(bodies[0], **token)[0] == 200
    ok = json_of(post(bodies[1], **token)[1])
    assert ok["values"][:3] == [[0.0], [1.0], [2.0]] and ok["status"][155] == ["not_found"]
    assert json_of(post(bodies[4], **token)[1])["field"] == "features"
    # A token the direct path does not know, or none: Jupyter's auth answers, and refuses.
    assert post(bodies[0], Authorization="token wrong")[0] == 403
    assert post(bodies[0])[0] == 403
    query = post(bodies[0], query=f"?token={server.token}")
    assert query[0] == 200 and query[2] is None
    # The lookup counts as API activity, for idle culling.
    before = requests.get(f"{server.url}/api/status", headers=token, timeout=10).json()
    time.sleep(0.05)
    assert post(bodies[0], **token)[0] == 200
    after = requests.get(f"{server.url}/api/status", headers=token, timeout=10).json()
    assert after["last_activity"] > before["last_activity"]
    conn.close()


def json_of(raw: bytes):
    import json

    return json.loads(raw)


def test_freshness_is_exported_to_prometheus(client_of):
    server, _ = client_of
    fs.entity("customer", ["customer_id"])
    fs.feature_view("spend_b", entities=["customer"], source=rows(),
                    event_time="event_timestamp", freshness_slo="1h")
    deadline = time.time() + 10
    text = ""
    while time.time() < deadline:
        text = requests.get(f"{server.url}/metrics",
                            headers={"Authorization": f"token {server.token}"}, timeout=10).text
        if 'mlp_feature_view_stale{view="spend_b"} 1.0' in text:
            break
        time.sleep(0.3)
    assert 'mlp_feature_view_stale{view="spend_b"} 1.0' in text  # never materialized
    fs.materialize("spend_b")
    deadline = time.time() + 10
    while time.time() < deadline:
        text = requests.get(f"{server.url}/metrics",
                            headers={"Authorization": f"token {server.token}"}, timeout=10).text
        if 'mlp_feature_view_age_seconds{view="spend_b"}' in text:
            break
        time.sleep(0.3)
    assert 'mlp_feature_view_stale{view="spend_b"} 1.0' in text  # 2 h old, SLO 1 h: stale
    age = [ln for ln in text.splitlines()
           if ln.startswith('mlp_feature_view_age_seconds{view="spend_b"}')]
    assert age and 7000 < float(age[0].split()[-1]) < 7400
    assert 'mlp_feature_view_freshness_slo_seconds{view="spend_b"} 3600.0' in text
    assert requests.get(f"{server.url}/metrics", timeout=10).status_code in (401, 403)


def test_a_shared_server_reads_only_allowed_sources(client_of, tmp_path):
    server, allowed = client_of
    fs.entity("customer", ["customer_id"])
    rows().to_parquet(allowed / "ok.parquet")
    rows().to_parquet(tmp_path / "elsewhere.parquet")
    v = fs.feature_view("spend_c", entities=["customer"], source=str(allowed / "ok.parquet"),
                        event_time="event_timestamp")
    assert v.version == 1
    with pytest.raises(mlp.errors.AccessDenied, match="allowed_sources"):
        fs.feature_view("spend_d", entities=["customer"],
                        source=str(tmp_path / "elsewhere.parquet"),
                        event_time="event_timestamp")
    r = api(server, "PUT", "features/data", data=b"not parquet")
    assert r.status_code == 400 and "not a Parquet file" in r.json()["message"]
    r = api(server, "GET", "features/data/" + "0" * 64)
    assert r.status_code == 404


def test_materialization_route_reports_progress_and_errors(client_of):
    server, _ = client_of
    fs.entity("customer", ["customer_id"])
    fs.feature_view("spend_e", entities=["customer"], source=rows(50),
                    event_time="event_timestamp")
    r = api(server, "POST", "features/views/spend_e/materialize", json={"end": "yesterday"})
    assert r.status_code == 400 and r.json()["field"] == "end"
    r = api(server, "POST", "features/views/nope/materialize", json={})
    assert r.status_code == 404 and "no feature view named 'nope'" in r.json()["message"]
    r = api(server, "POST", "features/views/spend_e/materialize", json={})
    assert r.status_code == 202 and r.json()["status"] in ("running", "finished")
    mid = r.json()["id"]
    for _ in range(100):
        m = api(server, "GET", f"features/materializations/{mid}").json()
        if m["status"] != "running":
            break
        time.sleep(0.1)
    assert m["status"] == "finished" and m["keys"] == 50 and m["progress"] == 1.0
    listed = api(server, "GET", "features/materializations?view=spend_e").json()
    assert [x["id"] for x in listed["materializations"]] == [mid]
    sample = api(server, "GET", "features/views/spend_e/sample?n=2").json()
    assert sample["columns"] == ["customer_id", "event_timestamp", "spend"]
    assert len(sample["rows"]) == 2
    assert api(server, "GET", "features/views/spend_e/sample?n=0").status_code == 400


def test_the_token_is_checked_without_a_login_cookie(client_of):
    server, _ = client_of
    ok = api(server, "GET", "features/freshness")
    assert ok.status_code == 200 and "Set-Cookie" not in ok.headers
    bad = requests.get(f"{server.url}/mlp/api/v1/features/freshness", timeout=10,
                       headers={"Authorization": f"token {server.token}x"})
    assert bad.status_code in (401, 403)
    assert requests.get(f"{server.url}/mlp/api/v1/features/freshness", timeout=10,
                        headers={"Authorization": "token "}).status_code in (401, 403)
