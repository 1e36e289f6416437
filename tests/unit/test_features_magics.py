"""``%mlp features`` and ``%mlp materialize`` as a user types them, in-process."""

from __future__ import annotations

import pandas as pd
import pytest

import mlp

fs = mlp.features


@pytest.fixture
def ip(tmp_path, monkeypatch):
    from IPython.core.interactiveshell import InteractiveShell

    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "mlp")
    yield shell
    InteractiveShell.clear_instance()


@pytest.fixture
def stats(client, tmp_path):
    now = pd.Timestamp.now(tz="UTC").tz_localize(None).floor("s")
    src = tmp_path / "stats.parquet"
    pd.DataFrame([{"customer_id": k, "event_timestamp": now - pd.Timedelta(hours=k),
                   "spend": k * 1.5, "segment": "ab"[k % 2]} for k in range(1, 6)]
                 ).to_parquet(src)
    fs.entity("customer", ["customer_id"])
    fs.feature_view("customer_stats", entities=["customer"], source=str(src),
                    event_time="event_timestamp", ttl="30d", freshness_slo="2h", owner="lena",
                    description="spend per customer")
    return src


def test_features_lists_views_with_freshness(ip, stats):
    listed = ip.run_line_magic("mlp", "features")
    text = repr(listed)
    assert "customer_stats" in text and "never materialized" in text and "lena" in text
    assert "<b>customer_stats</b>" in listed._repr_html_()


def test_materialize_then_one_view_in_detail(ip, stats, capsys):
    ip.run_line_magic("mlp", "materialize customer_stats")
    out = capsys.readouterr().out
    assert "materialized customer_stats v1: 5 keys, 5 newer values online" in out
    assert "newest event 1h old" in out
    detail = ip.run_line_magic("mlp", "features customer_stats --sample 3")
    text = repr(detail)
    assert "fresh · 1h old, SLO 2h" in text
    assert "5 rows, 5 keys" in text and "spend" in text and "float" in text
    assert "newest rows:" in text and text.count("\n") > 8
    html = detail._repr_html_()
    assert "<table" in html and "spend per customer" in html
    listed = repr(ip.run_line_magic("mlp", "features"))
    assert "fresh" in listed


def test_bad_input_prints_a_message_not_a_traceback(ip, stats, capsys):
    assert ip.run_line_magic("mlp", "features nope") is None
    assert "no feature view named 'nope'" in capsys.readouterr().err
    assert ip.run_line_magic("mlp", "materialize customer_stats --start tomorrow") is None
    assert "start='tomorrow' is not an ISO time" in capsys.readouterr().err
    assert ip.run_line_magic("mlp", "materialize customer_stats --incremental --start "
                                    "2024-01-01") is None
    assert "--incremental starts where" in capsys.readouterr().err
    ip.run_line_magic("mlp", "materialize --help")
    assert "--incremental" in capsys.readouterr().out


def test_a_long_job_shows_progress_on_a_terminal(capsys):
    from mlp.features._progress import Progress

    bar = Progress("training frame", delay=0)
    bar.update(0.5)
    bar.done("training frame: 3 rows")
    err = capsys.readouterr().err
    assert "\rtraining frame: 50% (0 s)" in err and err.endswith("training frame: 3 rows\n")
    quiet = Progress("materialize", delay=60)
    quiet.update(0.9)
    quiet.done()
    assert capsys.readouterr().err == ""  # quick work shows nothing


def test_materializations_left_running_by_a_stop_are_failed_at_the_next_start(stats):
    import mlp._client
    from mlp_server.store.schema import feature_materializations as m

    svc = mlp._client.get_client().transport.feature_service
    with svc.store.write() as conn:
        conn.execute(m.insert().values(view="customer_stats", version=1, end=0, cutoff=0,
                                       incremental=0, status="running", started_at=0))
    assert svc.interrupted() == 1
    hist = fs.materializations("customer_stats")
    assert hist.status.tolist() == ["failed"] and "interrupted" in hist.error[0]
