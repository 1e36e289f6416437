"""The point-in-time rules of ``mlp.features.get_training_frame``, one test per rule, and a
property test against a brute-force reference implementation of all of them."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mlp
from mlp.errors import InvalidInput

fs = mlp.features
T0 = pd.Timestamp("2024-03-01 12:00:00")
DAY = pd.Timedelta(days=1)


def day(n: float) -> pd.Timestamp:
    return T0 + n * DAY


@pytest.fixture
def store(client):
    fs.entity("customer", ["customer_id"])
    return client


def view(name, rows, *, ttl=None, created=True, entities=("customer",), **kw):
    df = pd.DataFrame(rows)
    return fs.feature_view(name, entities=list(entities), source=df,
                           event_time="event_timestamp",
                           created_time="created" if created else None, ttl=ttl, **kw)


def ents(*rows, **extra):
    df = pd.DataFrame([{"customer_id": k, "event_timestamp": t} for k, t in rows])
    for k, v in extra.items():
        df[k] = v
    return df


def test_only_future_rows_give_null_and_keep_the_row(store):
    view("s", [{"customer_id": 1, "event_timestamp": day(5), "created": day(5), "x": 1.0}])
    out = fs.get_training_frame(ents((1, day(0))), ["s:x"], explain=True)
    assert len(out) == 1 and math.isnan(out.x[0]) and out.x__why[0] == "only_future_rows"


def test_ttl_bounds_are_inclusive_and_older_rows_are_null(store):
    view("s", [{"customer_id": 1, "event_timestamp": day(0), "created": day(0), "x": 1.0},
               {"customer_id": 2, "event_timestamp": day(0), "created": day(0), "x": 2.0}],
         ttl="3d")
    out = fs.get_training_frame(ents((1, day(3)), (2, day(3) + pd.Timedelta(seconds=1)),
                                     (1, day(0))), ["s:x"], explain=True)
    assert out.x.tolist()[0] == 1.0  # exactly t - ttl: in
    assert math.isnan(out.x[1]) and out.x__why[1] == "outside_ttl"  # a second older: out
    assert out.x[2] == 1.0  # exactly t: in


def test_unknown_key_and_null_key(store):
    view("s", [{"customer_id": 1, "event_timestamp": day(0), "created": day(0), "x": 1.0}])
    e = pd.DataFrame({"customer_id": pd.array([7, None], dtype="Int64"),
                      "event_timestamp": [day(1), day(1)]})
    out = fs.get_training_frame(e, ["s:x"], explain=True)
    assert out.x.isna().all() and out.x__why.tolist() == ["no_rows_for_key", "no_rows_for_key"]


def test_one_row_per_input_in_order_with_index_and_columns_kept(store):
    view("s", [{"customer_id": k, "event_timestamp": day(0), "created": day(0),
                "x": float(k)} for k in range(5)])
    e = ents((3, day(1)), (1, day(1)), (3, day(1)), (9, day(1)), (0, day(-1)),
             label=[1, 0, 1, 0, 1], note=["a", "b", "c", "d", "e"])
    e.index = [10, 20, 30, 40, 50]
    out = fs.get_training_frame(e, ["s:x"])
    assert list(out.index) == [10, 20, 30, 40, 50]
    assert list(out.columns) == ["customer_id", "event_timestamp", "label", "note", "x"]
    assert out.note.tolist() == ["a", "b", "c", "d", "e"]
    assert out.x.tolist()[:3] == [3.0, 1.0, 3.0]  # duplicates each get their features
    assert out.x[40] != out.x[40] and out.x[50] != out.x[50]
    pd.testing.assert_frame_equal(out[e.columns], e)


def test_latest_event_wins_then_latest_created(store):
    view("s", [
        {"customer_id": 1, "event_timestamp": day(1), "created": day(1), "x": 1.0},
        {"customer_id": 1, "event_timestamp": day(2), "created": day(2), "x": 2.0},
        {"customer_id": 1, "event_timestamp": day(2), "created": day(4), "x": 3.0},  # a fix
        {"customer_id": 1, "event_timestamp": day(2), "created": day(3), "x": 4.0},
    ])
    out = fs.get_training_frame(ents((1, day(2)), (1, day(1.5))), ["s:x"])
    assert out.x.tolist() == [3.0, 1.0]


def test_exact_ties_are_decided_by_the_data_not_its_order(store, tmp_path):
    rows = [{"customer_id": 1, "event_timestamp": day(1), "x": float(v), "y": v}
            for v in (5, 3, 9, 1)]
    view("s", rows, created=False)
    first = fs.get_training_frame(ents((1, day(2))), ["s:*"])
    view("s", rows[::-1], created=False)  # the same rows in another order: a new version
    again = fs.get_training_frame(ents((1, day(2))), ["s:*"])
    assert fs.get_view("s").version == 2
    pd.testing.assert_frame_equal(first, again)
    import duckdb

    con = duckdb.connect()
    con.register("src", pd.DataFrame(rows))
    hashes = con.sql("SELECT x, hash(CAST(x AS DOUBLE), CAST(y AS BIGINT)) AS h FROM src"
                     ).df()
    assert first.x[0] == hashes.sort_values("h").x.iloc[-1]  # the documented rule


def test_the_chosen_row_is_whole_a_null_stays_null(store):
    view("s", [
        {"customer_id": 1, "event_timestamp": day(1), "created": day(1), "x": 1.0, "y": 10.0},
        {"customer_id": 1, "event_timestamp": day(2), "created": day(2), "x": None, "y": 20.0},
    ])
    out = fs.get_training_frame(ents((1, day(3))), ["s:x", "s:y"], explain=True)
    assert math.isnan(out.x[0]) and out.y[0] == 20.0
    assert out.x__why[0] == "null_value" and pd.isna(out.y__why[0])


def test_three_views_with_different_ttls_and_a_global_view(store):
    rows = [{"customer_id": 1, "event_timestamp": day(0), "created": day(0)}]
    view("a", [{**rows[0], "a": 1.0}], ttl="1d")
    view("b", [{**rows[0], "b": 2.0}], ttl="5d")
    view("c", [{**rows[0], "c": 3.0}])
    view("g", [{"event_timestamp": day(-10), "created": day(-10), "g": 7.0},
               {"event_timestamp": day(2), "created": day(2), "g": 8.0}], entities=())
    out = fs.get_training_frame(ents((1, day(0.5)), (1, day(3)), (1, day(30)), (2, day(3))),
                                ["a:a", "b:b", "c:c", "g:g"])
    assert out.a.tolist()[:1] == [1.0] and out.a[1:].isna().all()
    assert out.b.tolist()[:2] == [2.0, 2.0] and math.isnan(out.b[2])
    assert out.c.tolist()[:3] == [3.0, 3.0, 3.0] and math.isnan(out.c[3])
    assert out.g.tolist() == [7.0, 8.0, 8.0, 8.0]  # one row for everyone


def test_time_zones_compare_as_instants_and_naive_is_utc(store):
    # the feature row is at 12:00 UTC, written as 07:00 in New York (UTC-5 in March 1st)
    ny = pd.Timestamp("2024-03-01 07:00:00", tz="America/New_York")
    view("s", [{"customer_id": 1, "event_timestamp": ny, "created": ny, "x": 1.0}])
    paris = pd.Series([pd.Timestamp("2024-03-01 12:59:59", tz="Europe/Paris"),  # 11:59:59Z
                       pd.Timestamp("2024-03-01 13:00:00", tz="Europe/Paris")])  # 12:00Z
    out = fs.get_training_frame(pd.DataFrame({"customer_id": [1, 1], "ts": paris}), ["s:x"],
                                timestamp="ts")
    assert math.isnan(out.x[0]) and out.x[1] == 1.0
    naive = fs.get_training_frame(ents((1, T0 - pd.Timedelta(seconds=1)), (1, T0)), ["s:x"])
    assert math.isnan(naive.x[0]) and naive.x[1] == 1.0
    assert str(out.ts.dtype) == str(paris.dtype)  # the input column is passed through as is


def test_as_of_reproduces_a_frame_after_a_backfill(store, tmp_path):
    folder = tmp_path / "stats"
    folder.mkdir()
    pd.DataFrame([{"customer_id": k, "event_timestamp": day(0), "created": day(0.1),
                   "x": float(k)} for k in range(3)]).to_parquet(folder / "part-0.parquet")
    fs.feature_view("s", entities=["customer"], source=str(folder),
                    event_time="event_timestamp", created_time="created")
    e = ents((0, day(1)), (1, day(1)), (2, day(1)))
    then = day(0.5)
    first = fs.get_training_frame(e, ["s:x"], as_of=then)
    # the backfill: corrected and late rows for the same days arrive later
    pd.DataFrame([{"customer_id": 1, "event_timestamp": day(0.5), "created": day(20),
                   "x": 100.0}]).to_parquet(folder / "part-1.parquet")
    now = fs.get_training_frame(e, ["s:x"])
    assert now.x.tolist() == [0.0, 100.0, 2.0]
    again = fs.get_training_frame(e, ["s:x"], as_of=then, explain=True)
    pd.testing.assert_frame_equal(again[first.columns], first)
    assert pd.util.hash_pandas_object(again[first.columns]).sum() == \
        pd.util.hash_pandas_object(first).sum()
    early = fs.get_training_frame(e, ["s:x"], as_of=day(0.05), explain=True)
    assert early.x.isna().all() and set(early.x__why) == {"created_after_as_of"}


def test_as_of_needs_created_time(store):
    view("s", [{"customer_id": 1, "event_timestamp": day(0), "x": 1.0}], created=False)
    with pytest.raises(InvalidInput, match="no created_time column"):
        fs.get_training_frame(ents((1, day(1))), ["s:x"], as_of=day(1))


def test_names_full_names_and_clashes(store):
    base = {"customer_id": 1, "event_timestamp": day(0), "created": day(0)}
    view("a", [{**base, "x": 1.0}])
    view("b", [{**base, "x": 2.0}])
    with pytest.raises(InvalidInput, match="'a' and 'b'.*full_names=True"):
        fs.get_training_frame(ents((1, day(1))), ["a:x", "b:x"])
    out = fs.get_training_frame(ents((1, day(1))), ["a:x", "b:x"], full_names=True)
    assert out.a__x[0] == 1.0 and out.b__x[0] == 2.0
    with pytest.raises(InvalidInput, match="name of an entity_df column"):
        fs.get_training_frame(ents((1, day(1)), x=[5]), ["a:x"])


def test_clear_errors(store):
    view("s", [{"customer_id": 1, "event_timestamp": day(0), "created": day(0), "x": 1.0}])
    with pytest.raises(InvalidInput, match="lacks 'customer_id', the join key"):
        fs.get_training_frame(pd.DataFrame({"id": [1], "event_timestamp": [day(1)]}), ["s:x"])
    with pytest.raises(InvalidInput, match="no feature 'nope'; it has x"):
        fs.get_training_frame(ents((1, day(1))), ["s:nope"])
    with pytest.raises(InvalidInput, match="'view:feature'"):
        fs.get_training_frame(ents((1, day(1))), ["s.x"])
    with pytest.raises(InvalidInput, match="timestamp="):
        fs.get_training_frame(pd.DataFrame({"customer_id": [1]}), ["s:x"])
    with pytest.raises(mlp.errors.NotFound, match="no feature view named 'zz'"):
        fs.get_training_frame(ents((1, day(1))), ["zz:x"])


def test_versions_pin_and_lineage_on_the_run(store):
    v1 = view("s", [{"customer_id": 1, "event_timestamp": day(0), "created": day(0),
                     "x": 1.0}], ttl="30d", description="first")
    same = view("s", [{"customer_id": 1, "event_timestamp": day(0), "created": day(0),
                       "x": 1.0}], ttl="30d", description="better words")
    assert (same.version, same.created, same.description) == (1, False, "better words")
    v2 = view("s", [{"customer_id": 1, "event_timestamp": day(0), "created": day(0),
                     "x": 2.0}], ttl="30d")
    assert (v1.version, v2.version, v2.created) == (1, 2, True)
    with mlp.start_run(experiment="lineage") as run:
        old = fs.get_training_frame(ents((1, day(1))), ["s@1:x"], run=True, name="train")
        new = fs.get_training_frame(ents((1, day(1))), ["s:x"], run=run, name="latest")
    assert old.x[0] == 1.0 and new.x[0] == 2.0
    inputs = mlp.get_run(run.id).inputs
    assert inputs["train"]["kind"] == "training_frame" and inputs["train"]["views"] == {"s": 1}
    assert inputs["latest"]["views"] == {"s": 2} and inputs["latest"]["rows"] == 1
    assert inputs["train"]["features"] == ["s@1:x"] and inputs["train"]["digest"] != \
        inputs["latest"]["digest"]
    with mlp.start_run(experiment="lineage") as again:
        fs.get_training_frame(ents((1, day(1))), ["s:x"], run=True, name="train",
                              as_of=day(2))
    d = mlp.diff(run.id, again.id)
    rows = {r["key"]: r for r in d.data["environment"]["inputs"]}
    assert rows["train views"]["values"] == ["s v1", "s v2"]
    assert rows["train as_of"]["values"][1].startswith("2024-03-03T12:00:00")


def test_sources_parquet_folder_csv_sql_and_fsspec(store, tmp_path):
    import fsspec

    rows = pd.DataFrame([{"customer_id": 1, "event_timestamp": day(0), "x": 1.5}])
    hive = tmp_path / "hive" / "region=eu"
    hive.mkdir(parents=True)
    rows.to_parquet(hive / "a.parquet")
    rows.to_csv(tmp_path / "rows.csv", index=False)
    import sqlite3

    with sqlite3.connect(tmp_path / "w.db") as con:
        rows.assign(event_timestamp=rows.event_timestamp.astype(str)).to_sql("stats", con)
    with fsspec.filesystem("memory").open("memory://bucket/stats/a.parquet", "wb") as f:
        rows.to_parquet(f)
    sources = {"p": str(tmp_path / "hive"), "c": str(tmp_path / "rows.csv"),
               "q": fs.sql("stats", f"sqlite:///{tmp_path / 'w.db'}"),
               "m": "memory://bucket/stats/"}
    for name, src in sources.items():
        v = fs.feature_view(name, entities=["customer"], source=src,
                            event_time="event_timestamp", features={"x": "float"})
        assert v.features == [{"name": "x", "dtype": "float"}]
        out = fs.get_training_frame(ents((1, day(1))), [f"{name}:x"])
        assert out.x[0] == 1.5, name
    with pytest.raises(InvalidInput, match="has no column 'when'"):
        fs.feature_view("bad", entities=["customer"], source=str(tmp_path / "rows.csv"),
                        event_time="when")
    with pytest.raises(InvalidInput, match="holds a password"):
        fs.sql("stats", "postgresql://u:secret@db/x")


def test_parquet_in_parquet_out_for_frames_bigger_than_memory(store, tmp_path):
    view("s", [{"customer_id": k % 50, "event_timestamp": day(k / 100), "created": day(0),
                "x": float(k)} for k in range(2000)])
    e = pd.DataFrame({"customer_id": np.arange(3000) % 60,
                      "event_timestamp": [day(i / 150) for i in range(3000)]})
    e.to_parquet(tmp_path / "e.parquet")
    info = fs.get_training_frame(str(tmp_path / "e.parquet"), ["s:x"],
                                 output=str(tmp_path / "out.parquet"), memory_limit="64MB")
    assert info["rows"] == 3000
    written = pd.read_parquet(tmp_path / "out.parquet")
    expect = fs.get_training_frame(e, ["s:x"])
    pd.testing.assert_frame_equal(written.reset_index(drop=True),
                                  expect.reset_index(drop=True), check_dtype=False)


# -- the property test ---------------------------------------------------------------------


def reference(src: pd.DataFrame, ent: pd.DataFrame, ttl: float | None, as_of, feats):
    """Brute force: every rule written out, row by row."""
    out, why = [], []
    for _, e in ent.iterrows():
        t = e.t
        rows = src[src.k == e.k] if not pd.isna(e.k) else src.iloc[0:0]
        if rows.empty:
            out.append([None] * len(feats))
            why.append("no_rows_for_key")
            continue
        cr = rows.cr.fillna(rows.ev)
        past = rows[rows.ev <= t]
        seen = past[(cr[past.index] <= as_of)] if as_of is not None else past
        live = seen[seen.ev >= t - pd.Timedelta(seconds=ttl)] if ttl else seen
        if live.empty:
            out.append([None] * len(feats))
            all_live = past[past.ev >= t - pd.Timedelta(seconds=ttl)] if ttl else past
            why.append("only_future_rows" if past.empty else
                       "created_after_as_of" if as_of is not None and not all_live.empty
                       else "outside_ttl")
            continue
        ranked = live.assign(cr2=cr[live.index]).sort_values(["ev", "cr2", "h"])
        best = ranked.iloc[-1]
        out.append([None if pd.isna(best[f]) else best[f] for f in feats])
        why.append(None)
    return out, why


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    src=st.lists(st.tuples(st.integers(0, 3), st.integers(0, 6), st.one_of(
        st.none(), st.integers(0, 8)), st.one_of(st.none(), st.integers(0, 4)),
        st.integers(-3, 3)), min_size=0, max_size=25),
    ent=st.lists(st.tuples(st.one_of(st.none(), st.integers(0, 4)), st.integers(-1, 9)),
                 min_size=1, max_size=20),
    ttl=st.sampled_from([None, 1, 3]),
    as_of=st.one_of(st.none(), st.integers(0, 9)),
)
def test_random_frames_match_the_reference(tmp_path_factory, src, ent, ttl, as_of):
    import duckdb

    from mlp.features._engine import Engine

    d = tmp_path_factory.mktemp("prop")
    hour = pd.Timedelta(hours=1)
    s = pd.DataFrame(src, columns=["k", "ev", "cr", "x", "y"])
    s["k"] = s.k.astype("int64")
    s["ev"] = T0 + pd.to_timedelta(s.ev.astype("int64"), unit="h")
    s["cr"] = T0 + pd.to_timedelta(s.cr.astype("float64"), unit="h")
    s["x"] = s.x.astype("float64")
    s["y"] = s.y.astype("int64")
    s.to_parquet(d / "s.parquet")
    s["h"] = duckdb.connect().sql("SELECT hash(CAST(x AS DOUBLE), CAST(y AS BIGINT)) AS h "
                                  "FROM s").df().h.astype("uint64").to_numpy() if len(s) else []
    e = pd.DataFrame(ent, columns=["k", "t"])
    e["k"] = e.k.astype("Int64")
    e["t"] = T0 + pd.to_timedelta(e.t.astype("int64"), unit="h")
    v = {"name": "v", "join_keys": ["k"], "key_types": {"k": "BIGINT"},
         "source": {"kind": "parquet", "uri": str(d / "s.parquet")}, "event_time": "ev",
         "created_time": "cr", "ttl": None if ttl is None else ttl * 3600.0,
         "features": [{"name": "x", "dtype": "float"}, {"name": "y", "dtype": "int"}]}
    as_of_s = None if as_of is None else (T0 + as_of * hour).tz_localize("UTC").timestamp()
    eng = Engine()
    try:
        got = eng.training_frame(e, [{"view": v, "features": [("x", "x"), ("y", "y")]}], "t",
                                 as_of=as_of_s, explain=True)
    finally:
        eng.close()
    want, whys = reference(s, e, None if ttl is None else ttl * 3600.0,
                           None if as_of is None else T0 + as_of * hour, ["x", "y"])
    assert got["__row"].tolist() == list(range(len(e)))
    for i, (vals, why) in enumerate(zip(want, whys, strict=True)):
        for j, f in enumerate(["x", "y"]):
            g = got[f].iloc[i]
            g = None if pd.isna(g) else float(g)
            assert g == (None if vals[j] is None else float(vals[j])), (i, f, e.iloc[i])
            reason = got[f + "__why"].iloc[i]
            reason = None if pd.isna(reason) else reason
            expect = why if why is not None else (None if vals[j] is not None else "null_value")
            assert reason == expect, (i, f, e.iloc[i], reason, expect)
