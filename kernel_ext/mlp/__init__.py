"""jupyter-mlp's SDK: track runs, search them, read them back.

    import mlp
    with mlp.start_run(experiment="demo", name="baseline"):
        mlp.log_params({"lr": 0.1})
        mlp.log_metric("loss", 0.3, step=1)
    mlp.runs(experiment="demo", where="metrics.loss < 0.5")

``import mlp`` is light: the store, pandas and the server's packages load on
first use.
"""

from . import errors, features
from ._api import (
    active_run,
    connect,
    delete_run,
    end_run,
    experiments,
    flush,
    get_run,
    load_model,
    log_artifact,
    log_artifacts,
    log_input,
    log_metric,
    log_metrics,
    log_model,
    log_param,
    log_params,
    restore_run,
    runs,
    set_tag,
    set_tags,
    start_run,
    status,
)
from ._diff import Diff, diff
from ._jobs import Job, cluster, get_job, jobs, submit
from ._registry import (
    add_webhook,
    approve,
    audit,
    cancel_request,
    create_model,
    delete_alias,
    get_model,
    get_model_version,
    get_request,
    model_at,
    models,
    register_model,
    reject,
    remove_webhook,
    request_transition,
    set_alias,
    set_model_description,
    set_model_policy,
    set_model_tags,
    transition_requests,
    webhook_deliveries,
    webhooks,
)
from ._run import Run
from ._shell import watch_cells as _watch_cells
from ._version import __version__
from .widgets import compare, live_chart, runs_table

__all__ = [
    "Diff",
    "Job",
    "Run",
    "__version__",
    "active_run",
    "add_webhook",
    "approve",
    "audit",
    "cancel_request",
    "cluster",
    "compare",
    "connect",
    "create_model",
    "delete_alias",
    "delete_run",
    "diff",
    "end_run",
    "errors",
    "experiments",
    "features",
    "flush",
    "get_job",
    "get_model",
    "get_model_version",
    "get_request",
    "get_run",
    "jobs",
    "live_chart",
    "load_model",
    "log_artifact",
    "log_artifacts",
    "log_input",
    "log_metric",
    "log_metrics",
    "log_model",
    "log_param",
    "log_params",
    "model_at",
    "models",
    "register_model",
    "reject",
    "remove_webhook",
    "request_transition",
    "restore_run",
    "runs",
    "runs_table",
    "set_alias",
    "set_model_description",
    "set_model_policy",
    "set_model_tags",
    "set_tag",
    "set_tags",
    "start_run",
    "status",
    "submit",
    "transition_requests",
    "webhook_deliveries",
    "webhooks",
]


_watch_cells()  # in a kernel: note each execution's cell id (see mlp.diff's code section)


def load_ipython_extension(ipython) -> None:
    """``%load_ext mlp``: the ``%mlp`` magics (imported only then, to keep ``import mlp`` light)."""
    from .magics import load_ipython_extension as load

    load(ipython)
