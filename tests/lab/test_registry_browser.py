"""The panel's Registry in a real JupyterLab and a real browser (Debian's chromium, driven by
Playwright), between two users of a shared registry: the lab's login names users
(``alice-token`` is alice, tests/server/token_users.py) and the browser is bob's (every
request it makes carries his token). Alice registers two versions of `churn` and asks for
production (gate: one approval from someone else, `metrics.auc >= 0.85`); bob asks for
production for the other version. In the panel bob finds alice's request with its gate, his
own with Approve disabled and the reason, approves alice's, and sees the version in production
and his approval in the audit timeline; the view comes back after a reload and its versions
open their runs, whose header links back to the version. Screenshots go to tests/lab/artifacts/."""

from __future__ import annotations

import sys
from pathlib import Path

import lab_browser
import pytest
import requests
from lab_browser import ARTIFACTS, shot

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))
from token_users import model_version, start_named  # noqa: E402

pytestmark = pytest.mark.slow
chromium = lab_browser.chromium  # the shared fixture

PANEL_TAB = '.lm-TabBar-tab[data-id="jp-mlp-sidebar"]'
MODELS = "#jp-mlp-sidebar .jp-mlp-ModelRow"
VIEW = ".jp-mlp-ModelWidget:not(.lm-mod-hidden) .jp-mlp-RegistryView"
RUN_VIEW = ".jp-mlp-RunWidget:not(.lm-mod-hidden) .jp-mlp-RunView"
GATE = {"production": {"approvals": 1, "checks": ["metrics.auc >= 0.85"]}}
OWN = "you made this request: an approval must come from someone else"


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab with the extension on a shared registry, its login naming users."""
    root = tmp_path_factory.mktemp("registry")
    notification = root / "settings" / "@jupyterlab" / "apputils-extension"
    notification.mkdir(parents=True)
    (notification / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    server = start_named(root, f"sqlite:///{root / 'mlp.db'}", (
        "--MLPRegistry.shared=True",
        "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        f"--LabApp.user_settings_dir={root / 'settings'}",
        f"--LabApp.workspaces_dir={root / 'workspaces'}",
    ), token="admin-token")
    yield server
    server.stop()


def register(t, tmp_path: Path, auc: float) -> dict:
    """A finished run with an MLmodel and its auc, registered as the next version of churn."""
    return model_version(t, tmp_path, auc=auc, experiment="registry-ui", run_name=f"train-{auc}")


@pytest.fixture(scope="module")
def requests_made(lab, tmp_path_factory):
    """Alice's request (version 1 to production) and bob's own (version 2 to production)."""
    from mlp.transport.http import HttpTransport

    tmp = tmp_path_factory.mktemp("models")
    alice, bob = (HttpTransport(lab.url, f"{u}-token") for u in ("alice", "bob"))
    try:
        v1 = register(alice, tmp, 0.91)
        register(alice, tmp, 0.93)
        alice.registry("update_model", name="churn", policy=GATE)
        mine = alice.registry("request_transition", name="churn", version=1, stage="production",
                              comment="auc 0.91 on the holdout")
        own = bob.registry("request_transition", name="churn", version=2, stage="production",
                           comment="try the bigger one")
    finally:
        alice.close()
        bob.close()
    assert mine["status"] == own["status"] == "pending"
    return {"alice": mine, "bob": own, "run": v1["run_id"]}


@pytest.fixture(scope="module")
def page(lab, chromium):
    """Bob's browser: every request carries his token, so the lab and /api/me name him."""
    ARTIFACTS.mkdir(exist_ok=True)
    context = chromium.new_context(viewport={"width": 1500, "height": 1000},
                                   extra_http_headers={"Authorization": "token bob-token"})
    page = context.new_page()
    page.set_default_timeout(30_000)
    messages: list[str] = []
    page.on("console", lambda m: messages.append(f"{m.type}: {m.text}"))
    yield page
    (ARTIFACTS / "console-registry.log").write_text("\n".join(messages))
    context.close()


def api(lab, path: str, user: str = "carol"):
    r = requests.get(f"{lab.url}/mlp/api/v1/{path}", timeout=60,
                     headers={"Authorization": f"token {user}-token"})
    r.raise_for_status()
    return r.json()


def card(page, user: str):
    return page.locator(f"{VIEW} .jp-mlp-Request[data-requested-by='{user}']")


def test_bob_sees_alices_request_with_its_gate_and_cannot_approve_his_own(lab, requests_made,
                                                                          page):
    page.goto(f"{lab.url}/lab?reset")
    page.locator(PANEL_TAB).click()
    page.locator("#jp-mlp-sidebar .jp-mlp-Sections [data-section='registry']").click()
    row = page.locator(MODELS, has_text="churn")
    row.wait_for()
    assert "latest v2" in row.inner_text()
    assert "2 requests" in row.locator(".jp-mlp-RequestCount").inner_text()
    shot(page, "registry-sidebar")

    row.click()
    page.locator(f"{VIEW} .jp-mlp-RegistryHeader-name", has_text="churn").wait_for()
    page.locator(f"{VIEW} .jp-mlp-RegistryPage", has_text="you are bob").wait_for()
    alices = card(page, "alice")
    text = alices.inner_text()
    assert "auc 0.91 on the holdout" in text and "requested by alice" in text
    approvals = alices.locator(".jp-mlp-Gate-approvals")
    assert "approvals 0 of 1" in approvals.inner_text()
    assert "jp-mlp-mod-missing" in approvals.get_attribute("class")
    check = alices.locator(".jp-mlp-Gate-check")
    assert "metrics.auc >= 0.85" in check.inner_text()
    assert check.locator(".jp-mlp-Gate-mark").inner_text() == "✓"
    assert "holds on the source run" in check.inner_text()
    assert "1 more approval(s) from someone other than alice" in alices.inner_text()
    assert alices.locator("button.jp-mlp-Approve").is_enabled()

    bobs = card(page, "bob")
    approve = bobs.locator("button.jp-mlp-Approve")
    assert approve.is_disabled() and bobs.locator("button.jp-mlp-Reject").is_disabled()
    assert approve.get_attribute("title") == OWN
    assert bobs.locator(".jp-mlp-Request-blocked").inner_text() == OWN
    shot(page, "registry-requests")


def test_bob_approves_alices_request_and_the_audit_shows_it(lab, requests_made, page):
    alices = card(page, "alice")
    alices.locator(".jp-mlp-Request-commentInput").fill("checked the holdout")
    alices.locator("button.jp-mlp-Approve").click()
    alices.wait_for(state="detached")
    page.locator(f"{VIEW} .jp-mlp-Version[data-version='1'][data-stage='production']").wait_for()
    approved = page.locator(f"{VIEW} .jp-mlp-Timeline-event[data-action='approved']")
    approved.wait_for()
    text = approved.inner_text()
    assert "bob" in text and "v1" in text and "none → production" in text
    assert "checked the holdout" in text
    moved = page.locator(f"{VIEW} .jp-mlp-Timeline-event[data-action='stage_changed']")
    assert "none → production" in moved.inner_text()
    assert card(page, "bob").count() == 1  # his own stays open
    sidebar = page.locator(MODELS, has_text="churn")
    sidebar.locator(".jp-mlp-StageBadge[data-stage='production']", has_text="v1").wait_for()
    assert "1 request" in sidebar.locator(".jp-mlp-RequestCount").inner_text()
    shot(page, "registry-approved")

    assert api(lab, "registry/models/churn/versions/@production")["version"] == 1
    log = [(e["actor"], e["action"], e["comment"]) for e in api(lab, "registry/models/churn/audit")
           ["events"]]
    assert ("bob", "approved", "checked the holdout") in log


def test_the_model_view_comes_back_after_a_reload_and_opens_its_runs(lab, requests_made, page):
    page.reload()
    page.locator(f"{VIEW} .jp-mlp-RegistryHeader-name", has_text="churn").wait_for()
    page.locator(f"{VIEW} .jp-mlp-Version[data-version='1'] .jp-mlp-RunLink").click()
    header = page.locator(f"{RUN_VIEW} .jp-mlp-RunHeader")
    header.wait_for()
    assert requests_made["run"] in header.inner_text()
    # the run's header links back to the version made from it
    link = header.locator(".jp-mlp-ModelLink[data-model='churn'][data-version='1']")
    assert "churn v1" in link.inner_text() and "production" in link.inner_text()
    shot(page, "registry-run-link")
    link.click()
    page.locator(f"{VIEW} .jp-mlp-RegistryHeader-name", has_text="churn").wait_for()
