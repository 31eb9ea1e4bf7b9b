"""revlib.forecasting: periods, survival curves, the pipeline as of a date, forecast categories
and health, the bookings Monte Carlo, the ARR model's plumbing, scenarios and the back-test.

Fast tests use small hand-built tables with golden values; ``slow`` ones recover known rates
from simulated data. The sample company and the real Maven CRM data are in
``tests/forecasting/test_forecasting_data.py``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from revlib import forecasting as fc
from revlib import pipeline_history
from revlib.forecasting import _common, arr, backtest, bookings_forecast, closing, scenarios
from revlib.stats import bias, wape

# ----------------------------------------------------------------------------- helpers


def toy_crm(
    n_months: int = 30,
    *,
    seed: int = 0,
    start: str = "2022-01-01",
    per_month: float = 40.0,
    p_win: float = 0.4,
    mean_days: float = 30.0,
    history: bool = True,
) -> dict[str, pd.DataFrame]:
    """A stationary CRM: Poisson(per_month) new-business deals a month, each won with
    probability p_win after an exponential(mean_days) cycle, amount lognormal (median 10,000).
    Stages: "early" until halfway through the cycle, then "late". The expected close date set
    at creation is created + mean_days; deals still running at the end are open."""
    rng = np.random.default_rng(seed)
    t0 = pd.Timestamp(start)
    end = t0 + pd.DateOffset(months=n_months)
    span = (end - t0).days
    n = rng.poisson(per_month * n_months)
    created = t0 + pd.to_timedelta(np.sort(rng.integers(0, span, n)), unit="D")
    cycle = np.maximum(1, np.round(rng.exponential(mean_days, n))).astype(int)
    close = created + pd.to_timedelta(cycle, unit="D")
    won = rng.uniform(size=n) < p_win
    amount = np.round(10_000 * np.exp(rng.normal(0, 0.5, n)), 2)
    is_open = close >= end
    ids = [f"D{i:05d}" for i in range(n)]
    opps = pd.DataFrame(
        {
            "opportunity_id": ids,
            "account_id": [f"A{i % 50:03d}" for i in range(n)],
            "type": "new_business",
            "amount": amount,
            "created_date": created,
            "close_date": np.where(is_open, created + pd.Timedelta(days=int(mean_days)), close),
            "stage": np.where(is_open, "early", np.where(won, "closed_won", "closed_lost")),
            "status": np.where(is_open, "open", np.where(won, "won", "lost")),
        }
    )
    opps["close_date"] = pd.to_datetime(opps["close_date"])
    out = {"opportunities": opps}
    if history:
        half = created + pd.to_timedelta(cycle // 2, unit="D")
        expected = created + pd.Timedelta(days=int(mean_days))
        rows = [
            pd.DataFrame(
                {
                    "opportunity_id": ids,
                    "changed_at": created,
                    "stage": "early",
                    "amount": amount,
                    "close_date": expected,
                }
            )
        ]
        mid = (cycle >= 2) & (half < end)
        rows.append(
            pd.DataFrame(
                {
                    "opportunity_id": np.array(ids)[mid],
                    "changed_at": half[mid],
                    "stage": "late",
                    "amount": amount[mid],
                    "close_date": expected[mid],
                }
            )
        )
        fin = ~is_open
        rows.append(
            pd.DataFrame(
                {
                    "opportunity_id": np.array(ids)[fin],
                    "changed_at": close[fin],
                    "stage": np.where(won[fin], "closed_won", "closed_lost"),
                    "amount": amount[fin],
                    "close_date": close[fin],
                }
            )
        )
        hist = pd.concat(rows, ignore_index=True).sort_values(
            ["opportunity_id", "changed_at"], kind="stable"
        )
        opps.loc[is_open, "stage"] = np.where(mid[is_open], "late", "early")
        out["opportunity_history"] = hist.reset_index(drop=True)
    return out


def hand_opps() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Four deals and their history, small enough to check by hand."""
    opps = pd.DataFrame(
        {
            "opportunity_id": ["A", "B", "C", "D"],
            "type": ["new_business", "expansion", "renewal", "new_business"],
            "amount": [100.0, 50.0, 80.0, 30.0],
            "created_date": pd.to_datetime(
                ["2024-01-05", "2024-02-10", "2024-03-01", "2024-04-20"]
            ),
            "close_date": pd.to_datetime(["2024-03-15", "2024-05-01", "2024-06-30", "2024-04-25"]),
            "stage": ["closed_won", "closed_lost", "proposal", "closed_won"],
            "status": ["won", "lost", "open", "won"],
        }
    )
    hist = pd.DataFrame(
        {
            "opportunity_id": ["A", "A", "A", "B", "B", "B", "C", "C", "D", "D"],
            "changed_at": pd.to_datetime(
                [
                    "2024-01-05",
                    "2024-02-01",
                    "2024-03-15",
                    "2024-02-10",
                    "2024-03-10",
                    "2024-05-01",
                    "2024-03-01",
                    "2024-04-10",
                    "2024-04-20",
                    "2024-04-25",
                ]
            ),
            "stage": [
                "qualification",
                "proposal",
                "closed_won",
                "qualification",
                "proposal",
                "closed_lost",
                "qualification",
                "proposal",
                "qualification",
                "closed_won",
            ],
            "amount": [90.0, 100.0, 100.0, 50.0, 50.0, 50.0, 80.0, 80.0, 30.0, 30.0],
            "close_date": pd.to_datetime(
                [
                    "2024-02-28",
                    "2024-03-10",
                    "2024-03-15",
                    "2024-04-01",
                    "2024-04-15",
                    "2024-05-01",
                    "2024-05-31",
                    "2024-06-30",
                    "2024-05-01",
                    "2024-04-25",
                ]
            ),
        }
    )
    return opps, hist


# ----------------------------------------------------------------------------- periods


def test_default_as_of_is_month_after_last_activity() -> None:
    opps, _ = hand_opps()
    # last created 2024-04-20, last close of a closed deal 2024-05-01 -> June 1st
    assert _common.default_as_of(opps) == pd.Timestamp("2024-06-01")


# ----------------------------------------------------------------------------- survival


def test_kaplan_meier_golden() -> None:
    km = _common.kaplan_meier(
        np.array([2, 3, 3, 5, 8.0]),
        np.array([1, 1, 0, 1, 0], bool),
        won=np.array([1, 0, 0, 1, 0], bool),
    )
    np.testing.assert_allclose(km.times, [2, 3, 5])
    # S(2) = 4/5, S(3) = 4/5 * 3/4, S(5) = 0.6 * 1/2
    np.testing.assert_allclose(km.survival, [0.8, 0.6, 0.3])
    np.testing.assert_allclose(km.win_share, [1.0, 0.0, 1.0])
    assert km.n_events == 3 and km.n_won == 2
    # P(won ever) = 0.2 * 1 + 0.2 * 0 + 0.3 * 1; P(close before 4 | open at 2.5) = 1 - 0.6 / 0.8
    np.testing.assert_allclose(km.win_between([0.0], [0.0], [np.inf]), [0.5])
    np.testing.assert_allclose(km.prob_by(np.array([2.5]), np.array([4.0])), [0.25])


def _naive_km(dur, ev, entry):
    times = np.unique(dur[ev])
    s, out = 1.0, []
    for t in times:
        risk = ((entry <= t) & (dur >= t)).sum()
        s *= 1 - ((dur == t) & ev).sum() / risk
        out.append(s)
    return times, np.array(out)


def test_kaplan_meier_with_entry_matches_naive_reference() -> None:
    rng = np.random.default_rng(3)
    entry = rng.integers(0, 20, 300).astype(float)
    dur = entry + rng.integers(0, 60, 300)
    ev = rng.uniform(size=300) < 0.7
    km = _common.kaplan_meier(dur, ev, entry=entry)
    times, surv = _naive_km(dur, ev, entry)
    np.testing.assert_allclose(km.times, times)
    np.testing.assert_allclose(km.survival, surv)


def test_survival_sampling_matches_its_probabilities() -> None:
    rng = np.random.default_rng(0)
    dur = rng.exponential(30, 2000).round() + 1
    ev = rng.uniform(size=2000) < 0.8  # 20 % censored: a plateau-free curve with censoring
    km = _common.kaplan_meier(dur, ev, won=rng.uniform(size=2000) < 0.4)
    entry = np.full(40_000, 10.0)
    t, won = km.sample(entry, np.random.default_rng(1))
    assert (t >= 10).all()
    for h in (20.0, 40.0, 90.0):
        assert abs((t < h).mean() - km.prob_by(np.array([10.0]), np.array([h]))[0]) < 0.01
    expected_won = km.win_between([10.0], [10.0], [np.inf])[0]
    assert abs(won.mean() - expected_won) < 0.01
    with pytest.raises(ValueError, match="duration must be >= its entry"):
        _common.kaplan_meier(np.array([1.0]), np.array([True]), entry=np.array([2.0]))


def test_survival_plateau_means_never_closing() -> None:
    # half the deals are still open after a long time: the curve plateaus at 0.5
    dur = np.r_[np.arange(1, 51, dtype=float), np.full(50, 400.0)]
    ev = np.r_[np.ones(50, bool), np.zeros(50, bool)]
    km = _common.kaplan_meier(dur, ev)
    t, _ = km.sample(np.zeros(20_000), np.random.default_rng(2))
    assert abs(np.isinf(t).mean() - 0.5) < 0.02
    # a deal already older than every close never closes
    assert km.prob_by(np.array([60.0]), np.array([np.inf]))[0] == 0.0


# ----------------------------------------------------------------------------- pipeline


def test_pipeline_as_of_uses_history_as_it_stood() -> None:
    opps, hist = hand_opps()
    p = fc.pipeline_as_of(opps, hist, as_of="2024-03-12").set_index("opportunity_id")
    assert sorted(p.index) == ["A", "B", "C"]  # D not created yet
    assert p.loc["A", "stage"] == "proposal" and p.loc["A", "amount"] == 100.0
    assert p.loc["A", "expected_close"] == pd.Timestamp("2024-03-10")
    assert p.loc["A", "days_to_close"] == -2  # overdue by two days
    assert p.loc["B", "stage"] == "proposal" and p.loc["B", "stage_days"] == 2
    assert p.loc["C", "stage"] == "qualification" and p.loc["C", "age_days"] == 11
    # a deal that closed on the as-of day was still open at midnight; closed the day before: not
    assert "A" in fc.pipeline_as_of(opps, hist, as_of="2024-03-15")["opportunity_id"].tolist()
    assert "A" not in fc.pipeline_as_of(opps, hist, as_of="2024-03-16")["opportunity_id"].tolist()


def test_pipeline_without_history_is_approximate() -> None:
    opps, _ = hand_opps()
    p = fc.pipeline_as_of(opps, as_of="2024-03-12")
    assert set(p["source"]) == {"approximate"}
    assert set(p["stage"]) == {
        pipeline_history.NO_HISTORY_STAGE
    }  # current stage would leak the outcome
    assert p["expected_close"].isna().all()


def test_snapshots_know_only_outcomes_before_as_of() -> None:
    opps, hist = hand_opps()
    early = pd.DataFrame(
        {
            "opportunity_id": ["Z"],
            "type": ["new_business"],
            "amount": [5.0],
            "created_date": pd.to_datetime(["2024-01-02"]),
            "close_date": pd.to_datetime(["2024-01-20"]),
            "stage": ["closed_lost"],
            "status": ["lost"],
        }
    )
    s = fc.snapshots(
        pd.concat([opps, early], ignore_index=True), hist, as_of="2024-04-15", months=2
    )
    assert sorted(set(s["snapshot"])) == [pd.Timestamp("2024-03-01"), pd.Timestamp("2024-04-01")]
    a = s[s["opportunity_id"] == "A"].iloc[0]
    assert a["closed"] and a["won"]  # A closed 2024-03-15 < as_of
    b = s[s["opportunity_id"] == "B"]
    assert not b["closed"].any()  # B closes 2024-05-01, after as_of: still open then
    assert s.groupby("opportunity_id")["weight"].sum().round(12).eq(1).all()
    # without Z the extract's first recorded close is 2024-03-15: the March snapshot would miss
    # deals that closed before it, so it is skipped
    assert sorted(set(fc.snapshots(opps, hist, as_of="2024-04-15", months=2)["snapshot"])) == [
        pd.Timestamp("2024-04-01")
    ]


def test_stage_win_rates_golden() -> None:
    snaps = pd.DataFrame(
        {
            "opportunity_id": ["a", "a", "b", "c", "d"],
            "stage": ["s1", "s1", "s1", "s2", "s2"],
            "type": "new_business",
            "closed": [True, True, True, True, False],
            "won": [True, True, False, True, False],
            "weight": [0.5, 0.5, 1.0, 1.0, 1.0],
        }
    )
    r = fc.stage_win_rates(snaps, by=("stage",), rule="snapshot", prior=0.0).set_index("stage")
    # s1: appearances a, a, b -> rate 2/3; deals a and b -> 2 deals, 4/3 won
    assert r.loc["s1", "win_rate"] == pytest.approx(2 / 3)
    assert r.loc["s1", "closed"] == pytest.approx(2.0)
    assert r.loc["s2", "win_rate"] == pytest.approx(1.0)
    shrunk = fc.stage_win_rates(snaps, by=("stage",), rule="snapshot", prior=4.0).set_index("stage")
    base = (3 + 1) / (4 + 2)  # all closed appearances, Laplace smoothed
    assert shrunk.loc["s2", "win_rate"] == pytest.approx((base * 4 + 1) / (4 + 1))
    with pytest.raises(ValueError, match="subset of"):
        fc.stage_win_rates(snaps, by=("owner",), rule="snapshot", prior=10.0)


def test_category_rollup_is_cumulative_like_crm_tools() -> None:
    deals = pd.DataFrame(
        {
            "category": ["commit", "commit", "best_case", "pipeline"],
            "amount": [10.0, 20.0, 5.0, 100.0],
        }
    )
    r = fc.category_rollup(
        deals, closed_won=7.0, expected=pd.Series([9.0, 18.0, 2.0, 10.0])
    ).set_index("rollup")
    assert r.loc["Closed", "amount"] == 7.0
    assert r.loc["Commit forecast", "amount"] == 37.0
    assert r.loc["Best case forecast", "amount"] == 42.0
    assert r.loc["Open pipeline", "amount"] == 135.0  # open deals only, no closed
    assert r.loc["Commit forecast", "model_expected"] == 34.0


def test_forecast_category_from_crm_or_stage_rate() -> None:
    deals = pd.DataFrame({"forecast_category": ["Commit", None, "Best Case", None]})
    rate = pd.Series([0.1, 0.8, 0.9, 0.5])
    got = fc.forecast_category(deals, rate).tolist()
    assert got == ["commit", "commit", "best_case", "best_case"]
    assert fc.forecast_category(
        pd.DataFrame(index=range(3)), pd.Series([0.75, 0.45, 0.1])
    ).tolist() == ["commit", "best_case", "pipeline"]


def test_coverage_and_velocity_golden() -> None:
    assert fc.coverage_ratio(300.0, 150.0, closed_won=50.0) == pytest.approx(3.0)
    assert fc.coverage_ratio(300.0, 100.0, closed_won=120.0) == float("inf")
    opps, _ = hand_opps()
    v = fc.sales_velocity(opps, as_of="2024-06-01").set_index("type")
    # closed in the year before: A won (100, 70 days), B lost, D won (30, 5 days); open: C
    assert v.loc["total", "win_rate"] == pytest.approx(2 / 3)
    assert v.loc["total", "avg_deal_size"] == pytest.approx(65.0)
    assert v.loc["total", "cycle_days"] == pytest.approx(37.5)
    assert v.loc["total", "velocity_per_day"] == pytest.approx(1 * (2 / 3) * 65 / 37.5)


def test_stage_aging_flags_deals_past_the_usual_time() -> None:
    opps, hist = hand_opps()
    open_ = fc.pipeline_as_of(opps, hist, as_of="2024-06-01")
    by_stage, stuck = fc.stage_aging(open_, hist, opps, as_of="2024-06-01", quantile=0.5)
    # proposal spells before June: A 2024-02-01..03-15 (43 days), B 2024-03-10..05-01 (52 days)
    assert by_stage.set_index("stage").loc["proposal", "stuck_after_days"] == pytest.approx(47.5)
    assert stuck["opportunity_id"].tolist() == ["C"]  # in proposal since 2024-04-10: 52 days


def test_creation_trend_and_growth() -> None:
    months = pd.date_range("2023-01-01", periods=12, freq="MS")
    rows = [
        {
            "opportunity_id": f"{m:%m}-{i}",
            "type": "new_business",
            "amount": 1.0,
            "created_date": m,
            "close_date": m,
            "stage": "x",
            "status": "lost",
        }
        for k, m in enumerate(months)
        for i in range(int(round(10 * 1.05**k)))
    ]
    opps = pd.DataFrame(rows)
    trend = fc.creation_trend(opps, as_of="2024-01-01", months=12)
    assert trend.loc[trend["type"] == "new_business", "deals"].tolist()[:3] == [10, 10, 11]
    growth = fc.creation_growth(trend).set_index("type")
    assert growth.loc["new_business", "growth_per_month"] == pytest.approx(0.05, abs=0.01)


# ----------------------------------------------------------------------------- creation model


def test_creation_rates_recover_a_trend() -> None:
    rng = np.random.default_rng(4)
    months = pd.date_range("2023-01-01", periods=12, freq="MS")
    rows = []
    for k, m in enumerate(months):
        for i in range(rng.poisson(100 * 1.03**k)):
            rows.append(
                {
                    "opportunity_id": f"{k}-{i}",
                    "type": "new_business",
                    "amount": 1.0,
                    "created_date": m + pd.Timedelta(days=int(rng.integers(0, 28))),
                    "close_date": m + pd.Timedelta(days=40),
                    "stage": "x",
                    "status": "open",
                }
            )
    r = fc.creation_rates(pd.DataFrame(rows), as_of="2024-01-01").set_index("type")
    assert r.loc["new_business", "growth_per_month"] == pytest.approx(0.03, abs=0.012)
    # January 2024 expected at ~100 x 1.03^12
    assert r.loc["new_business", "rate_per_month"] == pytest.approx(100 * 1.03**12, rel=0.08)
    flat = fc.creation_rates(pd.DataFrame(rows), as_of="2024-01-01", trend=False).set_index("type")
    assert flat.loc["new_business", "growth_per_month"] == 0.0
    assert flat.loc["renewal", "created"] == 0


# ----------------------------------------------------------------------------- bookings


def test_forecast_bookings_counts_closed_to_date_and_nothing_else_when_pipeline_is_empty() -> None:
    opps = pd.DataFrame(
        {
            "opportunity_id": ["w1", "w2", "l1"],
            "type": ["new_business", "renewal", "new_business"],
            "amount": [100.0, 40.0, 999.0],
            "created_date": pd.to_datetime(["2023-01-01", "2023-01-01", "2023-01-01"]),
            "close_date": pd.to_datetime(["2023-02-10", "2023-02-20", "2023-02-11"]),
            "stage": ["won", "won", "lost"],
            "status": ["won", "won", "lost"],
        }
    )
    f = fc.forecast_bookings(
        opps,
        as_of="2023-03-01",
        period="quarter",
        n_simulations=50,
        config={"creation_trend": False},
    )
    s = f.summary().set_index("type")
    # no open deals; creation model: 3 deals in January 2023 of the last 12 months -> a few future
    # deals, but none can be created and won before the quarter ends except by chance: closed-to-date
    # is the floor of every simulation
    assert (f.totals()[:, 0] >= 140.0).all()
    assert f.components["closed"][0].sum() == 140.0
    assert s.loc["renewal", "p10"] >= 40.0


def test_forecast_bookings_is_deterministic_and_checks_inputs() -> None:
    t = toy_crm(18, seed=1)
    a = fc.forecast_bookings(
        t["opportunities"], t["opportunity_history"], as_of="2023-04-01", n_simulations=300, seed=7
    )
    b = fc.forecast_bookings(
        t["opportunities"], t["opportunity_history"], as_of="2023-04-01", n_simulations=300, seed=7
    )
    pd.testing.assert_frame_equal(a.summary(), b.summary())
    with pytest.raises(ValueError, match="period must be 'month' or 'quarter'"):
        fc.forecast_bookings(t["opportunities"], as_of="2023-04-01", period="year")
    with pytest.raises(ValueError, match="unknown bookings config keys"):
        fc.forecast_bookings(t["opportunities"], as_of="2023-04-01", config={"lookback": 3})
    with pytest.raises(ValueError, match="timing='closing_model' needs opportunity_history"):
        fc.forecast_bookings(
            t["opportunities"], as_of="2023-04-01", config={"timing": "closing_model"}
        )
    with pytest.raises(ValueError, match=r"win_probability must be in \[0, 1\]"):
        fc.forecast_bookings(
            t["opportunities"], as_of="2023-04-01", win_probability=pd.Series({"D00001": 1.5})
        )
    with pytest.raises(ValueError, match="must have columns"):
        fc.forecast_bookings(t["opportunities"].drop(columns="status"), as_of="2023-04-01")


def test_forecast_ignores_everything_after_as_of() -> None:
    """No leakage: rewriting outcomes and deals dated after the forecast date changes nothing."""
    t = toy_crm(20, seed=2)
    opps, hist = t["opportunities"], t["opportunity_history"]
    as_of = pd.Timestamp("2023-06-01")
    base = fc.forecast_bookings(opps, hist, as_of=as_of, n_simulations=200, seed=3)
    future = opps["close_date"] >= as_of
    changed = opps.copy()
    changed.loc[future & (changed["status"] != "open"), "status"] = np.where(
        changed.loc[future & (changed["status"] != "open"), "status"] == "won", "lost", "won"
    )
    changed.loc[changed["created_date"] >= as_of, "amount"] *= 10
    h2 = hist.copy()
    h2.loc[h2["changed_at"] >= as_of, "stage"] = "something_else"
    other = fc.forecast_bookings(changed, h2, as_of=as_of, n_simulations=200, seed=3)
    np.testing.assert_array_equal(base.draws, other.draws)


def test_win_probability_overrides_history() -> None:
    t = toy_crm(18, seed=5)
    opps, hist = t["opportunities"], t["opportunity_history"]
    as_of = "2023-05-01"
    open_ids = fc.pipeline_as_of(opps, hist, as_of=as_of)["opportunity_id"]
    never = fc.forecast_bookings(
        opps, hist, as_of=as_of, n_simulations=200, win_probability=pd.Series(0.0, index=open_ids)
    )
    sure = fc.forecast_bookings(
        opps, hist, as_of=as_of, n_simulations=200, win_probability=pd.Series(1.0, index=open_ids)
    )
    assert never.components["open"].sum() == 0
    assert sure.components["open"].sum() > 0
    assert (sure.deals["win_rate"] > 0.99).all()


def toy_expected_bookings(
    opps: pd.DataFrame,
    as_of: pd.Timestamp,
    end: pd.Timestamp,
    *,
    per_month=60.0,
    p_win=0.4,
    mean_days=20.0,
) -> float:
    """The toy CRM's true expected bookings in [as_of, end) given the deals open at as_of: cycles
    are exponential (memoryless), so an open deal closes in the window with probability
    1 - exp(-days / mean_days) whatever its age; a deal created u days into the window closes
    inside it with probability 1 - exp(-(days - u) / mean_days)."""
    days = (end - as_of).days
    open_ = fc.pipeline_as_of(opps, as_of=as_of)
    from_open = p_win * (1 - np.exp(-days / mean_days)) * open_["amount"].sum()
    mean_amount = 10_000 * np.exp(0.5**2 / 2)
    closes = days - mean_days * (1 - np.exp(-days / mean_days))  # integral over creation days
    from_new = per_month / 30.4375 * p_win * mean_amount * closes
    return from_open + from_new


@pytest.mark.parametrize("with_history", [True, False])
def test_bookings_mean_matches_the_true_conditional_expectation(with_history: bool) -> None:
    t = toy_crm(30, seed=11, per_month=60, p_win=0.4, mean_days=20, history=with_history)
    opps, hist = t["opportunities"], t.get("opportunity_history")
    ratios = []
    for as_of in pd.date_range("2023-09-01", periods=4, freq="MS"):
        f = fc.forecast_bookings(opps, hist, as_of=as_of, period="month", n_simulations=400, seed=1)
        truth = toy_expected_bookings(opps, as_of, as_of + pd.DateOffset(months=1))
        ratios.append(f.totals()[:, 0].mean() / truth)
    assert np.mean(ratios) == pytest.approx(1.0, abs=0.08), ratios
    assert max(abs(r - 1) for r in ratios) < 0.2, ratios
    assert f.info["timing"] == ("closing_model" if with_history else "age")


def test_stage_weighted_forecast_golden() -> None:
    opps, hist = hand_opps()
    # at 2024-04-15: open B (proposal, expected 2024-04-15, inside Q2) and C (proposal, expected
    # 2024-06-30, inside Q2); nothing won in Q2 before the 15th
    r = bookings_forecast.stage_weighted_forecast(opps, hist, as_of="2024-04-15", period="quarter")
    deals = fc.pipeline_as_of(opps, hist, as_of="2024-04-15").set_index("opportunity_id")
    p = pipeline_history.lookup_rates(
        deals,
        fc.stage_win_rates(
            fc.snapshots(opps, hist, as_of="2024-04-15"), rule="snapshot", prior=10.0
        ),
    )["win_rate"]
    assert r["forecast"] == pytest.approx(50 * p["B"] + 80 * p["C"])
    sd = np.sqrt(p["B"] * (1 - p["B"]) * 50**2 + p["C"] * (1 - p["C"]) * 80**2)
    assert r["upper80"] == pytest.approx(r["forecast"] + 1.2815515655446004 * sd)


# ----------------------------------------------------------------------------- closing model


def test_deal_weeks_rows_and_outcomes() -> None:
    snaps = pd.DataFrame(
        {
            "snapshot": pd.to_datetime(["2024-01-01", "2024-01-01"]),
            "close_date": pd.to_datetime(["2024-01-17", pd.NaT]),
            "closed": [True, False],
            "won": [True, False],
            "days_to_close": [10.0, 30.0],
            "age_days": [5.0, 5.0],
            "stage": "s",
            "type": "new_business",
            "amount": 1.0,
            "weight": 1.0,
        }
    )
    rows = closing.deal_weeks(snaps, as_of="2024-02-01")
    first = rows.iloc[:3]
    assert first["week"].tolist() == [0, 1, 2] and first["outcome"].tolist() == [
        0,
        0,
        1,
    ]  # won on day 16
    second = rows.iloc[3:]
    assert (
        second["week"].tolist() == [0, 1, 2, 3] and (second["outcome"] == 0).all()
    )  # 31 days observed


def test_outcome_table_sums_to_one() -> None:
    rng = np.random.default_rng(0)
    p = rng.dirichlet([8, 1, 1], size=(5, 10))
    tab = closing.outcome_table(p)
    np.testing.assert_allclose(tab.sum(axis=1), 1.0)
    # won in week 0 is exactly the week-0 hazard of winning
    np.testing.assert_allclose(tab[:, 0], p[:, 0, 1])


# ----------------------------------------------------------------------------- ARR model


def movements(
    n: int = 30, *, seed: int = 0, rates=(0.02, 0.01, 0.015), sd=0.15, new=50_000.0, growth=0.2
) -> pd.DataFrame:
    """Monthly MRR bridge simulated from known rates (the model's own assumptions)."""
    rng = np.random.default_rng(seed)
    mrr, rows = 1_000_000.0, []
    for k in range(n):
        years = (k - (n - 1)) / 12
        e, c, ch = (r * np.exp(sd * rng.standard_normal() - sd**2 / 2) * mrr for r in rates)
        nw = np.exp(np.log(new) + growth * years + 0.1 * rng.standard_normal())
        close = mrr + nw + e - c - ch
        rows.append(
            {
                "month": pd.Timestamp("2022-01-01") + pd.DateOffset(months=k),
                "opening_mrr": mrr,
                "new_mrr": nw,
                "reactivation_mrr": 0.0,
                "expansion_mrr": e,
                "contraction_mrr": c,
                "churned_mrr": ch,
                "closing_mrr": close,
            }
        )
        mrr = close
    return pd.DataFrame(rows)


def test_rate_data_golden_and_errors() -> None:
    mv = pd.DataFrame(
        {
            "month": pd.date_range("2024-01-01", periods=4, freq="MS"),
            "opening_mrr": [0.0, 100.0, 200.0, 400.0],
            "new_mrr": [100.0, 100.0, 150.0, 10.0],
            "reactivation_mrr": [0.0, 0.0, 50.0, 0.0],
            "expansion_mrr": [0.0, 10.0, 20.0, 0.0],
            "contraction_mrr": [0.0, 5.0, 0.0, 4.0],
            "churned_mrr": [0.0, 5.0, 20.0, 8.0],
            "closing_mrr": [100.0, 200.0, 400.0, 398.0],
        }
    )
    d = arr.rate_data(mv, window=24)
    assert len(d) == 3  # first month has no opening MRR
    np.testing.assert_allclose(d["new_mrr"], [100.0, 200.0, 10.0])  # new + reactivation
    np.testing.assert_allclose(d["expansion"], [0.1, 0.1, 1e-6])  # zero floored
    np.testing.assert_allclose(d["churn"], [0.05, 0.1, 0.02])
    np.testing.assert_allclose(d["years"], [-2 / 12, -1 / 12, 0.0])
    with pytest.raises(ValueError, match="missing columns"):
        arr.rate_data(mv.drop(columns="churned_mrr"))
    with pytest.raises(ValueError, match="at least 3 months"):
        arr.rate_data(mv.iloc[:3])
    with pytest.raises(ValueError, match="unknown ARR model settings"):
        arr.build_arr_model(d, priors={"windw": 3})


@pytest.mark.filterwarnings("ignore:PyTensor could not link to a BLAS")
def test_arr_model_structure_and_logp() -> None:
    d = arr.rate_data(movements(12))
    model = arr.build_arr_model(d)
    names = {v.name for v in model.free_RVs}
    assert names == {"log_rate", "sigma", "log_new", "growth", "sigma_new"}
    assert np.isfinite(model.compile_logp()(model.initial_point()))
    assert model["obs_rate"].eval().shape == (len(d), 3)


def _posterior(
    n=4000, rates=(0.0, 0.0, 0.0), sigma=0.0, new=100.0, growth=0.0, s_new=0.0, start=1000.0
) -> arr.ArrPosterior:
    return arr.ArrPosterior(
        rate=np.tile(rates, (n, 1)).astype(float),
        sigma=np.full((n, 3), sigma),
        log_new=np.full(n, np.log(new)),
        growth=np.full(n, growth),
        sigma_new=np.full(n, s_new),
        start_mrr=start,
        start_month=pd.Timestamp("2024-12-01"),
    )


def test_simulate_arr_deterministic_paths() -> None:
    p = _posterior(n=3, rates=(0.1, 0.0, 0.05), new=100.0)
    paths = arr.simulate_arr(p, months=2)
    # month 1: 1000 + 100 + 100 - 50 = 1150; month 2: 1150 + 100 + 115 - 57.5
    np.testing.assert_allclose(paths[0], [1000.0, 1150.0, 1307.5])
    half = arr.simulate_arr(p, months=1, multipliers={"new": 0.5, "churn": 2.0})
    np.testing.assert_allclose(half[0, 1], 1000 + 50 + 100 - 100)
    shocked = arr.simulate_arr(p, months=1, shocks=np.full((3, 1), 0.1))
    np.testing.assert_allclose(shocked[0, 1], 1150 * 0.9)
    with pytest.raises(ValueError, match="multipliers must be among"):
        arr.simulate_arr(p, months=1, multipliers={"upsell": 2.0})


def test_target_probability_and_months() -> None:
    assert arr.target_month("2025-12-31") == pd.Timestamp("2025-12-01")
    assert arr.target_month("2026-01-01") == pd.Timestamp("2025-12-01")
    assert arr.horizon_months("2024-12-01", "2025-12-31") == 12
    paths = np.column_stack([np.full(4, 100.0), [90.0, 110.0, 120.0, 80.0]])
    r = arr.target_probability(
        paths, arr_target=12 * 100.0, start_month="2024-12-01", target_date="2025-01-31"
    )
    assert r["probability"] == 0.5 and r["months_ahead"] == 1
    with pytest.raises(ValueError, match="target_date must be after"):
        arr.horizon_months("2024-12-01", "2024-12-31")
    with pytest.raises(ValueError, match="arr_target must be > 0"):
        arr.target_probability(
            paths, arr_target=0, start_month="2024-12-01", target_date="2025-01-31"
        )


def test_arr_fan_quantiles() -> None:
    paths = np.tile(np.arange(1, 11, dtype=float)[:, None], (1, 3))
    fan = arr.arr_fan(paths, "2024-12-01")
    assert fan["month"].tolist() == list(pd.date_range("2024-12-01", periods=3, freq="MS"))
    np.testing.assert_allclose(fan["p50"], 12 * 5.5)


@pytest.mark.slow
def test_arr_model_recovers_known_rates() -> None:
    mv = movements(36, seed=4, rates=(0.02, 0.008, 0.012), sd=0.15, new=40_000, growth=0.25)
    _, post, _ = arr.fit_arr_model(
        mv, sampler={"draws": 500, "tune": 500, "chains": 2}, seed=1, priors={"window": 36}
    )
    s = arr.rate_summary(post).set_index("parameter")
    for name, true in (
        ("expansion_rate", 0.02),
        ("contraction_rate", 0.008),
        ("churn_rate", 0.012),
    ):
        assert s.loc[name, "lower"] <= true <= s.loc[name, "upper"], (name, s.loc[name].to_dict())
        assert s.loc[name, "mean"] == pytest.approx(true, rel=0.15)
    assert s.loc["new_growth_per_year", "lower"] <= 0.25 <= s.loc["new_growth_per_year", "upper"]


# ----------------------------------------------------------------------------- scenarios


def test_bundled_risk_register_matches_the_issue() -> None:
    cfg = scenarios.load_risk_config()
    r = cfg["risks"].set_index("name")
    expected = {
        "Economic downturn": (0.15, -0.25),
        "Competitive response": (0.30, -0.15),
        "Technology disruption": (0.10, -0.40),
        "Key customer churn": (0.20, -0.05),
        "Sales under-performance": (0.25, -0.20),
        "Product issues": (0.15, -0.10),
    }
    for name, (p, impact) in expected.items():
        assert (r.loc[name, "probability"], r.loc[name, "impact"]) == (p, impact)
    assert list(cfg["scenarios"]) == ["conservative", "base", "optimistic"]
    assert scenarios.scenario_multipliers(cfg, "base") == {
        "new": 1.0,
        "expansion": 1.0,
        "contraction": 1.0,
        "churn": 1.0,
    }


def test_risk_config_lists_every_problem() -> None:
    bad = {
        "scenarios": {"fast": {"new": -1, "upsell": 2}},
        "risks": [{"name": "x", "probability": 2, "impact": -0.1, "applies_to": "sales"}],
    }
    with pytest.raises(ValueError, match="invalid risk configuration") as err:
        scenarios.load_risk_config(bad)
    text = str(err.value)
    for part in (
        "unknown keys ['upsell']",
        "new must be a number >= 0",
        "must include 'base'",
        "probability must be in [0, 1]",
        "applies_to must be one of",
    ):
        assert part in text
    with pytest.raises(ValueError, match="scenario must be one of"):
        scenarios.scenario_multipliers(scenarios.load_risk_config(), "doom")


def test_draw_risks_frequencies_and_effects() -> None:
    risks = pd.DataFrame(
        [
            {"name": "a", "probability": 0.3, "impact": -0.5, "applies_to": "new"},
            {"name": "b", "probability": 0.2, "impact": -0.1, "applies_to": "arr"},
            {"name": "c", "probability": 0.1, "impact": -0.2, "applies_to": "churn"},
        ]
    )
    d = scenarios.draw_risks(risks, n_paths=40_000, months=12, seed=0)
    np.testing.assert_allclose(d["occurred"].mean(axis=0), [0.3, 0.2, 0.1], atol=0.01)
    hit_a = d["occurred"][:, 0]
    assert set(np.unique(d["new"][hit_a, -1])) == {0.5}  # after the shock, new MRR halves
    assert (d["new"][~hit_a] == 1).all()
    np.testing.assert_allclose(d["shocks"].sum(axis=1)[d["occurred"][:, 1]], 0.1)
    assert np.allclose(d["churn"][d["occurred"][:, 2], -1], 1 / 0.8)
    rev = scenarios.draw_risks(
        risks.assign(applies_to="revenue").iloc[:1], n_paths=1000, months=12, seed=2
    )
    hit = rev["occurred"][:, 0]
    np.testing.assert_allclose(rev["shocks"].sum(axis=1)[hit], 0.5)  # one-off in its month
    assert set(np.unique(rev["new"][hit, -1])) <= {0.5, 1.0}  # then new MRR at 50 % too
    # half a year: 1 - (1 - p) ** 0.5
    half = scenarios.draw_risks(risks.iloc[:1], n_paths=40_000, months=6, seed=1)
    assert half["occurred"].mean() == pytest.approx(1 - 0.7**0.5, abs=0.01)


def test_scenarios_and_risks_move_arr_the_right_way() -> None:
    p = _posterior(n=500, rates=(0.02, 0.01, 0.015), sigma=0.1, new=50.0, s_new=0.1)
    cfg = scenarios.load_risk_config()
    table = scenarios.scenario_table(
        p, cfg, months=12, n_paths=2000, arr_target=12 * 1300.0
    ).set_index(["scenario", "risks"])
    p50 = table["p50"]
    assert (
        p50[("conservative", "no shocks")]
        < p50[("base", "no shocks")]
        < p50[("optimistic", "no shocks")]
    )
    assert p50[("base", "with risk register")] < p50[("base", "no shocks")]
    imp, clean, shocked = scenarios.risk_impacts(p, cfg, months=12, n_paths=2000)
    assert (imp["arr_loss_if_hit"] > 0).all()
    # the bundled register states revenue impacts, and that is what is modelled: a risk that
    # strikes leaves ARR at the horizon (1 + impact) x what it would have been
    assert (imp["applies_to"] == "revenue").all()
    np.testing.assert_allclose(imp["modelled_impact"], imp["impact"], atol=1e-9)
    key = imp.set_index("risk").loc["Key customer churn"]
    assert key["arr_loss_if_hit"] == pytest.approx(0.05 * clean.mean(), rel=0.05)
    assert key["expected_arr_loss"] == pytest.approx(
        key["probability_in_horizon"] * key["arr_loss_if_hit"]
    )
    assert shocked.mean() < clean.mean()
    # a risk on new MRR only moves horizon ARR far less than its stated impact
    one_flow = {**cfg, "risks": cfg["risks"].assign(applies_to="new")}
    imp_new, _, _ = scenarios.risk_impacts(p, one_flow, months=12, n_paths=2000)
    assert (imp_new["modelled_impact"].abs() < imp_new["impact"].abs() / 2).all()


def test_risk_effects_read_in_the_direction_they_move_the_flow() -> None:
    """Issue 14: "-10 % on churn" read backwards; the risk adds 11 % to the losses."""
    assert (
        scenarios.impact_text(-0.10, "churn") == "+11% churned and contracted MRR every month after"
    )
    assert (
        scenarios.impact_text(-0.25, "gross_new") == "-25% new and expansion MRR every month after"
    )
    assert scenarios.impact_text(-0.05, "arr") == "5% of MRR lost at once"
    assert scenarios.impact_text(-0.25, "revenue") == "-25% MRR from the month it strikes on"
    with pytest.raises(ValueError, match="applies_to must be one of"):
        scenarios.impact_text(-0.1, "sales")


def test_arr_headline_leads_with_the_risk_adjusted_chance() -> None:
    from revlib.forecasting import report

    paths = np.full((100, 13), 1000.0)  # every path ends at 12,000 ARR
    with_risks = np.r_[np.full(80, 12_000.0), np.full(20, 9_000.0)]
    velocity = {"actual_daily_velocity": 1.0, "required_daily_velocity": 0.5}
    velocity |= {"required_monthly_velocity": 15.0, "actual_monthly_velocity": 30.0}
    kw = {"start_month": "2025-12-01", "arr_target": 11_000.0, "target_date": "2026-12-31"}
    plain = report.arr_cards(paths, velocity=velocity, **kw)
    assert plain[2]["value"] == "> 99 %"
    cards = report.arr_cards(paths, velocity=velocity, arr_with_risks=with_risks, **kw)
    chance = cards[2]
    assert chance["label"] == "Chance to reach the ARR target (with the risk register)"
    assert chance["value"] == "80 %" and "> 99 % if no risk strikes" in chance["sub"]
    assert cards[1]["label"].endswith("(P50, with the risk register)")


# ----------------------------------------------------------------------------- back-test


def test_period_bookings_and_naive_forecasts_golden() -> None:
    opps = pd.DataFrame(
        {
            "opportunity_id": list("abcdef"),
            "type": "new_business",
            "amount": [10.0, 20.0, 30.0, 40.0, 50.0, 5.0],
            "created_date": pd.Timestamp("2023-01-01"),
            "close_date": pd.to_datetime(
                ["2023-01-10", "2023-02-10", "2023-04-10", "2023-07-10", "2023-10-10", "2024-01-05"]
            ),
            "stage": "x",
            "status": ["won", "won", "won", "won", "won", "lost"],
        }
    )
    s = backtest.period_bookings(opps, period="quarter", end="2024-02-01")
    assert s.tolist() == [30.0, 30.0, 40.0, 50.0]  # Q1 2024 is not complete on 2024-02-01
    f = backtest.naive_forecast(s, "2024-01-01", period="quarter", method="last_period")
    assert f["forecast"] == 50.0 and np.isnan(f["lower80"])  # fewer than 4 past errors
    seas = backtest.naive_forecast(s, "2024-01-01", period="quarter", method="seasonal_naive")
    assert seas["forecast"] == 30.0
    assert np.isnan(
        backtest.naive_forecast(s, "2023-04-01", period="quarter", method="seasonal_naive")[
            "forecast"
        ]
    )
    assert np.isnan(
        backtest.ets_forecast(s, "2024-01-01", period="quarter")["forecast"]
    )  # too short
    with pytest.raises(ValueError, match="method must be"):
        backtest.naive_forecast(s, "2024-01-01", period="quarter", method="drift")


def test_naive_interval_from_past_errors() -> None:
    s = pd.Series(
        [100.0, 110.0, 121.0, 133.1, 146.41, 161.05],
        index=pd.date_range("2023-01-01", periods=6, freq="MS"),
    )
    f = backtest.naive_forecast(s, "2023-07-01", period="month", method="last_period")
    # every past ratio actual / last = 1.1, so the interval collapses onto 1.1 x forecast
    assert f["lower80"] == pytest.approx(161.05 * 1.1, rel=1e-4) and f["upper80"] == pytest.approx(
        161.05 * 1.1, rel=1e-4
    )


def test_backtest_summary_golden_and_verdict() -> None:
    bt = pd.DataFrame(
        {
            "origin": pd.to_datetime(["2024-01-01", "2024-04-01"] * 2),
            "period": ["2024-Q1", "2024-Q2"] * 2,
            "method": ["model", "model", "last_period", "last_period"],
            "forecast": [102.0, 190.0, 80.0, 100.0],
            "actual": [100.0, 200.0, 100.0, 200.0],
            "lower80": [90.0, 201.0, np.nan, np.nan],
            "upper80": [110.0, 210.0, np.nan, np.nan],
        }
    )
    s = backtest.backtest_summary(bt).set_index("method")
    assert s.loc["model", "wape"] == pytest.approx((2 + 10) / 300)
    assert s.loc["model", "wape"] == pytest.approx(wape([100, 200], [102, 190]))
    assert s.loc["model", "bias"] == pytest.approx(bias([100, 200], [102, 190]))
    assert s.loc["model", "within_5pct"] == pytest.approx(1.0)  # 2 % and 5 % off
    assert s.loc["model", "coverage80"] == pytest.approx(0.5)
    assert np.isnan(s.loc["last_period", "coverage80"])
    assert s.loc["model", "best_wape"] and not s.loc["last_period", "best_wape"]
    text = backtest.verdict(backtest.backtest_summary(bt))
    assert "model" in text and "beats last_period" in text


def test_verdict_names_every_method_the_model_beats() -> None:
    """Issue 14: the verdict named only the naive baselines; stage-weighted and ETS count too."""
    summary = pd.DataFrame(
        {
            "method": ["model", "stage_weighted", "last_period", "seasonal_naive", "ets"],
            "periods": [8] * 5,
            "wape": [0.10, 0.20, 0.30, 0.25, 0.08],
        }
    )
    text = backtest.verdict(summary)
    assert text.startswith("Most accurate over 8 periods: ets (WAPE 8.0%).")
    assert text.endswith(
        "The model beats stage_weighted, last_period and seasonal_naive on WAPE but not ets."
    )


def test_backtest_rows_and_errors() -> None:
    t = toy_crm(24, seed=8, history=False)
    bt = fc.rolling_backtest(
        t["opportunities"],
        period="quarter",
        origins=2,
        n_simulations=100,
        methods=("model", "last_period"),
    )
    assert list(bt.columns) == [
        "origin",
        "period",
        "method",
        "forecast",
        "actual",
        "lower80",
        "upper80",
    ]
    assert len(bt) == 4 and bt["origin"].is_monotonic_increasing
    m = bt[bt["method"] == "model"]
    assert (m["lower80"] <= m["forecast"]).all() and (m["forecast"] <= m["upper80"]).all()
    with pytest.raises(ValueError, match="methods must be among"):
        fc.rolling_backtest(t["opportunities"], methods=("prophet",))
    with pytest.raises(ValueError, match="no back-test origin"):
        fc.rolling_backtest(t["opportunities"].iloc[:0], origins=3)
