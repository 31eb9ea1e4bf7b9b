"""Shared fixtures.

`make test` runs `pytest notebooks tests`: nbval first executes every report notebook once with
its own defaults (quick settings, as JupyterLab runs them), writing artifacts to
`reports/interactive/<notebook>/`; then `sample_run` executes every notebook once through the
runner (`revlib run -p fast=true`, as scheduled runs do) into a temporary folder. Tests of any
report read that run, and the determinism check compares the two executions' artifacts.
Tests that need `sample_run` are marked `notebooks` (`make test-fast` leaves them out).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "sample"
REAL = ROOT.parent / "shared" / "data" / "real"
INTERACTIVE = ROOT / "reports" / "interactive"
SESSION_START = time.time()


def pytest_collection_modifyitems(config, items) -> None:
    """Mark tests that use `sample_run`; remember which notebooks nbval executes."""
    nbval_notebooks = set()
    for item in items:
        if "sample_run" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.notebooks)
        path = Path(str(getattr(item, "path", "")))
        if path.suffix == ".ipynb":
            nbval_notebooks.add(path.stem)
    config.stash[NBVAL_NOTEBOOKS] = nbval_notebooks


NBVAL_NOTEBOOKS = pytest.StashKey[set]()


@pytest.fixture(scope="session")
def nbval_notebooks(request) -> set[str]:
    """Names of the notebooks nbval executes in this session (empty when run without nbval)."""
    return request.config.stash.get(NBVAL_NOTEBOOKS, set())


@pytest.fixture(scope="session")
def sample_run(tmp_path_factory):
    """(out_dir, exit_code, run.json) of `revlib run --out TMP -p fast=true` on the sample."""
    from revlib import cli

    out = tmp_path_factory.mktemp("sample_run") / "reports"
    code = cli.main(["run", "--root", str(ROOT), "--out", str(out), "-p", "fast=true"])
    target = out if out.exists() else next(out.parent.glob("reports.failed-*"))
    return target, code, json.loads((target / "run.json").read_text())
