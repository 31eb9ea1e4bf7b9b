"""revlib.forecasting on bigger data: the bundled sample company (whose generator knows the
truth) and the real Maven CRM opportunities (public; expected figures from its SOURCE.md)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from revlib import forecasting as fc
from revlib.data import load_tables, read_json

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample"


@pytest.fixture(scope="module")
def sample():
    if not (SAMPLE / "opportunities.csv").exists():
        pytest.skip("bundled sample not generated yet")
    tables = load_tables(
        SAMPLE, ["opportunities", "opportunity_history", "subscriptions", "fx_rates"]
    )
    truth = read_json(SAMPLE / "ground_truth.json")
    return tables, truth


@pytest.fixture(scope="module")
def maven_opps():
    from revlib.adapters import maven

    folder = maven.real_data_dir()
    if not folder.is_dir():
        pytest.skip(f"real data folder absent: {folder}")
    return fc.use_realised_amounts(maven.load_maven(folder)["opportunities"])


# ----------------------------------------------------------------------------- sample company


def test_open_pipeline_forecast_matches_the_generators_outcomes(sample) -> None:
    """Today's open deals: the generator's hidden future says what they book next quarter."""
    tables, truth = sample
    opps, hist = tables["opportunities"], tables["opportunity_history"]
    f = fc.forecast_bookings(opps, hist, as_of=fc.default_as_of(opps), n_simulations=2000, seed=1)
    check = fc.open_pipeline_truth(truth, f)
    assert check is not None
    first = check.iloc[0]
    assert abs(first["p50"] / first["true_open_bookings"] - 1) < 0.15, first.to_dict()
    # deal by deal: expected wins in the quarter against the wins that happened
    deals = truth["win_model"]["open_deals"]
    end = f.periods[0] + pd.DateOffset(months=3)
    won = f.deals["opportunity_id"].map(
        lambda i: (
            deals.get(i, {}).get("eventual_status") == "won"
            and pd.Timestamp(deals[i]["eventual_close_date"]) < end
        )
    )
    assert f.deals[f"p_{f.labels[0]}"].sum() == pytest.approx(float(won.sum()), rel=0.15)


@pytest.mark.slow
def test_sample_backtest_beats_naive_and_is_calibrated(sample) -> None:
    """The validation the issue asks for: on the sample company the model's 80 % intervals hold
    the actual in 70-90 % of the back-test quarters and its WAPE beats the naive baselines."""
    tables, _ = sample
    bt = fc.rolling_backtest(
        tables["opportunities"],
        tables["opportunity_history"],
        period="quarter",
        origins=8,
        n_simulations=1000,
        seed=42,
    )
    s = fc.backtest_summary(bt).set_index("method")
    assert s.loc["model", "periods"] == 8
    assert 0.7 <= s.loc["model", "coverage80"] <= 0.9, s.to_dict()
    assert s.loc["model", "wape"] < s.loc["last_period", "wape"]
    assert s.loc["model", "wape"] < s.loc["seasonal_naive", "wape"]


@pytest.mark.slow
def test_arr_posterior_recovers_the_generators_rates(sample) -> None:
    from revlib import metrics

    tables, truth = sample
    mv = metrics.mrr_movements(tables["subscriptions"], fx_rates=tables["fx_rates"])
    _, post, data = fc.fit_arr_model(mv, sampler={"draws": 500, "tune": 500, "chains": 2}, seed=3)
    true = fc.truth_rates(truth, data["month"])
    s = fc.rate_summary(post).set_index("parameter")
    for name in ("expansion", "contraction", "churn"):
        lo, hi = s.loc[f"{name}_rate", ["lower", "upper"]]
        assert lo <= true[name] <= hi, (name, lo, true[name], hi)
    # the six months the generator ran but did not publish fall inside the simulated fan
    hidden = fc.hidden_future_check(
        truth, fc.simulate_arr(post, months=6, seed=0), post.start_month
    )
    assert hidden is not None and hidden["inside80"].mean() >= 4 / 6, hidden


# ----------------------------------------------------------------------------- Maven CRM


def test_maven_bookings_match_source_figures(maven_opps) -> None:
    """Won revenue by close quarter in 2017 (SOURCE.md): Q1 $1,134,672, Q2 $3,086,111,
    Q3 $2,982,255, Q4 $2,802,496; the extract's closes start on 2017-03-01."""
    q = fc.period_bookings(maven_opps, period="quarter")
    assert q.round(0).tolist() == [1_134_672, 3_086_111, 2_982_255, 2_802_496]
    assert q.index[0] == pd.Timestamp("2017-01-01")
    from revlib.pipeline_history import observation_start

    assert observation_start(maven_opps) == pd.Timestamp("2017-03-01")


def test_maven_forecast_runs_on_the_approximate_pipeline(maven_opps) -> None:
    f = fc.forecast_bookings(maven_opps, as_of="2017-07-01", n_simulations=300, seed=0)
    assert f.info["pipeline_source"] == "approximate" and f.info["timing"] == "age"
    # deals engaged before July 2017 and closed after it, plus the ones never closed
    assert f.info["open_deals"] == 1686
    assert np.isfinite(f.draws).all()


@pytest.mark.slow
def test_maven_monthly_backtest(maven_opps) -> None:
    bt = fc.rolling_backtest(
        maven_opps, period="month", origins=8, n_simulations=500, seed=0, min_history_months=2
    )
    s = fc.backtest_summary(bt).set_index("method")
    assert s.loc["model", "periods"] == 8 and s.loc["last_period", "periods"] == 8
    assert np.isnan(s.loc["seasonal_naive", "wape"])  # one year of data: no same month last year
    assert 0 < s.loc["model", "wape"] < 1
