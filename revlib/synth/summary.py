"""Headline figures of a generated company, computed directly from its tables.

These are deliberately plain (a reference for the metrics module, not a replacement): the MRR
snapshot, movements, retention and churn follow ``shared/spec/metrics.md`` word for word.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from revlib.data import fx_factor
from revlib.periods import month_start


def mrr_matrix(
    subs: pd.DataFrame, months: pd.DatetimeIndex, fx: pd.DataFrame | None = None
) -> pd.DataFrame:
    """MRR (reporting currency) per account x month at the month's last day.

    ``MRR_a(m) = sum of mrr over subscriptions of a with start_date <= d < end_date``.
    """
    usd = subs["mrr"].to_numpy(float) * fx_factor(subs, fx)
    accounts, code = np.unique(subs["account_id"].to_numpy(str), return_inverse=True)
    start = subs["start_date"].to_numpy("datetime64[D]")
    end = subs["end_date"].to_numpy("datetime64[D]")
    last_day = (months + pd.offsets.MonthEnd(0)).to_numpy("datetime64[D]")
    out = np.zeros((len(accounts), len(months)))
    for j, d in enumerate(last_day):
        on = (start <= d) & (np.isnat(end) | (end > d))
        np.add.at(out[:, j], code[on], usd[on])
    return pd.DataFrame(out, index=pd.Index(accounts, name="account_id"), columns=months)


def movements(mrr: pd.DataFrame) -> pd.DataFrame:
    """Monthly MRR movements (new, reactivation, expansion, contraction, churn) and counts."""
    a = mrr.to_numpy()
    prev = np.concatenate([np.zeros((a.shape[0], 1)), a[:, :-1]], axis=1)
    ever_before = np.concatenate(
        [np.zeros((a.shape[0], 1), bool), np.maximum.accumulate(a > 0, axis=1)[:, :-1]], axis=1
    )
    new = (prev == 0) & ~ever_before & (a > 0)
    react = (prev == 0) & ever_before & (a > 0)
    exp = (prev > 0) & (a > prev)
    con = (a > 0) & (a < prev)
    churn = (prev > 0) & (a == 0)
    out = pd.DataFrame(
        {
            "opening": prev.sum(0),
            "new": (a * new).sum(0),
            "reactivation": (a * react).sum(0),
            "expansion": ((a - prev) * exp).sum(0),
            "contraction": ((prev - a) * con).sum(0),
            "churn": (prev * churn).sum(0),
            "closing": a.sum(0),
            "accounts": (a > 0).sum(0),
            "new_accounts": new.sum(0),
            "reactivated_accounts": react.sum(0),
            "churned_accounts": churn.sum(0),
            "opening_accounts": (prev > 0).sum(0),
        },
        index=mrr.columns,
    )
    return out


def retention(mrr: pd.DataFrame, j: int) -> tuple[float, float]:
    """(NRR, GRR) of month index ``j`` over the trailing twelve months."""
    a = mrr.to_numpy()
    base = a[:, j - 12]
    s = base > 0
    return float(a[s, j].sum() / base[s].sum()), float(
        np.minimum(a[s, j], base[s]).sum() / base[s].sum()
    )


def headline(tables: dict[str, pd.DataFrame], end: str) -> dict[str, Any]:
    """ARR, growth, NRR, GRR, logo churn, win rate, cycle length, tier mix and unit economics at
    the last month of the window (``end`` is the first day after the window)."""
    subs = tables["subscriptions"].copy()
    for c in ("start_date", "end_date"):
        subs[c] = pd.to_datetime(subs[c])
    first = month_start(subs["start_date"].min())
    months = pd.date_range(first, pd.Timestamp(end) - pd.offsets.MonthBegin(1), freq="MS")
    mrr = mrr_matrix(subs, months, tables.get("fx_rates"))
    mv = movements(mrr)
    j = len(months) - 1
    arr = 12 * mv["closing"].iloc[j]
    nrr, grr = retention(mrr, j)
    last12 = slice(j - 11, j + 1)
    logo = (mv["churned_accounts"] / mv["opening_accounts"].replace(0, np.nan)).iloc[last12]
    opps = tables["opportunities"].copy()
    opps["close_date"] = pd.to_datetime(opps["close_date"])
    opps["created_date"] = pd.to_datetime(opps["created_date"])
    year_start = months[j - 11]
    nb = opps[
        (opps["type"] == "new_business")
        & (opps["status"] != "open")
        & (opps["close_date"] >= year_start)
    ]
    won = nb[nb["status"] == "won"]
    cycle = (won["close_date"] - won["created_date"]).dt.days
    active = mrr.iloc[:, j] > 0
    last_rows = (
        subs[subs["end_date"].isna()]
        .drop_duplicates("account_id", keep="last")
        .set_index("account_id")
    )
    tier_mix = last_rows.loc[
        last_rows.index.intersection(mrr.index[active]), "product"
    ].value_counts(normalize=True)
    fin = tables["financials"].copy()
    fin["month"] = pd.to_datetime(fin["month"])
    f12 = fin[fin["month"] >= year_start]
    spend = tables["spend"].copy()
    spend["month"] = pd.to_datetime(spend["month"])
    sm12 = spend.loc[spend["month"] >= year_start, "amount"].sum()
    new12 = mv["new_accounts"].iloc[last12].sum()
    gm = 1 - f12["cogs"].sum() / f12["revenue"].sum()
    arpa = mv["closing"].iloc[j] / mv["accounts"].iloc[j]
    arpa_new = mv["new"].iloc[last12].sum() / max(new12, 1)
    cac = sm12 / max(new12, 1)
    growth = mv["closing"].iloc[j] / mv["closing"].iloc[j - 12] - 1
    op_margin = f12["operating_income"].sum() / f12["revenue"].sum()
    return {
        "as_of_month": months[j].strftime("%Y-%m"),
        "arr_usd": round(float(arr), 0),
        "arr_growth_yoy": round(float(growth), 4),
        "nrr_ttm": round(nrr, 4),
        "grr_ttm": round(grr, 4),
        "logo_churn_monthly_mean_ttm": round(float(logo.mean()), 4),
        "paying_accounts": int(mv["accounts"].iloc[j]),
        "arpa_usd": round(float(arpa), 2),
        "new_business_win_rate_ttm": round(float(len(won) / max(len(nb), 1)), 4),
        "new_business_cycle_days_median_ttm": float(cycle.median()) if len(cycle) else None,
        "new_business_cycle_days_mean_ttm": round(float(cycle.mean()), 1) if len(cycle) else None,
        "tier_mix_active": {k: round(float(v), 4) for k, v in tier_mix.sort_index().items()},
        "gross_margin_ttm": round(float(gm), 4),
        "cac_usd_ttm": round(float(cac), 0),
        "cac_payback_months_ttm": round(float(cac / (arpa_new * gm)), 1),
        "operating_margin_ttm": round(float(op_margin), 4),
        "rule_of_40": round(float(100 * growth + 100 * op_margin), 1),
        "quick_ratio_ttm": round(
            float(
                (mv["new"] + mv["reactivation"] + mv["expansion"]).iloc[last12].sum()
                / (mv["contraction"] + mv["churn"]).iloc[last12].sum()
            ),
            2,
        ),
    }
