"""Pieces of the pipeline forecast report: the forecast date, KPI cards, category roll-up for a
period and the artifacts, so that the notebook stays a story of one-line calls."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from revlib import bayes
from revlib.data import round_floats
from revlib.forecasting._common import default_as_of
from revlib.forecasting.arr import target_probability
from revlib.forecasting.backtest import backtest_summary
from revlib.forecasting.bookings_forecast import BookingsForecast
from revlib.forecasting.categories import category_rollup, forecast_category
from revlib.forecasting.pipeline_health import coverage_ratio
from revlib.periods import month_start, next_period
from revlib.reporting import money, pct

COVERAGE_GOAL = (0.7, 0.9)  # 80 % intervals should hold the actual in 70-90 % of periods


def settings(fast: bool, *, n_simulations: int, backtest_origins: int) -> dict[str, Any]:
    """What ``fast`` changes in the pipeline forecast: ``n_sims`` (simulated outcomes of
    bookings and of ARR paths: 1,000 fast, else ``n_simulations``), ``bt_origins`` and
    ``bt_sims`` (back-test periods, at most 4 fast, and simulations per period: 300 fast,
    1,000 full) and ``sampler`` (the ARR model's :func:`revlib.bayes.sample` settings: 2 chains
    of 300 draws after 300 tuning steps fast, of 1,000 after 1,000 full)."""
    steps = 300 if fast else 1000
    return {
        "n_sims": 1000 if fast else n_simulations,
        "bt_origins": min(backtest_origins, 4) if fast else backtest_origins,
        "bt_sims": 300 if fast else 1000,
        "sampler": bayes.sampler_config(draws=steps, tune=steps, chains=2),
    }


def forecast_date(opportunities: pd.DataFrame, as_of: str = "") -> pd.Timestamp:
    """The forecast date: midnight after the as-of month (``"YYYY-MM"`` or a date in it);
    ``""`` = after the last month with deal activity."""
    if not as_of:
        return default_as_of(opportunities)
    return month_start(as_of) + pd.DateOffset(months=1)


def period_categories(
    fc: BookingsForecast, *, k: int = 0, thresholds: Mapping[str, float] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Forecast categories of the open deals expected to close in period ``k`` (all open deals
    when the pipeline has no expected close dates) and their cumulative roll-up beside the
    model's expected bookings from the same deals. Returns (rollup, deals)."""
    deals = fc.deals.copy()
    deals["category"] = forecast_category(deals, deals["stage_win_rate"], thresholds=thresholds)
    start, end = fc.periods[k], next_period(fc.periods[k], fc.period)
    if deals["expected_close"].notna().any():
        deals = deals[(deals["expected_close"] >= start) & (deals["expected_close"] < end)]
    expected = deals[f"p_{fc.labels[k]}"] * deals["amount"]
    closed = float(fc.components["closed"][k].sum())
    return category_rollup(deals, closed_won=closed, expected=expected), deals


def probability_text(p: float) -> str:
    """A probability for a card: whole percent, but never a flat 0 % or 100 % from a finite
    number of simulations."""
    if not np.isfinite(p):
        return "–"
    if p > 0.99:
        return "> 99 %"
    if p < 0.01:
        return "< 1 %"
    return pct(p, decimals=0)


def bookings_cards(fc: BookingsForecast, *, target: float, k: int = 0) -> list[dict[str, Any]]:
    """KPI cards of the bookings call for period ``k``."""
    x = fc.totals()[:, k]
    p10, p50, p90 = np.quantile(x, [0.1, 0.5, 0.9])
    p_target = float((x >= target).mean()) if target > 0 else float("nan")
    status = "good" if p_target >= 0.7 else "warning" if p_target >= 0.4 else "critical"
    closed = float(fc.components["closed"][k].sum())
    return [
        {
            "label": f"Bookings {fc.labels[k]} (P50)",
            "value": money(p50),
            "sub": f"P10 {money(p10)} · P90 {money(p90)}",
            "status": "neutral",
            "definition": "Median of the simulated bookings (won ARR) of the period, won-so-far included.",
        },
        {
            "label": "Chance to make the target",
            "value": probability_text(p_target),
            "sub": f"target {money(target)}",
            "status": status,
            "definition": "Share of simulations whose bookings reach the period target.",
        },
        {
            "label": "Won so far",
            "value": money(closed),
            "sub": f"open pipeline {money(fc.info['open_amount'])} in {fc.info['open_deals']} deals",
            "status": "neutral",
            "definition": "ARR of deals won in the period before the forecast date.",
        },
    ]


def arr_cards(
    paths: np.ndarray,
    *,
    start_month,
    arr_target: float,
    target_date,
    velocity: Mapping[str, Any],
    arr_with_risks: np.ndarray | None = None,
) -> list[dict[str, Any]]:
    """KPI cards of the ARR call: ARR now, P50 at the target date, chance of reaching the target
    and the velocity needed against the one achieved. With ``arr_with_risks`` (ARR at the
    target month on every path with the risk register's shocks,
    :func:`revlib.forecasting.scenarios.risk_impacts`) the chance is the risk-adjusted one
    and the no-shock figure is the footnote."""
    tp = target_probability(
        paths, arr_target=arr_target, start_month=start_month, target_date=target_date
    )
    p = tp["probability"]
    sub = f"{money(arr_target)} by {pd.Timestamp(target_date):%Y-%m-%d}"
    definition: Any = target_probability
    label = "Chance to reach the ARR target"
    q = {k: tp[f"arr_{k}"] for k in ("p10", "p50", "p90")}
    p50_label = f"ARR at {tp['target_month']} (P50)"
    if arr_with_risks is not None:
        shocked = np.asarray(arr_with_risks, dtype=float)
        no_shock = p
        p = float((shocked >= arr_target).mean())
        q = dict(zip(("p10", "p50", "p90"), np.quantile(shocked, [0.1, 0.5, 0.9]), strict=True))
        label += " (with the risk register)"
        p50_label = f"ARR at {tp['target_month']} (P50, with the risk register)"
        sub += f"; {probability_text(no_shock)} if no risk strikes"
        definition = (
            "Share of simulated ARR paths at or above the target at the end of the target "
            "month, each path struck by the risks of the register with their probabilities."
        )
    on_track = velocity["actual_daily_velocity"] >= velocity["required_daily_velocity"]
    return [
        {
            "label": "ARR now",
            "value": money(12 * paths[0, 0]),
            "sub": f"end of {pd.Timestamp(start_month):%Y-%m}",
            "status": "neutral",
            "definition": "12 x MRR at the end of the as-of month.",
        },
        {
            "label": p50_label,
            "value": money(q["p50"]),
            "sub": f"P10 {money(q['p10'])} · P90 {money(q['p90'])}",
            "status": "neutral",
            "definition": "Median of the simulated ARR paths at the target month"
            + (", each struck by the risk register." if arr_with_risks is not None else "."),
        },
        {
            "label": label,
            "value": probability_text(p),
            "sub": sub,
            "status": "good" if p >= 0.7 else "warning" if p >= 0.4 else "critical",
            "definition": definition,
        },
        {
            "label": "ARR velocity needed",
            "value": f"{money(velocity['required_monthly_velocity'])}/mo",
            "sub": f"achieved {money(velocity['actual_monthly_velocity'])}/mo (last 3 months)",
            "status": "good" if on_track else "critical",
            "definition": "(target - ARR) / days to the target date, x 365/12; achieved = ARR change over the last three months per month.",
        },
    ]


def coverage_card(open_in_period: float, *, target: float, closed: float) -> dict[str, Any]:
    """KPI card of pipeline coverage for the period."""
    c = coverage_ratio(open_in_period, target, closed)
    return {
        "label": "Pipeline coverage",
        "value": "met" if c == float("inf") else f"{c:.1f}x",
        "sub": f"open {money(open_in_period)} vs gap {money(max(target - closed, 0))}",
        "status": "good" if c >= 3 else "warning" if c >= 2 else "critical",
        "definition": coverage_ratio,
    }


def backtest_cards(summary: pd.DataFrame) -> list[dict[str, Any]]:
    """KPI cards of the model's back-test accuracy."""
    m = summary.set_index("method").loc["model"]
    lo, hi = COVERAGE_GOAL
    cov_ok = lo <= m["coverage80"] <= hi
    return [
        {
            "label": "Back-test WAPE (model)",
            "value": pct(m["wape"]),
            "sub": f"{int(m['periods'])} periods · bias {pct(m['bias'], signed=True)}",
            "status": "good" if bool(m["best_wape"]) else "warning",
            "definition": "sum |forecast - actual| / sum actual over the back-test periods.",
        },
        {
            "label": "Periods within ±5 %",
            "value": pct(m["within_5pct"], decimals=0),
            "sub": "the team's accuracy goal",
            "status": "neutral",
            "definition": "Share of back-test periods whose P50 was within 5 % of the actual bookings.",
        },
        {
            "label": "80 % interval coverage",
            "value": pct(m["coverage80"], decimals=0),
            "sub": f"goal {pct(lo, decimals=0)}-{pct(hi, decimals=0)}",
            "status": "good" if cov_ok else "warning",
            "definition": "Share of back-test periods whose actual fell inside the model's P10-P90.",
        },
    ]


def artifacts(
    fc: BookingsForecast, fan: pd.DataFrame | None, target: Mapping[str, Any], bt: pd.DataFrame
) -> dict[str, Any]:
    """The report's machine-readable outputs: period_forecast.csv (period, type, p10, p50, p90,
    mean), arr_forecast.csv (month, p10, p50, p90), target_probability.json, backtest.csv and
    backtest_summary.csv. Money rounded to cents, ratios to 6 decimals."""
    arr = fan if fan is not None else pd.DataFrame(columns=["month", "p10", "p50", "p90"])
    return {
        "period_forecast.csv": round_floats(fc.summary(), 2),
        "arr_forecast.csv": round_floats(arr, 2),
        "target_probability.json": {
            k: (round(v, 6) if isinstance(v, float) else v) for k, v in target.items()
        },
        "backtest.csv": round_floats(bt, 2),
        "backtest_summary.csv": round_floats(backtest_summary(bt).drop(columns="best_wape"), 6),
    }


def rate_table(post, truth: Mapping[str, float] | None = None) -> pd.DataFrame:
    """The movement-rate posterior for the report: parameter, posterior mean, 90 % interval
    and, on the sample company, the generator's value over the same months (formatted text)."""
    from revlib.forecasting.arr import rate_summary

    s = rate_summary(post).set_index("parameter")
    rows = []
    labels = {
        "expansion_rate": ("Expansion rate / month", "expansion"),
        "contraction_rate": ("Contraction rate / month", "contraction"),
        "churn_rate": ("Churn rate / month", "churn"),
        "new_mrr_per_month": ("New MRR / month (now)", None),
        "new_growth_per_year": ("Growth of new MRR, log / year", None),
    }
    for key, (label, truth_key) in labels.items():
        r = s.loc[key]
        money_like = key == "new_mrr_per_month"
        f = (lambda v: money(v)) if money_like else (lambda v: pct(v, decimals=2))
        row = {
            "parameter": label,
            "posterior mean": f(r["mean"]),
            "90 % interval": f"{f(r['lower'])} to {f(r['upper'])}",
        }
        if truth is not None:
            tv = truth.get(truth_key) if truth_key else None
            row["generator (same months)"] = f(tv) if tv is not None else "–"
            row["inside"] = (
                "yes"
                if tv is not None and r["lower"] <= tv <= r["upper"]
                else ("no" if tv is not None else "–")
            )
        rows.append(row)
    return pd.DataFrame(rows)


def target_summary(
    fc: BookingsForecast,
    *,
    target: float,
    target_basis: str,
    paths: np.ndarray | None,
    post,
    arr_target: float,
    target_date,
    velocity: Mapping[str, Any] | None,
    diag: Mapping[str, Any] | None,
    scenario: str,
    arr_with_risks: np.ndarray | None = None,
) -> dict[str, Any]:
    """Contents of ``target_probability.json``: the period call (P10 / P50 / P90 of bookings,
    the target and the chance to reach it) and, with subscriptions, the ARR call (chance of
    reaching ``arr_target`` by ``target_date`` under ``scenario``, ARR percentiles there, ARR
    now, the required and achieved daily velocity, whether sampling converged and the
    sampling diagnostics of :func:`revlib.bayes.diagnostics_artifact`); with ``arr_with_risks``
    also ``probability_with_risks``, the chance with the risk register (the report's headline)."""
    x = fc.totals()[:, 0]
    q = np.quantile(x, [0.1, 0.5, 0.9])
    out: dict[str, Any] = {
        "forecast_date": f"{fc.as_of:%Y-%m-%d}",
        "period": fc.labels[0],
        "bookings_p10": float(q[0]),
        "bookings_p50": float(q[1]),
        "bookings_p90": float(q[2]),
        "period_target": float(target),
        "period_target_basis": target_basis,
        "p_period_target": float((x >= target).mean()),
        "arr_target": float(arr_target),
        "target_date": f"{pd.Timestamp(target_date):%Y-%m-%d}",
        "scenario": scenario,
    }
    if paths is None or post is None:
        return out | {"probability": None}
    if velocity is None or diag is None:
        raise ValueError("target_summary: ARR paths need velocity and diag (sampling diagnostics)")
    out |= target_probability(
        paths, arr_target=arr_target, start_month=post.start_month, target_date=target_date
    )
    out |= {
        "arr_now": float(12 * post.start_mrr),
        "required_daily_velocity": float(velocity["required_daily_velocity"]),
        "actual_daily_velocity": float(velocity["actual_daily_velocity"]),
        "sampler_ok": bool(diag["ok"]),
        "max_r_hat": bayes.diagnostics_artifact(diag)["max_r_hat"],
        "sampling_diagnostics": bayes.diagnostics_artifact(diag),
    }
    if arr_with_risks is not None:
        out["probability_with_risks"] = float((np.asarray(arr_with_risks) >= arr_target).mean())
    return out
