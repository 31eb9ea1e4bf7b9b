"""House rules for report notebooks, checked statically (nbval executes them separately)."""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import pytest

from revlib.data import TABLE_NAMES
from revlib.runner import discover_notebooks

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))
SHARED_PARAMETERS = {"data_dir", "output_dir", "fast", "seed"}


def test_there_are_notebooks() -> None:
    assert {p.stem for p in NOTEBOOKS} >= {"data_overview"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_without_outputs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    with_outputs = [
        i
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code" and (c.outputs or c.execution_count)
    ]
    assert not with_outputs, (
        f"{path.name}: cells {with_outputs} have outputs; strip them (reports hold outputs)"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_parameters_cell(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: needs exactly one cell tagged 'parameters'"
    info = discover_notebooks(path.parent)[path.stem]
    assert SHARED_PARAMETERS <= set(info.defaults), (
        f"{path.name}: parameters lack {SHARED_PARAMETERS - set(info.defaults)}"
    )
    for node in ast.parse(tagged[0].source).body:  # literals only
        assert isinstance(node, (ast.Assign, ast.AnnAssign)), (
            f"{path.name}: parameters cell must hold assignments only"
        )
        ast.literal_eval(node.value)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_metadata_and_no_definitions(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    meta = nb.metadata.get("revlib", {})
    assert meta.get("title"), f"{path.name}: metadata.revlib.title missing"
    assert set(meta.get("requires", [])) <= set(TABLE_NAMES)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        tree = ast.parse(cell.source)
        defs = [
            n.name
            for n in ast.walk(tree)
            if isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))
        ]
        assert not defs, f"{path.name}: defines {defs}; logic belongs in revlib"
