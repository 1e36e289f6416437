"""A real local Ray head for the test session (started as our own child process, on free
ports with its own temp dir, stopped by PID — never `ray stop`), and a Jupyter server with the
extension submitting to it."""

from __future__ import annotations

import pytest
from conftest import JupyterServer

pytest.importorskip("ray", reason="jobs need Ray: pip install -e '.[server]'")


@pytest.fixture(scope="module")
def ray_head():
    """This module's Ray head (the Jobs API's address in ``.url``), stopped when the module
    ends: a 2 GB child of the test process must not stay for the rest of the suite (a test
    of the process's RSS, children included, would count it)."""
    import os

    from mlp_server.jobs.cluster import Cluster

    head = Cluster("", cpus=2, object_store_memory=128 * 2**20)
    head.client()
    os.environ["_MLP_TEST_RAY_URL"] = head.url
    yield head
    head.stop()


@pytest.fixture(scope="module")
def jobs_server(ray_head, tmp_path_factory):
    """A Jupyter server with the extension, on a SQLite store, submitting to the session's
    head."""
    root = tmp_path_factory.mktemp("jobs")
    server = JupyterServer.start(root, f"sqlite:///{root / 's.db'}",
                                 extra=(f"--MLP.ray_address={ray_head.url}",
                                        "--MLPExtension.jobs_interval=0.5"))
    yield server
    server.stop()


@pytest.fixture
def sdk(jobs_server, tmp_path, monkeypatch):
    """The SDK talking to ``jobs_server``, working in a fresh folder (the jobs' folder)."""
    import mlp._client
    from mlp.transport.http import HttpTransport

    jobs_server.empty_store()
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    c = mlp._client.reset(HttpTransport(jobs_server.url, jobs_server.token))
    yield work
    c.close()
    mlp._client._client = None


def _write(folder, name: str, code: str):
    import textwrap

    p = folder / name
    p.write_text(textwrap.dedent(code))
    return p


TRAIN = """
    import sys
    import mlp

    lr = float(sys.argv[sys.argv.index("--lr") + 1])
    with mlp.start_run(params={"lr": lr}) as run:
        for step in range(5):
            mlp.log_metric("loss", 1.0 / (step + 1), step=step)
        print("trained with lr", lr, "on run", run.id, flush=True)
    print("done", flush=True)
"""


def test_a_script_runs_as_a_job_and_its_metrics_land_on_its_run(sdk):
    import mlp

    _write(sdk, "train.py", TRAIN)
    (sdk / ".git").mkdir()  # never sent
    (sdk / ".git" / "big").write_bytes(b"x" * 10)
    job = mlp.submit("train.py", args=["--lr", "0.1"], cpus=1, memory="256MiB",
                     experiment="churn", env={"MY_SETTING": "on"})
    assert job.status in ("pending", "running"), job.info
    assert job.info["memory"] == 256 * 2**20 and job.info["env"] == ["MY_SETTING"]
    job.wait(timeout=120, progress=False)
    assert job.status == "succeeded", (job.info, job.logs())
    logs = job.logs()
    assert f"trained with lr 0.1 on run {job.run_id}" in logs and "done" in logs
    run = job.run
    assert run.status == "finished" and run.experiment == "churn"
    assert run.params["lr"] == "0.1" and run.params["job.args"] == "--lr 0.1"
    assert run.tags["mlp.job"] == job.id
    assert run.metric_history("loss")["value"].tolist() == [1.0, 0.5, 1 / 3, 0.25, 0.2]
    assert any(a["path"] == "job/output.log" for a in run.artifacts)
    # The job's history: listed, resolvable by its short id.
    df = mlp.jobs()
    assert df.iloc[0]["id"] == job.id and df.iloc[0]["status"] == "succeeded"
    assert mlp.get_job(job.id[:8]).run_id == job.run_id


def test_following_logs_prints_them_as_they_come_until_the_job_ends(sdk):
    import io

    import mlp

    _write(sdk, "count.py", """
        import time
        for i in range(3):
            print("line", i, flush=True)
            time.sleep(0.5)
        raise SystemExit(3)
    """)
    job = mlp.submit("count.py")
    out = io.StringIO()
    stream = mlp._jobs.LogStream(job)
    stream.run(out)
    text = out.getvalue()
    assert "line 0\nline 1\nline 2\n" in text
    assert job.status == "failed" and "exited with code 3" in (job.message or ""), job.info
    assert f"[job {job.id[:8]} failed" in text
    run = job.run
    assert run.status == "failed" and "exited with code 3" in (run.status_reason or "")


def test_cancel_stops_a_running_job_and_kills_its_run(sdk):
    import time

    import mlp

    _write(sdk, "sleep.py", """
        import time
        print("started", flush=True)
        time.sleep(300)
    """)
    job = mlp.submit("sleep.py")
    deadline = time.time() + 90
    while "started" not in job.logs() and time.time() < deadline:
        time.sleep(0.3)
    assert job.refresh().status == "running"
    job.cancel()
    assert job.status == "stopped" and "cancelled" in job.message
    assert job.run.status == "killed"
    # Ray agrees: it stops the process.
    from ray.job_submission import JobSubmissionClient

    ray = JobSubmissionClient(_head_url())
    deadline = time.time() + 30
    while ray.get_job_status(job.id).value != "STOPPED" and time.time() < deadline:
        time.sleep(0.3)
    assert ray.get_job_status(job.id).value == "STOPPED"


def _head_url() -> str:
    import os

    return os.environ["_MLP_TEST_RAY_URL"]


def test_a_request_no_node_can_satisfy_is_refused_before_anything_is_stored(sdk):
    import mlp
    from mlp.errors import InvalidInput

    _write(sdk, "train.py", TRAIN)
    before = len(mlp.jobs())
    with pytest.raises(InvalidInput) as e:
        mlp.submit("train.py", cpus=64, memory="2TiB")
    msg = str(e.value)
    assert "asks for cpus=64, memory=2.0 TiB" in msg and "largest node offers cpus=2" in msg
    assert "Ask for at most cpus=2" in msg and "memory=" in msg
    assert len(mlp.jobs()) == before
    assert mlp.runs().empty


def test_bad_requests_are_refused_with_what_to_change(sdk):
    import mlp
    from mlp.errors import InvalidInput

    _write(sdk, "train.py", TRAIN)
    for kwargs, words in [({"memory": "4 parsecs"}, "is not a size"),
                          ({"cpus": -1}, "at least 0"),
                          ({"env": {"MLP_TOKEN": "x"}}, "reserved"),
                          ({"env": {"1BAD": "x"}}, "not a valid environment variable")]:
        with pytest.raises(InvalidInput, match=words):
            mlp.submit("train.py", **kwargs)
    with pytest.raises(InvalidInput, match="no script"):
        mlp.submit("nope.py")
    outside = sdk.parent / "outside.py"
    outside.write_text("print(1)")
    with pytest.raises(InvalidInput, match="outside the job's folder"):
        mlp.submit(outside)
    (sdk / "data").mkdir()
    (sdk / "data" / "big.bin").write_bytes(b"\0" * 3000)
    import os

    os.environ["MLP_JOB_MAX_PACKAGE"] = "2KB"
    try:
        with pytest.raises(InvalidInput, match=r"Biggest: data/ \(2.9 KiB\)"):
            mlp.submit("train.py")
    finally:
        del os.environ["MLP_JOB_MAX_PACKAGE"]
    assert mlp.jobs().empty


def test_submission_is_idempotent_and_a_jobs_token_reaches_only_its_run(sdk, jobs_server):
    import time

    import requests

    import mlp

    _write(sdk, "sleep.py", """
        import os, time
        print("token", os.environ["MLP_TOKEN"], flush=True)
        time.sleep(300)
    """)
    t = mlp._client.get_client().transport
    pkg = t.put_job_package(mlp._jobs.package(sdk))
    spec = {"entrypoint": "sleep.py", "package": pkg["digest"], "request_id": "retry-1"}
    a = t.jobs("submit", spec=spec)
    b = t.jobs("submit", spec=spec)
    assert a["id"] == b["id"] and len(mlp.jobs()) == 1
    job = mlp.get_job(a["id"])
    deadline = time.time() + 90
    while "token " not in job.logs() and time.time() < deadline:
        time.sleep(0.3)
    token = job.logs().split("token ", 1)[1].split()[0]
    assert token.startswith("mlpjob_")
    other = mlp.start_run(experiment="other")
    other.end()
    api = f"{jobs_server.url}/mlp/api/v1"
    h = {"Authorization": f"token {token}"}
    assert requests.post(f"{api}/runs/{job.run_id}/tags", json={"tags": {"a": "1"}},
                         headers=h).status_code == 200
    assert requests.post(f"{api}/runs/{other.id}/tags", json={"tags": {"a": "1"}},
                         headers=h).status_code == 403
    assert requests.get(f"{api}/jobs", headers=h).status_code == 403
    assert requests.post(f"{api}/runs", json={"experiment": "x"}, headers=h).status_code == 403
    assert requests.delete(f"{api}/runs/{job.run_id}", headers=h).status_code == 403
    job.cancel()
    assert requests.post(f"{api}/runs/{job.run_id}/tags", json={"tags": {"a": "2"}},
                         headers=h).status_code == 403


def test_routes_need_authentication_and_name_bad_fields(jobs_server):
    import requests

    api = f"{jobs_server.url}/mlp/api/v1"
    for method, path in [("GET", "jobs"), ("POST", "jobs"), ("PUT", "jobs/packages"),
                         ("GET", "cluster"), ("GET", "jobs/" + "a" * 32),
                         ("GET", "jobs/" + "a" * 32 + "/logs"),
                         ("POST", "jobs/" + "a" * 32 + "/cancel")]:
        r = requests.request(method, f"{api}/{path}", json={})
        assert r.status_code in (401, 403), (method, path, r.status_code)
    h = {"Authorization": f"token {jobs_server.token}"}
    r = requests.post(f"{api}/jobs", json={"entrypoint": "x.py", "gpuz": 1}, headers=h)
    assert r.status_code == 400 and r.json()["field"] == "gpuz"
    r = requests.get(f"{api}/jobs/{'b' * 32}", headers=h)
    assert r.status_code == 404
    r = requests.put(f"{api}/jobs/packages", data=b"not a zip", headers=h)
    assert r.status_code == 400 and "not a zip" in r.json()["message"]
    r = requests.get(f"{api}/cluster", headers=h)
    st = r.json()
    assert r.status_code == 200 and st["started"] and st["totals"]["cpus"] == 2


def test_cluster_status_shows_nodes_and_use(sdk):
    import mlp

    st = mlp.cluster()
    assert st["nodes"] and st["totals"]["cpus"] == 2
    assert "1 node, CPUs" in st.summary() and "jobs: 0 running" in st.summary()


def test_a_cell_runs_as_a_job_from_the_notebook_with_its_inputs(jobs_server):
    """Through a kernel the server started, as a notebook user: %%mlp job refuses names the
    cell does not define, sends --inputs, and streams the output into the cell's widget."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parents[1] / "server"))
    from test_kernels import execute, rest, start_kernel

    jobs_server.empty_store()
    nb_dir = Path(jobs_server.root) / "nb"
    nb_dir.mkdir(exist_ok=True)
    (nb_dir / "helper.py").write_text("def double(x):\n    return 2 * x\n")
    session, conn = start_kernel(jobs_server, "nb/analysis.ipynb")
    try:
        out = execute(conn, "%load_ext mlp\nimport numpy as np\nimport mlp\n"
                            "df = {'rows': [1, 2, 3]}\nscale = 10\n")
        cell = ("from helper import double\n"
                "total = double(sum(df['rows'])) * scale + int(np.sqrt(16))\n"
                "mlp.log_metric('total', total)\n"
                "print('total is', total)\n")
        out = execute(conn, f"get_ipython().run_cell_magic('mlp', 'job --no-follow', {cell!r})")
        assert "the cell uses names it does not define: df, scale (defined in the notebook: "\
               "pass them with --inputs df,scale)" in out, out
        assert mlp_jobs(jobs_server) == []
        out = execute(conn, (
            f"get_ipython().run_cell_magic('mlp', 'job --inputs df,scale --no-follow', {cell!r})\n"
            "job = mlp.get_job(mlp.jobs().iloc[0]['id'])\n"
            "stream = job.logs(follow=True)\n"
            "stream.join(120)\n"
            "print('STATUS', job.refresh().status)\n"
            "print('WIDGET', ''.join(o.get('text', '') for o in stream.widget.outputs))\n"
            "print('METRIC', job.run.metrics)\n"))
        assert "STATUS succeeded" in out, out
        assert "WIDGET" in out and "total is 124" in out.split("WIDGET", 1)[1], out
        assert "'total': 124.0" in out.split("METRIC", 1)[1], out
        jobs = mlp_jobs(jobs_server)
        assert jobs[0]["kind"] == "cell" and jobs[0]["inputs"] == ["df", "scale"]
        assert jobs[0]["name"] == "cell: from helper import double"
    finally:
        rest(jobs_server, "DELETE", f"api/sessions/{session['id']}")


def mlp_jobs(server) -> list:
    import requests

    return requests.get(f"{server.url}/mlp/api/v1/jobs",
                        headers={"Authorization": f"token {server.token}"}).json()["jobs"]


def _head_group(server_pid: int) -> int | None:
    """The process group of the Ray head a server started (its child `ray start --head`)."""
    import os

    import psutil

    for p in psutil.Process(server_pid).children(recursive=False):
        try:
            cmd = " ".join(p.cmdline())
        except psutil.Error:
            continue
        if "ray" in cmd and "start" in cmd and "--head" in cmd:
            return os.getpgid(p.pid)
    return None


def _group_gone(pgid: int, timeout: float) -> bool:
    import os
    import time

    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.2)
    return False


def test_an_embedded_server_starts_a_head_on_the_first_job_and_keeps_history_past_it(
        tmp_path_factory, tmp_path, monkeypatch):
    """No cluster configured: the server starts a local head on the first job (not at start),
    as its own child; when that head dies, the store still has every job, a job it was running
    is failed saying why, and the next job starts a new head. Stopping the server stops it."""
    import os
    import signal
    import time

    import requests

    import mlp
    import mlp._client
    from mlp.transport.http import HttpTransport

    root = tmp_path_factory.mktemp("embedded")
    server = JupyterServer.start(root, f"sqlite:///{root / 's.db'}",
                                 extra=("--MLPExtension.jobs_interval=0.5",
                                        "--MLPJobs.head_cpus=1"))
    pgid = None
    try:
        api = f"{server.url}/mlp/api/v1"
        h = {"Authorization": f"token {server.token}"}
        st = requests.get(f"{api}/cluster", headers=h).json()
        assert st["embedded"] and not st["started"]
        assert _head_group(server.proc.pid) is None
        work = tmp_path / "w"
        work.mkdir()
        monkeypatch.chdir(work)
        mlp._client.reset(HttpTransport(server.url, server.token))
        _write(work, "hello.py", "print('hello from the local head', flush=True)\n")
        _write(work, "sleep.py", "import time\nprint('up', flush=True)\ntime.sleep(300)\n")
        with pytest.raises(mlp.errors.InvalidInput, match="largest node offers cpus=1"):
            mlp.submit("hello.py", cpus=2)
        first = mlp.submit("hello.py").wait(timeout=180, progress=False)
        assert first.status == "succeeded", first.logs()
        st = requests.get(f"{api}/cluster", headers=h).json()
        assert st["started"] and st["totals"]["cpus"] == 1
        pgid = _head_group(server.proc.pid)
        assert pgid is not None
        running = mlp.submit("sleep.py")
        deadline = time.time() + 120
        while "up" not in running.logs() and time.time() < deadline:
            time.sleep(0.3)
        os.killpg(pgid, signal.SIGKILL)  # the head dies under a running job
        assert _group_gone(pgid, 30)
        deadline = time.time() + 30
        while running.refresh().status == "running" and time.time() < deadline:
            time.sleep(0.5)
        assert running.status == "failed" and "lost this job" in running.message
        assert running.run.status == "failed"
        # History is ours: the finished job and its output are still there.
        jobs = mlp.jobs()
        assert set(jobs["id"]) == {first.id, running.id}
        assert "hello from the local head" in mlp.get_job(first.id).logs()
        again = mlp.submit("hello.py").wait(timeout=180, progress=False)
        assert again.status == "succeeded", again.logs()
        pgid = _head_group(server.proc.pid)
        assert pgid is not None
    finally:
        mlp._client._client.close() if mlp._client._client else None
        mlp._client._client = None
        server.stop()
    assert _group_gone(pgid, 30), "stopping the server left its Ray head running"


HOG = """
    import time
    blocks = []
    print("allocating", flush=True)
    for _ in range(60):
        blocks.append(bytearray(16 * 2**20))  # touched: counted in RSS
        for i in range(0, len(blocks[-1]), 4096):
            blocks[-1][i] = 1
        time.sleep(0.25)
    time.sleep(30)
"""


def test_a_job_over_its_memory_request_is_stopped_and_told_so(sdk):
    import mlp

    _write(sdk, "hog.py", HOG)
    job = mlp.submit("hog.py", memory="200MiB").wait(timeout=180, progress=False)
    assert job.status == "failed", job.logs()
    msg = job.message
    assert msg.startswith("out of memory: peak ") and "of 200 MiB requested" in msg, msg
    assert "ask for more with memory='" in msg
    assert job.info["peak_memory"] > 200 * 2**20
    run = job.run
    assert run.status == "failed" and run.status_reason == msg
    assert "out of memory: the job uses" in job.logs()
    mem = run.metric_history("system/job_memory_mb")["value"]
    assert len(mem) >= 2 and mem.max() > 150
    assert len(run.metric_history("system/job_cpu_percent")) == len(mem)


def test_a_job_killed_by_signal_9_is_diagnosed_as_out_of_memory(sdk):
    import mlp

    _write(sdk, "killed.py", """
        import os, signal, time
        data = bytearray(64 * 2**20)
        time.sleep(2.5)
        os.kill(os.getpid(), signal.SIGKILL)  # what an OOM killer does
    """)
    job = mlp.submit("killed.py", memory="1GiB").wait(timeout=180, progress=False)
    assert job.status == "failed"
    assert job.message.startswith("out of memory, most likely: the job was killed with signal 9")
    assert "of 1.0 GiB requested" in job.message, job.message


def test_the_job_magics_submit_list_show_logs_cancel_and_status(jobs_server):
    """%mlp submit (script arguments after --), %mlp jobs, %mlp logs, %mlp cancel and the
    cluster in %mlp status, in a kernel the server started."""
    import re
    import sys
    import time
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parents[1] / "server"))
    from test_kernels import execute, rest, start_kernel

    jobs_server.empty_store()
    nb_dir = Path(jobs_server.root) / "mag"
    nb_dir.mkdir(exist_ok=True)
    (nb_dir / "echo.py").write_text("import sys\nprint('args:', sys.argv[1:], flush=True)\n")
    (nb_dir / "sleep.py").write_text("import time\nprint('up', flush=True)\ntime.sleep(300)\n")
    session, conn = start_kernel(jobs_server, "mag/nb.ipynb")
    try:
        execute(conn, "%load_ext mlp\nimport mlp\n")
        out = execute(conn, "%mlp submit echo.py --cpus 1 --memory 128MiB --no-follow "
                            "-- --lr 0.5 --name 'a b'\n"
                            "print('ID', mlp.jobs().iloc[0]['id'])")
        jid = re.search(r"ID ([0-9a-f]{32})", out)[1]
        out = execute(conn, f"mlp.get_job('{jid}').wait(timeout=120, progress=False)\n"
                            f"%mlp logs {jid[:8]}")
        assert "args: ['--lr', '0.5', '--name', 'a b']" in out, out
        assert f"[job {jid[:8]} succeeded]" in out
        out = execute(conn, "print(repr(mlp._jobs.JobsView(mlp._client.get_client()"
                            ".transport.jobs('list'))))\n%mlp jobs --status succeeded")
        assert jid[:8] in out and "succeeded" in out and "echo.py" in out, out
        execute(conn, "%mlp submit sleep.py --no-follow")
        sleeper = next(j for j in mlp_jobs(jobs_server) if j["name"] == "sleep.py")
        deadline = time.time() + 90
        while time.time() < deadline:
            if "up" in execute(conn, f"%mlp logs {sleeper['id'][:8]}"):
                break
            time.sleep(0.5)
        out = execute(conn, f"%mlp cancel {sleeper['id'][:8]}")
        assert f"mlp: job {sleeper['id'][:8]} stopped: cancelled by" in out, out
        out = execute(conn, "%mlp status")
        assert re.search(r"cluster +Ray at http://127\.0\.0\.1:\d+: 1 node, CPUs", out), out
        assert "(head): 2 CPUs" in out, out
        out = execute(conn, "%mlp submit nope.py")
        assert "mlp: no script" in out, out
        out = execute(conn, "%mlp job --cpus 1")
        assert "%%mlp job goes on the first line of a cell" in out, out
    finally:
        rest(jobs_server, "DELETE", f"api/sessions/{session['id']}")


def test_a_job_waiting_for_resources_says_so(sdk):
    import time

    import mlp

    _write(sdk, "sleep.py", "import time\nprint('up', flush=True)\ntime.sleep(300)\n")
    big = mlp.submit("sleep.py", cpus=2)
    try:
        deadline = time.time() + 90
        while "up" not in big.logs() and time.time() < deadline:
            time.sleep(0.3)
        waiting = mlp.submit("sleep.py", cpus=1)
        deadline = time.time() + 30
        while time.time() < deadline:
            waiting.refresh()
            if waiting.message and "waiting for resources" in waiting.message:
                break
            time.sleep(0.5)
        assert waiting.status == "pending", waiting.info
        assert waiting.message.startswith("pending: waiting for resources"), waiting.info
        waiting.cancel()
        assert waiting.status == "stopped"
    finally:
        big.cancel()


def test_a_failed_script_ends_with_one_sentence_naming_its_error(sdk):
    import mlp

    _write(sdk, "bad.py", """
        def load(path):
            raise ValueError(f"bad input in {path}")
        load("data.csv")
    """)
    job = mlp.submit("bad.py").wait(timeout=120, progress=False)
    assert job.status == "failed"
    assert job.message == "the script exited with code 1: ValueError: bad input in data.csv"
    assert job.info["exit_code"] == 1 and job.info["command"] == "python bad.py"
    assert "Traceback (most recent call last)" in job.logs()  # the whole story is kept


TOKEN_HEAD = """
import signal, sys, time
from mlp_server.jobs.cluster import Cluster
head = Cluster("", cpus=1, object_store_memory=96 * 2**20, auth_mode="token")
head.client()
print(head.url, flush=True)
signal.signal(signal.SIGTERM, lambda *a: (head.stop(), sys.exit(0)))
while True:
    time.sleep(1)
"""


def test_a_cluster_with_rays_token_auth_takes_jobs_from_a_server_with_its_token(
        tmp_path_factory, tmp_path, monkeypatch):
    """A head with RAY_AUTH_MODE=token (started in a process of its own: Ray reads the mode
    once per process): a server given the token submits to it; one without is refused with
    what to set."""
    import os
    import secrets
    import subprocess
    import sys

    import mlp
    import mlp._client
    from mlp.transport.http import HttpTransport

    token = secrets.token_hex(16)
    env = {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": token}
    head = subprocess.Popen([sys.executable, "-c", TOKEN_HEAD], env=env, stdout=subprocess.PIPE,
                            text=True)
    servers = []
    try:
        url = head.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), url
        work = tmp_path / "w"
        work.mkdir()
        monkeypatch.chdir(work)
        _write(work, "hi.py", "print('hello with a token', flush=True)\n")
        for with_token in (False, True):
            if with_token:
                monkeypatch.setenv("RAY_AUTH_TOKEN", token)
            else:
                monkeypatch.delenv("RAY_AUTH_TOKEN", raising=False)
            monkeypatch.setenv("RAY_AUTH_MODE", "token")
            root = tmp_path_factory.mktemp("tok")
            server = JupyterServer.start(root, f"sqlite:///{root / 's.db'}",
                                         extra=(f"--MLP.ray_address={url}",
                                                "--MLPExtension.jobs_interval=0.5"))
            servers.append(server)
            monkeypatch.delenv("RAY_AUTH_MODE")
            mlp._client.reset(HttpTransport(server.url, server.token))
            if not with_token:
                with pytest.raises(mlp.errors.MLPError, match="RAY_AUTH_TOKEN"):
                    mlp.submit("hi.py", cpus=1)
                continue
            job = mlp.submit("hi.py", cpus=1).wait(timeout=180, progress=False)
            assert job.status == "succeeded", job.info
            assert "hello with a token" in job.logs()
    finally:
        if mlp._client._client is not None:
            mlp._client._client.close()
            mlp._client._client = None
        for s in servers:
            s.stop()
        head.terminate()
        head.wait(timeout=60)
