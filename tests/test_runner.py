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
from tests.data.test_data import replace_in, write_valid

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


@pytest.mark.notebooks  # executes the tiny workspace notebooks (kernels start)
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
    shown = capsys.readouterr().out
    assert "[1/1] alpha: ok" in shown  # progress: each report, and each section as it starts
    assert "[1/1] alpha: Alpha (cell 1/4)" in shown  # papermill's injected-parameters cell counts


def test_section_steps_name_each_heading_at_its_first_code_cell() -> None:
    from revlib.runner import section_steps

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Title\n\nIntro."),
        nbformat.v4.new_code_cell("a = 1"),
        nbformat.v4.new_code_cell("b = 2"),
        nbformat.v4.new_markdown_cell("Text without a heading."),
        nbformat.v4.new_code_cell("c = 3"),
        nbformat.v4.new_markdown_cell("## Sampling\n\nThe slow part."),
        nbformat.v4.new_markdown_cell("More words."),
        nbformat.v4.new_code_cell("d = 4"),
    ]
    assert section_steps(nb) == {1: "Title (cell 1/4)", 7: "Sampling (cell 4/4)"}


@pytest.mark.notebooks  # executes the tiny workspace notebooks (kernels start)
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


@pytest.mark.notebooks  # executes the tiny workspace notebooks (kernels start)
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


@pytest.mark.notebooks  # executes the tiny workspace notebooks (kernels start)
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


@pytest.mark.notebooks  # executes the tiny workspace notebooks (kernels start)
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


def _artifact_files(folder: Path) -> list[Path]:
    return sorted(p.relative_to(folder) for p in folder.rglob("*") if p.is_file())


def test_real_reports_are_deterministic(sample_run, nbval_notebooks, tmp_path: Path) -> None:
    """Same data, parameters and seed give the same artifacts, byte for byte.

    Under `make test` every notebook has run twice already, quick settings and seed 42 both
    times: once by nbval with its own defaults (artifacts in reports/interactive/) and once by
    the runner with -p fast=true (`sample_run`); the two are compared. A notebook nbval did not
    execute in this session is run once more through the runner instead.
    """
    from tests.conftest import INTERACTIVE, SESSION_START

    first, code, run = sample_run
    assert code == 0
    names = [r["name"] for r in run["reports"]]
    again_names = [n for n in names if n not in nbval_notebooks]
    again = tmp_path / "again"
    if again_names:
        root = Path(__file__).resolve().parent.parent
        args = ["run", *again_names, "--root", str(root), "--out", str(again), "-p", "fast=true"]
        assert cli.main(args) == 0
    for name in names:
        other = again / name if name in again_names else INTERACTIVE / name
        files = _artifact_files(first / name)
        assert files, f"{name} wrote no artifacts"
        fresh_enough = SESSION_START if name not in again_names else 0.0
        stale = [
            str(f)
            for f in files
            if not (other / f).is_file() or (other / f).stat().st_mtime < fresh_enough
        ]
        assert not stale, f"{name}: the other run did not write {stale}"
        differ = [
            str(f) for f in files if (first / name / f).read_bytes() != (other / f).read_bytes()
        ]
        assert not differ, f"{name}: artifacts differ between two runs with the same seed: {differ}"


# ----------------------------------------------------------------------------- --out safety


def _user_files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and "reports" not in p.relative_to(root).parts
    }


@pytest.mark.parametrize(
    ("out", "message"),
    [
        ("data/sample/subscriptions.csv", "is a file"),
        ("/", "file-system root"),
        (".", "project folder"),
        ("..", "project folder"),
        ("reports", "is reports/ itself"),
        ("data/sample", "data directory"),
        ("data", "data directory"),
        ("data/sample/reports", "data directory"),
        ("notebooks", "not an earlier revlib run (no run.json)"),
        ("notes.txt", "is a file"),
        ("notes.txt/x", "notes.txt is a file"),
    ],
)
def test_out_that_would_lose_user_files_is_refused(
    workspace: Path, capsys, out: str, message: str
) -> None:
    (workspace / "reports").mkdir()
    (workspace / "reports" / "README.md").write_text("tracked\n")
    (workspace / "notes.txt").write_text("the user's notes\n")
    before = _user_files(workspace)
    target = out if out.startswith("/") else str(workspace / out)
    assert run_cli(workspace, "alpha", "--out", target) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert _user_files(workspace) == before  # every user file still there, unchanged
    assert os.listdir(workspace / "reports") == ["README.md"]
    assert not list(workspace.rglob(".*partial*")) and not list(Path("/").glob(".*partial*"))


@pytest.mark.notebooks  # executes the tiny workspace notebooks (kernels start)
def test_replacing_an_earlier_run_keeps_nothing_stale_and_names_the_final_folder(
    workspace: Path,
) -> None:
    out = workspace / "custom"
    assert run_cli(workspace, "alpha", "--out", str(out)) == 0
    (out / "marker-of-old-run").write_text("old")
    assert run_cli(workspace, "alpha", "--out", str(out), "-p", "scale=3") == 0
    assert not (out / "marker-of-old-run").exists()  # replaced ...
    leftovers = [p.name for p in workspace.iterdir() if p.name.startswith(".custom")]
    assert leftovers == []  # ... and neither the backup nor the staging folder is left
    executed = (out / "alpha.ipynb").read_text()
    run_doc = json.loads((out / "run.json").read_text())
    assert json.dumps(str(out / "alpha"))[1:-1] in executed  # output_dir as published
    assert run_doc["out_dir"] == str(out)
    for path in out.iterdir():
        if path.is_file():
            assert ".partial-" not in path.read_text(), path.name


def test_run_ids_are_reserved_atomically(tmp_path: Path) -> None:
    from revlib.runner import reserve_run_id

    now = __import__("datetime").datetime(2024, 3, 31, 12, 0, 0)
    ids = [reserve_run_id(tmp_path, now) for _ in range(3)]
    assert ids == ["20240331-120000", "20240331-120000-2", "20240331-120000-3"]
    assert all((tmp_path / i).is_dir() for i in ids)


def test_stale_staging_of_dead_processes_is_cleaned_only_if_revlib_made_it(tmp_path: Path) -> None:
    import subprocess
    import sys

    from revlib.runner import STAGING_MARKER, clean_stale_staging

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], **CAPTURE)
    dead_pid = int(dead.stdout)
    stale, alive, foreign = (tmp_path / f".r.partial-{i}" for i in ("a", "b", "c"))
    for folder, pid in ((stale, dead_pid), (alive, os.getppid())):
        folder.mkdir()
        (folder / STAGING_MARKER).write_text(f"{pid}\n")
    foreign.mkdir()
    (foreign / "user.txt").write_text("not revlib's")
    assert clean_stale_staging(tmp_path) == [stale]
    assert not stale.exists() and alive.exists() and (foreign / "user.txt").exists()


CAPTURE = {"capture_output": True, "text": True, "check": True}


# ----------------------------------------------------------------------------- typed parameters

TYPED_PARAMS = """\
data_dir: str = "../data/sample"
output_dir: str = "out"
fast: bool = False
seed: int = 42
as_of: str = ""
arr_target: float = 28_000_000.0
target_date: str = "2026-12-31"
names: list[str] = ["a"]
weights: dict[str, float] = {"a": 1.0}
cohort: str | None = None
label_lag: int | str = "auto"
"""


@pytest.fixture
def typed(tmp_path: Path):
    from revlib.runner import read_notebook_info

    make_notebook(tmp_path / "typed.ipynb", TYPED_PARAMS, "pass", requires=["subscriptions"])
    return read_notebook_info(tmp_path / "typed.ipynb")


def _resolve(nb, *texts: str, per_file: dict | None = None) -> dict:
    from revlib.runner import parse_parameter, resolve_parameters

    common = dict(per_file or {})
    common.update(parse_parameter(t) for t in texts)
    return resolve_parameters([nb], common, {})[nb.name]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("arr_target=5e6", 5_000_000.0),
        ("arr_target=1_000", 1000.0),
        ("arr_target=30000000", 30_000_000.0),
        ("as_of=2024-03-31", "2024-03-31"),
        ("as_of=2024-03", "2024-03"),
        ("as_of=", ""),
        ("target_date=2026-12-31", "2026-12-31"),
        ("fast=yes", True),
        ("fast=0", False),
        ("seed=7", 7),
        ("seed=1e3", 1000),
        ("names=[x, y]", ["x", "y"]),
        ("names=[2024-01-01]", ["2024-01-01"]),
        ("weights={a: 1, b: 2.5}", {"a": 1.0, "b": 2.5}),
        ("cohort=2024-01", "2024-01"),
        ("cohort=null", None),
        ("label_lag=30", 30),
        ("label_lag=auto", "auto"),
    ],
)
def test_parameters_are_converted_to_their_declared_types(typed, text, expected) -> None:
    name = text.split("=")[0]
    value = _resolve(typed, text)[name]
    assert value == expected and type(value) is type(expected)


def test_parameters_file_values_are_converted_too(typed) -> None:
    import datetime as dt

    values = _resolve(
        typed, per_file={"target_date": dt.date(2026, 6, 30), "arr_target": "5e6", "seed": 3}
    )
    # the runner's defaults for the shared parameters are injected too (full settings)
    assert values == {
        "target_date": "2026-06-30",
        "arr_target": 5e6,
        "seed": 3,
        "fast": False,
        "as_of": "",
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("arr_target=abc", "parameter 'arr_target' of typed expects float, got abc"),
        ("arr_target=inf", "expects float, got inf"),
        ("seed=2.5", "parameter 'seed' of typed expects int, got 2.5"),
        ("fast=maybe", "parameter 'fast' of typed expects bool, got maybe"),
        ("as_of=tomorrow", "parameter 'as_of' expects an ISO date"),
        ("target_date=2026-13-45", "expects str (an ISO date), got 2026-13-45"),
        ("names=x", "expects list[str], got x"),
        ("arr_targt=1", "unknown parameter 'arr_targt'"),
        ("arr_targt=1", "did you mean 'arr_target'?"),
    ],
)
def test_wrong_parameter_values_name_parameter_type_and_value(typed, text, message) -> None:
    from revlib.runner import UsageError

    with pytest.raises(UsageError) as info:
        _resolve(typed, text)
    assert message in str(info.value)


def test_injected_values_are_plain_literals(typed) -> None:
    values = _resolve(typed, "names=[2024-01-01, b]", "weights={a: 1}", "target_date=2026-01-31")

    def plain(v) -> bool:
        if isinstance(v, dict):
            return all(isinstance(k, str) and plain(x) for k, x in v.items())
        if isinstance(v, list):
            return all(plain(x) for x in v)
        return v is None or type(v) in (bool, int, float, str)

    assert plain(values)


def test_shared_parameters_are_accepted_by_every_run(typed) -> None:
    from revlib.runner import resolve_parameters

    bare = typed.__class__(name="bare", path=typed.path, title="x", requires=[], optional=[])
    assert resolve_parameters([bare], {"fast": True, "as_of": "2024-03"}, {}) == {"bare": {}}


# ----------------------------------------------------------------------------- broken input


def test_broken_notebook_breaks_only_itself(workspace: Path, capsys) -> None:
    from revlib.runner import plan_run

    (workspace / "notebooks" / "Untitled.ipynb").write_text("")
    plan = plan_run(root=workspace)
    assert [nb.name for nb in plan.notebooks] == ["alpha", "beta"]
    assert "Untitled" in plan.skipped
    assert cli.main(["list", "--root", str(workspace)]) == 0
    out = capsys.readouterr().out
    assert "Untitled: BROKEN, cannot be run" in out and "alpha: Alpha" in out
    assert run_cli(workspace, "Untitled") == 2
    err = capsys.readouterr().err
    assert "notebook 'Untitled' cannot be run" in err and "Traceback" not in err
    assert not (workspace / "reports").exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("notebooks: [x]\n", "'notebooks' must map notebook names"),
        ("parameters: [1, 2]\n", "'parameters' must be a mapping"),
        ("notebooks:\n  alpha: [1]\n", "notebooks.alpha must be a mapping"),
        ("scale: " + "[" * 30 + "]" * 30 + "\n", "nested more than"),
        ("1: 2\n", "1 is not a parameter name"),
        ("- a\n- b\n", "must hold a mapping"),
        ("parameters: {scale: x}\nnotebooks: {}\n", "expects float, got 'x'"),
    ],
)
def test_params_files_of_the_wrong_shape(workspace, tmp_path, capsys, content, message) -> None:
    pf = tmp_path / "p.yaml"
    pf.write_text(content)
    assert run_cli(workspace, "--params", str(pf)) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (workspace / "reports").exists()


def test_list_with_a_missing_root(capsys) -> None:
    assert cli.main(["list", "--root", "/nonexistent"]) == 2
    assert "no notebooks folder at /nonexistent/notebooks" in capsys.readouterr().err
