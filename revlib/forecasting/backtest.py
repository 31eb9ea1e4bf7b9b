"""Accuracy back-test: rolling-origin bookings forecasts made only with what was known then.

At each origin (the first day of a period) every method forecasts that period's bookings (won
ARR) using deals and changes dated before the origin: the pipeline is rebuilt as it stood then
(from ``opportunity_history``, or approximately without it) and the baselines see only the
bookings of periods that had ended. Methods:

* ``model``: the Monte Carlo forecast (:func:`revlib.forecasting.bookings_forecast.forecast_bookings`),
  P50 as the point and P10-P90 as the 80 % interval;
* ``stage_weighted``: the CRM's stage-weighted pipeline (amount x stage win rate);
* ``last_period``: the previous period's bookings;
* ``seasonal_naive``: the same period a year earlier;
* ``ets``: an exponential-smoothing model (statsforecast ``AutoETS``) of the bookings series,
  with its own 80 % prediction interval; left out (NaN) when the series is too short.

The naive methods' 80 % intervals come from their own past errors: the 10th and 90th
percentiles of actual / forecast over the (up to 8) latest periods before the origin, when
there are at least 4.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from revlib.forecasting._common import default_as_of
from revlib.forecasting.bookings_forecast import (
    forecast_bookings,
    stage_weighted_forecast,
    stage_weighted_from_deals,
)
from revlib.periods import check_period, next_period, period_label, period_start
from revlib.pipeline_history import check_opportunities, pipeline_book
from revlib.stats import bias, interval_coverage, wape, within_pct

METHODS = ("model", "stage_weighted", "last_period", "seasonal_naive", "ets")
BASELINES = ("last_period", "seasonal_naive", "ets", "stage_weighted")
SEASON = {"month": 12, "quarter": 4}
MIN_ETS_POINTS = 8  # statsforecast's AutoETS refuses fewer ("tiny datasets")


def period_bookings(opportunities: pd.DataFrame, *, period: str, end=None) -> pd.Series:
    """Won ARR by period of close_date, from the first period with a win to the last complete
    period before ``end`` (default: the data end), zero-filled. Index: period starts."""
    opps = check_opportunities(opportunities)
    check_period(period)
    end = pd.Timestamp(end) if end is not None else default_as_of(opps)
    won = opps[(opps["status"] == "won") & (opps["close_date"] < end)]
    if won.empty:
        return pd.Series(dtype=float)
    starts = [period_start(won["close_date"].min(), period)]
    while next_period(starts[-1], period) <= end:
        starts.append(next_period(starts[-1], period))
    starts = [s for s in starts if next_period(s, period) <= end]
    key = won["close_date"].map(lambda d: period_start(d, period))
    out = won.groupby(key)["amount"].sum().reindex(starts, fill_value=0.0).astype(float)
    out.index = pd.DatetimeIndex(out.index).astype("datetime64[ns]")
    out.index.name = "period"
    return out


def backtest_origins(
    opportunities: pd.DataFrame, *, period: str, n_origins: int = 8, min_history_months: int = 3
) -> list[pd.Timestamp]:
    """The last ``n_origins`` period starts whose period is complete in the data and that have at
    least ``min_history_months`` of bookings before them."""
    if n_origins < 1:
        raise ValueError(f"n_origins must be >= 1, got {n_origins}")
    series = period_bookings(opportunities, period=period)
    if series.empty:
        return []
    first = series.index[0] + pd.DateOffset(months=min_history_months)
    ok = [s for s in series.index if s >= first]
    return ok[-n_origins:]


def _empirical_interval(
    past_f: np.ndarray, past_a: np.ndarray, f: float, *, min_points: int = 4, recent: int = 8
) -> tuple[float, float]:
    ok = (past_f > 0) & np.isfinite(past_f) & np.isfinite(past_a)
    if ok.sum() < min_points or not np.isfinite(f):
        return np.nan, np.nan
    r = (past_a[ok] / past_f[ok])[-recent:]
    lo, hi = np.quantile(r, [0.1, 0.9])
    return float(f * lo), float(f * hi)


def naive_forecast(series: pd.Series, origin, *, period: str, method: str) -> dict[str, float]:
    """Last-period or seasonal-naive forecast of the period starting at ``origin`` from the
    bookings ``series`` (only periods that ended by the origin are used), with an 80 % interval
    from the method's past errors. NaN when there is no such earlier period."""
    if method not in ("last_period", "seasonal_naive"):
        raise ValueError(f"method must be 'last_period' or 'seasonal_naive', got {method!r}")
    origin = pd.Timestamp(origin)
    known = series[series.index < origin]
    lag = 1 if method == "last_period" else SEASON[period]
    if len(known) < lag:
        return {"forecast": np.nan, "lower80": np.nan, "upper80": np.nan}
    values = known.to_numpy(float)
    f = float(values[-lag])
    past_f, past_a = values[:-lag], values[lag:]
    lo, hi = _empirical_interval(past_f, past_a, f)
    return {"forecast": f, "lower80": lo, "upper80": hi}


def ets_forecast(series: pd.Series, origin, *, period: str) -> dict[str, float]:
    """AutoETS (statsforecast) forecast of the next period from the bookings known before
    ``origin``, with its 80 % prediction interval; seasonal when there are at least three
    years of periods. NaN when fewer than 8 periods are known (AutoETS needs more)."""
    known = series[series.index < pd.Timestamp(origin)].to_numpy(float)
    nan = {"forecast": np.nan, "lower80": np.nan, "upper80": np.nan}
    if len(known) < MIN_ETS_POINTS:
        return nan
    with warnings.catch_warnings():  # statsforecast's import warns about notebook progress bars
        warnings.simplefilter("ignore")
        from statsforecast.models import AutoETS

    season = SEASON[period] if len(known) >= 3 * SEASON[period] else 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            res = AutoETS(season_length=season).forecast(y=known, h=1, level=[80])
        except Exception:  # statsforecast raises on degenerate series (e.g. all zeros)
            return nan
    mean = float(res["mean"][0])
    return {
        "forecast": max(mean, 0.0),
        "lower80": max(float(res["lo-80"][0]), 0.0),
        "upper80": float(res["hi-80"][0]),
    }


def rolling_backtest(
    opportunities: pd.DataFrame,
    history: pd.DataFrame | None = None,
    *,
    period: str = "quarter",
    origins: int | Sequence = 8,
    n_simulations: int = 1000,
    seed: int = 0,
    methods: Sequence[str] = METHODS,
    config: Mapping[str, Any] | None = None,
    min_history_months: int = 3,
) -> pd.DataFrame:
    """Rolling-origin back-test of bookings forecasts; see the module docstring.

    ``origins``: how many (the latest complete periods, see :func:`backtest_origins`) or the
    period starts themselves. Returns one row per origin and method: origin, period (label),
    method, forecast, actual, lower80, upper80 (ARR, reporting currency).
    """
    check_period(period)
    unknown = sorted(set(methods) - set(METHODS))
    if unknown:
        raise ValueError(f"methods must be among {list(METHODS)}, got {unknown}")
    opps = check_opportunities(opportunities)
    if opps.empty:
        raise ValueError("no back-test origin: there are no opportunities")
    if isinstance(origins, int):
        starts = backtest_origins(
            opps, period=period, n_origins=origins, min_history_months=min_history_months
        )
    else:
        starts = [period_start(o, period) for o in origins]
    if not starts:
        raise ValueError(
            "no back-test origin: the data hold no complete period with enough history before it"
        )
    series = period_bookings(opps, period=period)
    book = pipeline_book(opps, history)  # parsed once, reused at every origin
    rows = []
    for i, origin in enumerate(starts):
        end = next_period(origin, period)
        actual = float(
            opps.loc[
                (opps["status"] == "won")
                & (opps["close_date"] >= origin)
                & (opps["close_date"] < end),
                "amount",
            ].sum()
        )
        fc = None
        for method in methods:
            if method == "model":
                fc = forecast_bookings(
                    book,
                    as_of=origin,
                    period=period,
                    n_simulations=n_simulations,
                    seed=seed + i,
                    config=config,
                )
                tot = fc.totals()[:, 0]
                lo, mid, hi = np.quantile(tot, [0.1, 0.5, 0.9])
                res = {"forecast": float(mid), "lower80": float(lo), "upper80": float(hi)}
            elif method == "stage_weighted" and fc is not None:  # same pipeline and rates: reuse
                res = stage_weighted_from_deals(
                    fc.deals,
                    won_so_far=float(fc.components["closed"][0].sum()),
                    start=origin,
                    end=end,
                )
            elif method == "stage_weighted":
                res = stage_weighted_forecast(book, as_of=origin, period=period)
            elif method == "ets":
                res = ets_forecast(series, origin, period=period)
            else:
                res = naive_forecast(series, origin, period=period, method=method)
            rows.append(
                {
                    "origin": origin,
                    "period": period_label(origin, period),
                    "method": method,
                    "actual": actual,
                }
                | res
            )
    out = pd.DataFrame(
        rows, columns=["origin", "period", "method", "forecast", "actual", "lower80", "upper80"]
    )
    out["origin"] = out["origin"].astype("datetime64[ns]")
    return out


def backtest_summary(bt: pd.DataFrame) -> pd.DataFrame:
    """Accuracy of each method over the back-test periods it could forecast: wape (sum |error|
    / sum actual, lower is better), bias (sum error / sum actual; > 0 = over-forecast),
    within_5pct (share of periods within +/- 5 % of the actual: the team's accuracy goal) and
    coverage80 (share of actuals inside the 80 % interval; well calibrated = 0.8). Columns:
    method, periods, wape, bias, within_5pct, coverage80, best_wape."""
    rows = []
    for method, g in bt.groupby("method", sort=False):
        g = g[g["forecast"].notna()]
        iv = g[g["lower80"].notna() & g["upper80"].notna()]
        rows.append(
            {
                "method": method,
                "periods": len(g),
                "wape": wape(g["actual"], g["forecast"]) if len(g) else np.nan,
                "bias": bias(g["actual"], g["forecast"]) if len(g) else np.nan,
                "within_5pct": within_pct(g["actual"], g["forecast"], tolerance=0.05)
                if len(g)
                else np.nan,
                "coverage80": interval_coverage(iv["actual"], iv["lower80"], iv["upper80"])
                if len(iv)
                else np.nan,
            }
        )
    out = pd.DataFrame(
        rows, columns=["method", "periods", "wape", "bias", "within_5pct", "coverage80"]
    )
    full = out["periods"] == out["periods"].max()
    best = out.loc[full, "wape"].min() if full.any() else np.nan
    out["best_wape"] = full & (out["wape"] == best)
    return out


def verdict(summary: pd.DataFrame) -> str:
    """One sentence naming the most accurate method (lowest WAPE among methods that forecast
    every back-test period) and which of the other methods the model beats on WAPE (the
    stage-weighted pipeline, ETS and the naive baselines alike)."""
    full = summary[summary["periods"] == summary["periods"].max()].dropna(subset=["wape"])
    if full.empty:
        return "No method produced forecasts for every back-test period."
    best = full.sort_values(["wape", "method"]).iloc[0]
    text = f"Most accurate over {int(best['periods'])} periods: {best['method']} (WAPE {best['wape']:.1%})."
    model = summary[summary["method"] == "model"].dropna(subset=["wape"])
    others = summary[summary["method"] != "model"].dropna(subset=["wape"])
    if len(model) and len(others):
        m = float(model["wape"].iloc[0])
        beaten = [r.method for r in others.itertuples() if m < r.wape]
        lost = [r.method for r in others.itertuples() if m >= r.wape]
        if beaten:
            text += f" The model beats {_and(beaten)} on WAPE"
            text += f" but not {_and(lost)}." if lost else "."
        else:
            text += f" The model does not beat {_and(lost)} on WAPE."
    return text


def _and(names: Sequence[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    names = list(names)
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
