"""The registry magics as a user types them, in-process (a single user's store: no
approvals are needed by default)."""

from __future__ import annotations

import pytest

import mlp


@pytest.fixture
def ip(tmp_path, monkeypatch):
    from IPython.core.interactiveshell import InteractiveShell

    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "mlp")
    yield shell
    InteractiveShell.clear_instance()


@pytest.fixture
def churn(tmp_path):
    d = tmp_path / "model"
    d.mkdir()
    (d / "MLmodel").write_text("artifact_path: model\nflavors:\n  python_function:\n"
                               "    loader_module: mlp.models.pyfunc\n")
    with mlp.start_run(experiment="reg", name="train") as run:
        mlp.log_metric("auc", 0.91)
        mlp.log_artifact(d)
    mlp.register_model(run, "churn")
    mlp.register_model(run, "churn")
    return run


def test_models_model_promote_and_requests(ip, churn, capsys):
    listed = ip.run_line_magic("mlp", "models")
    assert "churn" in repr(listed) and "<b>churn</b>" in listed._repr_html_()
    done = ip.run_line_magic("mlp", "promote churn 2 production --comment 'auc 0.91'")
    assert repr(done).startswith("request #1: churn v2 applied: the version is now in production")
    model = ip.run_line_magic("mlp", "model churn")
    text = repr(model)
    assert "v2    production" in text and "v1    none" in text
    html = model._repr_html_()
    assert "jp-mlp-stage-production" in html and f"data-mlp-run='{churn.id}'" in html
    assert "production needs 0 approval(s) (server default)" in html
    assert repr(ip.run_line_magic("mlp", "requests")) == "no transition requests"
    closed = ip.run_line_magic("mlp", "requests churn --all")
    assert "#1 churn v2 none → production: applied" in repr(closed)


def test_a_held_request_and_self_approval_say_why(ip, churn, capsys):
    mlp.set_model_policy("churn", {"production": {"approvals": 1,
                                                  "checks": ["metrics.auc >= 0.95"]}})
    held = ip.run_line_magic("mlp", "promote churn 1 production")
    assert "pending for production" in repr(held)
    assert "check failed: metrics.auc >= 0.95 (the source run has auc = 0.91)" in repr(held)
    capsys.readouterr()
    assert ip.run_line_magic("mlp", f"approve #{held.requests[0]['id']}") is None
    err = capsys.readouterr().err
    assert "an approval must come from someone else" in err and "Traceback" not in err


def test_promote_takes_an_alias(ip, churn):
    mlp.set_alias("churn", "candidate", 1)
    done = ip.run_line_magic("mlp", "promote churn @candidate staging")
    assert repr(done).startswith("request #1: churn v1 applied: the version is now in staging")
    assert "no alias 'nope'" in str(pytest.raises(
        mlp.errors.NotFound, mlp.request_transition, "churn", "@nope", "staging").value)


@pytest.mark.parametrize(("line", "expected"), [
    ("promote churn 1 prod", "invalid choice: 'prod'"),
    ("approve twelve", "a request id is a number such as 12"),
    ("model nope", "no model named 'nope'"),
    ("promote churn 7 staging", "no version 7 (latest is 2)"),
])
def test_bad_registry_commands_print_one_line(ip, churn, capsys, line, expected):
    assert ip.run_line_magic("mlp", line) is None
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err
