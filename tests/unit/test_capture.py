"""Reproducibility capture: code, git state, environment and system metrics of a run."""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
import textwrap
import time
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import mlp._capture as capture
from mlp._capture import SystemSampler, capture_code, capture_environment, capture_git
from mlp._redact import REDACTED

KERNEL_EXT = Path(__file__).resolve().parents[2] / "kernel_ext"


# --- capture_code -----------------------------------------------------------------


def test_script_run_captures_its_path_source_and_redacted_argv(tmp_path: Path) -> None:
    script = tmp_path / "train.py"
    script.write_text(
        textwrap.dedent(
            """\
            import json
            from mlp._capture import capture_code

            password = "hunter2"
            print(json.dumps(capture_code()))
            """
        )
    )
    env = {**os.environ, "PYTHONPATH": str(KERNEL_EXT)}
    result = subprocess.run(
        [sys.executable, str(script), "--lr", "0.1", "--token", "abc"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    code = json.loads(result.stdout)
    assert code["type"] == "script"
    assert code["path"] == str(script)
    assert code["truncated"] is False
    assert code["source"] == script.read_text().replace("hunter2", REDACTED)
    assert code["argv"] == [str(script), "--lr", "0.1", "--token", REDACTED]


def test_long_script_source_is_truncated_and_flagged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = tmp_path / "big.py"
    script.write_text("x = 1\n" * 1000)
    monkeypatch.setattr(capture, "MAX_CODE_BYTES", 600)
    monkeypatch.setattr(sys.modules["__main__"], "__file__", str(script), raising=False)
    monkeypatch.delitem(sys.modules, "IPython", raising=False)
    code = capture_code()
    assert code["type"] == "script"
    assert code["truncated"] is True
    assert code["source"] == "x = 1\n" * 100


def test_without_a_main_file_or_ipython_the_code_is_interactive(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delattr(sys.modules["__main__"], "__file__", raising=False)
    monkeypatch.delitem(sys.modules, "IPython", raising=False)
    assert capture_code() == {"type": "interactive"}


@pytest.fixture
def shell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A real IPython shell whose history lives in memory, not in ~/.ipython."""
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    InteractiveShell.clear_instance()
    instance = InteractiveShell.instance(config=config)
    yield instance
    InteractiveShell.clear_instance()


def test_ipython_cells_are_captured_in_execution_order(shell: Any) -> None:
    shell.run_cell("x = 1", store_history=True)
    shell.run_cell("y = x + 1\nprint(y)", store_history=True)
    shell.run_cell("import mlp._capture as c; code = c.capture_code()", store_history=True)
    code = shell.user_ns["code"]
    assert code == {
        "type": "ipython",
        "path": None,
        "truncated": False,
        "cells": [
            {"execution_count": 1, "source": "x = 1"},
            {"execution_count": 2, "source": "y = x + 1\nprint(y)"},
            {"execution_count": 3, "source": "import mlp._capture as c; code = c.capture_code()"},
        ],
    }


def test_secret_typed_into_a_cell_is_redacted(shell: Any) -> None:
    shell.run_cell('HF_TOKEN = "hf_0123456789abcdefghijklmnopqrstuvwx"', store_history=True)
    shell.run_cell('db = "postgresql://me:pw@db/x"', store_history=True)
    sources = [cell["source"] for cell in capture_code()["cells"]]
    assert sources == [f'HF_TOKEN = "{REDACTED}"', f'db = "postgresql://me:{REDACTED}@db/x"']


def test_notebook_path_comes_from_the_session_variable(
    shell: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JPY_SESSION_NAME", "/home/ada/from-env.ipynb")
    shell.run_cell("a = 1", store_history=True)
    assert capture_code()["path"] == "/home/ada/from-env.ipynb"
    shell.user_ns["__session__"] = "/home/ada/train.ipynb"
    assert capture_code()["path"] == "/home/ada/train.ipynb"


def test_only_the_most_recent_cells_are_kept(shell: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    for i in range(5):
        shell.run_cell(f"v = {i}", store_history=True)
    monkeypatch.setattr(capture, "MAX_CELLS", 2)
    code = capture_code()
    assert code["truncated"] is True
    assert code["cells"] == [
        {"execution_count": 4, "source": "v = 3"},
        {"execution_count": 5, "source": "v = 4"},
    ]


def test_cells_beyond_the_size_budget_are_dropped_oldest_first(
    shell: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    shell.run_cell("a = 'x' * 1  # " + "o" * 100, store_history=True)
    shell.run_cell("b = 2", store_history=True)
    shell.run_cell("c = 3", store_history=True)
    monkeypatch.setattr(capture, "MAX_CODE_BYTES", 40)
    code = capture_code()
    assert code["truncated"] is True
    assert [cell["execution_count"] for cell in code["cells"]] == [1, 2, 3]
    assert code["cells"][0]["source"] == "a = 'x' * 1  # " + "o" * 15
    assert sum(len(cell["source"].encode()) for cell in code["cells"]) == 40


class ZMQInteractiveShell:
    """Stands in for ipykernel's shell, which needs a running kernel."""

    def __init__(self, history: list[str]) -> None:
        self.history_manager = types.SimpleNamespace(input_hist_raw=history)
        self.user_ns = {"__session__": "/home/ada/nb.ipynb"}


def test_kernel_shell_is_reported_as_a_notebook(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = ZMQInteractiveShell(["", "import torch", "", "model = torch.nn.Linear(2, 2)"])
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: fake))
    assert capture_code() == {
        "type": "notebook",
        "path": "/home/ada/nb.ipynb",
        "truncated": False,
        "cells": [
            {"execution_count": 1, "source": "import torch"},
            {"execution_count": 3, "source": "model = torch.nn.Linear(2, 2)"},
        ],
    }


def test_broken_history_yields_an_error_instead_of_raising(monkeypatch: pytest.MonkeyPatch) -> None:
    broken = types.SimpleNamespace(history_manager=None, user_ns={})
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: broken))
    code = capture_code()
    assert code["type"] == "ipython"
    assert "AttributeError" in code["error"]


# --- capture_git ------------------------------------------------------------------


def git(cwd: Path, *args: str) -> str:
    """Run git with a fixed identity and no user or system config."""
    env = {
        **os.environ,
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Ada",
        "GIT_AUTHOR_EMAIL": "ada@example.com",
        "GIT_COMMITTER_NAME": "Ada",
        "GIT_COMMITTER_EMAIL": "ada@example.com",
    }
    result = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository with one commit of train.py on branch main."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "train.py").write_text("lr = 0.1\n")
    git(root, "add", "train.py")
    git(root, "commit", "-q", "-m", "first")
    return root


def test_clean_repo_reports_commit_and_branch(repo: Path) -> None:
    assert capture_git(str(repo)) == {
        "commit": git(repo, "rev-parse", "HEAD"),
        "branch": "main",
        "dirty": False,
        "diff": "",
        "truncated": False,
        "untracked": [],
        "remote": None,
    }


def test_changed_tracked_file_makes_the_repo_dirty_with_a_redacted_diff(repo: Path) -> None:
    (repo / "train.py").write_text('lr = 0.2\napi_key = "abc123"\n')
    (repo / "notes.txt").write_text("scratch\n")
    state = capture_git(str(repo / "train.py"))
    assert state is not None
    assert state["dirty"] is True
    assert "-lr = 0.1\n+lr = 0.2\n" in state["diff"]
    assert f'+api_key = "{REDACTED}"' in state["diff"]
    assert "abc123" not in state["diff"]
    assert state["untracked"] == ["notes.txt"]


def test_untracked_files_alone_do_not_make_the_repo_dirty(repo: Path) -> None:
    (repo / "outputs").mkdir()
    (repo / "outputs" / "ckpt.pt").write_bytes(b"\0")
    state = capture_git(str(repo))
    assert state is not None
    assert state["dirty"] is False
    assert state["untracked"] == ["outputs/"]


def test_untracked_list_is_capped(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for i in range(5):
        (repo / f"f{i}.txt").write_text("x")
    monkeypatch.setattr(capture, "MAX_UNTRACKED", 3)
    state = capture_git(str(repo))
    assert state is not None
    assert state["untracked"] == ["f0.txt", "f1.txt", "f2.txt"]


def test_large_diff_is_truncated_and_flagged(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (repo / "train.py").write_text("".join(f"line_{i} = {i}\n" for i in range(5000)))
    monkeypatch.setattr(capture, "MAX_DIFF_BYTES", 1000)
    state = capture_git(str(repo))
    assert state is not None
    assert state["truncated"] is True
    assert 900 < len(state["diff"].encode()) <= 1000
    assert state["diff"].startswith("diff --git a/train.py b/train.py")


def test_detached_head_has_a_commit_but_no_branch(repo: Path) -> None:
    git(repo, "checkout", "-q", "--detach")
    state = capture_git(str(repo))
    assert state is not None
    assert state["branch"] is None
    assert state["commit"] == git(repo, "rev-parse", "HEAD")


def test_repo_without_commits_is_dirty_and_diffs_against_nothing(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", "-b", "main")
    (tmp_path / "model.py").write_text("layers = 3\n")
    git(tmp_path, "add", "model.py")
    state = capture_git(str(tmp_path))
    assert state is not None
    assert state["commit"] is None
    assert state["branch"] == "main"
    assert state["dirty"] is True
    assert "+layers = 3" in state["diff"]


def test_directory_outside_a_repo_has_no_git_state(tmp_path: Path) -> None:
    assert capture_git(str(tmp_path)) is None


def test_default_path_is_the_working_directory(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(repo)
    state = capture_git()
    assert state is not None
    assert state["commit"] == git(repo, "rev-parse", "HEAD")


def test_missing_git_executable_means_no_git_state(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert capture_git(str(repo)) is None


def hanging_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, answers_rev_parse: bool) -> None:
    """Put a `git` first on PATH whose commands hang in a grandchild holding stdout."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "git"
    answer = 'if [ "$2" = "--is-inside-work-tree" ]; then echo true; exit 0; fi\n'
    fake.write_text("#!/bin/sh\n" + (answer if answers_rev_parse else "") + "sleep 30\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(capture, "GIT_TIMEOUT_SECONDS", 0.2)


@pytest.mark.skipif(os.name != "posix", reason="the fake git is a shell script")
def test_hanging_git_times_out_with_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hanging_git(tmp_path, monkeypatch, answers_rev_parse=False)
    start = time.monotonic()
    state = capture_git(str(tmp_path))
    assert time.monotonic() - start < 3
    assert state is not None
    assert "TimeoutExpired" in state["error"]


@pytest.mark.skipif(os.name != "posix", reason="the fake git is a shell script")
def test_git_hanging_after_the_repo_check_keeps_the_fields_and_adds_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hanging_git(tmp_path, monkeypatch, answers_rev_parse=True)
    start = time.monotonic()
    state = capture_git(str(tmp_path))
    assert time.monotonic() - start < 3
    assert state is not None
    assert state["commit"] is None
    assert state["untracked"] == []
    assert "TimeoutExpired" in state["error"]


def test_remote_url_credentials_are_redacted(repo: Path) -> None:
    git(repo, "remote", "add", "origin", "https://ada:s3cret@git.example.com/ml/repo.git")
    state = capture_git(str(repo))
    assert state is not None
    assert state["remote"] == f"https://ada:{REDACTED}@git.example.com/ml/repo.git"


# --- capture_environment ----------------------------------------------------------


def test_environment_lists_packages_and_redacts_secret_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MY_API_TOKEN", "tok-123")
    monkeypatch.setenv("DATABASE_URL", "postgresql://app:pw123@db/app")
    monkeypatch.setenv("MLP_TEST_PLAIN", "visible")
    env = capture_environment()
    assert "error" not in env
    assert env["python"] == f"{sys.version_info[0]}.{sys.version_info[1]}.{sys.version_info[2]}"
    assert env["pid"] == os.getpid()
    assert env["cwd"] == os.getcwd()
    assert env["packages"]["pytest"] == importlib.metadata.version("pytest")
    assert list(env["packages"]) == sorted(env["packages"])
    assert env["env"]["MY_API_TOKEN"] == REDACTED
    assert env["env"]["DATABASE_URL"] == f"postgresql://app:{REDACTED}@db/app"
    assert env["env"]["MLP_TEST_PLAIN"] == "visible"
    json.dumps(env)


def test_environment_survives_a_failing_field(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_cwd() -> str:
        raise FileNotFoundError("cwd was deleted")

    monkeypatch.setattr(capture.os, "getcwd", no_cwd)
    env = capture_environment()
    assert env["cwd"] is None
    assert "cwd: FileNotFoundError" in env["error"]
    assert "pytest" in env["packages"]


# --- SystemSampler ----------------------------------------------------------------


def test_system_sample_has_the_metrics_in_sensible_ranges() -> None:
    metrics = SystemSampler().sample()
    for key in ("cpu_percent", "memory_percent", "disk_used_percent"):
        assert 0.0 <= metrics[f"system/{key}"] <= 100.0
    assert metrics["system/memory_used_gb"] > 0.0
    assert 0.0 < metrics["system/process_rss_gb"] < metrics["system/memory_used_gb"] + 1.0
    assert all(isinstance(value, float) for value in metrics.values())


def test_process_rss_includes_child_processes() -> None:
    sampler = SystemSampler()
    before = sampler.sample()["system/process_rss_gb"]
    child = subprocess.Popen(
        [sys.executable, "-c", "x = b'1' * 300_000_000; print('ready', flush=True); input()"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        after = sampler.sample()["system/process_rss_gb"]
    finally:
        child.kill()
        child.wait()
    assert after - before > 0.25


def fake_pynvml(init_error: Exception | None = None) -> types.SimpleNamespace:
    """Two GPUs, the second half full and busy."""
    gib = 1024**3

    def init() -> None:
        if init_error is not None:
            raise init_error

    return types.SimpleNamespace(
        nvmlInit=init,
        nvmlDeviceGetCount=lambda: 2,
        nvmlDeviceGetHandleByIndex=lambda i: i,
        nvmlDeviceGetUtilizationRates=lambda h: types.SimpleNamespace(gpu=[0, 90][h]),
        nvmlDeviceGetMemoryInfo=lambda h: types.SimpleNamespace(
            used=[0, 40][h] * gib, total=80 * gib
        ),
    )


def test_gpu_metrics_are_reported_per_device(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", fake_pynvml())
    metrics = SystemSampler().sample()
    gpu = {key: value for key, value in metrics.items() if "/gpu" in key}
    assert gpu == {
        "system/gpu0/utilization_percent": 0.0,
        "system/gpu0/memory_used_gb": 0.0,
        "system/gpu0/memory_percent": 0.0,
        "system/gpu1/utilization_percent": 90.0,
        "system/gpu1/memory_used_gb": 40.0,
        "system/gpu1/memory_percent": 50.0,
    }


@pytest.mark.parametrize(
    "pynvml", [None, fake_pynvml(RuntimeError("NVML Shared Library Not Found"))]
)
def test_missing_gpu_support_is_silent(pynvml: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # None in sys.modules makes `import pynvml` raise ImportError.
    monkeypatch.setitem(sys.modules, "pynvml", pynvml)
    sampler = SystemSampler()
    metrics = sampler.sample()
    assert "system/cpu_percent" in metrics
    assert not [key for key in metrics if "gpu" in key]
    assert sampler.last_error is None
