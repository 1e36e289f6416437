"""``Run.metric_history`` as a user gets it: a DataFrame they can edit, in process (whose
arrays the frame takes as they are) and over HTTP (whose arrays view the response's bytes)."""

from __future__ import annotations

import pandas as pd

import mlp


def _check(run) -> None:
    df = run.metric_history("loss")
    assert list(df.columns) == ["step", "time", "value"] and len(df) == 300
    assert str(df["time"].dtype) == "datetime64[us, UTC]"
    df.loc[0, "value"] = -1.0  # editable, whatever the arrays came from
    df["value"] *= 2
    assert df["value"].iloc[0] == -2.0
    again = run.metric_history("loss")  # the store is untouched
    assert again["value"].iloc[0] == 1.0
    pd.testing.assert_series_equal(again["step"], pd.Series(range(300), name="step"))


def _log(run) -> None:
    for i in range(300):
        run.log_metric("loss", 1.0 / (i + 1), step=i)
    mlp.flush()


def test_history_frame_in_process_is_editable():
    with mlp.start_run(experiment="h") as run:
        _log(run)
    _check(run)


def test_history_frame_over_http_is_editable(http_server):
    mlp.connect(http_server.url, http_server.token)
    with mlp.start_run(experiment="h") as run:
        _log(run)
    _check(run)
