"""The command line: every documented command parses and plans as written, and bad input of
`validate`, `synth` and `score` gives exit 2 with a message and writes nothing."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from revlib import cli
from revlib.runner import plan_run
from tests.data.test_data import write_valid

ROOT = Path(__file__).resolve().parent.parent


def _documented_run_commands() -> list[str]:
    """Every `revlib run ...` line of the README and of `revlib run --help`."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    help_text = cli._parser()._subparsers._group_actions[0].choices["run"].format_help()
    found = re.findall(r"revlib run\b[^#`\n]*", readme + "\n" + help_text)
    return sorted({c.strip() for c in found if "--help" not in c and "[" not in c})


def test_documented_commands_are_found() -> None:
    commands = _documented_run_commands()
    assert any("arr_target=5e6" in c for c in commands) and len(commands) >= 4


@pytest.mark.parametrize("command", _documented_run_commands())
def test_documented_run_commands_plan_as_written(command: str, tmp_path: Path) -> None:
    """Parsed, parameters converted, output folder checked: all without executing notebooks."""
    args = cli._parser().parse_args(shlex.split(command)[1:])
    plan_run(
        args.notebooks,
        data_dir=args.data,
        out_dir=args.out.replace("/tmp/", f"{tmp_path}/") if args.out else None,
        params=args.params,
        params_file=ROOT / args.params_file if args.params_file else None,
        root=ROOT,
    )


def test_readme_parameter_example_is_a_float() -> None:
    plan = plan_run(["arr_tracker"], params=["arr_target=5e6"], root=ROOT)
    # as_of is a shared parameter: the runner passes its default (the data's last period)
    assert plan.parameters["arr_tracker"] == {"arr_target": 5e6, "as_of": ""}
    assert type(plan.parameters["arr_tracker"]["arr_target"]) is float


def test_help_and_version_do_not_import_pandas() -> None:
    code = (
        "import sys\nfrom revlib import cli\n"
        "try:\n    cli.main(['--version'])\nexcept SystemExit:\n    pass\n"
        "try:\n    cli.main(['run', '--help'])\nexcept SystemExit:\n    pass\n"
        "print('PANDAS' if 'pandas' in sys.modules else 'NO-PANDAS')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().endswith("NO-PANDAS")


def test_validate_unknown_table_is_named(tmp_path: Path, capsys) -> None:
    write_valid(tmp_path / "d")
    assert cli.main(["validate", str(tmp_path / "d"), "--tables", "nosuchtable"]) == 2
    err = capsys.readouterr().err
    assert "unknown table(s) 'nosuchtable'" in err and "subscriptions" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--accounts", "0"], "accounts must be >= 50, got 0"),
        (["--accounts", "-5"], "accounts must be >= 50"),
        (["--accounts", "100000000"], "--accounts must be at most 1,000,000"),
        (["--months", "0"], "months must be between 13 and 120, got 0"),
        (["--seed", "-1"], "--seed must be between 0 and"),
        (["--start", "2023-13-01"], "start must be an ISO date"),
    ],
)
def test_synth_rejects_absurd_arguments(tmp_path: Path, capsys, args, message) -> None:
    out = tmp_path / "company"
    assert cli.main(["synth", *args, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not out.exists()


def test_score_with_a_corrupt_model(tmp_path: Path, capsys) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "model.txt").write_text("not a LightGBM model\n")
    (model / "model.json").write_text("{broken")
    write_valid(tmp_path / "d")
    out = tmp_path / "scores.csv"
    code = cli.main(
        ["score", "--model", str(model), "--data", str(tmp_path / "d"), "--out", str(out)]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "cannot read the model" in err and "Traceback" not in err
    assert not out.exists()
