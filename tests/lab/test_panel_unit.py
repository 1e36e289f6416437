"""The panel's own unit tests (vitest, labextension/test/) as part of the Python suite, so
`make test` and CI run them too."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LABEXT = ROOT / "labextension"


def test_panel_unit_tests_pass():
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "CI": "true"}  # vitest: no watch mode, plain output
    jlpm = shutil.which("jlpm", path=env["PATH"])
    assert jlpm, "jlpm comes with jupyterlab: install the [lab] extra"
    if not (LABEXT / "node_modules" / ".bin" / "vitest").exists():
        subprocess.run([jlpm, "install"], cwd=LABEXT, env=env, check=True, timeout=600)
    proc = subprocess.run([jlpm, "test"], cwd=LABEXT, env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    assert " passed" in proc.stdout and "failed" not in proc.stdout
