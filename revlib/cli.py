"""The ``revlib`` command: run reports, validate data, generate the sample company, score deals.

Exit codes: 0 success; 1 a report notebook failed; 2 bad input or arguments (nothing written).
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence

from revlib import __version__

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="revlib",
        description="Revenue research workspace: run report notebooks, validate data, generate sample data.",
    )
    p.add_argument("--version", action="version", version=f"revlib {__version__}")
    p.add_argument("--debug", action="store_true", help="show Python tracebacks for errors")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser(
        "run",
        help="execute report notebooks into HTML reports",
        description=(
            "Execute report notebooks from notebooks/ headlessly (papermill) and write, per notebook, "
            "OUT/<notebook>.html (report), OUT/<notebook>.ipynb (executed notebook) and OUT/<notebook>/ "
            "(CSV/JSON artifacts), plus OUT/index.html and OUT/run.json. Input data are validated first: "
            "on bad input nothing is written and the exit code is 2. A failing notebook does not stop "
            "the others; it is marked failed and the exit code is 1. reports/latest moves only after a "
            "fully successful run."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(
            "examples:\n"
            "  revlib run                                   # every notebook, sample data\n"
            "  revlib run arr_tracker -p arr_target=5e6     # one notebook, one parameter\n"
            "  revlib run -p as_of=2024-03-31 -p fast=true  # shared parameters: every notebook\n"
            "  revlib run --data data/sample --out /tmp/acme-reports -p fast=true\n"
            "  revlib run --params params/example.yaml      # parameters from a file\n"
            "  revlib run -p price_elasticity.strict=true   # a parameter for one notebook only\n"
            "\n"
            "Values are converted to the types the notebooks declare (revlib list shows them):\n"
            "5e6 or 1_000 for a float, 2026-12-31 for a date, true/false/yes/no for a bool,\n"
            "[a, b] for a list, {a: 1} for a mapping.\n"
            "--out accepts a new or empty folder or an earlier run's folder (it holds run.json),\n"
            "which a successful run replaces; never the data directory, the project folder,\n"
            "reports/ itself or a folder with other files (see docs/running.md).\n"
        ),
    )
    run.add_argument(
        "notebooks",
        nargs="*",
        metavar="NOTEBOOK",
        help="notebook names (default: all in notebooks/)",
    )
    run.add_argument(
        "--data", metavar="DIR", help="data directory of contract tables (default: data/sample)"
    )
    run.add_argument(
        "--out",
        metavar="DIR",
        help="output folder: new, empty, or an earlier run's (replaced on success) "
        "(default: reports/<timestamp>, with reports/latest -> it on success)",
    )
    run.add_argument(
        "-p",
        "--param",
        dest="params",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set a notebook parameter, converted to the type the notebook declares (5e6, "
        "2026-12-31, true, [a, b], text); NAME may be notebook.name for one notebook; repeatable",
    )
    run.add_argument(
        "--params",
        dest="params_file",
        metavar="FILE.yaml",
        help="parameters file: {parameters: {...}, notebooks: {name: {...}}} or a flat mapping; -p wins",
    )
    run.add_argument(
        "--root",
        metavar="DIR",
        help="workspace folder holding notebooks/ (default: found from cwd)",
    )

    sub.add_parser(
        "list", help="list the report notebooks, their tables and parameters"
    ).add_argument("--root", metavar="DIR", help="workspace folder holding notebooks/")

    val = sub.add_parser("validate", help="validate a data directory against the data contract")
    val.add_argument("data", metavar="DIR", help="data directory")
    val.add_argument("--tables", nargs="*", metavar="TABLE", help="tables that must be present")

    syn = sub.add_parser(
        "synth", help="generate the sample SaaS company (all tables + ground_truth.json)"
    )
    syn.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    syn.add_argument(
        "--accounts",
        type=int,
        default=2000,
        help="customers that pay at some point (default 2000); prospects come on top",
    )
    syn.add_argument("--months", type=int, default=36, help="months of history (default 36)")
    syn.add_argument(
        "--start", default=None, help="first month, YYYY-MM-DD (default: the simulator's)"
    )
    syn.add_argument("--out", required=True, metavar="DIR", help="output data directory")
    syn.add_argument(
        "--format",
        choices=("csv", "parquet"),
        default="csv",
        help="table files: csv (default) or parquet (fast at scale)",
    )

    sco = sub.add_parser("score", help="score open deals with a saved deal-scoring model")
    sco.add_argument(
        "--model", required=True, metavar="M", help="model.txt written by the deal_scoring report"
    )
    sco.add_argument(
        "--data", required=True, metavar="DIR", help="data directory with opportunities"
    )
    sco.add_argument("--out", required=True, metavar="FILE.csv", help="where to write the scores")
    return p


def _cmd_run(args: argparse.Namespace) -> int:
    from revlib.runner import run

    result = run(
        args.notebooks,
        data_dir=args.data,
        out_dir=args.out,
        params=args.params,
        params_file=args.params_file,
        root=args.root,
        progress=lambda msg: print(msg, flush=True),
    )
    n_bad = sum(r.status != "ok" for r in result.reports)
    if n_bad:
        print(
            f"{n_bad} of {len(result.reports)} report(s) failed; see {result.out_dir / 'index.html'}",
            file=sys.stderr,
        )
        return EXIT_FAILED
    print(f"open {result.out_dir / 'index.html'}")
    return EXIT_OK


def _cmd_list(args: argparse.Namespace) -> int:
    from pathlib import Path

    from revlib.runner import RESERVED_PARAMETERS, discover_notebooks, project_root

    root = Path(args.root) if args.root else project_root()
    for nb in discover_notebooks(root / "notebooks").values():
        if nb.error:
            print(f"{nb.name}: BROKEN, cannot be run: {nb.error}")
            continue
        print(f"{nb.name}: {nb.title}")
        print(
            f"    tables: {', '.join(nb.requires) or '-'}"
            + (f" (optional: {', '.join(nb.optional)})" if nb.optional else "")
        )
        print("    parameters:")
        for key, param in nb.parameters.items():
            if key not in RESERVED_PARAMETERS:
                print(f"        {key}: {param.type_text} = {param.default!r}")
    return EXIT_OK


def _cmd_validate(args: argparse.Namespace) -> int:
    from revlib.data import load_tables

    tables = load_tables(args.data, required=args.tables or ())
    for name, df in tables.items():
        print(f"{name}: {len(df):,} rows, {df.shape[1]} columns — ok")
    return EXIT_OK


SYNTH_MAX_ACCOUNTS = 1_000_000  # 10x the largest size measured (docs/synth.md, "At scale")


def _check_synth_args(args: argparse.Namespace) -> None:
    """:class:`UsageError` listing every out-of-range ``revlib synth`` argument."""
    from revlib.runner import UsageError
    from revlib.synth import SynthConfig

    problems = []
    if not 0 <= args.seed < 2**32:
        problems.append(f"--seed must be between 0 and {2**32 - 1}, got {args.seed}")
    if args.accounts > SYNTH_MAX_ACCOUNTS:
        problems.append(f"--accounts must be at most {SYNTH_MAX_ACCOUNTS:,}, got {args.accounts:,}")
    config = SynthConfig(
        accounts=args.accounts,
        months=args.months,
        **({"start": args.start} if args.start is not None else {}),
    )
    try:
        config.check()
    except ValueError as err:
        problems.extend(str(err).removeprefix("invalid SynthConfig: ").split("; "))
    if problems:
        raise UsageError("; ".join(problems))


def _cmd_synth(args: argparse.Namespace) -> int:
    from revlib.synth import synth_command

    _check_synth_args(args)
    path = synth_command(
        seed=args.seed,
        accounts=args.accounts,
        months=args.months,
        out=args.out,
        start=args.start,
        fmt=args.format,
    )
    print(f"sample company written to {path}")
    return EXIT_OK


def _cmd_score(args: argparse.Namespace) -> int:
    from revlib.scoring import score_command

    return int(score_command(model=args.model, data=args.data, out=args.out) or 0)


COMMANDS = {
    "run": _cmd_run,
    "list": _cmd_list,
    "validate": _cmd_validate,
    "synth": _cmd_synth,
    "score": _cmd_score,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)  # --help and --version end here, before pandas is imported
    if not args.command:
        parser.print_help()
        return EXIT_BAD_INPUT
    from revlib.data import DataValidationError
    from revlib.runner import UsageError

    debug = args.debug or os.environ.get("REVLIB_DEBUG") == "1"
    try:
        return COMMANDS[args.command](args)
    except DataValidationError as err:
        if debug:
            traceback.print_exc()
        print(err.report(), file=sys.stderr)
        print(
            "Nothing was written. Fix the data and run again (details: docs/data-contract.md).",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    except (UsageError, FileNotFoundError) as err:
        if debug:
            traceback.print_exc()
        print(f"revlib {args.command}: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
