"""mlp.diff and mlp.log_input as a user calls them: in-process runs, refs such as
@latest~1, Run objects, the summary, the frame and the code text."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import mlp
from mlp.errors import InvalidInput


def train(name, lr, data, depth=6):
    with mlp.start_run(experiment="churn", name=name) as run:
        mlp.log_params({"lr": lr, "model": {"depth": depth, "kind": "gbm"}})
        mlp.log_input("train", data)
        for step in range(20):
            mlp.log_metric("val_loss", 1 / (step + 1) + lr, step=step)
    return run


def test_two_runs_compared_by_latest_refs(client, tmp_path):
    df = pd.DataFrame({"x": [1, 2, 3], "y": [0, 1, 0]})
    train("base", 0.01, df)
    changed = df.assign(x=[1, 2, 4])
    r2 = train("tuned", 0.003, changed)
    d = mlp.diff("@latest~1", "@latest", at="best:val_loss")
    assert d.labels == ["base", "tuned"]
    assert "lr 0.01 → 0.003" in d.summary
    assert any(s.startswith("val_loss better by 0.007 at its best step") for s in d.summary)
    inputs = {r["key"]: r for r in d.environment["inputs"]}
    assert inputs["train"]["status"] == "changed"
    assert inputs["train"]["values"][1] == r2.inputs["train"]["digest"]
    assert r2.inputs["train"]["rows"] == 3 and r2.inputs["train"]["columns"] == ["x", "y"]
    frame = d.to_frame()
    assert frame.loc[("params", "lr"), "tuned"] == "0.003"
    assert frame.loc[("metrics", "val_loss"), "delta"] == pytest.approx(-0.007)
    assert "model.depth" not in frame.index.get_level_values("key")  # equal: left out
    every = mlp.diff("@latest~1", r2, only_changed=False).to_frame()
    assert every.loc[("params", "model.depth"), "status"] == "same"
    assert "Diff base vs tuned" in repr(d)


def test_same_data_hashes_alike_and_other_data_differs(client, tmp_path):
    a = np.arange(12).reshape(3, 4)
    f = tmp_path / "data.csv"
    f.write_text("x\n1\n")
    folder = tmp_path / "parts"
    folder.mkdir()
    (folder / "p0.parquet").write_bytes(b"abc")
    with mlp.start_run(experiment="e") as run:
        same = [mlp.log_input("arr", a), mlp.log_input("arr2", a.copy())]
        assert same[0]["digest"] == same[1]["digest"] and same[0]["shape"] == [3, 4]
        assert mlp.log_input("csv", f)["kind"] == "file"
        assert mlp.log_input("folder", folder)["files"] == 1
        with pytest.raises(InvalidInput, match="not a file or folder"):
            mlp.log_input("gone", tmp_path / "missing.csv")
        with pytest.raises(InvalidInput, match="DataFrame, Series, numpy array, bytes or a path"):
            mlp.log_input("obj", object())
    assert set(run.inputs) == {"arr", "arr2", "csv", "folder"}  # nothing lost by the errors


def test_diff_needs_two_different_runs(client):
    r = train("only", 0.1, pd.DataFrame({"x": [1]}))
    with pytest.raises(InvalidInput, match="same run"):
        mlp.diff(r, r.id)
    with pytest.raises(InvalidInput, match="best:METRIC"):
        mlp.diff(r, train("two", 0.2, pd.DataFrame({"x": [1]})), at="best")
