"""Small statistical primitives shared by the analyses (posteriors, accuracy, intervals)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as sps


def beta_posterior(
    successes: np.ndarray | pd.Series | float,
    trials: np.ndarray | pd.Series | float,
    *,
    prior: tuple[float, float] = (1.0, 1.0),
    prob: float = 0.94,
) -> pd.DataFrame:
    """Beta-Binomial posterior of a conversion rate for each (successes, trials) pair.

    With a Beta(a, b) prior the posterior is Beta(a + successes, b + trials - successes).
    Returns mean and the central ``prob`` credible interval (equal-tailed) as rates in [0, 1],
    plus the posterior parameters ``alpha`` and ``beta``. Index follows ``successes``.
    """
    s = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    if np.any(n < 0) or np.any(s < 0) or np.any(s > n):
        raise ValueError("need 0 <= successes <= trials")
    if not 0 < prob < 1:
        raise ValueError(f"prob must be in (0, 1), got {prob}")
    a = prior[0] + s
    b = prior[1] + n - s
    tail = (1 - prob) / 2
    index = successes.index if isinstance(successes, pd.Series) else None
    return pd.DataFrame(
        {
            "mean": np.atleast_1d(a / (a + b)),
            "lower": np.atleast_1d(sps.beta.ppf(tail, a, b)),
            "upper": np.atleast_1d(sps.beta.ppf(1 - tail, a, b)),
            "alpha": np.atleast_1d(a),
            "beta": np.atleast_1d(b),
        },
        index=index,
    )


def wape(actual: np.ndarray | pd.Series, forecast: np.ndarray | pd.Series) -> float:
    """Weighted absolute percentage error: sum |forecast - actual| / sum |actual|. Ratio, lower is better."""
    a = np.asarray(actual, dtype=float)
    f = np.asarray(forecast, dtype=float)
    denom = np.abs(a).sum()
    return float(np.abs(f - a).sum() / denom) if denom > 0 else float("nan")


def bias(actual: np.ndarray | pd.Series, forecast: np.ndarray | pd.Series) -> float:
    """Forecast bias: sum(forecast - actual) / sum |actual|. Ratio; > 0 means over-forecasting."""
    a = np.asarray(actual, dtype=float)
    f = np.asarray(forecast, dtype=float)
    denom = np.abs(a).sum()
    return float((f - a).sum() / denom) if denom > 0 else float("nan")


def within_pct(actual, forecast, *, tolerance: float = 0.05) -> float:
    """Share of periods whose forecast is within +/- ``tolerance`` (relative) of the actual."""
    a = np.asarray(actual, dtype=float)
    f = np.asarray(forecast, dtype=float)
    ok = np.abs(f - a) <= tolerance * np.abs(a)
    return float(ok.mean()) if len(a) else float("nan")


def interval_coverage(actual, lower, upper) -> float:
    """Share of actuals inside their [lower, upper] interval (inclusive). Ratio in [0, 1]."""
    a = np.asarray(actual, dtype=float)
    lo = np.asarray(lower, dtype=float)
    hi = np.asarray(upper, dtype=float)
    return float(((a >= lo) & (a <= hi)).mean()) if len(a) else float("nan")


def hdi(samples: np.ndarray, prob: float = 0.94) -> tuple[float, float]:
    """Highest-density interval of 1-d samples: the narrowest interval holding ``prob`` of them."""
    x = np.sort(np.asarray(samples, dtype=float).ravel())
    n = len(x)
    if n == 0:
        raise ValueError("hdi needs at least one sample")
    k = max(int(np.floor(prob * n)), 1)
    if k >= n:
        return float(x[0]), float(x[-1])
    widths = x[k:] - x[: n - k]
    i = int(np.argmin(widths))
    return float(x[i]), float(x[i + k])


def quantiles(samples: np.ndarray, qs=(0.1, 0.5, 0.9), *, axis: int = 0) -> np.ndarray:
    """Quantiles of simulated outcomes along ``axis`` (P10/P50/P90 by default)."""
    return np.quantile(np.asarray(samples, dtype=float), qs, axis=axis)
