"""House rules for report notebooks, checked statically (nbval executes them separately)."""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import pytest

from revlib.data import TABLE_NAMES
from revlib.runner import SHARED_PARAMETERS as RUNNER_SHARED
from revlib.runner import discover_notebooks

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))
SHARED_PARAMETERS = {"data_dir", "output_dir"}  # fast/seed/as_of only where they do something


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
        assert isinstance(node, ast.AnnAssign), (
            f"{path.name}: line {node.lineno}: annotate the parameter's type (e.g. x: float = 1.0)"
        )
    for name, shared in RUNNER_SHARED.items():  # one meaning, one type, in every notebook
        if name in info.parameters:
            assert info.parameters[name].type_text == shared.type_text, (
                f"{path.name}: {name} must be declared as {shared.type_text}"
            )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_tables_declared_once_and_visibly(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    assert not {"requires", "optional"} & set(nb.metadata.get("revlib", {})), (
        f"{path.name}: declare tables in REQUIRED_TABLES / OPTIONAL_TABLES, not in metadata"
    )
    info = discover_notebooks(path.parent)[path.stem]
    assert info.error is None, info.error
    assert set(info.requires) | set(info.optional) <= set(TABLE_NAMES)
    assert not set(info.requires) & set(info.optional)
    sources = [c.source for c in nb.cells if c.cell_type == "code"]
    assert sum("REQUIRED_TABLES = " in s for s in sources) == 1, f"{path.name}: REQUIRED_TABLES"


LOAD_DECLARED = (
    "data.load_tables(data_dir, [*REQUIRED_TABLES, *OPTIONAL_TABLES], required=REQUIRED_TABLES)"
)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_tables_loaded_as_declared(path: Path) -> None:
    """Every notebook loads exactly its declared tables, one way: no table list of its own."""
    nb = nbformat.read(path, as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    flat = "".join(code.split())  # white space aside
    assert flat.count("load_tables(") == 1, f"{path.name}: load the tables once"
    assert "".join(LOAD_DECLARED.split()) in flat, f"{path.name}: load with {LOAD_DECLARED}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_metadata_and_no_definitions(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    meta = nb.metadata.get("revlib", {})
    assert meta.get("title"), f"{path.name}: metadata.revlib.title missing"
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
