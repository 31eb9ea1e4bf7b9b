"""Offer tests: experiments whose variant is an annual-billing discount or a free-trial length,
judged on conversion, lifetime value (LTV) and CAC payback per arm, not on conversion alone.

Each arm (test x variant) has Beta-Binomial posteriors of its conversion (paying customers per
visitor), annual-billing share (of paying customers) and early churn (paying customers who
cancelled within ``early_churn_days``). Monte-Carlo draws of those give per arm, in money per
month unless stated:

- ARPU = list price x (1 - annual share x annual discount): revenue per customer per month.
- monthly churn m = 1 - (1 - early churn) ^ (30.4375 / early_churn_days).
- LTV = ARPU x gross margin x (1 - (1 - m) ^ H) / m: gross profit per customer over a horizon
  of H months (money per customer; the horizon keeps a near-zero churn finite).
- CAC = acquisition cost / paying customers (money per customer; the arm's traffic and trial
  serving costs); CAC payback = CAC / (ARPU x gross margin), months.
- value per visitor = conversion x (LTV - CAC): lifetime gross profit net of acquisition cost
  per visitor, money per visitor. The decision maximises it.

The decision rules are those of the price tests (:data:`revlib.pricing.experiments.DECISION`:
winner at P(best) >= 95 %, +/- 5 % region of practical equivalence at 94 %) plus the
framework's minimums (:data:`revlib.pricing.experiments.PLANNING`: 30 days and 1,000 visitors
per variant) and a CAC-payback ceiling.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from revlib.data.frames import require_columns
from revlib.pricing.experiments import DECISION, PLANNING
from revlib.reporting import pct

OFFER_KINDS = ("annual_discount", "free_trial")
ECONOMICS: dict[str, float] = {
    "gross_margin": 0.80,  # share of revenue left after cost of revenue
    "horizon_months": 36,  # LTV horizon
    "max_payback_months": 12.0,  # a winner must earn its CAC back within this many months
}
DAYS_PER_MONTH = 30.4375
METRICS = ("conversion", "annual_share", "early_churn", "arpu", "ltv", "cac", "payback", "value")
_KEYS = ["test_id", "variant"]
_NEED = [
    "test_id",
    "kind",
    "variant",
    "list_price",
    "annual_discount",
    "trial_days",
    "visitors",
    "conversions",
    "annual_customers",
    "early_churned",
    "early_churn_days",
    "acquisition_cost",
]


def offer_arms(offer_tests: pd.DataFrame) -> pd.DataFrame:
    """One row per test x variant (rows of the same arm are summed); checks the offer is one
    per arm and the kind is known. Adds ``days`` (end - start + 1) when dates are given."""
    require_columns(offer_tests, "offer_tests", _NEED)
    df = offer_tests.copy()
    bad = sorted(set(df["kind"].astype(str)) - set(OFFER_KINDS))
    if bad:
        raise ValueError(f"offer_tests.kind must be one of {list(OFFER_KINDS)}, got {bad}")
    for c in ("product", "region", "trials"):
        if c not in df.columns:
            df[c] = pd.NA
    fixed = ["kind", "list_price", "annual_discount", "trial_days", "early_churn_days"]
    several = df.groupby(_KEYS)[fixed].nunique(dropna=False).gt(1).any(axis=1)
    if several.any():
        arms = [f"{t}/{v}" for t, v in several[several].index]
        raise ValueError(f"offer_tests: each arm must show one offer and price; several in {arms}")
    summed = ["visitors", "trials", "conversions", "annual_customers", "early_churned"]
    agg: dict[str, Any] = {c: (c, "first") for c in ["product", "region", *fixed]}
    agg |= {c: (c, "sum") for c in [*summed, "acquisition_cost"]}
    agg["trials"] = ("trials", lambda s: s.sum(min_count=1))  # no trials recorded: missing
    has_dates = {"start_date", "end_date"} <= set(df.columns)
    if has_dates:
        agg |= {"start_date": ("start_date", "min"), "end_date": ("end_date", "max")}
    out = df.groupby(_KEYS, sort=True).agg(**agg).reset_index()
    for c in ("visitors", "conversions", "annual_customers", "early_churned"):
        out[c] = out[c].astype("int64")
    if has_dates:
        out["days"] = (
            pd.to_datetime(out["end_date"]) - pd.to_datetime(out["start_date"])
        ).dt.days + 1
    return out.reset_index(drop=True)


def _beta(
    rng: np.random.Generator, k: pd.Series, n: pd.Series, prior: tuple[float, float], draws: int
) -> np.ndarray:
    k, n = k.to_numpy(float), n.to_numpy(float)
    return rng.beta(prior[0] + k, prior[1] + n - k, size=(draws, len(k)))


def offer_draws(
    arms: pd.DataFrame,
    *,
    economics: Mapping[str, float] | None = None,
    prior: tuple[float, float] = (1.0, 1.0),
    draws: int = 20_000,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """(draws, arms) posterior draws of every metric in :data:`METRICS` for rows of
    :func:`offer_arms` (definitions in the module docstring; economics default
    :data:`ECONOMICS`)."""
    eco = ECONOMICS | dict(economics or {})
    rng = np.random.default_rng(seed)
    conv = _beta(rng, arms["conversions"], arms["visitors"], prior, draws)
    share = _beta(rng, arms["annual_customers"], arms["conversions"], prior, draws)
    churn = _beta(rng, arms["early_churned"], arms["conversions"], prior, draws)
    months = arms["early_churn_days"].to_numpy(float) / DAYS_PER_MONTH
    m = 1 - (1 - churn) ** (1 / months)
    arpu = arms["list_price"].to_numpy(float) * (
        1 - share * arms["annual_discount"].to_numpy(float)
    )
    profit = arpu * eco["gross_margin"]
    h = eco["horizon_months"]
    ltv = profit * np.where(m > 1e-12, (1 - (1 - m) ** h) / np.maximum(m, 1e-12), h)
    cost = arms["acquisition_cost"].to_numpy(float)
    cac = cost / (arms["visitors"].to_numpy(float) * conv)
    return {
        "conversion": conv,
        "annual_share": share,
        "early_churn": churn,
        "arpu": arpu,
        "ltv": ltv,
        "cac": cac,
        "payback": cac / profit,
        "value": conv * (ltv - cac),
    }


def offer_posteriors(
    offer_tests: pd.DataFrame,
    *,
    economics: Mapping[str, float] | None = None,
    prior: tuple[float, float] = (1.0, 1.0),
    prob: float = 0.94,
    draws: int = 20_000,
    seed: int = 0,
) -> pd.DataFrame:
    """Per arm: mean and central ``prob`` interval of every metric (``<metric>_mean``,
    ``_lower``, ``_upper``; see the module docstring), ``trial_rate`` (trials per visitor) and
    ``trial_to_paid`` (paying customers per trial) where trials are recorded, and per test
    ``prob_best`` (P(highest value per visitor)), ``expected_loss`` (E[best value - this arm's],
    money per visitor) and ``prob_best_conversion`` (P(highest conversion))."""
    arms = offer_arms(offer_tests)
    d = offer_draws(arms, economics=economics, prior=prior, draws=draws, seed=seed)
    tail = (1 - prob) / 2
    for name in METRICS:
        arms[f"{name}_mean"] = d[name].mean(axis=0)
        arms[f"{name}_lower"] = np.quantile(d[name], tail, axis=0)
        arms[f"{name}_upper"] = np.quantile(d[name], 1 - tail, axis=0)
    trials = pd.to_numeric(arms["trials"], errors="coerce")
    arms["trial_rate"] = trials / arms["visitors"]
    arms["trial_to_paid"] = arms["conversions"] / trials.where(trials > 0)
    n = len(arms)
    arms["prob_best"], arms["expected_loss"], arms["prob_best_conversion"] = (
        np.zeros(n),
        np.zeros(n),
        np.zeros(n),
    )
    for _, idx in arms.groupby("test_id").indices.items():
        block = d["value"][:, idx]
        arms.loc[idx, "prob_best"] = np.bincount(block.argmax(axis=1), minlength=len(idx)) / draws
        arms.loc[idx, "expected_loss"] = (block.max(axis=1, keepdims=True) - block).mean(axis=0)
        c = d["conversion"][:, idx]
        arms.loc[idx, "prob_best_conversion"] = (
            np.bincount(c.argmax(axis=1), minlength=len(idx)) / draws
        )
    return arms


def _minimums(g: pd.DataFrame, plan: Mapping[str, float]) -> list[str]:
    """What a test lacks of the framework's minimums (visitors per variant, days)."""
    short = []
    few = g.loc[g["visitors"] < plan["rule_visitors"], "variant"].tolist()
    if few:
        short.append(f"{', '.join(map(str, few))} below {int(plan['rule_visitors']):,} visitors")
    if "days" in g.columns and int(g["days"].max()) < plan["rule_days"]:
        short.append(f"ran {int(g['days'].max())} days, under {int(plan['rule_days'])}")
    return short


def offer_verdicts(
    arms: pd.DataFrame,
    *,
    economics: Mapping[str, float] | None = None,
    config: Mapping[str, float] | None = None,
    planning: Mapping[str, float] | None = None,
    prior: tuple[float, float] = (1.0, 1.0),
    draws: int = 20_000,
    seed: int = 0,
) -> pd.DataFrame:
    """The decision for each offer test, on value per visitor (conversion x (LTV - CAC)).

    too early: an arm has under 1,000 visitors or the test ran under 30 days (the framework's
    minimums, ``planning``). winner: otherwise, the leader (highest mean value per visitor) has
    P(best) >= ``prob_best`` (0.95) and its mean CAC payback is within ``max_payback_months``;
    payback too long: the same leader pays back later. no difference: every arm's value lies
    within +/- ``rope`` (5 %) of the leader's with ``prob`` (94 %) probability. keep testing:
    none of these. ``conversion_leader`` is the arm a conversion-only rule would pick;
    ``agrees_with_conversion`` says whether it is the value leader. ``arms``: rows of
    :func:`offer_posteriors` (same ``prior``, ``draws``, ``seed`` and ``economics``).
    """
    cfg = DECISION | dict(config or {})
    plan = PLANNING | dict(planning or {})
    eco = ECONOMICS | dict(economics or {})
    tail = (1 - cfg["prob"]) / 2
    value = offer_draws(arms, economics=eco, prior=prior, draws=draws, seed=seed)["value"]
    rows = []
    for test_id, idx in arms.groupby("test_id", sort=True).indices.items():
        g = arms.iloc[idx]
        lead_pos = int(np.argmax(g["value_mean"].to_numpy()))
        lead = g.iloc[lead_pos]
        conv_lead = g.iloc[int(np.argmax(g["conversion_mean"].to_numpy()))]
        others = [k for k in range(len(idx)) if k != lead_pos]
        v_lead = value[:, idx[lead_pos]][:, None]
        rel = (value[:, idx] - v_lead) / np.abs(v_lead)
        lo = np.quantile(rel[:, others], tail, axis=0) if others else np.zeros(1)
        hi = np.quantile(rel[:, others], 1 - tail, axis=0) if others else np.zeros(1)
        equivalent = bool((lo > -cfg["rope"]).all() and (hi < cfg["rope"]).all())
        short = _minimums(g, plan)
        payback_ok = bool(lead["payback_mean"] <= eco["max_payback_months"])
        name = f"{lead['variant']}"
        if short:
            verdict = "too early"
            reason = f"below the framework's minimums: {'; '.join(short)}."
        elif lead["prob_best"] >= cfg["prob_best"] and payback_ok:
            verdict = "winner"
            reason = (
                f"{name} has the highest value per visitor (conversion x (LTV - CAC)) with "
                f"{pct(lead['prob_best'])} probability and pays its CAC back in "
                f"{lead['payback_mean']:.1f} months."
            )
        elif lead["prob_best"] >= cfg["prob_best"]:
            verdict = "payback too long"
            reason = (
                f"{name} has the highest value per visitor with {pct(lead['prob_best'])} "
                f"probability but pays its CAC back in {lead['payback_mean']:.1f} months "
                f"(ceiling {eco['max_payback_months']:g})."
            )
        elif equivalent:
            verdict = "no difference"
            reason = (
                f"every arm's value per visitor is within ±{cfg['rope']:.0%} of the leader's "
                f"({cfg['prob']:.0%} intervals); choose on other grounds."
            )
        else:
            verdict = "keep testing"
            reason = (
                f"the leader {name} is best with only {pct(lead['prob_best'])} probability "
                f"and the difference could still exceed ±{cfg['rope']:.0%}."
            )
        agrees = bool(conv_lead["variant"] == lead["variant"])
        if not agrees:
            reason += (
                f" A conversion-only rule would pick {conv_lead['variant']} "
                f"(P(highest conversion) {pct(conv_lead['prob_best_conversion'])})."
            )
        rows.append(
            {
                "test_id": test_id,
                "kind": lead["kind"],
                "product": lead["product"],
                "region": lead["region"],
                "arms": len(idx),
                "visitors": int(g["visitors"].sum()),
                "days": int(g["days"].max()) if "days" in g.columns else None,
                "leader": lead["variant"],
                "prob_best": float(lead["prob_best"]),
                "leader_value": float(lead["value_mean"]),
                "leader_ltv": float(lead["ltv_mean"]),
                "leader_payback": float(lead["payback_mean"]),
                "conversion_leader": conv_lead["variant"],
                "agrees_with_conversion": agrees,
                "meets_minimums": not short,
                "verdict": verdict,
                "reason": reason,
            }
        )
    return pd.DataFrame(rows)


def simulate_offer_test(
    kind: str,
    offers: Sequence[float],
    *,
    conversion: Sequence[float],
    early_churn: Sequence[float],
    annual_share: Sequence[float],
    visitors: int,
    list_price: float = 149.0,
    cost_per_visitor: float = 40.0,
    trial_cost: Sequence[float] | None = None,
    trial_rate: Sequence[float] | None = None,
    days: int = 30,
    early_churn_days: int = 90,
    test_id: str = "sim",
    seed: int = 0,
) -> pd.DataFrame:
    """A simulated ``offer_tests`` table with known truth: per arm ``visitors`` visitors convert
    with ``conversion``, a share ``annual_share`` of customers bill annually and ``early_churn``
    cancel within ``early_churn_days`` (binomial draws). ``offers``: annual discounts (shares)
    or trial lengths (days). Acquisition cost = visitors x ``cost_per_visitor`` + trials x
    ``trial_cost`` (money)."""
    if kind not in OFFER_KINDS:
        raise ValueError(f"kind must be one of {list(OFFER_KINDS)}, got {kind!r}")
    rng = np.random.default_rng(seed)
    k = len(offers)
    conv = rng.binomial(visitors, np.asarray(conversion, float))
    annual = rng.binomial(conv, np.asarray(annual_share, float))
    churned = rng.binomial(conv, np.asarray(early_churn, float))
    trial = kind == "free_trial"
    trials = (
        np.maximum(rng.binomial(visitors, np.asarray(trial_rate, float)), conv)
        if trial and trial_rate is not None
        else None
    )
    cost = visitors * cost_per_visitor + (
        trials * np.asarray(trial_cost, float)
        if trials is not None and trial_cost is not None
        else 0.0
    )
    start = pd.Timestamp("2025-01-01")
    return pd.DataFrame(
        {
            "test_id": test_id,
            "kind": kind,
            "variant": [
                f"{chr(65 + i)}-{int(o)}d" if trial else f"{chr(65 + i)}-{o:.0%}"
                for i, o in enumerate(offers)
            ],
            "product": "simulated",
            "list_price": float(list_price),
            "annual_discount": 0.15 if trial else np.asarray(offers, float),
            "trial_days": np.asarray(offers, int) if trial else 0,
            "visitors": visitors,
            "trials": trials if trials is not None else np.full(k, np.nan),
            "conversions": conv,
            "annual_customers": annual,
            "early_churned": churned,
            "early_churn_days": early_churn_days,
            "acquisition_cost": np.broadcast_to(cost, (k,)).astype(float),
            "start_date": start,
            "end_date": start + pd.Timedelta(days=days - 1),
        }
    )


def offer_truth_check(verdicts: pd.DataFrame, truth: Mapping[str, Any]) -> pd.DataFrame:
    """Each offer test's leader against the truly most valuable arm (``truth``: test_id ->
    {"best_by_value", "best_by_conversion"}, the sample company's ``offer_tests`` truth):
    ``picked_best`` is True when the leader is the true best by value per visitor."""
    out = verdicts[["test_id", "verdict", "leader", "prob_best", "conversion_leader"]].copy()
    out["true_best"] = out["test_id"].map(lambda t: truth.get(t, {}).get("best_by_value"))
    out["true_best_by_conversion"] = out["test_id"].map(
        lambda t: truth.get(t, {}).get("best_by_conversion")
    )
    out["picked_best"] = out["leader"] == out["true_best"]
    return out
