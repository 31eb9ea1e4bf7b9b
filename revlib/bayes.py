"""Sampling PyMC models and judging the result: one sampler wrapper, one set of diagnostics.

``sample`` uses nutpie (PyMC model compiled with numba; usually several times faster than
PyMC's own NUTS once compiled) and falls back to PyMC's NUTS when nutpie is unavailable or
fails. ``diagnostics`` judges a posterior against :data:`TARGETS` (r_hat <= 1.01, bulk and
tail ESS >= 400, no divergences, energy BFMI >= 0.3) and :data:`FAIL_LIMITS`, giving a verdict
"ok", "warning" or "fail". Every MCMC report shows :func:`diagnostics_report`, writes
:func:`diagnostics_artifact` and calls :func:`check_diagnostics`, which stops the run on "fail"
(and on "warning" with ``strict=True``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from revlib import reporting

log = logging.getLogger(__name__)

SAMPLER_DEFAULTS: dict[str, Any] = {"draws": 1000, "tune": 1000, "chains": 4, "target_accept": 0.9}
FAST_SAMPLER: dict[str, Any] = {"draws": 400, "tune": 400, "chains": 2}


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


@dataclass(frozen=True)
class Limits:
    """Convergence limits of a posterior: largest r_hat across parameters, smallest bulk and
    tail effective sample size (draws), largest share of post-warm-up transitions that
    diverged (0.01 = 1 %) and smallest per-chain energy BFMI."""

    max_r_hat: float = 1.01
    min_ess: float = 400.0
    max_divergent_share: float = 0.0
    min_bfmi: float = 0.3


TARGETS = Limits()
"""Every check within these: verdict "ok" (Vehtari et al. 2021: r_hat <= 1.01, ESS >= 400)."""
FAIL_LIMITS = Limits(max_r_hat=1.1, min_ess=100.0, max_divergent_share=0.01, min_bfmi=0.2)
"""Any check beyond these: verdict "fail" and the run stops; between: "warning"."""
FAST_FAIL_LIMITS = Limits(max_r_hat=1.1, min_ess=50.0, max_divergent_share=0.01, min_bfmi=0.2)
"""``fast=True`` runs draw a few hundred samples: a low ESS is expected there, so the run
fails only below 50 (the report says so)."""

VERDICT_LEVEL = {"ok": "success", "warning": "warning", "fail": "critical"}
"""Callout level (colour) of each verdict: green, amber, red."""


def _checks(diag: Mapping[str, Any], limits: Limits) -> dict[str, bool]:
    """Which checks ``diag`` passes within ``limits`` (a NaN BFMI, energy not recorded, passes)."""
    bfmi = diag["bfmi_min"]
    return {
        "max r_hat": bool(diag["max_r_hat"] <= limits.max_r_hat),
        "min bulk ESS": bool(diag["min_ess_bulk"] >= limits.min_ess),
        "min tail ESS": bool(diag["min_ess_tail"] >= limits.min_ess),
        "divergences": bool(diag["divergences"] <= limits.max_divergent_share * diag["n_draws"]),
        "min energy BFMI": bool(bfmi != bfmi or bfmi >= limits.min_bfmi),
    }


def verdict(
    diag: Mapping[str, Any], *, targets: Limits = TARGETS, fail: Limits = FAIL_LIMITS
) -> str:
    """ "ok" when every check meets ``targets``, "fail" when any is beyond ``fail``, else
    "warning"."""
    if not all(_checks(diag, fail).values()):
        return "fail"
    return "ok" if all(_checks(diag, targets).values()) else "warning"


def _problems(diag: Mapping[str, Any], limits: Limits) -> list[str]:
    """Plain sentences, one per check that misses ``limits``."""
    ok = _checks(diag, limits)
    out = []
    if not ok["max r_hat"]:
        out.append(f"max r_hat {diag['max_r_hat']:.3f} > {limits.max_r_hat}: chains disagree")
    if not ok["min bulk ESS"]:
        out.append(f"min bulk ESS {diag['min_ess_bulk']:,.0f} < {limits.min_ess:,.0f}")
    if not ok["min tail ESS"]:
        out.append(f"min tail ESS {diag['min_ess_tail']:,.0f} < {limits.min_ess:,.0f}")
    if not ok["divergences"]:
        out.append(
            f"{diag['divergences']:,} divergent transitions"
            + (
                f" (> {limits.max_divergent_share:.0%} of draws)"
                if limits.max_divergent_share
                else ""
            )
        )
    if not ok["min energy BFMI"]:
        out.append(f"energy BFMI {diag['bfmi_min']:.2f} < {limits.min_bfmi}")
    return out


def diagnostics(
    idata,
    var_names: Sequence[str] | None = None,
    *,
    fast: bool = False,
    targets: Limits = TARGETS,
    fail: Limits | None = None,
) -> dict[str, Any]:
    """Convergence diagnostics of a posterior, judged against ``targets`` and ``fail`` limits
    (default :data:`FAIL_LIMITS`, :data:`FAST_FAIL_LIMITS` when ``fast``).

    Returns max r_hat, min bulk / tail ESS, the number of divergent transitions (of
    ``n_draws`` post-warm-up draws over all chains), the minimum per-chain energy BFMI,
    ``verdict`` ("ok", "warning", "fail"; see :func:`verdict`), ``ok`` (verdict "ok"),
    ``problems`` (plain sentences, checks missing the targets), the limits used and the
    sampler settings from ``idata.attrs``.
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
    post = idata.posterior
    n_draws = int(post.sizes["chain"] * post.sizes["draw"])
    try:
        bfmi = float(np.min(az.bfmi(idata)))
    except Exception:  # energy not recorded
        bfmi = float("nan")
    fail = fail if fail is not None else (FAST_FAIL_LIMITS if fast else FAIL_LIMITS)
    attrs = dict(idata.attrs) if hasattr(idata, "attrs") else {}
    diag: dict[str, Any] = {
        "max_r_hat": r_hat,
        "min_ess_bulk": ess_bulk,
        "min_ess_tail": ess_tail,
        "divergences": divergences,
        "n_draws": n_draws,
        "bfmi_min": bfmi,
    }
    result = verdict(diag, targets=targets, fail=fail)
    return diag | {
        "verdict": result,
        "ok": result == "ok",
        "problems": _problems(diag, targets),
        "fast": fast,
        "targets": asdict(targets),
        "fail_limits": asdict(fail),
        "sampler": attrs.get("sampler", "unknown"),
        "seconds": attrs.get("sampling_seconds"),
        "draws": attrs.get("draws"),
        "tune": attrs.get("tune"),
        "chains": attrs.get("chains"),
        "seed": attrs.get("seed"),
    }


def _limits(diag: Mapping[str, Any], key: str) -> Limits:
    return Limits(**diag[key])


def diagnostics_table(diag: Mapping[str, Any]) -> pd.DataFrame:
    """The diagnostics as a small numeric table: check, value, target (text), pass (meets the
    target), status ("ok", "warning" or "fail" against the fail limits)."""
    targets, fail = _limits(diag, "targets"), _limits(diag, "fail_limits")
    met, within = _checks(diag, targets), _checks(diag, fail)
    values = {
        "max r_hat": diag["max_r_hat"],
        "min bulk ESS": diag["min_ess_bulk"],
        "min tail ESS": diag["min_ess_tail"],
        "divergences": diag["divergences"],
        "min energy BFMI": diag["bfmi_min"],
    }
    wanted = {
        "max r_hat": f"<= {targets.max_r_hat}",
        "min bulk ESS": f">= {targets.min_ess:,.0f}",
        "min tail ESS": f">= {targets.min_ess:,.0f}",
        "divergences": f"<= {targets.max_divergent_share:.0%} of {diag['n_draws']:,} draws"
        if targets.max_divergent_share
        else "0",
        "min energy BFMI": f">= {targets.min_bfmi}",
    }
    return pd.DataFrame(
        [
            (k, v, wanted[k], met[k], "ok" if met[k] else "warning" if within[k] else "fail")
            for k, v in values.items()
        ],
        columns=["check", "value", "target", "pass", "status"],
    )


def format_value(check: str, value: float) -> str:
    """One diagnostic for display: r_hat and BFMI with 3 and 2 decimals (r_hat needs the third
    to be told apart from its 1.01 target), ESS and divergences as integers with thousands
    separators ("663", "1,204"); NaN as "–"."""
    if value != value:
        return "–"
    if check == "max r_hat":
        return f"{value:.3f}"
    if check == "min energy BFMI":
        return f"{value:.2f}"
    return f"{value:,.0f}"


def _run_text(diag: Mapping[str, Any]) -> str:
    run = f"{diag['sampler']}, {diag['chains']} chains x {diag['draws']} draws"
    if diag.get("seconds") is not None:
        run += f", {float(diag['seconds']):.0f} s"
    return run


def diagnostics_report(diag: Mapping[str, Any]) -> reporting.HTML:
    """The diagnostics in a report: a callout coloured by the verdict (ok green, warning amber,
    fail red) naming every check that misses its target, over the formatted table (folded
    when every check passes)."""
    table = diagnostics_table(diag)
    shown = table.assign(
        value=[format_value(c, v) for c, v in zip(table["check"], table["value"], strict=True)],
        **{"pass": table["pass"].map({True: "yes", False: "no"})},
    )
    run = _run_text(diag)
    result = diag["verdict"]
    fast_note = (
        " Fast mode: few draws, so low ESS is expected; the run fails only below "
        f"{diag['fail_limits']['min_ess']:,.0f}."
        if diag.get("fast")
        else ""
    )
    if result == "ok":
        text = (
            f"Sampler converged ({run}): max R-hat {format_value('max r_hat', diag['max_r_hat'])}, "
            f"min bulk ESS {format_value('min bulk ESS', diag['min_ess_bulk'])}, min tail ESS "
            f"{format_value('min tail ESS', diag['min_ess_tail'])}, no divergences."
        )
        title = "Sampling diagnostics pass"
    else:
        text = (
            "The numbers below may be wrong: "
            + "; ".join(diag["problems"])
            + f" ({run}). Rerun with more draws or check the model; strict=true turns a "
            "warning into a failed run." + fast_note
        )
        title = "Sampling diagnostics: " + ("failed" if result == "fail" else "warning")
    box = reporting.callout(text, VERDICT_LEVEL[result], title=title)
    body = reporting.table(
        shown,
        collapsed="Diagnostics table" if result == "ok" else None,
    )
    return reporting.HTML(box.body + body.body)


def _rounded(x: Any, digits: int) -> float | None:
    """``x`` rounded to ``digits`` decimals; None for NaN or None."""
    return None if x is None or x != x else round(float(x), digits)


def diagnostics_artifact(diag: Mapping[str, Any]) -> dict[str, Any]:
    """The diagnostics for a JSON artifact, formatted there: r_hat and BFMI to 3 decimals, ESS
    and divergences as integers (663, not 663.000), verdict, problems, limits and sampler
    settings. No wall time, so artifacts stay identical for the same data and seed."""
    ess = {
        k: None if diag[k] != diag[k] else int(round(diag[k]))
        for k in ("min_ess_bulk", "min_ess_tail")
    }
    return {
        "verdict": diag["verdict"],
        "ok": bool(diag["ok"]),
        "problems": list(diag["problems"]),
        "max_r_hat": _rounded(diag["max_r_hat"], 3),
        **ess,
        "divergences": int(diag["divergences"]),
        "bfmi_min": _rounded(diag["bfmi_min"], 3),
        "n_draws": int(diag["n_draws"]),
        "fast": bool(diag.get("fast", False)),
        "targets": dict(diag["targets"]),
        "fail_limits": dict(diag["fail_limits"]),
        **{k: diag.get(k) for k in ("sampler", "draws", "tune", "chains", "seed")},
    }


class DiagnosticsError(RuntimeError):
    """Sampling diagnostics too poor to trust the report's numbers."""


def check_diagnostics(diag: Mapping[str, Any], *, strict: bool = False) -> None:
    """Stop the run when the posterior cannot be trusted: raise :class:`DiagnosticsError` when
    the verdict is "fail", or, when ``strict``, anything but "ok" (a warning otherwise shows
    in the report)."""
    result = diag["verdict"]
    if result == "fail":
        beyond = _problems(diag, _limits(diag, "fail_limits"))
        raise DiagnosticsError(
            "sampling diagnostics failed beyond the failure limits"
            + (" (fast mode)" if diag.get("fast") else "")
            + ": "
            + "; ".join(beyond)
        )
    if strict and result != "ok":
        raise DiagnosticsError(
            "sampling diagnostics failed (strict=True): " + "; ".join(diag["problems"])
        )
