"""The run diff engine: what differs between two or more runs, as data.

One engine, several faces (nbdime's way): ``mlp.diff`` returns this data, and the compare
widget, ``%mlp compare`` and the panel's diff view (``GET /mlp/api/v1/diff``) render it. The
document is plain JSON (schema ``mlp.diff/1``, described in the README): per section, one
row per field with one value per run, a status (``changed / added / removed / same``) and a
score in [0, 1] saying how much the values differ.

Sections: params (nested configs key by key), metrics (last / min / max / best and its step,
the value at an aligned step, deltas, downsampled curves), code (captured cells diffed cell
by cell with moves recognised; scripts line by line), environment (Python, packages, git,
input data hashes), artifacts (by content hash), tags and attributes. Run 0 is the baseline:
for two runs, "added" means only in run 1 and deltas are run 1 - run 0.

No Jupyter or tornado here: the service gathers, this module compares.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from mlp.errors import InvalidInput

from .metrics import downsample

SCHEMA = "mlp.diff/1"
MAX_RUNS = 500
#: Name parts of metrics where lower is better; every other metric is better higher.
_LOWER_IS_BETTER = {
    "loss", "error", "err", "errors", "mse", "mae", "rmse", "rmsle", "mape", "smape", "nll",
    "perplexity", "ppl", "wer", "cer", "ter", "latency", "regret", "bpc", "bpd", "distance",
    "cost", "fpr", "fnr", "brier", "logloss", "crossentropy", "entropy", "kl", "divergence",
}
_SUMMARY_PER_SECTION = 3
_STEP = re.compile(r"^[+-]?\d+$")


def direction(key: str) -> str:
    """``"min"`` when lower is better for a metric named ``key`` (loss, error, mse, ...)."""
    words = [w for w in re.split(r"[^a-z0-9]+", key.lower()) if w]
    if any(w in _LOWER_IS_BETTER or w.endswith("loss") or w.endswith("error") for w in words):
        return "min"
    return "max"


def parse_at(at: Any) -> tuple[str, str | None, int | None]:
    """``"last"``, ``"best:KEY"`` or a step number → (mode, key, step)."""
    if isinstance(at, bool):
        raise InvalidInput(f"at must be 'last', 'best:METRIC' or a step number, got {at!r}",
                           field="at")
    if isinstance(at, (int, np.integer)):
        return "step", None, int(at)
    if isinstance(at, str):
        s = at.strip()
        if s == "last":
            return "last", None, None
        if s.startswith("best:") and s[5:].strip():
            return "best", s[5:].strip(), None
        if _STEP.match(s):
            return "step", None, int(s)
    raise InvalidInput(f"at must be 'last', 'best:METRIC' (e.g. best:val_loss) or a step "
                       f"number, got {at!r}", field="at")


# -- gathering ---------------------------------------------------------------------------


def compute(service: Any, refs: Sequence[str], at: Any = "last", only_changed: bool = True,
            max_points: int = 500) -> dict:
    """The diff of the runs ``refs`` (ids, prefixes, experiment/name, @latest~N) read
    through a ``TrackingService``."""
    if isinstance(refs, str) or not isinstance(refs, Sequence):
        raise InvalidInput("name the runs to compare as a list, e.g. run=a&run=b", field="run")
    refs = list(refs)
    if len(refs) < 2:
        raise InvalidInput(f"name at least two runs to compare, got {len(refs)}", field="run")
    if len(refs) > MAX_RUNS:
        raise InvalidInput(f"compare at most {MAX_RUNS} runs at once, got {len(refs)}",
                           field="run")
    if not all(isinstance(r, str) and r.strip() for r in refs):
        raise InvalidInput(f"runs must be given as ids or names, got {refs!r}", field="run")
    if isinstance(max_points, bool) or not isinstance(max_points, int) or \
            not 16 <= max_points <= 10_000:
        raise InvalidInput(f"max_points must be a whole number from 16 to 10000, got "
                           f"{max_points!r}", field="max_points")
    mode, at_key, at_step = parse_at(at)
    ids: list[str] = []
    seen: dict[str, str] = {}
    for ref, rid in zip(refs, service.resolve_runs(refs, include_deleted=True), strict=True):
        if rid in seen:
            raise InvalidInput(f"{seen[rid]!r} and {ref!r} are the same run ({rid[:8]}); name "
                               f"different runs", field="run")
        seen[rid] = ref
        ids.append(rid)
    runs, captures, history = service.diff_inputs(ids)
    return build(runs, captures, history, mode=mode, at_key=at_key, at_step=at_step,
                 only_changed=bool(only_changed), max_points=max_points)


def build(runs: list[dict], captures: list[dict], history: Callable[[str, str], dict],
          *, mode: str = "last", at_key: str | None = None, at_step: int | None = None,
          only_changed: bool = True, max_points: int = 500) -> dict:
    """The diff document from run dicts (as ``TrackingService.get_run`` returns them), their
    captures (``{"code": ..., "git": ..., "environment": ..., "inputs": ...}``) and a
    ``history(run_id, key)`` reader of metric points."""
    n = len(runs)
    if mode == "best" and not any(at_key in r["metrics"] for r in runs):
        have = sorted({k for r in runs for k in r["metrics"]})
        raise InvalidInput(f"no run here has the metric {at_key!r} for at='best:{at_key}'"
                           + (f"; they have {', '.join(have)}" if have else ""), field="at")
    metrics, curves, steps_used = _metrics(runs, history, mode, at_key, at_step, max_points)
    doc: dict[str, Any] = {
        "schema": SCHEMA,
        "runs": [_run_head(r, labels) for r, labels in zip(runs, _labels(runs), strict=True)],
        "at": {"mode": mode, "key": at_key, "step": at_step, "steps": steps_used},
        "only_changed": only_changed,
        "live": any(r["status"] == "running" for r in runs),
        "params": _rows([_flat_params(r["params"]) for r in runs]),
        "tags": _rows([r["tags"] for r in runs]),
        "attributes": _rows([_attributes(r) for r in runs]),
        "metrics": metrics,
        "curves": {"max_points": max_points, "series": curves},
        "code": _code([c.get("code") for c in captures]),
        "environment": _environment(captures),
        "artifacts": _artifacts(runs),
    }
    doc["counts"] = _counts(doc)
    doc["varying"] = _varying(doc)
    doc["summary"] = _summary(doc, n)
    if only_changed:
        for section in ("params", "tags", "attributes", "metrics", "artifacts"):
            doc[section] = [r for r in doc[section] if r["status"] != "same"]
        env = doc["environment"]
        for part in ("packages", "git", "inputs"):
            env[part] = [r for r in env[part] if r["status"] != "same"]
    return doc


def _labels(runs: list[dict]) -> list[str]:
    names = [r.get("name") or r["id"][:8] for r in runs]
    dup = {x for x in names if names.count(x) > 1}
    return [f"{x} ({r['id'][:6]})" if x in dup else x for x, r in zip(names, runs, strict=True)]


def _run_head(r: dict, label: str) -> dict:
    return {"id": r["id"], "name": r.get("name"), "experiment": r["experiment"],
            "status": r["status"], "start_time": r["start_time"], "end_time": r.get("end_time"),
            "duration": r.get("duration"), "user": r.get("user"), "host": r.get("host"),
            "label": label}


# -- rows of key → value per run -------------------------------------------------------


def _flat_params(ps: dict[str, str]) -> dict[str, Any]:
    """Params as stored (dotted keys), with JSON object values expanded key by key."""
    out: dict[str, Any] = {}
    for k, v in ps.items():
        if isinstance(v, str) and v.startswith("{"):
            try:
                obj = json.loads(v)
            except ValueError:
                obj = None
            if isinstance(obj, dict) and obj:
                for sub, sv in _flatten(obj, k).items():
                    out[sub] = sv if isinstance(sv, str) else json.dumps(sv)
                continue
        out[k] = v
    return out


def _flatten(obj: dict, prefix: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in obj.items():
        key = f"{prefix}.{k}"
        if isinstance(v, dict) and v:
            out.update(_flatten(v, key))
        else:
            out[key] = v
    return out


def _attributes(r: dict) -> dict[str, Any]:
    return {"experiment": r["experiment"], "status": r["status"], "user": r.get("user"),
            "host": r.get("host"), "duration": r.get("duration"),
            "start_time": r["start_time"]}


def _rows(per_run: list[dict[str, Any]], skip: list[int] = ()) -> list[dict]:
    keys = sorted({k for d in per_run for k in d})
    return [_row(k, [d.get(k) for d in per_run], skip) for k in keys]


def _row(key: str, values: list[Any], skip: list[int] = ()) -> dict:
    """A field's values per run; runs in ``skip`` have no record of it (unknown, not
    missing) and are left out of its status and score."""
    if skip:
        known = [v for i, v in enumerate(values) if i not in skip]
        row = _row(key, known) if len(known) >= 2 else {
            "status": "same", "numeric": False, "score": 0.0}
        return {"key": key, "values": values, "status": row["status"],
                "numeric": row["numeric"], "score": row["score"]}
    status = _status(values)
    nums = [_num(v) for v in values]
    numeric = all(v is None or x is not None for v, x in zip(values, nums, strict=True)) and \
        any(x is not None for x in nums)
    return {"key": key, "values": values, "status": status, "numeric": numeric,
            "score": _score(values, nums if numeric else None)}


def _status(values: list[Any]) -> str:
    present = [v is not None for v in values]
    if len(values) == 2 and present[0] != present[1]:
        return "added" if present[1] else "removed"
    if len({_canon(v) for v in values}) <= 1:
        return "same"
    return "changed"


def _canon(v: Any) -> Any:
    """A hashable stand-in for equality: the value itself for plain scalars (1 and 1.0 are
    equal, as in JSON), its JSON text for containers. NaN equals NaN here."""
    if v is None or isinstance(v, (str, bool)):
        return (type(v).__name__, v)
    if isinstance(v, (int, float)):
        return ("nan",) if v != v else ("num", v)
    return ("json", json.dumps(v, sort_keys=True, default=str))


def _num(v: Any) -> float | None:
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, str):
        try:
            return float(v)
        except ValueError:
            return None
    return None


def _score(values: list[Any], nums: list[float | None] | None) -> float:
    """How much the values differ, 0 (all equal) to 1: a missing value or unrelated texts
    score high; numbers by their spread relative to their size."""
    if len({_canon(v) for v in values}) <= 1:
        return 0.0
    if any(v is None for v in values):
        return 1.0
    if nums is not None:
        xs = [x for x in nums if x is not None and math.isfinite(x)]
        if len(xs) < len(nums):
            return 1.0
        lo, hi = min(xs), max(xs)
        scale = max(abs(lo), abs(hi))
        return 0.0 if scale == 0 else round(min(1.0, (hi - lo) / scale), 6)
    distinct = len({_canon(v) for v in values})
    return round((distinct - 1) / (len(values) - 1), 6)


# -- metrics --------------------------------------------------------------------------


def _metrics(runs: list[dict], history: Callable[[str, str], dict], mode: str,
             at_key: str | None, at_step: int | None, max_points: int
             ) -> tuple[list[dict], dict[str, list], list[int | None]]:
    keys = sorted({k for r in runs for k in r["metrics"]})
    hist: dict[tuple[int, str], dict[str, np.ndarray]] = {}
    for i, r in enumerate(runs):
        for k in r["metrics"]:
            hist[i, k] = history(r["id"], k)
    # The step each run is read at.
    steps_used: list[int | None] = []
    for i in range(len(runs)):
        if mode == "step":
            steps_used.append(at_step)
        elif mode == "best":
            h = hist.get((i, at_key))
            best = _best(h, direction(at_key)) if h is not None else None
            steps_used.append(None if best is None else best[1])
        else:
            steps_used.append(None)  # each metric at its own last step
    rows, curves = [], {}
    for k in keys:
        d = direction(k)
        per_run: list[dict | None] = []
        series: list[dict | None] = []
        for i, r in enumerate(runs):
            h = hist.get((i, k))
            if h is None:
                per_run.append(None)
                series.append(None)
                continue
            per_run.append(_stats(h, d, mode, steps_used[i]))
            series.append(_curve(h, r["start_time"], max_points))
        rows.append(_metric_row(k, d, per_run, mode))
        curves[k] = series
    return rows, curves, steps_used


def _best(h: dict[str, np.ndarray], d: str) -> tuple[float, int] | None:
    v = h["value"]
    finite = np.isfinite(v)
    if not finite.any():
        return None
    masked = np.where(finite, v, np.inf if d == "min" else -np.inf)
    i = int(np.argmin(masked) if d == "min" else np.argmax(masked))
    return float(v[i]), int(h["step"][i])


def _stats(h: dict[str, np.ndarray], d: str, mode: str, step: int | None) -> dict:
    v, s = h["value"], h["step"]
    finite = np.isfinite(v)
    fv = v[finite]
    best = _best(h, d)
    if mode == "last":
        at_i = len(v) - 1 if len(v) else None
    elif step is None:
        at_i = None
    else:  # the last point at or before the step (steps are sorted)
        j = int(np.searchsorted(s, step, "right")) - 1
        at_i = j if j >= 0 else None
    return {
        "last": float(v[-1]) if len(v) else None,
        "min": float(fv.min()) if len(fv) else None,
        "max": float(fv.max()) if len(fv) else None,
        "best": None if best is None else best[0],
        "best_step": None if best is None else best[1],
        "at": None if at_i is None else float(v[at_i]),
        "at_step": None if at_i is None else int(s[at_i]),
        "count": int(len(v)),
        "nonfinite": int(len(v) - finite.sum()),
    }


def _curve(h: dict[str, np.ndarray], start: float, max_points: int) -> dict:
    s, t, v = h["step"], h["time"], h["value"]
    finite = np.isfinite(v)
    if not finite.all():
        s, t, v = s[finite], t[finite], v[finite]
    if len(s) == 0:
        return {"step": [], "time": [], "value": []}
    xs, ys = downsample(s.astype(np.float64), v, max_points)
    idx = np.searchsorted(s, xs.astype(s.dtype), "left")
    return {"step": xs.astype(np.int64).tolist(), "time": (t[idx] - start).round(3).tolist(),
            "value": ys.tolist()}


def _metric_row(key: str, d: str, per_run: list[dict | None], mode: str) -> dict:
    ats = [None if p is None else p["at"] for p in per_run]
    status = _status(ats if any(p is not None for p in per_run) else [None] * len(per_run))
    if status == "same" and any(p is None for p in per_run):
        status = "changed"
    delta = {"last": None, "best": None, "at": None}
    if len(per_run) == 2 and per_run[0] is not None and per_run[1] is not None:
        for f in delta:
            a, b = per_run[0][f], per_run[1][f]
            delta[f] = None if a is None or b is None else b - a
    finite = [(x, i) for i, x in enumerate(ats) if x is not None and math.isfinite(x)]
    better = None
    if len(finite) >= 2:
        target = min(finite) if d == "min" else max(finite)
        if sum(1 for x, _ in finite if x == target[0]) == 1:
            better = target[1]
    return {"key": key, "direction": d, "status": status, "runs": per_run, "delta": delta,
            "better": better, "score": _score(ats, ats)}


# -- code -----------------------------------------------------------------------------


def _cells(code: dict | None) -> tuple[str, list[dict]]:
    if not code:
        return "none", []
    if code.get("type") == "script":
        return "script", [{"execution_count": None, "source": code.get("source") or ""}]
    cells = code.get("cells")
    if isinstance(cells, list):
        return "cells", notebook_state([c for c in cells if isinstance(c, dict)])
    return "none", []


def notebook_state(cells: list[dict]) -> list[dict]:
    """The cells as the notebook held them: each cell (by the frontend's cell id) at its last
    execution, in the order the cells first ran. An edited and re-run cell is then one
    changed cell, not an added one. Executions without an id stay as they are."""
    if not any(c.get("cell_id") for c in cells):
        return cells
    last: dict[str, dict] = {}
    for i, c in enumerate(cells):
        last[c.get("cell_id") or f"#{i}"] = c
    return list(last.values())


def _code(codes: list[dict | None]) -> dict:
    parsed = [_cells(c) for c in codes]
    pairs = []
    for k in range(1, len(parsed)):
        (ka, a), (kb, b) = parsed[0], parsed[k]
        if "none" in (ka, kb):
            # A run that captured no code (capture=False, an interactive session): nothing
            # to compare, rather than every cell of the other 'removed' or 'added'.
            pairs.append({"a": 0, "b": k, "ops": [], "script_diff": None, "changed": 0,
                          "added": 0, "removed": 0, "moved": 0, "same": 0,
                          "missing": [i for i, kind in ((0, ka), (k, kb)) if kind == "none"]})
            continue
        if ka == kb == "script":
            lines = _udiff(a[0]["source"], b[0]["source"])
            same = not lines
            pairs.append({"a": 0, "b": k, "ops": [], "script_diff": lines,
                          "changed": 0 if same else 1, "added": 0, "removed": 0, "moved": 0,
                          "same": 1 if same else 0})
            continue
        ops = diff_cells([c.get("source") or "" for c in a], [c.get("source") or "" for c in b])
        for op in ops:
            op["a_count"] = None if op["a"] is None else a[op["a"]].get("execution_count")
            op["b_count"] = None if op["b"] is None else b[op["b"]].get("execution_count")
        counts = {x: sum(1 for op in ops if op["op"] == x)
                  for x in ("changed", "added", "removed", "moved", "same")}
        pairs.append({"a": 0, "b": k, "ops": ops, "script_diff": None, **counts})
    return {"kinds": [p[0] for p in parsed], "pairs": pairs}


def diff_cells(a: list[str], b: list[str]) -> list[dict]:
    """Cell-by-cell diff of two lists of cell sources: ``same``, ``changed`` (with a unified
    diff), ``added``, ``removed`` and ``moved`` (a cell found elsewhere in the other run,
    possibly edited), in the order of ``b`` with removed cells where they were."""
    ops: list[dict] = []
    sm = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for tag, i1, i2, j1, j2 in sm.get_opcodes():
        if tag == "equal":
            ops += [_op("same", i, j, b[j]) for i, j in zip(range(i1, i2), range(j1, j2),
                                                            strict=True)]
            continue
        olds, news = list(range(i1, i2)), list(range(j1, j2))
        if tag == "replace":
            # Pair edited cells in place: each new cell with the most similar old one left,
            # in order, when they are at least half alike.
            pos = 0
            for j in news:
                best, best_r = None, 0.5
                for i in olds[pos:]:
                    r = _ratio(a[i], b[j])
                    if r > best_r:
                        best, best_r = i, r
                if best is None:
                    ops.append(_op("added", None, j, b[j]))
                    continue
                for i in olds[pos:olds.index(best)]:
                    ops.append(_op("removed", i, None, a[i]))
                pos = olds.index(best) + 1
                ops.append(_op("changed", best, j, b[j], _udiff(a[best], b[j])))
            ops += [_op("removed", i, None, a[i]) for i in olds[pos:]]
        else:
            ops += [_op("removed", i, None, a[i]) for i in olds]
            ops += [_op("added", None, j, b[j]) for j in news]
    # A cell added here and removed there is a move: identical first, then similar ones.
    for threshold in (1.0, 0.6):
        removed = [op for op in ops if op["op"] == "removed"]
        for op in [o for o in ops if o["op"] == "added"]:
            match = None
            for rm in removed:
                r = 1.0 if a[rm["a"]] == b[op["b"]] else (
                    0.0 if threshold == 1.0 else _ratio(a[rm["a"]], b[op["b"]]))
                if r >= threshold:
                    match = rm
                    break
            if match is None:
                continue
            removed.remove(match)
            ops.remove(match)
            op.update(op="moved", a=match["a"],
                      diff=[] if threshold == 1.0 else _udiff(a[match["a"]], b[op["b"]]))
    return ops


def _op(kind: str, i: int | None, j: int | None, source: str, diff: list[str] | None = None
        ) -> dict:
    return {"op": kind, "a": i, "b": j, "source": source, "diff": diff or []}


def _ratio(x: str, y: str) -> float:
    """How alike two cells are, 0 to 1: by characters for short cells, by lines otherwise."""
    if len(x) + len(y) <= 2000:
        sm = difflib.SequenceMatcher(None, x, y, autojunk=False)
    else:
        sm = difflib.SequenceMatcher(None, x.splitlines(), y.splitlines(), autojunk=False)
    if sm.real_quick_ratio() < 0.5:
        return 0.0
    return sm.ratio() if sm.quick_ratio() >= 0.5 else 0.0


def _udiff(x: str, y: str) -> list[str]:
    if x == y:
        return []
    lines = difflib.unified_diff(x.splitlines(), y.splitlines(), lineterm="", n=3)
    return [ln for ln in lines if not ln.startswith(("---", "+++"))]


# -- environment, artifacts ----------------------------------------------------------


def _environment(captures: list[dict]) -> dict:
    envs = [c.get("environment") for c in captures]
    gits = [c.get("git") or {} for c in captures]
    inputs = [c.get("inputs") or {} for c in captures]
    # Runs without an environment capture are left out of the package rows (their packages
    # are unknown, not removed); "missing" names them.
    missing = [i for i, e in enumerate(envs) if not e]
    packages = _rows([(e or {}).get("packages") or {} for e in envs], skip=missing)
    git = [_row(f, [g.get(f) if g else None for g in gits]) for f in ("commit", "branch", "dirty")]
    ins = _rows([_input_values(i) for i in inputs])
    return {"python": _row("python", [(e or {}).get("python") for e in envs], skip=missing),
            "packages": packages, "git": git, "inputs": ins, "missing": missing}


def _input_values(inputs: dict) -> dict:
    """An input by its digest; a training frame also by the feature view versions it read and
    its ``as_of`` (so a diff says "customer_stats v2 → v3", not only that the data differs)."""
    out = {}
    for k, v in inputs.items():
        if not isinstance(v, dict):
            out[k] = v
            continue
        out[k] = v.get("digest")
        if v.get("kind") == "training_frame":
            out[f"{k} views"] = ", ".join(f"{n} v{ver}" for n, ver in
                                          sorted((v.get("views") or {}).items()))
            if v.get("as_of"):
                out[f"{k} as_of"] = v["as_of"]
    return out


def _artifacts(runs: list[dict]) -> list[dict]:
    per_run = [{a["path"]: {"digest": a.get("digest"), "size": a.get("size")}
                for a in r.get("artifacts") or []} for r in runs]
    rows = []
    for path in sorted({p for d in per_run for p in d}):
        values = [d.get(path) for d in per_run]
        status = _status([None if v is None else v["digest"] for v in values])
        rows.append({"path": path, "key": path, "values": values, "status": status,
                     "score": _score([None if v is None else v["digest"] for v in values], None)})
    return rows


# -- counts, varying, summary -----------------------------------------------------------


def _section_rows(doc: dict) -> dict[str, list[dict]]:
    env = doc["environment"]
    return {"params": doc["params"], "metrics": doc["metrics"], "tags": doc["tags"],
            "attributes": doc["attributes"], "artifacts": doc["artifacts"],
            "environment": [env["python"], *env["git"], *env["packages"], *env["inputs"]]}


def _counts(doc: dict) -> dict:
    out = {}
    for section, rows in _section_rows(doc).items():
        c = {"changed": 0, "added": 0, "removed": 0, "same": 0, "moved": 0}
        for r in rows:
            c[r["status"]] += 1
        out[section] = c
    code = {"changed": 0, "added": 0, "removed": 0, "same": 0, "moved": 0}
    for p in doc["code"]["pairs"]:
        for k in code:
            code[k] += p[k]
    out["code"] = code
    return out


def _varying(doc: dict) -> list[dict]:
    out = []
    for section, rows in _section_rows(doc).items():
        for r in rows:
            if r["status"] == "same" or (section == "attributes" and r["key"] == "start_time"):
                continue
            values = ([None if p is None else p["at"] for p in r["runs"]]
                      if section == "metrics" else r["values"])
            out.append({"section": section, "key": r["key"], "values": values,
                        "score": r["score"]})
    out.sort(key=lambda x: (-x["score"], x["section"], x["key"]))
    return out


def _fmt(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        if not math.isfinite(v):
            return str(v)
        return f"{v:.4g}"
    if isinstance(v, dict) and "digest" in v:
        v = v["digest"]
    text = str(v)
    if text.startswith("sha256:"):
        return text[7:19]
    return text if len(text) <= 40 else text[:39] + "…"


def _summary(doc: dict, n: int) -> list[dict]:
    lines: list[dict] = []
    labels = [r["label"] for r in doc["runs"]]
    if n > 2:
        for v in doc["varying"][:8]:
            shown = ", ".join(_fmt(x) for x in v["values"][:6]) + (", …" if n > 6 else "")
            lines.append({"section": v["section"], "text": f"{v['key']} varies: {shown}"})
        code = [p for p in doc["code"]["pairs"] if p["changed"] + p["added"] + p["removed"]
                + p["moved"]]
        if code:
            lines.append({"section": "code",
                          "text": f"code differs from {labels[0]} in {len(code)} of {n - 1} runs"})
        return lines or [{"section": "params", "text": f"no differences among {n} runs"}]

    def add(section: str, rows: list[dict], fmt: Callable[[dict], str], noun: str) -> None:
        changed = [r for r in rows if r["status"] != "same"]
        changed.sort(key=lambda r: (r["status"] != "changed", -r["score"]))
        for r in changed[:_SUMMARY_PER_SECTION]:
            lines.append({"section": section, "text": fmt(r)})
        if len(changed) > _SUMMARY_PER_SECTION:
            more = len(changed) - _SUMMARY_PER_SECTION
            lines.append({"section": section, "text": f"and {more} more {noun} differ"})

    def pair(r: dict) -> str:
        a, b = r["values"]
        if r["status"] == "added":
            return f"{r['key']} = {_fmt(b)} (new)"
        if r["status"] == "removed":
            return f"{r['key']} removed (was {_fmt(a)})"
        return f"{r['key']} {_fmt(a)} → {_fmt(b)}"

    add("params", doc["params"], pair, "params")
    add("metrics", _metric_order(doc), _metric_line(doc), "metrics")
    for p in doc["code"]["pairs"]:
        if p.get("missing"):
            who = " and ".join(labels[i] for i in p["missing"])
            lines.append({"section": "code", "text": f"{who} captured no code"})
        elif p["script_diff"]:
            plus = sum(1 for ln in p["script_diff"] if ln.startswith("+"))
            minus = sum(1 for ln in p["script_diff"] if ln.startswith("-"))
            lines.append({"section": "code", "text": f"script changed: +{plus} −{minus} lines"})
        else:
            parts = [f"{p[k]} cell{'s' if p[k] != 1 else ''} {k}"
                     for k in ("changed", "added", "removed", "moved") if p[k]]
            if parts:
                lines.append({"section": "code", "text": ", ".join(parts)})
    env = doc["environment"]
    add("environment", [env["python"], *env["git"], *env["packages"], *env["inputs"]], pair,
        "packages")
    add("artifacts", doc["artifacts"], pair, "artifacts")
    add("tags", doc["tags"], pair, "tags")
    add("attributes", [r for r in doc["attributes"] if r["key"] not in ("start_time", "duration")],
        pair, "attributes")
    return lines or [{"section": "params", "text": "no differences"}]


def _metric_order(doc: dict) -> list[dict]:
    """Metrics for the summary: the one compared at first, then validation ones."""
    key = doc["at"]["key"]
    return sorted(doc["metrics"], key=lambda r: (r["key"] != key, "val" not in r["key"],
                                                 -r["score"], r["key"]))


def _metric_line(doc: dict) -> Callable[[dict], str]:
    labels = [r["label"] for r in doc["runs"]]
    where = {"last": "", "best": " at its best step", "step": f" at step {doc['at']['step']}"}[
        doc["at"]["mode"]]

    def line(r: dict) -> str:
        a, b = (None if p is None else p["at"] for p in r["runs"])
        if r["status"] == "added":
            return f"{r['key']} = {_fmt(b)} (new)"
        if r["status"] == "removed":
            return f"{r['key']} not logged (was {_fmt(a)})"
        if a is None or b is None or not (math.isfinite(a) and math.isfinite(b)):
            return f"{r['key']} {_fmt(a)} → {_fmt(b)}{where}"
        d = b - a
        if d == 0:
            return f"{r['key']} unchanged at {_fmt(a)}{where}"
        better = (d < 0) == (r["direction"] == "min")
        return (f"{r['key']} {'better' if better else 'worse'} by {_fmt(abs(d))}{where} "
                f"({_fmt(a)} → {_fmt(b)}, {labels[1]})")

    return line
