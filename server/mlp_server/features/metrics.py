"""Feature freshness as Prometheus metrics, on the Jupyter server's ``/metrics``.

The collector reports the last snapshot the server took (off the event loop, every
``MLPExtension.freshness_interval`` seconds), so a scrape never waits for the database.
"""

from __future__ import annotations

import threading
from typing import Any

_snapshot: list[dict] = []
_lock = threading.Lock()
_registered = False


def update(rows: list[dict]) -> None:
    global _snapshot
    with _lock:
        _snapshot = list(rows)


class FreshnessCollector:
    def collect(self):
        from prometheus_client.core import GaugeMetricFamily

        with _lock:
            rows = list(_snapshot)
        age = GaugeMetricFamily("mlp_feature_view_age_seconds",
                                "Seconds since the newest event time materialized online",
                                labels=["view"])
        newest = GaugeMetricFamily("mlp_feature_view_newest_event_timestamp_seconds",
                                   "Newest event time materialized online (epoch seconds)",
                                   labels=["view"])
        last = GaugeMetricFamily("mlp_feature_view_last_materialized_timestamp_seconds",
                                 "When the last materialization finished (epoch seconds)",
                                 labels=["view"])
        slo = GaugeMetricFamily("mlp_feature_view_freshness_slo_seconds",
                                "The view's freshness SLO", labels=["view"])
        stale = GaugeMetricFamily("mlp_feature_view_stale",
                                  "1 when the view is older than its SLO or never "
                                  "materialized, else 0", labels=["view"])
        for r in rows:
            v = [r["view"]]
            if r["age"] is not None:
                age.add_metric(v, r["age"])
            if r["newest_event_time"] is not None:
                newest.add_metric(v, r["newest_event_time"])
            if r["last_materialized"] is not None:
                last.add_metric(v, r["last_materialized"])
            if r["slo"] is not None:
                slo.add_metric(v, r["slo"])
            stale.add_metric(v, 1.0 if r["status"] in ("stale", "never") else 0.0)
        yield from (age, newest, last, slo, stale)

    def describe(self) -> list[Any]:
        return []


def register() -> None:
    """Add the collector to prometheus_client's default registry (once per process)."""
    global _registered
    if _registered:
        return
    try:
        from prometheus_client import REGISTRY
    except ImportError:  # no prometheus_client: no /metrics either
        return
    REGISTRY.register(FreshnessCollector())
    _registered = True
