"""How close the score and its data-driven alternatives come to the truth of the sample
company: the generator's churn model (``ground_truth.json`` -> ``churn_model``), made
comparable per rubric signal; and the account attributes the rubric leaves out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

# Truth features of the sample generator's churn model (``ground_truth.json`` ->
# ``churn_model``) and the rubric signal each one corresponds to (None: not a health signal).
TRUE_DRIVER_SIGNALS: dict[str, str | None] = {
    "features_adopted": "feature_adoption",
    "utilisation": "plan_utilisation",
    "competitive_evaluation": "competitive_evaluation",
    "exec_engagement": "executive_engagement",
    "nps_minus_7": "nps",
    "payment_late_days_over_30": "payment_history",
    "log1p_support_tickets": "support_interactions",
    "log_seats": None,
    "log1p_tenure_months": None,
    "tier_index": None,
}
TIERS = ("starter", "growth", "scale", "pro", "enterprise")


def account_attributes(
    health_signals: pd.DataFrame,
    *,
    accounts: pd.DataFrame | None = None,
    subscriptions: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Account attributes per account-month that the rubric leaves out: seats (count),
    tenure_months (months since ``accounts.created_at``) and tier_index (position 0..4 of the
    highest paying product in starter, growth, scale, pro, enterprise). Columns: account_id,
    month and those the given tables allow."""
    out = health_signals[["account_id", "month"]].copy()
    if "seats" in health_signals.columns:
        out["seats"] = pd.to_numeric(health_signals["seats"], errors="coerce").astype(float)
    if accounts is not None and "created_at" in accounts.columns:
        created = out["account_id"].map(accounts.set_index("account_id")["created_at"])
        months = (out["month"].dt.year - created.dt.year) * 12 + (
            out["month"].dt.month - created.dt.month
        )
        out["tenure_months"] = months.clip(lower=0).astype(float)
    if subscriptions is not None and "product" in subscriptions.columns:
        out["tier_index"] = _tier_index(out, subscriptions)
    return out


def true_driver_values(
    health_signals: pd.DataFrame,
    *,
    accounts: pd.DataFrame | None = None,
    subscriptions: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The generator's churn-model features per account-month, as ``ground_truth.json``
    defines them (``churn_model.features``), computed from the tables. Columns: account_id,
    month and one column per truth feature that the given tables allow."""
    hs = health_signals
    num = {
        c: pd.to_numeric(hs[c].astype("Float64"), errors="coerce").astype(float)
        for c in hs.columns
        if c not in ("account_id", "month")
    }
    out = hs[["account_id", "month"]].copy()
    out["features_adopted"] = num["features_adopted"]
    out["utilisation"] = num["active_users"] / num["seats"].where(num["seats"] > 0)
    out["competitive_evaluation"] = num["competitive_evaluation"]
    out["exec_engagement"] = num["exec_engagement"]
    out["nps_minus_7"] = num["nps"] - 7
    out["payment_late_days_over_30"] = np.minimum(num["payment_late_days"], 90.0) / 30.0
    out["log1p_support_tickets"] = np.log1p(num["support_tickets"])
    attrs = account_attributes(hs, accounts=accounts, subscriptions=subscriptions)
    out["log_seats"] = np.log(attrs["seats"].where(attrs["seats"] > 0))
    if "tenure_months" in attrs:
        out["log1p_tenure_months"] = np.log1p(attrs["tenure_months"])
    if "tier_index" in attrs:
        out["tier_index"] = attrs["tier_index"]
    return out


def _tier_index(frame: pd.DataFrame, subscriptions: pd.DataFrame) -> np.ndarray:
    """Position (0..4) of the highest-tier product paying at the end of each account-month."""
    subs = subscriptions[subscriptions["product"].isin(TIERS)][
        ["account_id", "product", "start_date", "end_date"]
    ]
    subs = subs.assign(tier=subs["product"].map({t: i for i, t in enumerate(TIERS)}).astype(float))
    rows = (
        frame[["account_id", "month"]]
        .reset_index(drop=True)
        .reset_index()
        .merge(subs, on="account_id", how="left")
    )
    month_end = rows["month"] + pd.offsets.MonthEnd(0)
    live = (rows["start_date"] <= month_end) & (
        rows["end_date"].isna() | (rows["end_date"] > month_end)
    )
    best = rows[live].groupby("index")["tier"].max()
    return best.reindex(np.arange(len(frame))).to_numpy()


def true_drivers(churn_model: Mapping[str, Any], values: pd.DataFrame) -> pd.DataFrame:
    """The generator's true churn drivers, made comparable: coefficient x standard deviation of
    the feature over the account-months (log-odds of monthly churn per SD), and each driver's
    share of the summed absolute effects. Columns: driver, coefficient, sd, effect, share,
    signal (the rubric signal it corresponds to, None if not a health signal)."""
    coefs = {k: float(v) for k, v in churn_model["coefficients"].items() if k != "intercept"}
    rows = []
    for name, coef in coefs.items():
        sd = float(values[name].std()) if name in values.columns else np.nan
        rows.append(
            {
                "driver": name,
                "coefficient": coef,
                "sd": sd,
                "effect": coef * sd,
                "signal": TRUE_DRIVER_SIGNALS.get(name),
            }
        )
    out = pd.DataFrame(rows)
    total = out["effect"].abs().sum()
    out["share"] = out["effect"].abs() / total
    return out.sort_values("share", ascending=False, ignore_index=True)


def driver_comparison(
    truth: pd.DataFrame | None, weights: pd.DataFrame, importance: pd.DataFrame
) -> tuple[pd.DataFrame, dict[str, float] | None]:
    """Per rubric signal: the team's share of points, the data-suggested share, LightGBM's gain
    share and (with ``truth``, see :func:`true_drivers`) the true share: the summed absolute
    effects of the true drivers it covers, 0 for signals the generator does not use for churn.

    Returns (table, summary); the summary (None without truth) holds the share of each
    weighting on signals that do not drive churn, the Spearman rank correlation of each
    weighting with the true shares, and the true effect outside the rubric.
    """
    from scipy.stats import spearmanr

    gain = dict(zip(importance["feature"], importance["gain_share"], strict=True))
    table = weights[
        ["component", "signal", "label", "feature", "team_points", "suggested_points"]
    ].copy()
    table["team_share"] = table["team_points"] / table["team_points"].sum()
    table["suggested_share"] = table["suggested_points"] / table["suggested_points"].sum()
    table["lightgbm_share"] = table["feature"].map(gain).fillna(0.0)
    if truth is None:
        return table, None
    in_rubric = truth[truth["signal"].notna()]
    true_share = in_rubric.groupby("signal")["effect"].apply(lambda e: e.abs().sum())
    true_share = true_share / true_share.sum()
    table["true_share"] = table["signal"].map(true_share).fillna(0.0)
    table["true_driver"] = table["true_share"] > 0
    summary: dict[str, float] = {
        "true_effect_outside_rubric": float(truth.loc[truth["signal"].isna(), "share"].sum()),
    }
    for col in ("team_share", "suggested_share", "lightgbm_share"):
        key = col.removesuffix("_share")
        summary[f"{key}_share_on_non_drivers"] = float(table.loc[~table["true_driver"], col].sum())
        summary[f"{key}_spearman_with_truth"] = float(
            spearmanr(table[col], table["true_share"]).statistic
        )
    return table, summary
