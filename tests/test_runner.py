"""The runner and the command line, on tiny throwaway notebooks (fast and exact), plus the
real notebooks on the bundled sample (the `sample_run` fixture in conftest.py)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import nbformat
import pytest

from revlib import cli
from tests.test_data import replace_in, write_valid

OK_NB_CODE = """\
import pandas as pd
import matplotlib.pyplot as plt
from revlib import data
tables = data.load_tables(data_dir, required=["subscriptions"])
mrr = float(tables["subscriptions"]["mrr"].sum()) * scale
fig, ax = plt.subplots(); ax.plot([1, 2, 3]); plt.show()
data.write_artifacts(output_dir, {"total.json": {"mrr": mrr}, "subs.csv": tables["subscriptions"]})
print("SECRET_CODE_MARKER" if False else "total mrr", mrr)
"""


def make_notebook(path: Path, params: str, code: str, *, requires=(), title="Tiny") -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell(f"# {title}\n\nA tiny report for tests."),
        nbformat.v4.new_code_cell(params, metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(f"REQUIRED_TABLES = {list(requires)!r}\nOPTIONAL_TABLES = []"),
        nbformat.v4.new_code_cell(code),
    ]
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "revlib": {"title": title},
    }
    nbformat.write(nb, path)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A project folder with two notebooks (one works, one fails unless told otherwise) and data."""
    root = tmp_path / "ws"
    (root / "notebooks").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname='x'\n")
    params = (
        'data_dir = "../data/sample"\noutput_dir = "out"\nfast = False\nseed = 1\nscale = 1.0\n'
    )
    make_notebook(
        root / "notebooks" / "alpha.ipynb",
        params,
        OK_NB_CODE,
        requires=["subscriptions"],
        title="Alpha",
    )
    make_notebook(
        root / "notebooks" / "beta.ipynb",
        params + "explode = True\n",
        'if explode:\n    raise RuntimeError("beta exploded on purpose")\nprint("beta fine")',
        title="Beta",
    )
    write_valid(root / "data" / "sample")
    return root


def run_cli(root: Path, *args: str) -> int:
    return cli.main(["run", "--root", str(root), *args])


def test_successful_run_writes_everything(workspace: Path, capsys) -> None:
    code = run_cli(workspace, "alpha", "-p", "scale=2")
    assert code == 0
    latest = workspace / "reports" / "latest"
    assert latest.is_symlink()
    out = latest.resolve()
    assert {p.name for p in out.iterdir()} == {
        "alpha",
        "alpha.html",
        "alpha.ipynb",
        "index.html",
        "logs",
        "run.json",
    }
    run = json.loads((out / "run.json").read_text())
    (rep,) = run["reports"]
    assert (
        rep["status"] == "ok"
        and rep["parameters"]["scale"] == 2
        and rep["artifacts"] == ["subs.csv", "total.json"]
    )
    assert json.loads((out / "alpha" / "total.json").read_text()) == {
        "mrr": 2 * (149 + 299 + 45 + 749)
    }
    html = (out / "alpha.html").read_text()
    assert "revlib report · alpha" in html and "scale=2" in html and "pandas" in html  # header
    assert "data.load_tables" not in html  # no code cells
    assert re.search(r'src="data:image/png;base64,', html)  # images embedded
    index = (out / "index.html").read_text()
    assert 'href="alpha.html"' in index and "all reports succeeded" in index
    assert "[1/1] alpha: ok" in capsys.readouterr().out  # progress


def test_failing_notebook_does_not_stop_others_and_keeps_latest(workspace: Path, capsys) -> None:
    assert run_cli(workspace, "alpha") == 0
    good = (workspace / "reports" / "latest").resolve()
    code = run_cli(workspace)  # alpha and beta; beta fails
    assert code == 1
    assert (workspace / "reports" / "latest").resolve() == good  # latest not replaced
    runs = sorted(p for p in (workspace / "reports").iterdir() if p.name != "latest")
    failed = runs[-1]
    run = json.loads((failed / "run.json").read_text())
    status = {r["name"]: r["status"] for r in run["reports"]}
    assert status == {"alpha": "ok", "beta": "failed"}
    beta = next(r for r in run["reports"] if r["name"] == "beta")
    assert "beta exploded on purpose" in beta["error"]
    assert "1 of 2 reports failed" in (failed / "index.html").read_text()
    assert "This report failed" in (failed / "beta.html").read_text()
    assert "beta: FAILED" in capsys.readouterr().out


def test_explicit_out_is_not_overwritten_by_a_failed_run(workspace: Path) -> None:
    out = workspace / "custom"
    assert run_cli(workspace, "alpha", "--out", str(out)) == 0
    before = (out / "alpha" / "total.json").read_bytes()
    assert run_cli(workspace, "alpha", "beta", "--out", str(out)) == 1
    assert (out / "alpha" / "total.json").read_bytes() == before
    assert not (out / "beta.html").exists()
    assert any(p.name.startswith("custom.failed-") for p in workspace.iterdir())
    # a successful run replaces it
    assert run_cli(workspace, "alpha", "beta", "--out", str(out), "-p", "beta.explode=false") == 0
    assert (out / "beta.html").exists()


def test_two_runs_give_identical_artifacts(workspace: Path) -> None:
    a, b = workspace / "a", workspace / "b"
    assert run_cli(workspace, "alpha", "--out", str(a)) == 0
    assert run_cli(workspace, "alpha", "--out", str(b)) == 0
    files = sorted(p.relative_to(a / "alpha") for p in (a / "alpha").rglob("*") if p.is_file())
    assert files
    assert all((a / "alpha" / f).read_bytes() == (b / "alpha" / f).read_bytes() for f in files)


def _no_new_report_folder(workspace: Path, before: set[str]) -> bool:
    reports = workspace / "reports"
    now = set(os.listdir(reports)) if reports.exists() else set()
    return now == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nosuch"], "unknown notebook(s) 'nosuch'"),
        (["-p", "scale"], "malformed -p value 'scale'"),
        (["-p", "scale=[1,"], "not valid YAML"),
        (["-p", "9x=1"], "is not a parameter name"),
        (["-p", "nonexistent=1"], "unknown parameter 'nonexistent'"),
        (["-p", "scale=abc"], "expects float"),
        (["-p", "data_dir=/x"], "set by --data"),
        (["alpha", "-p", "beta.explode=false"], "not in this run"),
        (["--params", "/no/such.yaml"], "parameters file not found"),
    ],
)
def test_bad_arguments_exit_2_and_write_nothing(workspace: Path, capsys, args, message) -> None:
    before = set(os.listdir(workspace / "reports")) if (workspace / "reports").exists() else set()
    assert run_cli(workspace, *args) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
    assert _no_new_report_folder(workspace, before)


def test_bad_data_exits_2_names_every_problem_and_writes_nothing(workspace: Path, capsys) -> None:
    bad = workspace / "bad"
    write_valid(bad)
    replace_in(bad, "subscriptions", ",149,", ",lots,")
    replace_in(bad, "subscriptions", "s4,a3", "s4,a9")
    out = workspace / "never"
    assert run_cli(workspace, "alpha", "--data", str(bad), "--out", str(out)) == 2
    err = capsys.readouterr().err
    assert "subscriptions.mrr: must be a number (1 row; e.g. line 2: 'lots')" in err
    assert "subscriptions.account_id: foreign key must match accounts.account_id (orphan)" in err
    assert "Traceback" not in err
    assert not out.exists() and not any(p.name.startswith(".never") for p in workspace.iterdir())
    assert not (workspace / "reports").exists()


def test_missing_data_dir_and_required_table(workspace: Path, capsys) -> None:
    assert run_cli(workspace, "alpha", "--data", str(workspace / "nowhere")) == 2
    assert "not found" in capsys.readouterr().err
    empty = workspace / "empty"
    empty.mkdir()
    assert run_cli(workspace, "alpha", "--data", str(empty)) == 2
    assert "subscriptions: required table is missing" in capsys.readouterr().err


def test_params_file(workspace: Path, tmp_path: Path) -> None:
    pf = tmp_path / "p.yaml"
    pf.write_text("parameters:\n  scale: 3\nnotebooks:\n  beta:\n    explode: false\n")
    out = workspace / "pf"
    assert run_cli(workspace, "--params", str(pf), "--out", str(out), "-p", "scale=4") == 0
    assert json.loads((out / "alpha" / "total.json").read_text())["mrr"] == 4 * 1242  # -p wins


def test_run_help_documents_every_option(capsys) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["run", "--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    for option in ("NOTEBOOK", "--data", "--out", "-p", "--params", "--root"):
        assert option in text


def test_validate_command(workspace: Path, capsys) -> None:
    assert cli.main(["validate", str(workspace / "data" / "sample")]) == 0
    assert "subscriptions: 4 rows" in capsys.readouterr().out


def test_sample_run_report_index(sample_run) -> None:
    """Every real notebook ran on the bundled sample (fast=true) and has its report."""
    out, code, run = sample_run
    assert code == 0, [(r["name"], r["error"]) for r in run["reports"] if r["error"]]
    names = {p.stem for p in (Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb")}
    assert {r["name"] for r in run["reports"]} == names
    index = (out / "index.html").read_text()
    for name in names:
        assert f'href="{name}.html"' in index
        html = (out / f"{name}.html").read_text()
        assert "revlib report · " + name in html
        # the banner shows exactly where fast=true changed something (notebooks declaring fast)
        declares_fast = next(r for r in run["reports"] if r["name"] == name)["parameters"]
        assert ("Fast mode" in html) == ("fast" in declares_fast), name
        assert "Traceback" not in html
    overview = json.loads((out / "run.json").read_text())
    assert overview["status"] == "ok"
    assert (out / "data_overview" / "table_summary.csv").exists()


# The cheap reports plus one MCMC report: same data, parameters and seed => same bytes.
DETERMINISM_NOTEBOOKS = [
    "data_overview",
    "arr_tracker",
    "attribution_funnel",
    "price_test",
    "price_elasticity",
]


@pytest.mark.slow
def test_real_reports_are_deterministic(sample_run, tmp_path: Path) -> None:
    first, code, _ = sample_run
    assert code == 0
    root = Path(__file__).resolve().parent.parent
    names = [n for n in DETERMINISM_NOTEBOOKS if (root / "notebooks" / f"{n}.ipynb").exists()]
    again = tmp_path / "again"
    assert (
        cli.main(["run", *names, "--root", str(root), "--out", str(again), "-p", "fast=true"]) == 0
    )
    for name in names:
        files = sorted(
            p.relative_to(first / name) for p in (first / name).rglob("*") if p.is_file()
        )
        assert files, f"{name} wrote no artifacts"
        differ = [
            str(f)
            for f in files
            if (first / name / f).read_bytes() != (again / name / f).read_bytes()
        ]
        assert not differ, f"{name}: artifacts differ between two identical runs: {differ}"
