"""The development tools the docs promise work as documented (docs/development.md)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent


def test_nbdiff_shows_a_notebook_change_as_source_lines(tmp_path: Path) -> None:
    before = nbformat.read(ROOT / "notebooks" / "arr_tracker.ipynb", as_version=4)
    after = nbformat.read(ROOT / "notebooks" / "arr_tracker.ipynb", as_version=4)
    after.cells[0].source += "\nA sentence added in review."
    nbformat.write(before, tmp_path / "a.ipynb")
    nbformat.write(after, tmp_path / "b.ipynb")
    nbdiff = Path(sys.executable).with_name("nbdiff")
    exe = str(nbdiff) if nbdiff.exists() else shutil.which("nbdiff")
    assert exe, "nbdime is a dev dependency (pyproject.toml): nbdiff must be installed"
    out = subprocess.run(
        [exe, "--no-color", str(tmp_path / "a.ipynb"), str(tmp_path / "b.ipynb")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "+A sentence added in review." in out
    assert "cell" in out and "source" in out
