"""Which rows train, which test, and which hold out for early stopping and calibration."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def label_lag_days(
    rows: pd.DataFrame, *, before: pd.Timestamp | None = None, q: float = 0.9
) -> int:
    """Days most deals need from a snapshot to their close: the ``q`` quantile of snapshot-to-close
    days among rows closed by ``before``, rounded up to whole weeks (at least 7)."""
    closed = rows["won"].notna()
    if before is not None:
        closed &= rows["outcome_date"] <= before
    days = (rows.loc[closed, "outcome_date"] - rows.loc[closed, "snapshot_date"]).dt.days
    if days.empty:
        return 7
    return int(max(7, 7 * np.ceil(float(days.quantile(q)) / 7)))


def split_rows(
    rows: pd.DataFrame,
    *,
    split: str = "time",
    validation_months: int = 6,
    label_lag: int | str = "auto",
    test_size: float = 0.25,
    seed: int = 0,
) -> tuple[pd.Series, dict[str, Any]]:
    """Assign each row to ``train``, ``test`` or ``unused``; return (part, info).

    ``time``: the cut is ``validation_months`` before the extract date. Training rows were
    snapshot at least ``label_lag`` days before the cut and closed by it (the label was known
    then). Test rows were snapshot after the cut (creation mode: deals closed after it) and
    at least ``label_lag`` days before the extract date, and have closed since. The lag
    (``"auto"``: :func:`label_lag_days` on rows closed by the cut) keeps out snapshots whose
    deals had mostly not closed yet: keeping only the ones that had would over-represent quick
    losses. ``random``: whole closed deals at random, ``test_size`` of them to test (for data
    without usable dates).
    """
    if split not in ("time", "random"):
        raise ValueError(f"split must be 'time' or 'random', got {split!r}")
    closed = rows["won"].notna()
    part = pd.Series("unused", index=rows.index, dtype=object)
    as_of = pd.Timestamp(rows.attrs.get("as_of", rows["snapshot_date"].max()))
    if split == "time":
        if validation_months < 1:
            raise ValueError(f"validation_months must be >= 1, got {validation_months}")
        cut = as_of - pd.DateOffset(months=validation_months)
        if label_lag == "auto":
            label_lag = label_lag_days(rows, before=cut)
        if not isinstance(label_lag, (int, np.integer)) or label_lag < 0:
            raise ValueError(
                f"label_lag must be 'auto' or a whole number of days >= 0, got {label_lag!r}"
            )
        lag = pd.Timedelta(days=int(label_lag))
        snap = rows["snapshot_date"]
        if rows.attrs.get("mode") == "creation":
            train = closed & (rows["outcome_date"] <= cut) & (snap <= cut - lag)
            test = closed & (rows["outcome_date"] > cut) & (snap <= as_of - lag)
        else:
            train = closed & (rows["outcome_date"] <= cut) & (snap <= cut - lag)
            test = closed & (snap > cut) & (snap <= as_of - lag)
        part[train] = "train"
        part[test] = "test"
        info = {
            "split": "time",
            "cut": cut,
            "as_of": as_of,
            "validation_months": int(validation_months),
            "label_lag_days": int(label_lag),
        }
        window = (
            (snap > cut) & (snap <= as_of - lag)
            if rows.attrs.get("mode") != "creation"
            else ((rows["outcome_date"] > cut) | ~closed) & (snap <= as_of - lag)
        )
        info["test_unresolved_share"] = (
            float((~closed[window]).mean()) if window.any() else float("nan")
        )
    else:
        deals = np.sort(rows.loc[closed, "opportunity_id"].unique())
        rng = np.random.default_rng(seed)
        test_ids = set(rng.choice(deals, size=int(round(test_size * len(deals))), replace=False))
        is_test = rows["opportunity_id"].isin(test_ids)
        part[closed & is_test] = "test"
        part[closed & ~is_test] = "train"
        info = {"split": "random", "test_size": float(test_size), "as_of": as_of}
    for name in ("train", "test"):
        sel = part == name
        info[f"n_{name}"] = int(sel.sum())
        info[f"n_{name}_deals"] = int(rows.loc[sel, "opportunity_id"].nunique())
        info[f"{name}_window"] = [
            rows.loc[sel, "snapshot_date"].min(),
            rows.loc[sel, "snapshot_date"].max(),
        ]
    info["n_unlabelled"] = int((~closed).sum())
    return part, info


def final_training_rows(
    rows: pd.DataFrame, *, label_lag: int | str = "auto", split: str = "time"
) -> pd.DataFrame:
    """Rows to refit on for scoring today: every closed row (``time``: snapshot at least
    ``label_lag`` days before the extract date, for the reason given in :func:`split_rows`)."""
    closed = rows["won"].notna()
    if split == "time":
        as_of = pd.Timestamp(rows.attrs.get("as_of", rows["snapshot_date"].max()))
        lag = label_lag_days(rows) if label_lag == "auto" else int(label_lag)
        closed &= rows["snapshot_date"] <= as_of - pd.Timedelta(days=lag)
    out = rows[closed].reset_index(drop=True)
    out.attrs = dict(rows.attrs)
    return out


def holdout_split(
    train: pd.DataFrame,
    *,
    split: str = "time",
    fraction: float = 0.3,
    seed: int = 0,
    key: str = "opportunity_id",
) -> pd.Series:
    """Within training rows: ``fit``, ``stop`` (early stopping) or ``calibrate``, by whole deals.

    ``time``: the latest ``fraction`` of deals by outcome date are held out (they resemble
    the test period most); ``random``: a random ``fraction``. Held-out deals are halved at
    random between early stopping and calibration.
    """
    if not 0 < fraction < 1:
        raise ValueError(f"holdout fraction must be in (0, 1), got {fraction}")
    deals = train.groupby(key, sort=True)["outcome_date"].max()
    rng = np.random.default_rng(seed)
    if split == "time":
        order = deals.sort_values(kind="stable").index.to_numpy()
    else:
        order = rng.permutation(deals.index.to_numpy())
    n_hold = max(2, int(round(fraction * len(order))))
    held = order[len(order) - n_hold :]
    half = rng.permutation(len(held)) % 2
    role = pd.Series("fit", index=deals.index)
    role[held[half == 0]] = "stop"
    role[held[half == 1]] = "calibrate"
    return train[key].map(role)
