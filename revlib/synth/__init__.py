"""revlib.synth: a B2B SaaS company simulator with known ground truth.

``generate_company(SynthConfig(...))`` returns a :class:`Company` whose ``tables`` follow the data
contract and whose ``truth`` holds every true parameter behind them (documented in
``docs/synth.md``). ``write_company`` writes both; ``synth_command`` is the CLI entry
(``revlib synth --seed N --accounts N --months N --out DIR``).
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from revlib import data
from revlib.synth._core import TRUE_PARAMS, SynthConfig
from revlib.synth.company import Company, generate_company

TRUTH_FILE = "ground_truth.json"

__all__ = [
    "TRUE_PARAMS",
    "Company",
    "SynthConfig",
    "generate_company",
    "synth_command",
    "write_company",
]


def write_company(company: Company, out_dir: str | os.PathLike, *, fmt: str = "csv") -> list[Path]:
    """Write every table as ``<out_dir>/<table>.csv`` (or ``.parquet`` with ``fmt="parquet"``,
    much faster at scale) and the truth as ``ground_truth.json``.

    CSV output is byte-identical for the same configuration (fixed float format, sorted JSON
    keys). Stale contract tables from an earlier run are removed so the folder holds one company.
    """
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"fmt must be 'csv' or 'parquet', got {fmt!r}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name in data.TABLE_NAMES:
        for ext in (".csv", ".parquet"):
            stale = out / f"{name}{ext}"
            if (name not in company.tables or ext != f".{fmt}") and stale.exists():
                stale.unlink()
    paths = data.write_tables(company.tables, out, fmt=fmt, compact=True)
    paths.append(data.write_json(company.truth, out / TRUTH_FILE))
    return paths


def synth_command(
    *,
    seed: int,
    accounts: int,
    months: int,
    out: str | os.PathLike,
    start: str | None = None,
    fmt: str = "csv",
) -> Path:
    """Generate a company and write it to ``out`` (``revlib synth``); returns the output directory."""
    config = SynthConfig(seed=seed, accounts=accounts, months=months)
    if start is not None:
        config = replace(config, start=start)
    write_company(generate_company(config), out, fmt=fmt)
    return Path(out)
