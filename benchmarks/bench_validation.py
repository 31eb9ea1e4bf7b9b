"""Benchmark: memory and time of validating a data directory (``data.load_tables``).

Two cases, each validated in a fresh child process so its peak memory is its own:

- ``long``: a subscriptions CSV of 2,000,000 rows (about 140 MB) plus its 200,000 accounts;
- ``wide``: an accounts CSV of 1,000 rows with 20,000 extra (unknown) columns.

Peak memory is the child's peak resident set size (``VmHWM`` in ``/proc/self/status``) minus its size after
importing revlib (the interpreter, pandas, pyarrow and pandera are not the data's). ``--profile``
adds the top allocations during validation (``tracemalloc``; slower).

    .venv/bin/python -m benchmarks.bench_validation [--rows 2000000] [--columns 20000] [--profile]

Writes ``benchmarks/results/validation.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

RESULTS = Path(__file__).resolve().parent / "results" / "validation.json"

CHILD = r"""
import json, re, sys, time, tracemalloc
from pathlib import Path
from revlib import data
import pandera.pandas  # imported by validation; counted in the baseline, not the data
def hwm_kb():  # this process's peak RSS (ru_maxrss would include the parent's: kept over exec)
    return int(re.search(r"VmHWM:\s+(\d+)", Path("/proc/self/status").read_text()).group(1))
base = hwm_kb()
profile = sys.argv[2] == "1"
if profile:
    tracemalloc.start(10)
t0 = time.perf_counter()
tables = data.load_tables(sys.argv[1])
seconds = time.perf_counter() - t0
top = []
if profile:
    snap = tracemalloc.take_snapshot()
    _, traced_peak = tracemalloc.get_traced_memory()
    for stat in snap.statistics("lineno")[:8]:
        frame = stat.traceback[0]
        top.append(f"{stat.size / 2**20:8.1f} MB  {frame.filename}:{frame.lineno}")
    top.insert(0, f"traced peak {traced_peak / 2**20:.1f} MB; live at end:")
peak = hwm_kb()
print(json.dumps({"seconds": seconds, "peak_mb": (peak - base) / 1024,
                  "rows": {k: len(v) for k, v in tables.items()}, "top": top}))
"""


def write_long(folder: Path, rows: int, *, seed: int = 0) -> Path:
    """``subscriptions.csv`` with ``rows`` rows and ``accounts.csv`` with rows/10 accounts."""
    rng = np.random.default_rng(seed)
    n_acc = max(rows // 10, 1)
    acc_ids = np.char.add("a", np.arange(n_acc).astype(str))
    pd.DataFrame(
        {
            "account_id": acc_ids,
            "region": rng.choice(["NA", "EU", "APAC"], n_acc),
            "created_at": "2020-01-01",
        }
    ).to_csv(folder / "accounts.csv", index=False)
    start = np.datetime64("2020-01-01") + rng.integers(0, 1500, rows).astype("timedelta64[D]")
    end = start + rng.integers(30, 900, rows).astype("timedelta64[D]")
    end_text = np.where(rng.random(rows) < 0.4, "", end.astype(str))
    pd.DataFrame(
        {
            "subscription_id": np.char.add("sub", np.arange(rows).astype(str)),
            "account_id": acc_ids[rng.integers(0, n_acc, rows)],
            "product": rng.choice(["starter", "growth", "scale"], rows),
            "start_date": start.astype(str),
            "end_date": end_text,
            "mrr": np.round(np.exp(rng.normal(5, 1, rows)), 2),
            "currency": "USD",
            "quantity": rng.integers(1, 50, rows),
        }
    ).to_csv(folder / "subscriptions.csv", index=False)
    return folder / "subscriptions.csv"


def write_wide(folder: Path, columns: int, rows: int = 1000, *, seed: int = 0) -> Path:
    """``accounts.csv`` with the contract's columns and ``columns`` extra numeric columns."""
    rng = np.random.default_rng(seed)
    extra = pd.DataFrame(
        rng.integers(0, 100, (rows, columns)), columns=[f"x{i}" for i in range(columns)]
    )
    head = pd.DataFrame(
        {
            "account_id": [f"a{i}" for i in range(rows)],
            "region": "EU",
            "created_at": "2021-03-01",
        }
    )
    pd.concat([head, extra], axis=1).to_csv(folder / "accounts.csv", index=False)
    return folder / "accounts.csv"


def measure(folder: Path, profile: bool) -> dict:
    """Validate ``folder`` in a child process; its seconds, peak memory (MB) and row counts."""
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(folder), "1" if profile else "0"],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--columns", type=int, default=20_000)
    ap.add_argument("--profile", action="store_true", help="tracemalloc top allocations")
    ap.add_argument("--only", choices=["long", "wide"], default=None)
    args = ap.parse_args()
    results: dict = {"python": platform.python_version(), "pandas": pd.__version__}
    with tempfile.TemporaryDirectory(prefix="revlib-bench-validation-") as tmp:
        if args.only in (None, "long"):
            folder = Path(tmp) / "long"
            folder.mkdir()
            t0 = time.perf_counter()
            path = write_long(folder, args.rows)
            size = path.stat().st_size / 2**20
            print(
                f"long: {args.rows:,} subscription rows, {size:.0f} MB CSV written in "
                f"{time.perf_counter() - t0:.1f} s",
                flush=True,
            )
            r = measure(folder, args.profile)
            r["csv_mb"] = size
            r["peak_over_file"] = r["peak_mb"] / size
            print(
                f"  validate {r['seconds']:.1f} s, peak +{r['peak_mb']:.0f} MB "
                f"({r['peak_over_file']:.1f}x the file)"
            )
            print("\n".join("  " + line for line in r["top"]))
            results["long"] = r
        if args.only in (None, "wide"):
            folder = Path(tmp) / "wide"
            folder.mkdir()
            path = write_wide(folder, args.columns)
            size = path.stat().st_size / 2**20
            print(
                f"wide: 1,000 rows x {args.columns:,} extra columns, {size:.0f} MB CSV", flush=True
            )
            r = measure(folder, args.profile)
            r["csv_mb"] = size
            print(f"  validate {r['seconds']:.1f} s, peak +{r['peak_mb']:.0f} MB")
            print("\n".join("  " + line for line in r["top"]))
            results["wide"] = r
    if args.only is None and not args.profile:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
