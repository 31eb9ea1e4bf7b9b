"""The revenue team's pricing rules: tier catalog, geographic levels, personalised quotes,
ROI calculator and competitor price alerts.

The rules are data - the package file ``revlib/pricing_rules.yaml`` - checked by
:func:`load_rules` (every problem listed in one ``ValueError``). Every function takes the
checked rules as ``rules=`` (default: the bundled file), so a team can try other rules in code.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from revlib.data import read_bundled_yaml, require_columns

OPS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le, "==": operator.eq}
OPS_IN = "in"


def load_rules(raw: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Check pricing rules (default: the bundled YAML) and return them normalised.

    Returns {"currency", "annual_discount", "tiers": DataFrame(tier, monthly_price,
    description), "geo": DataFrame(region, level, why), "geo_countries": DataFrame(country,
    group, level, why) (country levels override region levels), "quote_factors": DataFrame(name, field,
    op, value, multiplier, why), "competitor_cut_threshold"}.
    """
    if raw is None:
        raw = read_bundled_yaml("pricing_rules.yaml")
    raw = dict(raw)
    problems: list[str] = []
    disc = raw.get("annual_discount")
    if not (isinstance(disc, (int, float)) and 0 <= disc < 1):
        problems.append(f"annual_discount must be a share in [0, 1), got {disc!r}")
    tiers = []
    for i, t in enumerate(raw.get("tiers") or []):
        name, price = t.get("name"), t.get("monthly_price")
        if not name:
            problems.append(f"tier {i + 1}: needs a name")
        if not (isinstance(price, (int, float)) and price > 0):
            problems.append(f"tier {name or i + 1}: monthly_price must be > 0, got {price!r}")
        tiers.append(
            {
                "tier": str(name),
                "monthly_price": float(price or 0),
                "description": str(t.get("description", "")),
            }
        )
    if not tiers:
        problems.append("tiers: at least one tier is needed")
    geo = []
    for region, spec in dict(raw.get("geo_price_levels") or {}).items():
        spec = spec if isinstance(spec, Mapping) else {"level": spec}
        level = spec.get("level")
        if not (isinstance(level, (int, float)) and 0 < level <= 2):
            problems.append(f"geo level {region}: level must be in (0, 2], got {level!r}")
        geo.append(
            {"region": str(region), "level": float(level or 0), "why": str(spec.get("why", ""))}
        )
    countries = []
    for i, spec in enumerate(raw.get("geo_country_levels") or []):
        group, level = spec.get("group") or f"group {i + 1}", spec.get("level")
        if not (isinstance(level, (int, float)) and 0 < level <= 2):
            problems.append(f"geo country group {group}: level must be in (0, 2], got {level!r}")
        for code in spec.get("countries") or []:
            if not (isinstance(code, str) and len(code) == 2 and code.isupper()):
                problems.append(f"geo country group {group}: {code!r} is not an ISO alpha-2 code")
            countries.append(
                {
                    "country": str(code),
                    "group": str(group),
                    "level": float(level or 0),
                    "why": str(spec.get("why", "")),
                }
            )
    seen = pd.Series([c["country"] for c in countries], dtype=object)
    dupes = sorted(set(seen[seen.duplicated()]))
    if dupes:
        problems.append(f"geo_country_levels: countries listed in more than one group: {dupes}")
    factors = []
    for i, f in enumerate(raw.get("quote_factors") or []):
        name = f.get("name") or f"factor {i + 1}"
        missing = [k for k in ("field", "op", "value", "multiplier", "why") if k not in f]
        if missing:
            problems.append(f"quote factor {name}: missing {missing}")
            continue
        if f["op"] not in (*OPS, OPS_IN):
            problems.append(
                f"quote factor {name}: op must be one of {[*OPS, OPS_IN]}, got {f['op']!r}"
            )
        if not (isinstance(f["multiplier"], (int, float)) and f["multiplier"] > 0):
            problems.append(f"quote factor {name}: multiplier must be > 0, got {f['multiplier']!r}")
        factors.append(
            {"name": name, **{k: f[k] for k in ("field", "op", "value", "multiplier", "why")}}
        )
    cut = dict(raw.get("competitor_alert") or {}).get("cut_threshold", 0.10)
    if not (isinstance(cut, (int, float)) and 0 < cut < 1):
        problems.append(f"competitor_alert.cut_threshold must be a share in (0, 1), got {cut!r}")
    if problems:
        raise ValueError("pricing rules are invalid: " + "; ".join(problems))
    return {
        "currency": str(raw.get("currency", "USD")),
        "annual_discount": float(disc or 0),
        "tiers": pd.DataFrame(tiers),
        "geo": pd.DataFrame(geo),
        "geo_countries": pd.DataFrame(countries, columns=["country", "group", "level", "why"]),
        "quote_factors": pd.DataFrame(factors),
        "competitor_cut_threshold": float(cut),
    }


# ----------------------------------------------------------------------------- catalog


def tier_catalog(*, rules: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Tier prices per seat: monthly billing, annual billing (per month and per year).

    ``annual_monthly_price`` = monthly price x (1 - annual discount); ``annual_price`` = 12 x
    that (money per seat per year); ``annual_saving`` = what annual billing saves per year.
    """
    r = rules or load_rules()
    out = r["tiers"].copy()
    out["annual_discount"] = r["annual_discount"]
    out["annual_monthly_price"] = out["monthly_price"] * (1 - r["annual_discount"])
    out["annual_price"] = 12 * out["annual_monthly_price"]
    out["annual_saving"] = 12 * out["monthly_price"] - out["annual_price"]
    return out[
        [
            "tier",
            "monthly_price",
            "annual_discount",
            "annual_monthly_price",
            "annual_price",
            "annual_saving",
            "description",
        ]
    ]


def geo_levels(*, rules: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Geographic price levels: share of the NA list price charged per region (1.0 = list)."""
    return (rules or load_rules())["geo"].copy()


def geo_price_list(*, rules: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Monthly list price per seat of every tier in every region: list price x region level."""
    r = rules or load_rules()
    out = r["tiers"][["tier", "monthly_price"]].merge(r["geo"][["region", "level"]], how="cross")
    out["regional_price"] = out["monthly_price"] * out["level"]
    return out


def country_levels(*, rules: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """The framework's price levels by country (country, group, level, why; 1.0 = list price).
    A country listed here pays its level whatever its region (GB 1.00 although in EU, IN 0.60
    although in APAC); other countries pay their region's level (:func:`geo_levels`)."""
    return (rules or load_rules())["geo_countries"].copy()


def price_levels(
    country: Sequence[Any] | pd.Series,
    region: Sequence[Any] | pd.Series,
    *,
    rules: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Price level (share of the NA list price) of each (country, region) pair, vectorised.

    The country's level where the country is listed (:func:`country_levels`), else the region's
    (:func:`geo_levels`). Returns ``level`` and ``basis`` ("country: <group>" or "region: <R>").
    A missing country falls back to the region; a pair matching neither is an error naming it.
    """
    r = rules or load_rules()
    c = pd.Series(np.asarray(country, dtype=object)).where(lambda s: s.notna(), None)
    g = pd.Series(np.asarray(region, dtype=object))
    if len(c) != len(g):
        raise ValueError(f"country and region differ in length: {len(c)} vs {len(g)}")
    by_country = r["geo_countries"].set_index("country")
    by_region = r["geo"].set_index("region")["level"]
    key = c.astype(str).str.upper()
    c_level = key.map(by_country["level"]).where(c.notna())
    r_level = g.astype(str).map(by_region)
    level = c_level.fillna(r_level)
    bad = level.isna()
    if bad.any():
        pairs = sorted({f"{a}/{b}" for a, b in zip(c[bad], g[bad], strict=True)})[:5]
        raise ValueError(
            f"no price level for country/region {pairs} ({int(bad.sum())} rows); regions with a "
            f"level: {list(by_region.index)}"
        )
    basis = np.where(
        c_level.notna(),
        "country: " + key.map(by_country["group"]).fillna("").astype(str),
        "region: " + g.astype(str),
    )
    return pd.DataFrame({"level": level.astype(float).to_numpy(), "basis": basis})


def country_price_list(*, rules: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Monthly list price per seat of every tier in every country group of the framework:
    list price x group level (one row per tier x group; money per seat per month)."""
    r = rules or load_rules()
    groups = (
        r["geo_countries"]
        .groupby("group", sort=False)
        .agg(level=("level", "first"), countries=("country", ", ".join))
    )
    out = r["tiers"][["tier", "monthly_price"]].merge(groups.reset_index(), how="cross")
    out["regional_price"] = out["monthly_price"] * out["level"]
    return out


def ppp_comparison(
    recommendations: pd.DataFrame, *, rules: Mapping[str, Any] | None = None
) -> pd.DataFrame:
    """The recommended price by region next to today's geographic levels.

    ``recommendations``: one row per product x region with ``today_price`` and
    ``recommended_price`` (e.g. :func:`revlib.pricing.elasticity.optimal_prices`). Per product,
    ``today_level`` is the rule level of the region and ``recommended_level`` the recommended
    price over the recommended price of the reference region (level 1.0, NA): the
    purchasing-power ladder the model suggests. Ratios.
    """
    r = rules or load_rules()
    need = ["product", "region", "today_price", "recommended_price"]
    require_columns(recommendations, "recommendations", need)
    geo = r["geo"]
    ref_region = geo.loc[geo["level"].idxmax(), "region"]
    out = recommendations[need].merge(
        geo[["region", "level"]].rename(columns={"level": "today_level"}), on="region", how="left"
    )
    ref = out.loc[out["region"] == ref_region].set_index("product")
    out["recommended_level"] = out["recommended_price"] / out["product"].map(
        ref["recommended_price"]
    )
    out["today_observed_level"] = out["today_price"] / out["product"].map(ref["today_price"])
    out["change"] = out["recommended_price"] / out["today_price"] - 1
    order = {reg: i for i, reg in enumerate(geo["region"])}
    return out.sort_values(
        ["product", "region"], key=lambda s: s.map(order) if s.name == "region" else s
    ).reset_index(drop=True)


# ----------------------------------------------------------------------------- quotes


@dataclass(frozen=True)
class Quote:
    """A personalised price: the list price, the multiplier and every factor that applied."""

    list_price: float
    multiplier: float
    price: float
    factors: pd.DataFrame  # name, condition, multiplier, why (the factors that applied)

    def explanation(self) -> str:
        """One sentence per factor, in the order applied."""
        if self.factors.empty:
            return f"List price {self.list_price:,.2f}: no quote factor applies."
        parts = [
            f"{r['name']} (x{r['multiplier']:.2f}: {r['why']})" for _, r in self.factors.iterrows()
        ]
        return (
            f"List price {self.list_price:,.2f} x {self.multiplier:.4f} = {self.price:,.2f}. "
            + " ".join(parts)
        )


def _holds(value: Any, op: str, threshold: Any) -> bool:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return False
    if op == OPS_IN:
        return value in threshold
    if isinstance(threshold, str):
        return op == "==" and str(value).lower() == threshold.lower()
    return bool(OPS[op](float(value), float(threshold)))


def quote_price(
    list_price: float, context: Mapping[str, Any], *, rules: Mapping[str, Any] | None = None
) -> Quote:
    """Personalised quote price: list price x the product of every quote factor whose
    condition holds for ``context`` (e.g. employees, industry, evaluation_days, competitor).

    Factors come from the rules (company size > 1,000 employees x1.2, < 50 x0.9; industry
    technology x1.1, finance x1.15, healthcare x1.05, education x0.85, nonprofit x0.7;
    evaluation under 30 days x1.05; competing with Apollo x0.95). Missing context keys apply
    no factor. Money in the list price's currency.
    """
    if not list_price > 0:
        raise ValueError(f"list_price must be > 0, got {list_price!r}")
    r = rules or load_rules()
    table = r["quote_factors"]
    unknown = sorted(set(context) - set(table["field"]))
    if unknown:
        raise ValueError(
            f"unknown quote context {unknown}; the rules use {sorted(set(table['field']))}"
        )
    applied = []
    mult = 1.0
    for _, f in table.iterrows():
        if _holds(context.get(f["field"]), f["op"], f["value"]):
            mult *= float(f["multiplier"])
            applied.append(
                {
                    "name": f["name"],
                    "condition": f"{f['field']} {f['op']} {f['value']}",
                    "multiplier": float(f["multiplier"]),
                    "why": f["why"],
                }
            )
    factors = pd.DataFrame(applied, columns=["name", "condition", "multiplier", "why"])
    return Quote(
        list_price=float(list_price),
        multiplier=mult,
        price=float(list_price) * mult,
        factors=factors,
    )


def quote_factors_table(*, rules: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Every quote factor with its condition, multiplier and explanation (for reports)."""
    t = (rules or load_rules())["quote_factors"].copy()
    t["condition"] = t["field"] + " " + t["op"] + " " + t["value"].astype(str)
    return t[["name", "condition", "multiplier", "why"]]


# ----------------------------------------------------------------------------- ROI


def roi_calculator(
    annual_price: float,
    *,
    hours_saved_per_month: float = 0.0,
    hourly_cost: float = 0.0,
    extra_revenue_per_year: float = 0.0,
    other_savings_per_year: float = 0.0,
    implementation_cost: float = 0.0,
    years: int = 1,
) -> dict[str, float]:
    """Return on investment of a subscription for the customer over ``years``.

    Annual benefit = hours saved per month x 12 x hourly cost + extra revenue + other savings.
    ROI = (benefit x years - cost) / cost with cost = annual price x years + implementation
    cost (ratio; 2.0 = the customer gets 3x what they pay). Payback months = cost of the first
    year (annual price + implementation) / monthly benefit. Money per year.
    """
    values = {
        "annual_price": annual_price,
        "hours_saved_per_month": hours_saved_per_month,
        "hourly_cost": hourly_cost,
        "extra_revenue_per_year": extra_revenue_per_year,
        "other_savings_per_year": other_savings_per_year,
        "implementation_cost": implementation_cost,
    }
    problems = [
        f"{k} must be a number >= 0, got {v!r}"
        for k, v in values.items()
        if not (isinstance(v, (int, float)) and v >= 0)
    ]
    if not (isinstance(annual_price, (int, float)) and annual_price > 0):
        problems.append(f"annual_price must be > 0, got {annual_price!r}")
    if not (isinstance(years, int) and years >= 1):
        problems.append(f"years must be a whole number >= 1, got {years!r}")
    if problems:
        raise ValueError("invalid ROI inputs: " + "; ".join(dict.fromkeys(problems)))
    benefit = (
        hours_saved_per_month * 12 * hourly_cost + extra_revenue_per_year + other_savings_per_year
    )
    cost = annual_price * years + implementation_cost
    return {
        "annual_benefit": benefit,
        "total_benefit": benefit * years,
        "total_cost": cost,
        "net_value": benefit * years - cost,
        "roi": (benefit * years - cost) / cost,
        "payback_months": (annual_price + implementation_cost) / (benefit / 12)
        if benefit > 0
        else float("inf"),
    }


# ----------------------------------------------------------------------------- competitors


def competitor_price_alerts(
    competitor_prices: pd.DataFrame,
    *,
    rules: Mapping[str, Any] | None = None,
    our_prices: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Competitor price changes, with an alert where a competitor cut a price by more than
    the threshold (10 % by default) since its previous observation.

    ``competitor_prices``: columns competitor, product, date, price (one row per observation).
    Returns every change (``change`` = price / previous price - 1, ratio) with ``alert`` and a
    ``message``; with ``our_prices`` (product -> our price) also ``gap_to_us`` = their price /
    ours - 1.
    """
    need = ["competitor", "product", "date", "price"]
    require_columns(competitor_prices, "competitor_prices", need)
    cut = (rules or load_rules())["competitor_cut_threshold"]
    df = (
        competitor_prices[need]
        .sort_values(["competitor", "product", "date"])
        .reset_index(drop=True)
    )
    df["previous_price"] = df.groupby(["competitor", "product"])["price"].shift()
    df = df.dropna(subset=["previous_price"]).reset_index(drop=True)
    df["change"] = df["price"] / df["previous_price"] - 1
    df["alert"] = df["change"] < -cut
    df["message"] = [
        f"{c} cut {p} by {-ch:.0%} ({prev:,.2f} -> {now:,.2f}) on {pd.Timestamp(d).date()}"
        if a
        else ""
        for c, p, ch, prev, now, d, a in zip(
            df["competitor"],
            df["product"],
            df["change"],
            df["previous_price"],
            df["price"],
            df["date"],
            df["alert"],
            strict=True,
        )
    ]
    if our_prices is not None:
        df["gap_to_us"] = df["price"] / df["product"].map(dict(our_prices)) - 1
    return df
