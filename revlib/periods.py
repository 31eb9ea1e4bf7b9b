"""Calendar periods: month starts and ends, month numbers, quarters.

One set of helpers for the whole package. A month is named by its first day (midnight); a
month number counts months since year 0 (``year * 12 + month - 1``), so consecutive months
differ by 1 and month arithmetic is integer arithmetic. Quarters are calendar quarters.
"""

from __future__ import annotations

from datetime import datetime
from typing import overload

import numpy as np
import pandas as pd

PERIODS = ("month", "quarter")


def month_start(value: str | pd.Timestamp) -> pd.Timestamp:
    """First day (midnight) of the month that contains ``value`` (any date or ``YYYY-MM``)."""
    ts = pd.Timestamp(value)
    if ts is pd.NaT:
        raise ValueError(f"expected a date, got {value!r}")
    return ts.normalize().replace(day=1)


def month_end(value: str | pd.Timestamp) -> pd.Timestamp:
    """Last day (midnight) of the month that contains ``value``."""
    return month_start(value) + pd.offsets.MonthEnd(0)


def month_starts(values: pd.Series | pd.Index) -> pd.Series | pd.DatetimeIndex:
    """First day of each value's month, vectorised (``datetime64[ns]``; nulls stay null). A
    Series gives a Series on the same index, anything else a DatetimeIndex."""
    if isinstance(values, pd.Series):
        return pd.to_datetime(values).dt.to_period("M").dt.to_timestamp().astype("datetime64[ns]")
    index = pd.DatetimeIndex(values)
    return index.to_period("M").to_timestamp().astype("datetime64[ns]")


# The scalar overload names ``datetime`` (of which ``pd.Timestamp`` is a subclass): pandas has no
# type information here, so an overload on ``pd.Timestamp`` would match every argument.
@overload
def month_number(value: datetime) -> int: ...
@overload
def month_number(value: pd.Series | pd.DatetimeIndex) -> np.ndarray: ...
def month_number(value):
    """Months since year 0: ``year * 12 + month - 1`` (a Timestamp or datetime gives an int, a
    datetime Series or DatetimeIndex an int64 array)."""
    if isinstance(value, datetime):
        return value.year * 12 + value.month - 1
    if isinstance(value, pd.Series):
        value = value.dt
    return np.asarray(value.year * 12 + value.month - 1, dtype=np.int64)


@overload
def month_from_number(number: int | np.integer) -> pd.Timestamp: ...
@overload
def month_from_number(number: np.ndarray) -> pd.DatetimeIndex: ...
def month_from_number(number):
    """First day of the month with this month number (inverse of :func:`month_number`)."""
    if np.ndim(number) == 0:
        n = int(number)
        return pd.Timestamp(year=n // 12, month=n % 12 + 1, day=1)
    ns = np.asarray(number, dtype=np.int64)
    return pd.DatetimeIndex(
        pd.to_datetime({"year": ns // 12, "month": ns % 12 + 1, "day": np.ones_like(ns)})
    ).astype("datetime64[ns]")


def check_period(period: str) -> str:
    """``period`` itself when it is ``"month"`` or ``"quarter"``; else a ``ValueError``."""
    if period not in PERIODS:
        raise ValueError(f"period must be 'month' or 'quarter', got {period!r}")
    return period


def period_start(value: str | pd.Timestamp, period: str) -> pd.Timestamp:
    """First day of the month or calendar quarter that contains ``value``."""
    ts = month_start(value)
    if check_period(period) == "quarter":
        ts = ts.replace(month=3 * ((ts.month - 1) // 3) + 1)
    return ts


def next_period(start: pd.Timestamp, period: str) -> pd.Timestamp:
    """First day of the period after the one starting on ``start`` (its exclusive end)."""
    return pd.Timestamp(start) + pd.DateOffset(months=1 if check_period(period) == "month" else 3)


def period_ends(values: pd.Series | pd.Index, period: str) -> pd.Series | pd.DatetimeIndex:
    """Last day of the month or calendar quarter that contains each value, vectorised (the time
    of day is kept; nulls stay null). A Series gives a Series on the same index, an Index a
    DatetimeIndex."""
    off = pd.offsets.MonthEnd(0) if check_period(period) == "month" else pd.offsets.QuarterEnd(0)
    ends = pd.DatetimeIndex(values) + off
    return pd.Series(ends, index=values.index) if isinstance(values, pd.Series) else ends


def period_label(start: pd.Timestamp, period: str) -> str:
    """``2024-03`` for a month, ``2024-Q1`` for a quarter."""
    start = pd.Timestamp(start)
    if check_period(period) == "month":
        return f"{start:%Y-%m}"
    return f"{start.year}-Q{(start.month - 1) // 3 + 1}"


def period_starts(first, last, period: str) -> list[pd.Timestamp]:
    """Starts of consecutive periods from the one holding ``first`` to the one holding ``last``."""
    out, cur, end = [], period_start(first, period), period_start(last, period)
    while cur <= end:
        out.append(cur)
        cur = next_period(cur, period)
    return out


def month_window(value: str | pd.Timestamp, months: int = 12) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First and last day of the trailing window of ``months`` months ending with the month of
    ``value``."""
    if months < 1:
        raise ValueError(f"months must be >= 1, got {months}")
    last = month_start(value)
    return last - pd.DateOffset(months=months - 1), month_end(last)
