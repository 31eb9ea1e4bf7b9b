"""revlib.metrics on the bundled sample company against the simulator's own ground truth
(``data/sample/ground_truth.json``, computed by revlib.synth from its internal ledger, not by
revlib.metrics), and the ARR tracker report's artifacts."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from revlib import data, metrics
from tests.conftest import SAMPLE

pytestmark = pytest.mark.skipif(
    not (SAMPLE / "ground_truth.json").is_file(), reason="no bundled sample"
)


def rounded_like(value: float, recorded: float) -> float:
    """``value`` rounded to as many decimals as ``recorded`` shows."""
    text = repr(float(recorded))
    decimals = len(text.split(".")[1]) if "." in text and not text.endswith(".0") else 0
    return round(value, decimals)


@pytest.fixture(scope="module")
def sample():
    tables = data.load_tables(SAMPLE)
    truth = json.loads((SAMPLE / "ground_truth.json").read_text())
    return tables, truth


def test_monthly_movements_match_the_simulator(sample):
    tables, truth = sample
    as_of = truth["headline"]["as_of_month"]
    got = metrics.mrr_movements(tables["subscriptions"], fx_rates=tables["fx_rates"], as_of=as_of)
    want = pd.DataFrame([r for r in truth["mrr"] if not r["hidden"]])
    assert len(got) == len(want)
    pairs = {
        "opening_mrr": "mrr_opening",
        "new_mrr": "mrr_new",
        "reactivation_mrr": "mrr_reactivation",
        "expansion_mrr": "mrr_expansion",
        "contraction_mrr": "mrr_contraction",
        "churned_mrr": "mrr_churn",
        "closing_mrr": "mrr_closing",
    }
    for ours, theirs in pairs.items():  # the simulator rounds to the cent
        np.testing.assert_allclose(got[ours], want[theirs], atol=0.006, err_msg=ours)
    assert got["customers"].tolist() == want["accounts"].tolist()
    assert metrics.bridge_error(got) < 1e-6


def test_headline_kpis_match_the_simulator(sample):
    tables, truth = sample
    h = truth["headline"]
    month = metrics.last_complete_month(tables)
    assert f"{month:%Y-%m}" == h["as_of_month"]
    k = metrics.tracker_kpis(tables, as_of=month, arr_target=28e6, target_date="2026-12-31")
    assert k["arr"] == pytest.approx(h["arr_usd"], abs=1)
    assert k["customers"] == h["paying_accounts"]
    # the ground truth is rounded to the digits it shows
    pairs = {
        "yoy_growth": "arr_growth_yoy",
        "nrr": "nrr_ttm",
        "grr": "grr_ttm",
        "quick_ratio": "quick_ratio_ttm",
        "mean_monthly_logo_churn": "logo_churn_monthly_mean_ttm",
        "arpa": "arpa_usd",
        "cac": "cac_usd_ttm",
        "cac_payback_months": "cac_payback_months_ttm",
        "gross_margin": "gross_margin_ttm",
        "operating_margin": "operating_margin_ttm",
        "rule_of_40": "rule_of_40",
    }
    for ours, theirs in pairs.items():
        assert rounded_like(k[ours], h[theirs]) == h[theirs], (ours, k[ours], h[theirs])


def test_ratable_subscription_revenue_matches_financials(sample):
    tables, _ = sample
    fin = tables["financials"].set_index("month")["subscription_revenue"]
    got = metrics.subscription_revenue(
        tables["subscriptions"], fx_rates=tables["fx_rates"], as_of=fin.index.max()
    )
    assert list(got.index) == list(fin.index)
    np.testing.assert_allclose(got.to_numpy(), fin.to_numpy(), atol=0.006)  # financials in cents


@pytest.mark.slow
def test_arr_tracker_artifacts(sample_run):
    out, _, run = sample_run
    report = next((r for r in run["reports"] if r["name"] == "arr_tracker"), None)
    assert report is not None and report["status"] == "ok", report
    folder = out / "arr_tracker"
    mov = pd.read_csv(folder / "mrr_movements.csv")
    assert list(mov.columns) == list(metrics.MOVEMENT_COLUMNS)
    assert mov["month"].iloc[0] == "2023-01" and mov["month"].iloc[-1] == "2025-12"
    assert metrics.bridge_error(mov) < 0.01
    ret = pd.read_csv(folder / "retention.csv")
    assert list(ret.columns) == ["month", "nrr", "grr", "logo_churn_rate"]
    assert ret["nrr"].iloc[:12].isna().all() and ret["nrr"].iloc[12:].notna().all()
    assert (ret["grr"].dropna() <= 1).all()
    for name in ("cohorts_revenue.csv", "cohorts_logo.csv"):
        cohorts = pd.read_csv(folder / name)
        assert cohorts.columns[0] == "cohort" and (cohorts["0"] == 1).all()
    kpis = json.loads((folder / "kpis.json").read_text())
    assert set(metrics.KPI_KEYS) <= set(kpis)
    alerts = pd.read_csv(folder / "alerts.csv")
    assert list(alerts.columns) == ["metric", "value", "threshold", "level", "message"]


def test_tracker_names_its_rule_of_40_variant(sample):
    tables, _ = sample
    month = metrics.as_of_month(tables, "")
    k = metrics.tracker_kpis(
        tables,
        as_of=month,
        arr_target=28e6,
        target_date="2026-12-31",
        rule_of_40_variant="revenue_growth+net_margin",
    )
    chosen = {r["variant"]: r for r in k["rule_of_40_variants"]}["revenue_growth+net_margin"]
    assert k["rule_of_40"] == pytest.approx(chosen["score"])
    assert k["rule_of_40_label"] == "revenue growth + net margin"
    with pytest.raises(ValueError, match="rule_of_40_variant must be one of"):
        metrics.tracker_kpis(
            tables, as_of=month, arr_target=28e6, target_date="2026-12-31", rule_of_40_variant="x"
        )
