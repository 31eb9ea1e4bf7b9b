"""What a data directory holds: table and column profiles, coverage and a few telling plots."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from revlib.data import CONTRACT
from revlib.reporting import PALETTE, display, money_axis

# The column that dates each table's rows (its time axis).
DATE_COLUMN = {
    "accounts": "created_at",
    "subscriptions": "start_date",
    "usage": "month",
    "opportunities": "created_date",
    "opportunity_history": "changed_at",
    "price_observations": "period",
    "price_tests": "start_date",
    "journeys": "converted_at",
    "touchpoints": "touched_at",
    "funnel": "month",
    "spend": "month",
    "financials": "month",
    "invoices": "issued_date",
    "fx_rates": None,
    "health_signals": "month",
}


def table_summary(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per table: rows, columns (and how many are extensions beyond the contract),
    the dated column and its first and last date, and what the table holds."""
    rows = []
    for name, df in tables.items():
        spec = CONTRACT.get(name)
        date_col = DATE_COLUMN.get(name)
        dates = (
            df[date_col].dropna()
            if date_col and date_col in df.columns
            else pd.Series(dtype="datetime64[ns]")
        )
        known = {c.name for c in spec.columns} if spec else set()
        rows.append(
            {
                "table": name,
                "rows": len(df),
                "columns": df.shape[1],
                "extra_columns": sum(c not in known for c in df.columns),
                "date_column": date_col or "",
                "first": dates.min() if len(dates) else pd.NaT,
                "last": dates.max() if len(dates) else pd.NaT,
                "description": spec.doc if spec else "not in the contract",
            }
        )
    return pd.DataFrame(rows)


def column_profile(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per column: parsed type, share of non-null values, distinct values, an example,
    and whether the contract defines the column."""
    rows = []
    for name, df in tables.items():
        spec = CONTRACT.get(name)
        for col in df.columns:
            s = df[col]
            non_null = s.dropna()
            example = non_null.iloc[0] if len(non_null) else None
            if isinstance(example, pd.Timestamp):
                example = example.strftime("%Y-%m-%d")
            rows.append(
                {
                    "table": name,
                    "column": col,
                    "type": str(s.dtype),
                    "non_null": float(s.notna().mean()) if len(s) else 0.0,
                    "distinct": int(non_null.nunique()),
                    "example": display(example),
                    "in_contract": bool(spec and spec.col(col) is not None),
                }
            )
    return pd.DataFrame(rows)


def rules_checked(tables: Mapping[str, pd.DataFrame]) -> int:
    """How many contract rules (types, nulls, uniqueness, ranges, sets, foreign keys,
    row rules) the validation applied to the tables present."""
    n = 0
    for name, df in tables.items():
        spec = CONTRACT.get(name)
        if spec is None:
            continue
        for col in spec.columns:
            if col.name not in df.columns:
                continue
            n += (
                1
                + (not col.nullable)
                + col.unique
                + sum(x is not None for x in (col.ge, col.gt, col.le, col.isin))
            )
            n += col.ref is not None and col.ref.split(".")[0] in tables
        n += sum(r.left in df.columns and r.right in df.columns for r in spec.rules)
    return n


def plot_coverage(tables: Mapping[str, pd.DataFrame]):
    """Timeline of each dated table: a bar from its first to its last date, with row counts."""
    import matplotlib.pyplot as plt

    summary = table_summary(tables).dropna(subset=["first"]).iloc[::-1]
    fig, ax = plt.subplots(figsize=(9.5, 0.38 * len(summary) + 1.2))
    for i, row in enumerate(summary.itertuples()):
        ax.barh(
            i,
            (row.last - row.first).days + 1,
            left=row.first,
            color=PALETTE["primary"],
            alpha=0.75,
            height=0.55,
        )
        ax.text(
            row.last, i, f"  {row.rows:,} rows", va="center", fontsize=9, color=PALETTE["muted"]
        )
    ax.set_yticks(range(len(summary)), summary["table"])
    ax.set_title("Date coverage of each table")
    ax.grid(axis="y", visible=False)
    ax.margins(x=0.12)
    return fig


def plot_mrr(movements: pd.DataFrame):
    """MRR (bars) and paying customers (line) at each month end."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    months = pd.to_datetime(movements["month"])
    ax.bar(
        months, movements["closing_mrr"], width=25, color=PALETTE["primary"], alpha=0.8, label="MRR"
    )
    money_axis(ax)
    ax.set_ylabel("MRR (reporting currency)")
    ax2 = ax.twinx()
    ax2.plot(months, movements["customers"], color=PALETTE["warning"], lw=2, label="customers")
    ax2.set_ylabel("paying customers")
    ax2.set_ylim(bottom=0)  # a count's growth reads true only from zero
    ax2.grid(False)
    ax2.spines["right"].set_visible(True)
    ax.set_title("MRR and paying customers by month")
    lines = ax.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
    ax.legend(lines, ["MRR", "customers"], loc="lower right", bbox_to_anchor=(1, 1), ncol=2)
    return fig


def plot_deals(opportunities: pd.DataFrame):
    """Deals created per quarter, stacked by current status (won, lost, open)."""
    import matplotlib.pyplot as plt

    q = opportunities["created_date"].dt.to_period("Q").astype(str)
    counts = pd.crosstab(q, opportunities["status"]).reindex(
        columns=["won", "lost", "open"], fill_value=0
    )
    colours = [PALETTE["good"], PALETTE["critical"], PALETTE["primary"]]
    fig, ax = plt.subplots()
    bottom = np.zeros(len(counts))
    for col, colour in zip(counts.columns, colours, strict=True):
        ax.bar(counts.index, counts[col], bottom=bottom, color=colour, label=col, alpha=0.85)
        bottom += counts[col].to_numpy()
    ax.set_title("Deals created per quarter, by status")
    ax.set_ylabel("deals")
    ax.legend(loc="upper left")
    ax.tick_params(axis="x", rotation=45)
    return fig
