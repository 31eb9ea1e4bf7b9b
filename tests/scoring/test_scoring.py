"""revlib.scoring: snapshot features and the leakage guard, metrics, calibration, splits,
models, save/load and the score command. Fast tests on hand-built and simulated frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from revlib import scoring
from revlib.data import validate_tables, write_tables
from revlib.scoring import evaluation as E
from revlib.scoring.close_dates import CloseDateModel, close_date_accuracy, period_end
from revlib.scoring.features import knowledge_at
from revlib.scoring.model import apply_calibrator, fit_calibrator
from revlib.scoring.splits import split_rows
from tests.scoring.crm_simulator import simulate_crm

T = pd.Timestamp


def tiny_tables() -> dict[str, pd.DataFrame]:
    """Five deals whose features at 2024-02-29 are worked out by hand in the tests."""
    accounts = pd.DataFrame(
        {
            "account_id": ["A1", "A2"],
            "industry": ["technology", "finance"],
            "employees": [50, 500],
            "region": ["NA", "EU"],
            "segment": ["smb", "mid_market"],
            "created_at": ["2023-01-01", "2023-06-01"],
            "acquisition_channel": ["referral", "paid_search"],
        }
    )
    opps = pd.DataFrame(
        {
            "opportunity_id": ["D1", "D2", "D3", "D4", "D5"],
            "account_id": ["A1", "A2", "A1", "A2", "A2"],
            "type": ["new_business", "new_business", "expansion", "new_business", "renewal"],
            "product": ["growth", "starter", "growth", "scale", "starter"],
            "amount": [1200.0, 300.0, 800.0, 500.0, 400.0],
            "created_date": ["2024-01-10", "2023-12-01", "2023-11-01", "2024-02-01", "2023-12-15"],
            "close_date": ["2024-03-15", "2024-01-20", "2024-02-10", "2024-04-30", "2024-01-05"],
            "stage": ["closed_won", "closed_lost", "closed_won", "qualification", "closed_won"],
            "status": ["won", "lost", "won", "open", "won"],
            "owner": ["R1", "R1", "R1", "R2", "R2"],
            "competitor": ["none", "none", "Rivalco", "none", "none"],
            "discount_pct": [10.0, 0.0, 5.0, 0.0, 0.0],
        }
    )
    h = [
        ("D1", "2024-01-10T10:00:00", "qualification", 1000.0, "2024-02-28"),
        ("D1", "2024-02-05T09:00:00", "demo", 1000.0, "2024-02-28"),
        ("D1", "2024-02-20T12:00:00", "demo", 1200.0, "2024-02-28"),
        ("D1", "2024-03-01T08:00:00", "demo", 1200.0, "2024-03-31"),
        ("D1", "2024-03-15T16:00:00", "closed_won", 1200.0, "2024-03-15"),
        ("D2", "2023-12-01T09:00:00", "qualification", 300.0, "2024-01-31"),
        ("D2", "2024-01-20T09:00:00", "closed_lost", 300.0, "2024-01-20"),
        ("D3", "2023-11-01T09:00:00", "qualification", 800.0, "2024-01-15"),
        ("D3", "2024-02-10T09:00:00", "closed_won", 800.0, "2024-02-10"),
        ("D4", "2024-02-01T09:00:00", "qualification", 500.0, "2024-04-30"),
        ("D5", "2023-12-15T09:00:00", "qualification", 400.0, "2024-01-05"),
        ("D5", "2024-01-05T09:00:00", "closed_won", 400.0, "2024-01-05"),
    ]
    hist = pd.DataFrame(
        h, columns=["opportunity_id", "changed_at", "stage", "amount", "close_date"]
    )
    return validate_tables(
        {"accounts": accounts, "opportunities": opps, "opportunity_history": hist}
    )


@pytest.fixture(scope="module")
def sim():
    tables, truth = simulate_crm(1500, seed=3)
    return validate_tables(tables), truth


@pytest.fixture(scope="module")
def fitted(sim):
    tables, _ = sim
    rows = scoring.build_snapshots(tables, mode="monthly")
    feats = scoring.default_features(rows)
    ev = scoring.fit_and_evaluate(
        rows, feature_columns=feats, config={"num_boost_round": 200}, seed=1
    )
    return tables, rows, feats, ev


# ----------------------------------------------------------------------------- features


def test_snapshot_features_golden_values() -> None:
    rows = scoring.build_snapshots(tiny_tables(), mode="monthly", as_of="2024-03-31")
    at = rows[rows["snapshot_date"] == T("2024-02-29")].set_index("opportunity_id")
    assert sorted(at.index) == ["D1", "D4"]  # D2, D3, D5 closed before; D1 closes 2024-03-15
    d1 = at.loc["D1"]
    assert d1["stage"] == "demo"
    assert d1["age_days"] == 50  # 2024-01-10 -> 2024-02-29
    assert d1["days_in_stage"] == 24  # demo since 2024-02-05
    assert d1["stage_changes"] == 1
    assert (
        d1["amount"] == 1200.0
        and d1["amount_change_pct"] == pytest.approx(0.2)
        and d1["amount_changes"] == 1
    )
    assert d1["days_to_expected_close"] == -1  # expected 2024-02-28; the push came on 2024-03-01
    assert d1["close_date_pushes"] == 0 and d1["slip_days"] == 0
    # owner R1 had D2 (lost) and D3 (won) closed; overall 2 of 3 won; prior strength 10
    assert d1["owner_win_rate"] == pytest.approx((1 + 10 * 2 / 3) / (2 + 10))
    assert d1["account_prior_wins"] == 1  # D3 won for A1 on 2024-02-10
    assert d1["days_to_quarter_end"] == 31
    assert d1["won"] == 1 and d1["outcome_date"] == T("2024-03-15")
    d4 = at.loc["D4"]
    assert d4["stage"] == "qualification" and d4["days_in_stage"] == 28 and np.isnan(d4["won"])
    assert d4["owner_win_rate"] == pytest.approx((1 + 10 * 2 / 3) / (1 + 10))
    # a month later D1's push is known
    mar = rows[(rows["snapshot_date"] == T("2024-03-31"))].set_index("opportunity_id")
    assert "D1" not in mar.index and mar.loc["D4", "age_days"] == 59


def test_pushes_and_slips_counted_when_known() -> None:
    rows = scoring.build_snapshots(tiny_tables(), mode="weekly", as_of="2024-03-31")
    d1 = rows[(rows["opportunity_id"] == "D1") & (rows["snapshot_date"] == T("2024-03-03"))].iloc[0]
    assert d1["close_date_pushes"] == 1 and d1["slip_days"] == 32  # 2024-02-28 -> 2024-03-31
    assert d1["expected_close_date"] == T("2024-03-31")


def _feature_view(rows: pd.DataFrame) -> pd.DataFrame:
    cols = ["opportunity_id", "snapshot_date", *rows.attrs["feature_columns"]]
    return rows[cols].sort_values(["opportunity_id"]).reset_index(drop=True)


@pytest.mark.parametrize("t", ["2022-09-30", "2023-06-30", "2024-03-31"])
def test_features_need_nothing_after_the_snapshot(sim, t) -> None:
    """Features at t from the full tables equal those from the tables cut down to day t."""
    tables, _ = sim
    full = scoring.build_snapshots(tables, mode="monthly", dates=[t])
    cut = scoring.build_snapshots(knowledge_at(tables, t), mode="monthly", dates=[t], as_of=t)
    pd.testing.assert_frame_equal(_feature_view(full), _feature_view(cut), check_dtype=False)
    assert len(full) > 20


def test_perturbing_the_future_changes_no_feature(sim) -> None:
    """Scramble every history row after t and flip every outcome after t: features at t stay."""
    tables, _ = sim
    t = T("2023-06-30")
    rng = np.random.default_rng(0)
    h = tables["opportunity_history"].copy()
    late = h["changed_at"] >= t + pd.Timedelta(days=1)
    h.loc[late, "stage"] = rng.permutation(h.loc[late, "stage"].to_numpy())
    h.loc[late, "amount"] = h.loc[late, "amount"] * rng.uniform(0.1, 10, late.sum())
    h.loc[late, "close_date"] = h.loc[late, "close_date"] + pd.to_timedelta(
        rng.integers(-30, 90, late.sum()), unit="D"
    )
    o = tables["opportunities"].copy()
    after = o["close_date"] > t
    flip = {"won": "lost", "lost": "won", "open": "open"}
    o.loc[after, "status"] = o.loc[after, "status"].map(flip)
    o.loc[after, "amount"] = o.loc[after, "amount"] * 3
    perturbed = dict(tables) | {"opportunity_history": h, "opportunities": o}
    a = scoring.build_snapshots(tables, mode="monthly", dates=[t])
    b = scoring.build_snapshots(perturbed, mode="monthly", dates=[t])
    pd.testing.assert_frame_equal(_feature_view(a), _feature_view(b), check_dtype=False)
    assert not a["won"].equals(b["won"])  # the labels did change


def test_creation_mode_ignores_outcomes_from_the_creation_day_on(sim) -> None:
    tables, _ = sim
    no_hist = {k: v for k, v in tables.items() if k != "opportunity_history"}
    base = scoring.build_snapshots(no_hist, mode="creation").set_index("opportunity_id")
    deal = base.index[len(base) // 2]
    created = base.loc[deal, "snapshot_date"]
    o = no_hist["opportunities"].copy()
    later = o["close_date"] >= created
    o.loc[later, "status"] = o.loc[later, "status"].map(
        {"won": "lost", "lost": "won", "open": "open"}
    )
    flipped = scoring.build_snapshots(no_hist | {"opportunities": o}, mode="creation").set_index(
        "opportunity_id"
    )
    cols = ["owner_win_rate", "account_prior_wins", "amount"]
    pd.testing.assert_series_equal(base.loc[deal, cols], flipped.loc[deal, cols])


def test_owner_win_rate_matches_a_naive_loop(sim) -> None:
    tables, _ = sim
    rows = scoring.build_snapshots(tables, mode="monthly")
    o = tables["opportunities"]
    closed = o[o["status"].isin(["won", "lost"])]
    sample = rows.sample(40, random_state=1)
    for _, r in sample.iterrows():
        known = closed[closed["close_date"] <= r["snapshot_date"]]
        mine = known[known["owner"] == r["owner"]]
        prior = (known["status"] == "won").mean()
        expected = ((mine["status"] == "won").sum() + 10 * prior) / (len(mine) + 10)
        assert r["owner_win_rate"] == pytest.approx(expected)


def test_leakage_guard_refuses_deny_list_and_separating_features(fitted) -> None:
    _, rows, feats, _ = fitted
    assert set(scoring.check_features(rows, feats)) == set(feats)
    for name in ("status", "close_value", "days_to_close", "is_won"):
        leaky = rows.assign(**{name: rows["won"].fillna(0)})
        with pytest.raises(scoring.LeakageError, match=f"{name}: on the deny list"):
            scoring.check_features(leaky, [*feats, name])
    # an innocent name, but it separates won from lost: post-snapshot information
    noisy = rows.assign(
        engagement_score=rows["won"].fillna(0.5)
        + np.random.default_rng(0).normal(0, 0.05, len(rows))
    )
    with pytest.raises(
        scoring.LeakageError,
        match=r"engagement_score: alone separates won from lost with ROC AUC \d\.\d{3} > 0\.95",
    ):
        scoring.check_features(noisy, [*feats, "engagement_score"])
    with pytest.raises(ValueError, match="feature columns not in the data"):
        scoring.check_features(rows, ["no_such_column"])


def test_modes_and_errors(sim) -> None:
    tables, _ = sim
    assert scoring.resolve_mode(tables) == "weekly"
    assert scoring.resolve_mode({"opportunities": tables["opportunities"]}) == "creation"
    with pytest.raises(ValueError, match="snapshot mode must be one of"):
        scoring.build_snapshots(tables, mode="daily")
    with pytest.raises(ValueError, match="extra columns not in opportunities"):
        scoring.build_snapshots(tables, extra_columns=["manager"])


# ----------------------------------------------------------------------------- metrics


def naive_auc(y, p) -> float:
    pos = [pi for yi, pi in zip(y, p, strict=True) if yi == 1]
    neg = [pi for yi, pi in zip(y, p, strict=True) if yi == 0]
    wins = sum((a > b) + 0.5 * (a == b) for a in pos for b in neg)
    return wins / (len(pos) * len(neg))


def test_metric_golden_values() -> None:
    y = [0, 0, 1, 1]
    p = [0.1, 0.4, 0.35, 0.8]
    assert E.roc_auc_score(y, p) == pytest.approx(0.75)
    assert E.brier_score_loss(y, p) == pytest.approx((0.01 + 0.16 + 0.4225 + 0.04) / 4)
    assert E.log_loss(y, p) == pytest.approx(
        -(np.log(0.9) + np.log(0.6) + np.log(0.35) + np.log(0.8)) / 4
    )
    assert E.pr_auc_score(y, p) == pytest.approx(
        (1 + 2 / 3) / 2
    )  # precision 1 at the first win, 2/3 at the second
    rng = np.random.default_rng(0)
    yy = rng.integers(0, 2, 300)
    pp = np.round(rng.random(300), 2)  # ties on purpose
    assert E.roc_auc_score(yy, pp) == pytest.approx(naive_auc(yy, pp))


def test_calibration_and_lift_tables() -> None:
    rng = np.random.default_rng(1)
    p = rng.random(5000)
    y = (rng.random(5000) < p).astype(float)
    cal = E.calibration_table(y, p, bins=10)
    assert cal["n"].sum() == 5000 and len(cal) == 10
    assert np.abs(cal["observed"] - cal["predicted"]).max() < 0.06
    assert ((cal["lower"] <= cal["observed"]) & (cal["observed"] <= cal["upper"])).all()
    assert E.calibration_error(y, p) < 0.03
    lift = E.lift_table(y, p)
    assert lift["n"].tolist() == [500] * 10 and lift["cumulative_capture"].iloc[
        -1
    ] == pytest.approx(1.0)
    assert lift["win_rate"].is_monotonic_decreasing
    assert (
        E.lift_table(y, np.full(5000, 0.3))["n"].tolist() == [500] * 10
    )  # ties never empty a decile


def test_metric_errors() -> None:
    with pytest.raises(ValueError, match="labels must be 0 or 1"):
        E.brier_score_loss([0, 2], [0.1, 0.2])
    with pytest.raises(ValueError, match=r"probabilities must lie in \[0, 1\]"):
        E.log_loss([0, 1], [0.1, 1.2])
    with pytest.raises(ValueError, match="differ in length"):
        E.roc_auc_score([0, 1, 1], [0.1, 0.2])


def test_verdict_says_plainly_when_the_model_does_not_win() -> None:
    c = pd.DataFrame(
        {
            "roc_auc": [0.80, 0.81, 0.70],
            "brier": [0.17, 0.16, 0.20],
            "log_loss": [0.50, 0.49, 0.60],
        },
        index=pd.Index(["lightgbm", "logistic", "stage_rate"], name="model"),
    )
    v = E.verdict(c)
    assert (
        not v["beats_all"]
        and "does NOT clearly beat" in v["text"]
        and "logistic regression on ROC AUC" in v["text"]
    )
    assert E.verdict(c.drop(index="logistic"))["beats_all"]


def test_truth_helpers() -> None:
    rows = pd.DataFrame(
        {
            "opportunity_id": ["a", "b", "c"],
            "stage": ["demo", "proposal", "x"],
            "type": ["new_business", "new_business", "renewal"],
        }
    )
    t = E.snapshot_truth(rows, {"a": 0.2, "b": 0.5, "c": 0.9}, {"demo": 0.5, "proposal": 0.25})
    assert t.iloc[0] == pytest.approx(0.2 / (0.2 + 0.8 * 0.5)) and t.iloc[1] == pytest.approx(
        0.5 / (0.5 + 0.5 * 0.25)
    )
    assert np.isnan(t.iloc[2])
    r = E.truth_comparison([0.1, 0.5, 0.9, 0.3], [0.1, 0.5, 0.9, 0.3])
    assert (
        r["pearson"] == pytest.approx(1)
        and r["mean_abs_error"] == 0
        and r["calibration_error"] == 0
    )


# ----------------------------------------------------------------------------- calibration, split


def test_calibrators_fix_a_known_distortion() -> None:
    rng = np.random.default_rng(2)
    true_p = rng.uniform(0.05, 0.95, 20_000)
    y = (rng.random(20_000) < true_p).astype(float)
    raw = 1 / (1 + np.exp(-2 * np.log(true_p / (1 - true_p))))  # overconfident: log-odds doubled
    platt = fit_calibrator(raw, y, kind="platt")
    assert platt["a"] == pytest.approx(0.5, abs=0.05) and platt["b"] == pytest.approx(0.0, abs=0.05)
    iso = fit_calibrator(raw, y, kind="isotonic")
    grid = np.linspace(0, 1, 50)
    assert np.all(np.diff(apply_calibrator(iso, grid)) >= 0)
    auto = fit_calibrator(raw, y)
    assert (
        auto["kind"] in ("platt", "isotonic")
        and auto["cv_log_loss"]["none"] > auto["cv_log_loss"]["platt"]
    )
    assert fit_calibrator(true_p, y)["kind"] == "none"  # already calibrated: the simplest stays
    with pytest.raises(ValueError, match="calibration must be one of"):
        fit_calibrator(raw, y, kind="beta")


def test_time_split_only_trains_on_labels_known_at_the_cut(fitted) -> None:
    _, rows, _, ev = fitted
    part, info = split_rows(rows, validation_months=6)
    cut, lag = info["cut"], pd.Timedelta(days=info["label_lag_days"])
    train, test = rows[part == "train"], rows[part == "test"]
    assert (train["outcome_date"] <= cut).all() and (train["snapshot_date"] <= cut - lag).all()
    assert (test["snapshot_date"] > cut).all() and (
        test["snapshot_date"] <= info["as_of"] - lag
    ).all()
    assert test["won"].notna().all() and info["n_test"] == len(test) > 50
    assert ev.model.meta["training_window"]["last_outcome"] <= cut


def test_random_split_keeps_deals_whole(fitted) -> None:
    _, rows, _, _ = fitted
    part, info = split_rows(rows, split="random", test_size=0.3, seed=4)
    train_ids = set(rows.loc[part == "train", "opportunity_id"])
    test_ids = set(rows.loc[part == "test", "opportunity_id"])
    assert (
        not train_ids & test_ids and 0.25 < len(test_ids) / (len(test_ids) + len(train_ids)) < 0.35
    )
    with pytest.raises(ValueError, match="split must be 'time' or 'random', got 'kfold'"):
        split_rows(rows, split="kfold")


# ----------------------------------------------------------------------------- models


def test_models_rank_deals_and_report_beside_baselines(fitted) -> None:
    _, _, _, ev = fitted
    c = ev.comparison
    assert list(c.index) == ["lightgbm", "stage_rate", "logistic"]
    assert c.loc["lightgbm", "roc_auc"] > 0.7 and c.loc["stage_rate", "roc_auc"] > 0.6
    assert ev.model.calibrator["kind"] in ("none", "platt", "isotonic")
    assert set(ev.model.meta["n_rows"]) == {"fit", "stop", "calibrate"}


def test_stage_win_rates_golden() -> None:
    tables = tiny_tables()
    rows = scoring.build_snapshots(tables, mode="monthly", as_of="2024-03-31")
    rates = scoring.stage_win_rates(rows, by=("stage",), rule="deal", prior=0).set_index("stage")
    # month-end stages of closed deals: D1 qualification (Jan) and demo (Feb), won; D2 qualification (Dec), lost;
    # D3 qualification (Nov-Jan), won; D5 qualification (Dec), won. Each deal counts once per stage.
    assert rates.loc["qualification", "closed"] == 4 and rates.loc[
        "qualification", "win_rate"
    ] == pytest.approx(3 / 4)
    assert rates.loc["demo", "closed"] == 1 and rates.loc["demo", "win_rate"] == 1.0
    no_history = scoring.build_snapshots(
        {"opportunities": tables["opportunities"]}, mode="monthly", as_of="2024-03-31"
    )
    with pytest.raises(ValueError, match="stage needs opportunity_history"):
        scoring.stage_win_rates(no_history, by=("stage", "type"), rule="deal", prior=5)


def test_explanations_add_up(fitted) -> None:
    _, _, _, ev = fitted
    test = ev.test.head(50)
    contrib = ev.model.contributions(test)
    raw = ev.model.raw_proba(test)
    assert np.allclose(
        1 / (1 + np.exp(-contrib.sum(axis=1))), raw
    )  # SHAP values sum to the log-odds
    factors = scoring.top_factors(ev.model, test, n=2)
    assert factors.str.count(";").max() <= 1 and factors.str.contains(r"\([+-]\d").all()
    imp = scoring.global_importance(ev.model, ev.test)
    assert (
        imp["share"].sum() == pytest.approx(1.0)
        and imp["mean_abs_contribution"].is_monotonic_decreasing
    )
    pdp = scoring.partial_dependence(ev.model, ev.test, "type")
    assert pdp["win_probability"].between(0, 1).all() and len(pdp) == ev.test["type"].nunique()
    with pytest.raises(ValueError, match="is not a model feature"):
        scoring.partial_dependence(ev.model, ev.test, "owner")


def test_close_dates_beat_the_crm_date(fitted) -> None:
    _, _, _, ev = fitted
    acc = ev.close_accuracy
    assert acc.loc["model", "within_30_days"] >= acc.loc["CRM close date", "within_30_days"]
    assert 0 < ev.period_accuracy["brier"] < 0.25


def test_close_date_helpers() -> None:
    acc = close_date_accuracy(
        ["2024-01-10", "2024-02-01", "2024-03-01"], ["2024-01-01", "2024-01-01", "2024-03-02"]
    )
    assert acc["within_15_days"] == pytest.approx(2 / 3) and acc["within_30_days"] == pytest.approx(
        2 / 3
    )
    assert acc["median_abs_error_days"] == 9 and acc["n"] == 3
    ends = period_end(pd.Series(pd.to_datetime(["2024-02-10", "2024-03-31"])), period="quarter")
    assert ends.tolist() == [
        T("2024-03-31"),
        T("2024-06-30"),
    ]  # a quarter end looks at the next quarter
    with pytest.raises(ValueError, match="period must be 'month' or 'quarter', got 'week'"):
        period_end(pd.Series(pd.to_datetime(["2024-02-10"])), period="week")


def test_close_distribution_is_consistent(fitted) -> None:
    _, _, _, ev = fitted
    cm: CloseDateModel = ev.model.close_model
    rows = ev.test.head(30)
    med = cm.quantile_days(rows, 0.5)
    assert np.allclose(cm.cdf(rows, med), 0.5, atol=0.02)
    assert np.all(cm.cdf(rows, 30) <= cm.cdf(rows, 60) + 1e-12)
    later = cm.quantile_days(rows, 0.5, elapsed=20)  # still open after 20 days: later median
    assert np.all(later >= np.maximum(med, 20) - 1e-9)


def test_same_seed_same_model(sim) -> None:
    tables, _ = sim
    rows = scoring.build_snapshots(tables, mode="monthly")
    feats = scoring.default_features(rows)
    train = rows[rows["won"].notna()].reset_index(drop=True)
    train.attrs = dict(rows.attrs)
    a, _ = scoring.fit_deal_model(
        train, feature_columns=feats, config={"num_boost_round": 50}, seed=7
    )
    b, _ = scoring.fit_deal_model(
        train, feature_columns=feats, config={"num_boost_round": 50}, seed=7
    )
    assert a.booster.model_to_string() == b.booster.model_to_string()
    with pytest.raises(ValueError, match="unknown model option"):
        scoring.fit_deal_model(train, feature_columns=feats, config={"n_estimators": 5})


# ----------------------------------------------------------------------------- save, load, score


def test_saved_model_scores_new_data_without_retraining(fitted, tmp_path) -> None:
    from revlib.data import write_artifacts

    tables, _, _, ev = fitted
    write_artifacts(tmp_path / "model", ev.model.to_artifacts())
    loaded = scoring.load_model(tmp_path / "model" / "model.txt")
    assert np.allclose(loaded.predict_rows(ev.test), ev.model.predict_rows(ev.test))
    data_dir = tmp_path / "data"
    write_tables(tables, data_dir)
    out = tmp_path / "scores.csv"
    assert (
        scoring.score_command(model=str(tmp_path / "model"), data=str(data_dir), out=str(out)) == 0
    )
    scores = pd.read_csv(out)
    assert tuple(scores.columns[:5]) == scoring.workflow.SCORE_COLUMNS
    n_open = int((tables["opportunities"]["status"] == "open").sum())
    assert len(scores) == n_open and scores["win_probability"].between(0, 1).all()
    direct = scoring.score_pipeline(ev.model, tables).set_index("opportunity_id")["win_probability"]
    assert np.allclose(
        scores.set_index("opportunity_id")["win_probability"],
        direct.reindex(scores["opportunity_id"]),
        atol=1e-6,
    )
    series = ev.model.predict_proba(
        tables["opportunities"],
        as_of=rows_as_of(tables),
        history=tables["opportunity_history"],
        accounts=tables["accounts"],
    )
    assert series.index.name == "opportunity_id" and len(series) == n_open


def rows_as_of(tables) -> pd.Timestamp:
    return scoring.build_snapshots(tables, mode="monthly").attrs["as_of"]


def test_score_command_reports_bad_data(fitted, tmp_path, capsys) -> None:
    from revlib.data import write_artifacts

    _, _, _, ev = fitted
    write_artifacts(tmp_path / "model", ev.model.to_artifacts())
    (tmp_path / "bad").mkdir()
    pd.DataFrame({"opportunity_id": ["x"]}).to_csv(
        tmp_path / "bad" / "opportunities.csv", index=False
    )
    code = scoring.score_command(
        model=str(tmp_path / "model"), data=str(tmp_path / "bad"), out=str(tmp_path / "o.csv")
    )
    assert code == 2 and "required column is missing" in capsys.readouterr().err
    with pytest.raises(FileNotFoundError, match="need model.txt and model.json"):
        scoring.load_model(tmp_path / "nowhere")


# ----------------------------------------------------------------------------- prospects


def test_prospect_labels_wait_for_the_horizon() -> None:
    accounts = pd.DataFrame(
        {
            "account_id": ["P1", "P2", "P3", "OLD"],
            "region": ["NA"] * 4,
            "created_at": ["2024-01-01", "2024-01-01", "2024-06-01", "2020-01-01"],
            "acquisition_channel": ["referral", "paid_search", "referral", "referral"],
        }
    )
    opps = pd.DataFrame(
        {
            "opportunity_id": ["o1", "o2", "o3"],
            "account_id": ["P1", "P3", "P2"],
            "type": ["new_business"] * 3,
            "amount": [1.0] * 3,
            "created_date": ["2024-01-05", "2024-06-02", "2024-01-01"],
            "close_date": ["2024-02-01", "2024-06-20", "2024-09-01"],
            "stage": ["won", "won", "lost"],
            "status": ["won", "won", "lost"],
        }
    )
    t = validate_tables({"accounts": accounts, "opportunities": opps})
    r = scoring.prospect_rows(t, horizon_days=90, as_of="2024-07-31").set_index("account_id")
    assert "OLD" not in r.index  # created before the CRM history: opening book
    assert r.loc["P1", "won"] == 1 and r.loc["P2", "won"] == 0
    assert np.isnan(
        r.loc["P3", "won"]
    )  # converted, but its horizon has not passed: not a label yet
    assert r.loc["P1", "outcome_date"] == T("2024-03-31")


def test_report_artifacts_hold_what_the_issue_lists(fitted) -> None:
    tables, rows, feats, ev = fitted
    scores = scoring.score_pipeline(ev.model, tables)
    files = scoring.report.artifacts(ev, ev.model, scores)
    assert set(files) == {
        "metrics.json",
        "deal_scores.csv",
        "calibration.csv",
        "model.txt",
        "model.json",
    }
    for name in ("lightgbm", "stage_rate", "logistic"):
        m = files["metrics.json"][name]
        assert {"roc_auc", "pr_auc", "brier", "log_loss", "n_train", "n_test"} <= set(m)
        assert m["n_test"] == ev.split_info["n_test"] and m["n_train"] == ev.split_info["n_train"]
    assert (
        files["model.json"]["metrics"]["lightgbm"]["roc_auc"]
        == files["metrics.json"]["lightgbm"]["roc_auc"]
    )
    assert files["model.txt"].startswith("tree")
    assert (
        scoring.report.baseline_name(("stage", "type")) == "Historical win rate by stage and type"
    )
    assert "overall" in scoring.report.baseline_name(())


def test_scoring_without_the_tables_the_model_needs_says_which(fitted) -> None:
    tables, _, _, ev = fitted
    with pytest.raises(ValueError, match=r"lack feature\(s\) the model was trained on: \['stage'"):
        ev.model.predict_proba(tables["opportunities"], as_of="2024-06-30")


def test_every_figure_draws(fitted) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from revlib.scoring import plots
    from tests.plot_checks import legends_over_bars

    tables, _, _, ev = fitted
    scores = scoring.score_pipeline(ev.model, tables)
    imp = scoring.global_importance(ev.model, ev.test)
    won = ev.test[ev.test["won"] == 1]
    figures = [
        plots.plot_calibration(scoring.calibration_curves(ev.test)),
        plots.plot_lift(scoring.lift_tables(ev.test)),
        plots.plot_roc_pr(ev.test["won"], {m: ev.test[m] for m in scoring.MODEL_NAMES}),
        plots.plot_importance(imp),
        plots.plot_partial_dependence(
            [
                scoring.partial_dependence(ev.model, ev.test, f, grid_size=5)
                for f in imp["feature"][:2]
            ]
        ),
        plots.plot_truth(ev.test["lightgbm"], ev.test["logistic"]),
        plots.plot_close_errors(
            won["outcome_date"], {"model": ev.model.close_model.predict(won)["expected_close_date"]}
        ),
        plots.plot_pipeline_months(scores[scores["expected_close_month"].notna()]),
    ]
    assert all(isinstance(f, matplotlib.figure.Figure) and f.axes for f in figures)
    assert [t for f in figures for t in legends_over_bars(f)] == []
    plt.close("all")


def _prospect_comparison(auc: float) -> pd.DataFrame:
    rows = {
        "lightgbm": {"roc_auc": auc, "brier": 0.20, "log_loss": 0.60, "base_rate": 0.123},
        "channel_rate": {"roc_auc": 0.51, "brier": 0.21, "log_loss": 0.62, "base_rate": 0.123},
        "logistic": {"roc_auc": 0.52, "brier": 0.21, "log_loss": 0.62, "base_rate": 0.123},
    }
    return pd.DataFrame.from_dict(rows, orient="index")


def test_prospect_verdict_says_no_skill_in_the_colour_of_no_skill() -> None:
    """Issue 14: prospect AUC 0.517 had no plain statement of what to do with it."""
    title, text, level = scoring.report.prospect_verdict(_prospect_comparison(0.517))
    assert level == "warning" and title == "No skill: do not use the prospect score"
    assert "ROC AUC 0.52" in text and "Do not prioritise or route prospects" in text
    assert "12.3 % of prospects converted" in text
    title, _, level = scoring.report.prospect_verdict(_prospect_comparison(0.80))
    assert (title, level) == ("Prospect conversion: the model beats its baselines", "success")


def test_checks_section_says_what_passed() -> None:
    text = scoring.report.checks_text()
    assert text.startswith(f"All {len(scoring.report.RUN_CHECKS)} checks passed: ")
    assert "the saved model reproduces its predictions" in text


def test_lift_tables_for_prospect_models() -> None:
    rng = np.random.default_rng(0)
    test = pd.DataFrame({"won": rng.integers(0, 2, 200)})
    for m in ("lightgbm", "channel_rate", "logistic"):
        test[m] = rng.random(200)
    lift = scoring.lift_tables(test, models=["lightgbm", "channel_rate", "logistic"])
    assert list(dict.fromkeys(lift["model"])) == ["lightgbm", "channel_rate", "logistic"]
    assert (lift.groupby("model")["n"].sum() == 200).all()
    assert set(scoring.lift_tables(test)["model"]) == {"lightgbm", "logistic"}  # deal models
