"""Revenue and logo retention: NRR, GRR, logo churn, cohort tables, renewal rate."""

from __future__ import annotations

import numpy as np
import pandas as pd

from revlib.metrics.mrr import MICROS, MrrPanel, first_active_column, mrr_panel


def _retention_sums(panel: MrrPanel, lag: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per month m: base = sum over S of MRR(m-lag), kept = sum over S of MRR(m), capped =
    sum over S of min(MRR(m), MRR(m-lag)), S = accounts with MRR(m-lag) > 0 (int micros)."""
    if not isinstance(lag, (int, np.integer)) or lag < 1:
        raise ValueError(f"lag must be a whole number of months >= 1, got {lag!r}")
    cur = panel.micros
    n = cur.shape[1]
    base = np.zeros(n, dtype=np.int64)
    kept = np.zeros(n, dtype=np.int64)
    capped = np.zeros(n, dtype=np.int64)
    if n > lag:
        then = cur[:, : n - lag]
        now = cur[:, lag:]
        in_s = then > 0
        base[lag:] = then.sum(axis=0)
        kept[lag:] = now.sum(axis=0, where=in_s)
        capped[lag:] = np.minimum(now, then).sum(axis=0, where=in_s)
    return base, kept, capped


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    out = np.full(len(den), np.nan)
    ok = den > 0
    out[ok] = num[ok] / den[ok]
    return out


def net_revenue_retention(
    subscriptions: pd.DataFrame | MrrPanel,
    *,
    lag: int = 12,
    fx_rates: pd.DataFrame | None = None,
    as_of: str | pd.Timestamp | None = None,
) -> pd.Series:
    """Net revenue retention: of the accounts paying twelve months ago (one month ago for the
    monthly variant), their MRR now / their MRR then; expansion counts, new accounts do not.
    Ratio, 1.0 = 100 %.

    ``lag=12`` is the trailing-twelve-month, cohort-based NRR of the spec; ``lag=1`` is the
    monthly variant. NaN where no account had MRR `lag` months earlier.
    """
    panel = mrr_panel(subscriptions, fx_rates=fx_rates, as_of=as_of)
    base, kept, _ = _retention_sums(panel, lag)
    return pd.Series(_ratio(kept, base), index=panel.months, name="nrr").rename_axis("month")


def gross_revenue_retention(
    subscriptions: pd.DataFrame | MrrPanel,
    *,
    lag: int = 12,
    fx_rates: pd.DataFrame | None = None,
    as_of: str | pd.Timestamp | None = None,
) -> pd.Series:
    """Gross revenue retention: of the MRR accounts paid twelve months ago (one month ago for
    the monthly variant), the share still paid now, each account capped at its MRR then
    (expansion ignored). Ratio between 0 and 1.

    ``lag=12`` is the trailing-twelve-month, cohort-based GRR of the spec; ``lag=1`` is the
    monthly variant. NaN where no account had MRR `lag` months earlier.
    """
    panel = mrr_panel(subscriptions, fx_rates=fx_rates, as_of=as_of)
    base, _, capped = _retention_sums(panel, lag)
    return pd.Series(_ratio(capped, base), index=panel.months, name="grr").rename_axis("month")


def logo_churn_rate(
    subscriptions: pd.DataFrame | MrrPanel,
    *,
    fx_rates: pd.DataFrame | None = None,
    as_of: str | pd.Timestamp | None = None,
) -> pd.Series:
    """Monthly logo churn rate: accounts whose MRR fell to 0 this month / accounts with MRR > 0
    last month. Ratio per month (0.02 = 2 % of customers lost in the month)."""
    panel = mrr_panel(subscriptions, fx_rates=fx_rates, as_of=as_of)
    cur = panel.micros
    prev_active = np.zeros(cur.shape[1], dtype=np.int64)
    churned = np.zeros(cur.shape[1], dtype=np.int64)
    prev_active[1:] = (cur[:, :-1] > 0).sum(axis=0)
    churned[1:] = ((cur[:, :-1] > 0) & (cur[:, 1:] == 0)).sum(axis=0)
    rate = _ratio(churned, prev_active)
    return pd.Series(rate, index=panel.months, name="logo_churn_rate").rename_axis("month")


def retention_table(
    subscriptions: pd.DataFrame | MrrPanel,
    *,
    fx_rates: pd.DataFrame | None = None,
    as_of: str | pd.Timestamp | None = None,
    monthly: bool = False,
) -> pd.DataFrame:
    """Retention per month: month, nrr and grr (trailing twelve months, cohort based; NaN where
    twelve months of history are missing) and logo_churn_rate (monthly). With
    ``monthly=True`` also nrr_monthly and grr_monthly (one-month lag). Ratios."""
    panel = mrr_panel(subscriptions, fx_rates=fx_rates, as_of=as_of)
    out = pd.DataFrame(
        {
            "month": panel.months.to_numpy(),
            "nrr": net_revenue_retention(panel).to_numpy(),
            "grr": gross_revenue_retention(panel).to_numpy(),
            "logo_churn_rate": logo_churn_rate(panel).to_numpy(),
        }
    )
    if monthly:
        out["nrr_monthly"] = net_revenue_retention(panel, lag=1).to_numpy()
        out["grr_monthly"] = gross_revenue_retention(panel, lag=1).to_numpy()
    return out


def _cohort_matrices(
    panel: MrrPanel,
) -> tuple[pd.DatetimeIndex, np.ndarray, np.ndarray, np.ndarray]:
    """Cohort months, and per cohort x age: MRR sum (micros), active-account count, and a mask
    of observable cells (cohort month + age <= last month). Cached on the panel."""
    if "cohorts" in panel.cache:
        return panel.cache["cohorts"]
    n_months = len(panel.months)
    first = first_active_column(panel)
    order = np.argsort(first, kind="stable")
    order = order[first[order] < n_months]  # accounts that ever had MRR > 0, by cohort
    cohorts, starts = np.unique(first[order], return_index=True)
    rows = panel.micros[order]
    # per cohort, sums over its accounts by calendar month; age k is calendar month c + k
    by_month = np.add.reduceat(rows, starts, axis=0) if len(starts) else rows[:0]
    count_by_month = (
        np.add.reduceat((rows > 0).astype(np.int32), starts, axis=0) if len(starts) else rows[:0]
    )
    mrr = np.zeros((len(cohorts), n_months), dtype=np.int64)
    logos = np.zeros((len(cohorts), n_months), dtype=np.int64)
    for i, c in enumerate(cohorts):
        mrr[i, : n_months - c] = by_month[i, c:]
        logos[i, : n_months - c] = count_by_month[i, c:]
    observable = cohorts[:, None] + np.arange(n_months)[None, :] < n_months
    result = (panel.months[cohorts], mrr, logos, observable)
    panel.cache["cohorts"] = result
    return result


def _cohort_frame(months: pd.DatetimeIndex, values: np.ndarray) -> pd.DataFrame:
    frame = pd.DataFrame(values, index=pd.Index(months, name="cohort"))
    frame.columns = pd.Index(range(values.shape[1]), name="age")
    return frame


def cohort_revenue_retention(
    subscriptions: pd.DataFrame | MrrPanel,
    *,
    fx_rates: pd.DataFrame | None = None,
    as_of: str | pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Cohort revenue retention: a cohort's MRR at age k months / its MRR at age 0, where an
    account's cohort is its first month with MRR > 0. Ratio (1.0 = 100 %), cohort month x
    age in months; blank where the cohort is not that old yet."""
    panel = mrr_panel(subscriptions, fx_rates=fx_rates, as_of=as_of)
    months, mrr, _, observable = _cohort_matrices(panel)
    values = np.where(observable, mrr / mrr[:, :1], np.nan)
    return _cohort_frame(months, values)


def cohort_logo_retention(
    subscriptions: pd.DataFrame | MrrPanel,
    *,
    fx_rates: pd.DataFrame | None = None,
    as_of: str | pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Cohort logo retention: accounts of a cohort with MRR > 0 at age k months / accounts in
    the cohort. Ratio (1.0 = 100 %), cohort month x age in months; blank where the cohort
    is not that old yet."""
    panel = mrr_panel(subscriptions, fx_rates=fx_rates, as_of=as_of)
    months, _, logos, observable = _cohort_matrices(panel)
    values = np.where(observable, logos / logos[:, :1], np.nan)
    return _cohort_frame(months, values)


def cohort_sizes(
    subscriptions: pd.DataFrame | MrrPanel,
    *,
    fx_rates: pd.DataFrame | None = None,
    as_of: str | pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Size of each cohort at age 0: cohort (month), accounts (count) and mrr (reporting
    currency per month)."""
    panel = mrr_panel(subscriptions, fx_rates=fx_rates, as_of=as_of)
    months, mrr, logos, _ = _cohort_matrices(panel)
    return pd.DataFrame(
        {"cohort": months.to_numpy(), "accounts": logos[:, 0], "mrr": mrr[:, 0] / MICROS}
    )


def cohort_csv(table: pd.DataFrame) -> pd.DataFrame:
    """A cohort matrix as a flat CSV-ready frame: column ``cohort`` (YYYY-MM) then one column
    per age in months (``0``, ``1``, ...)."""
    out = table.copy()
    out.columns = [str(c) for c in out.columns]
    out.insert(0, "cohort", pd.DatetimeIndex(table.index).strftime("%Y-%m"))
    return out.reset_index(drop=True)


def renewal_rate(
    opportunities: pd.DataFrame,
    *,
    start: str | pd.Timestamp,
    end: str | pd.Timestamp,
) -> float:
    """Renewal rate (bookings view): won renewal ARR / ARR of all renewal opportunities due
    (close_date) in the window [start, end], whatever their status. Ratio; undefined if none was due.

    Open renewals whose close date fell in the window count as not (yet) renewed.
    """
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    if end < start:
        raise ValueError(
            f"end must be on or after start, got start={start:%Y-%m-%d}, end={end:%Y-%m-%d}"
        )
    opp = opportunities
    due = (opp["type"] == "renewal") & opp["close_date"].between(start, end)
    total = float(opp.loc[due, "amount"].sum())
    won = float(opp.loc[due & (opp["status"] == "won"), "amount"].sum())
    return won / total if total > 0 else float("nan")
