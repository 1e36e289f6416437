"""``mlp.diff``: what differs between runs, as data (the widget and the panel render it)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from ._run import Run

class Diff:
    """The comparison of two or more runs (run 0 is the baseline).

    Sections are lists of rows, one value per run: ``params``, ``metrics`` (last / min / max /
    best and its step, the value at the aligned step, deltas), ``code`` (cell by cell, moves
    recognised), ``environment``, ``artifacts``, ``tags``, ``attributes``; ``summary`` is the
    one-glance list, ``varying`` every differing field ranked by how much it differs.
    ``data`` is the whole document (schema ``mlp.diff/1``, in the README).

    >>> d = mlp.diff("@latest~1", "@latest")
    >>> d.summary
    ['lr 0.01 → 0.003', '1 cell changed', 'val_loss better by 0.04 at its best step (r2)']
    >>> d.to_frame()
    """

    def __init__(self, data: dict) -> None:
        self.data = data

    @property
    def runs(self) -> list[dict]:
        return self.data["runs"]

    @property
    def labels(self) -> list[str]:
        return [r["label"] for r in self.data["runs"]]

    @property
    def summary(self) -> list[str]:
        return [s["text"] for s in self.data["summary"]]

    @property
    def params(self) -> list[dict]:
        return self.data["params"]

    @property
    def metrics(self) -> list[dict]:
        return self.data["metrics"]

    @property
    def code(self) -> dict:
        return self.data["code"]

    @property
    def environment(self) -> dict:
        return self.data["environment"]

    @property
    def artifacts(self) -> list[dict]:
        return self.data["artifacts"]

    @property
    def tags(self) -> list[dict]:
        return self.data["tags"]

    @property
    def attributes(self) -> list[dict]:
        return self.data["attributes"]

    @property
    def varying(self) -> list[dict]:
        return self.data["varying"]

    @property
    def curves(self) -> dict:
        return self.data["curves"]["series"]

    @property
    def live(self) -> bool:
        """Whether a run compared here is still running (the data will change)."""
        return bool(self.data["live"])

    def metric(self, key: str) -> dict:
        """The metrics row of ``key``."""
        for m in self.data["metrics"]:
            if m["key"] == key:
                return m
        raise KeyError(f"no metric {key!r} in this diff (only changed ones are kept unless "
                       f"only_changed=False); it has {', '.join(self.metric_keys) or 'none'}")

    @property
    def metric_keys(self) -> list[str]:
        return [m["key"] for m in self.data["metrics"]]

    def code_text(self, run: int = 1) -> str:
        """The code diff of run 0 against run ``run`` as text, cell by cell."""
        pair = next((p for p in self.data["code"]["pairs"] if p["b"] == run), None)
        if pair is None:
            raise IndexError(f"run {run} is not compared here (runs 1 to {len(self.runs) - 1})")
        if pair["script_diff"] is not None:
            return "\n".join(pair["script_diff"])
        out = []
        for op in pair["ops"]:
            where = f"[{op['b_count'] if op['b_count'] is not None else op['a_count']}]"
            if op["op"] == "same":
                continue
            if op["op"] == "changed":
                out += [f"~ cell {where} changed", *op["diff"]]
            elif op["op"] == "moved":
                out += [f"↕ cell {where} moved from position {op['a'] + 1} to {op['b'] + 1}"
                        + (" and changed" if op["diff"] else ""), *op["diff"]]
            else:
                sign = "+" if op["op"] == "added" else "-"
                out += [f"{sign} cell {where} {op['op']}",
                        *(sign + ln for ln in op["source"].splitlines())]
        return "\n".join(out)

    def to_frame(self) -> pd.DataFrame:
        """One row per differing field (every field with ``only_changed=False``): index
        (section, key), a column per run (metrics at the aligned step), then status, score
        and, for two runs, delta."""
        import pandas as pd

        labels = self.labels
        rows: list[dict[str, Any]] = []

        def add(section: str, r: dict, values: list[Any], delta: Any = None) -> None:
            row = {"section": section, "key": r["key"], **dict(zip(labels, values, strict=True)),
                   "status": r["status"], "score": r["score"]}
            if len(labels) == 2:
                row["delta"] = delta
            rows.append(row)

        for section in ("params", "tags", "attributes"):
            for r in self.data[section]:
                add(section, r, r["values"])
        for m in self.data["metrics"]:
            add("metrics", m, [None if x is None else x["at"] for x in m["runs"]],
                m["delta"]["at"])
        env = self.data["environment"]
        for r in [env["python"], *env["git"], *env["packages"], *env["inputs"]]:
            if r["status"] != "same" or not self.data["only_changed"]:
                add("environment", r, r["values"])
        for r in self.data["artifacts"]:
            add("artifacts", r, [None if v is None else v["digest"] for v in r["values"]])
        for p in self.data["code"]["pairs"]:
            n = p["changed"] + p["added"] + p["removed"] + p["moved"]
            rows.append({"section": "code", "key": f"{labels[p['a']]} → {labels[p['b']]}",
                         **{lab: None for lab in labels},
                         "status": "changed" if n or p["script_diff"] else "same",
                         "score": 1.0 if n or p["script_diff"] else 0.0,
                         **({"delta": None} if len(labels) == 2 else {})})
        cols = ["section", "key", *labels, "status", "score"] + (["delta"] if len(labels) == 2
                                                                  else [])
        return pd.DataFrame(rows, columns=cols).set_index(["section", "key"])

    def __repr__(self) -> str:
        head = " vs ".join(self.labels)
        lines = [f"<mlp.Diff {head}>"] + [f"  {s}" for s in self.summary]
        return "\n".join(lines)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(repr(self))


def diff(a: Run | str, b: Run | str, *more: Run | str, only_changed: bool = True,
         at: str | int = "last", max_points: int = 500) -> Diff:
    """What differs between runs, as data: params (nested configs key by key), metrics
    (last, min, max, best and its step, the value ``at`` an aligned step — ``"last"``,
    ``"best:val_loss"`` or a step number — and deltas), code cell by cell, environment,
    artifacts, tags and attributes. Runs may come from different experiments; there is no
    cap on how many. ``only_changed=False`` keeps the equal rows too.

    >>> d = mlp.diff("@latest~1", "@latest", at="best:val_loss")
    >>> d.summary
    >>> d.to_frame()
    """
    from ._client import get_client

    refs = [getattr(r, "id", r) for r in (a, b, *more)]
    c = get_client()
    c.flush()  # what this process logged (and ended) is part of the comparison
    return Diff(c.transport.diff(refs, at=at, only_changed=only_changed,
                                 max_points=max_points))

