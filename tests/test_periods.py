"""Calendar periods: month starts and ends, month numbers, quarters."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from revlib import periods

D = pd.Timestamp


def test_month_start_end_and_number() -> None:
    assert periods.month_start("2024-02-29 13:45") == D("2024-02-01")
    assert periods.month_start("2024-02") == D("2024-02-01")
    assert periods.month_end("2024-02-10") == D("2024-02-29")
    assert periods.month_number(D("2024-03-15")) == 2024 * 12 + 2
    with pytest.raises(ValueError, match="expected a date"):
        periods.month_start(pd.NaT)


def test_month_numbers_round_trip_vectorised() -> None:
    dates = pd.Series(pd.to_datetime(["1999-12-31", "2000-01-01", "2024-07-19", "2025-12-01"]))
    numbers = periods.month_number(dates)
    assert numbers.tolist() == [1999 * 12 + 11, 2000 * 12, 2024 * 12 + 6, 2025 * 12 + 11]
    back = periods.month_from_number(numbers)
    assert list(back) == [D("1999-12-01"), D("2000-01-01"), D("2024-07-01"), D("2025-12-01")]
    assert periods.month_from_number(np.int64(numbers[2])) == D("2024-07-01")
    np.testing.assert_array_equal(periods.month_number(pd.DatetimeIndex(dates)), numbers)


def test_month_starts_keeps_shape_and_nulls() -> None:
    s = pd.Series(pd.to_datetime(["2024-01-31", None, "2024-03-02"]), index=[5, 6, 7])
    out = periods.month_starts(s)
    assert list(out.index) == [5, 6, 7] and out.dtype == "datetime64[ns]"
    assert out.iloc[0] == D("2024-01-01") and pd.isna(out.iloc[1])
    idx = periods.month_starts(pd.DatetimeIndex(["2024-05-09"], name="month"))
    assert isinstance(idx, pd.DatetimeIndex) and idx.name == "month" and idx[0] == D("2024-05-01")


def test_quarters_and_windows() -> None:
    assert periods.period_start("2024-08-17", "quarter") == D("2024-07-01")
    assert periods.period_start("2024-08-17", "month") == D("2024-08-01")
    assert periods.next_period(D("2024-10-01"), "quarter") == D("2025-01-01")
    assert periods.period_label(D("2024-10-01"), "quarter") == "2024-Q4"
    assert periods.period_label(D("2024-10-01"), "month") == "2024-10"
    assert periods.period_starts("2024-02-10", "2024-07-01", "quarter") == [
        D("2024-01-01"),
        D("2024-04-01"),
        D("2024-07-01"),
    ]
    assert periods.month_window("2024-03-15", 12) == (D("2023-04-01"), D("2024-03-31"))
    with pytest.raises(ValueError, match="period must be"):
        periods.period_start("2024-01-01", "week")


def test_periods_golden() -> None:
    assert periods.period_start("2024-05-17", "quarter") == pd.Timestamp("2024-04-01")
    assert periods.period_start("2024-05-17", "month") == pd.Timestamp("2024-05-01")
    assert periods.next_period(pd.Timestamp("2024-10-01"), "quarter") == pd.Timestamp("2025-01-01")
    assert periods.period_label(pd.Timestamp("2024-10-01"), "quarter") == "2024-Q4"
    assert periods.period_label(pd.Timestamp("2024-10-01"), "month") == "2024-10"
    starts = periods.period_starts("2024-02-10", "2024-07-01", "quarter")
    assert starts == [
        pd.Timestamp("2024-01-01"),
        pd.Timestamp("2024-04-01"),
        pd.Timestamp("2024-07-01"),
    ]
    with pytest.raises(ValueError, match="period must be 'month' or 'quarter', got 'week'"):
        periods.period_start("2024-01-01", "week")


def test_period_ends_vectorised_keeps_index_and_nulls() -> None:
    s = pd.Series(pd.to_datetime(["2024-02-10", None, "2024-03-31"]), index=[3, 4, 5])
    q = periods.period_ends(s, "quarter")
    assert list(q.index) == [3, 4, 5]
    assert q[3] == D("2024-03-31") and pd.isna(q[4]) and q[5] == D("2024-03-31")
    m = periods.period_ends(pd.DatetimeIndex(["2024-02-10", "2023-12-31"]), "month")
    assert isinstance(m, pd.DatetimeIndex) and list(m) == [D("2024-02-29"), D("2023-12-31")]
    with pytest.raises(ValueError, match="period must be 'month' or 'quarter', got 'year'"):
        periods.period_ends(s, "year")
