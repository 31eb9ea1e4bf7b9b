"""KPIs beyond the MRR bridge: velocity, milestones, unit economics, bookings, renewal rate,
quote-to-cash, alerts and the tracker's assembly. Hand-computed values throughout."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest

from revlib import metrics, reporting
from revlib.metrics import (
    DEFAULT_THRESHOLDS,
    REFERENCE_THRESHOLDS,
    actual_daily_velocity,
    alerts,
    arpa,
    arpa_by_month,
    arr_progress,
    arr_velocity,
    as_of_month,
    bookings_composition,
    cac,
    cac_payback_months,
    cash_by_month,
    check_thresholds,
    cohort_csv,
    cohort_revenue_retention,
    cohort_sizes,
    collection_rate,
    data_end_note,
    deferred_revenue,
    deferred_revenue_rollforward,
    dso,
    gross_margin,
    last_complete_month,
    load_thresholds,
    ltv,
    ltv_to_cac,
    magic_number,
    mean_logo_churn,
    milestones,
    month_window,
    mrr_movements,
    mrr_panel,
    new_accounts,
    operating_margin,
    receivables,
    renewal_rate,
    required_daily_velocity,
    retention_table,
    revenue_schedule,
    rule_of_40,
    run_rate_forecast_variance,
    subscription_revenue,
    tracker_kpis,
    unit_economics_summary,
    yoy_growth,
)
from tests.metrics.test_mrr import FX, GOLDEN, TTM, ledger

D = pd.Timestamp
ARR = pd.DataFrame(
    {
        "month": pd.date_range("2023-06-01", periods=13, freq="MS"),
        "arr": [800_000.0]
        + [1_000_000.0 + 10_000 * i for i in range(7)]
        + [1_100_000, 1_200_000, 1_300_000, 1_450_000, 1_600_000],
    }
)
# ARR at month-ends: Jun 2023 800k, ..., Mar 2024 1.2M, ..., Jun 2024 1.6M.


def test_velocity_hand_computed():
    v = arr_velocity(ARR, as_of="2024-06-10", arr_target=2_000_000, target_date="2024-12-31")
    assert v["as_of"] == "2024-06-30" and v["days_to_target"] == 184
    assert (
        v["arr"] == 1_600_000 and v["progress"] == pytest.approx(0.8) and v["remaining"] == 400_000
    )
    assert v["required_daily_velocity"] == pytest.approx(400_000 / 184)
    assert v["actual_daily_velocity"] == pytest.approx(400_000 / 91)  # 31 Mar -> 30 Jun
    assert v["actual_weekly_velocity"] == pytest.approx(7 * 400_000 / 91)
    assert v["actual_monthly_velocity"] == pytest.approx(365 / 12 * 400_000 / 91)
    assert v["required_monthly_velocity"] == pytest.approx(365 / 12 * 400_000 / 184)
    assert v["on_track"] is True
    slow = arr_velocity(ARR, as_of="2024-06", arr_target=3_000_000, target_date="2024-12-31")
    assert slow["on_track"] is False


def test_velocity_errors_and_pieces():
    assert arr_progress(50, 200) == {"progress": 0.25, "remaining": 150}
    with pytest.raises(ValueError, match="arr_target must be > 0"):
        arr_progress(1, 0)
    with pytest.raises(ValueError, match="target_date must be after"):
        required_daily_velocity(1, 2, "2024-06-30", "2024-06-30")
    with pytest.raises(ValueError, match="after the last month of data"):
        actual_daily_velocity(ARR, "2024-07")
    assert actual_daily_velocity(ARR, "2024-06", months=1) == pytest.approx(150_000 / 30)
    with pytest.raises(ValueError, match="months must be"):
        actual_daily_velocity(ARR, "2024-06", months=0)
    assert yoy_growth(ARR, "2024-06") == pytest.approx(1.6 / 0.8 - 1)
    assert math.isnan(yoy_growth(ARR, "2024-05"))  # May 2023 is before the data: ARR 0


def test_milestones_first_month_and_projection():
    table = milestones(ARR, arr_target=1_620_000, velocity=400_000 / 91)
    assert table["level"].tolist() == [0.9, 0.95, 0.99, 1.0]
    assert table["reached_month"].tolist()[:2] == ["2024-06", "2024-06"]  # 1.458M, 1.539M
    assert table["reached_month"].iloc[2] is None
    # at 4,395.6/day from 30 June: 99 % needs 3,800 more (0.86 -> 1 day), 100 % 20,000 (4.55 -> 5)
    assert table["projected_date"].tolist() == [None, None, "2024-07-01", "2024-07-05"]
    early = milestones(ARR, arr_target=1_300_000, as_of="2024-03")
    # ARR 1.2M by March (and 1.1M in February): 90 % = 1.17M reached in March, 95 % = 1.235M not
    assert early["reached_month"].tolist() == ["2024-03", None, None, None]
    assert milestones(ARR, arr_target=1_000_000)["reached_month"].iloc[-1] == "2023-07"


SPEND = pd.DataFrame(
    {
        "month": np.repeat(pd.date_range("2024-01-01", periods=6, freq="MS"), 2),
        "category": ["sales", "marketing"] * 6,
        "amount": [1000.0, 500.0] * 6,
    }
)
FIN = pd.DataFrame(
    {
        "month": pd.date_range("2024-01-01", periods=6, freq="MS"),
        "revenue": 1000.0,
        "cogs": 250.0,
        "operating_income": 100.0,
    }
)


def test_unit_economics_hand_computed():
    """GOLDEN ledger, six-month window Jan-Jun 2024: new accounts A, B, C, D (January) and F
    (February); D's return in April is a reactivation, not a new account."""
    panel = mrr_panel(GOLDEN, fx_rates=FX, as_of="2024-06")
    assert new_accounts(panel, as_of="2024-06", months=6) == (
        5,
        pytest.approx((120 + 500 + 200 + 80 + 110) / 5),
    )
    assert arpa(panel) == pytest.approx(660 / 3)
    assert cac(SPEND, panel, as_of="2024-06", months=6) == pytest.approx(9000 / 5)
    assert gross_margin(FIN, as_of="2024-06", months=6) == pytest.approx(0.75)
    assert operating_margin(FIN, as_of="2024-06", months=6) == pytest.approx(0.1)
    assert mean_logo_churn(panel, as_of="2024-06", months=6) == pytest.approx((0.5 + 0.25) / 5)
    got = unit_economics_summary(panel, spend=SPEND, financials=FIN, as_of="2024-06", months=6)
    assert got["ltv"] == pytest.approx(220 * 0.75 / 0.15)
    assert got["ltv_to_cac"] == pytest.approx(1100 / 1800)
    assert got["cac_payback_months"] == pytest.approx(1800 / (202 * 0.75))
    # net new ARR Mar -> Jun = 12 x (660 - 880); S&M spend Jan-Mar = 4,500
    assert got["magic_number"] == pytest.approx(12 * (660 - 880) / 4500)
    assert math.isnan(got["rule_of_40"])  # no ARR twelve months earlier
    assert arpa_by_month(panel).tolist() == pytest.approx(
        [900 / 4, 730 / 3, 880 / 3, 770 / 4, 770 / 4, 660 / 3]
    )


def test_unit_economics_formulas_and_errors():
    assert ltv(200, 0.8, 0.02) == pytest.approx(8000)
    assert ltv(200, 0.8, 0.0) == math.inf
    assert ltv_to_cac(8000, 2000) == 4 and math.isnan(ltv_to_cac(8000, 0))
    assert cac_payback_months(2400, 200, 0.8) == pytest.approx(15)
    assert rule_of_40(0.30, 0.12) == pytest.approx(42)
    with pytest.raises(ValueError, match=r"financials must cover every month .* missing 6 month"):
        gross_margin(FIN, as_of="2024-06", months=12)
    with pytest.raises(ValueError, match="months must be a whole number"):
        gross_margin(FIN, as_of="2024-06", months=0)
    with pytest.raises(ValueError, match="operating_income or free_cash_flow"):
        operating_margin(FIN.drop(columns="operating_income"), as_of="2024-06", months=6)
    fcf = FIN.drop(columns="operating_income").assign(free_cash_flow=50.0)
    assert operating_margin(fcf, as_of="2024-06", months=6) == pytest.approx(0.05)
    assert magic_number(
        mrr_movements(GOLDEN, fx_rates=FX, as_of="2024-06"), SPEND, as_of="2024-06"
    ) == pytest.approx(-2640 / 4500)


OPPS = pd.DataFrame(
    {
        "opportunity_id": [f"o{i}" for i in range(8)],
        "type": [
            "new_business",
            "new_business",
            "expansion",
            "renewal",
            "renewal",
            "renewal",
            "new_business",
            "renewal",
        ],
        "amount": [1200.0, 600, 300, 1000, 500, 250, 9999, 700],
        "close_date": pd.to_datetime(
            [
                "2024-01-15",
                "2024-02-20",
                "2024-03-31",
                "2024-03-01",
                "2024-05-10",
                "2024-06-30",
                "2024-05-01",
                "2024-06-15",
            ]
        ),
        "status": ["won", "won", "won", "won", "won", "lost", "lost", "open"],
    }
)


def test_bookings_composition_by_quarter():
    got = bookings_composition(OPPS, period="quarter")
    assert got["period"].tolist() == [D("2024-01-01"), D("2024-04-01")]
    assert got["new_business"].tolist() == [1800, 0]
    assert got["expansion"].tolist() == [300, 0]
    assert got["renewal"].tolist() == [1000, 500]
    assert got["total"].tolist() == [3100, 500]
    assert got["new_business_share"].iloc[0] == pytest.approx(1800 / 3100)
    assert got["renewal_share"].iloc[1] == 1.0
    shares = got[["new_business_share", "expansion_share", "renewal_share"]].sum(axis=1)
    assert shares.tolist() == pytest.approx([1, 1])
    monthly = bookings_composition(OPPS, period="month", start="2024-01-01", end="2024-06-30")
    assert (
        len(monthly) == 6
        and monthly.loc[3, "total"] == 0
        and math.isnan(monthly.loc[3, "renewal_share"])
    )
    with pytest.raises(ValueError, match="period must be one of"):
        bookings_composition(OPPS, period="week")


def test_renewal_rate():
    # due in H1 2024: 1000 (won) + 500 (won) + 250 (lost) + 700 (open) -> 1500 / 2450
    assert renewal_rate(OPPS, start="2024-01-01", end="2024-06-30") == pytest.approx(1500 / 2450)
    assert math.isnan(renewal_rate(OPPS, start="2023-01-01", end="2023-06-30"))
    with pytest.raises(ValueError, match="end must be on or after start"):
        renewal_rate(OPPS, start="2024-06-30", end="2024-01-01")


INVOICES = pd.DataFrame(
    {
        "invoice_id": ["i1", "i2", "i3", "i4"],
        "account_id": ["A", "A", "B", "F"],
        "issued_date": pd.to_datetime(["2024-01-15", "2024-02-01", "2024-02-01", "2024-03-01"]),
        "due_date": pd.to_datetime(["2024-02-14", "2024-03-01", "2024-03-02", "2024-03-31"]),
        "amount": [1200.0, 310, 200, 100],
        "currency": ["USD", "USD", "USD", "EUR"],
        "paid_date": pd.to_datetime(["2024-02-10", None, "2024-04-05", "2024-03-20"]),
        "paid_amount": [1200.0, None, 200, 60],
        "service_start": pd.to_datetime(["2024-01-15", "2024-02-01", "2024-02-01", "2024-03-01"]),
        "service_end": pd.to_datetime(["2025-01-15", "2024-03-01", "2024-03-01", "2024-04-01"]),
    }
)


def test_collection_rate_and_dso():
    # due in Jan-Mar: all four (1200 + 310 + 200 + 110 USD = 1820); paid by 31 Mar: 1200 + 66
    assert collection_rate(
        INVOICES, start="2024-01-01", end="2024-03-31", fx_rates=FX
    ) == pytest.approx(1266 / 1820)
    # receivables at 31 Mar: 310 (unpaid) + 200 (paid in April) + 110 - 66 (partial) = 554
    assert receivables(INVOICES, at="2024-03-31", fx_rates=FX) == pytest.approx(554)
    assert dso(INVOICES, start="2024-01-01", end="2024-03-31", fx_rates=FX) == pytest.approx(
        554 / 1820 * 91
    )
    assert math.isnan(dso(INVOICES, start="2023-01-01", end="2023-03-31", fx_rates=FX))
    with pytest.raises(ValueError, match="end must be on or after start"):
        dso(INVOICES, start="2024-03-31", end="2024-01-01", fx_rates=FX)
    with pytest.raises(ValueError, match="invoices must have columns"):
        collection_rate(INVOICES.drop(columns="paid_amount"), start="2024-01-01", end="2024-03-31")


def test_ratable_recognition_and_deferred_revenue():
    schedule = revenue_schedule(INVOICES, fx_rates=FX)
    annual = schedule[schedule["invoice_id"] == "i1"]
    assert len(annual) == 13  # 15 Jan 2024 .. 14 Jan 2025
    assert annual["recognized"].iloc[0] == pytest.approx(1200 * 17 / 366)  # 17 days of January
    assert annual["recognized"].iloc[1] == pytest.approx(1200 * 29 / 366)  # leap February
    assert annual["recognized"].sum() == pytest.approx(1200)
    assert schedule.groupby("invoice_id")["recognized"].sum().to_dict() == pytest.approx(
        {"i1": 1200, "i2": 310, "i3": 200, "i4": 110}
    )
    # deferred at 29 Feb: i1's service from 1 Mar 2024 to 14 Jan 2025 = 320 of 366 days
    assert deferred_revenue(INVOICES, at="2024-02-29", fx_rates=FX) == pytest.approx(
        1200 * 320 / 366
    )
    # without service columns: one month from issue
    plain = revenue_schedule(INVOICES.drop(columns=["service_start", "service_end"]), fx_rates=FX)
    assert plain[plain["invoice_id"] == "i1"]["recognized"].tolist() == pytest.approx(
        [1200 * 17 / 31, 1200 * 14 / 31]
    )
    bad = INVOICES.assign(service_end=INVOICES["service_start"])
    with pytest.raises(ValueError, match="service period must end after it starts"):
        revenue_schedule(bad, fx_rates=FX)
    revenue = pd.Series(
        [100.0, 500.0, 300.0], index=pd.date_range("2024-01-01", periods=3, freq="MS")
    )
    roll = deferred_revenue_rollforward(INVOICES, revenue, fx_rates=FX)
    # billings: Jan 1200, Feb 510, Mar 110 (EUR 100 x 1.10); closing = cumulative billed - recognised
    assert roll["invoiced"].tolist() == pytest.approx([1200, 510, 110])
    assert roll["closing"].tolist() == pytest.approx([1100, 1110, 920])
    assert roll["opening"].tolist() == pytest.approx([0, 1100, 1110])
    cash = cash_by_month(INVOICES, revenue, fx_rates=FX)
    assert list(cash.columns) == ["month", "invoiced", "collected", "recognized", "deferred"]
    assert cash["collected"].tolist() == pytest.approx([0, 1200, 66])  # April's 200 is after March
    assert cash["deferred"].tolist() == pytest.approx([1100, 1110, 920])


def test_subscription_revenue_ratable_by_day():
    got = subscription_revenue(GOLDEN, fx_rates=FX, as_of="2024-03")
    # January: a1 100 x 22/31 + a3 20 x 22/31 + b1 500 + c1 200 x 12/31 + d1 80 x 27/31
    jan = (100 + 20) * 22 / 31 + 500 + 200 * 12 / 31 + 80 * 27 / 31
    # February (29 days): a1 + a3 full, b1 full, c1 28/29 (ends 29 Feb), d1 9/29, e1 1000 x 22/29,
    # f1 110 x 1/29 (starts 29 Feb)
    feb = 120 + 500 + 200 * 28 / 29 + 80 * 9 / 29 + 1000 * 22 / 29 + 110 * 1 / 29
    # March: a1 100 x 14/31, a2 250 x 17/31, a3 20, b1 500, f1 110
    mar = 100 * 14 / 31 + 250 * 17 / 31 + 20 + 500 + 110
    assert got.tolist() == pytest.approx([jan, feb, mar])
    assert got.index[0] == D("2024-01-01")
    with pytest.raises(ValueError, match="as_of must not be before"):
        subscription_revenue(GOLDEN, fx_rates=FX, as_of="2023-06")


KPIS = {
    "actual_daily_velocity": 1000.0,
    "required_daily_velocity": 1500.0,
    "yoy_growth": 0.12,
    "nrr": 1.08,
    "gross_margin": 0.72,
    "forecast_variance": -0.08,
    "ltv_to_cac": 4.0,
    "collection_rate": float("nan"),
    "dso": 45.0,
}


def test_alerts_worst_first():
    got = alerts(KPIS, thresholds=REFERENCE_THRESHOLDS)  # NRR against 150 %, to rank 4 alerts
    assert list(got.columns) == ["metric", "value", "threshold", "level", "message"]
    # critical first; then warnings by how far past the threshold, relative to it:
    # forecast variance |-0.08| vs 0.05 (60 %), growth 0.12 vs 0.20 (40 %), NRR 1.08 vs 1.50 (28 %)
    assert got["metric"].tolist() == [
        "actual_daily_velocity",
        "forecast_variance",
        "yoy_growth",
        "nrr",
    ]
    assert got["level"].tolist() == ["critical", "warning", "warning", "warning"]
    checks = check_thresholds(KPIS)
    assert set(checks["metric"]) == {
        "actual_daily_velocity",
        "yoy_growth",
        "nrr",
        "gross_margin",
        "forecast_variance",
        "ltv_to_cac",
        "dso",
    }
    assert (checks.loc[checks["metric"] == "gross_margin", "level"] == "ok").all()
    assert "below the $1,500/day needed" in got["message"].iloc[0]


def test_alert_thresholds_are_parameters():
    got = alerts(
        KPIS, thresholds={"nrr_target": 1.0, "yoy_growth_min": 0.10, "forecast_variance_max": None}
    )
    assert got["metric"].tolist() == ["actual_daily_velocity"]
    assert alerts(
        KPIS | {"actual_daily_velocity": 2000.0},
        thresholds={"nrr_target": 1.0, "yoy_growth_min": 0.1, "forecast_variance_max": 0.1},
    ).empty
    with pytest.raises(ValueError, match="unknown threshold"):
        alerts(KPIS, thresholds={"nrr_min": 1.0})
    # the spec's 150 % is kept, labelled as the reference's $1B-company figure (issue 14)
    assert REFERENCE_THRESHOLDS["nrr_target"] == 1.5


def test_default_nrr_alert_does_not_fire_on_a_healthy_company():
    """Issue 14: a 110 % NRR (the sample's) is healthy; the default alarm is a shrinking base."""
    assert DEFAULT_THRESHOLDS["nrr_target"] == 1.0
    healthy = alerts(KPIS | {"nrr": 1.10, "actual_daily_velocity": 2000.0})
    assert "nrr" not in healthy["metric"].tolist()
    shrinking = alerts(KPIS | {"nrr": 0.97})
    assert "nrr" in shrinking["metric"].tolist()
    # a plan that asks for the reference's 150 % brings the alarm back
    planned = alerts(KPIS | {"nrr": 1.10}, thresholds=load_thresholds(REFERENCE_THRESHOLDS))
    assert "nrr" in planned["metric"].tolist()


def test_load_thresholds_from_a_plan_file(tmp_path):
    plan = tmp_path / "plan.yaml"
    plan.write_text("thresholds:\n  nrr_target: 1.05\n  dso_max: null\n")
    assert load_thresholds(plan) == {"nrr_target": 1.05, "dso_max": None}
    assert load_thresholds("") == {} and load_thresholds(None) == {}
    with pytest.raises(
        ValueError, match="unknown threshold 'nrr_min'.*expected a number or null, got 'high'"
    ):
        load_thresholds({"nrr_min": 1.0, "dso_max": "high"})


def test_forecast_variance_run_rate():
    # as of June 2024: velocity Dec 2023 -> Mar 2024 (end) ... forecast from March:
    # ARR(Mar) 1.2M + (1.2M - 1.05M)/91 days x 91 days = 1.35M; actual 1.6M
    mar_velocity = (1_200_000 - 1_050_000) / (D("2024-03-31") - D("2023-12-31")).days
    forecast = 1_200_000 + mar_velocity * 91
    assert run_rate_forecast_variance(ARR, as_of="2024-06") == pytest.approx(
        1_600_000 / forecast - 1
    )


def test_month_window_and_last_complete_month():
    assert month_window("2024-06-15", 12) == (D("2023-07-01"), D("2024-06-30"))
    with pytest.raises(ValueError, match="months must be >= 1"):
        month_window("2024-06", 0)
    assert last_complete_month({"financials": FIN}) == D("2024-06-01")
    assert last_complete_month({"subscriptions": GOLDEN}) == D("2024-03-01")  # latest start 2 Apr
    assert last_complete_month({"opportunities": OPPS}) == D("2024-06-01")  # lost deal on 30 June
    with pytest.raises(ValueError, match="no dated table"):
        last_complete_month({})


def test_tracker_kpis_assembles_everything():
    tables = {"subscriptions": TTM, "spend": SPEND, "financials": FIN}
    with pytest.raises(ValueError, match="spend must cover every month"):
        tracker_kpis(tables, as_of="2024-01", arr_target=10_000, target_date="2024-12-31")
    got = tracker_kpis(
        {"subscriptions": TTM}, as_of="2024-01", arr_target=10_000, target_date="2024-12-31"
    )
    assert got["arr"] == pytest.approx(12 * (150 + 50 + 100))
    assert got["nrr"] == pytest.approx(250 / 600) and got["grr"] == pytest.approx(200 / 600)
    assert got["yoy_growth"] == pytest.approx(300 / 600 - 1)
    assert math.isnan(got["cac"]) and math.isnan(got["dso"])
    assert {m["level"] for m in got["milestones"]} == {0.9, 0.95, 0.99, 1.0}
    for key in (
        "arr",
        "arr_target",
        "progress",
        "remaining",
        "required_daily_velocity",
        "actual_daily_velocity",
        "on_track",
        "milestones",
        "yoy_growth",
        "nrr",
        "grr",
        "quick_ratio",
        "arpa",
        "cac",
        "ltv",
        "ltv_to_cac",
        "cac_payback_months",
        "magic_number",
        "rule_of_40",
        "gross_margin",
        "collection_rate",
        "dso",
    ):
        assert key in got, key


def test_as_of_after_the_data_end_is_honoured():
    """Data end in June 2024 (financials); as of September: open subscriptions carry on, G's
    end date scheduled in August still applies, nothing else happens, figures needing spend,
    financials or invoices are n/a and the note says the data end earlier."""
    subs = pd.concat(
        [GOLDEN, ledger([("g1", "G", "2024-05-01", "2024-08-15", 40.0, "USD")])],
        ignore_index=True,
    )
    tables = {
        "subscriptions": subs,
        "fx_rates": FX,
        "spend": SPEND,
        "financials": FIN,
        "invoices": INVOICES,
    }
    assert as_of_month(tables, "") == D("2024-06-01")
    month = as_of_month(tables, "2024-09-17")
    assert month == D("2024-09-01")
    mv = mrr_movements(mrr_panel(subs, fx_rates=FX, as_of=month))
    assert mv["closing_mrr"].tolist()[-4:] == [700.0, 700.0, 660.0, 660.0]  # Jun..Sep
    assert mv["churned_mrr"].tolist()[-4:] == [110.0, 0.0, 40.0, 0.0]
    after = mv.iloc[-3:]
    assert (after[["new_mrr", "reactivation_mrr", "expansion_mrr", "contraction_mrr"]] == 0).all(
        axis=None
    )
    got = tracker_kpis(tables, as_of=month, arr_target=10_000, target_date="2024-12-31")
    assert got["arr"] == pytest.approx(12 * 660) and got["customers"] == 3
    assert got["actual_daily_velocity"] == pytest.approx(12 * (660 - 700) / 92)  # Jun 30-Sep 30
    assert got["data_end"] == "2024-06"
    for key in ("cac", "gross_margin", "ltv_to_cac", "collection_rate", "dso", "deferred_revenue"):
        assert math.isnan(got[key]), key
    note = data_end_note(tables, as_of=month)
    assert "The data end in June 2024, before the as-of month September 2024" in note
    assert "spend or financials or invoices are not available" in note
    assert data_end_note(tables, as_of="2024-06") is None
    assert data_end_note({"subscriptions": subs}, as_of=month).endswith("scheduled in the data.")
    inside = tracker_kpis(tables, as_of="2024-06", arr_target=10_000, target_date="2024-12-31")
    assert inside["data_end"] == "2024-06" and not math.isnan(inside["gross_margin"])
    with pytest.raises(ValueError, match="as_of must be a date or YYYY-MM, got 'soon'"):
        as_of_month(tables, "soon")


def test_cohort_csv_and_sizes():
    table = cohort_revenue_retention(GOLDEN, fx_rates=FX, as_of="2024-06")
    flat = cohort_csv(table)
    assert list(flat.columns) == ["cohort", "0", "1", "2", "3", "4", "5"]
    assert flat["cohort"].tolist() == ["2024-01", "2024-02"]
    sizes = cohort_sizes(GOLDEN, fx_rates=FX, as_of="2024-06")
    assert sizes["accounts"].tolist() == [4, 1] and sizes["mrr"].tolist() == pytest.approx(
        [900, 110]
    )


def test_every_public_metric_states_a_definition():
    import revlib.metrics as m

    for name in m.__all__:
        obj = getattr(m, name)
        if callable(obj) and not isinstance(obj, type):
            text = reporting.definition(obj)
            assert len(text) > 30, name


def test_report_pieces_and_figures_on_a_short_history():
    """Six months of data: TTM figures are undefined, yet every card, table and figure of the
    ARR tracker builds (NaN shows as a dash, not an error)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from revlib.metrics import plots, report
    from tests.plot_checks import legends_over_bars

    tables = {
        "subscriptions": GOLDEN,
        "fx_rates": FX,
        "spend": SPEND,
        "financials": FIN,
        "invoices": INVOICES,
        "opportunities": OPPS,
    }
    panel = mrr_panel(GOLDEN, fx_rates=FX, as_of="2024-06")
    movements = mrr_movements(panel)
    kpis = tracker_kpis(
        tables, as_of="2024-06", arr_target=12_000, target_date="2024-12-31", panel=panel
    )
    assert kpis["arr"] == pytest.approx(7920) and not kpis["on_track"]  # ARR fell 10,560 -> 7,920
    assert math.isnan(kpis["nrr"]) and math.isnan(kpis["rule_of_40"])
    title, text, level = report.verdict(kpis)
    assert (title, level) == ("Off track", "critical") and "ARR must start growing again" in text
    for cards in (
        report.headline_cards(kpis),
        report.unit_economics_cards(kpis),
        report.cash_cards(kpis),
        report.retention_cards(kpis),
    ):
        html = reporting.kpi_cards(cards)._repr_html_()
        values = re.findall(r'class="rl-(?:value|sub)">([^<]*)<', html)
        assert values and not any("nan" in v.lower() for v in values), values
    assert len(report.velocity_table(kpis)) == 3 and len(report.milestone_table(kpis)) == 4
    retention = retention_table(panel)
    cash = cash_by_month(
        INVOICES,
        pd.Series([100.0] * 6, index=pd.date_range("2024-01-01", periods=6, freq="MS")),
        fx_rates=FX,
    )
    figures = [
        plots.plot_arr_trajectory(
            movements, arr_target=12_000, target_date="2024-12-31", velocity=kpis
        ),
        plots.plot_arr_bridge(movements, months=6),
        plots.plot_mrr_movements(movements),
        plots.plot_retention(retention, nrr_target=1.5),
        plots.plot_cohort_heatmap(
            cohort_revenue_retention(panel),
            title="revenue",
            sizes=cohort_sizes(panel).set_index("cohort")["accounts"],
        ),
        plots.plot_bookings(bookings_composition(OPPS)),
        plots.plot_cash(cash),
    ]
    assert all(isinstance(f, matplotlib.figure.Figure) for f in figures)
    assert [t for f in figures for t in legends_over_bars(f)] == []
    plt.close("all")


def test_rule_of_40_variants_hand_computed():
    """24 months: revenue 100/month in 2023 and 125/month in 2024 (revenue growth +25 %); ARR
    1,000 -> 1,300 over the year (+30 %). Margins over 2024's 1,500 revenue: operating 10 %,
    FCF 12 %, EBITDA 15 %, net income column absent."""
    months = pd.date_range("2023-01-01", periods=24, freq="MS")
    fin = pd.DataFrame(
        {
            "month": months,
            "revenue": [100.0] * 12 + [125.0] * 12,
            "cogs": 20.0,
        }
    )
    fin = fin.assign(
        operating_income=0.10 * fin["revenue"],
        free_cash_flow=0.12 * fin["revenue"],
        ebitda=0.15 * fin["revenue"],
    )
    movements = pd.DataFrame({"month": months, "arr": [1000.0] * 12 + [1300.0] * 12})
    v = metrics.rule_of_40_variants(movements, fin, as_of="2024-12").set_index("variant")
    assert v.loc["arr_growth+operating_margin", "score"] == pytest.approx(30 + 10)
    assert v.loc["revenue_growth+fcf_margin", "score"] == pytest.approx(25 + 12)
    assert v.loc["revenue_growth+ebitda_margin", "score"] == pytest.approx(25 + 15)
    assert math.isnan(v.loc["revenue_growth+net_margin", "score"])  # no net_income column
    assert v["passes"].tolist()[:3] == [True, False, True]
    assert math.isnan(metrics.revenue_growth(fin, as_of="2023-12"))  # no year before
    assert metrics.margin(fin, "ebitda", as_of="2024-06", months=6) == pytest.approx(0.15)
