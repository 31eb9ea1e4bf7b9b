"""The pipeline creation model: how many deals are created per month (with a trend), and the
amounts of new deals that are won."""

from __future__ import annotations

import numpy as np
import pandas as pd

from revlib.forecasting._common import DAYS_PER_MONTH, TYPES
from revlib.periods import month_start
from revlib.pipeline_history import check_opportunities, observation_start


def creation_rates(
    opportunities: pd.DataFrame,
    *,
    as_of,
    months: int = 12,
    trend: bool = True,
    trend_prior_sd: float = 0.05,
) -> pd.DataFrame:
    """Pipeline creation model: deals created per month by type, a Poisson regression on the
    ``months`` complete months before ``as_of`` (from the month of the extract's first recorded
    close on) with a log-linear trend (``log rate = a + b x
    months since as_of``; prior b ~ Normal(0, ``trend_prior_sd``)), fitted by Newton steps with
    a Laplace (normal) approximation of its uncertainty. ``trend=False`` fixes b = 0.

    Columns: type, created (deals in the window), rate_per_month (expected deals in the month
    starting at as_of), growth_per_month (exp(b) - 1, ratio), a, b, cov (2 x 2 covariance)."""
    opps = check_opportunities(opportunities)
    t = pd.Timestamp(as_of).normalize()
    end = month_start(t)
    first = month_start(observation_start(opps))  # creation before the extract is incomplete
    starts = [
        s for s in (end - pd.DateOffset(months=k) for k in range(months, 0, -1)) if s >= first
    ]
    if not starts:
        starts = [end - pd.DateOffset(months=1)]
    x = np.array(
        [
            ((s + pd.DateOffset(months=1) - s).days / 2 + (s - t).days) / DAYS_PER_MONTH
            for s in starts
        ]
    )
    rows = []
    for ty in TYPES:
        c = opps.loc[
            (opps["type"] == ty)
            & (opps["created_date"] >= starts[0])
            & (opps["created_date"] < end),
            "created_date",
        ]
        y = np.array(
            [((c >= s) & (c < s + pd.DateOffset(months=1))).sum() for s in starts], dtype=float
        )
        a, b, cov = _poisson_trend(x, y, trend=trend, prior_sd=trend_prior_sd)
        rows.append(
            {
                "type": ty,
                "created": float(y.sum()),
                "rate_per_month": float(np.exp(a + b * 0.5)),
                "growth_per_month": float(np.expm1(b)),
                "a": a,
                "b": b,
                "cov": cov,
            }
        )
    return pd.DataFrame(rows)


def _poisson_trend(
    x: np.ndarray, y: np.ndarray, *, trend: bool, prior_sd: float
) -> tuple[float, float, np.ndarray]:
    """MAP and Laplace covariance of log rate = a + b x for Poisson counts y (b = 0 without
    trend); a has a flat prior, b a Normal(0, prior_sd) prior."""
    total = y.sum()
    if total == 0:
        return float(np.log(0.5 / max(len(y), 1))), 0.0, np.diag([1.0, 0.0])
    if not trend or len(y) < 3:
        a = float(np.log(total / len(y)))
        return a, 0.0, np.diag([1.0 / total, 0.0])
    X = np.column_stack([np.ones_like(x), x])
    beta = np.array([np.log(total / len(y)), 0.0])
    prior = np.diag([0.0, 1.0 / prior_sd**2])
    for _ in range(50):
        mu = np.exp(X @ beta)
        grad = X.T @ (y - mu) - prior @ beta
        hess = X.T @ (X * mu[:, None]) + prior
        step = np.linalg.solve(hess, grad)
        beta = beta + step
        if np.max(np.abs(step)) < 1e-10:
            break
    mu = np.exp(X @ beta)
    cov = np.linalg.inv(X.T @ (X * mu[:, None]) + prior)
    return float(beta[0]), float(beta[1]), cov


def amount_pools(
    opportunities: pd.DataFrame, *, as_of, months: int
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Won deals of each type closed in the ``months`` before as_of (all earlier wins when
    there are none): (days from creation to close, amount), sorted by days."""
    t = pd.Timestamp(as_of).normalize()
    won = opportunities[(opportunities["status"] == "won") & (opportunities["close_date"] < t)]
    recent = won[won["close_date"] >= t - pd.DateOffset(months=months)]
    pools = {}
    for ty in TYPES:
        w = recent[recent["type"] == ty]
        if len(w) == 0:
            w = won[won["type"] == ty]
        days = (w["close_date"] - w["created_date"]).dt.days.to_numpy(float)
        order = np.argsort(days, kind="stable")
        pools[ty] = (days[order], w["amount"].to_numpy(float)[order])
    return pools


def draw_amounts(
    pool: tuple[np.ndarray, np.ndarray], cycle: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Amounts for new deals won after ``cycle`` days: resampled from the won deals whose
    created-to-close time is among the nearest (k = max(10, 10 %) neighbours), because large
    deals take longer to close."""
    days, amounts = pool
    n = len(days)
    k = min(n, max(10, n // 10))
    centre = np.searchsorted(days, cycle)
    lo = np.clip(centre - k // 2, 0, n - k)
    return amounts[lo + rng.integers(0, k, size=len(cycle))]
