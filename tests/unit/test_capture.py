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


def test_cell_ids_from_the_frontend_are_kept_and_an_edited_cell_diffs_as_changed(
        shell: Any) -> None:
    """JupyterLab sends each cell's id with its execution; once mlp watches the shell,
    captures carry them and the diff compares each cell at its last execution."""
    from mlp._shell import watch_cells
    from mlp_server.tracking.diff import _code

    watch_cells(shell)
    shell.run_cell("lr = 0.01", store_history=True, cell_id="c-lr")
    shell.run_cell("steps = 3", store_history=True, cell_id="c-train")
    shell.run_cell("import mlp._capture as c; a = c.capture_code()", store_history=True,
                   cell_id="c-cap")
    shell.run_cell("lr = 0.003", store_history=True, cell_id="c-lr")  # edited, re-run
    shell.run_cell("steps = 3", store_history=True, cell_id="c-train")
    shell.run_cell("b = c.capture_code()", store_history=True, cell_id="c-cap")
    a, b = shell.user_ns["a"], shell.user_ns["b"]
    assert [c.get("cell_id") for c in a["cells"]] == ["c-lr", "c-train", "c-cap"]
    pair = _code([a, b])["pairs"][0]
    ops = [(op["op"], op["a_count"], op["b_count"]) for op in pair["ops"]]
    assert ops[:2] == [("changed", 1, 4), ("same", 2, 5)]
    assert pair["changed"] == 2 and pair["added"] == 0  # the lr cell, and the capture cell


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


def fake_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, script: str) -> None:
    """Put a `git` first on PATH that runs ``script``; its commands time out after 0.2 s.

    ``tmp_path`` gets an empty ``.git`` so that it may be a work tree.
    """
    (tmp_path / ".git").mkdir()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "git"
    fake.write_text("#!/bin/sh\n" + script)
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(capture, "GIT_TIMEOUT_SECONDS", 0.2)


@pytest.mark.skipif(os.name != "posix", reason="the fake git is a shell script")
def test_hanging_git_times_out_with_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The sleep runs in a grandchild that holds stdout open after git is killed.
    fake_git(tmp_path, monkeypatch, "sleep 30\n")
    start = time.monotonic()
    state = capture_git(str(tmp_path))
    assert time.monotonic() - start < 3
    assert state is not None
    assert "TimeoutExpired" in state["error"]


@pytest.mark.skipif(os.name != "posix", reason="the fake git is a shell script")
def test_git_hanging_after_the_status_keeps_the_fields_and_adds_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    status = r"# branch.oid abc123\0# branch.head main\0? notes.txt\0"
    fake_git(
        tmp_path,
        monkeypatch,
        f'if [ "$1" = "status" ]; then printf \'{status}\'; exit 0; fi\nsleep 30\n',
    )
    start = time.monotonic()
    state = capture_git(str(tmp_path))
    assert time.monotonic() - start < 3
    assert state is not None
    assert state["commit"] == "abc123"
    assert state["branch"] == "main"
    assert state["untracked"] == ["notes.txt"]
    assert state["remote"] is None
    assert "TimeoutExpired" in state["error"]


@pytest.mark.skipif(os.name != "posix", reason="the fake git is a shell script")
def test_failing_status_inside_a_work_tree_is_an_error_not_a_missing_repo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_git(
        tmp_path,
        monkeypatch,
        'if [ "$1" = "status" ]; then exit 128; fi\n'
        'if [ "$2" = "--is-inside-work-tree" ]; then echo true; exit 0; fi\n'
        "exit 1\n",
    )
    state = capture_git(str(tmp_path))
    assert state is not None
    assert state["commit"] is None
    assert state["error"] == "git status exited with 128"


def count_git_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, ...]]:
    calls: list[tuple[str, ...]] = []
    real = capture._git

    def counting(cwd: str, *args: str, limit: int | None = None) -> tuple[int, bytes]:
        calls.append(args)
        return real(cwd, *args, limit=limit)

    monkeypatch.setattr(capture, "_git", counting)
    return calls


def test_clean_repo_costs_two_git_processes(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (repo / "notes.txt").write_text("untracked files need no diff\n")
    calls = count_git_calls(monkeypatch)
    state = capture_git(str(repo))
    assert state is not None
    assert state["dirty"] is False
    assert [args[0] for args in calls] == ["status", "config"]


def test_dirty_repo_costs_a_third_git_process_for_the_diff(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (repo / "train.py").write_text("lr = 0.3\n")
    calls = count_git_calls(monkeypatch)
    state = capture_git(str(repo))
    assert state is not None
    assert "+lr = 0.3" in state["diff"]
    assert [args[0] for args in calls] == ["status", "config", "diff"]


def test_directory_with_no_git_above_it_costs_no_git_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GIT_DIR", raising=False)
    monkeypatch.delenv("GIT_WORK_TREE", raising=False)
    calls = count_git_calls(monkeypatch)
    assert capture_git(str(tmp_path)) is None
    assert calls == []


def test_directory_inside_the_git_dir_is_not_a_work_tree(repo: Path) -> None:
    assert capture_git(str(repo / ".git" / "refs")) is None


@pytest.mark.skipif(os.name != "posix", reason="symbolic links need privileges on Windows")
def test_symbolic_link_into_a_repo_is_followed_as_git_does(repo: Path, tmp_path: Path) -> None:
    (repo / "src").mkdir()
    link = tmp_path / "elsewhere" / "src-link"
    link.parent.mkdir()
    link.symlink_to(repo / "src")
    state = capture_git(str(link))
    assert state is not None
    assert state["commit"] == git(repo, "rev-parse", "HEAD")


def test_git_dir_variable_is_honoured(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    monkeypatch.setenv("GIT_DIR", str(repo / ".git"))
    monkeypatch.setenv("GIT_WORK_TREE", str(repo))
    state = capture_git(str(outside))
    assert state is not None
    assert state["commit"] == git(repo, "rev-parse", "HEAD")


def test_renamed_file_is_a_change_and_its_old_path_is_not_untracked(repo: Path) -> None:
    # A source path that looks like an untracked entry shows it is skipped.
    (repo / "? draft.py").write_text("a = 1\n")
    git(repo, "add", "? draft.py")
    git(repo, "commit", "-q", "-m", "draft")
    git(repo, "mv", "? draft.py", "model.py")
    (repo / "new file.txt").write_text("spaces in the name\n")
    state = capture_git(str(repo))
    assert state is not None
    assert state["dirty"] is True
    assert state["untracked"] == ["new file.txt"]
    assert "model.py" in state["diff"]


def test_subdirectory_reports_paths_from_the_repo_root(repo: Path) -> None:
    (repo / "src").mkdir()
    (repo / "src" / "model.py").write_text("x = 1\n")
    (repo / "top.txt").write_text("t\n")
    state = capture_git(str(repo / "src"))
    assert state is not None
    assert state["untracked"] == ["src/", "top.txt"]
    assert state["commit"] == git(repo, "rev-parse", "HEAD")


def test_sha256_repo_without_commits_diffs_against_its_empty_tree(tmp_path: Path) -> None:
    try:
        git(tmp_path, "init", "-q", "-b", "main", "--object-format=sha256")
    except subprocess.CalledProcessError:
        pytest.skip("this git cannot create SHA-256 repositories")
    (tmp_path / "model.py").write_text("layers = 3\n")
    git(tmp_path, "add", "model.py")
    state = capture_git(str(tmp_path))
    assert state is not None
    assert state["commit"] is None
    assert state["dirty"] is True
    assert "+layers = 3" in state["diff"]


def test_unborn_branch_with_nothing_staged_is_dirty_with_an_empty_diff(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", "-b", "dev")
    (tmp_path / "scratch.py").write_text("x = 1\n")
    state = capture_git(str(tmp_path))
    assert state is not None
    assert state["branch"] == "dev"
    assert state["dirty"] is True
    assert state["diff"] == ""
    assert state["untracked"] == ["scratch.py"]


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


@pytest.fixture
def site_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """Two directories that make up all of sys.path, with the package cache empty."""
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    monkeypatch.setattr(sys, "path", [str(first), str(second)])
    monkeypatch.setattr(capture, "_packages_cache", None)
    return first, second


def test_packages_come_from_distribution_directory_names(site_dirs: tuple[Path, Path]) -> None:
    first, second = site_dirs
    # No METADATA inside: the directory name alone gives name and version.
    (first / "Foo.Bar-1.2.dist-info").mkdir()
    (first / "legacy_pkg-0.3-py3.11.egg-info").mkdir()
    (first / "notes.txt").write_text("not a distribution")
    # `setup.py develop` leaves a versionless .egg-info: its PKG-INFO is read.
    (first / "devpkg.egg-info").mkdir()
    (first / "devpkg.egg-info" / "PKG-INFO").write_text(
        "Metadata-Version: 1.1\nName: Dev_Pkg\nVersion: 0.0.1\n"
    )
    # Shadowed by the first entry on sys.path, as imports would be.
    (second / "foo_bar-9.9.dist-info").mkdir()
    (second / "other-2.0.dist-info").mkdir()
    packages = capture._packages()
    assert packages == {"dev-pkg": "0.0.1", "foo-bar": "1.2", "legacy-pkg": "0.3", "other": "2.0"}
    assert list(packages) == sorted(packages)


def test_packages_in_a_zip_on_sys_path_are_read_through_importlib(
    site_dirs: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    import zipfile

    first, _ = site_dirs
    archive = first.parent / "bundle.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(
            "zpkg-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: zpkg\nVersion: 1.0\n"
        )
    monkeypatch.setattr(sys, "path", [*sys.path, str(archive)])
    assert capture._packages() == {"zpkg": "1.0"}


def test_packages_match_importlib_metadata() -> None:
    expected: dict[str, str] = {}
    for dist in importlib.metadata.distributions():
        name, version = dist.metadata["Name"], dist.metadata["Version"]
        if name and version:
            expected.setdefault(capture._normalize(name), version)
    assert capture._packages() == expected


def test_package_list_is_cached_until_sys_path_or_its_directories_change(
    site_dirs: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = site_dirs
    (first / "alpha-1.0.dist-info").mkdir()
    scans: list[int] = []
    real_scan = capture._scan_packages

    def counting_scan() -> dict[str, str]:
        scans.append(1)
        return real_scan()

    monkeypatch.setattr(capture, "_scan_packages", counting_scan)
    assert capture._packages() == {"alpha": "1.0"}
    capture._packages()["mutated"] = "by the caller"
    assert capture._packages() == {"alpha": "1.0"}
    assert len(scans) == 1

    # Installing a package adds a directory; set the mtime so that a coarse
    # filesystem clock cannot hide the change.
    (second / "beta-2.0.dist-info").mkdir()
    os.utime(second, ns=(0, os.stat(second).st_mtime_ns + 10**9))
    assert capture._packages() == {"alpha": "1.0", "beta": "2.0"}
    assert len(scans) == 2

    third = first.parent / "third"
    third.mkdir()
    (third / "gamma-3.0.dist-info").mkdir()
    monkeypatch.setattr(sys, "path", [*sys.path, str(third)])
    assert capture._packages() == {"alpha": "1.0", "beta": "2.0", "gamma": "3.0"}
    assert len(scans) == 3


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
