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
    op, value, multiplier, why), "competitor_cut_threshold", "competitor_win_rate" (window_months,
    win_rate_floor, win_rate_drop, min_deals), "comparable_tiers" (lowest, highest)}.
    """
    if raw is None:
        raw = read_bundled_yaml("pricing_rules.yaml")
    raw = dict(raw)
    problems: list[str] = []
    disc = raw.get("annual_discount", 0.0)  # absent: the framework's monthly list x 12
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
    alert = dict(raw.get("competitor_alert") or {})
    cut = alert.get("cut_threshold", 0.10)
    if not (isinstance(cut, (int, float)) and 0 < cut < 1):
        problems.append(f"competitor_alert.cut_threshold must be a share in (0, 1), got {cut!r}")
    win = {
        "window_months": alert.get("window_months", 6),
        "win_rate_floor": alert.get("win_rate_floor", 0.20),
        "win_rate_drop": alert.get("win_rate_drop", 0.10),
        "min_deals": alert.get("min_deals", 20),
    }
    for key in ("window_months", "min_deals"):
        if not (isinstance(win[key], int) and win[key] >= 1):
            problems.append(f"competitor_alert.{key} must be a whole number >= 1, got {win[key]!r}")
    for key in ("win_rate_floor", "win_rate_drop"):
        if not (isinstance(win[key], (int, float)) and 0 <= win[key] < 1):
            problems.append(f"competitor_alert.{key} must be a share in [0, 1), got {win[key]!r}")
    comparable = list(alert.get("comparable_tiers") or [])
    tier_names = [t["tier"] for t in tiers]
    if comparable and (len(comparable) != 2 or not set(comparable) <= set(tier_names)):
        problems.append(
            f"competitor_alert.comparable_tiers must be two tiers of {tier_names}, got {comparable!r}"
        )
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
        "competitor_win_rate": win,
        "comparable_tiers": comparable or [tier_names[0], tier_names[-1]],
    }


# ----------------------------------------------------------------------------- catalog


def tier_catalog(
    *, rules: Mapping[str, Any] | None = None, annual_discount: float | None = None
) -> pd.DataFrame:
    """Tier prices per seat: monthly billing, annual billing (per month and per year).

    ``annual_monthly_price`` = monthly price x (1 - annual discount); ``annual_price`` = 12 x
    that (money per seat per year); ``annual_saving`` = what annual billing saves per year.
    ``annual_discount`` (share) overrides the rules' value; rules without one use 0, the
    framework's convention (annual price = monthly list x 12: $49 -> $588).
    """
    r = rules or load_rules()
    disc = r["annual_discount"] if annual_discount is None else float(annual_discount)
    if not 0 <= disc < 1:
        raise ValueError(f"annual_discount must be a share in [0, 1), got {annual_discount!r}")
    out = r["tiers"].copy()
    out["annual_discount"] = disc
    out["annual_monthly_price"] = out["monthly_price"] * (1 - disc)
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

    @property
    def quoted(self) -> float:
        """The price as quoted: rounded to whole currency units (:func:`round_price`)."""
        return float(round_price(self.price))

    def explanation(self) -> str:
        """One sentence per factor, in the order applied."""
        if self.factors.empty:
            return f"List price {self.list_price:,.2f}: no quote factor applies."
        parts = [
            f"{r['name']} (x{r['multiplier']:.2f}: {r['why']})" for _, r in self.factors.iterrows()
        ]
        return (
            f"List price {self.list_price:,.2f} x {self.multiplier:.4f} = {self.price:,.2f}, "
            f"quoted at {self.quoted:,.0f}. " + " ".join(parts)
        )


def round_price(price: Any) -> Any:
    """Round a price as the framework quotes it: to whole currency units, halves up
    (205.11 -> 205, 205.5 -> 206). Scalars or arrays."""
    return np.floor(np.asarray(price, dtype=float) + 0.5)


def _holds(value: Any, op: str, threshold: Any) -> bool:
    """Whether ``value op threshold`` holds; a list (e.g. several competitors) holds when any
    of its items does; a missing value never holds."""
    if isinstance(value, (list, tuple, set, frozenset, np.ndarray)):
        return any(_holds(v, op, threshold) for v in value)
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


def quote_prices(
    list_price: Sequence[float] | pd.Series,
    context: pd.DataFrame,
    *,
    rules: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """:func:`quote_price` for many deals at once (one row of ``context`` per list price).

    ``context`` columns are quote fields (employees, industry, evaluation_days, competitor; a
    cell may hold a list, e.g. several competitors: a factor applies when any item matches).
    Returns list_price, multiplier, price (unrounded), quote (:func:`round_price`) and
    ``factors`` (names of the factors that applied, "; "-joined), index of ``context``.
    """
    r = rules or load_rules()
    table = r["quote_factors"]
    unknown = sorted(set(context.columns) - set(table["field"]))
    if unknown:
        raise ValueError(
            f"unknown quote context columns {unknown}; the rules use {sorted(set(table['field']))}"
        )
    lp = pd.Series(np.asarray(list_price, dtype=float), index=context.index)
    bad = lp[~(lp > 0)]
    if len(bad):
        raise ValueError(
            f"list_price must be > 0; {len(bad)} rows are not (first: {list(bad.index[:5])})"
        )
    mult = pd.Series(1.0, index=context.index)
    names = pd.Series("", index=context.index, dtype=object)
    for _, f in table.iterrows():
        if f["field"] not in context.columns:
            continue
        col = context[f["field"]]
        if f["op"] in OPS and not isinstance(f["value"], str) and col.dtype != object:
            held = OPS[f["op"]](pd.to_numeric(col, errors="coerce"), float(f["value"]))
            held = held.fillna(False).astype(bool)
        else:
            held = col.map(lambda v, f=f: _holds(v, f["op"], f["value"])).astype(bool)
        mult = mult.where(~held, mult * float(f["multiplier"]))
        names = names.where(~held, names + np.where(names == "", "", "; ") + f["name"])
    price = lp * mult
    return pd.DataFrame(
        {
            "list_price": lp,
            "multiplier": mult,
            "price": price,
            "quote": round_price(price),
            "factors": names,
        }
    )


def competitor_list(value: Any) -> list[str]:
    """A CRM competitor cell as a list: "Apollo; ZoomInfo" or a list -> names; none/blank -> []."""
    if isinstance(value, (list, tuple, set, np.ndarray)):
        items = [str(v) for v in value]
    elif value is None or (isinstance(value, float) and math.isnan(value)):
        items = []
    else:
        items = str(value).replace(",", ";").split(";")
    return [i.strip() for i in items if i.strip() and i.strip().lower() != "none"]


def open_deal_quotes(
    opportunities: pd.DataFrame,
    accounts: pd.DataFrame,
    *,
    rules: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """A personalised quote for every open deal, per seat per month.

    Context per deal: the account's ``employees`` and ``industry``; ``evaluation_days`` = the
    deal's expected close date - its created date (days); ``competitor`` = the deal's
    competitors (:func:`competitor_list`; returned "; "-joined in ``competitors``). Local list price = the product's monthly list
    price x the account's price level by country, else region (:func:`price_levels`); quote =
    local list x every quote factor that holds (:func:`quote_prices`), rounded to whole units.
    Deals whose product is not a tier of the catalog are left out (``skipped`` in ``attrs``).
    """
    r = rules or load_rules()
    require_columns(
        opportunities,
        "opportunities",
        ["opportunity_id", "account_id", "product", "status", "created_date", "close_date"],
    )
    require_columns(accounts, "accounts", ["account_id", "region"])
    deals = opportunities.loc[opportunities["status"] == "open"].copy()
    acc = accounts.set_index("account_id")
    for c in ("employees", "industry", "country"):
        deals[c] = deals["account_id"].map(acc[c]) if c in acc.columns else np.nan
    deals["region"] = deals["account_id"].map(acc["region"])
    catalog = r["tiers"].set_index("tier")["monthly_price"]
    deals["list_price"] = deals["product"].map(catalog)
    skipped = int(deals["list_price"].isna().sum())
    deals = deals.loc[deals["list_price"].notna()].reset_index(drop=True)
    levels = price_levels(deals["country"], deals["region"], rules=r)
    deals["level"], deals["level_basis"] = levels["level"], levels["basis"]
    deals["local_list_price"] = deals["list_price"] * deals["level"]
    deals["evaluation_days"] = (
        pd.to_datetime(deals["close_date"]) - pd.to_datetime(deals["created_date"])
    ).dt.days
    comp = deals["competitor"] if "competitor" in deals.columns else pd.Series(None, deals.index)
    deals["competitors"] = comp.map(competitor_list)
    context = pd.DataFrame(
        {
            "employees": pd.to_numeric(deals["employees"], errors="coerce"),
            "industry": deals["industry"],
            "evaluation_days": deals["evaluation_days"],
            "competitor": deals["competitors"],
        }
    )
    q = quote_prices(deals["local_list_price"], context, rules=r)
    out = deals[
        [
            "opportunity_id",
            "account_id",
            "product",
            "country",
            "region",
            "employees",
            "industry",
            "evaluation_days",
            "competitors",
            "list_price",
            "level",
            "level_basis",
            "local_list_price",
        ]
    ].assign(
        competitors=deals["competitors"].map("; ".join),
        multiplier=q["multiplier"],
        quote=q["quote"],
        vs_list=q["quote"] / deals["list_price"] - 1,
        factors=q["factors"],
    )
    out.attrs["skipped"] = skipped
    return out


def quote_ladder(
    quotes: pd.DataFrame,
    recommendations: pd.DataFrame | None = None,
    *,
    rules: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """The price ladder the quotes imply, per product x region: deals, the catalog's local list
    price (median), the quotes' 10th percentile, median and 90th percentile and the median
    multiplier (money per seat per month); with ``recommendations`` (product, region,
    recommended_price, e.g. the elasticity report's ``price_recommendations.csv``) also the
    model's recommended price and the median quote over it - 1."""
    require_columns(quotes, "quotes", ["product", "region", "local_list_price", "quote"])
    g = quotes.groupby(["product", "region"], sort=False)
    out = g.agg(
        deals=("quote", "size"),
        list_price=("list_price", "median"),
        local_list_price=("local_list_price", "median"),
        quote_p10=("quote", lambda s: s.quantile(0.1)),
        quote_median=("quote", "median"),
        quote_p90=("quote", lambda s: s.quantile(0.9)),
        median_multiplier=("multiplier", "median"),
    ).reset_index()
    if recommendations is not None:
        require_columns(
            recommendations, "recommendations", ["product", "region", "recommended_price"]
        )
        out = out.merge(
            recommendations[["product", "region", "recommended_price"]],
            on=["product", "region"],
            how="left",
        )
        out["quote_vs_recommended"] = out["quote_median"] / out["recommended_price"] - 1
    order = {t: i for i, t in enumerate((rules or load_rules())["tiers"]["tier"])}
    return out.sort_values(
        ["product", "region"], key=lambda s: s.map(order) if s.name == "product" else s
    ).reset_index(drop=True)


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
