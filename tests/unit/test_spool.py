"""The on-disk spool: order, claiming files of dead processes, torn files."""

from __future__ import annotations

import os
import subprocess
import sys
from array import array

import pytest

from mlp._spool import Spool


def _batch(run_id: str, key: str, start: int, n: int) -> dict:
    steps = array("q", range(start, start + n))
    return {(run_id, key): (steps, array("d", [1.0] * n), array("d", map(float, steps)))}


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _replay(spool: Spool) -> tuple[list[tuple[str, list[int]]], list[dict]]:
    sent: list[tuple[str, list[int]]] = []
    ops: list[dict] = []
    spool.replay(lambda b, _id: sent.extend((k[1], [int(x) for x in s[0]]) for k, s in b.items()),
                 ops.append)
    return sent, ops


def test_files_replay_in_the_order_they_were_written(tmp_path):
    spool = Spool(tmp_path, "server:http://a")
    spool.write_batch(_batch("r1", "loss", 0, 3))
    spool.write_op({"op": "end_run", "run_id": "r1"})
    spool.write_batch(_batch("r2", "acc", 5, 2))
    assert spool.points == 5
    sent, ops = _replay(spool)
    assert sent == [("loss", [0, 1, 2]), ("acc", [5, 6])]
    assert ops == [{"op": "end_run", "run_id": "r1"}]
    assert not spool and not list(spool.dir.glob("*.mlpm")) and spool.points == 0


def test_a_failed_replay_keeps_the_file_for_the_next_try(tmp_path):
    spool = Spool(tmp_path, "server:http://a")
    spool.write_batch(_batch("r1", "loss", 0, 3))

    def down(batch, batch_id):
        raise ConnectionError("still away")

    with pytest.raises(ConnectionError):
        spool.replay(down, lambda op: None)
    assert len(spool.files()) == 1
    sent, _ = _replay(spool)
    assert sent == [("loss", [0, 1, 2])]


def test_each_destination_has_its_own_folder(tmp_path):
    a, b = Spool(tmp_path, "server:http://a"), Spool(tmp_path, "store:sqlite:///x.db")
    a.write_batch(_batch("r1", "loss", 0, 1))
    assert a.dir != b.dir and not Spool(tmp_path, "store:sqlite:///x.db")
    assert (a.dir.parent / "DESTINATION").read_text().strip() == "server:http://a"


def test_files_of_a_dead_process_are_claimed_and_replayed(tmp_path):
    writer = Spool(tmp_path, "server:http://a")
    path = writer.write_batch(_batch("r1", "loss", 0, 4))
    dead = _dead_pid()
    os.rename(path, path.with_name(path.name.replace(f"-{os.getpid()}-", f"-{dead}-")))
    sent, _ = _replay(Spool(tmp_path, "server:http://a"))
    assert sent == [("loss", [0, 1, 2, 3])]
    assert not list(writer.dir.glob("*.mlpm"))


def test_files_of_a_live_process_are_left_to_it(tmp_path):
    writer = Spool(tmp_path, "server:http://a")
    path = writer.write_batch(_batch("r1", "loss", 0, 4))
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"]) as other:
        try:
            os.rename(path, path.with_name(path.name.replace(f"-{os.getpid()}-",
                                                             f"-{other.pid}-")))
            assert not Spool(tmp_path, "server:http://a")
        finally:
            other.kill()


def test_a_torn_file_is_set_aside_not_replayed_forever(tmp_path):
    spool = Spool(tmp_path, "server:http://a")
    path = spool.write_batch(_batch("r1", "loss", 0, 4))
    path.write_bytes(path.read_bytes()[:-5])  # cut short, as by a crash mid-write
    spool.write_batch(_batch("r1", "loss", 4, 1))
    sent, _ = _replay(spool)
    assert sent == [("loss", [4])]
    assert path.with_suffix(".bad").exists()
