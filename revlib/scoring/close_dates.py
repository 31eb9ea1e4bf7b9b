"""When will a deal close: days from the snapshot to a won close, and its spread.

A LightGBM regression with absolute loss on ``log(1 + days to close)`` gives each open deal a
median time to close if it is won; the spread around it is the empirical distribution of the
log-scale errors on held-out won deals (rows the trees did not train on). Together they give
a full distribution of the close date, so:

- expected close date = snapshot + median days (conditional on still being open after the
  days already elapsed, for creation-mode models scored later);
- P(close won within the period) = P(win) x P(days to close <= days left in the period | win).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from revlib.periods import month_starts, period_ends
from revlib.scoring.boosting import LGB_DEFAULTS, encode, predict, train_booster

CLOSE_DEFAULTS: dict[str, Any] = LGB_DEFAULTS | {
    "objective": "regression_l1",
    "num_boost_round": 1000,
    "early_stopping_rounds": 50,
    "min_data_in_leaf": 30,
}
LEVELS = np.linspace(0.0, 1.0, 101)


@dataclass
class CloseDateModel:
    """Median log-days-to-close model plus the quantiles of its held-out log errors."""

    booster: lgb.Booster
    feature_columns: list[str]
    levels: dict[str, list[str]]
    residual_quantiles: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)

    def log_median(self, rows: pd.DataFrame) -> np.ndarray:
        X = encode(rows, self.feature_columns, self.levels)
        return predict(self.booster, X)

    def _cdf_resid(self, r: np.ndarray) -> np.ndarray:
        return np.interp(r, self.residual_quantiles, LEVELS, left=0.0, right=1.0)

    def _q_resid(self, u: np.ndarray) -> np.ndarray:
        return np.interp(u, LEVELS, self.residual_quantiles)

    def cdf(self, rows: pd.DataFrame, days, *, elapsed=0.0) -> np.ndarray:
        """P(won within ``days`` of the snapshot | won, still open ``elapsed`` days after it)."""
        mu = self.log_median(rows)
        days = np.broadcast_to(np.asarray(days, dtype=float), mu.shape)
        elapsed = np.broadcast_to(np.asarray(elapsed, dtype=float), mu.shape)
        f = self._cdf_resid(np.log1p(np.maximum(days, 0)) - mu)
        f0 = np.where(elapsed > 0, self._cdf_resid(np.log1p(np.maximum(elapsed, 0)) - mu), 0.0)
        out = (f - f0) / np.maximum(1 - f0, 1e-9)
        return np.clip(np.where(days <= elapsed, 0.0, out), 0.0, 1.0)

    def quantile_days(self, rows: pd.DataFrame, q: float, *, elapsed=0.0) -> np.ndarray:
        """Days from the snapshot to the ``q`` quantile of the close date (conditional on ``elapsed``)."""
        mu = self.log_median(rows)
        elapsed = np.broadcast_to(np.asarray(elapsed, dtype=float), mu.shape)
        f0 = np.where(elapsed > 0, self._cdf_resid(np.log1p(np.maximum(elapsed, 0)) - mu), 0.0)
        u = f0 + q * (1 - f0)
        days = np.expm1(mu + self._q_resid(np.clip(u, 0, 1)))
        return np.maximum(days, elapsed)

    def overdue(self, rows: pd.DataFrame, *, elapsed=0.0, q: float = 0.99) -> np.ndarray:
        """True where a deal has been open longer than ``q`` of comparable won deals took."""
        mu = self.log_median(rows)
        elapsed = np.broadcast_to(np.asarray(elapsed, dtype=float), mu.shape)
        return (elapsed > 0) & (self._cdf_resid(np.log1p(np.maximum(elapsed, 0)) - mu) >= q)

    def predict(self, rows: pd.DataFrame, *, elapsed=0.0) -> pd.DataFrame:
        """Per row: median, 10 % and 90 % days to close, the expected close date and month, and
        ``overdue`` (open longer than 99 % of comparable won deals took: no date is given)."""
        med = self.quantile_days(rows, 0.5, elapsed=elapsed)
        late = self.overdue(rows, elapsed=elapsed)
        med = np.where(late, np.nan, med)
        date = rows["snapshot_date"].to_numpy() + pd.to_timedelta(np.round(med), unit="D")
        out = pd.DataFrame(
            {
                "median_days": med,
                "p10_days": self.quantile_days(rows, 0.1, elapsed=elapsed),
                "p90_days": self.quantile_days(rows, 0.9, elapsed=elapsed),
                "expected_close_date": pd.DatetimeIndex(date).normalize(),
            },
            index=rows.index,
        )
        out["expected_close_month"] = month_starts(out["expected_close_date"])
        out["overdue"] = late
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "model_text": self.booster.model_to_string(),
            "best_iteration": int(self.booster.best_iteration or self.booster.current_iteration()),
            "feature_columns": self.feature_columns,
            "categorical_levels": self.levels,
            "residual_quantiles": [float(x) for x in self.residual_quantiles],
            "meta": self.meta,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> CloseDateModel:
        booster = lgb.Booster(model_str=d["model_text"])
        booster.best_iteration = int(d.get("best_iteration", 0))
        return cls(
            booster=booster,
            feature_columns=list(d["feature_columns"]),
            levels={k: list(v) for k, v in d["categorical_levels"].items()},
            residual_quantiles=np.asarray(d["residual_quantiles"], dtype=float),
            meta=dict(d.get("meta", {})),
        )


def days_to_close(rows: pd.DataFrame) -> pd.Series:
    """Days from the snapshot to the actual close (closed rows; NaN for open ones)."""
    return (rows["outcome_date"] - rows["snapshot_date"]).dt.days.astype(float)


def fit_close_model(
    train: pd.DataFrame,
    role: pd.Series,
    *,
    feature_columns: Sequence[str],
    levels: Mapping[str, Sequence[str]],
    config: Mapping[str, Any] | None = None,
    seed: int = 0,
) -> CloseDateModel:
    """Fit the close-date model on won training rows, using the win model's row roles.

    ``fit`` rows train, ``stop`` rows early-stop, ``calibrate`` rows give the error quantiles.
    """
    cfg = CLOSE_DEFAULTS | dict(config or {})
    won = (train["won"] == 1).to_numpy()
    X = encode(train, list(feature_columns), levels)
    y = np.log1p(days_to_close(train).clip(lower=0).to_numpy())
    cats = [list(feature_columns).index(c) for c in levels]
    r = role.to_numpy()
    fit, stop, cal = won & (r == "fit"), won & (r == "stop"), won & (r == "calibrate")
    if min(fit.sum(), stop.sum(), cal.sum()) < 5:
        raise ValueError(
            f"too few won deals to fit close dates: fit {fit.sum()}, stop {stop.sum()}, calibrate {cal.sum()}"
        )
    params = {
        k: v for k, v in cfg.items() if k not in ("num_boost_round", "early_stopping_rounds")
    } | {"seed": seed}
    booster = train_booster(
        X[fit],
        y[fit],
        X_stop=X[stop],
        y_stop=y[stop],
        categorical=cats,
        params=params,
        num_boost_round=int(cfg["num_boost_round"]),
        early_stopping_rounds=int(cfg["early_stopping_rounds"]),
    )
    resid = y[cal] - predict(booster, X[cal])
    q = np.quantile(resid, LEVELS)
    meta = {
        "n_rows": {"fit": int(fit.sum()), "stop": int(stop.sum()), "calibrate": int(cal.sum())},
        "config": cfg,
    }
    return CloseDateModel(
        booster, list(feature_columns), {k: list(v) for k, v in levels.items()}, q, meta
    )


def close_date_accuracy(actual, predicted) -> dict[str, float]:
    """Share of deals closed within +/- 15 and +/- 30 days of the predicted date, and the median
    and mean absolute error in days."""
    a = pd.to_datetime(pd.Series(actual)).reset_index(drop=True)
    p = pd.to_datetime(pd.Series(predicted)).reset_index(drop=True)
    err = (a - p).dt.days.abs().astype(float)
    ok = err.notna()
    err = err[ok]
    return {
        "within_15_days": float((err <= 15).mean()) if len(err) else float("nan"),
        "within_30_days": float((err <= 30).mean()) if len(err) else float("nan"),
        "median_abs_error_days": float(err.median()) if len(err) else float("nan"),
        "mean_abs_error_days": float(err.mean()) if len(err) else float("nan"),
        "n": int(len(err)),
    }


def median_days_baseline(
    train: pd.DataFrame, rows: pd.DataFrame, *, by: Sequence[str] = ("stage",)
) -> pd.Series:
    """Baseline close date: snapshot + the median days to close of won training rows in the same
    ``by`` cell (overall median for unseen cells or when ``by`` is not available)."""
    by = [c for c in by if c in train.columns]
    won = train[train["won"] == 1].assign(_d=days_to_close)
    overall = float(won["_d"].median())
    days = pd.Series(overall, index=rows.index)
    if by:
        med = won.groupby(by)["_d"].median()
        key = pd.MultiIndex.from_frame(rows[by]) if len(by) > 1 else rows[by[0]]
        days = pd.Series(med.reindex(key).to_numpy(), index=rows.index).fillna(overall)
    return rows["snapshot_date"] + pd.to_timedelta(days.round(), unit="D")


def period_end(dates: pd.Series, *, period: str = "quarter") -> pd.Series:
    """Last day of the month or quarter that follows each date: the one containing the next day.

    A snapshot taken at the end of a quarter looks at the next quarter; one taken mid-quarter
    at the rest of the current quarter.
    """
    return period_ends(dates + pd.Timedelta(days=1), period)


def prob_close_in_period(
    win_probability,
    model: CloseDateModel,
    rows: pd.DataFrame,
    *,
    period: str = "quarter",
    as_of=None,
) -> np.ndarray:
    """P(deal is won by the end of the period) = P(win) x P(close by then | win, open so far).

    The period is the month or quarter after ``as_of`` (default: each row's snapshot date; see
    :func:`period_end`); days already elapsed between the snapshot and ``as_of`` are
    conditioned on.
    """
    ref = (
        rows["snapshot_date"] if as_of is None else pd.Series(pd.Timestamp(as_of), index=rows.index)
    )
    ends = period_end(ref, period=period)
    days = (ends - rows["snapshot_date"]).dt.days.to_numpy(dtype=float)
    elapsed = (ref - rows["snapshot_date"]).dt.days.to_numpy(dtype=float)
    return np.asarray(win_probability, dtype=float) * model.cdf(rows, days, elapsed=elapsed)
