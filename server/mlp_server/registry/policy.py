"""Gate policies of the model registry: what a stage change needs before it is applied.

A policy maps a target stage to its gate::

    {"production": {"approvals": 1, "checks": ["metrics.auc >= 0.85"],
                    "validation": "my_team.checks:validate"},
     "staging": {"approvals": 0},
     "allow_multiple_production": false}

- ``approvals``: approvals needed from users other than the requester (a requester can
  never approve their own request);
- ``checks``: queries in the search language, each run against the version's source run
  (``metrics.auc >= 0.85``, ``params.model = 'xgb'``, ``tags.reviewed = 'yes'``); all must hold;
- ``validation``: ``module:function`` called in a worker process with the model's URI and
  the version (``function(model_uri, version) -> bool | str | None``; False, a message or
  an exception fails it);
- ``allow_multiple_production``: keep earlier production versions when promoting.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from mlp.errors import InvalidInput

STAGES = ("none", "staging", "production", "archived")
_GATE_KEYS = {"approvals", "checks", "validation"}
_FUNC = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")

#: A single user's embedded server: nobody else can approve, so no approvals are asked;
#: checks still guard production if a model's policy sets them.
SINGLE_USER = {"staging": {"approvals": 0}, "production": {"approvals": 0},
               "archived": {"approvals": 0}, "none": {"approvals": 0},
               "allow_multiple_production": False}
#: A team's shared server: production needs one approval from someone else.
TEAM = {"staging": {"approvals": 0}, "production": {"approvals": 1},
        "archived": {"approvals": 0}, "none": {"approvals": 0},
        "allow_multiple_production": False}


def validate(policy: Any, field: str = "policy") -> dict:
    """A policy as stored (every stage present), or InvalidInput naming what is wrong."""
    if not isinstance(policy, dict):
        raise InvalidInput(f"a policy must be a dict of stage → gate, got {policy!r}", field=field)
    unknown = set(policy) - set(STAGES) - {"allow_multiple_production"}
    if unknown:
        raise InvalidInput(f"unknown policy key(s) {', '.join(sorted(map(str, unknown)))}: use "
                           f"the stages {', '.join(STAGES)} and allow_multiple_production",
                           field=field)
    out: dict[str, Any] = {"allow_multiple_production": False}
    multiple = policy.get("allow_multiple_production", False)
    if not isinstance(multiple, bool):
        raise InvalidInput("allow_multiple_production must be true or false", field=field)
    out["allow_multiple_production"] = multiple
    for stage in STAGES:
        gate = policy.get(stage) or {}
        if not isinstance(gate, dict) or set(gate) - _GATE_KEYS:
            raise InvalidInput(f"the {stage} gate must be a dict with approvals, checks and "
                               f"validation, got {gate!r}", field=field)
        approvals = gate.get("approvals", 0)
        if isinstance(approvals, bool) or not isinstance(approvals, int) or not \
                0 <= approvals <= 20:
            raise InvalidInput(f"{stage}.approvals must be a whole number from 0 to 20, got "
                               f"{approvals!r}", field=field)
        checks = gate.get("checks") or []
        if not isinstance(checks, list) or not all(isinstance(c, str) and c.strip()
                                                   for c in checks):
            raise InvalidInput(f"{stage}.checks must be a list of queries such as "
                               f"'metrics.auc >= 0.85', got {checks!r}", field=field)
        from ..tracking.query import parse

        for c in checks:
            parse(c)  # QueryError points at the mistake
        fn = gate.get("validation")
        if fn is not None and (not isinstance(fn, str) or not _FUNC.match(fn)):
            raise InvalidInput(f"{stage}.validation must be 'module:function', got {fn!r}",
                               field=field)
        out[stage] = {"approvals": approvals, "checks": list(checks), "validation": fn}
    return out


def effective(stored: str | None, default: dict) -> dict:
    """The policy a model is judged by: its own, or the server's default."""
    return validate(json.loads(stored)) if stored else validate(copy.deepcopy(default))
