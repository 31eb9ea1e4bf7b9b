"""Benchmark revlib.synth at scale: wall time (generate, write) and peak memory.

    .venv/bin/python benchmarks/bench_synth.py                 # 100,000 accounts, 36 months
    .venv/bin/python benchmarks/bench_synth.py --accounts 2000 --out /tmp/synth-bench

Peak memory is the process's maximum resident set size (``ru_maxrss``), so run it in a fresh
process. CPU seconds (user + system) are reported beside wall seconds: on a shared machine the
wall time includes waiting for a core, the CPU time does not. Prints one JSON line; ``--json
PATH`` also writes it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def run(accounts: int, months: int, seed: int, out: Path, fmt: str = "parquet") -> dict:
    t0 = time.perf_counter()
    from revlib.synth import SynthConfig, generate_company, write_company

    t1, c1 = time.perf_counter(), _cpu()
    company = generate_company(SynthConfig(seed=seed, accounts=accounts, months=months))
    t2, c2 = time.perf_counter(), _cpu()
    paths = write_company(company, out, fmt=fmt)
    t3, c3 = time.perf_counter(), _cpu()
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return {
        "accounts": accounts,
        "months": months,
        "seed": seed,
        "format": fmt,
        "import_s": round(t1 - t0, 2),
        "generate_s": round(t2 - t1, 2),
        "write_s": round(t3 - t2, 2),
        "total_s": round(t3 - t1, 2),
        "generate_cpu_s": round(c2 - c1, 2),
        "write_cpu_s": round(c3 - c2, 2),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
        "peak_rss_mib": round(peak_kib / 1024, 1),
        "rows": {name: len(df) for name, df in company.tables.items()},
        "bytes_written": sum(p.stat().st_size for p in paths),
        "python": sys.version.split()[0],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, default=100_000)
    ap.add_argument("--months", type=int, default=36)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument(
        "--format", choices=("parquet", "csv"), default="parquet", help="table files written"
    )
    ap.add_argument(
        "--out", type=Path, default=None, help="output folder (default: a temporary one)"
    )
    ap.add_argument("--json", type=Path, default=None, help="also write the result here")
    a = ap.parse_args(argv)
    if a.out is None:
        with tempfile.TemporaryDirectory() as tmp:
            result = run(a.accounts, a.months, a.seed, Path(tmp), a.format)
    else:
        result = run(a.accounts, a.months, a.seed, a.out, a.format)
    line = json.dumps(result, sort_keys=True)
    print(line)
    if a.json is not None:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(line + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
