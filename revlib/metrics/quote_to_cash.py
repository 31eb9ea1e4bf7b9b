"""Quote-to-cash: collection rate, DSO, ASC 606 ratable revenue recognition, deferred revenue.

Invoices are converted to the reporting currency with ``fx_rates`` when they carry a currency.
A payment counts only once its ``paid_date`` is on or before the date the figure is taken.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from revlib.data import fx_factor, require_columns, to_reporting_currency
from revlib.metrics.mrr import check_subscriptions, data_end_month
from revlib.periods import month_from_number, month_number, month_start, month_starts


def _invoices(invoices: pd.DataFrame, fx_rates: pd.DataFrame | None) -> pd.DataFrame:
    need = ["invoice_id", "issued_date", "due_date", "amount", "paid_date", "paid_amount"]
    require_columns(invoices, "invoices", need)
    return to_reporting_currency(invoices, fx_rates, ["amount", "paid_amount"])


def _paid_by(inv: pd.DataFrame, date: pd.Timestamp) -> pd.Series:
    paid = inv["paid_date"].notna() & (inv["paid_date"] <= date)
    return inv["paid_amount"].fillna(0.0).where(paid, 0.0)


def collection_rate(
    invoices: pd.DataFrame,
    *,
    start: str | pd.Timestamp,
    end: str | pd.Timestamp,
    fx_rates: pd.DataFrame | None = None,
) -> float:
    """Collection rate: amount paid (by the window's end) on invoices due in the window / amount
    due in the window. Ratio (0.97 = 97 % of billed cash collected)."""
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    inv = _invoices(invoices, fx_rates)
    due = inv["due_date"].between(start, end)
    total = float(inv.loc[due, "amount"].sum())
    return float(_paid_by(inv, end)[due].sum()) / total if total > 0 else float("nan")


def receivables(
    invoices: pd.DataFrame, *, at: str | pd.Timestamp, fx_rates: pd.DataFrame | None = None
) -> float:
    """Accounts receivable at a date: amount of invoices issued on or before it less what was
    paid on them by then. Reporting currency."""
    at = pd.Timestamp(at)
    inv = _invoices(invoices, fx_rates)
    issued = inv["issued_date"] <= at
    return float((inv["amount"] - _paid_by(inv, at)).clip(lower=0)[issued].sum())


def dso(
    invoices: pd.DataFrame,
    *,
    start: str | pd.Timestamp,
    end: str | pd.Timestamp,
    fx_rates: pd.DataFrame | None = None,
) -> float:
    """Days sales outstanding: receivables outstanding at the window's end / amount invoiced in
    the window x days in the window. Days."""
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    if end < start:
        raise ValueError(
            f"end must be on or after start, got start={start:%Y-%m-%d}, end={end:%Y-%m-%d}"
        )
    inv = _invoices(invoices, fx_rates)
    billed = float(inv.loc[inv["issued_date"].between(start, end), "amount"].sum())
    days = (end - start).days + 1
    ar = receivables(inv, at=end)
    return ar / billed * days if billed > 0 else float("nan")


def _service_period(
    inv: pd.DataFrame, start_col: str | None, end_col: str | None
) -> tuple[pd.Series, pd.Series]:
    if start_col and end_col and start_col in inv.columns and end_col in inv.columns:
        return pd.to_datetime(inv[start_col]), pd.to_datetime(inv[end_col])
    return inv["issued_date"], inv["issued_date"] + pd.DateOffset(months=1)


def revenue_schedule(
    invoices: pd.DataFrame,
    *,
    service_start: str = "service_start",
    service_end: str = "service_end",
    fx_rates: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """ASC 606 ratable recognition: each invoice's amount is recognised evenly per day over its
    service period [service_start, service_end) (end exclusive). Long frame: invoice_id,
    month, recognized (reporting currency recognised in that month).

    Invoices without service-period columns are taken to cover one month from issued_date
    (monthly billing in advance).
    """
    inv = _invoices(invoices, fx_rates).reset_index(drop=True)
    s, e = _service_period(inv, service_start, service_end)
    total_days = (e - s).dt.days.to_numpy()
    if (total_days <= 0).any():
        raise ValueError(
            f"every service period must end after it starts ({service_end} > {service_start})"
        )
    first = month_number(s)
    last = month_number(e - pd.Timedelta(days=1))
    count = last - first + 1
    rep = np.repeat(np.arange(len(inv)), count)
    number = first[rep] + (np.arange(len(rep)) - np.repeat(np.cumsum(count) - count, count))
    month = month_from_number(number).to_numpy()
    following = month_from_number(number + 1).to_numpy()
    lo = np.maximum(month, s.to_numpy("datetime64[ns]")[rep])
    hi = np.minimum(following, e.to_numpy("datetime64[ns]")[rep])
    days = (hi - lo) / np.timedelta64(1, "D")
    recognized = inv["amount"].to_numpy(dtype=float)[rep] * days / total_days[rep]
    return pd.DataFrame(
        {"invoice_id": inv["invoice_id"].to_numpy()[rep], "month": month, "recognized": recognized}
    )


def recognized_revenue(schedule: pd.DataFrame) -> pd.Series:
    """Revenue recognised per month (sum of a :func:`revenue_schedule`). Reporting currency."""
    return schedule.groupby("month")["recognized"].sum().rename("recognized")


def deferred_revenue(
    invoices: pd.DataFrame,
    *,
    at: str | pd.Timestamp,
    service_start: str = "service_start",
    service_end: str = "service_end",
    fx_rates: pd.DataFrame | None = None,
) -> float:
    """Deferred revenue at the end of a date: amount invoiced on or before it for service days
    after it (recognised ratably by day). Reporting currency (a balance-sheet liability)."""
    after = pd.Timestamp(at) + pd.Timedelta(days=1)
    inv = _invoices(invoices, fx_rates)
    inv = inv.loc[inv["issued_date"] < after]
    s, e = _service_period(inv, service_start, service_end)
    total = (e - s).dt.days
    future = (e - s.clip(lower=after)).dt.days.clip(lower=0)
    return float((inv["amount"] * future / total).sum())


def cash_by_month(
    invoices: pd.DataFrame,
    revenue: pd.Series,
    *,
    fx_rates: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Quote-to-cash by month: invoiced (amount by issued_date), collected (paid_amount by
    paid_date), recognized (the given monthly revenue) and deferred (closing balance of
    :func:`deferred_revenue_rollforward`). Reporting currency; one row per month of the
    revenue series."""
    inv = _invoices(invoices, fx_rates)
    paid = inv.loc[inv["paid_date"].notna()]
    collected = paid.groupby(month_starts(paid["paid_date"]))["paid_amount"].sum()
    roll = deferred_revenue_rollforward(inv, revenue).set_index("month")
    months = month_starts(revenue.index)
    frame = pd.DataFrame(
        {
            "invoiced": roll["invoiced"].reindex(months, fill_value=0.0).to_numpy(),
            "collected": collected.reindex(months, fill_value=0.0).to_numpy(),
            "recognized": roll["recognized"].reindex(months, fill_value=0.0).to_numpy(),
            "deferred": roll["closing"].reindex(months).to_numpy(),
        },
        index=pd.DatetimeIndex(months, name="month"),
    )
    return frame.reset_index()


def subscription_revenue(
    subscriptions: pd.DataFrame,
    *,
    fx_rates: pd.DataFrame | None = None,
    as_of: str | pd.Timestamp | None = None,
) -> pd.Series:
    """Subscription revenue recognised per month (ASC 606, ratable by day): each subscription
    earns its MRR x (days active in the month / days in the month). Reporting currency per
    month.

    Active days are [start_date, end_date). Indexed by month (first day), from the first month
    of data to the as-of month (default: the month of the latest start).
    """

    check_subscriptions(subscriptions)
    subs = subscriptions
    start = pd.to_datetime(subs["start_date"])
    first = int(month_number(month_start(start.min())))
    last = int(month_number(month_start(as_of) if as_of is not None else data_end_month(subs)))
    n = last - first + 1
    if n < 1:
        raise ValueError(f"as_of must not be before the first month of data {start.min():%Y-%m}")
    horizon = month_from_number(last + 1)  # recognition stops at the end of the as-of month
    end = pd.to_datetime(subs["end_date"]).fillna(horizon).clip(upper=horizon)
    amount = subs["mrr"].fillna(0).to_numpy(dtype=float) * fx_factor(subs, fx_rates)
    keep = (end > start).to_numpy() & (start < horizon).to_numpy()
    start, end, amount = start[keep], end[keep], amount[keep]
    months = pd.date_range(month_from_number(first), periods=n + 1, freq="MS").astype(
        "datetime64[ns]"
    )
    days_in = np.diff(months.to_numpy()).astype("timedelta64[D]").astype(float)
    fm = month_number(start) - first
    lm = month_number(end - pd.Timedelta(days=1)) - first
    s_day = (start - months[fm]).dt.days.to_numpy(dtype=float) if len(start) else np.zeros(0)
    e_day = (end - months[lm]).dt.days.to_numpy(dtype=float) if len(end) else np.zeros(0)
    same = fm == lm
    out = np.zeros(n + 1)
    # a subscription inside one month: its active days; else partial first and last months...
    out += np.bincount(
        fm[same],
        weights=amount[same] * (e_day[same] - s_day[same]) / days_in[fm[same]],
        minlength=n + 1,
    )
    d = ~same
    out += np.bincount(
        fm[d], weights=amount[d] * (days_in[fm[d]] - s_day[d]) / days_in[fm[d]], minlength=n + 1
    )
    out += np.bincount(lm[d], weights=amount[d] * e_day[d] / days_in[lm[d]], minlength=n + 1)
    # ...and full MRR in every month strictly between (difference array)
    full = np.bincount(fm[d] + 1, weights=amount[d], minlength=n + 2) - np.bincount(
        lm[d], weights=amount[d], minlength=n + 2
    )
    out += np.cumsum(full)[: n + 1]
    return pd.Series(
        out[:n], index=pd.DatetimeIndex(months[:n], name="month"), name="subscription_revenue"
    )


def deferred_revenue_rollforward(
    invoices: pd.DataFrame, revenue: pd.Series, *, fx_rates: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Deferred revenue: amount invoiced but not yet recognised as revenue, rolled forward
    monthly (closing = opening + invoiced - recognised). Reporting currency.

    Assumes no deferred balance before the first month of invoices, so invoices must start with
    the revenue history. Columns: month, opening, invoiced, recognized, closing.
    """
    inv = _invoices(invoices, fx_rates)
    billed = inv.groupby(month_starts(inv["issued_date"]))["amount"].sum()
    revenue = revenue.copy()
    revenue.index = month_starts(revenue.index)
    months = billed.index.union(revenue.index)
    frame = pd.DataFrame(
        {
            "invoiced": billed.reindex(months, fill_value=0.0),
            "recognized": revenue.reindex(months, fill_value=0.0),
        }
    )
    frame["closing"] = (frame["invoiced"] - frame["recognized"]).cumsum()
    frame["opening"] = frame["closing"].shift(1, fill_value=0.0)
    frame.index = pd.DatetimeIndex(frame.index).astype("datetime64[ns]")
    return frame.rename_axis("month").reset_index()[
        ["month", "opening", "invoiced", "recognized", "closing"]
    ]
