"""revlib.scoring on bigger data: truth recovery (simulator and the bundled sample), the Maven
CRM adapter on the real public data set, and the report's artifacts from the sample run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from revlib import scoring
from revlib.adapters import maven
from revlib.data import load_tables, read_json, validate_tables
from tests.scoring.crm_simulator import simulate_crm

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample"


@pytest.mark.slow
def test_probabilities_track_the_simulators_truth() -> None:
    """Features at creation, random split: the calibrated model recovers the true probabilities."""
    tables, truth = simulate_crm(6000, seed=5, history=False)
    rows = scoring.build_snapshots(validate_tables(tables))
    ev = scoring.fit_and_evaluate(
        rows, feature_columns=scoring.default_features(rows), split="random", seed=0
    )
    q = truth.reindex(ev.test["opportunity_id"]).to_numpy()
    fit = scoring.truth_comparison(ev.test["lightgbm"], q)
    assert fit["pearson"] > 0.75 and fit["calibration_error"] < 0.05, fit
    base = scoring.truth_comparison(ev.test["stage_rate"], q)  # type only: knows far less
    assert fit["pearson"] > base["pearson"] + 0.1


@pytest.fixture(scope="module")
def sample_eval():
    if not (SAMPLE / "opportunities.csv").exists():
        pytest.skip("bundled sample not generated yet")
    tables = load_tables(SAMPLE, ["opportunities", "opportunity_history", "accounts"])
    rows = scoring.build_snapshots(tables, mode="monthly")
    ev = scoring.fit_and_evaluate(rows, feature_columns=scoring.default_features(rows), seed=42)
    return tables, rows, ev


@pytest.mark.slow
def test_sample_company_probabilities_track_the_generators_truth(sample_eval) -> None:
    _, _, ev = sample_eval
    _, table = scoring.report.truth_check(ev, read_json(SAMPLE / "ground_truth.json"))
    lgb = table.set_index("model").loc["LightGBM (calibrated)"]
    assert lgb["n"] > 300
    assert lgb["pearson"] > 0.7 and lgb["calibration_error"] < 0.08, lgb.to_dict()


@pytest.mark.slow
def test_sample_pipeline_scores_match_the_hidden_future(sample_eval) -> None:
    """The generator kept what happened to the deals open at the extract date."""
    tables, _, ev = sample_eval
    scores = scoring.score_pipeline(ev.model, tables)
    future = scoring.report.future_metrics(scores, read_json(SAMPLE / "ground_truth.json"))
    assert future["n_deals"] == len(scores) > 100
    assert future["roc_auc"] > 0.75
    assert (
        abs(future["predicted_wins"] - future["eventually_won"]) < 0.15 * future["eventually_won"]
    )
    assert future["close_within_30_days"] > 0.7
    assert set(scoring.report.future_table(future)["check"]) >= {
        "ROC AUC against the eventual outcome"
    }


@pytest.mark.slow
def test_sample_company_close_dates_and_baselines(sample_eval) -> None:
    _, _, ev = sample_eval
    acc = ev.close_accuracy
    assert acc.loc["model", "within_30_days"] > acc.loc["CRM close date", "within_30_days"]
    c = ev.comparison
    assert c.loc["lightgbm", "roc_auc"] > 0.75 and c.loc["stage_rate", "roc_auc"] > 0.7


@pytest.mark.slow
def test_sample_prospects_are_scored_with_labels_after_the_horizon(sample_eval) -> None:
    tables, _, _ = sample_eval
    tables = load_tables(SAMPLE, ["opportunities", "accounts", "subscriptions"])
    rows = scoring.prospect_rows(tables, horizon_days=180)
    labelled = rows[rows["won"].notna()]
    assert (labelled["snapshot_date"] + pd.Timedelta(days=180) <= rows.attrs["as_of"]).all()
    res = scoring.fit_prospect_model(rows, seed=1)
    assert list(res["comparison"].index) == ["lightgbm", "channel_rate", "logistic"]
    assert res["comparison"]["roc_auc"].between(0.4, 1.0).all()


# ----------------------------------------------------------------------------- Maven (real data)


@pytest.fixture(scope="module")
def maven_tables():
    folder = maven.real_data_dir()
    if not folder.is_dir():
        pytest.skip(f"real data folder absent: {folder}")
    return maven.load_maven(folder)


def test_maven_adapter_reproduces_source_figures(maven_tables) -> None:
    assert maven.maven_summary(maven_tables) == maven.EXPECTED
    o = maven_tables["opportunities"]
    assert "GTXPro" not in set(o["product"]) and "GTX Pro" in set(o["product"])
    assert "technolgy" not in set(maven_tables["accounts"]["industry"].dropna())
    unknown = o["account_id"] == maven.UNKNOWN_ACCOUNT
    assert int(unknown.sum()) == 1425 and set(o.loc[unknown, "status"]) == {"open"}
    lost = o["status"] == "lost"
    assert (o.loc[lost, "close_value"] == 0).all() and (o.loc[lost, "amount"] > 0).all()
    won = o[o["status"] == "won"]
    assert won["close_value"].sum() == 10_005_534  # SOURCE.md


def test_maven_close_value_is_refused_as_a_feature(maven_tables) -> None:
    rows = scoring.build_snapshots(maven_tables, extra_columns=["close_value"])
    with pytest.raises(scoring.LeakageError, match="close_value: on the deny list"):
        scoring.check_features(rows, ["amount", "close_value"])


@pytest.mark.slow
def test_maven_scoring_runs_in_creation_mode(maven_tables) -> None:
    rows = scoring.build_snapshots(maven_tables, extra_columns=["manager", "regional_office"])
    assert rows.attrs["mode"] == "creation" and len(rows) == 8800
    ev = scoring.fit_and_evaluate(rows, feature_columns=scoring.default_features(rows), seed=0)
    assert ev.split_info["n_test"] > 1000
    assert ev.comparison["base_rate"].iloc[0] == pytest.approx(ev.test["won"].mean())
    scores = scoring.score_pipeline(ev.model, maven_tables)
    assert len(scores) == 2089 and scores["win_probability"].between(0, 1).all()


# ----------------------------------------------------------------------------- the report's artifacts


@pytest.mark.slow
def test_report_artifacts_and_rescoring(sample_run, tmp_path) -> None:
    out, code, _ = sample_run
    folder = out / "deal_scoring"
    if not folder.is_dir():
        pytest.fail(f"deal_scoring produced no artifacts (run exit code {code})")
    metrics = read_json(folder / "metrics.json")
    for model in ("lightgbm", "stage_rate", "logistic"):
        assert {"roc_auc", "pr_auc", "brier", "log_loss", "n_train", "n_test"} <= set(
            metrics[model]
        )
    scores = pd.read_csv(folder / "deal_scores.csv")
    assert tuple(scores.columns[:5]) == scoring.workflow.SCORE_COLUMNS
    assert {"model", "bin", "predicted", "observed"} <= set(
        pd.read_csv(folder / "calibration.csv").columns
    )
    meta = read_json(folder / "model.json")
    assert (
        meta["feature_columns"]
        and meta["training_window"]
        and meta["metrics"]["lightgbm"]["roc_auc"] > 0.5
    )
    rescored = tmp_path / "rescored.csv"
    assert (
        scoring.score_command(model=str(folder / "model.txt"), data=str(SAMPLE), out=str(rescored))
        == 0
    )
    again = pd.read_csv(rescored)
    assert np.allclose(
        again["win_probability"].to_numpy(), scores["win_probability"].to_numpy(), atol=1e-6
    )
