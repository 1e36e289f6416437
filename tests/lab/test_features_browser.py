"""The panel's Features section in a real JupyterLab and a real browser (Debian's chromium,
driven by Playwright). Feature views defined and materialized with the SDK over HTTP, in the
lab's own store: `customer_stats` (events up to a minute old, SLO 1h: fresh), `orders_daily`
(events three hours old, SLO 1h: stale) and `returns` (never materialized). The list shows
each with its freshness badge; a click opens the view with its schema and statistics, its
newest rows and its materialization; the opened view comes back after a reload. Screenshots
go to tests/lab/artifacts/."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import lab_browser
import pytest
from conftest import JupyterServer
from lab_browser import shot

pytestmark = pytest.mark.slow
chromium = lab_browser.chromium  # the shared fixture

PANEL_TAB = '.lm-TabBar-tab[data-id="jp-mlp-sidebar"]'
SIDEBAR = "#jp-mlp-sidebar"
ROW = SIDEBAR + " .jp-mlp-FeatureRow[data-view='{}']"
VIEW = SIDEBAR + " .jp-mlp-FeatureView[data-view='customer_stats']"

# The views, as a user's script defines them. customer_stats: 40 rows, one a minute up to a
# minute ago, keys 1..20; avg_spend = i + 0.5 with row 0 null, orders = 2 * i.
SETUP = textwrap.dedent("""
    from datetime import datetime, timedelta, timezone
    import mlp
    import pandas as pd

    fs = mlp.features
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    fs.entity("customer", ["customer_id"])
    stats = pd.DataFrame({
        "customer_id": [i % 20 + 1 for i in range(40)],
        "event_timestamp": [now - timedelta(minutes=40 - i) for i in range(40)],
        "created": [now - timedelta(minutes=40 - i, seconds=-1) for i in range(40)],
        "avg_spend": [None if i == 0 else i + 0.5 for i in range(40)],
        "orders": [2 * i for i in range(40)],
        "segment": ["gold" if i % 2 else "silver" for i in range(40)],
    })
    fs.feature_view("customer_stats", entities=["customer"], source=stats,
                    event_time="event_timestamp", created_time="created", ttl="30d",
                    freshness_slo="1h", owner="lena", description="Spend and orders per customer")
    fs.materialize("customer_stats")
    daily = pd.DataFrame({
        "customer_id": [1, 2, 3],
        "event_timestamp": [now - timedelta(hours=3 + k) for k in range(3)],
        "total": [10.0, 20.0, 30.0],
    })
    fs.feature_view("orders_daily", entities=["customer"], source=daily,
                    event_time="event_timestamp", freshness_slo="1h", owner="omar")
    fs.materialize("orders_daily")
    fs.feature_view("returns", entities=["customer"], source=daily.rename(
        columns={"total": "returned"}), event_time="event_timestamp", owner="omar")
    assert mlp.status()["transport"] == "http", mlp.status()
""")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    server = lab_browser.start_lab(tmp_path_factory.mktemp("features"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def views(lab: JupyterServer) -> None:
    """The three views, defined and materialized with the SDK over HTTP in the lab's store."""
    env = {**os.environ, "MLP_SERVER_URL": lab.url, "MLP_TOKEN": lab.token,
           "MLP_SYSTEM_METRICS_INTERVAL": "0"}
    subprocess.run([sys.executable, "-c", SETUP], env=env, check=True, timeout=180)


@pytest.fixture(scope="module")
def page(lab, chromium):
    yield from lab_browser.new_page(chromium, "console-features.log", width=1500, height=1000)


def badge(page, view: str):
    return page.locator(f"{ROW.format(view)} .jp-mlp-FreshnessBadge").first


def test_the_list_shows_each_view_with_its_freshness(lab, views, page):
    page.goto(f"{lab.url}/lab?token={lab.token}")
    page.locator(PANEL_TAB).click()
    page.locator(f"{SIDEBAR} .jp-mlp-Sections [data-section='features']").click()
    page.locator(ROW.format("returns")).wait_for()

    fresh = badge(page, "customer_stats")
    assert fresh.get_attribute("data-status") == "fresh"
    assert fresh.inner_text().startswith("fresh · ") and fresh.inner_text().endswith(" old, SLO 1h")
    stale = badge(page, "orders_daily")
    assert stale.get_attribute("data-status") == "stale"
    assert stale.inner_text() == "stale · 3h old, SLO 1h"
    never = badge(page, "returns")
    assert never.get_attribute("data-status") == "never"
    assert never.inner_text() == "never materialized"

    row = page.locator(ROW.format("customer_stats")).inner_text()
    for expected in ("v1", "customer_id", "3 features", "lena"):
        assert expected in row, (expected, row)
    shot(page, "features-list")


def test_a_view_opens_with_its_schema_statistics_and_newest_rows(lab, views, page):
    page.locator(ROW.format("customer_stats")).click()
    view = page.locator(VIEW)
    view.locator(".jp-mlp-FeatureView-schema tr[data-feature='avg_spend']").wait_for()
    assert "Spend and orders per customer" in view.inner_text()
    definition = view.locator(".jp-mlp-FeatureView-definition").inner_text()
    for expected in ("lena", "customer_id", "event_timestamp", "created", "30d", "DataFrame, 40 rows"):
        assert expected in definition, (expected, definition)

    cells = lambda feature: view.locator(  # noqa: E731
        f".jp-mlp-FeatureView-schema tr[data-feature='{feature}'] td").all_inner_texts()
    # feature, dtype, nulls, min, max, mean: computed on the server from the source
    view.locator(".jp-mlp-FeatureView-summary").wait_for()
    assert cells("avg_spend") == ["avg_spend", "float", "1", "1.5", "39.5", "20.5"]
    assert cells("orders") == ["orders", "int", "0", "0", "78", "39"]
    assert cells("segment") == ["segment", "string", "0", "", "", ""]
    assert "40 rows, 20 keys" in view.locator(".jp-mlp-FeatureView-summary").inner_text()

    sample = view.locator(".jp-mlp-FeatureSample")
    headers = sample.locator("th").all_inner_texts()
    assert headers == ["customer_id", "event_timestamp", "created", "avg_spend", "orders", "segment"]
    rows = sample.locator("tbody tr")
    assert rows.count() == 10
    newest = rows.first.locator("td").all_inner_texts()
    assert newest[0] == "20" and newest[3:] == ["39.5", "78", "gold"]

    freshness = view.locator(".jp-mlp-FeatureView-freshness")
    assert freshness.locator(".jp-mlp-FreshnessBadge[data-status='fresh']").count() == 1
    text = freshness.inner_text()
    assert "/ 1h" in text and "v1" in text, text
    done = view.locator(".jp-mlp-Materialization[data-status='finished']")
    assert done.count() == 1 and "20 keys" in done.inner_text()
    assert view.locator(".jp-mlp-FeatureView-versions th").all_inner_texts() == ["v1"]
    shot(page, "features-view")


def test_the_opened_view_comes_back_after_a_reload_and_back_returns_to_the_list(lab, views,
                                                                                 page):
    page.reload()
    page.locator(f"{VIEW} .jp-mlp-FeatureSample tbody tr").first.wait_for()
    page.locator(f"{VIEW} .jp-mlp-FeatureView-back").click()
    page.locator(ROW.format("orders_daily")).wait_for()
    page.locator(f"{SIDEBAR} .jp-mlp-Sections [data-section='runs']").click()
    page.locator(f"{SIDEBAR} .jp-mlp-RunsBrowser").wait_for()
    assert page.locator(f"{SIDEBAR} .jp-mlp-Features").count() == 0
