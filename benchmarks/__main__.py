"""Run the benchmarks: `python -m benchmarks` (all) or `python -m benchmarks metrics scoring`.

Each `benchmarks/bench_<name>.py` has a `main()` that prints its figures and writes them to
`benchmarks/results/<name>.json`. Results are recorded in docs/benchmarks.md.
"""

from __future__ import annotations

import importlib
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    here = Path(__file__).resolve().parent
    available = sorted(p.stem.removeprefix("bench_") for p in here.glob("bench_*.py"))
    chosen = argv or available
    unknown = [n for n in chosen if n not in available]
    if unknown:
        print(f"unknown benchmark(s) {unknown}; available: {available}", file=sys.stderr)
        return 2
    for name in chosen:
        print(f"== benchmark {name}", flush=True)
        t0 = time.perf_counter()
        sys.argv = [f"benchmarks/bench_{name}.py"]  # each main() parses its own (default) options
        importlib.import_module(f"benchmarks.bench_{name}").main()
        print(f"== {name} done in {time.perf_counter() - t0:.1f} s\n", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
