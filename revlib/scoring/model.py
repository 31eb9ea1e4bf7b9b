"""The win-probability model: LightGBM with calibration.

:func:`fit_deal_model` trains LightGBM (categorical features handled natively) on the earlier
part of the training period, early-stops it on one half of the latest part and calibrates it
(isotonic or Platt) on the other half, which the trees never saw. The baselines it must beat
are in :mod:`revlib.scoring.baselines`, the splits in :mod:`revlib.scoring.splits`.

A fitted :class:`DealModel` saves as LightGBM's text model plus a JSON document (features,
category levels, calibrator, training window, metrics, close-date model) and loads back
without re-training.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from revlib.scoring.boosting import (
    LGB_DEFAULTS,
    categorical_columns,
    category_levels,
    encode,
    predict,
    train_booster,
)
from revlib.scoring.close_dates import CloseDateModel
from revlib.scoring.evaluation import log_loss
from revlib.scoring.features import build_snapshots
from revlib.scoring.splits import holdout_split

TRAIN_DEFAULTS: dict[str, Any] = {
    "num_boost_round": 2000,
    "early_stopping_rounds": 100,
    "holdout_fraction": 0.3,  # latest share of training deals held out for stopping + calibration
    "calibration": "auto",  # "auto" (chosen by 5-fold CV log loss), "isotonic", "platt", "none"
    "num_leaves_grid": (7, 15, 31),  # tree sizes tried; the best early-stopping log loss wins
}
CALIBRATIONS = ("auto", "isotonic", "platt", "none")
EPS = 1e-6


# ----------------------------------------------------------------------------- calibration


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), EPS, 1 - EPS)
    return np.log(p / (1 - p))


def _fit_one_calibrator(kind: str, p: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    if kind == "none":
        return {"kind": "none"}
    if kind == "platt":
        from sklearn.linear_model import LogisticRegression

        lr = LogisticRegression(C=1e6, max_iter=1000).fit(_logit(p)[:, None], y)
        return {"kind": "platt", "a": float(lr.coef_[0, 0]), "b": float(lr.intercept_[0])}
    if kind == "isotonic":
        from sklearn.isotonic import IsotonicRegression

        iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(p, y)
        # Each step's rate is (wins + 1) / (rows + 2) over the calibration rows in it (Laplace):
        # a step of 40 wins out of 40 says 97.6 %, not 100 %. Kept monotone afterwards.
        step = np.searchsorted(iso.X_thresholds_, p, side="right") - 1
        step = np.clip(step, 0, len(iso.X_thresholds_) - 1)
        level = iso.y_thresholds_[step]
        smoothed = {}
        for v in np.unique(level):
            in_step = level == v
            smoothed[v] = (y[in_step].sum() + 1.0) / (in_step.sum() + 2.0)
        ys = np.array([smoothed.get(v, v) for v in iso.y_thresholds_])
        return {
            "kind": "isotonic",
            "x": iso.X_thresholds_.tolist(),
            "y": np.maximum.accumulate(ys).tolist(),
        }
    raise ValueError(f"calibration must be one of {CALIBRATIONS}, got {kind!r}")


def apply_calibrator(cal: Mapping[str, Any], p: np.ndarray) -> np.ndarray:
    """Map raw model probabilities through a fitted calibrator (see :func:`fit_calibrator`)."""
    p = np.asarray(p, dtype=float)
    if cal["kind"] == "none":
        return p
    if cal["kind"] == "platt":
        return 1 / (1 + np.exp(-(cal["a"] * _logit(p) + cal["b"])))
    if cal["kind"] == "isotonic":
        return np.interp(p, np.asarray(cal["x"]), np.asarray(cal["y"]))
    raise ValueError(f"unknown calibrator kind {cal['kind']!r}")


def fit_calibrator(
    p: np.ndarray, y: np.ndarray, *, kind: str = "auto", seed: int = 0, tol: float = 0.002
) -> dict[str, Any]:
    """Fit a probability calibrator on predictions the model made for rows it did not train on.

    ``isotonic``: monotone step function; ``platt``: logistic curve on the log-odds; ``auto``
    compares ``none``, ``platt`` and ``isotonic`` by 5-fold cross-validated log loss and keeps
    the simplest unless a more flexible one is better by more than ``tol`` (CV losses are
    recorded in ``cv_log_loss``).
    """
    if kind not in CALIBRATIONS:
        raise ValueError(f"calibration must be one of {CALIBRATIONS}, got {kind!r}")
    p = np.asarray(p, dtype=float)
    y = np.asarray(y, dtype=float)
    if len(np.unique(y)) < 2:
        return {"kind": "none", "note": "calibration rows hold one class only"}
    if kind != "auto":
        return _fit_one_calibrator(kind, p, y)
    folds = np.random.default_rng(seed).permutation(len(p)) % 5
    losses = {}
    for k in ("none", "platt", "isotonic"):
        pred = np.empty(len(p))
        for f in range(5):
            tr, te = folds != f, folds == f
            if len(np.unique(y[tr])) < 2:
                pred[te] = p[te]
                continue
            pred[te] = apply_calibrator(_fit_one_calibrator(k, p[tr], y[tr]), p[te])
        losses[k] = log_loss(y, pred, eps=EPS)
    # The simpler calibrator wins unless a more flexible one lowers the CV log loss by > tol:
    # isotonic steps tie many deals at one probability, which only pays for itself when clear.
    best = "none"
    for k in ("platt", "isotonic"):
        if losses[k] < losses[best] - tol:
            best = k
    return _fit_one_calibrator(best, p, y) | {"cv_log_loss": losses}


# ----------------------------------------------------------------------------- the model


def data_hash(frame: pd.DataFrame) -> str:
    """A short content hash of a frame (rows and values), to tie a model to its training data."""
    h = pd.util.hash_pandas_object(frame.reset_index(drop=True), index=False).to_numpy()
    return hashlib.sha256(h.tobytes()).hexdigest()[:16]


@dataclass
class DealModel:
    """A fitted win-probability model: LightGBM booster + calibrator + what it was trained on."""

    booster: lgb.Booster
    feature_columns: list[str]
    levels: dict[str, list[str]]
    calibrator: dict[str, Any]
    meta: dict[str, Any] = field(default_factory=dict)
    close_model: CloseDateModel | None = None

    def matrix(self, rows: pd.DataFrame) -> np.ndarray:
        return encode(rows, self.feature_columns, self.levels)

    def raw_proba(self, rows: pd.DataFrame) -> np.ndarray:
        """Uncalibrated LightGBM probability for each row."""
        return predict(self.booster, self.matrix(rows))

    def predict_rows(self, rows: pd.DataFrame) -> np.ndarray:
        """Calibrated win probability for each snapshot row."""
        return apply_calibrator(self.calibrator, self.raw_proba(rows))

    def contributions(self, rows: pd.DataFrame) -> pd.DataFrame:
        """LightGBM's own per-feature contributions (SHAP values, log-odds) plus ``bias``."""
        c = predict(self.booster, self.matrix(rows), contributions=True)
        return pd.DataFrame(c, columns=[*self.feature_columns, "bias"], index=rows.index)

    def snapshot(
        self, tables: Mapping[str, pd.DataFrame], *, as_of: str | pd.Timestamp
    ) -> pd.DataFrame:
        """Feature rows of the deals open at the end of ``as_of``, built the way training was."""
        as_of = pd.Timestamp(as_of).normalize()
        mode = self.meta.get("mode", "monthly")
        cfg = self.meta.get("feature_config")
        extra = self.meta.get("extra_columns") or ()
        if mode == "creation":
            rows = build_snapshots(
                tables, mode="creation", as_of=as_of, extra_columns=extra, config=cfg
            )
            opps = tables["opportunities"].set_index("opportunity_id")
            closed = opps["status"].isin(["won", "lost"]) & (opps["close_date"] <= as_of)
            rows = rows[~rows["opportunity_id"].map(closed).astype(bool).to_numpy()].reset_index(
                drop=True
            )
            rows.attrs["mode"] = "creation"
        else:
            rows = build_snapshots(
                tables, mode=mode, as_of=as_of, dates=[as_of], extra_columns=extra, config=cfg
            )
        rows.attrs["as_of"] = as_of
        missing = [c for c in self.feature_columns if c not in rows.columns]
        if missing:
            raise ValueError(
                f"the data lack feature(s) the model was trained on: {missing} "
                f"(stage and close-date features need opportunity_history; account features need accounts)"
            )
        return rows

    def predict_proba(
        self,
        opportunities: pd.DataFrame,
        *,
        as_of: str | pd.Timestamp,
        history: pd.DataFrame | None = None,
        accounts: pd.DataFrame | None = None,
    ) -> pd.Series:
        """Calibrated win probability of every deal open at ``as_of``, indexed by opportunity_id.

        Features are rebuilt as the deals stood at the end of ``as_of`` from the tables given
        (``opportunities`` must include the closed deals too: owners' win rates come from
        them). For an honest backtest the model must have been trained on data known by
        ``as_of`` (``meta["training_window"]``).
        """
        tables = {"opportunities": opportunities}
        if history is not None:
            tables["opportunity_history"] = history
        if accounts is not None:
            tables["accounts"] = accounts
        rows = self.snapshot(tables, as_of=as_of)
        return pd.Series(
            self.predict_rows(rows),
            index=pd.Index(rows["opportunity_id"], name="opportunity_id"),
            name="win_probability",
        )

    # ------------------------------------------------------------------ save / load

    def to_artifacts(self) -> dict[str, Any]:
        """``{"model.txt": LightGBM text model, "model.json": metadata}`` for ``write_artifacts``."""
        meta = dict(self.meta) | {
            "feature_columns": self.feature_columns,
            "categorical_levels": self.levels,
            "calibrator": self.calibrator,
            "best_iteration": int(self.booster.best_iteration or self.booster.current_iteration()),
            "lightgbm_version": lgb.__version__,
        }
        if self.close_model is not None:
            meta["close_date_model"] = self.close_model.to_dict()
        return {"model.txt": self.booster.model_to_string(), "model.json": meta}

    @classmethod
    def from_artifacts(cls, model_text: str, meta: Mapping[str, Any]) -> DealModel:
        """Rebuild a model from :meth:`to_artifacts` output (the text model and the metadata)."""
        booster = lgb.Booster(model_str=model_text)
        booster.best_iteration = int(meta.get("best_iteration", 0))
        close = meta.get("close_date_model")
        return cls(
            booster=booster,
            feature_columns=list(meta["feature_columns"]),
            levels={k: list(v) for k, v in meta["categorical_levels"].items()},
            calibrator=dict(meta["calibrator"]),
            meta={k: v for k, v in meta.items() if k not in ("close_date_model",)},
            close_model=CloseDateModel.from_dict(close) if close else None,
        )


def fit_deal_model(
    train: pd.DataFrame,
    *,
    feature_columns: Sequence[str],
    label: str = "won",
    split: str = "time",
    config: Mapping[str, Any] | None = None,
    seed: int = 0,
    key: str = "opportunity_id",
) -> tuple[DealModel, pd.Series]:
    """Fit the calibrated LightGBM win model on training rows; return (model, role per row).

    ``config``: ``TRAIN_DEFAULTS | LGB_DEFAULTS`` overrides (any LightGBM parameter, plus
    ``num_boost_round``, ``early_stopping_rounds``, ``holdout_fraction``, ``calibration``).
    Roles: ``fit`` rows train the trees, ``stop`` rows pick the number of trees, ``calibrate``
    rows fit the calibrator (see :func:`holdout_split`).
    """
    cfg = TRAIN_DEFAULTS | LGB_DEFAULTS | dict(config or {})
    unknown = [
        k
        for k in (config or {})
        if k not in TRAIN_DEFAULTS and k not in LGB_DEFAULTS and k not in _LGB_PARAMS
    ]
    if unknown:
        raise ValueError(
            f"unknown model option(s) {unknown}; allowed: {sorted(TRAIN_DEFAULTS)} or LightGBM parameters"
        )
    if cfg["calibration"] not in CALIBRATIONS:
        raise ValueError(f"calibration must be one of {CALIBRATIONS}, got {cfg['calibration']!r}")
    feature_columns = list(feature_columns)
    role = holdout_split(train, split=split, fraction=cfg["holdout_fraction"], seed=seed, key=key)
    cats = categorical_columns(train, feature_columns)
    levels = category_levels(train[role == "fit"], cats)
    X = encode(train, feature_columns, levels)
    y = train[label].to_numpy(dtype=float)
    params = {k: v for k, v in cfg.items() if k not in TRAIN_DEFAULTS} | {"seed": seed}
    fit, stop, cal = (
        (role == "fit").to_numpy(),
        (role == "stop").to_numpy(),
        (role == "calibrate").to_numpy(),
    )
    # Tree size: each candidate is early-stopped on the stop rows and the lowest stop log loss
    # wins (the calibration rows and the test period play no part). An explicit num_leaves
    # in ``config`` skips the search.
    grid = (
        [params["num_leaves"]] if "num_leaves" in (config or {}) else list(cfg["num_leaves_grid"])
    )
    tried = {}
    booster = None
    for leaves in grid:
        candidate = train_booster(
            X[fit],
            y[fit],
            X_stop=X[stop],
            y_stop=y[stop],
            categorical=[feature_columns.index(c) for c in cats],
            params=params | {"num_leaves": int(leaves)},
            num_boost_round=int(cfg["num_boost_round"]),
            early_stopping_rounds=int(cfg["early_stopping_rounds"]),
        )
        p_stop = predict(candidate, X[stop])
        tried[int(leaves)] = log_loss(y[stop], p_stop, eps=EPS)
        if (
            booster is None
            or tried[int(leaves)] < min(v for k, v in tried.items() if k != int(leaves)) - 1e-12
        ):
            booster = candidate
    if booster is None:
        raise ValueError("num_leaves_grid is empty: no tree size to try")
    raw_cal = predict(booster, X[cal])
    calibrator = fit_calibrator(raw_cal, y[cal], kind=cfg["calibration"], seed=seed)
    meta = {
        "config": {k: v for k, v in cfg.items()}
        | {"num_leaves": int(booster.params.get("num_leaves", grid[0]))},
        "num_leaves_stop_log_loss": tried,
        "seed": int(seed),
        "mode": train.attrs.get("mode"),
        "extra_columns": list(train.attrs.get("extra_columns", [])),
        "label": label,
        "n_rows": {"fit": int(fit.sum()), "stop": int(stop.sum()), "calibrate": int(cal.sum())},
        "n_deals": {
            r: int(train.loc[role == r, key].nunique()) for r in ("fit", "stop", "calibrate")
        },
        "training_window": {
            "first_snapshot": train["snapshot_date"].min(),
            "last_snapshot": train["snapshot_date"].max(),
            "last_outcome": train["outcome_date"].max(),
        },
        "train_data_hash": data_hash(train[[*feature_columns, label]]),
    }
    model = DealModel(
        booster=booster,
        feature_columns=feature_columns,
        levels=levels,
        calibrator=calibrator,
        meta=meta,
    )
    return model, role


_LGB_PARAMS = {
    "max_depth",
    "min_sum_hessian_in_leaf",
    "lambda_l1",
    "min_gain_to_split",
    "max_bin",
    "extra_trees",
    "path_smooth",
    "scale_pos_weight",
    "is_unbalance",
    "max_cat_threshold",
    "monotone_constraints",
    "linear_tree",
}
