"""Pipeline health: coverage against the target, stage aging and stuck deals, conversion by
stage, sales velocity, the creation trend, and a stand-in period target."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from revlib.forecasting._common import TYPES
from revlib.periods import month_start, month_starts, next_period, period_start
from revlib.pipeline_history import (
    NO_HISTORY_STAGE,
    check_opportunities,
    has_history,
    pipeline_as_of,
    prepare_history,
    stage_order,
    stage_positions,
    stage_win_rates,
)


def coverage_ratio(open_amount: float, target: float, closed_won: float = 0.0) -> float:
    """Pipeline coverage: open pipeline ARR expected to close in the period / the part of the
    period target still to book (target - won so far). Ratio; 3.0 = "3x coverage"."""
    gap = target - closed_won
    if gap <= 0:
        return float("inf")
    return float(open_amount / gap)


def sales_velocity(
    opportunities: pd.DataFrame,
    *,
    as_of,
    months: int = 12,
    open_deals: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Sales velocity: open deals x win rate x average won deal size / average sales cycle
    length. Reporting currency of ARR per day, by type and in total.

    Win rate = won / closed, deal size = mean won amount, cycle = mean days from created to
    close of won deals, all over deals closed in the ``months`` before ``as_of``; open deals
    are those open at ``as_of``. Columns: type, open_deals, win_rate, avg_deal_size,
    cycle_days, velocity_per_day, velocity_per_month.
    """
    opps = check_opportunities(opportunities)
    t = pd.Timestamp(as_of).normalize()
    lo = t - pd.DateOffset(months=months)
    closed = opps[
        (opps["status"] != "open") & (opps["close_date"] < t) & (opps["close_date"] >= lo)
    ]
    if open_deals is None:
        open_deals = pipeline_as_of(opps, as_of=t)
    rows = []
    groups = [(ty, ty) for ty in TYPES] + [("total", None)]
    for label, ty in groups:
        c = closed if ty is None else closed[closed["type"] == ty]
        o = open_deals if ty is None else open_deals[open_deals["type"] == ty]
        won = c[c["status"] == "won"]
        win = len(won) / len(c) if len(c) else np.nan
        size = float(won["amount"].mean()) if len(won) else np.nan
        cycle = (
            float((won["close_date"] - won["created_date"]).dt.days.mean()) if len(won) else np.nan
        )
        vel = len(o) * win * size / cycle if cycle and cycle > 0 else np.nan
        rows.append(
            {
                "type": label,
                "open_deals": len(o),
                "win_rate": win,
                "avg_deal_size": size,
                "cycle_days": cycle,
                "velocity_per_day": vel,
                "velocity_per_month": vel * 365.25 / 12 if vel == vel else np.nan,
            }
        )
    return pd.DataFrame(rows)


def stage_aging(
    open_deals: pd.DataFrame,
    history: pd.DataFrame | None,
    opportunities: pd.DataFrame,
    *,
    as_of,
    quantile: float = 0.9,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stage aging and stuck deals. A deal is *stuck* when its days in the current stage exceed
    the ``quantile`` (default 90th percentile) of the time past deals spent in that stage before
    moving on; without history, when its age exceeds that percentile of the created-to-close
    days of deals won before ``as_of``.

    Returns (by_stage, stuck): by_stage has stage, deals, amount, median_days, stuck_after_days,
    stuck_deals, stuck_amount; stuck lists the stuck deals, largest first.
    """
    t = pd.Timestamp(as_of).normalize()
    deals = open_deals.copy()
    if has_history(history):
        h = history if "stage_since" in history.columns else prepare_history(history)
        h = h[h["changed_at"] < t]
        # completed stage spells: a run of one stage followed by a different stage
        nxt = h.groupby("opportunity_id")["stage"].shift(-1)
        nxt_at = h.groupby("opportunity_id")["changed_at"].shift(-1)
        ended = nxt.notna() & (nxt != h["stage"])
        spells = pd.DataFrame(
            {
                "stage": h.loc[ended, "stage"],
                "days": (nxt_at[ended] - h.loc[ended, "stage_since"]).dt.days,
            }
        )
        limit = spells.groupby("stage")["days"].quantile(quantile)
        deals["stuck_after_days"] = deals["stage"].map(limit).astype(float)
        deals["days_in_stage"] = deals["stage_days"]
    else:
        opps = check_opportunities(opportunities)
        won = opps[(opps["status"] == "won") & (opps["close_date"] < t)]
        cycle = (won["close_date"] - won["created_date"]).dt.days
        deals["stuck_after_days"] = float(cycle.quantile(quantile)) if len(cycle) else np.nan
        deals["days_in_stage"] = deals["age_days"]
    deals["stuck"] = deals["days_in_stage"] > deals["stuck_after_days"]
    by_stage = (
        deals.groupby("stage", observed=True)
        .agg(
            deals=("opportunity_id", "size"),
            amount=("amount", "sum"),
            median_days=("days_in_stage", "median"),
            stuck_after_days=("stuck_after_days", "first"),
            stuck_deals=("stuck", "sum"),
        )
        .reset_index()
    )
    by_stage["stuck_amount"] = (
        by_stage["stage"].map(deals[deals["stuck"]].groupby("stage")["amount"].sum()).fillna(0.0)
    )
    by_stage["stuck_deals"] = by_stage["stuck_deals"].astype(int)
    order = stage_order(h if has_history(history) else None, deals)  # funnel order
    by_stage = (
        by_stage.assign(_o=by_stage["stage"].astype(str).map({s: i for i, s in enumerate(order)}))
        .sort_values("_o", kind="stable")
        .drop(columns="_o")
        .reset_index(drop=True)
    )
    cols = [
        "opportunity_id",
        "type",
        "stage",
        "amount",
        "days_in_stage",
        "stuck_after_days",
        "age_days",
    ]
    stuck = deals.loc[deals["stuck"], cols].sort_values(
        ["amount", "opportunity_id"], ascending=[False, True]
    )
    return by_stage, stuck.reset_index(drop=True)


def stage_conversion(
    history: pd.DataFrame | None, opportunities: pd.DataFrame, *, as_of
) -> pd.DataFrame:
    """Conversion by stage: of the deals that reached a stage and closed before ``as_of``, the
    share that were won. Ratio in [0, 1]: :func:`revlib.pipeline_history.stage_win_rates` with
    the ``"deal"`` rule and no prior over every history change (a deal counts once in each
    stage it reached, however long it stayed). Stages in the order deals first reach them (median
    position); without history, one row for all deals.

    Columns: stage, order, reached (deals that reached the stage and have closed), won, win_rate.
    """
    opps = check_opportunities(opportunities)
    t = pd.Timestamp(as_of).normalize()
    closed = opps[(opps["status"] != "open") & (opps["close_date"] < t)].set_index("opportunity_id")
    if not has_history(history):
        won = int((closed["status"] == "won").sum())
        return pd.DataFrame(
            {
                "stage": [NO_HISTORY_STAGE],
                "order": [0.0],
                "reached": [len(closed)],
                "won": [won],
                "win_rate": [won / len(closed) if len(closed) else np.nan],
            }
        )
    h = history if "stage_since" in history.columns else prepare_history(history)
    h = h[(h["changed_at"] < t) & h["opportunity_id"].isin(closed.index)].copy()
    # every change is a snapshot: a deal counts once in each stage it reached (rule "deal")
    h["won"] = h["opportunity_id"].map(closed["status"] == "won").astype(float)
    rates = stage_win_rates(h, rule="deal", prior=0.0, by=("stage",))
    order = stage_positions(h)
    out = pd.DataFrame(
        {
            "stage": rates["stage"].astype(str),
            "order": rates["stage"].astype(str).map(order.rename(index=str)).to_numpy(float),
            "reached": rates["closed"].astype(int),
            "won": rates["won"].astype(int),
            "win_rate": rates["win_rate"],
        }
    )
    # the final stages of closed deals (e.g. closed_won) are outcomes, not steps of the funnel
    terminal = set(opps.loc[opps["status"] != "open", "stage"].astype(str)) - set(
        opps.loc[opps["status"] == "open", "stage"].astype(str)
    )
    out = out[~out["stage"].astype(str).isin(terminal)]
    return out.sort_values(["order", "stage"]).reset_index(drop=True)


def creation_trend(opportunities: pd.DataFrame, *, as_of, months: int = 24) -> pd.DataFrame:
    """Pipeline creation by month and type: deals created and their ARR amount, over the
    ``months`` complete months before ``as_of``. Columns: month, type, deals, amount."""
    opps = check_opportunities(opportunities)
    end = month_start(pd.Timestamp(as_of))
    start = end - pd.DateOffset(months=months)
    c = opps[(opps["created_date"] >= start) & (opps["created_date"] < end)]
    grid = pd.MultiIndex.from_product(
        [pd.date_range(start, end - pd.DateOffset(days=1), freq="MS"), list(TYPES)],
        names=["month", "type"],
    )
    out = (
        c.assign(month=month_starts(c["created_date"]))
        .groupby(["month", "type"])
        .agg(deals=("opportunity_id", "size"), amount=("amount", "sum"))
        .reindex(grid, fill_value=0)
        .reset_index()
    )
    out["month"] = out["month"].astype("datetime64[ns]")
    out["deals"] = out["deals"].astype(int)
    out["amount"] = out["amount"].astype(float)
    return out


def creation_growth(trend: pd.DataFrame, *, months: int = 12) -> pd.DataFrame:
    """Trend in pipeline creation: the monthly growth rate of deals created, from a log-linear
    fit over the last ``months`` months of :func:`creation_trend`. Ratio per month (0.02 =
    +2 %/month), by type and in total. Columns: type, deals_per_month, growth_per_month."""
    rows = []
    total = trend.groupby("month", as_index=False)[["deals", "amount"]].sum().assign(type="total")
    for ty, g in pd.concat([trend, total]).groupby("type", sort=False):
        g = g.sort_values("month").tail(months)
        y = g["deals"].to_numpy(dtype=float)
        x = np.arange(len(y), dtype=float)
        ok = y > 0
        slope = np.polyfit(x[ok], np.log(y[ok]), 1)[0] if ok.sum() >= 3 else np.nan
        rows.append(
            {
                "type": ty,
                "deals_per_month": float(y.mean()) if len(y) else np.nan,
                "growth_per_month": float(np.expm1(slope)),
            }
        )
    return pd.DataFrame(rows)


def default_period_target(opportunities: pd.DataFrame, *, start, period: str) -> dict[str, Any]:
    """A stand-in bookings target when none is given: won ARR in the same period a year earlier
    x (1 + growth of won ARR over the trailing twelve months against the twelve before); with
    less than a year of bookings, the previous period's won ARR. Reporting currency of ARR.
    Returns target, basis (a sentence saying which), last_year and growth."""
    opps = check_opportunities(opportunities)
    start = period_start(start, period)
    won = opps[opps["status"] == "won"]
    ly_start = start - pd.DateOffset(years=1)
    ly = float(
        won.loc[
            (won["close_date"] >= ly_start) & (won["close_date"] < next_period(ly_start, period)),
            "amount",
        ].sum()
    )
    ttm = float(
        won.loc[
            (won["close_date"] >= start - pd.DateOffset(years=1)) & (won["close_date"] < start),
            "amount",
        ].sum()
    )
    prev = float(
        won.loc[
            (won["close_date"] >= start - pd.DateOffset(years=2))
            & (won["close_date"] < start - pd.DateOffset(years=1)),
            "amount",
        ].sum()
    )
    growth = ttm / prev - 1 if prev > 0 else 0.0
    if ly > 0:
        basis = f"the same period a year earlier ({ly:,.0f}) x (1 + trailing-twelve-month bookings growth, {growth:+.1%})"
        return {"target": ly * (1 + growth), "basis": basis, "last_year": ly, "growth": growth}
    prev_start = start - pd.DateOffset(months=1 if period == "month" else 3)
    last = float(
        won.loc[(won["close_date"] >= prev_start) & (won["close_date"] < start), "amount"].sum()
    )
    return {
        "target": last,
        "basis": f"the previous period's bookings ({last:,.0f}): less than a year of history",
        "last_year": ly,
        "growth": growth,
    }
