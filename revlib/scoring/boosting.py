"""LightGBM plumbing shared by the win model and the close-date model: default parameters,
the encoding of feature frames into a float matrix, and training with early stopping."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

LGB_DEFAULTS: dict[str, Any] = {
    "objective": "binary",
    "learning_rate": 0.05,
    "num_leaves": 31,
    "min_data_in_leaf": 40,
    "feature_fraction": 0.9,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "cat_smooth": 10.0,
    "cat_l2": 10.0,
    "min_data_per_group": 50,
    "max_cat_to_onehot": 4,
    "verbose": -1,
    "deterministic": True,
    "force_row_wise": True,
    "num_threads": 1,  # small data: one thread is fastest and immune to busy machines
}


def categorical_columns(frame: pd.DataFrame, feature_columns: Sequence[str]) -> list[str]:
    """Feature columns that are text, category or boolean (LightGBM treats them as categories)."""
    return [
        c
        for c in feature_columns
        if not pd.api.types.is_numeric_dtype(frame[c]) or pd.api.types.is_bool_dtype(frame[c])
    ]


def category_levels(frame: pd.DataFrame, columns: Sequence[str]) -> dict[str, list[str]]:
    """Sorted levels seen in training, per categorical column; others become missing later."""
    return {c: sorted(frame[c].dropna().astype(str).unique().tolist()) for c in columns}


def encode(
    frame: pd.DataFrame, feature_columns: Sequence[str], levels: Mapping[str, Sequence[str]]
) -> np.ndarray:
    """Feature matrix (float64): numbers as they are, categories as codes into ``levels``."""
    out = np.empty((len(frame), len(feature_columns)), dtype=np.float64)
    for j, c in enumerate(feature_columns):
        if c in levels:
            lookup = {v: float(i) for i, v in enumerate(levels[c])}
            col = frame[c].astype("string")
            out[:, j] = (
                col.map(lookup)
                .astype("float64")
                .fillna(np.nan)
                .to_numpy(dtype=float, na_value=np.nan)
            )
        else:
            out[:, j] = pd.to_numeric(frame[c], errors="coerce").to_numpy(
                dtype=float, na_value=np.nan
            )
    return out


def train_booster(
    X: np.ndarray,
    y: np.ndarray,
    *,
    X_stop: np.ndarray,
    y_stop: np.ndarray,
    categorical: Sequence[int],
    params: Mapping[str, Any],
    num_boost_round: int,
    early_stopping_rounds: int,
) -> lgb.Booster:
    """Train LightGBM with early stopping on (X_stop, y_stop); categorical columns by index."""
    train_set = lgb.Dataset(X, label=y, categorical_feature=list(categorical), free_raw_data=False)
    stop_set = lgb.Dataset(
        X_stop, label=y_stop, reference=train_set, categorical_feature=list(categorical)
    )
    return lgb.train(
        dict(params),
        train_set,
        num_boost_round=num_boost_round,
        valid_sets=[stop_set],
        valid_names=["stop"],
        callbacks=[lgb.early_stopping(early_stopping_rounds, verbose=False)],
    )


def predict(booster: lgb.Booster, X: np.ndarray, *, contributions: bool = False) -> np.ndarray:
    """The booster's predictions for the rows of ``X`` at its best (early-stopped) iteration:
    one value per row (probability or log days, as trained), or with ``contributions`` one
    column per feature plus the bias (SHAP values on the raw scale)."""
    out = booster.predict(
        X, pred_contrib=contributions, num_iteration=booster.best_iteration or None
    )
    if not isinstance(out, np.ndarray):  # LightGBM returns sparse/list output only for sparse X
        raise TypeError(f"expected a dense prediction array, got {type(out).__name__}")
    return out
