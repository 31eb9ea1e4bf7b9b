"""CRM forecast categories (commit, best case, pipeline) and their rollups, and realised
amounts of won deals. The pipeline itself (as it stood on a date) is
:mod:`revlib.pipeline_history`."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

CATEGORIES = ("closed", "commit", "best_case", "pipeline")
CATEGORY_DEFAULTS: dict[str, float] = {"commit": 0.7, "best_case": 0.4}
_CATEGORY_NAMES = {
    "commit": "commit",
    "best case": "best_case",
    "best_case": "best_case",
    "bestcase": "best_case",
    "pipeline": "pipeline",
    "omitted": "omitted",
    "closed": "closed",
}


# ----------------------------------------------------------------------------- categories


def forecast_category(
    deals: pd.DataFrame, win_rate: pd.Series, *, thresholds: Mapping[str, float] | None = None
) -> pd.Series:
    """CRM forecast category of each open deal: the deal's own ``forecast_category`` when the
    CRM provides one (pipeline, best case, commit, omitted), else from its stage's historical win
    rate: commit when >= 0.7, best case when >= 0.4, pipeline otherwise (``thresholds``)."""
    th = CATEGORY_DEFAULTS | dict(thresholds or {})
    derived = np.where(
        win_rate >= th["commit"],
        "commit",
        np.where(win_rate >= th["best_case"], "best_case", "pipeline"),
    )
    out = pd.Series(derived, index=deals.index, dtype="str")
    if "forecast_category" in deals.columns:
        given = (
            deals["forecast_category"].astype("str").str.strip().str.lower().map(_CATEGORY_NAMES)
        )
        out = given.where(given.notna(), out).astype("str")
    return out


def category_rollup(
    deals: pd.DataFrame,
    *,
    closed_won: float,
    expected: pd.Series | None = None,
) -> pd.DataFrame:
    """Forecast categories rolled up the way CRM tools define them (cumulative rollups):
    Closed = won in the period so far; Commit forecast = Closed + Commit; Best case forecast =
    Closed + Commit + Best case; Open pipeline = Commit + Best case + Pipeline (open deals
    only). Reporting currency of ARR.

    ``deals``: open deals expected to close in the period, with ``category`` and ``amount``;
    ``expected`` (optional): each deal's model-expected booking (probability x amount), shown
    per category beside the CRM amount. Columns: rollup, includes, deals, amount,
    model_expected.
    """
    cat = deals["category"]
    amt = deals["amount"].astype(float)
    exp = expected.astype(float) if expected is not None else pd.Series(np.nan, index=deals.index)

    def part(names):
        m = cat.isin(names)
        return int(m.sum()), float(amt[m].sum()), float(exp[m].sum())

    rows = []
    spec = [
        ("Closed", "won so far", ()),
        ("Commit forecast", "closed + commit", ("commit",)),
        ("Best case forecast", "closed + commit + best case", ("commit", "best_case")),
        (
            "Open pipeline",
            "commit + best case + pipeline (open only)",
            ("commit", "best_case", "pipeline"),
        ),
    ]
    for name, includes, cats in spec:
        n, a, e = part(cats)
        with_closed = name != "Open pipeline"
        rows.append(
            {
                "rollup": name,
                "includes": includes,
                "deals": n,
                "amount": a + (closed_won if with_closed else 0.0),
                "model_expected": e + (closed_won if with_closed else 0.0),
            }
        )
    return pd.DataFrame(rows)


def use_realised_amounts(opportunities: pd.DataFrame, column: str = "close_value") -> pd.DataFrame:
    """Bookings are what was won: replace ``amount`` of won deals by the realised value in
    ``column`` when the CRM has one (the Maven data keep the list price as ``amount`` and the
    closed value in ``close_value``). Unchanged when the column is absent."""
    if column not in opportunities.columns:
        return opportunities
    out = opportunities.copy()
    realised = pd.to_numeric(out[column], errors="coerce")
    won = (out["status"] == "won").to_numpy(bool) & realised.notna().to_numpy()
    out["amount"] = np.where(won, realised, out["amount"].astype(float))
    return out
