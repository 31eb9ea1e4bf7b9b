"""Offer tests with known truth, and the competitor price sheet.

``offer_tests``: experiments whose variant is an annual-billing discount (12/15/20 %) or a
free-trial length (14/21/30 days). Per arm, visitors ~ Poisson(planned); trial starts ~
Binomial(visitors, trial rate) (trial tests); paying customers ~ Binomial(visitors,
conversion); annual payers ~ Binomial(customers, annual share); early churners ~
Binomial(customers, early churn in 90 days); acquisition cost = visitors x cost per visitor +
trials x trial serving cost. The truth records each arm's true rates and the value per visitor
they imply (conversion x (LTV - CAC), the definitions of :mod:`revlib.pricing.offers`, with a
gross margin of 80 % and a 36-month horizon), so the report's decision can be checked.

``competitor_prices``: the framework's competitor price table (annual price range per
competitor) as of the end of the data, and the sheet six months earlier (Apollo's lower
bound was cut 11 % since then: one alert above the 10 % threshold).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from revlib.synth._core import REGION_PRICE_LEVEL, REGIONS, TIER_PRICE, TIERS, Calendar

GROSS_MARGIN = 0.80
HORIZON_MONTHS = 36
EARLY_CHURN_DAYS = 90
ANNUAL_DISCOUNT = 0.15  # the company's standard annual discount (trial tests keep it)
_FIELDS = (
    "test_id",
    "kind",
    "product",
    "region",
    "offers",
    "visitors",
    "conversion",
    "annual_share",
    "early_churn",
    "trial_rate",
    "trial_cost",
    "cost_per_visitor",
    "month_back",
    "weeks",
)
# visitors per arm (planned); month_back = start month counted back from the last month
OFFER_TESTS: tuple[dict[str, Any], ...] = tuple(
    dict(zip(_FIELDS, row, strict=True))
    for row in (
        # deeper discounts convert more and move more payers to annual billing, but 20 % gives
        # margin away and draws deal-seekers who cancel early: 15 % earns the most per visitor
        (
            "OT-01-discount-growth-na",
            "annual_discount",
            "growth",
            "NA",
            [0.12, 0.15, 0.20],
            15000,
            [0.030, 0.034, 0.037],
            [0.35, 0.42, 0.55],
            [0.07, 0.07, 0.13],
            None,
            0.0,
            40.0,
            5,
            6,
        ),
        # 14 days converts the most trials but rushed customers churn early; 30 days keeps the
        # best customers but costs more trial serving: 21 and 30 days are close
        (
            "OT-02-trial-scale-na",
            "free_trial",
            "scale",
            "NA",
            [14, 21, 30],
            12000,
            [0.026, 0.025, 0.023],
            [0.30, 0.30, 0.30],
            [0.20, 0.10, 0.07],
            [0.10, 0.11, 0.115],
            [15.0, 22.0, 30.0],
            55.0,
            4,
            7,
        ),
        # a small market: under the framework's 1,000 visitors per variant and 30 days
        (
            "OT-03-trial-starter-eu",
            "free_trial",
            "starter",
            "EU",
            [14, 30],
            700,
            [0.05, 0.045],
            [0.25, 0.25],
            [0.18, 0.10],
            [0.16, 0.17],
            [4.0, 8.0],
            8.0,
            2,
            3,
        ),
    )
)


def true_arm_economics(
    list_price: float,
    annual_discount: np.ndarray,
    conversion: np.ndarray,
    annual_share: np.ndarray,
    early_churn: np.ndarray,
    cost_per_visitor: np.ndarray,
) -> dict[str, np.ndarray]:
    """ARPU, LTV, CAC, payback and value per visitor of arms with known rates (money per
    month, per customer, months, per visitor)."""
    arpu = list_price * (1 - annual_share * annual_discount)
    m = 1 - (1 - early_churn) ** (30.4375 / EARLY_CHURN_DAYS)
    ltv = arpu * GROSS_MARGIN * (1 - (1 - m) ** HORIZON_MONTHS) / m
    cac = cost_per_visitor / conversion
    return {
        "arpu": arpu,
        "ltv": ltv,
        "cac": cac,
        "payback": cac / (arpu * GROSS_MARGIN),
        "value_per_visitor": conversion * (ltv - cac),
    }


def offer_tests(rng: np.random.Generator, cal: Calendar) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The ``offer_tests`` table and its truth (``test_id`` -> true rates and economics)."""
    rows, truth = [], {}
    for spec in OFFER_TESTS:
        trial = spec["kind"] == "free_trial"
        k = len(spec["offers"])
        price = float(
            TIER_PRICE[TIERS.index(spec["product"])]
            * REGION_PRICE_LEVEL[REGIONS.index(spec["region"])]
        )
        disc = np.full(k, ANNUAL_DISCOUNT) if trial else np.asarray(spec["offers"], float)
        conv, share, churn = (
            np.asarray(spec[c], float) for c in ("conversion", "annual_share", "early_churn")
        )
        m = max(cal.months - spec["month_back"], 0)
        start = cal.month_dates(m)
        end = start + np.timedelta64(7 * spec["weeks"] - 1, "D")
        visitors = rng.poisson(spec["visitors"], k) + 1
        customers = rng.binomial(visitors, conv)
        if trial:
            rate = np.asarray(spec["trial_rate"], float)
            trials = np.maximum(rng.binomial(visitors, rate), customers)
            trial_cost = np.asarray(spec["trial_cost"], float)
        else:
            rate, trials, trial_cost = np.zeros(k), np.zeros(k, np.int64), np.zeros(k)
        annual = rng.binomial(customers, share)
        churned = rng.binomial(customers, churn)
        cost = visitors * spec["cost_per_visitor"] + trials * trial_cost
        for i, offer in enumerate(spec["offers"]):
            rows.append(
                {
                    "test_id": spec["test_id"],
                    "kind": spec["kind"],
                    "variant": f"{'ABC'[i]}-{offer}d" if trial else f"{'ABC'[i]}-{offer:.0%}",
                    "product": spec["product"],
                    "region": spec["region"],
                    "list_price": round(price, 2),
                    "annual_discount": float(disc[i]),
                    "trial_days": int(offer) if trial else 0,
                    "visitors": int(visitors[i]),
                    "trials": int(trials[i]) if trial else None,
                    "conversions": int(customers[i]),
                    "annual_customers": int(annual[i]),
                    "early_churned": int(churned[i]),
                    "early_churn_days": EARLY_CHURN_DAYS,
                    "acquisition_cost": round(float(cost[i]), 2),
                    "start_date": start,
                    "end_date": end,
                }
            )
        eco = true_arm_economics(
            price, disc, conv, share, churn, spec["cost_per_visitor"] + rate * trial_cost
        )
        variants = [r["variant"] for r in rows[-k:]]
        truth[spec["test_id"]] = {
            "kind": spec["kind"],
            "product": spec["product"],
            "region": spec["region"],
            "variants": variants,
            "true_conversion": conv.tolist(),
            "true_annual_share": share.tolist(),
            "true_early_churn_90d": churn.tolist(),
            "true_trial_rate": rate.tolist(),
            "cost_per_visitor": float(spec["cost_per_visitor"]),
            "trial_cost": trial_cost.tolist(),
            **{f"true_{n}": np.round(v, 4).tolist() for n, v in eco.items()},
            "best_by_value": variants[int(np.argmax(eco["value_per_visitor"]))],
            "best_by_conversion": variants[int(np.argmax(conv))],
            "visitors_per_arm_planned": spec["visitors"],
            "gross_margin": GROSS_MARGIN,
            "horizon_months": HORIZON_MONTHS,
        }
    df = pd.DataFrame(rows)
    df["trials"] = df["trials"].astype("Int64")
    df["start_date"] = pd.to_datetime(df["start_date"])
    df["end_date"] = pd.to_datetime(df["end_date"])
    return df, truth


# competitor, plan, annual price low, high (USD): the framework's table
COMPETITOR_SHEET = (
    ("Apollo", "all plans", 4800.0, 19200.0),
    ("Outreach", "all plans", 7200.0, 24000.0),
    ("ZoomInfo", "all plans", 15000.0, 35000.0),
    ("HubSpot", "all plans", 3600.0, 12000.0),
)
EARLIER_SHEET = {"Apollo": (5400.0, 19200.0)}  # six months earlier, where it differed


def competitor_prices(cal: Calendar) -> pd.DataFrame:
    """The ``competitor_prices`` table: the framework's sheet as of the last day of the data
    and the sheet six months earlier (one row per competitor, plan and date)."""
    end = cal.start + np.timedelta64(int(cal.end_day) - 1, "D")
    earlier = (end.astype("datetime64[M]") - 6).astype("datetime64[D]")
    rows = []
    for as_of, sheet in ((earlier, EARLIER_SHEET), (end, {})):
        for comp, plan, low, high in COMPETITOR_SHEET:
            lo, hi = sheet.get(comp, (low, high))
            rows.append(
                {
                    "competitor": comp,
                    "plan": plan,
                    "annual_price_low": lo,
                    "annual_price_high": hi,
                    "as_of": as_of,
                }
            )
    df = pd.DataFrame(rows)
    df["as_of"] = pd.to_datetime(df["as_of"])
    return df
