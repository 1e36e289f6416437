"""A gate's validation function, run in a worker process (``python -m
mlp_server.registry.validate``): reads ``{"function": "module:function", "model_uri": ...,
"version": {...}}`` on stdin, calls ``function(model_uri, version)`` and prints one JSON line
``{"ok": bool, "detail": str}``. True or None passes; False, or a string (the reason), fails;
an exception fails with its message. The store is the server's (MLP_DB_URL and
MLP_ARTIFACT_ROOT are set), so ``mlp.load_model(model_uri)`` loads the model."""

from __future__ import annotations

import importlib
import json
import sys
import traceback


def main() -> int:
    req = json.loads(sys.stdin.read())
    module, _, name = req["function"].partition(":")
    try:
        fn = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as e:
        print(json.dumps({"ok": False, "detail": f"cannot import {req['function']}: {e}"}))
        return 0
    try:
        result = fn(req["model_uri"], req["version"])
    except Exception as e:  # the validation failed, saying why
        last = traceback.format_exception_only(type(e), e)[-1].strip()
        print(json.dumps({"ok": False, "detail": last}))
        return 0
    if result is None or result is True:
        out = {"ok": True, "detail": "passed"}
    elif result is False:
        out = {"ok": False, "detail": "returned False"}
    else:
        out = {"ok": False, "detail": str(result)}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
