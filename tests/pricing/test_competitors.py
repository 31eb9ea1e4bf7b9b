"""Competitor pricing: value gap, competitor-cut alert, win rate by competitor and its trigger."""

from __future__ import annotations

import pandas as pd
import pytest

from revlib import data
from revlib.pricing import competitors as cp
from revlib.pricing import rules
from tests.conftest import SAMPLE


@pytest.fixture(scope="module")
def sheet() -> pd.DataFrame:
    return data.load_tables(SAMPLE, ["competitor_prices"])["competitor_prices"]


def test_sample_sheet_is_the_frameworks_table(sheet):
    latest = cp.value_gap(sheet).set_index("competitor")
    expected = {
        "Apollo": (4800, 19200),
        "Outreach": (7200, 24000),
        "ZoomInfo": (15000, 35000),
        "HubSpot": (3600, 12000),
    }
    for comp, (low, high) in expected.items():
        assert (latest.loc[comp, "annual_price_low"], latest.loc[comp, "annual_price_high"]) == (
            low,
            high,
        )
    assert cp.our_annual_range() == (1788.0, 8988.0)  # growth and pro x 12
    assert latest.loc["Apollo", "gap_low"] == pytest.approx(4800 / 1788 - 1)
    assert latest.loc["HubSpot", "gap_high"] == pytest.approx(12000 / 8988 - 1)
    assert latest.loc["ZoomInfo", "gap_mid"] == pytest.approx(25000 / 5388 - 1)
    assert latest.index[0] == "ZoomInfo"  # largest gap first


def test_cut_alert_fires_above_ten_percent_only(sheet):
    alerts = cp.price_cut_alerts(sheet)
    fired = alerts[alerts["alert"]]
    assert list(zip(fired["competitor"], fired["product"], strict=True)) == [
        ("Apollo", "all plans low")
    ]
    assert fired["change"].iloc[0] == pytest.approx(4800 / 5400 - 1)
    # exactly 10 % does not alert
    ten = sheet.copy()
    ten.loc[
        (ten["competitor"] == "Apollo") & (ten["annual_price_low"] == 5400), "annual_price_low"
    ] = 4800 / 0.9
    assert not cp.price_cut_alerts(ten)["alert"].any()


def _deals(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["competitor", "status", "close_date"]).assign(
        type="new_business"
    )


def test_win_rates_and_triggers():
    recent, before = "2025-11-15", "2025-03-15"
    rows = (
        [("Apollo", "won", recent)] * 3
        + [("Apollo", "lost", recent)] * 22  # 12 % recent: under the 20 % floor
        + [("Apollo", "won", before)] * 5
        + [("Apollo", "lost", before)] * 20
        + [("ZoomInfo", "won", recent)] * 6
        + [("ZoomInfo", "lost", recent)] * 19  # 24 % now ...
        + [("ZoomInfo", "won", before)] * 10
        + [("ZoomInfo", "lost", before)] * 15  # ... from 40 %: fell 16 points
        + [("HubSpot", "won", recent)] * 1
        + [("HubSpot", "lost", recent)] * 9  # 10 %, but only 10 deals: no trigger
        + [("none", "won", recent)] * 4
        + [("Outreach", "open", recent)] * 50  # open deals do not count
    )
    rates = cp.win_rates(_deals(rows), as_of="2025-12-31").set_index("competitor")
    assert rates.loc["Apollo", "recent_win_rate"] == pytest.approx(3 / 25)
    assert rates.loc["ZoomInfo", "change"] == pytest.approx(6 / 25 - 10 / 25)
    assert rates.loc["no competitor", "all_deals"] == 4 and "Outreach" not in rates.index
    lo, hi = rates.loc["Apollo", ["recent_lower", "recent_upper"]]
    assert lo < 3 / 25 < hi
    trig = cp.win_rate_triggers(rates.reset_index()).set_index("competitor")
    assert trig.loc["Apollo", "trigger"] and "under the 20% floor" in trig.loc["Apollo", "why"]
    assert trig.loc["ZoomInfo", "trigger"] and "fell 16 points" in trig.loc["ZoomInfo", "why"]
    assert not trig.loc["HubSpot", "trigger"]
    assert "no competitor" not in trig.index


def test_win_rates_need_a_competitor_column():
    with pytest.raises(ValueError, match="opportunities has no competitor column"):
        cp.win_rates(_deals([("a", "won", "2025-01-01")]).drop(columns="competitor"))


def test_competitor_settings_are_checked():
    raw = dict(data.read_bundled_yaml("pricing_rules.yaml"))
    raw["competitor_alert"] = {"cut_threshold": 0.1, "min_deals": 0, "comparable_tiers": ["x"]}
    with pytest.raises(ValueError) as err:
        rules.load_rules(raw)
    assert "competitor_alert.min_deals must be a whole number >= 1, got 0" in str(err.value)
    assert "comparable_tiers must be two tiers" in str(err.value)
