"""Benchmark the price-elasticity model: nutpie vs PyMC's default NUTS sampler.

For each data set (the bundled sample company; Dominick's orange juice from
../shared/data/real) and each sampler, fits the notebook's default model through
``revlib.bayes.sample`` and records the wall time (model compilation included: that is what a
report run pays), the minimum bulk ESS of the elasticities, ESS per second, divergences and
max r_hat, in both parameterisations. A tiny warm-up fit per sampler first takes the one-off
start-up (numba and PyTensor caches) out of the comparison; it is reported on its own.
Results go to ``benchmarks/results/elasticity.json`` and print as a markdown table
(docs/pricing.md quotes it). Also ``python -m benchmarks elasticity``.

    .venv/bin/python benchmarks/bench_elasticity.py                      # both data sets, both samplers
    .venv/bin/python benchmarks/bench_elasticity.py --data sample --samplers nutpie
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _observations(name: str):
    from revlib.adapters import dominicks
    from revlib.data import load_tables

    if name == "sample":
        obs = load_tables(ROOT / "data" / "sample", ["price_observations"])["price_observations"]
        return obs, {"group_cols": ["product", "region"], "covariates": ["promo"], "seasonality": 1}
    if name == "dominicks":  # the published model: log(sales) ~ log(price) x brand
        return dominicks.dominicks_price_observations(), {"group_cols": ["product"]}
    raise ValueError(f"data must be 'sample' or 'dominicks', got {name!r}")


def run(
    data: str, sampler: str, *, centered: bool, draws: int, tune: int, chains: int, seed: int
) -> dict:
    """Fit once and measure."""
    from revlib import bayes
    from revlib.pricing import elasticity as el

    obs, spec = _observations(data)
    start = time.perf_counter()
    fit = el.fit_elasticity(
        obs,
        **spec,
        centered=centered,
        sampler={"draws": draws, "tune": tune, "chains": chains, "sampler": sampler},
        seed=seed,
    )
    wall = time.perf_counter() - start
    diag = bayes.diagnostics(fit.idata, var_names=["elasticity"])
    full = bayes.diagnostics(fit.idata)
    return {
        "data": data,
        "rows": len(fit.data.frame),
        "groups": len(fit.data.groups),
        "sampler": fit.idata.attrs["sampler"],
        "parameterisation": "centred" if centered else "non-centred",
        "draws": draws,
        "tune": tune,
        "chains": chains,
        "wall_seconds": round(wall, 1),
        "sampling_seconds": fit.idata.attrs["sampling_seconds"],
        "min_ess_bulk_elasticity": diag["min_ess_bulk"],
        "ess_per_second": round(diag["min_ess_bulk"] / wall, 1),
        "min_ess_bulk_all": full["min_ess_bulk"],
        "divergences": full["divergences"],
        "max_r_hat": full["max_r_hat"],
    }


def warm_up(samplers: list[str]) -> dict:
    """Fit a tiny model once per sampler so one-off start-up costs (numba and PyTensor
    caches, imports) are measured apart from the runs. Returns seconds per sampler."""
    import numpy as np
    import pandas as pd

    from revlib.pricing import elasticity as el

    rng = np.random.default_rng(0)
    obs = pd.DataFrame(
        {"product": np.repeat(["a", "b"], 20), "price": np.exp(rng.normal(0, 0.1, 40))}
    )
    obs["units"] = np.round(np.exp(3 - 2 * np.log(obs["price"]) + rng.normal(0, 0.1, 40)))
    out = {}
    for sampler in samplers:
        start = time.perf_counter()
        el.fit_elasticity(
            obs,
            group_cols=["product"],
            sampler={"draws": 50, "tune": 50, "chains": 1, "sampler": sampler},
        )
        out[sampler] = round(time.perf_counter() - start, 1)
    return out


def main(argv: list[str] | None = None) -> int:
    from revlib.data import write_json
    from revlib.pricing import elasticity as el

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--data", nargs="+", default=["sample", "dominicks"], choices=["sample", "dominicks"]
    )
    p.add_argument("--samplers", nargs="+", default=["nutpie", "pymc"], choices=["nutpie", "pymc"])
    p.add_argument(
        "--parameterisations",
        nargs="+",
        default=["non-centred", "centred"],
        choices=["non-centred", "centred"],
    )
    p.add_argument("--draws", type=int, default=el.SAMPLER["draws"])
    p.add_argument("--tune", type=int, default=el.SAMPLER["tune"])
    p.add_argument("--chains", type=int, default=el.SAMPLER["chains"])
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "elasticity.json"))
    args = p.parse_args(argv)
    startup = warm_up(args.samplers)
    print(f"start-up (first tiny fit per sampler, seconds): {startup}", flush=True)
    rows = []
    for data in args.data:
        for sampler in args.samplers:
            for param in args.parameterisations:
                centered = param == "centred"
                rows.append(
                    run(
                        data,
                        sampler,
                        centered=centered,
                        draws=args.draws,
                        tune=args.tune,
                        chains=args.chains,
                        seed=args.seed,
                    )
                )
                print(rows[-1], flush=True)
    machine = {
        "cpus": os.cpu_count(),
        "load_average_1min": round(os.getloadavg()[0], 1),
        "python": platform.python_version(),
    }
    write_json({"machine": machine, "startup_seconds": startup, "runs": rows}, args.out)
    cols = [
        "data",
        "sampler",
        "parameterisation",
        "rows",
        "draws",
        "chains",
        "wall_seconds",
        "min_ess_bulk_elasticity",
        "ess_per_second",
        "divergences",
        "max_r_hat",
    ]
    print("| " + " | ".join(cols) + " |\n|" + "---|" * len(cols))
    for r in rows:
        print("| " + " | ".join(str(r[c]) for c in cols) + " |")
    print(f"machine: {machine}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
