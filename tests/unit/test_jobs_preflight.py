"""Preflight against what a cluster has, without one: a fixed cluster refuses what no node
can run, saying what to ask for; an autoscaling one warns against the node types it can add."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from mlp.errors import InvalidInput
from mlp_server.jobs.service import JobService

GiB = 2**30


class FakeCluster:
    embedded = False
    started = True
    url = "http://ray-head:8265"

    def __init__(self, nodes, autoscaling=False, node_types=()):
        self._nodes, self._auto, self._types = nodes, autoscaling, list(node_types)

    def nodes(self):
        return self._nodes

    def usage(self):
        return {"in_use": {}, "autoscaling": self._auto, "node_types": self._types}


def service(cluster) -> JobService:
    return JobService(SimpleNamespace(store=None), cluster, home="/nonexistent")


NODES = [{"cpus": 4.0, "gpus": 0.0, "memory": 16 * GiB},
         {"cpus": 8.0, "gpus": 1.0, "memory": 32 * GiB}]


def test_a_request_some_node_fits_passes():
    assert service(FakeCluster(NODES)).preflight(8, 1, 30 * GiB) == []


def test_a_fixed_cluster_refuses_what_no_node_offers_and_says_what_to_ask_for():
    with pytest.raises(InvalidInput) as e:
        service(FakeCluster(NODES)).preflight(16, 2, 64 * GiB)
    assert str(e.value) == (
        "no node of the cluster can run this job: it asks for cpus=16, gpus=2, memory=64.0 GiB;"
        " the largest node offers cpus=8, gpus=1, memory=32.0 GiB. Ask for at most cpus=8, "
        "gpus=1, memory='32.0GiB' (or run on a bigger cluster)")
    # each resource alone: the 4-CPU node has no GPU, the GPU node enough CPUs
    with pytest.raises(InvalidInput, match=r"Ask for at most gpus=1 \("):
        service(FakeCluster(NODES)).preflight(2, 2, None)


def test_an_autoscaling_cluster_warns_instead_against_the_node_types_it_can_add():
    types = [{"name": "gpu", "cpus": 16.0, "gpus": 4.0, "memory": 128 * GiB}]
    svc = service(FakeCluster(NODES, autoscaling=True, node_types=types))
    assert svc.preflight(16, 2, 64 * GiB) == [
        "no node has cpus=16, gpus=2, memory=64.0 GiB now; the cluster may add one"]
    assert svc.preflight(32, 0, None) == [
        "no node type this cluster can add offers cpus=32: the job may wait forever"]


def test_a_local_head_not_started_yet_is_judged_by_this_machine():
    import os

    local = SimpleNamespace(embedded=True, started=False, cpus=2, url="")
    svc = service(local)
    assert svc.preflight(2, 0, None) == []
    with pytest.raises(InvalidInput, match="the largest node offers cpus=2"):
        svc.preflight(3, 0, None)
    with pytest.raises(InvalidInput, match="Ask for at most gpus=0"):
        svc.preflight(1, 1, None)
    assert os.cpu_count()


def test_log_chunks_never_cut_a_character_in_two():
    from mlp_server.jobs.service import _whole_utf8

    e, k = "é".encode(), "字".encode()
    assert _whole_utf8(b"abc") == 3
    assert _whole_utf8(b"ab" + e) == 4  # whole: kept
    assert _whole_utf8(b"ab" + e[:1]) == 2  # cut: waits for the next read
    assert _whole_utf8(b"ab" + k) == 5 and _whole_utf8(b"ab" + k[:2]) == 2
    assert _whole_utf8(b"") == 0
