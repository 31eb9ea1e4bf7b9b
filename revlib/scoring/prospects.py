"""Prospect scoring: will a new account become a paying customer within a horizon?

A prospect is an account as it stood the day it was created (its firmographics and how it
found us); it converts when its first new-business deal is won (or, without deals, its
first subscription starts). The label "converted within ``horizon_days``" is known only once
the horizon has passed, so the time split uses that date: training prospects' horizons ended
by the cut, test prospects' horizons ended after it and by the extract date. Same model
(calibrated LightGBM) and the same two kinds of baseline: historical conversion rate by
acquisition channel (and segment), and a regularised logistic regression.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from revlib.scoring.baselines import LogisticBaseline, StageRateBaseline
from revlib.scoring.evaluation import compare_models
from revlib.scoring.features import ACCOUNT_COLUMNS
from revlib.scoring.model import DealModel, fit_deal_model

PROSPECT_FEATURES = (*ACCOUNT_COLUMNS, "country", "created_month")


def conversion_dates(tables: Mapping[str, pd.DataFrame]) -> pd.Series:
    """First day each account became a customer: its first won new-business close date, else its
    first subscription start. Indexed by account_id (accounts that never converted are absent)."""
    dates = []
    opps = tables.get("opportunities")
    if opps is not None:
        won = opps[
            (opps["status"].astype(object) == "won")
            & (opps["type"].astype(object) == "new_business")
        ]
        dates.append(won.groupby("account_id")["close_date"].min())
    subs = tables.get("subscriptions")
    if subs is not None and len(subs):
        dates.append(subs.groupby("account_id")["start_date"].min())
    if not dates:
        raise ValueError(
            "prospect scoring needs opportunities or subscriptions to know who converted"
        )
    out = pd.concat(dates, axis=1).min(axis=1)
    out.index = out.index.astype(object)
    return out.astype("datetime64[ns]").rename("converted_at")


def prospect_rows(
    tables: Mapping[str, pd.DataFrame],
    *,
    horizon_days: int = 180,
    as_of: str | pd.Timestamp | None = None,
) -> pd.DataFrame:
    """One row per prospect: account features at creation, ``won`` = converted within the horizon.

    Prospects are accounts created on or after the first CRM date (earlier accounts are the
    opening book, customers before the data begin) that had not converted before their
    creation day. ``won`` is NaN until the whole horizon has passed by ``as_of`` (even for
    accounts that converted early: otherwise recent cohorts would hold converters only).
    ``outcome_date`` = created_at + horizon, when the label became known; ``snapshot_date`` is
    created_at.
    """
    if horizon_days < 1:
        raise ValueError(f"horizon_days must be >= 1, got {horizon_days}")
    acc = tables["accounts"].copy()
    acc["created_at"] = pd.to_datetime(acc["created_at"]).astype("datetime64[ns]")
    conv = conversion_dates(tables)
    opps = tables.get("opportunities")
    start = (
        pd.Timestamp(opps["created_date"].min()) if opps is not None else acc["created_at"].min()
    )
    if as_of is None:
        as_of = max(acc["created_at"].max(), conv.max()) if len(conv) else acc["created_at"].max()
    as_of = pd.Timestamp(as_of).normalize()
    acc["converted_at"] = acc["account_id"].astype(object).map(conv).astype("datetime64[ns]")
    keep = (acc["created_at"] >= start) & (acc["created_at"] <= as_of)
    keep &= ~(acc["converted_at"] < acc["created_at"])
    acc = acc[keep].reset_index(drop=True)
    h = pd.Timedelta(days=int(horizon_days))
    converted = acc["converted_at"].notna() & (acc["converted_at"] <= acc["created_at"] + h)
    # Known once the whole horizon has passed, converted or not: taking early converters sooner
    # would fill recent cohorts with converters only.
    known = acc["created_at"] + h <= as_of
    acc["won"] = np.where(known, converted.astype(float), np.nan)
    acc["outcome_date"] = (acc["created_at"] + h).where(known)
    acc["snapshot_date"] = acc["created_at"]
    acc["created_month"] = acc["created_at"].dt.month.astype(float)
    cols = [
        "account_id",
        "snapshot_date",
        *[c for c in PROSPECT_FEATURES if c in acc.columns],
        "converted_at",
        "won",
        "outcome_date",
    ]
    out = acc[cols]
    out.attrs = {
        "feature_columns": [c for c in PROSPECT_FEATURES if c in acc.columns],
        "mode": "creation",
        "as_of": as_of,
        "horizon_days": int(horizon_days),
    }
    return out


def split_prospects(
    rows: pd.DataFrame, *, validation_months: int = 6
) -> tuple[pd.Series, dict[str, Any]]:
    """``train``: labels known by the cut; ``test``: labels that became known after it (by as_of)."""
    as_of = pd.Timestamp(rows.attrs["as_of"])
    cut = as_of - pd.DateOffset(months=validation_months)
    known = rows["won"].notna()
    part = pd.Series("unused", index=rows.index, dtype=object)
    part[known & (rows["outcome_date"] <= cut)] = "train"
    part[known & (rows["outcome_date"] > cut)] = "test"
    info = {
        "cut": cut,
        "as_of": as_of,
        "horizon_days": rows.attrs.get("horizon_days"),
        "n_train": int((part == "train").sum()),
        "n_test": int((part == "test").sum()),
        "n_unlabelled": int((~known).sum()),
    }
    return part, info


def fit_prospect_model(
    rows: pd.DataFrame,
    *,
    feature_columns: Sequence[str] | None = None,
    validation_months: int = 6,
    baseline_by: Sequence[str] = ("acquisition_channel", "segment"),
    config: Mapping[str, Any] | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Fit and evaluate prospect conversion models; return model, test predictions, comparison.

    Keys: ``model`` (:class:`DealModel`), ``test`` (test rows with ``lightgbm``, ``channel_rate``
    and ``logistic`` columns), ``comparison`` (metrics per model), ``split`` (info).
    """
    features = list(feature_columns or rows.attrs["feature_columns"])
    features = [c for c in features if rows[c].nunique(dropna=False) > 1]
    part, info = split_prospects(rows, validation_months=validation_months)
    train = rows[part == "train"].reset_index(drop=True)
    train.attrs = dict(rows.attrs)
    test = rows[part == "test"].reset_index(drop=True)
    if train["won"].nunique() < 2 or test.empty:
        raise ValueError(
            f"prospect scoring needs converted and unconverted prospects in training and a test set; split {info}"
        )
    model, role = fit_deal_model(
        train, feature_columns=features, config=config, seed=seed, key="account_id"
    )
    base = StageRateBaseline(by=tuple(baseline_by), key="account_id").fit(train)
    logistic = LogisticBaseline(features).fit(train[role == "fit"], train[role == "stop"])
    test = test.assign(
        lightgbm=model.predict_rows(test),
        channel_rate=base.predict(test),
        logistic=logistic.predict(test),
    )
    comparison = compare_models(
        test["won"], {k: test[k].to_numpy() for k in ("lightgbm", "channel_rate", "logistic")}
    )
    info["n_train"] = int(len(train))
    return {
        "model": model,
        "test": test,
        "comparison": comparison,
        "split": info,
        "features": features,
    }


def score_prospects(model: DealModel, rows: pd.DataFrame) -> pd.DataFrame:
    """Conversion probability of prospects within their horizon and not converted yet."""
    open_ = rows[rows["won"].isna() & rows["converted_at"].isna()].reset_index(drop=True)
    return (
        pd.DataFrame(
            {
                "account_id": open_["account_id"],
                "created_at": open_["snapshot_date"],
                "conversion_probability": model.predict_rows(open_),
            }
        )
        .sort_values(
            ["conversion_probability", "account_id"], ascending=[False, True], kind="stable"
        )
        .reset_index(drop=True)
    )
