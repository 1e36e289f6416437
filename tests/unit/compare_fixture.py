"""Hand-written run diffs in the "mlp.diff/1" schema (/tmp/mlpdiff/SCHEMA.md), for the compare
widget's tests: what ``mlp.diff(...).data`` returns, without a store behind it."""

from __future__ import annotations

import copy
from typing import Any


def _run(i: int, name: str, status: str = "finished") -> dict[str, Any]:
    start = 1_780_000_000.0 + 600 * i
    return {"id": f"{i:02d}" + "ab" * 15, "name": name, "experiment": "demo", "status": status,
            "start_time": start, "end_time": None if status == "running" else start + 120,
            "duration": 120.0, "user": "priya", "host": "nb-1", "label": name}


def _row(key: str, values: list, status: str, score: float, numeric: bool = False) -> dict:
    return {"key": key, "values": values, "status": status, "score": score, "numeric": numeric}


def _curve(n: int, scale: float, offset: float, dt: float) -> dict[str, list]:
    steps = list(range(0, 10 * n, 10))
    return {"step": steps, "time": [round(s * dt, 3) for s in steps],
            "value": [round(offset + scale / (1 + s / 10), 6) for s in steps]}


def _metric(key: str, direction: str, lasts: list[float | None], score: float,
            status: str = "changed") -> dict[str, Any]:
    runs = [None if v is None else {"last": v, "min": v, "max": v + 1, "best": v,
                                    "best_step": 490, "at": v, "at_step": 490, "count": 50,
                                    "nonfinite": 0} for v in lasts]
    two = len(lasts) == 2 and None not in lasts
    delta = {k: (round(lasts[1] - lasts[0], 6) if two else None) for k in ("last", "best", "at")}
    finite = [(v, i) for i, v in enumerate(lasts) if v is not None]
    better = (min(finite) if direction == "min" else max(finite))[1] if finite else None
    return {"key": key, "direction": direction, "status": status, "runs": runs, "delta": delta,
            "better": better, "score": score}


def two_runs(*, live: bool = False, only_changed: bool = True) -> dict[str, Any]:
    """baseline (lr 0.01) against lr-003 (lr 0.003): one cell changed, one moved, one added."""
    runs = [_run(0, "baseline"), _run(1, "lr-003", "running" if live else "finished")]
    same_params = [] if only_changed else [_row("batch_size", [32, 32], "same", 0.0, True)]
    return {
        "schema": "mlp.diff/1",
        "runs": runs,
        "at": {"mode": "last", "key": None, "step": None, "steps": [490, 490]},
        "only_changed": only_changed,
        "live": live,
        "summary": [
            {"section": "params", "text": "lr 0.01 → 0.003"},
            {"section": "code", "text": "1 cell changed, 1 moved, 1 added"},
            {"section": "metrics", "text": "val_loss better by 0.04 at its best step (lr-003)"},
            {"section": "environment", "text": "numpy 1.26.4 → 2.0.1"},
        ],
        "counts": {
            "params": {"changed": 1, "added": 1, "removed": 0, "same": 1, "moved": 0},
            "metrics": {"changed": 2, "added": 0, "removed": 0, "same": 0, "moved": 0},
            "code": {"changed": 1, "added": 1, "removed": 0, "same": 1, "moved": 1},
            "environment": {"changed": 2, "added": 0, "removed": 1, "same": 1, "moved": 0},
            "artifacts": {"changed": 1, "added": 0, "removed": 0, "same": 0, "moved": 0},
            "tags": {"changed": 0, "added": 1, "removed": 0, "same": 0, "moved": 0},
            "attributes": {"changed": 2, "added": 0, "removed": 0, "same": 4, "moved": 0},
        },
        "params": [
            *same_params,
            _row("lr", [0.01, 0.003], "changed", 0.7, True),
            _row("optimizer.beta1", [None, 0.9], "added", 1.0, True),
        ],
        "tags": [_row("note", [None, "<lower lr>"], "added", 1.0)],
        "attributes": [
            _row("duration", [120.0, 95.5], "changed", 0.2, True),
            _row("start_time", [runs[0]["start_time"], runs[1]["start_time"]], "changed", 0.1,
                 True),
        ],
        "metrics": [
            _metric("acc", "max", [0.91, 0.93], 0.3),
            _metric("val_loss", "min", [0.35, 0.31], 0.5),
        ],
        "curves": {"max_points": 500, "series": {
            "acc": [_curve(50, -0.5, 0.95, 0.2), _curve(50, -0.5, 0.97, 0.25)],
            "val_loss": [_curve(50, 2.0, 0.31, 0.2), _curve(50, 2.0, 0.27, 0.25)],
        }},
        "code": {"kinds": ["cells", "cells"], "pairs": [{
            "a": 0, "b": 1,
            "ops": [
                {"op": "same", "a": 0, "b": 0, "a_count": 1, "b_count": 1,
                 "source": "import mlp", "diff": []},
                {"op": "changed", "a": 1, "b": 1, "a_count": 2, "b_count": 2,
                 "source": "lr = 0.003\nmodel = fit(lr)",
                 "diff": ["-lr = 0.01", "+lr = 0.003", " model = fit(lr)"]},
                {"op": "moved", "a": 3, "b": 2, "a_count": 4, "b_count": 3,
                 "source": "plot(history)", "diff": []},
                {"op": "added", "a": None, "b": 3, "a_count": None, "b_count": 4,
                 "source": "evaluate(model)", "diff": []},
            ],
            "script_diff": None,
            "changed": 1, "added": 1, "removed": 0, "moved": 1, "same": 1}]},
        "environment": {
            "python": _row("python", ["3.11.9", "3.11.9"], "same", 0.0),
            "packages": [_row("numpy", ["1.26.4", "2.0.1"], "changed", 0.5),
                         _row("tqdm", ["4.66.1", None], "removed", 1.0)],
            "git": [_row("commit", ["a1b2c3d", "e4f5a6b"], "changed", 1.0)],
            "inputs": [],
        },
        "artifacts": [{"path": "model.pt", "values": [{"digest": "sha256:" + "1" * 64,
                                                       "size": 2048},
                                                      {"digest": "sha256:" + "2" * 64,
                                                       "size": 4096}],
                       "status": "changed", "score": 1.0}],
        "varying": [
            {"section": "params", "key": "optimizer.beta1", "values": [None, 0.9], "score": 1.0},
            {"section": "params", "key": "lr", "values": [0.01, 0.003], "score": 0.7},
            {"section": "metrics", "key": "val_loss", "values": [0.35, 0.31], "score": 0.5},
        ],
    }


def three_runs() -> dict[str, Any]:
    """Three runs with a varying lr: values side by side, no deltas, a 'what varies' ranking."""
    d = two_runs()
    d["runs"].append(_run(2, "lr-001"))
    d["at"]["steps"].append(490)
    d["summary"] = [{"section": "params", "text": "lr varies: 0.01, 0.003, 0.001"}]
    d["params"] = [_row("lr", [0.01, 0.003, 0.001], "changed", 0.8, True)]
    d["tags"], d["attributes"], d["artifacts"] = [], [], []
    d["metrics"] = [_metric("val_loss", "min", [0.35, 0.31, 0.4], 0.6)]
    d["curves"]["series"] = {"val_loss": [_curve(20, 2.0, 0.31, 0.2), None,
                                          _curve(20, 2.0, 0.4, 0.3)]}
    pair = copy.deepcopy(d["code"]["pairs"][0])
    d["code"] = {"kinds": ["cells", "cells", "script"],
                 "pairs": [d["code"]["pairs"][0], {**pair, "b": 2, "ops": [],
                           "script_diff": ["-lr = 0.01", "+lr = 0.001"]}]}
    d["environment"] = {"python": _row("python", ["3.11.9"] * 3, "same", 0.0), "packages": [],
                        "git": [], "inputs": []}
    d["varying"] = [
        {"section": "params", "key": "lr", "values": [0.01, 0.003, 0.001], "score": 0.8},
        {"section": "metrics", "key": "val_loss", "values": [0.35, 0.31, 0.4], "score": 0.6},
    ]
    return d
