"""The feature store through each transport (in-process and REST) on SQLite and PostgreSQL,
reached the way a user reaches it: ``mlp.features``. Definitions, materialization that never
rolls back, online lookups with their statuses, online/offline parity, freshness."""

from __future__ import annotations

import math
import random
import time

import numpy as np
import pandas as pd
import pytest

import mlp
from mlp.errors import InvalidInput, MLPError, NotFound

fs = mlp.features


@pytest.fixture
def sdk(transport):
    import mlp._client

    mlp._client.reset(transport)
    fs.entity("customer", ["customer_id"], description="a paying customer")
    return transport


def now_utc() -> pd.Timestamp:
    return pd.Timestamp.now(tz="UTC").tz_localize(None).floor("s")


def ago(days: float) -> pd.Timestamp:
    return now_utc() - pd.Timedelta(days=days)


def stats_rows(keys=range(1, 4)):
    rows = []
    for k in keys:
        for d, v in ((20, 1.0), (5, 2.0), (1, 3.0)):
            rows.append({"customer_id": k, "event_timestamp": ago(d), "created": ago(d),
                         "spend": v * k, "orders": int(v) + k, "segment": f"s{k}"})
    return pd.DataFrame(rows)


def test_definitions_are_versioned_not_overwritten(sdk):
    src = stats_rows()
    v1 = fs.feature_view("stats", entities=["customer"], source=src,
                         event_time="event_timestamp", created_time="created", ttl="30d",
                         owner="lena", freshness_slo="2d", description="spend")
    assert (v1.version, v1.created, v1.owner) == (1, True, "lena")
    assert v1.features == [{"name": "spend", "dtype": "float"},
                           {"name": "orders", "dtype": "int"},
                           {"name": "segment", "dtype": "string"}]
    assert v1.join_keys == ["customer_id"] and v1.ttl == 30 * 86400
    again = fs.feature_view("stats", entities=["customer"], source=src,
                            event_time="event_timestamp", created_time="created", ttl="30d",
                            description="spend per customer")
    assert (again.version, again.created, again.description, again.owner) == \
        (1, False, "spend per customer", "lena")
    v2 = fs.feature_view("stats", entities=["customer"], source=src,
                         event_time="event_timestamp", created_time="created", ttl="7d",
                         features={"spend": "float", "orders": "float"})
    assert (v2.version, v2.created) == (2, True)
    assert fs.get_view("stats").version == 2 and fs.get_view("stats", 1).ttl == 30 * 86400
    assert [v["version"] for v in fs.get_view("stats").versions] == [1, 2]
    listed = fs.views()
    assert listed.view.tolist() == ["stats"] and listed.version.tolist() == [2]
    assert fs.entities().join_keys.tolist() == ["customer_id"]


def test_definition_errors_name_the_problem(sdk):
    src = stats_rows()
    with pytest.raises(NotFound, match="no entity named 'shop'"):
        fs.feature_view("x", entities=["shop"], source=src, event_time="event_timestamp")
    with pytest.raises(InvalidInput, match="must start with a letter"):
        fs.feature_view("bad name", entities=["customer"], source=src,
                        event_time="event_timestamp")
    with pytest.raises(InvalidInput, match="not one of int, float"):
        fs.feature_view("x", entities=["customer"], source=src, event_time="event_timestamp",
                        features={"spend": "complex"})
    with pytest.raises(InvalidInput, match="ttl='soon' is not a duration"):
        fs.feature_view("x", entities=["customer"], source=src, event_time="event_timestamp",
                        ttl="soon")
    with pytest.raises(InvalidInput, match="no column 'spent'"):
        fs.feature_view("x", entities=["customer"], source=src, event_time="event_timestamp",
                        features=["spent"])
    with pytest.raises(InvalidInput, match="join key"):
        fs.entity("shop", [])
    assert fs.views().empty  # nothing half-stored


def test_online_lookup_statuses_times_and_request_order(sdk):
    fs.feature_view("stats", entities=["customer"], source=stats_rows(range(1, 4)),
                    event_time="event_timestamp", created_time="created", ttl="30d")
    old = pd.DataFrame([{"customer_id": 9, "event_timestamp": ago(40), "created": ago(40),
                         "tier": "gold"}])
    fs.feature_view("tiers", entities=["customer"], source=old, event_time="event_timestamp",
                    created_time="created", ttl="30d")
    with pytest.raises(NotFound, match="has not been materialized"):
        fs.get_online({"customer_id": [1]}, ["stats:spend"])
    rec = fs.materialize("stats")
    assert rec["status"] == "finished" and rec["keys"] == 3 and rec["written"] == 3
    fs.materialize("tiers")
    got = fs.get_online({"customer_id": [3, 42, 1, 3, 9]},
                        ["stats:spend", "stats:segment", "tiers:tier"])
    assert got.features == ["spend", "segment", "tier"]
    assert [r[:2] for r in got.values] == [[9.0, "s3"], [None, None], [3.0, "s1"],
                                           [9.0, "s3"], [None, None]]
    assert [s[0] for s in got.status] == ["present", "not_found", "present", "present",
                                          "not_found"]
    assert got.status[4][2] == "outside_ttl" and got.values[4][2] is None
    assert got.event_time[4][2] == pytest.approx(ago(40).tz_localize("UTC").timestamp(), abs=5)
    assert got.event_time[0][0] == pytest.approx(ago(1).tz_localize("UTC").timestamp(), abs=5)
    assert got[2] == {"customer_id": 1, "spend": 3.0, "segment": "s1", "tier": None}
    frame = got.to_frame()
    assert frame.customer_id.tolist() == [3, 42, 1, 3, 9]
    assert frame.tier__status.tolist()[-1] == "outside_ttl"
    star = fs.get_online(pd.DataFrame({"customer_id": [2]}), ["stats:*"])
    assert star.features == ["spend", "orders", "segment"] and star.values == [[6.0, 5, "s2"]]
    assert fs.get_online([{"customer_id": "2"}], ["stats:orders"]).values == [[5]]
    with pytest.raises(InvalidInput, match="has no feature 'nope'"):
        fs.get_online({"customer_id": [1]}, ["stats:nope"])
    with pytest.raises(InvalidInput, match="lack 'customer_id'"):
        fs.get_online({"id": [1]}, ["stats:spend"])
    with pytest.raises(InvalidInput, match="is not a BIGINT key"):
        fs.get_online({"customer_id": ["one"]}, ["stats:spend"])


def test_materializing_an_old_window_never_rolls_back(sdk):
    fs.feature_view("stats", entities=["customer"], source=stats_rows(),
                    event_time="event_timestamp", created_time="created")
    fs.materialize("stats")
    assert fs.get_online({"customer_id": [2]}, ["stats:spend"]).values == [[6.0]]
    rec = fs.materialize("stats", start=ago(30), end=ago(10))  # only the oldest rows
    assert rec["keys"] == 3 and rec["written"] == 0
    got = fs.get_online({"customer_id": [2]}, ["stats:spend"])
    assert got.values == [[6.0]] and got.status == [["present"]]
    with pytest.raises(InvalidInput, match="is after end"):
        fs.materialize("stats", start=ago(1), end=ago(2))


def test_incremental_materialization_picks_up_new_and_late_rows(sdk, tmp_path):
    folder = tmp_path / "stats"
    folder.mkdir()
    stats_rows([1, 2]).to_parquet(folder / "0.parquet")
    fs.feature_view("stats", entities=["customer"], source=str(folder),
                    event_time="event_timestamp", created_time="created")
    first = fs.materialize_incremental("stats")
    assert first["start"] is None and first["keys"] == 2
    late = pd.DataFrame([
        {"customer_id": 1, "event_timestamp": ago(0.5), "created": ago(0) +
         pd.Timedelta(seconds=5), "spend": 100.0, "orders": 1, "segment": "new"},
        # a late row: an event older than the last run, created after it
        {"customer_id": 3, "event_timestamp": ago(3), "created": ago(0) +
         pd.Timedelta(seconds=5), "spend": 7.0, "orders": 1, "segment": "late"}])
    late.to_parquet(folder / "1.parquet")
    time.sleep(6)
    second = fs.materialize_incremental("stats")
    assert second["start"] == pytest.approx(first["end"]) and second["keys"] == 2
    got = fs.get_online({"customer_id": [1, 2, 3]}, ["stats:spend", "stats:segment"])
    assert got.values == [[100.0, "new"], [6.0, "s2"], [7.0, "late"]]


def test_online_equals_offline_at_the_same_instant(sdk):
    rng = random.Random(7)
    rows = []
    for k in range(200):
        for _ in range(rng.randint(0, 4)):
            d = rng.choice([0.5, 2, 5, 9, 12, 25])
            rows.append({"customer_id": k, "event_timestamp": ago(d), "created": ago(d),
                         "spend": rng.choice([None, rng.random()]), "orders": rng.randint(0, 9)})
    rows.append({"customer_id": 1, "event_timestamp": ago(-3), "created": ago(0),
                 "spend": 5.0, "orders": 1})  # in the future: neither side may see it
    fs.feature_view("stats", entities=["customer"], source=pd.DataFrame(rows),
                    event_time="event_timestamp", created_time="created", ttl="10d")
    fs.materialize("stats")
    sample = rng.sample(range(210), 60)
    online = fs.get_online({"customer_id": sample}, ["stats:spend", "stats:orders"])
    offline = fs.get_training_frame(
        pd.DataFrame({"customer_id": sample, "event_timestamp": [now_utc()] * len(sample)}),
        ["stats:spend", "stats:orders"], explain=True)
    for i, k in enumerate(sample):
        on = online.values[i]
        off = [offline.spend.iloc[i], offline.orders.iloc[i]]
        off = [None if pd.isna(x) else x for x in off]
        assert on[0] == off[0] or (on[0] is None and off[0] is None), k
        assert on[1] == off[1], k
        if online.status[i][0] == "outside_ttl":
            assert offline.spend__why.iloc[i] == "outside_ttl"
        if online.status[i][0] == "not_found":
            assert offline.spend__why.iloc[i] in ("no_rows_for_key", "only_future_rows")


def test_freshness_against_the_slo(sdk):
    fs.feature_view("fresh", entities=["customer"], source=stats_rows(),
                    event_time="event_timestamp", created_time="created", freshness_slo="2d")
    fs.feature_view("late", entities=["customer"], source=stats_rows(),
                    event_time="event_timestamp", created_time="created", freshness_slo="1h")
    fs.feature_view("free", entities=["customer"], source=stats_rows(),
                    event_time="event_timestamp", created_time="created")
    before = fs.freshness().set_index("view")
    assert set(before.status) == {"never"}
    for v in ("fresh", "late", "free"):
        fs.materialize(v)
    after = fs.freshness().set_index("view")
    assert after.status.to_dict() == {"free": "unmonitored", "fresh": "fresh", "late": "stale"}
    assert after.age["fresh"] == pytest.approx(86400, abs=60)
    assert after.slo["late"] == 3600 and after.materializations["fresh"] == 1
    assert fs.views().set_index("view").freshness["late"] == "stale"
    hist = fs.materializations("fresh")
    assert hist.status.tolist() == ["finished"] and hist["keys"].tolist() == [3]


def test_sample_and_stats(sdk):
    fs.feature_view("stats", entities=["customer"], source=stats_rows(),
                    event_time="event_timestamp", created_time="created")
    s = fs.sample("stats", 2)
    assert list(s.columns) == ["customer_id", "event_timestamp", "created", "spend", "orders",
                               "segment"] and len(s) == 2
    st = fs.stats("stats")
    assert (st["rows"], st["keys"]) == (9, 3)
    assert st["features"]["spend"]["max"] == 9.0 and st["features"]["segment"]["nulls"] == 0


def test_a_failed_materialization_says_why_and_keeps_what_is_online(sdk, tmp_path):
    folder = tmp_path / "stats"
    folder.mkdir()
    stats_rows().to_parquet(folder / "0.parquet")
    fs.feature_view("stats", entities=["customer"], source=str(folder),
                    event_time="event_timestamp", created_time="created")
    fs.materialize("stats")
    (folder / "0.parquet").rename(tmp_path / "moved.parquet")
    with pytest.raises(MLPError, match="materializing 'stats' failed: .*"):
        fs.materialize("stats")
    assert fs.get_online({"customer_id": [1]}, ["stats:spend"]).values == [[3.0]]
    assert fs.materializations("stats").status.tolist() == ["failed", "finished"]
    assert not math.isnan(np.float64(fs.freshness("stats").age[0]))


def test_the_online_store_on_each_database(db_url):
    """SQLite (the default) and PostgreSQL as the online store: upserts never go back."""
    from mlp_server.features.online import OnlineStore

    s = OnlineStore(db_url)
    f = ["float", "string", "bool", "timestamp"]
    try:
        assert s.write("v", 1, f, [("[1]", 10, 10, 1.0, "a", True, 5),
                                   ("[2]", 10, 10, 2.0, None, False, None)]) == 2
        assert s.write("v", 1, f, [("[1]", 5, 50, 0.5, "b", False, 1)]) == 0  # older: kept
        assert s.write("v", 1, f, [("[1]", 10, 20, 1.5, "c", True, 6)]) == 1  # created later
        assert s.write("v", 1, f, [("[2]", 10, 5, 9.0, "d", True, 7)]) == 0  # created earlier
        assert s.write("v", 2, ["int"], [("[1]", 1, 1, 7)]) == 1  # another version: its own
        got = s.read("v", 1, f, ["[1]", "[2]", "[3]"])
        assert got["[1]"][:3] == (10, 1.5, "c") and bool(got["[1]"][3]) and got["[1]"][4] == 6
        assert got["[2]"][:3] == (10, 2.0, None) and "[3]" not in got
        assert s.read("v", 1, f, ["[2]"], [1]) == {"[2]": (10, None)}
        assert s.read("v", 2, ["int"], ["[1]"]) == {"[1]": (1, 7)} and s.count("v", 1, f) == 2
    finally:
        s.close()


def test_materialize_and_look_up_with_the_online_store_in_postgres(db_url, tmp_path):
    """``c.MLPFeatures.online_url`` may name any SQLAlchemy database."""
    from conftest import _service

    import mlp._client
    from mlp.transport.local import LocalTransport
    from mlp_server.features import FeatureService, OnlineStore

    t = LocalTransport(_service(f"sqlite:///{tmp_path / 'store.db'}", tmp_path))
    t._features = FeatureService(t.service, OnlineStore(db_url))
    mlp._client.reset(t)
    fs.entity("customer", ["customer_id"])
    fs.feature_view("stats", entities=["customer"], source=stats_rows(),
                    event_time="event_timestamp", created_time="created", ttl="30d")
    fs.materialize("stats")
    fs.materialize("stats", start=ago(30), end=ago(10))
    got = fs.get_online({"customer_id": [3, 4, 1]}, ["stats:spend", "stats:orders"])
    assert got.values == [[9.0, 6], [None, None], [3.0, 4]]
    assert t._features.online.display_url.split(":")[0] in ("sqlite", "postgresql+psycopg")
