"""A Jupyter identity provider for tests: each token names a user (``alice-token`` is alice).

Jupyter's own providers check one shared secret and so know no names; this stands for any
provider that does (JupyterHub's, an OAuth one).
"""

from __future__ import annotations

import os
from pathlib import Path

import requests
from jupyter_server.auth.identity import IdentityProvider, User

HERE = Path(__file__).parent


class TokenUsers(IdentityProvider):
    def get_user(self, handler):
        scheme, _, token = handler.request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "token" and token.endswith("-token") and len(token) > 6:
            handler._token_authenticated = True  # a token, not a cookie: no XSRF check
            return User(username=token[: -len("-token")])
        return None


def start_named(root: Path, db_url: str, extra: tuple[str, ...] = (), **kw):
    """A real Jupyter server (conftest's JupyterServer) whose login is ``TokenUsers``."""
    from conftest import JupyterServer

    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(HERE), old) if p)
    try:
        return JupyterServer.start(
            root, db_url, ("--ServerApp.identity_provider_class=token_users.TokenUsers", *extra),
            **kw)
    finally:
        if old is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = old


def api(server, method: str, path: str, token: str | None = None, **kw) -> requests.Response:
    """A call to /mlp/api/v1 with the server's token, or another."""
    return requests.request(method, f"{server.url}/mlp/api/v1/{path}", timeout=60,
                            headers={"Authorization": f"token {token or server.token}"}, **kw)


MLMODEL = "artifact_path: model\nflavors:\n  python_function:\n    loader_module: mlp.models.pyfunc\n"


def model_version(t, tmp_path: Path, name: str = "churn", auc: float = 0.9,
                  experiment: str = "reg", run_name: str = "train") -> dict:
    """Through transport ``t`` (acting as its user): a finished run with an MLmodel folder and
    its ``auc``, registered as the next version of ``name``."""
    import time

    import numpy as np

    from mlp.transport import MetricBatch

    r = t.create_run(experiment, run_name)
    d = tmp_path / r["id"] / "model"
    d.mkdir(parents=True)
    (d / "MLmodel").write_text(MLMODEL)
    t.log_artifact(r["id"], d)
    t.log_metrics([MetricBatch(r["id"], "auc", np.array([0]), np.array([time.time()]),
                               np.array([auc]))])
    t.end_run(r["id"], "finished")
    return t.registry("register", run_ref=r["id"], name=name)
