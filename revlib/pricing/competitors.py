"""Competitor pricing: the ``competitor_prices`` sheet against our prices (value gap), the
competitor-cut alert and the win-rate trigger from the CRM's closed deals.

Settings come from the pricing rules (``competitor_alert`` in ``revlib/pricing_rules.yaml``):
an alert when a competitor cuts a price by more than 10 % between two observations; a win-rate
trigger when the trailing win rate against a competitor is under the floor or fell by more
than the drop from the window before.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from revlib.data.frames import require_columns
from revlib.pricing import rules as rl
from revlib.stats import beta_posterior

SHEET_COLUMNS = ["competitor", "plan", "annual_price_low", "annual_price_high", "as_of"]
NO_COMPETITOR = "no competitor"


def our_annual_range(*, rules: Mapping[str, Any] | None = None) -> tuple[float, float]:
    """Our comparable annual price range per seat: the monthly list price x 12 of the rules'
    ``comparable_tiers`` (growth and pro: 1,788 to 8,988 USD a year)."""
    r = rules or rl.load_rules()
    price = r["tiers"].set_index("tier")["monthly_price"]
    low, high = r["comparable_tiers"]
    return 12 * float(price[low]), 12 * float(price[high])


def value_gap(
    competitor_prices: pd.DataFrame, *, rules: Mapping[str, Any] | None = None
) -> pd.DataFrame:
    """The latest annual price range of each competitor and plan against ours.

    ``gap_low`` = their low / our low - 1, ``gap_high`` = their high / our high - 1 and
    ``gap_mid`` on the range midpoints (ratios; +1.0 = they charge twice ours, so we offer the
    same job for half the price). Money per year.
    """
    require_columns(competitor_prices, "competitor_prices", SHEET_COLUMNS)
    low, high = our_annual_range(rules=rules)
    df = competitor_prices.assign(as_of=pd.to_datetime(competitor_prices["as_of"]))
    latest = df.sort_values("as_of").groupby(["competitor", "plan"], sort=False).tail(1)
    out = latest[SHEET_COLUMNS].copy()
    out["our_low"], out["our_high"] = low, high
    out["gap_low"] = out["annual_price_low"] / low - 1
    out["gap_high"] = out["annual_price_high"] / high - 1
    mid = (out["annual_price_low"] + out["annual_price_high"]) / 2
    out["gap_mid"] = mid / ((low + high) / 2) - 1
    return out.sort_values("gap_mid", ascending=False).reset_index(drop=True)


def price_cut_alerts(
    competitor_prices: pd.DataFrame, *, rules: Mapping[str, Any] | None = None
) -> pd.DataFrame:
    """Every change of a competitor's low or high annual price between observations, with an
    alert above the rules' cut threshold (:func:`revlib.pricing.rules.competitor_price_alerts`
    on the sheet; ``product`` reads "<plan> low" or "<plan> high")."""
    require_columns(competitor_prices, "competitor_prices", SHEET_COLUMNS)
    long = competitor_prices.melt(
        id_vars=["competitor", "plan", "as_of"],
        value_vars=["annual_price_low", "annual_price_high"],
        var_name="end",
        value_name="price",
    )
    long["product"] = long["plan"] + " " + long["end"].str.removeprefix("annual_price_")
    long["date"] = pd.to_datetime(long["as_of"])
    return rl.competitor_price_alerts(long, rules=rules)


def win_rates(
    opportunities: pd.DataFrame,
    *,
    as_of: Any = None,
    rules: Mapping[str, Any] | None = None,
    prob: float = 0.94,
) -> pd.DataFrame:
    """Closed new-business win rate by competitor: over all time, the last ``window_months``
    before ``as_of`` (default: the latest close date) and the window before it.

    Win rate = won / (won + lost) by close date, by the first competitor listed (deals without
    one: "no competitor");
    ``*_lower``/``*_upper``: central ``prob`` interval of its Beta(1, 1) posterior. Rates.
    """
    require_columns(opportunities, "opportunities", ["status", "close_date"])
    if "competitor" not in opportunities.columns:
        raise ValueError(
            "opportunities has no competitor column: win rate by competitor needs one "
            "(the main competitor per deal; none = no competitor)"
        )
    win = (rules or rl.load_rules())["competitor_win_rate"]
    df = opportunities.loc[opportunities["status"].isin(["won", "lost"])].copy()
    if "type" in df.columns:
        df = df.loc[df["type"] == "new_business"]
    df["close_date"] = pd.to_datetime(df["close_date"])
    end = pd.Timestamp(as_of) if as_of is not None else df["close_date"].max()
    recent_start = end - pd.DateOffset(months=win["window_months"])
    before_start = recent_start - pd.DateOffset(months=win["window_months"])
    comp = df["competitor"].map(rl.competitor_list)
    df["competitor"] = comp.map(lambda c: c[0] if len(c) else NO_COMPETITOR)
    df["won"] = df["status"].eq("won")
    periods = {
        "all": df["close_date"] <= end,
        "recent": (df["close_date"] > recent_start) & (df["close_date"] <= end),
        "before": (df["close_date"] > before_start) & (df["close_date"] <= recent_start),
    }
    out = pd.DataFrame(index=pd.Index(sorted(df["competitor"].unique()), name="competitor"))
    for name, mask in periods.items():
        g = df.loc[mask].groupby("competitor")["won"].agg(["sum", "size"])
        g = g.reindex(out.index, fill_value=0)
        post = beta_posterior(g["sum"], g["size"], prob=prob)
        out[f"{name}_deals"] = g["size"].astype(int)
        out[f"{name}_won"] = g["sum"].astype(int)
        out[f"{name}_win_rate"] = np.where(
            g["size"] > 0, g["sum"] / g["size"].clip(lower=1), np.nan
        )
        out[f"{name}_lower"] = post["lower"].to_numpy()
        out[f"{name}_upper"] = post["upper"].to_numpy()
    out["change"] = out["recent_win_rate"] - out["before_win_rate"]
    out.attrs["window"] = (recent_start.date(), end.date())
    return out.reset_index()


def win_rate_triggers(
    rates: pd.DataFrame, *, rules: Mapping[str, Any] | None = None
) -> pd.DataFrame:
    """Which competitors trip the win-rate trigger: with at least ``min_deals`` closed deals in
    the recent window, a win rate under ``win_rate_floor``, or (with ``min_deals`` in the window
    before too) a fall of more than ``win_rate_drop`` points. ``rates``: :func:`win_rates`."""
    win = (rules or rl.load_rules())["competitor_win_rate"]
    out = rates.loc[rates["competitor"] != NO_COMPETITOR].copy()
    enough = out["recent_deals"] >= win["min_deals"]
    low = enough & (out["recent_win_rate"] < win["win_rate_floor"])
    fell = (
        enough & (out["before_deals"] >= win["min_deals"]) & (-out["change"] > win["win_rate_drop"])
    )
    out["trigger"] = low | fell
    out["why"] = [
        "; ".join(
            [
                *([f"win rate {r:.0%} under the {win['win_rate_floor']:.0%} floor"] if lo else []),
                *(
                    [f"fell {-c * 100:.0f} points (more than {win['win_rate_drop'] * 100:.0f})"]
                    if fa
                    else []
                ),
            ]
        )
        for r, c, lo, fa in zip(out["recent_win_rate"], out["change"], low, fell, strict=True)
    ]
    return out[
        [
            "competitor",
            "recent_deals",
            "recent_win_rate",
            "before_win_rate",
            "change",
            "trigger",
            "why",
        ]
    ].reset_index(drop=True)
