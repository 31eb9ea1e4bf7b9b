"""Period bookings forecast: a Monte Carlo simulation over open deals and deals not yet created.

For a forecast made at ``as_of`` (midnight) of the period that contains it and the following
ones, each simulation draws

* for every **open deal**: when it closes and whether it is won. With ``opportunity_history``
  this comes from the weekly closing model (:mod:`revlib.forecasting.closing`: stage, type,
  size, age and the expected close date, so slips are learnt from past pipelines); without
  history (the pipeline is then approximate) from a Kaplan-Meier curve of time from creation
  to close given the deal's age, with the share won at each age and a size adjustment. Deals
  that never close are the curves' plateau. A deal score (``win_probability``) replaces the
  historical win odds but keeps the timing. The uncertainty of each type's win odds is drawn
  once per simulation, so deals of a type move together.
* for **deals not yet created**: how many are created each day before the period ends (Poisson,
  with a log-linear trend per type fitted on the last twelve months of creation counts and its
  uncertainty drawn once per simulation), and for each one its win and its time from creation
  to close (the created-to-close curve of its type) and its amount (resampled from recent wins
  that took about as long, since big deals are slow).

Won deals that close inside a period are its bookings; deals already won earlier in the first
period are added as they are. Money is ARR in the reporting currency.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm

from revlib.forecasting._common import DAYS_PER_MONTH, TYPES, logit
from revlib.forecasting.closing import ClosingModel, fit_closing_model, outcome_table
from revlib.forecasting.creation import amount_pools, creation_rates, draw_amounts
from revlib.forecasting.curves import created_to_close_curves, km_table, size_effects
from revlib.periods import check_period, next_period, period_label, period_start
from revlib.pipeline_history import (
    lookup_rates,
    pipeline_as_of,
    pipeline_book,
    snapshots,
    stage_win_rates,
)

BOOKINGS_DEFAULTS: dict[str, Any] = {
    "lookback_months": 12,  # month-start snapshots the closing model and win rates learn from
    "timing_lookback_months": 24,  # deals created in this window give the created-to-close curves
    "creation_months": 12,  # complete months of creation counts behind the creation model
    "creation_trend": True,  # log-linear trend in creation counts (else a flat rate)
    "amount_months": 12,  # won deals closed in this window give the amounts of future deals
    "prior_strength": 10.0,  # pseudo-deals shrinking a stage/type win rate to its parent
    "min_events": 30,  # closed deals a per-type created-to-close curve needs, else pooled
    "rate_uncertainty": True,  # draw win odds and creation rates from their posteriors per simulation
    "size_effect": True,  # without history: shift win odds by deal size (see size_effects)
    "timing": "auto",  # "closing_model" (needs history), "age", or "auto" (model when history exists)
    "grid": 15,  # quantiles of the win-odds uncertainty tabulated per type
    "max_weeks": 52,  # weeks an open deal is followed; later closes fall outside every period
    "closing_model": {},  # overrides of revlib.forecasting.closing.CLOSING_DEFAULTS
}
QUANTILES = (0.1, 0.5, 0.9)


@dataclass
class BookingsForecast:
    """Simulated bookings: ``draws[s, k, j]`` is the ARR booked in simulation ``s``, period
    ``periods[k]``, type ``types[j]`` (won so far included). ``components`` splits it into
    ``closed`` (won before as_of, constant), ``open`` (open deals) and ``future`` (deals not yet
    created). ``deals`` holds the open deals with their win rate and, per period, the chance to
    be booked in it (``p_<label>``)."""

    as_of: pd.Timestamp
    period: str
    periods: list[pd.Timestamp]
    types: tuple[str, ...]
    draws: np.ndarray
    components: dict[str, np.ndarray]
    deals: pd.DataFrame
    config: dict[str, Any]
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def labels(self) -> list[str]:
        return [period_label(p, self.period) for p in self.periods]

    def totals(self) -> np.ndarray:
        """Simulated total bookings per period, all types: array (simulations, periods)."""
        return self.draws.sum(axis=2)

    def summary(self) -> pd.DataFrame:
        """P10 / P50 / P90 and mean of bookings by period and type, plus the total (whose
        percentiles are those of the simulated totals, not sums of percentiles). Columns:
        period, type, p10, p50, p90, mean; ARR in the reporting currency."""
        rows = []
        for k, label in enumerate(self.labels):
            series = {t: self.draws[:, k, j] for j, t in enumerate(self.types)}
            series["total"] = self.draws[:, k, :].sum(axis=1)
            for name, x in series.items():
                q = np.quantile(x, QUANTILES)
                rows.append(
                    {
                        "period": label,
                        "type": name,
                        "p10": q[0],
                        "p50": q[1],
                        "p90": q[2],
                        "mean": float(x.mean()),
                    }
                )
        return pd.DataFrame(rows)

    def components_summary(self) -> pd.DataFrame:
        """Mean bookings per period from each source: closed (won so far), open (today's
        pipeline) and future (deals not yet created). ARR; columns period, closed, open, future, total."""
        rows = []
        for k, label in enumerate(self.labels):
            row: dict[str, str | float] = {"period": label}
            for name, arr in self.components.items():
                row[name] = (
                    float(arr[k].sum()) if arr.ndim == 2 else float(arr[:, k, :].sum(axis=1).mean())
                )
            row["total"] = float(self.totals()[:, k].mean())
            rows.append(row)
        return pd.DataFrame(rows)

    def probability_at_least(self, target: float, *, k: int = 0) -> float:
        """Share of simulations whose total bookings in period ``k`` reach ``target``. Ratio."""
        return float((self.totals()[:, k] >= target).mean())


def _config(overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - set(BOOKINGS_DEFAULTS))
    if unknown:
        raise ValueError(
            f"unknown bookings config keys {unknown}; allowed: {sorted(BOOKINGS_DEFAULTS)}"
        )
    cfg = BOOKINGS_DEFAULTS | overrides
    if cfg["timing"] not in ("auto", "closing_model", "age"):
        raise ValueError(f"timing must be 'auto', 'closing_model' or 'age', got {cfg['timing']!r}")
    if cfg["grid"] < 1 or cfg["grid"] % 2 == 0:
        raise ValueError(f"grid must be an odd number >= 1, got {cfg['grid']}")
    return cfg


def _win_given_close(table: np.ndarray, weeks: int) -> np.ndarray:
    won = table[:, :weeks].sum(axis=1)
    lost = table[:, weeks : 2 * weeks].sum(axis=1)
    return np.divide(won, won + lost, out=np.zeros_like(won), where=(won + lost) > 0)


def _period_probability(table: np.ndarray, weeks: int, lo: float, hi: float) -> np.ndarray:
    """P(won with a close day in [lo, hi)), close days uniform within their week."""
    start = 7.0 * np.arange(weeks)
    overlap = np.clip(np.minimum(start + 7, hi) - np.maximum(start, lo), 0, 7) / 7
    return table[:, :weeks] @ overlap


def period_grid(as_of, period: str, n_periods: int) -> list[pd.Timestamp]:
    """Starts of the ``n_periods`` periods forecast at ``as_of``: the period containing it and
    the following ones."""
    check_period(period)
    if n_periods < 1:
        raise ValueError(f"n_periods must be >= 1, got {n_periods}")
    starts = [period_start(as_of, period)]
    for _ in range(n_periods - 1):
        starts.append(next_period(starts[-1], period))
    return starts


def _bounds_days(periods: list[pd.Timestamp], period: str, t: pd.Timestamp) -> np.ndarray:
    edges = [*periods, next_period(periods[-1], period)]
    return np.array([(e - t).days for e in edges], dtype=float)


def forecast_bookings(
    opportunities: pd.DataFrame,
    history: pd.DataFrame | None = None,
    *,
    as_of,
    period: str = "quarter",
    n_periods: int = 1,
    n_simulations: int = 4000,
    seed: int = 0,
    win_probability: pd.Series | None = None,
    config: Mapping[str, Any] | None = None,
) -> BookingsForecast:
    """Monte Carlo forecast of bookings (won ARR) by period and type; see the module docstring.

    ``as_of``: the forecast date (midnight; nothing on or after it is used). ``period``:
    "month" or "quarter"; the first period is the one containing ``as_of``. ``win_probability``:
    optional chance that each open deal is won when it closes, indexed by opportunity_id (e.g.
    from the deal-scoring model); it replaces the historical win odds (timing keeps its shape).
    Deals missing from it use the history. ``config``: overrides of :data:`BOOKINGS_DEFAULTS`.
    """
    cfg = _config(config)
    check_period(period)
    if n_simulations < 1:
        raise ValueError(f"n_simulations must be >= 1, got {n_simulations}")
    book = pipeline_book(opportunities, history)
    opps = book.opps
    t = pd.Timestamp(as_of).normalize()
    has_history = book.history is not None
    periods = period_grid(t, period, n_periods)
    labels = [period_label(p, period) for p in periods]
    bounds = _bounds_days(periods, period, t)
    horizon = bounds[-1]
    n_types = len(TYPES)
    type_idx = {ty: j for j, ty in enumerate(TYPES)}
    rng = np.random.default_rng(seed)

    # won so far in the first period
    closed = np.zeros((n_periods, n_types))
    won = opps[
        (opps["status"] == "won") & (opps["close_date"] >= periods[0]) & (opps["close_date"] < t)
    ]
    for ty, amt in won.groupby("type")["amount"].sum().items():
        closed[0, type_idx[ty]] = amt

    # open deals: a table of P(won in week k), P(lost in week k), P(still open) per deal, for a
    # grid of quantiles of each type's win-odds uncertainty
    deals = pipeline_as_of(book, as_of=t)
    snaps = snapshots(book, as_of=t, months=cfg["lookback_months"])
    rates = stage_win_rates(snaps, rule="snapshot", prior=cfg["prior_strength"])
    deals["stage_win_rate"] = lookup_rates(deals, rates)["win_rate"]
    timing = cfg["timing"]
    if timing == "auto":
        timing = "closing_model" if has_history else "age"
    if timing == "closing_model" and not has_history:
        raise ValueError(
            "timing='closing_model' needs opportunity_history; use timing='age' or 'auto'"
        )
    age = created_to_close_curves(
        opps, as_of=t, months=cfg["timing_lookback_months"], min_events=cfg["min_events"]
    )
    weeks = int(cfg["max_weeks"])
    z_grid = (
        norm.ppf((np.arange(cfg["grid"]) + 0.5) / cfg["grid"])
        if cfg["rate_uncertainty"]
        else np.zeros(1)
    )
    mid = len(z_grid) // 2
    n_deals = len(deals)
    deal_types = deals["type"].astype(str).to_numpy(object)
    shift = np.zeros(n_deals)
    if timing == "closing_model":
        fitted = fit_closing_model(
            snaps, as_of=t, config={"max_weeks": weeks, **cfg["closing_model"]}
        )
        closing: ClosingModel | None = fitted
        sd = np.array([fitted.logit_sd.get(ty, 1.0) for ty in deal_types])

        log_probs = fitted.weekly_log(deals)

        def tables(extra: np.ndarray) -> np.ndarray:
            return outcome_table(fitted.weekly(deals, logit_shift=extra, log_probs=log_probs))
    else:
        closing = None
        keys = [age.key_for(ty) for ty in deal_types]
        sd = np.array([age[k].logit_sd() for k in keys])
        if cfg["size_effect"]:
            slope = size_effects(snaps)
            centre = np.array([age.size.get(k, np.nan) for k in keys])
            z = np.log1p(deals["amount"].to_numpy(float))
            shift = np.where(
                np.isnan(centre),
                0.0,
                np.array([slope.get(ty, 0.0) for ty in deal_types]) * (z - centre),
            )
        ages = deals["age_days"].to_numpy(float)

        def tables(extra: np.ndarray) -> np.ndarray:
            out = np.zeros((n_deals, 2 * weeks + 1))
            for k in dict.fromkeys(keys):
                m = np.array([kk == k for kk in keys], dtype=bool)
                out[m] = km_table(age[k], ages[m], extra[m], weeks)
            return out

    if win_probability is not None and n_deals:
        wp = pd.Series(win_probability).astype(float)
        wp.index = wp.index.astype(str)
        if ((wp < 0) | (wp > 1)).any():
            raise ValueError("win_probability must be in [0, 1]")
        given = deals["opportunity_id"].map(wp).to_numpy(float)
        cond = _win_given_close(tables(shift), weeks)
        has = ~np.isnan(given) & (cond > 0)
        shift = shift.copy()
        shift[has] += logit(given[has], eps=1e-6) - logit(cond[has], eps=1e-6)
    grid_tables = (
        np.stack([tables(shift + zg * sd) for zg in z_grid])
        if n_deals
        else np.zeros((len(z_grid), 0, 2 * weeks + 1))
    )
    base = grid_tables[mid]
    deals["p_close_ever"] = 1.0 - base[:, -1] if n_deals else []
    deals["win_rate"] = _win_given_close(base, weeks) if n_deals else []
    deals["p_win_ever"] = base[:, :weeks].sum(axis=1) if n_deals else []
    for k, label in enumerate(labels):
        deals[f"p_{label}"] = (
            _period_probability(base, weeks, bounds[k], bounds[k + 1]) if n_deals else []
        )
    deal_type = deals["type"].map(type_idx).to_numpy(int)
    amount = deals["amount"].to_numpy(float)
    cdf = np.cumsum(grid_tables, axis=2)

    # deals not yet created
    crt = creation_rates(opps, as_of=t, months=cfg["creation_months"], trend=cfg["creation_trend"])
    pools = amount_pools(opps, as_of=t, months=cfg["amount_months"])
    day_mid = np.arange(int(horizon)) + 0.5  # days after as_of on which new deals can be created

    n = n_simulations
    open_draws = np.zeros((n, n_periods, n_types))
    future_draws = np.zeros((n, n_periods, n_types))
    chunk = max(1, min(n, int(2e7 // max(1, n_deals * (2 * weeks + 1)))))
    for c0 in range(0, n, chunk):
        c = min(chunk, n - c0)
        sl = slice(c0, c0 + c)
        g_type = rng.integers(0, len(z_grid), size=(c, n_types))  # one uncertainty draw per type
        if n_deals:
            g = g_type[:, deal_type]  # (c, deals)
            u = rng.uniform(size=(c, n_deals, 1))
            idx = (cdf[g, np.arange(n_deals)[None, :], :] < u).sum(axis=2)
            is_won = idx < weeks
            day = 7.0 * idx + 7.0 * rng.uniform(size=idx.shape)
            k_idx = np.searchsorted(bounds, day, side="right") - 1
            ok = is_won & (k_idx >= 0) & (k_idx < n_periods)
            s_idx = np.broadcast_to(np.arange(c)[:, None], idx.shape)
            flat = (s_idx[ok] * n_periods + k_idx[ok]) * n_types + np.broadcast_to(
                deal_type, idx.shape
            )[ok]
            weights = np.broadcast_to(amount, idx.shape)[ok]
            open_draws[sl] = np.bincount(
                flat, weights=weights, minlength=c * n_periods * n_types
            ).reshape(c, n_periods, n_types)
        for _, row in crt.iterrows():
            ty = row["type"]
            pool = pools[ty]
            if len(pool[0]) == 0 or row["created"] == 0:
                continue
            if cfg["rate_uncertainty"]:
                ab = rng.multivariate_normal(
                    [row["a"], row["b"]], row["cov"], size=c, method="eigh"
                )
            else:
                ab = np.tile([row["a"], row["b"]], (c, 1))
            rate = (
                np.exp(ab[:, :1] + ab[:, 1:] * day_mid[None, :] / DAYS_PER_MONTH) / DAYS_PER_MONTH
            )
            counts = rng.poisson(rate).ravel()  # (simulation, day) flattened
            total = int(counts.sum())
            if total == 0:
                continue
            cell = np.repeat(np.arange(c * len(day_mid)), counts)
            sims = cell // len(day_mid)
            born = (cell % len(day_mid)) + rng.uniform(size=total)
            cv = age[age.key_for(ty)]
            zg = z_grid[g_type[:, type_idx[ty]]] * cv.logit_sd()
            tm, wn = cv.sample(np.zeros(total), rng, logit_shift=zg[sims])
            when = born + tm
            k_idx = np.searchsorted(bounds, when, side="right") - 1
            ok = wn & (k_idx >= 0) & (k_idx < n_periods)
            amt = draw_amounts(pool, tm[ok], rng)
            flat = sims[ok] * n_periods + k_idx[ok]
            future_draws[sl, :, type_idx[ty]] += np.bincount(
                flat, weights=amt, minlength=c * n_periods
            ).reshape(c, n_periods)
    draws = closed[None, :, :] + open_draws + future_draws
    info = {
        "timing": timing,
        "pipeline_source": "history" if has_history else "approximate",
        "open_deals": n_deals,
        "open_amount": float(amount.sum()),
        "win_probability": "given" if win_probability is not None else "history",
        "creation_per_month": dict(zip(crt["type"], crt["rate_per_month"], strict=True)),
        "creation_growth_per_month": dict(zip(crt["type"], crt["growth_per_month"], strict=True)),
        "closing_model": closing.info if closing is not None else None,
    }
    return BookingsForecast(
        as_of=t,
        period=period,
        periods=periods,
        types=TYPES,
        draws=draws,
        components={"closed": closed, "open": open_draws, "future": future_draws},
        deals=deals,
        config=cfg,
        info=info,
    )


def stage_weighted_forecast(
    opportunities: pd.DataFrame,
    history: pd.DataFrame | None = None,
    *,
    as_of,
    period: str = "quarter",
    lookback_months: int = 12,
) -> dict[str, float]:
    """Stage-weighted pipeline, the CRM's own forecast: won so far in the period + sum over open
    deals expected to close in the period of amount x its stage's historical win rate (without
    expected close dates, every open deal). ARR; ``lower80`` / ``upper80`` from a normal
    approximation with variance sum p(1 - p) amount^2."""
    book = pipeline_book(opportunities, history)
    opps = book.opps
    t = pd.Timestamp(as_of).normalize()
    start = period_start(t, period)
    end = next_period(start, period)
    won = float(
        opps.loc[
            (opps["status"] == "won") & (opps["close_date"] >= start) & (opps["close_date"] < t),
            "amount",
        ].sum()
    )
    deals = pipeline_as_of(book, as_of=t)
    rates = stage_win_rates(
        snapshots(book, as_of=t, months=lookback_months),
        rule="snapshot",
        prior=BOOKINGS_DEFAULTS["prior_strength"],
    )
    deals["stage_win_rate"] = lookup_rates(deals, rates)["win_rate"]
    return stage_weighted_from_deals(deals, won_so_far=won, start=start, end=end)


def stage_weighted_from_deals(
    deals: pd.DataFrame, *, won_so_far: float, start, end
) -> dict[str, float]:
    """The stage-weighted pipeline of :func:`stage_weighted_forecast` from open deals that
    already carry their ``stage_win_rate`` (e.g. ``BookingsForecast.deals``)."""
    p = deals["stage_win_rate"].to_numpy(float)
    exp = deals["expected_close"]
    inside = (
        ((exp >= start) & (exp < end)).to_numpy()
        if exp.notna().any()
        else np.ones(len(deals), bool)
    )
    a = deals["amount"].to_numpy(float)
    mean = won_so_far + float((p * a)[inside].sum())
    sd = float(np.sqrt((p * (1 - p) * a**2)[inside].sum()))
    z = 1.2815515655446004
    return {"forecast": mean, "lower80": max(won_so_far, mean - z * sd), "upper80": mean + z * sd}


def open_pipeline_truth(
    ground_truth: Mapping[str, Any] | None, fc: BookingsForecast
) -> pd.DataFrame | None:
    """The generator's eventual outcome of today's open deals (sample company only): ARR of the
    open deals that were eventually won inside each forecast period, beside the model's P10 /
    P50 / P90 of the open-pipeline part of the forecast. ``None`` without that ground truth."""
    deals = ((ground_truth or {}).get("win_model") or {}).get("open_deals")
    if not deals or fc.deals.empty:
        return None
    ids = fc.deals["opportunity_id"].astype(str)
    status = ids.map(lambda i: (deals.get(i) or {}).get("eventual_status"))
    close = pd.to_datetime(ids.map(lambda i: (deals.get(i) or {}).get("eventual_close_date")))
    if status.isna().all():
        return None
    edges = [*fc.periods, next_period(fc.periods[-1], fc.period)]
    rows = []
    for k, label in enumerate(fc.labels):
        inside = (status == "won") & (close >= edges[k]) & (close < edges[k + 1])
        x = fc.components["open"][:, k, :].sum(axis=1)
        q = np.quantile(x, [0.1, 0.5, 0.9])
        true = float(fc.deals.loc[inside.to_numpy(), "amount"].sum())
        rows.append(
            {
                "period": label,
                "true_open_bookings": true,
                "p10": q[0],
                "p50": q[1],
                "p90": q[2],
                "inside80": bool(q[0] <= true <= q[2]),
            }
        )
    return pd.DataFrame(rows)
