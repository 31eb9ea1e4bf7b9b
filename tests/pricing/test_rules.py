"""Pricing rules: catalog, geographic levels, personalised quotes, ROI, competitor alerts."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from revlib import data
from revlib.data import read_bundled_yaml
from revlib.pricing import rules


def test_catalog_matches_the_companys_plan():
    # The rules file and the simulator describe the same company: same list prices, levels
    # and annual discount.
    from revlib.synth._core import REGION_PRICE_LEVEL, REGIONS, TIER_PRICE, TIERS, TRUE_PARAMS

    cat = rules.tier_catalog()
    assert list(cat["tier"]) == list(TIERS)
    assert np.allclose(cat["monthly_price"], TIER_PRICE)
    assert cat["annual_discount"].eq(TRUE_PARAMS["company"]["annual_discount"]).all()
    geo = rules.geo_levels()
    assert list(geo["region"]) == list(REGIONS)
    assert np.allclose(geo["level"], REGION_PRICE_LEVEL)


def test_catalog_annual_prices_golden():
    cat = rules.tier_catalog().set_index("tier")
    # starter: 49 a month; annual billing 49 x 0.85 = 41.65 a month, 499.80 a year, saves 88.20
    assert cat.loc["starter", "annual_monthly_price"] == pytest.approx(41.65)
    assert cat.loc["starter", "annual_price"] == pytest.approx(499.80)
    assert cat.loc["starter", "annual_saving"] == pytest.approx(88.20)
    assert cat.loc["enterprise", "annual_price"] == pytest.approx(1499 * 0.85 * 12)
    # the framework's convention: annual = monthly list x 12, no discount
    framework = rules.tier_catalog(annual_discount=0.0).set_index("tier")
    assert framework.loc["starter", "annual_price"] == pytest.approx(588.0)
    raw = read_bundled_yaml("pricing_rules.yaml")
    no_key = {k: v for k, v in raw.items() if k != "annual_discount"}
    assert rules.tier_catalog(rules=rules.load_rules(no_key)).loc[0, "annual_price"] == 588.0
    with pytest.raises(ValueError, match="annual_discount must be a share"):
        rules.tier_catalog(annual_discount=1.2)


def test_geo_price_list_golden():
    g = rules.geo_price_list().set_index(["tier", "region"])
    assert g.loc[("starter", "LATAM"), "regional_price"] == pytest.approx(34.30)
    assert g.loc[("enterprise", "OTHER"), "regional_price"] == pytest.approx(899.40)
    assert len(g) == 5 * 5


def test_quote_all_factors_golden():
    q = rules.quote_price(
        149,
        {"employees": 2000, "industry": "finance", "evaluation_days": 20, "competitor": "Apollo"},
    )
    # 1.20 (size) x 1.15 (finance) x 1.05 (short evaluation) x 0.95 (Apollo) = 1.37655
    assert q.multiplier == pytest.approx(1.37655)
    assert q.price == pytest.approx(205.10595)
    assert list(q.factors["name"]) == [
        "large company",
        "finance industry",
        "short evaluation",
        "competing with Apollo",
    ]
    assert q.factors["why"].str.len().gt(10).all()
    assert "205.11" in q.explanation()


@pytest.mark.parametrize(
    ("context", "multiplier"),
    [
        ({"employees": 1000}, 1.0),  # "> 1,000" is strict
        ({"employees": 1001}, 1.2),
        ({"employees": 50}, 1.0),  # "< 50" is strict
        ({"employees": 49, "industry": "nonprofit"}, 0.9 * 0.7),
        ({"industry": "Technology"}, 1.1),  # industry matches without case
        ({"industry": "healthcare"}, 1.05),
        ({"industry": "education"}, 0.85),
        ({"industry": "retail"}, 1.0),
        ({"evaluation_days": 30}, 1.0),
        ({"evaluation_days": 29}, 1.05),
        ({"competitor": "ZoomInfo"}, 1.0),
        ({"employees": None, "industry": None}, 1.0),  # unknown values apply nothing
        ({}, 1.0),
    ],
)
def test_quote_factor_conditions(context, multiplier):
    assert rules.quote_price(100.0, context).multiplier == pytest.approx(multiplier)


def test_quote_errors():
    with pytest.raises(ValueError, match=r"unknown quote context \['seats'\]"):
        rules.quote_price(100, {"seats": 10})
    with pytest.raises(ValueError, match="list_price must be > 0"):
        rules.quote_price(0, {})


def test_quote_factors_table_lists_every_rule():
    t = rules.quote_factors_table()
    assert len(t) == 9
    assert set(t["multiplier"]) == {1.2, 0.9, 1.1, 1.15, 1.05, 0.85, 0.7, 0.95}
    assert "employees > 1000" in set(t["condition"])


def test_rules_as_data_can_be_replaced():
    raw = data.read_bundled_yaml("pricing_rules.yaml")
    raw["quote_factors"] = [
        {
            "name": "big deal",
            "field": "seats",
            "op": ">=",
            "value": 100,
            "multiplier": 0.8,
            "why": "volume discount",
        }
    ]
    custom = rules.load_rules(raw)
    assert rules.quote_price(10, {"seats": 100}, rules=custom).price == pytest.approx(8.0)
    assert rules.quote_price(10, {"seats": 99}, rules=custom).price == pytest.approx(10.0)


def test_invalid_rules_list_every_problem():
    raw = data.read_bundled_yaml("pricing_rules.yaml")
    raw["annual_discount"] = 1.5
    raw["tiers"][0]["monthly_price"] = -1
    raw["quote_factors"][0]["op"] = "~"
    raw["quote_factors"][1]["multiplier"] = 0
    del raw["quote_factors"][2]["why"]
    with pytest.raises(ValueError) as err:
        rules.load_rules(raw)
    text = str(err.value)
    for part in (
        "annual_discount",
        "tier starter: monthly_price",
        "op must be one of",
        "multiplier must be > 0",
        "missing ['why']",
    ):
        assert part in text


def test_roi_golden():
    r = rules.roi_calculator(
        12_000, hours_saved_per_month=20, hourly_cost=60, implementation_cost=2_000
    )
    # benefit 20 h x 12 x 60 = 14,400; cost 12,000 + 2,000 = 14,000; ROI 400 / 14,000
    assert r["annual_benefit"] == pytest.approx(14_400)
    assert r["roi"] == pytest.approx(400 / 14_000)
    assert r["payback_months"] == pytest.approx(14_000 / 1_200)
    r3 = rules.roi_calculator(
        12_000, extra_revenue_per_year=30_000, other_savings_per_year=6_000, years=3
    )
    assert r3["total_benefit"] == pytest.approx(108_000)
    assert r3["roi"] == pytest.approx((108_000 - 36_000) / 36_000)
    assert math.isinf(rules.roi_calculator(1_000)["payback_months"])


def test_roi_errors():
    with pytest.raises(ValueError, match="annual_price must be > 0"):
        rules.roi_calculator(0)
    with pytest.raises(ValueError, match="hourly_cost must be a number >= 0"):
        rules.roi_calculator(100, hourly_cost=-5)
    with pytest.raises(ValueError, match="years must be a whole number >= 1"):
        rules.roi_calculator(100, years=0)


def test_competitor_alerts():
    prices = pd.DataFrame(
        {
            "competitor": [
                "Apollo",
                "Apollo",
                "Apollo",
                "ZoomInfo",
                "ZoomInfo",
                "HubSpot",
                "HubSpot",
            ],
            "product": ["growth"] * 7,
            "date": pd.to_datetime(
                [
                    "2025-01-01",
                    "2025-02-01",
                    "2025-03-01",
                    "2025-01-01",
                    "2025-02-01",
                    "2025-01-01",
                    "2025-02-01",
                ]
            ),
            "price": [100.0, 85.0, 85.0, 100.0, 90.0, 200.0, 170.0],
        }
    )
    out = rules.competitor_price_alerts(prices, our_prices={"growth": 149.0})
    assert len(out) == 4  # first observation of each competitor has no previous price
    alerts = out[out["alert"]]
    # Apollo -15 % and HubSpot -15 % alert; ZoomInfo -10 % is not "over 10 %"
    assert sorted(alerts["competitor"]) == ["Apollo", "HubSpot"]
    assert alerts.set_index("competitor").loc["Apollo", "change"] == pytest.approx(-0.15)
    assert "Apollo cut growth by 15%" in alerts.set_index("competitor").loc["Apollo", "message"]
    assert out.set_index("competitor").loc["HubSpot", "gap_to_us"] == pytest.approx(170 / 149 - 1)
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['date'\]"):
        rules.competitor_price_alerts(prices.drop(columns="date"))


def test_ppp_comparison_levels():
    recs = pd.DataFrame(
        {
            "product": ["a"] * 3,
            "region": ["EU", "NA", "LATAM"],
            "today_price": [90.0, 100.0, 70.0],
            "recommended_price": [72.0, 80.0, 64.0],
        }
    )
    out = rules.ppp_comparison(recs)
    assert list(out["region"]) == ["NA", "EU", "LATAM"]  # the rules' region order
    o = out.set_index("region")
    assert o.loc["EU", "today_level"] == pytest.approx(0.90)
    assert o.loc["EU", "recommended_level"] == pytest.approx(72 / 80)
    assert o.loc["LATAM", "recommended_level"] == pytest.approx(0.80)
    assert o.loc["LATAM", "change"] == pytest.approx(64 / 70 - 1)
    with pytest.raises(ValueError, match="lacks column"):
        rules.ppp_comparison(recs.drop(columns="today_price"))


@pytest.mark.parametrize(
    ("country", "region", "level"),
    [
        ("US", "NA", 1.00),
        ("CA", "NA", 1.00),
        ("GB", "EU", 1.00),  # the UK is not EU-90 % although the contract puts it in EU
        ("DE", "EU", 0.90),
        ("AU", "APAC", 0.85),
        ("JP", "APAC", 0.85),
        ("IN", "APAC", 0.60),  # India is emerging: 60 %, not developed-APAC 85 %
        ("BR", "LATAM", 0.70),
        ("ZA", "OTHER", 0.60),
        ("gb", "EU", 1.00),  # codes match without case
    ],
)
def test_price_levels_by_country_match_the_framework(country, region, level):
    out = rules.price_levels([country], [region])
    assert out["level"].iloc[0] == pytest.approx(level)
    assert out["basis"].iloc[0].startswith("country: ")


def test_price_levels_fall_back_to_the_region():
    out = rules.price_levels([None, "XX"], ["LATAM", "EU"])
    assert list(out["level"]) == pytest.approx([0.70, 0.90])
    assert list(out["basis"]) == ["region: LATAM", "region: EU"]
    with pytest.raises(ValueError, match=r"no price level for country/region \['XX/MARS'\]"):
        rules.price_levels(["XX"], ["MARS"])
    with pytest.raises(ValueError, match="differ in length"):
        rules.price_levels(["US"], ["NA", "EU"])


def test_country_levels_are_checked():
    raw = dict(data.read_bundled_yaml("pricing_rules.yaml"))
    raw["geo_country_levels"] = [
        {"group": "a", "level": 1.0, "countries": ["US", "gb"]},
        {"group": "b", "level": 3.0, "countries": ["US"]},
    ]
    with pytest.raises(ValueError) as err:
        rules.load_rules(raw)
    msg = str(err.value)
    assert "'gb' is not an ISO alpha-2 code" in msg
    assert "geo country group b: level must be in (0, 2], got 3.0" in msg
    assert "more than one group: ['US']" in msg


def test_country_price_list_golden():
    g = rules.country_price_list().set_index(["tier", "group"])
    assert g.loc[("starter", "other emerging"), "regional_price"] == pytest.approx(29.40)
    assert g.loc[("growth", "EU"), "regional_price"] == pytest.approx(134.10)
    assert g.loc[("growth", "US, UK and Canada"), "regional_price"] == pytest.approx(149.0)
    assert "GB" in g.loc[("growth", "US, UK and Canada"), "countries"]
    assert len(g) == 5 * 5


def test_quote_rounds_as_the_framework_does():
    q = rules.quote_price(
        149,
        {"employees": 2000, "industry": "finance", "evaluation_days": 20, "competitor": "Apollo"},
    )
    assert q.quoted == 205.0  # 205.11 -> 205
    assert "quoted at 205." in q.explanation()
    assert list(rules.round_price([205.11, 205.5, 204.5, 99.49])) == [205, 206, 205, 99]


def test_a_list_of_competitors_gets_the_apollo_concession():
    base = {"employees": 500, "industry": "retail"}
    for comp in (["ZoomInfo", "Apollo"], ("apollo",), "Apollo"):
        assert rules.quote_price(100, {**base, "competitor": comp}).multiplier == pytest.approx(
            0.95
        ), comp
    for comp in (["ZoomInfo", "HubSpot"], [], None):
        assert rules.quote_price(100, {**base, "competitor": comp}).multiplier == 1.0, comp


def test_batch_quotes_equal_one_by_one_quotes():
    ctx = pd.DataFrame(
        {
            "employees": [2000, 10, 500, None, 1000],
            "industry": ["finance", "nonprofit", "Technology", None, "education"],
            "evaluation_days": [20, 40, 10, None, 30],
            "competitor": [["ZoomInfo", "Apollo"], "Apollo", [], "none", ["HubSpot"]],
        }
    )
    prices = [149.0, 49.0, 299.0, 749.0, 1499.0]
    batch = rules.quote_prices(prices, ctx)
    for i, p in enumerate(prices):
        one = rules.quote_price(p, {k: v for k, v in ctx.iloc[i].items() if v is not None})
        assert batch["multiplier"].iloc[i] == pytest.approx(one.multiplier), i
        assert batch["quote"].iloc[i] == one.quoted, i
        assert batch["factors"].iloc[i] == "; ".join(one.factors["name"]), i
    assert batch["quote"].iloc[0] == 205.0
    with pytest.raises(ValueError, match=r"unknown quote context columns \['seats'\]"):
        rules.quote_prices([1.0], pd.DataFrame({"seats": [3]}))
    with pytest.raises(ValueError, match="list_price must be > 0; 1 rows"):
        rules.quote_prices([0.0], pd.DataFrame({"employees": [3]}))


def test_every_open_deal_gets_a_quote():
    from tests.conftest import SAMPLE

    t = data.load_tables(SAMPLE, ["opportunities", "accounts"])
    q = rules.open_deal_quotes(t["opportunities"], t["accounts"])
    open_ids = set(t["opportunities"].loc[t["opportunities"]["status"] == "open", "opportunity_id"])
    assert set(q["opportunity_id"]) == open_ids and q.attrs["skipped"] == 0
    assert (q["quote"] == np.floor(q["quote"])).all()  # whole units
    # each quote is the local list price (country level) x the factors, rounded
    row = q.loc[q["country"].eq("GB")].iloc[0]
    assert row["level"] == 1.0  # GB pays the full price
    acc = t["accounts"].set_index("account_id").loc[row["account_id"]]
    one = rules.quote_price(
        row["list_price"],
        {
            "employees": int(acc["employees"]),
            "industry": acc["industry"],
            "evaluation_days": int(row["evaluation_days"]),
            "competitor": rules.competitor_list(row["competitors"]),
        },
    )
    assert row["quote"] == one.quoted
    ladder = rules.quote_ladder(
        q, pd.DataFrame({"product": ["growth"], "region": ["NA"], "recommended_price": [100.0]})
    )
    assert ladder["deals"].sum() == len(q)
    g = ladder.set_index(["product", "region"]).loc[("growth", "NA")]
    assert g["quote_vs_recommended"] == pytest.approx(g["quote_median"] / 100 - 1)


def test_quote_report_reads_the_elasticity_artifact_or_says_it_is_missing(tmp_path):
    from revlib.pricing import report

    out = tmp_path / "run" / "price_test"
    path, recs = report.read_recommendations(out)
    assert recs is None and path == tmp_path / "run" / "price_elasticity" / (
        "price_recommendations.csv"
    )
    quotes = pd.DataFrame({"quote": [205.0], "list_price": [149.0]})
    missing = str(report.quote_callout(quotes, path, recs))
    assert "No elasticity recommendations at" in missing and "+37.6 %" in missing
    path.parent.mkdir(parents=True)
    pd.DataFrame({"product": ["growth"], "region": ["NA"], "recommended_price": [139.0]}).to_csv(
        path, index=False
    )
    found_path, found = report.read_recommendations(out)
    assert found_path == path and found["recommended_price"].tolist() == [139.0]
    assert found["region"].tolist() == ["NA"]  # North America, not a missing value
    assert "read from" in str(report.quote_callout(quotes, found_path, found))
    other = tmp_path / "elsewhere.csv"
    assert report.read_recommendations(out, str(other)) == (other, None)
