"""Shared fixtures.

`make test` runs `pytest notebooks tests`: nbval first executes every report notebook once with
its own defaults (quick settings, as JupyterLab runs them), writing artifacts to
`reports/interactive/<notebook>/`; and `sample_run` executes every notebook once through the
runner (`revlib run -p fast=true`, as scheduled runs do) into a temporary folder, in a second
process started beside nbval. Tests of any report read that run, and the determinism check
compares the two executions' artifacts. Tests that need `sample_run` are marked `notebooks`
(`make test-fast` leaves them out).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
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


BACKGROUND_RUN = pytest.StashKey[tuple[subprocess.Popen, Path, Path]]()


def pytest_collection_finish(session) -> None:
    """When nbval and tests that need `sample_run` are in one session (`make test`), start the
    runner's sample run now, in a second process, so it runs beside nbval on the other core
    instead of after it. Same command and results as running it in the fixture."""
    items = session.items
    needs_run = any("sample_run" in getattr(i, "fixturenames", ()) for i in items)
    has_nbval = any(Path(str(getattr(i, "path", ""))).suffix == ".ipynb" for i in items)
    if not (needs_run and has_nbval):
        return
    folder = Path(tempfile.mkdtemp(prefix="revlib-sample-run-"))
    log = (folder / "run.log").open("w")
    cmd = [sys.executable, "-m", "revlib.cli", "run", "--root", str(ROOT)]
    cmd += ["--out", str(folder / "reports"), "-p", "fast=true"]
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    session.config.stash[BACKGROUND_RUN] = (proc, folder, folder / "reports")


def pytest_sessionfinish(session) -> None:
    started = session.config.stash.get(BACKGROUND_RUN, None)
    if started:
        proc, folder, _ = started
        if proc.poll() is None:  # the session ended early (-x, interrupt)
            proc.terminate()
            proc.wait(timeout=60)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def sample_run(request, tmp_path_factory):
    """(out_dir, exit_code, run.json) of `revlib run --out TMP -p fast=true` on the sample."""
    started = request.config.stash.get(BACKGROUND_RUN, None)
    if started:
        proc, folder, out = started
        code = proc.wait()
        print((folder / "run.log").read_text())  # the runner's progress, shown on failure
    else:
        from revlib import cli

        out = tmp_path_factory.mktemp("sample_run") / "reports"
        code = cli.main(["run", "--root", str(ROOT), "--out", str(out), "-p", "fast=true"])
    target = out if out.exists() else next(out.parent.glob("reports.failed-*"))
    return target, code, json.loads((target / "run.json").read_text())
