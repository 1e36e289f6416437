"""The binder demo notebook runs end to end in a real kernel, and what it logs is in the store.

The kernel is the ``python3`` kernelspec: jupyter_client starts a kernelspec whose command is
``python`` with this interpreter (``sys.executable``), so the kernel runs in the same venv as
the test. It inherits this process's environment, hence MLP_HOME points at the test's folder.
"""

from __future__ import annotations

import os
import re
import stat
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parents[2]
BINDER = ROOT / "binder"
DEMO = BINDER / "demo.ipynb"
EXPERIMENT = "binder-demo"
TRAIN_METRICS = {"train_loss", "val_loss", "val_acc"}


def _text(output) -> str:
    if output.output_type == "stream":
        return output.text
    if output.output_type == "error":
        return f"{output.ename}: {output.evalue}"
    return output.get("data", {}).get("text/plain", "")


def _cell_with(nb, needle: str):
    cells = [c for c in nb.cells if c.cell_type == "code" and needle in c.source]
    assert cells, f"no code cell of the demo contains {needle!r}"
    return cells[0]


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """Execute the demo once for the whole module: (notebook, MLP_HOME)."""
    tmp = tmp_path_factory.mktemp("demo")
    home = tmp / "mlp-home"
    work = tmp / "work"
    work.mkdir()
    mp = pytest.MonkeyPatch()
    try:
        mp.setenv("MLP_HOME", str(home))
        mp.setenv("MLP_SYSTEM_METRICS_INTERVAL", "0")
        for var in ("MLP_DB_URL", "MLP_ARTIFACT_ROOT", "MLP_SERVER_URL", "MLP_TOKEN",
                    "MLP_EXPERIMENT", "JPY_SESSION_NAME"):
            mp.delenv(var, raising=False)
        nb = nbformat.read(DEMO, as_version=4)
        client = nbclient.NotebookClient(nb, kernel_name="python3", timeout=120,
                                         resources={"metadata": {"path": str(work)}})
        client.execute()  # raises CellExecutionError, with the traceback, if a cell fails
    finally:
        mp.undo()
    return nb, home


@pytest.fixture(scope="module")
def service(executed):
    from mlp_server.config import MLP
    from mlp_server.tracking import open_service

    _, home = executed
    svc = open_service(MLP(home=str(home)))
    yield svc
    svc.store.dispose()


@pytest.fixture(scope="module")
def demo_runs(service):
    found = service.search_runs(experiment=EXPERIMENT, limit=None)["runs"]
    return {r["name"]: service.get_run(r["id"]) for r in found}


# -- the committed notebook ------------------------------------------------------------------


def test_committed_notebook_is_valid_and_has_no_outputs():
    nb = nbformat.read(DEMO, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, "the demo has no code cells"
    for c in code:
        assert c.outputs == [] and c.execution_count is None, \
            f"clear the outputs of the demo before committing (cell: {c.source[:60]!r})"
    headings = [c.source.splitlines()[0] for c in nb.cells
                if c.cell_type == "markdown" and c.source.startswith("## ")]
    assert len(headings) >= 8, headings


# -- executing it ------------------------------------------------------------------------------


def test_every_cell_runs_without_errors_or_warnings(executed):
    nb, home = executed
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code)
    for c in code:
        for o in c.outputs:
            assert o.output_type != "error", f"{_text(o)} in cell {c.source[:60]!r}"
            if o.output_type == "stream" and o.name == "stderr":
                # The SDK says where runs go (once, and at each mlp.connect); anything else is
                # a warning users would see.
                lines = [ln for ln in o.text.splitlines() if ln.strip()]
                here = f"mlp: logging in-process to sqlite:///{home / 'mlp.db'}"
                assert all(ln == here or ("mlp.connect(" in c.source and re.fullmatch(
                    r"mlp: logging the jupyter-mlp server at http://127\.0\.0\.1:\d+", ln))
                    for ln in lines) and lines, \
                    f"unexpected stderr in cell {c.source[:60]!r}:\n{o.text}"


def test_kernel_is_this_venv_python(executed, demo_runs, service):
    nb, _ = executed
    out = "".join(_text(o) for o in _cell_with(nb, 'env["executable"]').outputs)
    assert f"executable {sys.executable}\n" in out, out
    env = service.get_capture(demo_runs["baseline"]["id"], "environment")
    assert env["executable"] == sys.executable
    assert env["python"] == sys.version.split()[0]
    assert env["packages"]["numpy"]


def test_runs_frame_shows_both_runs(executed, demo_runs):
    nb, _ = executed
    out = "".join(_text(o) for o in _cell_with(nb, "df = mlp.runs(").outputs)
    for name in ("baseline", "small-lr"):
        assert name in out, out
        assert demo_runs[name]["id"] in out, out
    assert "lr-sweep" not in out  # filtered out by the query's tag condition
    # ordered by val_loss: the baseline's larger learning rate got further in 300 steps
    assert out.index("baseline") < out.index("small-lr"), out


def test_query_error_points_at_the_position(executed):
    nb, _ = executed
    out = "".join(_text(o) for o in _cell_with(nb, "mlp.errors.QueryError").outputs)
    assert out.startswith("QueryError: "), out
    query = "metrics.val_loss < and params.steps = 300"
    lines = out.splitlines()
    i = next(k for k, ln in enumerate(lines) if ln.strip() == query)
    caret = lines[i + 1].index("^") - lines[i].index(query)
    assert query[caret:].startswith("and"), out
    assert re.search(rf"position {caret}\b", out), out


# -- what the store holds afterwards -------------------------------------------------------


def test_training_runs_are_stored(demo_runs, service):
    assert {"baseline", "small-lr", "lr-sweep", "lr=0.3", "lr=0.03", "lr=0.003"} <= set(demo_runs)
    for name, lr in (("baseline", 0.05), ("small-lr", 0.005)):
        run = demo_runs[name]
        assert run["status"] == "finished", run
        assert run["parent_id"] is None
        assert run["params"] == {
            "model": "logistic_regression", "steps": "300", "optimizer.name": "adam",
            "optimizer.lr": str(lr), "optimizer.beta1": "0.9", "optimizer.beta2": "0.999",
            "optimizer.weight_decay": "0.001",
        }
        assert run["tags"] == {"dataset": "synthetic", "stage": "demo"}
        # MLP_SYSTEM_METRICS_INTERVAL=0: no system/* metrics, only what the loop logged
        assert set(run["metrics"]) == TRAIN_METRICS
        for key in TRAIN_METRICS:
            h = service.metric_history(run["id"], key)
            assert list(h["step"]) == list(range(1, 301)), key
            assert run["metrics"][key]["count"] == 300
        assert 0.0 < run["metrics"]["val_loss"]["last"] < run["metrics"]["val_loss"]["max"]
    assert (demo_runs["baseline"]["metrics"]["val_loss"]["last"]
            < demo_runs["small-lr"]["metrics"]["val_loss"]["last"])


def test_artifact_is_stored(demo_runs, service, tmp_path):
    run = demo_runs["baseline"]
    assert [a["path"] for a in run["artifacts"]] == ["val_predictions.csv"]
    local = service.download_artifacts(run["id"], "val_predictions.csv", tmp_path)
    lines = Path(local).read_text().splitlines()
    assert lines[0] == "row,label,probability"
    assert len(lines) == 401  # one row per validation sample
    assert run["artifacts"][0]["size"] == Path(local).stat().st_size


def test_nested_sweep(demo_runs, service):
    sweep = demo_runs["lr-sweep"]
    assert sweep["status"] == "finished"
    children = [demo_runs[f"lr={lr}"] for lr in (0.3, 0.03, 0.003)]
    assert sweep["children"] == [c["id"] for c in children]
    for c in children:
        assert c["status"] == "finished"
        assert c["parent_id"] == sweep["id"]
        assert c["params"]["steps"] == "100"
        assert len(service.metric_history(c["id"], "val_loss")["value"]) == 100
    best = min(children, key=lambda c: c["metrics"]["val_loss"]["last"])
    assert sweep["params"] == {"best_lr": best["params"]["optimizer.lr"]}
    assert sweep["metrics"]["best_val_loss"]["last"] == best["metrics"]["val_loss"]["last"]


def test_captured_code_is_the_notebook_cells_in_execution_order(executed, demo_runs, service):
    nb, _ = executed
    executed_cells = [c for c in nb.cells if c.cell_type == "code"]
    for name, last_cell in (("baseline", 'run_experiment("baseline"'),
                            ("small-lr", 'run_experiment("small-lr"'),
                            ("lr=0.3", "nested=True")):
        code = service.get_capture(demo_runs[name]["id"], "code")
        assert code["type"] == "notebook", code.get("type")
        assert code["truncated"] is False
        counts = [c["execution_count"] for c in code["cells"]]
        assert counts == sorted(counts) and len(set(counts)) == len(counts), counts
        # Captured when the run ended: every cell up to and including the one running it.
        upto = next(i for i, c in enumerate(executed_cells) if last_cell in c.source) + 1
        expected = executed_cells[:upto]
        assert counts == [c.execution_count for c in expected]
        assert [c["source"].rstrip() for c in code["cells"]] == \
            [c.source.rstrip() for c in expected]


# -- the binder environment ----------------------------------------------------------------


def test_binder_environment_installs_the_package():
    post = BINDER / "postBuild"
    assert post.stat().st_mode & stat.S_IXUSR, "binder/postBuild must be executable"
    text = post.read_text()
    assert text.startswith("#!")
    assert 'pip install' in text and '".[server,lab]"' in text


def test_binder_requirements_cover_the_package_dependencies():
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]

    def name(req: str) -> str:
        return re.split(r"[\s<>=!~;\[]", req.strip(), maxsplit=1)[0].lower().replace("_", "-")

    def deps(extra: str) -> list[str]:
        """An extra's requirements, with ``jupyter-mlp[other]`` expanded to other's."""
        out = []
        for req in extras[extra]:
            if name(req) == "jupyter-mlp":
                out += [d for e in req.split("[", 1)[1].rstrip("]").split(",") for d in deps(e)]
            else:
                out.append(req)
        return out

    wanted = project["dependencies"] + deps("server") + deps("lab")

    listed = {name(ln) for ln in (BINDER / "requirements.txt").read_text().splitlines()
              if ln.strip() and not ln.lstrip().startswith("#")}
    missing = sorted({name(r) for r in wanted} - listed)
    assert not missing, f"add {missing} to binder/requirements.txt (they are in pyproject.toml)"
    assert not any(n.startswith("psycopg") for n in listed), "no PostgreSQL on binder"
    assert os.path.getsize(BINDER / "README.md") > 0


# -- magics and widgets -----------------------------------------------------------------------


def _html(cell) -> str:
    return "".join(o.get("data", {}).get("text/html", "") for o in cell.outputs
                   if o.output_type in ("display_data", "execute_result"))


def test_the_tracked_cell_is_a_finished_run_with_its_code(executed, demo_runs, service):
    run = demo_runs["magic-lr"]
    assert run["status"] == "finished"
    assert run["tags"] == {"stage": "demo", "via": "magic"}
    assert run["params"]["optimizer.lr"] == "0.1"
    assert run["metrics"]["val_loss"]["count"] == 300
    cells = service.get_capture(run["id"], "code")["cells"]
    assert any(c["source"].startswith("%%mlp track --experiment binder-demo --name magic-lr")
               for c in cells)


def test_the_tracked_cell_keeps_its_final_chart_as_a_widget_and_as_html(executed):
    nb, _ = executed
    cell = _cell_with(nb, "%%mlp track")
    kinds = [set(o.get("data", {})) for o in cell.outputs if o.output_type == "display_data"]
    assert any("application/vnd.jupyter.widget-view+json" in k for k in kinds), kinds
    html = _html(cell)
    assert "<svg" in html and "finished" in html and "val_loss" in html


def test_magic_search_and_show_print_what_was_asked(executed):
    nb, _ = executed
    runs_html = _html(_cell_with(nb, "%mlp runs --experiment binder-demo"))
    assert "magic-lr" in runs_html and "baseline" in runs_html
    assert "small-lr" in runs_html  # ordered by val_loss: the better run first
    assert runs_html.index("magic-lr") < runs_html.index("small-lr")
    show = "".join(_text(o) + o.get("data", {}).get("text/html", "") if "data" in o else _text(o)
                   for o in _cell_with(nb, "%mlp show binder-demo/magic-lr").outputs)
    assert "magic-lr" in show
    helped = "".join(_text(o) for o in _cell_with(nb, "%mlp runs --help").outputs)
    assert "--where" in helped and "usage" in helped


def test_the_widgets_have_static_fallbacks(executed):
    nb, _ = executed
    table = _html(_cell_with(nb, "mlp.runs_table("))
    assert "<table" in table and "magic-lr" in table
    chart = _html(_cell_with(nb, "mlp.live_chart("))
    assert "<svg" in chart and "train_loss" in chart


def test_the_comparison_shows_the_param_the_code_and_the_package_that_changed(executed,
                                                                               demo_runs):
    nb, _ = executed
    summary = "".join(_text(o) for o in _cell_with(nb, "d.summary").outputs)
    assert "optimizer.lr 0.05 → 0.02" in summary
    assert "featurize 1.0 → 1.1" in summary
    assert "val_loss" in summary and "at its best step" in summary
    code = "".join(_text(o) for o in _cell_with(nb, "print(d.code_text())").outputs)
    assert "+    return np.clip(featurize.standardize(X), -2.5, 2.5)" in code
    a, b = demo_runs["compare-a"], demo_runs["compare-b"]
    assert a["params"]["optimizer.lr"] == "0.05" and b["params"]["optimizer.lr"] == "0.02"
    widget = _cell_with(nb, "mlp.compare(run_a")
    kinds = [set(o.get("data", {})) for o in widget.outputs if o.output_type == "display_data"]
    assert any("application/vnd.jupyter.widget-view+json" in k for k in kinds), kinds
    assert "featurize" in _html(widget)
    magic = _html(_cell_with(nb, "%mlp compare @latest~1 @latest"))
    assert "optimizer.lr" in magic


def test_the_registry_tour_gates_a_promotion_until_a_second_user_approves(executed):
    nb, _ = executed
    promoted = "".join(_text(o) + o.get("data", {}).get("text/plain", "")
                       for o in _cell_with(nb, "%mlp promote binder-churn").outputs)
    assert "applied: the version is now in production" in promoted
    loaded = "".join(_text(o) for o in _cell_with(nb, 'mlp.load_model("models:/binder-churn').outputs)
    assert "array(" in loaded
    gate = "".join(_text(o) for o in _cell_with(nb, "mlp.set_model_policy(\"churn\"").outputs)
    assert "pending — 1 more approval(s) from someone other than alice" in gate
    assert "AccessDenied: you (alice) made request" in gate
    approved = "".join(_text(o) for o in _cell_with(nb, "%mlp approve").outputs)
    assert "applied: the version is now in production" in approved
    audit = _html(_cell_with(nb, 'mlp.audit("churn")'))
    assert "alice" in audit and "bob" in audit and "approved" in audit


def test_the_feature_tour_builds_a_reproducible_frame_and_looks_up_online(executed, service):
    nb, _ = executed
    built = "".join(_text(o) for o in _cell_with(nb, "fs.get_training_frame(labels, "
                                                     "[\"customer_stats:*\"], explain").outputs)
    assert "customer_stats: null because" in built and "outside ttl" in built
    again = "".join(_text(o) for o in _cell_with(nb, "as_of=snapshot").outputs)
    assert "as_of reproduces the first frame: True" in again
    changed = int(re.search(r"values changed by the backfill: (\d+)", again).group(1))
    assert changed > 0 and "{'customer_stats': 1}" in again
    mat = "".join(_text(o) for o in _cell_with(nb, "%mlp materialize customer_stats").outputs)
    assert re.search(r"materialized customer_stats v1: 4\d\d keys", mat) and "fresh ·" in mat
    detail = _html(_cell_with(nb, "%mlp features customer_stats --sample 5"))
    assert "avg_spend" in detail and "newest rows" in detail
    online = "".join(_text(o) for o in _cell_with(nb, "fs.get_online(").outputs)
    assert "online equals offline: True" in online and "not_found" in _html(
        _cell_with(nb, "fs.get_online("))


def test_the_jobs_tour_runs_a_script_and_a_cell_and_diagnoses_memory(executed):
    nb, _ = executed
    cluster = "".join(_text(o) for o in _cell_with(nb, "mlp.cluster()").outputs)
    assert re.search(r"(local Ray head|Ray at http)", cluster), cluster
    script = "".join(_text(o) for o in _cell_with(nb, "stream.join(30)").outputs)
    assert "'loss': 0.1680" in script and "'0.3'" in script, script
    assert "job_memory_mb" in script and "succeeded" in script
    submitted = _html(_cell_with(nb, 'mlp.submit("train.py"'))
    assert "train.py" in submitted and "job " in submitted
    cell = "".join(_text(o) for o in _cell_with(nb, "cell_job.wait(timeout=600)").outputs)
    assert "succeeded — least squares on 1600 rows: train mse" in cell, cell
    assert "'train_mse'" in cell
    hog = "".join(_text(o) for o in _cell_with(nb, "hog = mlp.submit").outputs)
    assert re.search(r"failed — out of memory: peak \d+ MiB of 200 MiB requested — ask for more "
                    r"with memory='\d+MiB'", hog), hog
    listing = "".join(_text(o) for o in _cell_with(nb, "%mlp jobs").outputs)
    for name in ("train.py", "hog.py", "cell: w, *_ = np.linalg.lstsq"):
        assert name in listing, (name, listing)
