"""Maven Analytics "CRM Sales Opportunities" -> the revlib data contract.

The public teaching data set (a fictitious computer-hardware company; see SOURCE.md beside the
files) has ``sales_pipeline.csv`` (8,800 deals), ``accounts.csv``, ``products.csv`` and
``sales_teams.csv``. Mapping, quirks and choices:

- ``deal_stage`` Won / Lost -> status won / lost; Engaging / Prospecting -> status open. The
  stage keeps the name in lower case (won, lost, engaging, prospecting).
- ``amount`` = the product's list price (``products.sales_price``): ``close_value`` is 0 for
  every lost deal and blank for open ones, so it is the outcome itself. It is kept as an extra
  column ``close_value`` (the leakage guard refuses it as a feature).
- The pipeline spells ``GTXPro``; products.csv has ``GTX Pro``: mapped before the join.
- ``accounts.sector`` has the typo ``technolgy``: corrected to ``technology``.
- 1,425 open deals have no account: they get the placeholder account ``(unknown)`` (contract:
  every deal has an account), whose attributes are missing and region ``OTHER``.
- ``created_date`` = ``engage_date``; Prospecting deals have none, so they take the extract
  date (the latest date in the file, 2017-12-31): they are open now and were never engaged.
- ``close_date``: actual for closed deals. Open deals have none; the contract needs one, so it
  is a placeholder: ``max(created + 45 days, extract date)`` (45 = median engage-to-close days
  of closed deals). Creation-mode scoring never reads it.
- No stage history: there is no ``opportunity_history`` table; scoring runs in creation mode
  (features as each deal stood when engaged) with a time split on close dates.
- accounts: ``created_at`` = 1 January of ``year_established`` (there is no CRM creation date),
  ``country`` from ``office_location`` (ISO alpha-2), ``region`` from the country, ``segment``
  from employees (< 100 smb, < 1,000 mid_market, < 10,000 enterprise, else strategic),
  ``revenue_musd`` and ``subsidiary_of`` as extra columns.
- Deals get ``manager`` and ``regional_office`` of their sales agent as extra columns.

Expected (SOURCE.md): 8,800 deals; Won 4,238, Lost 2,473, Engaging 1,589, Prospecting 500; win
rate on closed deals 63.15 %.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

NAME = "maven_crm_sales_opportunities"
FILES = ("sales_pipeline", "accounts", "products", "sales_teams")
UNKNOWN_ACCOUNT = "(unknown)"
OPEN_CYCLE_DAYS = 45
COUNTRIES = {
    "United States": ("US", "NA"),
    "Kenya": ("KE", "OTHER"),
    "Philipines": ("PH", "APAC"),
    "Japan": ("JP", "APAC"),
    "Italy": ("IT", "EU"),
    "Norway": ("NO", "EU"),
    "Korea": ("KR", "APAC"),
    "Brazil": ("BR", "LATAM"),
    "Germany": ("DE", "EU"),
    "Jordan": ("JO", "OTHER"),
    "Panama": ("PA", "LATAM"),
    "Belgium": ("BE", "EU"),
    "Romania": ("RO", "EU"),
    "Poland": ("PL", "EU"),
    "China": ("CN", "APAC"),
}
EXPECTED = {
    "deals": 8800,
    "won": 4238,
    "lost": 2473,
    "engaging": 1589,
    "prospecting": 500,
    "win_rate_closed": 0.6315,
}


def real_data_dir(name: str = NAME) -> Path:
    """Folder of the Maven data set (see :func:`revlib.data.real_data_dir`)."""
    from revlib import data

    return data.real_data_dir(name)


def read_maven(folder: str | os.PathLike | None = None) -> dict[str, pd.DataFrame]:
    """The four Maven CSVs as text frames (read through :mod:`revlib.data`)."""
    from revlib import data

    folder = Path(folder) if folder is not None else real_data_dir()
    missing = [f for f in FILES if not (folder / f"{f}.csv").is_file()]
    if missing:
        raise FileNotFoundError(
            f"Maven CRM files missing in {folder}: {[f + '.csv' for f in missing]}"
        )
    return {f: data.read_raw(folder / f"{f}.csv") for f in FILES}


def _segment(employees: pd.Series) -> pd.Series:
    e = employees.astype(float)
    seg = np.select(
        [e < 100, e < 1_000, e < 10_000], ["smb", "mid_market", "enterprise"], "strategic"
    )
    return pd.Series(seg, index=employees.index).where(e.notna())


def maven_to_contract(raw: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Map the Maven frames to contract ``accounts`` and ``opportunities`` (see module doc)."""
    pipe = raw["sales_pipeline"].copy()
    for c in pipe.columns:
        pipe[c] = pipe[c].astype("string").str.strip().replace("", pd.NA)
    products = raw["products"].assign(product=lambda d: d["product"].astype("string").str.strip())
    price = dict(zip(products["product"], pd.to_numeric(products["sales_price"]), strict=True))
    pipe["product"] = pipe["product"].replace({"GTXPro": "GTX Pro"})
    unknown_products = sorted(set(pipe["product"].dropna()) - set(price))
    if unknown_products:
        raise ValueError(
            f"products without a list price: {unknown_products}; known: {sorted(price)}"
        )
    engage = pd.to_datetime(pipe["engage_date"], format="ISO8601")
    close = pd.to_datetime(pipe["close_date"], format="ISO8601")
    extract = max(engage.max(), close.max())
    stage = pipe["deal_stage"].str.lower()
    allowed = {"won", "lost", "engaging", "prospecting"}
    if not set(stage.dropna()) <= allowed:
        raise ValueError(
            f"deal_stage must be one of Won, Lost, Engaging, Prospecting; got {sorted(set(stage.dropna()))}"
        )
    status = stage.where(stage.isin(["won", "lost"]), "open")
    created = engage.fillna(extract)
    placeholder = (created + pd.Timedelta(days=OPEN_CYCLE_DAYS)).where(
        lambda s: s > extract, extract
    )
    close_date = close.where(status != "open", placeholder)
    teams = raw["sales_teams"].astype("string")
    team = teams.set_index("sales_agent")
    opps = pd.DataFrame(
        {
            "opportunity_id": pipe["opportunity_id"],
            "account_id": pipe["account"].fillna(UNKNOWN_ACCOUNT),
            "type": "new_business",
            "product": pipe["product"],
            "amount": pipe["product"].map(price).astype(float),
            "created_date": created.dt.normalize(),
            "close_date": close_date.dt.normalize(),
            "stage": stage,
            "status": status,
            "owner": pipe["sales_agent"],
            "manager": pipe["sales_agent"].map(team["manager"]),
            "regional_office": pipe["sales_agent"].map(team["regional_office"]),
            "close_value": pd.to_numeric(pipe["close_value"]),
        }
    )
    acc = raw["accounts"].copy()
    acc["sector"] = acc["sector"].astype("string").str.strip().replace({"technolgy": "technology"})
    loc = acc["office_location"].astype("string").str.strip()
    unknown_loc = sorted(set(loc.dropna()) - set(COUNTRIES))
    if unknown_loc:
        raise ValueError(f"office_location without a country mapping: {unknown_loc}")
    employees = pd.to_numeric(acc["employees"])
    accounts = pd.DataFrame(
        {
            "account_id": acc["account"].astype("string").str.strip(),
            "name": acc["account"].astype("string").str.strip(),
            "industry": acc["sector"],
            "employees": employees,
            "region": loc.map(lambda x: COUNTRIES[x][1]),
            "country": loc.map(lambda x: COUNTRIES[x][0]),
            "segment": _segment(employees),
            "created_at": pd.to_datetime(acc["year_established"].astype(str) + "-01-01"),
            "revenue_musd": pd.to_numeric(acc["revenue"]),
            "subsidiary_of": acc["subsidiary_of"].astype("string").str.strip().replace("", pd.NA),
        }
    )
    if (opps["account_id"] == UNKNOWN_ACCOUNT).any():
        placeholder_row = {c: pd.NA for c in accounts.columns} | {
            "account_id": UNKNOWN_ACCOUNT,
            "name": UNKNOWN_ACCOUNT,
            "region": "OTHER",
            "created_at": accounts["created_at"].min(),
        }
        accounts = pd.concat([accounts, pd.DataFrame([placeholder_row])], ignore_index=True)
    return {"accounts": accounts, "opportunities": opps}


def load_maven(folder: str | os.PathLike | None = None) -> dict[str, pd.DataFrame]:
    """Read the Maven files, map them and validate them against the contract."""
    from revlib.data import validate_tables

    return validate_tables(maven_to_contract(read_maven(folder)))


def maven_summary(tables: Mapping[str, pd.DataFrame]) -> dict[str, float]:
    """Counts and the closed-deal win rate, to compare with SOURCE.md (:data:`EXPECTED`)."""
    o = tables["opportunities"]
    stage = o["stage"].astype(object).value_counts()
    closed = o["status"].astype(object).isin(["won", "lost"])
    return {
        "deals": int(len(o)),
        "won": int(stage.get("won", 0)),
        "lost": int(stage.get("lost", 0)),
        "engaging": int(stage.get("engaging", 0)),
        "prospecting": int(stage.get("prospecting", 0)),
        "win_rate_closed": round(
            float((o.loc[closed, "status"].astype(object) == "won").mean()), 4
        ),
    }


def export_maven(out_dir: str | os.PathLike, folder: str | os.PathLike | None = None) -> list[Path]:
    """Write the mapped Maven tables as a contract data directory (for ``revlib run``)."""
    from revlib.data import write_tables

    return write_tables(load_maven(folder), out_dir)


if __name__ == "__main__":  # python -m revlib.adapters.maven OUT_DIR
    import sys

    if len(sys.argv) != 2:
        raise SystemExit("usage: python -m revlib.adapters.maven OUT_DIR")
    for p in export_maven(sys.argv[1]):
        print(p)
