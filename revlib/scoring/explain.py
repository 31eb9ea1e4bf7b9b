"""Why the model thinks so: per-deal top factors, global importance, partial dependence.

Per-deal factors are LightGBM's own feature contributions (``pred_contrib``: exact SHAP values
for trees) on the log-odds scale of the uncalibrated model: a factor of +0.5 raises the deal's
log-odds of winning by 0.5 against the average deal. Calibration is monotone, so it never
reverses a factor's direction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from revlib.scoring.model import DealModel

LABELS = {
    "age_days": "deal age (days)",
    "days_in_stage": "days in stage",
    "stage_changes": "stage changes",
    "days_to_expected_close": "days to expected close",
    "close_date_pushes": "close-date pushes",
    "slip_days": "days slipped",
    "amount_change_pct": "amount change",
    "amount_changes": "amount changes",
    "owner_win_rate": "owner's past win rate",
    "owner_closed_deals": "owner's closed deals",
    "account_prior_wins": "account's past wins",
    "account_age_days": "account age (days)",
    "days_to_quarter_end": "days to quarter end",
    "discount_pct": "discount %",
    "lead_source": "lead source",
    "acquisition_channel": "acquisition channel",
}

# features whose values are money (reporting currency): their axes read "$30K", not "30k"
MONEY_FEATURES = frozenset({"amount", "first_amount"})


def _fmt_value(v) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
        return "missing"
    if isinstance(v, (float, np.floating)):
        x = float(v)
        if abs(x) >= 1000:
            return f"{x:,.0f}"
        return f"{x:.2f}".rstrip("0").rstrip(".") if x != int(x) else f"{int(x)}"
    return str(v)


def top_factors(model: DealModel, rows: pd.DataFrame, *, n: int = 3) -> pd.Series:
    """The ``n`` features that move each deal's score most, as text.

    E.g. ``"stage = negotiation (+0.84); competitor = Rivalco (-0.41); lead source = inbound
    (+0.22)"`` where the number is the change in log-odds of winning.
    """
    contrib = model.contributions(rows).drop(columns="bias")
    vals = contrib.to_numpy()
    order = np.argsort(-np.abs(vals), axis=1, kind="stable")[:, :n]
    cols = contrib.columns.to_numpy()
    raw = rows[model.feature_columns].astype(object).to_numpy()
    out = []
    for i in range(len(rows)):
        parts = []
        for j in order[i]:
            if vals[i, j] == 0:
                continue
            name = cols[j]
            parts.append(f"{LABELS.get(name, name)} = {_fmt_value(raw[i, j])} ({vals[i, j]:+.2f})")
        out.append("; ".join(parts))
    return pd.Series(out, index=rows.index, name="top_factors")


def global_importance(model: DealModel, rows: pd.DataFrame) -> pd.DataFrame:
    """Mean |contribution| per feature on ``rows`` (log-odds) and its share, plus split-gain share."""
    contrib = model.contributions(rows).drop(columns="bias")
    gain = pd.Series(model.booster.feature_importance("gain"), index=model.feature_columns)
    t = pd.DataFrame(
        {"mean_abs_contribution": contrib.abs().mean(), "gain_share": gain / max(gain.sum(), 1e-12)}
    )
    t["share"] = t["mean_abs_contribution"] / max(t["mean_abs_contribution"].sum(), 1e-12)
    t["label"] = [LABELS.get(c, c) for c in t.index]
    return (
        t.sort_values("mean_abs_contribution", ascending=False).rename_axis("feature").reset_index()
    )


def partial_dependence(
    model: DealModel,
    rows: pd.DataFrame,
    feature: str,
    *,
    grid_size: int = 20,
    sample: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """Average calibrated win probability when ``feature`` is set to each grid value for every
    deal in a sample of ``rows`` (other features as they are).

    Grid: the feature's levels for categories (most common first, at most ``grid_size``);
    quantiles 2 %..98 % for numbers. Returns feature, value, win_probability, and n (rows
    with that value, categories) or the quantile (numbers).
    """
    if feature not in model.feature_columns:
        raise ValueError(
            f"feature {feature!r} is not a model feature; features: {model.feature_columns}"
        )
    base = rows.sample(n=min(sample, len(rows)), random_state=seed) if len(rows) > sample else rows
    values: list[Any] | np.ndarray  # category levels, or quantiles of a numeric feature
    if feature in model.levels:
        counts = rows[feature].astype("string").value_counts()
        values = [v for v in counts.index if v in set(model.levels[feature])][:grid_size]
        extra = {"n": [int(counts[v]) for v in values]}
    else:
        qs = np.linspace(0.02, 0.98, grid_size)
        values = np.unique(np.nanquantile(rows[feature].astype(float), qs))
        extra = {"n": [int((rows[feature] <= v).sum()) for v in values]}
    out = []
    for v in values:
        probe = base.copy()
        probe[feature] = v
        out.append(float(np.mean(model.predict_rows(probe))))
    return pd.DataFrame(
        {"feature": feature, "value": list(values), "win_probability": out, **extra}
    )


def main_drivers(importance: pd.DataFrame, *, n: int = 4, exclude: Sequence[str] = ()) -> list[str]:
    """The ``n`` features with the largest mean |contribution|."""
    return [f for f in importance["feature"] if f not in set(exclude)][:n]
