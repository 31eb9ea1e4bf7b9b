"""Money in the reporting currency: one constant fx rate per currency."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from revlib.data.contract import REPORTING_CURRENCY


def to_reporting_currency(
    df: pd.DataFrame, fx_rates: pd.DataFrame | None, amount_columns: Iterable[str]
) -> pd.DataFrame:
    """Convert money columns to the reporting currency at one constant rate per currency.

    Rows without a ``currency`` (or in the reporting currency) are unchanged. Returns a copy
    whose ``currency`` column is the reporting currency.
    """
    if "currency" not in df.columns:
        return df
    out = df.copy()
    rates = {REPORTING_CURRENCY: 1.0}
    if fx_rates is not None:
        rates |= dict(zip(fx_rates["currency"], fx_rates["rate_to_reporting"], strict=True))
    factor = out["currency"].fillna(REPORTING_CURRENCY).map(rates)
    if factor.isna().any():
        missing = sorted(set(out.loc[factor.isna(), "currency"]))
        raise ValueError(f"no fx rate for currency {missing}")
    for col in amount_columns:
        out[col] = out[col] * factor.astype(float)
    out["currency"] = REPORTING_CURRENCY
    return out
