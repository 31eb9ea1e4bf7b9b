"""Sampling PyMC models and judging the result: one sampler wrapper, one set of diagnostics.

``sample`` uses nutpie (PyMC model compiled with numba; usually several times faster than
PyMC's own NUTS once compiled) and falls back to PyMC's NUTS when nutpie is unavailable or
fails. ``diagnostics`` applies the project's thresholds: r_hat <= 1.01, bulk and tail ESS
>= 400, no divergences.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

SAMPLER_DEFAULTS: dict[str, Any] = {"draws": 1000, "tune": 1000, "chains": 4, "target_accept": 0.9}
FAST_SAMPLER: dict[str, Any] = {"draws": 400, "tune": 400, "chains": 2}
THRESHOLDS = {"r_hat": 1.01, "ess": 400, "divergences": 0, "bfmi": 0.3}


def sampler_config(*, fast: bool = False, **overrides: Any) -> dict[str, Any]:
    """Sampler settings: defaults, then the fast preset when ``fast``, then ``overrides``."""
    return SAMPLER_DEFAULTS | (FAST_SAMPLER if fast else {}) | overrides


def sample(
    model,
    *,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    seed: int = 0,
    sampler: str = "auto",
    target_accept: float = 0.9,
    progress: bool = False,
) -> Any:
    """Draw posterior samples of a PyMC ``model``; return ``az.InferenceData``.

    ``target_accept`` applies to PyMC NUTS; nutpie runs with its own default (0.8).

    ``sampler``: "auto" (nutpie, falling back to PyMC NUTS), "nutpie" or "pymc". The sampler
    used, its settings, the wall time in seconds and any fallback reason are stored in
    ``idata.attrs`` so a saved result documents itself.
    """
    import pymc as pm

    if sampler not in ("auto", "nutpie", "pymc"):
        raise ValueError(f"sampler must be 'auto', 'nutpie' or 'pymc', got {sampler!r}")
    order = ["nutpie", "pymc"] if sampler == "auto" else [sampler]
    fallback_reason = ""
    for name in order:
        start = time.perf_counter()
        try:
            kwargs: dict[str, Any] = {}
            if name == "pymc":
                kwargs = {"target_accept": target_accept, "cores": 1}
            with model:
                idata = pm.sample(
                    draws=draws,
                    tune=tune,
                    chains=chains,
                    random_seed=seed,
                    nuts_sampler=name,
                    progressbar=progress,
                    compute_convergence_checks=False,
                    **kwargs,
                )
        except Exception as err:  # nutpie missing or failing to compile: fall back
            if name == order[-1]:
                raise
            fallback_reason = f"{name} failed: {type(err).__name__}: {err}"
            log.warning("sampler %s failed, falling back: %s", name, err)
            continue
        seconds = time.perf_counter() - start
        idata.attrs.update(
            {
                "sampler": name,
                "sampling_seconds": round(seconds, 3),
                "draws": draws,
                "tune": tune,
                "chains": chains,
                "seed": seed,
                "fallback_reason": fallback_reason,
            }
        )
        return idata
    raise RuntimeError("no sampler ran")  # pragma: no cover


def diagnostics(idata, var_names: Sequence[str] | None = None) -> dict[str, Any]:
    """Convergence diagnostics of a posterior, judged against the project's thresholds.

    Returns max r_hat, min bulk / tail ESS, the number of divergent transitions, the minimum
    per-chain energy BFMI, ``ok`` (all thresholds met) and ``problems`` (plain sentences).
    """
    import arviz as az

    summary = az.summary(
        idata, var_names=list(var_names) if var_names else None, kind="diagnostics"
    )
    r_hat = float(np.nanmax(summary["r_hat"])) if len(summary) else float("nan")
    ess_bulk = float(np.nanmin(summary["ess_bulk"])) if len(summary) else float("nan")
    ess_tail = float(np.nanmin(summary["ess_tail"])) if len(summary) else float("nan")
    stats = idata.sample_stats
    divergences = int(stats["diverging"].sum()) if "diverging" in stats else 0
    try:
        bfmi = float(np.min(az.bfmi(idata)))
    except Exception:  # energy not recorded
        bfmi = float("nan")
    problems = []
    if not r_hat <= THRESHOLDS["r_hat"]:
        problems.append(f"max r_hat {r_hat:.3f} > {THRESHOLDS['r_hat']}: chains disagree")
    if not ess_bulk >= THRESHOLDS["ess"]:
        problems.append(f"min bulk ESS {ess_bulk:.0f} < {THRESHOLDS['ess']}")
    if not ess_tail >= THRESHOLDS["ess"]:
        problems.append(f"min tail ESS {ess_tail:.0f} < {THRESHOLDS['ess']}")
    if divergences > THRESHOLDS["divergences"]:
        problems.append(f"{divergences} divergent transitions")
    if bfmi == bfmi and bfmi < THRESHOLDS["bfmi"]:
        problems.append(f"energy BFMI {bfmi:.2f} < {THRESHOLDS['bfmi']}")
    attrs = dict(idata.attrs) if hasattr(idata, "attrs") else {}
    return {
        "max_r_hat": r_hat,
        "min_ess_bulk": ess_bulk,
        "min_ess_tail": ess_tail,
        "divergences": divergences,
        "bfmi_min": bfmi,
        "ok": not problems,
        "problems": problems,
        "sampler": attrs.get("sampler", "unknown"),
        "seconds": attrs.get("sampling_seconds"),
        "draws": attrs.get("draws"),
        "chains": attrs.get("chains"),
    }


def diagnostics_table(diag: dict[str, Any]) -> pd.DataFrame:
    """The diagnostics as a small table: check, value, threshold, pass."""
    rows = [
        (
            "max r_hat",
            diag["max_r_hat"],
            f"<= {THRESHOLDS['r_hat']}",
            diag["max_r_hat"] <= THRESHOLDS["r_hat"],
        ),
        (
            "min bulk ESS",
            diag["min_ess_bulk"],
            f">= {THRESHOLDS['ess']}",
            diag["min_ess_bulk"] >= THRESHOLDS["ess"],
        ),
        (
            "min tail ESS",
            diag["min_ess_tail"],
            f">= {THRESHOLDS['ess']}",
            diag["min_ess_tail"] >= THRESHOLDS["ess"],
        ),
        ("divergences", diag["divergences"], "0", diag["divergences"] == 0),
        (
            "min energy BFMI",
            diag["bfmi_min"],
            f">= {THRESHOLDS['bfmi']}",
            not diag["bfmi_min"] < THRESHOLDS["bfmi"],
        ),
    ]
    return pd.DataFrame(rows, columns=["check", "value", "threshold", "pass"])


def check_diagnostics(diag: dict[str, Any], *, strict: bool) -> None:
    """Raise when ``strict`` and the diagnostics fail (the report shows a warning otherwise)."""
    if strict and not diag["ok"]:
        raise RuntimeError(
            "sampling diagnostics failed (strict=True): " + "; ".join(diag["problems"])
        )
