"""Pricing data with known demand: weekly self-serve demand per tier x region, and price tests.

``price_observations``: log(units) = a_g + e_g * log(price / ref_g) + promo_effect * promo + noise,
with the true elasticity e_g of group g (tier x region) drawn from Normal(mu, tau) and capped at
``elasticity_max`` (every group elastic). Prices move in 4-week blocks around the group's
reference price (list x region level) and drop by ``promo_price_cut`` in promo weeks.

``price_tests``: visitors of each arm convert with the test's true curve
``conv(price) = c_max * sigmoid(-(price - p50) / scale)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from revlib.synth._core import REGION_PRICE_LEVEL, REGIONS, TIER_PRICE, TIERS, Calendar, sigmoid

_TEST_FIELDS = ("test_id", "product", "region", "prices", "visitors", "curve", "month", "weeks")
# visitors per arm; curve = (c_max, p50, scale); month = start month index; weeks = duration
PRICE_TESTS: tuple[dict[str, Any], ...] = tuple(
    dict(zip(_TEST_FIELDS, row, strict=True))
    for row in (
        ("PT-01-starter-na", "starter", "NA", [39, 49, 59, 69], 9000, [0.13, 68.0, 2.5], 14, 8),
        (
            "PT-02-growth-na",
            "growth",
            "NA",
            [129, 149, 169, 199],
            25000,
            [0.06, 190.0, 5.0],
            20,
            10,
        ),
        ("PT-03-starter-eu", "starter", "EU", [39, 49, 59, 69], 250, [0.12, 62.0, 6.0], 26, 3),
        (
            "PT-04-scale-apac",
            "scale",
            "APAC",
            [249, 299, 349, 399],
            1800,
            [0.05, 340.0, 20.0],
            28,
            6,
        ),
    )
)


def conversion(price: np.ndarray, curve: list[float]) -> np.ndarray:
    c_max, p50, scale = curve
    return c_max * sigmoid(-(np.asarray(price, dtype=float) - p50) / scale)


def price_tests(rng: np.random.Generator, cal: Calendar) -> tuple[pd.DataFrame, dict[str, Any]]:
    rows, truth = [], {}
    for spec in PRICE_TESTS:
        prices = np.asarray(spec["prices"], dtype=float)
        conv = conversion(prices, spec["curve"])
        m = min(spec["month"], cal.months - 2) if cal.months > 2 else 0
        start = cal.month_dates(m)
        end = start + np.timedelta64(7 * spec["weeks"] - 1, "D")
        visitors = rng.poisson(spec["visitors"], len(prices)) + 1
        conversions = rng.binomial(visitors, conv)
        for i, price in enumerate(prices):
            rows.append(
                {
                    "test_id": spec["test_id"],
                    "variant": f"{'ABCD'[i]}-{int(price)}",
                    "product": spec["product"],
                    "region": spec["region"],
                    "price": price,
                    "visitors": int(visitors[i]),
                    "conversions": int(conversions[i]),
                    "start_date": start,
                    "end_date": end,
                }
            )
        rpv = prices * conv
        truth[spec["test_id"]] = {
            "product": spec["product"],
            "region": spec["region"],
            "curve": {
                "form": "c_max * sigmoid(-(price - p50) / scale)",
                "c_max": spec["curve"][0],
                "p50": spec["curve"][1],
                "scale": spec["curve"][2],
            },
            "prices": prices.tolist(),
            "true_conversion": np.round(conv, 6).tolist(),
            "true_revenue_per_visitor": np.round(rpv, 6).tolist(),
            "best_price": float(prices[np.argmax(rpv)]),
            "visitors_per_arm_planned": spec["visitors"],
            "best_over_runner_up": float(np.round(np.sort(rpv)[-1] / np.sort(rpv)[-2] - 1, 6)),
        }
    df = pd.DataFrame(rows)
    df["start_date"] = pd.to_datetime(df["start_date"])
    df["end_date"] = pd.to_datetime(df["end_date"])
    return df, truth


def price_observations(
    rng: np.random.Generator, cal: Calendar, P: dict[str, Any]
) -> tuple[pd.DataFrame, dict[str, Any]]:
    Q = P["pricing"]
    n_t, n_r = len(TIERS), len(REGIONS)
    G = n_t * n_r
    weeks = int(Q["weeks"])
    eps_raw = rng.normal(Q["elasticity_mu"], Q["elasticity_tau"], G)
    eps = np.minimum(eps_raw, Q["elasticity_max"])
    g_tier, g_region = np.divmod(np.arange(G), n_r)
    ref = TIER_PRICE[g_tier] * REGION_PRICE_LEVEL[g_region]
    # baseline weekly units: more for cheap tiers and big regions
    base = (
        260.0
        * np.array([1.0, 0.8, 0.5, 0.3, 0.15])[g_tier]
        * np.array([1.0, 0.65, 0.4, 0.3, 0.2])[g_region]
    )
    a = np.log(base) + rng.normal(0, 0.1, G)
    # the last `weeks` Mondays before the end of the window
    end = cal.start + np.timedelta64(cal.end_day, "D")
    last_monday = end - np.timedelta64(
        7 + (int((end - np.datetime64("1970-01-05")).astype(int)) % 7), "D"
    )
    periods = last_monday - np.arange(weeks)[::-1] * np.timedelta64(7, "D")
    blocks = -(-weeks // Q["price_block_weeks"])
    levels = np.asarray(Q["price_levels"], dtype=float)
    lvl = levels[rng.integers(0, len(levels), (G, blocks))]
    x = np.repeat(lvl, Q["price_block_weeks"], axis=1)[:, :weeks]
    promo = rng.random((G, weeks)) < Q["promo_prob"]
    price = np.round(ref[:, None] * np.exp(x) * np.where(promo, 1 - Q["promo_price_cut"], 1.0), 2)
    season = 0.08 * np.sin(2 * np.pi * np.arange(weeks) / 52.0)
    log_units = (
        a[:, None]
        + eps[:, None] * np.log(price / ref[:, None])
        + Q["promo_effect"] * promo
        + season[None, :]
        + rng.normal(0, Q["noise_sd"], (G, weeks))
    )
    units = np.round(np.exp(log_units))
    cost = np.round(ref * np.asarray(Q["unit_cost_share"])[g_tier], 2)
    df = pd.DataFrame(
        {
            "period": np.tile(periods, G),
            "product": np.asarray(TIERS, dtype=object)[np.repeat(g_tier, weeks)],
            "region": np.asarray(REGIONS, dtype=object)[np.repeat(g_region, weeks)],
            "price": price.ravel(),
            "units": units.ravel(),
            "promo": promo.ravel().astype(np.int64),
            "unit_cost": np.repeat(cost, weeks),
        }
    )
    df["period"] = pd.to_datetime(df["period"])
    truth = {
        "model": "log(units) = a_g + elasticity_g * log(price / reference_price_g) + promo_effect * promo "
        "+ 0.08 * sin(2 pi week / 52) + Normal(0, noise_sd)",
        "elasticity_mu": Q["elasticity_mu"],
        "elasticity_tau": Q["elasticity_tau"],
        "elasticity_max": Q["elasticity_max"],
        "promo_effect": Q["promo_effect"],
        "noise_sd": Q["noise_sd"],
        "promo_price_cut": Q["promo_price_cut"],
        "groups": {
            f"{TIERS[t]}|{REGIONS[r]}": {
                "product": TIERS[t],
                "region": REGIONS[r],
                "elasticity": round(float(eps[g]), 6),
                "elasticity_drawn": round(float(eps_raw[g]), 6),
                "reference_price": round(float(ref[g]), 2),
                "intercept": round(float(a[g]), 6),
                "unit_cost": float(cost[g]),
            }
            for g, (t, r) in enumerate(zip(g_tier, g_region, strict=True))
        },
        "mean_elasticity_realised": round(float(eps.mean()), 6),
    }
    return df, truth
