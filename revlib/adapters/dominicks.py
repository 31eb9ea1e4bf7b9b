"""Dominick's Finer Foods orange-juice scanner data -> the ``price_observations`` table.

Source: ``oj_large.csv`` in ``shared/data/real/dominicks_oj`` (see SOURCE.md there): weekly
store-level sales of three 64 oz brands (tropicana, minute.maid, dominicks) in 83 Chicago
stores, weeks 40-160 (about June 1990 - October 1992). Mapping:

- ``period`` = the week's start date, Dominick's week 1 = 1989-09-14 (SOURCE.md's reading;
  only the ordering and the yearly cycle matter to the model);
- ``product`` = ``brand``; ``store`` is kept as a group / fixed-effect column;
- ``price`` = USD per 64 oz carton; ``units`` = exp(logmove) rounded to whole cartons
  (logmove is log of units moved, stored to 11 significant digits);
- ``promo`` = ``feat`` (1 when the brand was in the store's weekly feature flyer);
- no ``unit_cost`` (the data hold only a store margin; prices are the store's, not ours).

Published figures the adapter's data reproduce (SOURCE.md, OLS on oj.csv, same rows):
log(sales) ~ log(price) * brand gives elasticities dominicks -3.3775, minute.maid -3.3207,
tropicana -2.7118; log(sales) ~ log(price) + brand gives -3.1387.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TypedDict

import numpy as np
import pandas as pd

NAME = "dominicks_oj"
FILE = "oj_large.csv"
WEEK_ONE = pd.Timestamp("1989-09-14")
BRANDS = ("dominicks", "minute.maid", "tropicana")
ROWS = 28_947


class PublishedElasticities(TypedDict):
    """Published OLS price elasticities: per brand (brand -> elasticity) and pooled."""

    by_brand: dict[str, float]
    pooled_with_brand_intercepts: float
    by_brand_not_featured: dict[str, float]
    by_brand_featured: dict[str, float]


# OLS elasticities from SOURCE.md ("Published elasticity figures", Taddy, Business Data Science).
PUBLISHED: PublishedElasticities = {
    "by_brand": {"dominicks": -3.3775, "minute.maid": -3.3207, "tropicana": -2.7118},
    "pooled_with_brand_intercepts": -3.1387,
    "by_brand_not_featured": {"dominicks": -2.7742, "minute.maid": -1.9912, "tropicana": -2.0384},
    "by_brand_featured": {"dominicks": -3.2447, "minute.maid": -3.5710, "tropicana": -3.4951},
}


def dominicks_dir() -> Path:
    """Folder of the Dominick's data (``$REVLIB_REAL_DATA/dominicks_oj`` or ``../shared/...``)."""
    from revlib.data import real_data_dir

    return real_data_dir(NAME)


def read_dominicks(folder: str | os.PathLike | None = None) -> pd.DataFrame:
    """The raw ``oj_large.csv`` as text columns (read through :mod:`revlib.data`)."""
    from revlib import data

    path = Path(folder if folder is not None else dominicks_dir()) / FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"Dominick's file not found: {path} (set REVLIB_REAL_DATA or check ../shared/data/real)"
        )
    return data.read_raw(path)


def dominicks_to_price_observations(raw: pd.DataFrame) -> pd.DataFrame:
    """Map raw ``oj_large.csv`` rows to contract ``price_observations`` (see module doc).

    Columns: period, product, store, price, units, promo; one row per store x brand x week.
    Validated against the data contract.
    """
    from revlib.data import validate_tables

    need = ["store", "brand", "week", "logmove", "feat", "price"]
    missing = [c for c in need if c not in raw.columns]
    if missing:
        raise ValueError(f"oj_large.csv lacks column(s) {missing}; it has {list(raw.columns)}")
    week = pd.to_numeric(raw["week"]).astype(int)
    out = pd.DataFrame(
        {
            "period": WEEK_ONE + pd.to_timedelta((week - 1) * 7, unit="D"),
            "product": raw["brand"].astype(str).str.strip(),
            "store": raw["store"].astype(str).str.strip(),
            "price": pd.to_numeric(raw["price"]).astype(float),
            "units": np.round(np.exp(pd.to_numeric(raw["logmove"]).astype(float))),
            "promo": pd.to_numeric(raw["feat"]).astype(float),
        }
    )
    unknown = sorted(set(out["product"]) - set(BRANDS))
    if unknown:
        raise ValueError(f"unknown brand(s) {unknown}; expected {list(BRANDS)}")
    return validate_tables({"price_observations": out})["price_observations"]


def dominicks_price_observations(folder: str | os.PathLike | None = None) -> pd.DataFrame:
    """Dominick's orange-juice sales as ``price_observations`` (28,947 store x brand x weeks)."""
    return dominicks_to_price_observations(read_dominicks(folder))


def compare_with_published(summary: pd.DataFrame) -> pd.DataFrame:
    """Posterior elasticity per brand next to the published OLS figure of
    log(sales) ~ log(price) * brand (SOURCE.md): ``inside`` = published value within the
    94 % interval. ``summary``: :func:`revlib.pricing.elasticity.elasticity_summary` by product."""
    s = summary.set_index("product")
    rows = []
    for brand, published in PUBLISHED["by_brand"].items():
        if brand not in s.index:
            raise ValueError(f"summary has no brand {brand!r}; it has {list(s.index)}")
        lo, hi = s.loc[brand, "hdi_3%"], s.loc[brand, "hdi_97%"]
        rows.append(
            {
                "brand": brand,
                "published_ols": published,
                "posterior_mean": s.loc[brand, "mean"],
                "hdi_3%": lo,
                "hdi_97%": hi,
                "difference": s.loc[brand, "mean"] - published,
                "inside": bool(lo <= published <= hi),
            }
        )
    return pd.DataFrame(rows)
