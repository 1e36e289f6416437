"""The module-level SDK: ``mlp.start_run``, ``mlp.log_metric``, ``mlp.runs`` and friends."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import _client
from ._client import get_client
from ._run import Run
from .errors import InvalidInput, MLPError

if TYPE_CHECKING:
    import pandas as pd

_RUN_COLUMNS = ("run_id", "experiment", "name", "status", "start_time", "end_time", "duration",
                "user", "host", "parent_id", "source_name")
_PAGE = 1000


def start_run(
    experiment: str | None = None,
    name: str | None = None,
    *,
    tags: Mapping[str, Any] | None = None,
    params: Mapping[str, Any] | None = None,
    parent: Run | str | None = None,
    nested: bool = False,
    capture: bool = True,
) -> Run:
    """Start a run and make it the active one; use it as a context manager to end it.

    ``experiment`` defaults to ``$MLP_EXPERIMENT`` or "Default"; ``name`` to
    ``run-N``. Starting a run while another is active needs ``nested=True``
    (the new run becomes its child) or an explicit ``parent``. With
    ``capture=True`` the code, git state and environment are recorded.

    >>> with mlp.start_run(experiment="demo", name="baseline") as run:
    ...     mlp.log_params({"lr": 0.1})
    ...     mlp.log_metric("loss", 0.3, step=1)
    """
    return get_client().start_run(experiment, name, tags=dict(tags) if tags else None,
                                  params=params, parent=parent, nested=nested, capture=capture)


def active_run() -> Run | None:
    """The innermost active run of this process, or None (in a job: the job's run)."""
    c = get_client()
    if not c.active:
        c.job_run()
    return c.active[-1] if c.active else None


def _active() -> Run:
    c = get_client()
    if not c.active and c.job_run() is not None:
        return c.active[-1]
    if not c.active:
        raise InvalidInput("no active run: start one with `with mlp.start_run(...):` "
                           "(or %%mlp track in a notebook)", field="run")
    return c.active[-1]


def end_run(status: str = "finished") -> None:
    """End the active run (``finished``, ``failed`` or ``killed``)."""
    _active().end(status)


def log_metric(key: str, value: float, step: int | None = None, *,
               timestamp: float | None = None) -> None:
    """Log one metric point on the active run; buffered, so it costs microseconds.

    ``step`` defaults to one more than the metric's previous step (0 first).

    >>> for step in range(100):
    ...     mlp.log_metric("loss", 1 / (step + 1), step=step)
    """
    c = _client._client
    rid = None if c is None else c.active_id
    if c is None or rid is None:
        run = _active()
        c, rid = run._client, run.id
    c.buffer.add(rid, key, value, step, timestamp)  # Client.log_metric, one frame less


def log_metrics(metrics: Mapping[str, float], step: int | None = None, *,
                timestamp: float | None = None) -> None:
    """Log several metrics at one step: ``mlp.log_metrics({"loss": 0.3, "acc": 0.9}, step=5)``."""
    _active().log_metrics(metrics, step, timestamp=timestamp)


def log_param(key: str, value: Any) -> None:
    """Log one param on the active run (params are fixed once logged)."""
    _active().log_param(key, value)


def log_params(params: Mapping[str, Any]) -> None:
    """Log params; nested dicts become dotted keys: ``{"opt": {"lr": 0.1}}`` → ``opt.lr``."""
    _active().log_params(params)


def set_tag(key: str, value: Any) -> None:
    """Set a tag on the active run (tags can change; params cannot)."""
    _active().set_tag(key, value)


def set_tags(tags: Mapping[str, Any]) -> None:
    _active().set_tags(tags)


def log_artifact(local_path: str | Path, artifact_path: str | None = None) -> list[dict]:
    """Store a file or folder with the active run: ``mlp.log_artifact("roc.png")``."""
    return _active().log_artifact(local_path, artifact_path)


def log_artifacts(local_dir: str | Path, artifact_path: str | None = None) -> list[dict]:
    """Store every file inside ``local_dir`` with the active run."""
    return _active().log_artifacts(local_dir, artifact_path)


def log_model(model: Any, artifact_path: str = "model", *, example: Any = None,
              requirements: Sequence[str] | None = None, signature: Any = None) -> dict:
    """Store a model with the active run, in MLflow's MLmodel format.

    scikit-learn estimators get the ``sklearn`` flavor; any other object with ``predict``, or
    a plain function of the input, gets a python_function flavor loaded by jupyter-mlp
    (cloudpickle keeps classes and functions defined in the notebook). ``example`` (a
    DataFrame or numpy array) is saved and gives the signature; the requirements pin the
    installed versions, and ``requirements=["xgboost==2.0.3"]`` adds or overrides pins.
    Returns ``{"run_id", "artifact_path", "flavor", "uri", "signature", "requirements"}``.

    >>> with mlp.start_run(experiment="churn"):
    ...     info = mlp.log_model(clf, "model", example=X.head())
    >>> mlp.load_model(info["uri"]).predict(X)
    """
    return _active().log_model(model, artifact_path, example=example,
                               requirements=requirements, signature=signature)


def load_model(ref: str | Path) -> Any:
    """Load a model: ``runs:/<run>/<path>``, ``models:/<name>/<version>``,
    ``models:/<name>@<alias>`` or a local model folder (one MLflow wrote, too).

    Returns the scikit-learn estimator, the logged object, or a wrapper with ``.predict``
    for a function (or a model of another MLflow flavor). Warns ``mlp.errors.
    EnvironmentMismatch`` when installed packages or Python differ from the model's pins.

    >>> model = mlp.load_model("models:/churn@production")
    >>> model.predict(X)
    """
    from .models import load_model as load

    return load(ref)


def log_input(name: str, data: Any) -> dict:
    """Record the content hash of an input on the active run: a DataFrame, a numpy array,
    bytes, or a file or folder path (``mlp.log_input("train", df)``). ``mlp.diff`` then
    says when two runs trained on different data."""
    return _active().log_input(name, data)


def connect(url: str | None = None, token: str | None = None) -> dict:
    """Send what this process logs, searches and changes to the jupyter-mlp server at
    ``url`` with ``token`` (e.g. a team's shared server, as the user the token names);
    ``mlp.connect()`` goes back to where the environment says (``MLP_SERVER_URL``, else
    in process). Buffered points are flushed first; runs still active here are refused.

    >>> mlp.connect("https://hub.example.org/services/mlp", token=os.environ["MLP_TEAM_TOKEN"])
    """
    from . import _client
    from .errors import Conflict
    from .transport import connect as make

    c = _client._client
    if c is not None and c.active:
        raise Conflict(f"end the active run {c.active[-1].ref} before connecting elsewhere",
                       field="url")
    transport = make(url, token) if url else None
    _client.reset(transport)
    return status()


def flush() -> None:
    """Send every buffered metric point now (it also happens every second and at exit)."""
    get_client().flush()


def get_run(ref: str | Run) -> Run:
    """A run by id, unique id prefix, ``experiment/name``, ``@latest`` or ``@latest~N``.

    >>> run = mlp.get_run("demo/baseline")
    >>> run.metric_history("loss").tail()
    """
    c = get_client()
    rid = ref.id if isinstance(ref, Run) else ref
    if isinstance(rid, str) and rid in c.owned:
        c.flush()
    data = c.transport.get_run(rid)
    run = c.owned.get(data["id"]) or Run(data, c)
    run._full = data
    return run


def delete_run(ref: str | Run) -> None:
    """Hide a run from searches (``mlp.restore_run`` brings it back)."""
    c = get_client()
    c.transport.delete_run(c.transport.resolve_run(ref.id if isinstance(ref, Run) else ref))


def restore_run(ref: str | Run) -> None:
    """Bring back a deleted run."""
    c = get_client()
    c.transport.restore_run(c.transport.resolve_run(ref.id if isinstance(ref, Run) else ref,
                                                    include_deleted=True))


def experiments() -> pd.DataFrame:
    """Experiments with their number of runs and the time of the latest one."""
    import pandas as pd

    rows = get_client().transport.list_experiments()
    df = pd.DataFrame(rows, columns=["id", "name", "description", "created_at", "runs",
                                     "last_run"])
    for col in ("created_at", "last_run"):
        df[col] = pd.to_datetime(df[col], unit="s", utc=True)
    return df


def runs(
    experiment: str | Sequence[str] | None = None,
    where: str | None = None,
    order_by: str | Sequence[str] | None = None,
    limit: int | None = None,
    *,
    cursor: str | None = None,
    include_deleted: bool = False,
    deleted_only: bool = False,
) -> pd.DataFrame:
    """Search runs; returns a DataFrame with a row per run.

    Columns: run attributes, then ``params.*``, ``metrics.*`` (last values) and
    ``tags.*``. ``where`` is the query language (see README), ``order_by`` a
    field or list of fields, ``-`` for descending. With ``limit``, the frame's
    ``attrs["next_cursor"]`` fetches the next page via ``cursor=``.

    >>> mlp.runs(experiment="demo", where="metrics.loss < 0.5 and params.depth = 6",
    ...          order_by="-start_time")
    """
    c = get_client()
    c.flush()
    rows: list[dict] = []
    nxt = cursor
    while True:
        want = _PAGE if limit is None else min(_PAGE, limit - len(rows))
        page = c.transport.search_runs(experiment, where, order_by, want, nxt,
                                       include_deleted, deleted_only)
        rows += page["runs"]
        nxt = page["next_cursor"]
        if nxt is None or (limit is not None and len(rows) >= limit):
            break
    df = _frame(rows)
    df.attrs["next_cursor"] = nxt
    return df


def _frame(rows: list[dict]) -> pd.DataFrame:
    import pandas as pd

    cols: dict[str, list] = {k: [] for k in _RUN_COLUMNS}
    extra: dict[str, dict[int, Any]] = {}
    for i, r in enumerate(rows):
        for k in _RUN_COLUMNS:
            cols[k].append(r["id"] if k == "run_id" else r.get(k))
        for prefix in ("params", "metrics", "tags"):
            for k, v in r[prefix].items():
                extra.setdefault(f"{prefix}.{k}", {})[i] = v
    df = pd.DataFrame(cols)
    for col in ("start_time", "end_time"):
        df[col] = pd.to_datetime(df[col].astype("float64"), unit="s", utc=True)
    n = len(rows)
    data = {}
    prefixes = ("params", "metrics", "tags")
    for name in sorted(extra, key=lambda c: (prefixes.index(c.split(".", 1)[0]), c)):
        values = extra[name]
        series = pd.Series([values.get(i) for i in range(n)], dtype="object")
        if name.startswith("metrics."):
            series = series.astype("float64")
        elif name.startswith("params."):
            series = _maybe_numeric(series)
        data[name] = series
    if data:
        df = pd.concat([df, pd.DataFrame(data)], axis=1)
    return df


def _maybe_numeric(s: pd.Series) -> pd.Series:
    """A param column whose values are all numbers becomes numeric, so ``df["params.lr"] < 0.1``
    works; mixed columns stay text."""
    import pandas as pd

    try:
        return pd.to_numeric(s)
    except (ValueError, TypeError):
        return s


def status() -> dict:
    """Where runs go: transport, store, versions. ``%mlp status`` shows the same."""
    client = get_client()
    transport = client.transport
    try:
        info = dict(transport.info(retry=False))
    except MLPError:
        raise
    except Exception as e:  # the server is away: say so, and what waits for it
        info = {"transport": transport.kind, "store": transport.destination(),
                "error": f"unreachable: {e}"}
    spool = client.flusher.spool
    if spool is not None:
        info["spooled"] = (f"{spool.points} points, {len(spool.files())} file(s) in {spool.dir}"
                           if spool.files() else "nothing")
    info["checked_at"] = time.time()
    return info
