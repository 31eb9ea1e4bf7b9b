"""Shared fixtures. `sample_run` executes every report notebook once on the bundled sample
(fast=true) into a temporary folder; tests of any report can read its artifacts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "sample"
REAL = ROOT.parent / "shared" / "data" / "real"


@pytest.fixture(scope="session")
def sample_run(tmp_path_factory):
    """(out_dir, exit_code, run.json) of `revlib run --out TMP -p fast=true` on the sample."""
    from revlib import cli

    out = tmp_path_factory.mktemp("sample_run") / "reports"
    code = cli.main(["run", "--root", str(ROOT), "--out", str(out), "-p", "fast=true"])
    target = out if out.exists() else next(out.parent.glob("reports.failed-*"))
    return target, code, json.loads((target / "run.json").read_text())
