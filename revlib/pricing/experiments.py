"""Price tests: Beta-Binomial arms, a pooled conversion curve, decisions and test planning.

Each arm (test x variant at one price) has a Beta-Binomial conversion posterior
(:func:`revlib.stats.beta_posterior`). Revenue per visitor (RPV) = price x conversion rate:
the quantity a price test should maximise. Decisions use Monte-Carlo draws of the arm
posteriors: the probability each price is best, the expected loss of choosing it, and a
verdict (winner / keep testing / no difference). Planning uses the two-proportion z-test.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from revlib.data.frames import require_columns
from revlib.reporting import pct
from revlib.stats import beta_posterior

DECISION: dict[str, float] = {
    "prob_best": 0.95,  # a winner needs at least this probability of having the highest RPV
    "rope": 0.05,  # arms within +/- 5 % RPV of the leader count as "no difference"
    "prob": 0.94,  # credible-interval mass
}
PLANNING: dict[str, float] = {
    "alpha": 0.05,  # two-sided significance ("detect at 95 %")
    "power": 0.80,
    "rule_visitors": 1000,  # the team's rule of thumb: visitors per variant ...
    "rule_days": 30,  # ... and days
}
_KEYS = ["test_id", "variant"]


def _arms(price_tests: pd.DataFrame) -> pd.DataFrame:
    """One row per test x variant (rows of the same arm, e.g. daily rows, are summed)."""
    need = ["test_id", "variant", "price", "visitors", "conversions"]
    require_columns(price_tests, "price_tests", need)
    df = price_tests.copy()
    for c in ("product", "region"):
        if c not in df.columns:
            df[c] = pd.NA
    prices = df.groupby(_KEYS)["price"].nunique()
    if (prices > 1).any():
        bad = [f"{t}/{v}" for t, v in prices[prices > 1].index]
        raise ValueError(f"each test variant must show one price; several prices in {bad}")
    agg: dict[str, Any] = {
        "product": ("product", "first"),
        "region": ("region", "first"),
        "price": ("price", "first"),
        "visitors": ("visitors", "sum"),
        "conversions": ("conversions", "sum"),
    }
    if "start_date" in df.columns and "end_date" in df.columns:
        agg |= {"start_date": ("start_date", "min"), "end_date": ("end_date", "max")}
    out = df.groupby(_KEYS, sort=True).agg(**agg).reset_index()
    out["visitors"] = out["visitors"].astype("int64")
    out["conversions"] = out["conversions"].astype("int64")
    if "start_date" in out.columns:
        out["days"] = (
            pd.to_datetime(out["end_date"]) - pd.to_datetime(out["start_date"])
        ).dt.days + 1
    return out.sort_values(["test_id", "price", "variant"]).reset_index(drop=True)


def _draws(arms: pd.DataFrame, *, prior: tuple[float, float], draws: int, seed: int) -> np.ndarray:
    """(draws, arms) conversion-rate draws from each arm's Beta posterior."""
    rng = np.random.default_rng(seed)
    a = prior[0] + arms["conversions"].to_numpy(float)
    b = prior[1] + (arms["visitors"] - arms["conversions"]).to_numpy(float)
    return rng.beta(a, b, size=(draws, len(arms)))


def arm_posteriors(
    price_tests: pd.DataFrame,
    *,
    prior: tuple[float, float] = (1.0, 1.0),
    prob: float = 0.94,
    draws: int = 20_000,
    seed: int = 0,
) -> pd.DataFrame:
    """Per arm: conversion posterior, revenue per visitor, P(best) and expected loss.

    Conversion: Beta(prior + conversions, prior + visitors - conversions); ``conv_*`` is its
    mean and central ``prob`` interval (rates). ``rpv_*`` = price x conversion (money per
    visitor). ``prob_best``: posterior probability the arm has the highest RPV of its test.
    ``expected_loss``: E[max RPV of the test - this arm's RPV], money per visitor lost by
    choosing this arm (0 = no regret). Monte Carlo with ``draws`` draws per arm.
    """
    arms = _arms(price_tests)
    post = beta_posterior(arms["conversions"], arms["visitors"], prior=prior, prob=prob)
    arms["conv_mean"] = post["mean"].to_numpy()
    arms["conv_lower"] = post["lower"].to_numpy()
    arms["conv_upper"] = post["upper"].to_numpy()
    for s in ("mean", "lower", "upper"):
        arms[f"rpv_{s}"] = arms["price"] * arms[f"conv_{s}"]
    conv = _draws(arms, prior=prior, draws=draws, seed=seed)
    rpv = conv * arms["price"].to_numpy()
    prob_best = np.zeros(len(arms))
    loss = np.zeros(len(arms))
    for _, idx in arms.groupby("test_id").indices.items():
        block = rpv[:, idx]
        best = block.max(axis=1, keepdims=True)
        prob_best[idx] = np.bincount(block.argmax(axis=1), minlength=len(idx)) / draws
        loss[idx] = (best - block).mean(axis=0)
    arms["prob_best"] = prob_best
    arms["expected_loss"] = loss
    return arms


def rpv_draws(
    arms: pd.DataFrame,
    *,
    prior: tuple[float, float] = (1.0, 1.0),
    draws: int = 20_000,
    seed: int = 0,
) -> np.ndarray:
    """(draws, arms) revenue-per-visitor draws (price x Beta conversion draw) of :func:`arm_posteriors` rows."""
    return _draws(arms, prior=prior, draws=draws, seed=seed) * arms["price"].to_numpy()


def arc_elasticity(
    arms: pd.DataFrame,
    *,
    prior: tuple[float, float] = (1.0, 1.0),
    prob: float = 0.94,
    draws: int = 20_000,
    seed: int = 0,
) -> pd.DataFrame:
    """Arc elasticity of conversion between neighbouring prices of each test.

    Midpoint formula: ``((c2 - c1) / ((c1 + c2) / 2)) / ((p2 - p1) / ((p1 + p2) / 2))`` -
    percentage change in conversion over percentage change in price (-1.5: a 10 % higher
    price converts 15 % fewer visitors). Mean and central ``prob`` interval over posterior
    draws of both arms. The framework's formula measures both changes against the baseline
    (the lower price of the pair, ``price_from``): ``((c2 - c1) / c1) / ((p2 - p1) / p1)``,
    in ``baseline_*`` columns; it is larger in size for big steps (no symmetry between a rise
    and a cut). ``arms``: rows of :func:`arm_posteriors`.
    """
    conv = _draws(arms, prior=prior, draws=draws, seed=seed)
    tail = (1 - prob) / 2
    rows = []
    for test_id, idx in arms.groupby("test_id", sort=True).indices.items():
        order = idx[np.argsort(arms["price"].to_numpy()[idx], kind="stable")]
        for i, j in zip(order[:-1], order[1:], strict=True):
            p1, p2 = arms["price"].iloc[i], arms["price"].iloc[j]
            if p1 == p2:
                continue
            c1, c2 = conv[:, i], conv[:, j]
            e = ((c2 - c1) / ((c1 + c2) / 2)) / ((p2 - p1) / ((p1 + p2) / 2))
            base = ((c2 - c1) / c1) / ((p2 - p1) / p1)
            rows.append(
                {
                    "test_id": test_id,
                    "from_variant": arms["variant"].iloc[i],
                    "to_variant": arms["variant"].iloc[j],
                    "price_from": p1,
                    "price_to": p2,
                    "elasticity_mean": float(e.mean()),
                    "elasticity_lower": float(np.quantile(e, tail)),
                    "elasticity_upper": float(np.quantile(e, 1 - tail)),
                    "prob_elastic": float((e < -1).mean()),
                    "baseline_mean": float(base.mean()),
                    "baseline_lower": float(np.quantile(base, tail)),
                    "baseline_upper": float(np.quantile(base, 1 - tail)),
                }
            )
    return pd.DataFrame(rows)


def arc_elasticity_point(c1: float, c2: float, p1: float, p2: float) -> float:
    """Arc (midpoint) elasticity of two (conversion, price) points; see :func:`arc_elasticity`."""
    return ((c2 - c1) / ((c1 + c2) / 2)) / ((p2 - p1) / ((p1 + p2) / 2))


def baseline_elasticity_point(c1: float, c2: float, p1: float, p2: float) -> float:
    """The framework's elasticity of two (conversion, price) points: both changes relative to
    the baseline (c1, p1); see :func:`arc_elasticity`."""
    return ((c2 - c1) / c1) / ((p2 - p1) / p1)


# ----------------------------------------------------------------------------- pooled curve


def _wtp_laplace(
    log_p: np.ndarray,
    conversions: np.ndarray,
    visitors: np.ndarray,
    *,
    prior_mean: np.ndarray,
    prior_sd: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Posterior mode and covariance (Laplace) of the willingness-to-pay curve's parameters
    (logit c_max, median log WTP, log scale)."""
    from scipy.optimize import minimize

    def neg_log_post(theta: np.ndarray) -> float:
        return float(
            -_wtp_log_posterior(
                theta[None, :],
                log_p,
                conversions,
                visitors,
                prior_mean=prior_mean,
                prior_sd=prior_sd,
            )[0]
        )

    best = minimize(
        neg_log_post,
        prior_mean,
        method="Nelder-Mead",
        options={"xatol": 1e-9, "fatol": 1e-10, "maxiter": 20_000},
    )
    best = minimize(neg_log_post, best.x, method="BFGS", options={"gtol": 1e-8})
    theta = best.x
    h = 1e-4
    k = len(theta)
    hess = np.empty((k, k))
    for i in range(k):
        for j in range(k):
            ei, ej = np.eye(k)[i] * h, np.eye(k)[j] * h
            hess[i, j] = (
                neg_log_post(theta + ei + ej)
                - neg_log_post(theta + ei - ej)
                - neg_log_post(theta - ei + ej)
                + neg_log_post(theta - ei - ej)
            ) / (4 * h * h)
    return theta, np.linalg.inv((hess + hess.T) / 2)


def _wtp_log_posterior(
    theta: np.ndarray,
    log_p: np.ndarray,
    conversions: np.ndarray,
    visitors: np.ndarray,
    *,
    prior_mean: np.ndarray,
    prior_sd: np.ndarray,
) -> np.ndarray:
    """Log posterior (up to a constant) of (draw, 3) WTP parameters: binomial likelihood of
    every arm plus independent Normal priors."""
    c = np.clip(_wtp_conversion(theta, log_p), 1e-12, 1 - 1e-12)
    loglik = (conversions * np.log(c) + (visitors - conversions) * np.log1p(-c)).sum(axis=1)
    return loglik - 0.5 * (((theta - prior_mean) / prior_sd) ** 2).sum(axis=1)


def _grid_draws(
    mode: np.ndarray,
    cov: np.ndarray,
    log_post,
    *,
    draws: int,
    rng: np.random.Generator,
    size: int = 41,
    width: float = 6.0,
) -> np.ndarray:
    """Posterior draws from a grid: ``size`` points per parameter over the Laplace mode +/-
    ``width`` marginal sds, weighted by the exact posterior, resampled with uniform jitter
    within each cell. Exact up to the grid, where a Gaussian approximation is not (the
    c_max - median-WTP ridge when the tested prices show no plateau)."""
    sd = np.sqrt(np.diag(cov))
    axes = [np.linspace(m - width * s, m + width * s, size) for m, s in zip(mode, sd, strict=True)]
    pts = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, len(mode))
    lp = log_post(pts)
    w = np.exp(lp - lp.max())
    idx = rng.choice(len(pts), size=draws, p=w / w.sum())
    step = 2 * width * sd / (size - 1)
    return pts[idx] + rng.uniform(-0.5, 0.5, size=(draws, len(mode))) * step


def _wtp_survival(theta: np.ndarray, log_p: np.ndarray) -> np.ndarray:
    """P(WTP > price) with log WTP ~ Logistic(m, s): (draw, price) shares."""
    from scipy.special import expit

    return expit((theta[:, 1:2] - log_p[None, :]) / np.exp(theta[:, 2:3]))


def _wtp_conversion(theta: np.ndarray, log_p: np.ndarray) -> np.ndarray:
    """c_max x P(WTP > price): (draw, price) conversion rates; theta = (logit c_max, m, log s)."""
    from scipy.special import expit

    return expit(theta[:, :1]) * _wtp_survival(theta, log_p)


def conversion_curve(
    arms: pd.DataFrame,
    *,
    points: int = 60,
    prob: float = 0.94,
    draws: int = 4000,
    seed: int = 0,
) -> pd.DataFrame:
    """A conversion-vs-price curve pooled across the arms of each test, with 94 % bands.

    Willingness-to-pay model: conversion(p) = c_max x P(WTP > p), where c_max is the share of
    visitors who would buy at a negligible price and log WTP ~ Logistic(m, s) among them
    (a plateau, then a fall around the median WTP ``exp(m)``; a power law when the tested
    prices sit far above it). Weakly informative priors: logit c_max ~ Normal(logit of three
    times the best arm's rate, 2), m ~ Normal(log of the geometric mean price, 1), log s ~
    Normal(log 0.3, 1). The posterior is evaluated exactly on a grid around its mode (three
    parameters make that cheap and robust where a Gaussian approximation is not). Columns: test_id, price, ``conv_*`` and ``rpv_*`` (mean, lower,
    upper) and ``elasticity``: point elasticity of conversion d log(conversion) / d log(price),
    posterior mean. The grid spans the tested prices.
    """
    rng = np.random.default_rng(seed)
    tail = (1 - prob) / 2
    out = []
    for test_id, g in arms.groupby("test_id", sort=True):
        prices = g["price"].to_numpy(float)
        log_p = np.log(prices)
        top = float(np.clip(3 * (g["conversions"] + 1).div(g["visitors"] + 2).max(), 1e-4, 0.95))
        prior_mean = np.array([np.log(top / (1 - top)), log_p.mean(), np.log(0.3)])
        prior_sd = np.array([2.0, 1.0, 1.0])
        k, n = g["conversions"].to_numpy(float), g["visitors"].to_numpy(float)
        theta, cov = _wtp_laplace(log_p, k, n, prior_mean=prior_mean, prior_sd=prior_sd)
        post = partial(
            _wtp_log_posterior,
            log_p=log_p,
            conversions=k,
            visitors=n,
            prior_mean=prior_mean,
            prior_sd=prior_sd,
        )
        grid = np.linspace(prices.min(), prices.max(), points)
        sims = _grid_draws(theta, cov, post, draws=draws, rng=rng)
        conv = _wtp_conversion(sims, np.log(grid))
        survival = _wtp_survival(sims, np.log(grid))
        elasticity = -(1 - survival) / np.exp(sims[:, 2:3])  # d log S / d log p
        rpv = conv * grid[None]
        block = pd.DataFrame({"test_id": test_id, "price": grid})
        for name, d in (("conv", conv), ("rpv", rpv)):
            block[f"{name}_mean"] = d.mean(axis=0)
            block[f"{name}_lower"] = np.quantile(d, tail, axis=0)
            block[f"{name}_upper"] = np.quantile(d, 1 - tail, axis=0)
        block["elasticity"] = elasticity.mean(axis=0)
        out.append(block)
    return pd.concat(out, ignore_index=True)


# ----------------------------------------------------------------------------- decisions


def verdicts(
    arms: pd.DataFrame,
    *,
    config: Mapping[str, float] | None = None,
    planning: Mapping[str, float] | None = None,
    prior: tuple[float, float] = (1.0, 1.0),
    draws: int = 20_000,
    seed: int = 0,
) -> pd.DataFrame:
    """The decision for each test: winner, no difference or keep testing.

    winner: the leader (highest posterior mean RPV) has P(best) >= ``prob_best`` (0.95).
    no difference: otherwise, when every arm's RPV relative to the leader's lies within
    +/- ``rope`` (5 %) with ``prob`` (94 %) posterior probability - any price earns about as
    much. keep testing: neither. ``visitors_needed_per_variant``: what a two-sided 95 % test
    with 80 % power needs to tell the leader's revenue per visitor from the runner-up's at the
    observed rates (:func:`visitors_per_variant_rpv`); ``days_needed`` at the test's traffic.
    """
    cfg = DECISION | dict(config or {})
    plan = PLANNING | dict(planning or {})
    tail = (1 - cfg["prob"]) / 2
    rpv = rpv_draws(arms, prior=prior, draws=draws, seed=seed)
    rows = []
    for test_id, idx in arms.groupby("test_id", sort=True).indices.items():
        g = arms.iloc[idx]
        lead_pos = int(np.argmax(g["rpv_mean"].to_numpy()))
        lead = g.iloc[lead_pos]
        rel = rpv[:, idx] / rpv[:, idx[lead_pos]][:, None] - 1
        others = [k for k in range(len(idx)) if k != lead_pos]
        lo = np.quantile(rel[:, others], tail, axis=0) if others else np.array([0.0])
        hi = np.quantile(rel[:, others], 1 - tail, axis=0) if others else np.array([0.0])
        equivalent = bool((lo > -cfg["rope"]).all() and (hi < cfg["rope"]).all())
        runner_pos = (
            others[int(np.argmax(g["rpv_mean"].to_numpy()[others]))] if others else lead_pos
        )
        runner = g.iloc[runner_pos]
        if lead["prob_best"] >= cfg["prob_best"]:
            verdict = "winner"
            reason = (
                f"{lead['variant']} at {lead['price']:,.2f} has the highest revenue per visitor with "
                f"{pct(lead['prob_best'])} probability (threshold {pct(cfg['prob_best'], decimals=0)})."
            )
        elif equivalent:
            verdict = "no difference"
            reason = (
                f"every price earns within ±{cfg['rope']:.0%} of the leader's revenue per visitor "
                f"({cfg['prob']:.0%} intervals); choose on other grounds."
            )
        else:
            verdict = "keep testing"
            reason = (
                f"the leader {lead['variant']} is best with only {pct(lead['prob_best'])} probability "
                f"and the difference could still exceed ±{cfg['rope']:.0%}."
            )
        visitors = int(g["visitors"].sum())
        per_day = visitors / float(g["days"].max()) if "days" in g.columns else float("nan")
        needed = _needed_for(lead, runner, plan)
        rows.append(
            {
                "test_id": test_id,
                "product": lead["product"],
                "region": lead["region"],
                "arms": len(idx),
                "visitors": visitors,
                "days": int(g["days"].max()) if "days" in g.columns else None,
                "leader": lead["variant"],
                "leader_price": lead["price"],
                "leader_rpv": lead["rpv_mean"],
                "prob_best": lead["prob_best"],
                "expected_loss": lead["expected_loss"],
                "lift_vs_runner_up": float(np.mean(-rel[:, runner_pos] / (1 + rel[:, runner_pos])))
                if others
                else 0.0,
                "verdict": verdict,
                "reason": reason,
                "runner_up": runner["variant"],
                "visitors_needed_per_variant": needed,
                "days_needed": math.ceil(needed * len(idx) / per_day)
                if needed and per_day > 0
                else None,
            }
        )
    return pd.DataFrame(rows)


def _needed_for(lead: pd.Series, runner: pd.Series, plan: Mapping[str, float]) -> int | None:
    try:
        return visitors_per_variant_rpv(
            (runner["conv_mean"], runner["price"]),
            (lead["conv_mean"], lead["price"]),
            alpha=plan["alpha"],
            power=plan["power"],
        )
    except ValueError:  # same revenue per visitor: no finite size detects "no difference"
        return None


def simulate_price_test(
    prices: Sequence[float],
    conversion: Sequence[float],
    visitors: int,
    *,
    test_id: str = "sim",
    days: int = 30,
    seed: int = 0,
) -> pd.DataFrame:
    """A simulated ``price_tests`` table: ``visitors`` per arm, conversions ~ Binomial(visitors,
    true conversion) at each price. For validating decisions against a known truth."""
    rng = np.random.default_rng(seed)
    conv = rng.binomial(visitors, np.asarray(conversion, dtype=float))
    start = pd.Timestamp("2025-01-01")
    return pd.DataFrame(
        {
            "test_id": test_id,
            "variant": [f"{chr(65 + i)}-{p:g}" for i, p in enumerate(prices)],
            "product": "simulated",
            "region": pd.NA,
            "price": np.asarray(prices, dtype=float),
            "visitors": visitors,
            "conversions": conv,
            "start_date": start,
            "end_date": start + pd.Timedelta(days=days - 1),
        }
    )


# ----------------------------------------------------------------------------- planning


def visitors_per_variant(
    baseline: float, lift: float, *, alpha: float = 0.05, power: float = 0.8
) -> int:
    """Visitors per variant a two-sided two-proportion z-test needs to detect a relative lift in conversion.

    ``n = (z_{1-alpha/2} sqrt(2 pbar (1 - pbar)) + z_{power} sqrt(p1 (1 - p1) + p2 (1 - p2)))^2
    / (p2 - p1)^2`` with ``p2 = baseline x (1 + lift)`` and ``pbar`` their mean (Fleiss, without
    continuity correction), rounded up. Visitors per variant.
    """
    if not 0 < baseline < 1:
        raise ValueError(f"baseline conversion must be in (0, 1), got {baseline}")
    p2 = baseline * (1 + lift)
    if not 0 < p2 < 1 or lift == 0:
        raise ValueError(
            f"lift must be non-zero and keep the rate in (0, 1); got lift {lift} on {baseline}"
        )
    if not 0 < alpha < 1 or not 0 < power < 1:
        raise ValueError(f"alpha and power must be in (0, 1), got alpha={alpha}, power={power}")
    z_a = sps.norm.ppf(1 - alpha / 2)
    z_b = sps.norm.ppf(power)
    pbar = (baseline + p2) / 2
    num = z_a * math.sqrt(2 * pbar * (1 - pbar)) + z_b * math.sqrt(
        baseline * (1 - baseline) + p2 * (1 - p2)
    )
    return math.ceil(num**2 / (p2 - baseline) ** 2)


def visitors_per_variant_rpv(
    arm_a: tuple[float, float],
    arm_b: tuple[float, float],
    *,
    alpha: float = 0.05,
    power: float = 0.8,
) -> int:
    """Visitors per variant for a two-sided Wald test to tell the revenue per visitor of two
    prices apart. ``arm_*`` = (conversion rate, price).

    ``n = (z_{1-alpha/2} + z_{power})^2 (p_a^2 c_a (1 - c_a) + p_b^2 c_b (1 - c_b)) / (p_a c_a - p_b c_b)^2``,
    rounded up: the size a price test needs, where conversion alone is the wrong yardstick
    (a higher price converts fewer visitors yet may earn more).
    """
    (ca, pa), (cb, pb) = arm_a, arm_b
    if not (0 < ca < 1 and 0 < cb < 1 and pa > 0 and pb > 0):
        raise ValueError(f"need conversions in (0, 1) and prices > 0, got {arm_a} and {arm_b}")
    gap = pa * ca - pb * cb
    if gap == 0:
        raise ValueError(
            "the two arms have the same revenue per visitor: no test size detects a difference"
        )
    z = sps.norm.ppf(1 - alpha / 2) + sps.norm.ppf(power)
    return math.ceil(z**2 * (pa**2 * ca * (1 - ca) + pb**2 * cb * (1 - cb)) / gap**2)


def minimum_detectable_lift(
    baseline: float, visitors: int, *, alpha: float = 0.05, power: float = 0.8
) -> float:
    """Smallest relative lift in conversion a test with ``visitors`` per variant detects
    (two-sided, ``alpha``, ``power``; the inverse of :func:`visitors_per_variant`). Ratio."""
    from scipy.optimize import brentq

    hi = min((1 - 1e-9) / baseline - 1, 100.0)
    if visitors_per_variant(baseline, hi, alpha=alpha, power=power) > visitors:
        return float("nan")
    return float(
        brentq(
            lambda x: visitors_per_variant(baseline, x, alpha=alpha, power=power) - visitors - 0.5,
            1e-6,
            hi,
            xtol=1e-6,
        )
    )


def plan_test(
    baseline: float,
    lift: float,
    *,
    daily_visitors: float,
    variants: int = 2,
    planning: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """Visitors per variant and days needed to detect a relative ``lift`` in conversion.

    Days = visitors per variant x variants / daily visitors (all variants share the traffic),
    rounded up. ``rule_of_thumb_enough``: whether the team's rule (1,000 visitors per variant,
    30 days) reaches that size; ``mde_at_rule``: the lift 1,000 visitors per variant can detect.
    """
    plan = PLANNING | dict(planning or {})
    n = visitors_per_variant(baseline, lift, alpha=plan["alpha"], power=plan["power"])
    days = math.ceil(n * variants / daily_visitors) if daily_visitors > 0 else None
    rule_n, rule_days = int(plan["rule_visitors"]), int(plan["rule_days"])
    enough = n <= rule_n and (days is not None and days <= rule_days)
    mde = minimum_detectable_lift(baseline, rule_n, alpha=plan["alpha"], power=plan["power"])
    if enough:
        message = f"{rule_n:,} visitors per variant and {rule_days} days are enough: {n:,} per variant take {days} days."
    else:
        message = (
            f"not enough: detecting a {lift:+.0%} lift on a {baseline:.1%} conversion needs {n:,} visitors per "
            f"variant ({days} days at {daily_visitors:,.0f} visitors a day); {rule_n:,} per variant only detect "
            f"{mde:+.0%}."
        )
    return {
        "baseline": baseline,
        "lift": lift,
        "variants": variants,
        "daily_visitors": daily_visitors,
        "visitors_per_variant": n,
        "total_visitors": n * variants,
        "days_needed": days,
        "rule_visitors": rule_n,
        "rule_days": rule_days,
        "rule_of_thumb_enough": enough,
        "mde_at_rule": mde,
        "message": message,
    }


def plan_tests(
    arms: pd.DataFrame, *, lift: float = 0.10, planning: Mapping[str, float] | None = None
) -> pd.DataFrame:
    """:func:`plan_test` for every test: baseline = the test's pooled conversion, traffic =
    its visitors per day, variants = its arms."""
    rows = []
    for test_id, g in arms.groupby("test_id", sort=True):
        base = g["conversions"].sum() / g["visitors"].sum()
        days = float(g["days"].max()) if "days" in g.columns else float("nan")
        plan = plan_test(
            base,
            lift,
            daily_visitors=g["visitors"].sum() / days,
            variants=len(g),
            planning=planning,
        )
        rows.append({"test_id": test_id, **plan})
    return pd.DataFrame(rows)


def truth_check(verdict_table: pd.DataFrame, best_prices: Mapping[str, float]) -> pd.DataFrame:
    """Compare each test's leader price with the truly best price (``test_id -> price``):
    ``picked_best`` is True when the leader's price is the true best."""
    out = verdict_table[["test_id", "visitors", "verdict", "leader_price", "prob_best"]].copy()
    out["true_best_price"] = out["test_id"].map(dict(best_prices))
    out["picked_best"] = np.isclose(
        out["leader_price"].astype(float), out["true_best_price"].astype(float)
    )
    return out
