"""Bookings composition from won opportunities: new business, expansion, renewal."""

from __future__ import annotations

import pandas as pd

from revlib.data import OPPORTUNITY_TYPES

_FREQ = {"month": "M", "quarter": "Q", "year": "Y"}


def bookings_composition(
    opportunities: pd.DataFrame,
    *,
    period: str = "quarter",
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Bookings by period: ARR of won opportunities by type (new_business, expansion, renewal),
    by close_date, with total and each type's share of the total. Reporting currency of ARR;
    shares are ratios summing to 1.

    Columns: period (first day), new_business, expansion, renewal, total,
    new_business_share, expansion_share, renewal_share. Every period between the first and
    last close date (or `start`/`end`) appears, zero-filled.
    """
    if period not in _FREQ:
        raise ValueError(f"period must be one of {sorted(_FREQ)}, got {period!r}")
    missing = [
        c for c in ("type", "status", "amount", "close_date") if c not in opportunities.columns
    ]
    if missing:
        raise ValueError(
            f"opportunities must have columns type, status, amount, close_date; missing {missing}"
        )
    won = opportunities.loc[opportunities["status"] == "won"]
    close = pd.to_datetime(won["close_date"])
    if start is not None:
        won, close = won.loc[close >= pd.Timestamp(start)], close[close >= pd.Timestamp(start)]
    if end is not None:
        won, close = won.loc[close <= pd.Timestamp(end)], close[close <= pd.Timestamp(end)]
    freq = _FREQ[period]
    key = close.dt.to_period(freq)
    table = (
        won.assign(period=key)
        .pivot_table(
            index="period",
            columns="type",
            values="amount",
            aggfunc="sum",
            fill_value=0.0,
            observed=True,
        )
        .reindex(columns=list(OPPORTUNITY_TYPES), fill_value=0.0)
    )
    lo = (
        pd.Timestamp(start).to_period(freq)
        if start is not None
        else (key.min() if len(key) else None)
    )
    hi = pd.Timestamp(end).to_period(freq) if end is not None else (key.max() if len(key) else None)
    if lo is None:
        return pd.DataFrame(columns=["period", *OPPORTUNITY_TYPES, "total"])
    table = table.reindex(pd.period_range(lo, hi, freq=freq), fill_value=0.0).astype(float)
    table["total"] = table[list(OPPORTUNITY_TYPES)].sum(axis=1)
    for t in OPPORTUNITY_TYPES:
        table[f"{t}_share"] = (table[t] / table["total"].where(table["total"] > 0)).astype(float)
    table.index = table.index.to_timestamp().astype("datetime64[ns]")
    table.columns.name = None
    return table.rename_axis("period").reset_index()
