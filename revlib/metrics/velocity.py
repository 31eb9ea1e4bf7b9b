"""ARR against a target: progress, velocity (actual vs required), on-track flag, milestones."""

from __future__ import annotations

import math
from typing import TypedDict

import pandas as pd

from revlib.periods import month_end, month_start

MILESTONE_LEVELS = (0.90, 0.95, 0.99, 1.00)
DAYS_PER_MONTH = 365 / 12


class ArrProgress(TypedDict):
    """:func:`arr_progress`: progress (ratio) and remaining (reporting currency per year)."""

    progress: float
    remaining: float


class ArrVelocity(ArrProgress):
    """:func:`arr_velocity`: dates as ``YYYY-MM-DD``; ARR and velocities in reporting currency
    (per year; per day, week and month)."""

    as_of: str
    target_date: str
    days_to_target: int
    arr: float
    arr_target: float
    required_daily_velocity: float
    required_weekly_velocity: float
    required_monthly_velocity: float
    actual_daily_velocity: float
    actual_weekly_velocity: float
    actual_monthly_velocity: float
    on_track: bool


def _arr_series(movements: pd.DataFrame) -> pd.Series:
    for col in ("month", "arr"):
        if col not in movements.columns:
            raise ValueError(
                f"movements must have columns month and arr (from mrr_movements); missing {col}"
            )
    return pd.Series(movements["arr"].to_numpy(), index=pd.DatetimeIndex(movements["month"]))


def arr_at(movements: pd.DataFrame, month: str | pd.Timestamp) -> float:
    """ARR: 12 x MRR at the month's last day. Reporting currency per year; 0 before the first
    month of data."""
    arr = _arr_series(movements)
    m = month_start(month)
    if m > arr.index[-1]:
        raise ValueError(f"month {m:%Y-%m} is after the last month of data {arr.index[-1]:%Y-%m}")
    return float(arr.get(m, 0.0))


def yoy_growth(movements: pd.DataFrame, month: str | pd.Timestamp) -> float:
    """Year-over-year ARR growth: ARR(m) / ARR(m-12) - 1. Ratio (0.25 = +25 %); undefined (shown as –)
    when ARR twelve months earlier is 0."""
    now = arr_at(movements, month)
    then = arr_at(movements, month_start(month) - pd.DateOffset(months=12))
    return now / then - 1 if then > 0 else float("nan")


def arr_progress(arr: float, arr_target: float) -> ArrProgress:
    """Progress to target: progress = ARR / target (ratio, 1.0 = reached) and remaining =
    target - ARR (reporting currency per year; negative once exceeded)."""
    if not arr_target > 0:
        raise ValueError(f"arr_target must be > 0, got {arr_target!r}")
    return {"progress": arr / arr_target, "remaining": arr_target - arr}


def required_daily_velocity(
    arr: float, arr_target: float, as_of: str | pd.Timestamp, target_date: str | pd.Timestamp
) -> float:
    """Required daily ARR velocity: (target - ARR) / days from the as-of date to the target
    date. Reporting currency of ARR per day; <= 0 once the target is reached."""
    as_of, target_date = pd.Timestamp(as_of), pd.Timestamp(target_date)
    days = (target_date - as_of).days
    if days <= 0:
        raise ValueError(
            f"target_date must be after the as-of date {as_of:%Y-%m-%d}, got {target_date:%Y-%m-%d}"
        )
    return (arr_target - arr) / days


def actual_daily_velocity(
    movements: pd.DataFrame, month: str | pd.Timestamp, *, months: int = 3
) -> float:
    """Actual daily ARR velocity: (ARR at the end of the as-of month - ARR at the end of the
    month three months earlier) / days between those month-ends. Reporting currency of ARR
    per day."""
    if months < 1:
        raise ValueError(f"months must be >= 1, got {months}")
    end = month_end(month)
    start = month_end(month_start(month) - pd.DateOffset(months=months))
    earlier = arr_at(movements, start)
    return (arr_at(movements, month) - earlier) / (end - start).days


def arr_velocity(
    movements: pd.DataFrame,
    *,
    as_of: str | pd.Timestamp,
    arr_target: float,
    target_date: str | pd.Timestamp,
) -> ArrVelocity:
    """On track: the actual daily ARR velocity is at least the required daily velocity. Weekly
    velocity = 7 x daily, monthly = 365/12 x daily (reporting currency of ARR per period).

    Returns, as of the end of the as-of month: arr, arr_target, progress, remaining,
    days_to_target, actual and required velocity (daily, weekly, monthly) and on_track.
    """
    month = month_start(as_of)
    as_of_date = month_end(month)
    arr = arr_at(movements, month)
    required = required_daily_velocity(arr, arr_target, as_of_date, target_date)
    actual = actual_daily_velocity(movements, month)
    return {
        "as_of": f"{as_of_date:%Y-%m-%d}",
        "target_date": f"{pd.Timestamp(target_date):%Y-%m-%d}",
        "days_to_target": int((pd.Timestamp(target_date) - as_of_date).days),
        "arr": arr,
        "arr_target": float(arr_target),
        **arr_progress(arr, arr_target),
        "required_daily_velocity": required,
        "required_weekly_velocity": 7 * required,
        "required_monthly_velocity": DAYS_PER_MONTH * required,
        "actual_daily_velocity": actual,
        "actual_weekly_velocity": 7 * actual,
        "actual_monthly_velocity": DAYS_PER_MONTH * actual,
        "on_track": bool(actual >= required),
    }


def milestones(
    movements: pd.DataFrame,
    *,
    arr_target: float,
    as_of: str | pd.Timestamp | None = None,
    levels: tuple[float, ...] = MILESTONE_LEVELS,
    velocity: float | None = None,
) -> pd.DataFrame:
    """Milestones at 90 / 95 / 99 / 100 % of the ARR target: the first month whose month-end
    ARR reached each one; for those not reached, the date today's daily velocity would reach it.

    Columns: level (ratio), arr (the ARR needed), reached_month (YYYY-MM, None if never) and
    projected_date (YYYY-MM-DD at the given daily ``velocity``; None if reached or velocity <= 0).
    """
    if not arr_target > 0:
        raise ValueError(f"arr_target must be > 0, got {arr_target!r}")
    arr = _arr_series(movements)
    if as_of is not None:
        arr = arr[arr.index <= month_start(as_of)]
    current, as_of_date = float(arr.iloc[-1]), month_end(arr.index[-1])
    rows = []
    for level in levels:
        needed = level * arr_target
        hit = arr.index[arr.to_numpy() >= needed]
        reached = f"{hit[0]:%Y-%m}" if len(hit) else None
        projected = None
        if reached is None and velocity is not None and velocity > 0:
            days = math.ceil((needed - current) / velocity)
            projected = f"{as_of_date + pd.Timedelta(days=days):%Y-%m-%d}"
        rows.append(
            {"level": level, "arr": needed, "reached_month": reached, "projected_date": projected}
        )
    out = pd.DataFrame(rows)
    for col in ("reached_month", "projected_date"):  # keep None (not NaN) for "not reached"
        out[col] = pd.Series([r[col] for r in rows], dtype=object)
    return out
