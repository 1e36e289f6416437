"""The panel's Jobs section in a real JupyterLab and a real browser (Debian's chromium, driven
by Playwright), against a real local Ray head (started here as our own child process, stopped
by PID — never `ray stop`). Jobs submitted with the SDK over HTTP: `ok.py` (prints, succeeds),
`fail.py` (exits with code 3), `tick.py` (prints a tick every half second, for long) and, while
it runs, `big.py` asking for both CPUs (pending until tick.py is cancelled). The list shows
each with its status and message; the running job opens with its output arriving live; Cancel
stops it; its run opens from the job; the opened job comes back after a reload. Screenshots
go to tests/lab/artifacts/."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import lab_browser
import pytest
from conftest import JupyterServer
from lab_browser import shot

pytestmark = pytest.mark.slow
pytest.importorskip("ray", reason="jobs need Ray: pip install -e '.[server]'")
chromium = lab_browser.chromium  # the shared fixture

PANEL_TAB = '.lm-TabBar-tab[data-id="jp-mlp-sidebar"]'
SIDEBAR = "#jp-mlp-sidebar"
ROW = SIDEBAR + " .jp-mlp-JobRow[data-job='{}']"
VIEW = SIDEBAR + " .jp-mlp-JobView[data-job='{}']"
START = 120_000  # ms: a job starts in 6-15 s on this machine, more when it is busy

SCRIPTS = {
    "ok.py": """
        for i in range(3):
            print("ok line", i, flush=True)
        print("all good", flush=True)
    """,
    "fail.py": """
        print("about to fail", flush=True)
        raise SystemExit(3)
    """,
    "tick.py": """
        import time
        for i in range(100000):
            print("tick", i, flush=True)
            time.sleep(0.5)
    """,
    "big.py": """
        print("big done", flush=True)
    """,
}

# The user's side, over HTTP: ok.py and fail.py run to their end, tick.py is left running.
SETUP = textwrap.dedent("""
    import json, sys
    import mlp

    work = sys.argv[1]
    assert mlp.status()["transport"] == "http", mlp.status()
    ok = mlp.submit("ok.py", cpus=1, memory="256MiB", working_dir=work)
    fail = mlp.submit("fail.py", cpus=1, memory="256MiB", working_dir=work)
    ok.wait(timeout=180, progress=False)
    fail.wait(timeout=180, progress=False)
    assert (ok.status, fail.status) == ("succeeded", "failed"), (ok.info, fail.info)
    tick = mlp.submit("tick.py", cpus=1, memory="256MiB", working_dir=work)
    print(json.dumps({j.name: {"id": j.id, "run": j.run_id} for j in (ok, fail, tick)}))
""")

BIG = textwrap.dedent("""
    import json, sys
    import mlp

    big = mlp.submit("big.py", cpus=2, working_dir=sys.argv[1])
    print(json.dumps({"id": big.id, "run": big.run_id}))
""")


@pytest.fixture(scope="module")
def ray_head():
    """A local Ray head with 2 CPUs: its dashboard URL is the Jobs API's address."""
    from mlp_server.jobs.cluster import Cluster

    head = Cluster("", cpus=2, object_store_memory=128 * 2**20)
    try:
        head.client()
        yield head
    finally:
        head.stop()


@pytest.fixture(scope="module")
def lab(ray_head, tmp_path_factory):
    server = lab_browser.start_lab(tmp_path_factory.mktemp("jobs"), extra=(
        f"--MLP.ray_address={ray_head.url}", "--MLPExtension.jobs_interval=0.5"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def work(lab: JupyterServer):
    """The jobs' folder, with the scripts."""
    folder = lab.root / "work"
    folder.mkdir()
    for name, code in SCRIPTS.items():
        (folder / name).write_text(textwrap.dedent(code))
    return folder


def sdk(lab: JupyterServer, code: str, work) -> dict:
    """Run `code` with the SDK over HTTP to the lab; its last line of output, as JSON."""
    env = {**os.environ, "MLP_SERVER_URL": lab.url, "MLP_TOKEN": lab.token,
           "MLP_SYSTEM_METRICS_INTERVAL": "0"}
    out = subprocess.run([sys.executable, "-c", code, str(work)], env=env, check=True,
                         timeout=400, capture_output=True, text=True, cwd=work)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def jobs(lab, work) -> dict:
    """ok.py succeeded, fail.py failed, tick.py submitted: name -> {id, run}."""
    return sdk(lab, SETUP, work)


@pytest.fixture(scope="module")
def page(lab, chromium):
    yield from lab_browser.new_page(chromium, "console-jobs.log", width=1500, height=1000)


def status_of(page, job_id: str, timeout: int = START, status: str = "running") -> None:
    page.locator(f"{ROW.format(job_id)}[data-status='{status}']").wait_for(timeout=timeout)


def test_the_list_shows_the_jobs_with_their_status_and_the_cluster(lab, jobs, page):
    page.goto(f"{lab.url}/lab?token={lab.token}")
    page.locator(PANEL_TAB).click()
    page.locator(f"{SIDEBAR} .jp-mlp-Sections [data-section='jobs']").click()
    ok, fail, tick = jobs["ok.py"]["id"], jobs["fail.py"]["id"], jobs["tick.py"]["id"]
    page.locator(ROW.format(tick)).wait_for()

    rows = page.locator(f"{SIDEBAR} .jp-mlp-JobRow")
    assert [r.get_attribute("data-job") for r in rows.all()] == [tick, fail, ok]  # newest first
    assert page.locator(ROW.format(ok)).get_attribute("data-status") == "succeeded"
    ok_row = page.locator(ROW.format(ok)).inner_text()
    for expected in (ok[:8], "ok.py", "succeeded", "1 CPU · 256 MiB", "submitted", "ran "):
        assert expected in ok_row, (expected, ok_row)
    assert page.locator(f"{ROW.format(ok)} .jp-mlp-JobMessage").count() == 0

    failed = page.locator(ROW.format(fail))
    assert failed.get_attribute("data-status") == "failed"
    message = failed.locator(".jp-mlp-JobMessage.jp-mlp-mod-error").inner_text()
    assert message == "the script exited with code 3", message

    # the running job turns running in the list without a reload
    status_of(page, tick)
    summary = page.locator(f"{SIDEBAR} .jp-mlp-ClusterSummary").inner_text()
    assert summary.startswith("Ray cluster at http://") and "1 node" in summary, summary
    assert "in use: " in summary and "/2 CPUs" in summary, summary
    page.wait_for_function(
        "() => document.querySelector('#jp-mlp-sidebar .jp-mlp-ClusterSummary')"
        "?.textContent.includes('1 running')")
    shot(page, "jobs-list")


def test_the_failed_job_opens_with_its_exit_code_and_output(lab, jobs, page):
    fail = jobs["fail.py"]["id"]
    page.locator(ROW.format(fail)).click()
    view = page.locator(VIEW.format(fail))
    view.wait_for()
    assert view.get_attribute("data-status") == "failed"
    details = view.locator(".jp-mlp-JobView-details").inner_text()
    assert "exit code\t3" in details, details
    assert "python fail.py" in details, details
    page.wait_for_function("(sel) => document.querySelector(sel)?.textContent.includes('about to fail')",
                           arg=f"{VIEW.format(fail)} .jp-mlp-JobLog")
    assert view.locator(".jp-mlp-JobView-cancel").count() == 0
    assert "(live)" not in view.locator(".jp-mlp-JobView-output").inner_text()
    shot(page, "jobs-failed")
    view.locator(".jp-mlp-JobView-back").click()
    page.locator(ROW.format(fail)).wait_for()


def test_a_job_waiting_for_resources_says_why(lab, work, jobs, page):
    big = sdk(lab, BIG, work)["id"]
    jobs["big.py"] = {"id": big}
    row = page.locator(ROW.format(big))
    row.wait_for()
    status_of(page, big, status="pending")
    page.wait_for_function(
        "(sel) => (document.querySelector(sel)?.textContent || '').includes('waiting for')",
        arg=f"{ROW.format(big)} .jp-mlp-JobMessage.jp-mlp-mod-warn", timeout=START)
    assert "2 CPUs" in row.inner_text()
    shot(page, "jobs-pending")


def test_the_running_job_opens_with_its_output_arriving_live(lab, jobs, page):
    tick = jobs["tick.py"]["id"]
    page.locator(ROW.format(tick)).click()
    view = page.locator(VIEW.format(tick))
    view.wait_for()
    assert view.get_attribute("data-status") == "running"
    log = view.locator(".jp-mlp-JobLog")
    log.wait_for(timeout=START)
    page.wait_for_function("(sel) => document.querySelector(sel)?.textContent.includes('tick 1\\n')",
                           arg=f"{VIEW.format(tick)} .jp-mlp-JobLog", timeout=START)
    seen = log.inner_text().count("\n")
    # new lines arrive while the view is open (a tick every half second)
    page.wait_for_function(
        "([sel, n]) => (document.querySelector(sel)?.textContent.match(/\\n/g) || []).length >= n",
        arg=[f"{VIEW.format(tick)} .jp-mlp-JobLog", seen + 3], timeout=30_000)
    assert "tick 3" in log.inner_text()
    text = view.inner_text()
    for expected in ("python tick.py", "1 CPU · 256 MiB", "(live)", "Cancel", "Open run"):
        assert expected in text, (expected, text)
    # the tail follows the newest line
    at_bottom = page.evaluate(
        "(sel) => { const el = document.querySelector(sel); "
        "return el.scrollTop + el.clientHeight >= el.scrollHeight - 10; }",
        f"{VIEW.format(tick)} .jp-mlp-JobLog")
    assert at_bottom
    shot(page, "jobs-running")


def test_the_opened_job_comes_back_after_a_reload(lab, jobs, page):
    tick = jobs["tick.py"]["id"]
    page.reload()
    view = page.locator(VIEW.format(tick))
    view.wait_for()
    page.wait_for_function("(sel) => document.querySelector(sel)?.textContent.includes('tick 2\\n')",
                           arg=f"{VIEW.format(tick)} .jp-mlp-JobLog", timeout=START)
    assert page.locator(f"{SIDEBAR} .jp-mlp-Tab.jp-mod-selected").get_attribute(
        "data-section") == "jobs"


def test_cancel_stops_the_running_job(lab, jobs, page):
    tick = jobs["tick.py"]["id"]
    view = page.locator(VIEW.format(tick))
    view.locator(".jp-mlp-JobView-cancel").click()
    page.locator(f"{VIEW.format(tick)}[data-status='stopped']").wait_for(timeout=60_000)
    message = view.locator(".jp-mlp-JobMessage").inner_text()
    assert message.startswith("cancelled by "), message
    assert view.locator(".jp-mlp-JobView-cancel").count() == 0
    assert view.locator(".jp-mlp-JobView-error").count() == 0
    # the output stops being followed once all of it was read
    page.wait_for_function(
        "(sel) => !document.querySelector(sel)?.textContent.includes('(live)')",
        arg=f"{VIEW.format(tick)} .jp-mlp-JobView-output .jp-mlp-Section-title", timeout=30_000)
    shot(page, "jobs-cancelled")


def test_the_job_opens_its_run(lab, jobs, page):
    tick, run = jobs["tick.py"]["id"], jobs["tick.py"]["run"]
    link = page.locator(f"{VIEW.format(tick)} .jp-mlp-JobView-run")
    assert link.get_attribute("data-run-id") == run
    link.click()
    run_view = page.locator(f"#jp-mlp-run-{run} .jp-mlp-RunView")
    run_view.wait_for()
    # the run that tracks the job: its source is the job's script
    page.wait_for_function("(sel) => document.querySelector(sel)?.textContent.includes('tick.py')",
                           arg=f"#jp-mlp-run-{run} .jp-mlp-RunView")
    shot(page, "jobs-run")


def test_back_to_the_list_where_statuses_move_on_without_a_reload(lab, jobs, page):
    tick, big = jobs["tick.py"]["id"], jobs["big.py"]["id"]
    page.locator(f"{VIEW.format(tick)} .jp-mlp-JobView-back").click()
    page.locator(ROW.format(tick)).wait_for()
    assert page.locator(ROW.format(tick)).get_attribute("data-status") == "stopped"
    assert page.locator(f"{ROW.format(tick)} .jp-mlp-JobMessage").inner_text().startswith(
        "cancelled by ")
    # with tick.py stopped, big.py gets its two CPUs, runs and ends, live
    status_of(page, big, status="succeeded")
    assert page.locator(f"{ROW.format(big)} .jp-mlp-JobMessage").count() == 0
    shot(page, "jobs-after-cancel")
    page.locator(f"{SIDEBAR} .jp-mlp-Sections [data-section='runs']").click()
    page.locator(f"{SIDEBAR} .jp-mlp-RunsBrowser").wait_for()
    assert page.locator(f"{SIDEBAR} .jp-mlp-Jobs").count() == 0
