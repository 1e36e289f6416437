"""The SDK's side of jobs, without a cluster: what a job asks for, the folder it brings,
the names a cell takes from the notebook, and the memory watchdog."""

from __future__ import annotations

import sys
import zipfile
from io import BytesIO

import pytest

from mlp import _jobs
from mlp import _jobspec as js
from mlp.errors import InvalidInput


@pytest.mark.parametrize(("raw", "expected"), [
    ("4GiB", 4 * 2**30), ("512MiB", 512 * 2**20), ("2GB", 2 * 10**9), ("1.5G", 15 * 10**8),
    ("100", 100), (1024, 1024), (None, None), (" 3 mib ", 3 * 2**20)])
def test_memory_sizes(raw, expected):
    assert js.parse_memory(raw) == expected


@pytest.mark.parametrize("raw", ["4 parsecs", "-1GiB", 0, True, "GiB", "1e400"])
def test_bad_memory_sizes_say_how_to_write_one(raw):
    with pytest.raises(InvalidInput, match="memory="):
        js.parse_memory(raw)


def test_the_package_leaves_out_version_control_caches_and_excludes(tmp_path):
    (tmp_path / "train.py").write_text("print(1)")
    for d in (".git", "__pycache__", ".ipynb_checkpoints", "data", "src/__pycache__"):
        (tmp_path / d).mkdir(parents=True, exist_ok=True)
        (tmp_path / d / "x").write_text("x")
    (tmp_path / "src" / "model.py").write_text("m")
    (tmp_path / "notes.tmp").write_text("t")
    data = _jobs.package(tmp_path, excludes=["data/", "*.tmp"], extra={"_cell.py": b"c"})
    names = sorted(zipfile.ZipFile(BytesIO(data)).namelist())
    assert names == ["_cell.py", "src/model.py", "train.py"]


def test_a_folder_over_the_limit_is_refused_naming_the_biggest_entries(tmp_path):
    (tmp_path / "train.py").write_text("print(1)")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.bin").write_bytes(b"\0" * 5000)
    (tmp_path / "model.bin").write_bytes(b"\0" * 2000)
    with pytest.raises(InvalidInput) as e:
        _jobs.package(tmp_path, limit=4000)
    msg = str(e.value)
    assert "Biggest: data/ (4.9 KiB), model.bin (2.0 KiB)" in msg and "excludes=" in msg


def test_free_names_are_the_ones_a_cell_reads_but_never_binds():
    code = ("import os\nfrom math import sqrt as root\nx = df.mean() + np.pi\n"
            "def f(a, *args, b=2, **kw):\n    return a + b + y\n"
            "for i in range(3):\n    print(i, [j for j in range(i)], root(4))\n"
            "try:\n    pass\nexcept ValueError as err:\n    print(err)\n"
            "class K:\n    pass\nwith open(os.devnull) as fh:\n    z = K()\n"
            "model.fit(x)\n")
    assert _jobs.free_names(code) == ["df", "np", "y", "model"]
    with pytest.raises(InvalidInput, match="not valid Python"):
        _jobs.free_names("def (:")


def test_modules_and_imported_callables_are_imported_again_in_the_job():
    import collections

    import numpy as np

    assert _jobs._import_line("np", np) == "import numpy as np"
    assert _jobs._import_line("collections", collections) == "import collections"
    assert _jobs._import_line("OD", collections.OrderedDict) == \
        "from collections import OrderedDict as OD"
    assert _jobs._import_line("df", [1, 2]) is None

    def local():
        pass

    assert _jobs._import_line("local", local) is None


def test_a_cell_with_magics_or_unknown_inputs_is_refused(tmp_path):
    from IPython.testing.globalipapp import get_ipython

    ip = get_ipython()
    with pytest.raises(InvalidInput, match="IPython syntax"):
        _jobs.submit_cell("%time x = 1\n", {}, shell=ip, working_dir=tmp_path)
    with pytest.raises(InvalidInput, match="--inputs names nope, not defined in the notebook"):
        _jobs.submit_cell("print(nope)\n", {}, ["nope"], working_dir=tmp_path)
    with pytest.raises(InvalidInput, match=r"ghost \(defined nowhere: define them in the cell\)"):
        _jobs.submit_cell("print(ghost)\n", {}, working_dir=tmp_path)


def test_the_watchdog_stops_a_process_over_its_memory_and_warns_by_policy(capfd):
    from mlp import _jobrun

    hog = ("import time\nb = bytearray(300 * 2**20)\nb[::4096] = b'1' * len(b[::4096])\n"
           "time.sleep(4)\n")
    code = _jobrun.main(["--memory", str(100 * 2**20), "--", sys.executable, "-c", hog])
    err = capfd.readouterr().err
    assert code == 137 and "out of memory: the job uses" in err and "stopping it" in err
    assert "ask for more with memory='" in err.lower() or "Ask for more with memory='" in err
    code = _jobrun.main(["--memory", str(100 * 2**20), "--policy", "warn", "--",
                         sys.executable, "-c", hog])
    err = capfd.readouterr().err
    assert code == 0 and "warning: the job uses" in err
    code = _jobrun.main(["--", sys.executable, "-c", "raise SystemExit(4)"])
    assert code == 4


def test_advice_rounds_up_with_room():
    from mlp._jobrun import _advice

    assert _advice(300 * 2**20) == "375MiB"
    assert _advice(3 * 2**30) == "4GiB"
