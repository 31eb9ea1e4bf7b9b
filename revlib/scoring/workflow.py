"""From tables to a scored pipeline: fit, evaluate beside the baselines, score open deals."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from revlib.pipeline_history import extract_date
from revlib.scoring.baselines import LogisticBaseline, StageRateBaseline
from revlib.scoring.close_dates import (
    close_date_accuracy,
    fit_close_model,
    median_days_baseline,
    period_end,
    prob_close_in_period,
)
from revlib.scoring.evaluation import (
    brier_score_loss,
    calibration_table,
    compare_models,
    lift_table,
)
from revlib.scoring.explain import top_factors
from revlib.scoring.model import DealModel, fit_deal_model
from revlib.scoring.splits import final_training_rows, split_rows

SCORE_COLUMNS = (
    "opportunity_id",
    "win_probability",
    "expected_close_month",
    "expected_value",
    "top_factors",
)
MODEL_NAMES = {
    "lightgbm": "LightGBM (calibrated)",
    "stage_rate": "Stage win rate",
    "logistic": "Logistic regression",
}


@dataclass
class Evaluation:
    """A fitted model, its baselines and their held-out predictions."""

    model: DealModel
    role: pd.Series
    split_info: dict[str, Any]
    test: pd.DataFrame  # test rows with one probability column per model
    comparison: pd.DataFrame
    baselines: dict[str, Any] = field(default_factory=dict)
    close_accuracy: pd.DataFrame | None = None
    period_accuracy: dict[str, float] | None = None

    @property
    def close_model_ok(self) -> bool:
        """Whether a close-date model was fitted and evaluated."""
        return self.close_accuracy is not None and self.model.close_model is not None


def fit_and_evaluate(
    rows: pd.DataFrame,
    *,
    feature_columns: Sequence[str],
    split: str = "time",
    validation_months: int = 6,
    label_lag: int | str = "auto",
    test_size: float = 0.25,
    baseline_by: Sequence[str] = ("stage", "type"),
    config: Mapping[str, Any] | None = None,
    close_config: Mapping[str, Any] | None = None,
    seed: int = 0,
) -> Evaluation:
    """Split, fit LightGBM + calibration and both baselines on training rows, predict test rows.

    Test predictions: ``lightgbm``, ``stage_rate``, ``logistic`` columns on the test rows; the
    comparison table has one row of metrics per model. The close-date model is fitted on the
    same rows and checked against the CRM's own close date and a stage-median baseline.
    """
    part, info = split_rows(
        rows,
        split=split,
        validation_months=validation_months,
        label_lag=label_lag,
        test_size=test_size,
        seed=seed,
    )
    train = rows[part == "train"].reset_index(drop=True)
    train.attrs = dict(rows.attrs)
    test = rows[part == "test"].reset_index(drop=True)
    if train["won"].nunique() < 2 or len(test) == 0:
        raise ValueError(
            f"need won and lost deals in training and a non-empty test set; got {len(train)} training rows "
            f"({int(train['won'].sum()) if len(train) else 0} won) and {len(test)} test rows (split {info})"
        )
    model, role = fit_deal_model(
        train, feature_columns=feature_columns, split=split, config=config, seed=seed
    )
    stage = StageRateBaseline(by=tuple(baseline_by)).fit(train)
    logistic = LogisticBaseline(list(feature_columns)).fit(
        train[role == "fit"], train[role == "stop"]
    )
    test = test.assign(
        lightgbm=model.predict_rows(test),
        stage_rate=stage.predict(test),
        logistic=logistic.predict(test),
    )
    comparison = compare_models(test["won"], {k: test[k].to_numpy() for k in MODEL_NAMES})
    ev = Evaluation(
        model, role, info, test, comparison, {"stage_rate": stage, "logistic": logistic}
    )
    if _attach_close_model(model, train, role, feature_columns, close_config, seed):
        ev.close_accuracy, ev.period_accuracy = _close_evaluation(model, train, test)
    model.meta["baseline_by"] = list(stage.by)
    return ev


MIN_WON_FOR_CLOSE_DATES = 30


def _attach_close_model(model, train, role, feature_columns, close_config, seed) -> bool:
    """Fit the close-date model onto ``model`` when training has enough won deals."""
    if int((train["won"] == 1).sum()) < MIN_WON_FOR_CLOSE_DATES:
        return False
    model.close_model = fit_close_model(
        train,
        role,
        feature_columns=feature_columns,
        levels=model.levels,
        config=close_config,
        seed=seed,
    )
    return True


def _close_evaluation(
    model: DealModel, train: pd.DataFrame, test: pd.DataFrame
) -> tuple[pd.DataFrame, dict]:
    close_model = model.close_model
    if close_model is None:
        raise ValueError("no close-date model attached to the deal model: nothing to evaluate")
    won = test[test["won"] == 1]
    pred = close_model.predict(won)
    rows = {"model": close_date_accuracy(won["outcome_date"], pred["expected_close_date"])}
    rows["stage median"] = close_date_accuracy(
        won["outcome_date"], median_days_baseline(train, won)
    )
    if won["expected_close_date"].notna().any():
        rows["CRM close date"] = close_date_accuracy(
            won["outcome_date"], won["expected_close_date"]
        )
    p = prob_close_in_period(test["lightgbm"], close_model, test, period="quarter")
    ends = period_end(test["snapshot_date"], period="quarter")
    actual = ((test["won"] == 1) & (test["outcome_date"] <= ends)).astype(float).to_numpy()
    period = {
        "brier": brier_score_loss(actual, np.clip(p, 0, 1)),
        "predicted_wins_in_quarter": float(p.sum()),
        "actual_wins_in_quarter": float(actual.sum()),
        "n": int(len(test)),
    }
    return pd.DataFrame(rows).T.rename_axis("method"), period


def calibration_curves(test: pd.DataFrame, *, bins: int = 10) -> pd.DataFrame:
    """Calibration table of every model on the test rows, stacked with a ``model`` column."""
    parts = [
        calibration_table(test["won"], test[m], bins=bins).assign(model=m)
        for m in MODEL_NAMES
        if m in test
    ]
    return pd.concat(parts, ignore_index=True)[
        ["model", "bin", "n", "predicted", "observed", "lower", "upper"]
    ]


def lift_tables(test: pd.DataFrame, *, models: Sequence[str] | None = None) -> pd.DataFrame:
    """Lift by decile of every model on the test rows, stacked with a ``model`` column.
    ``models``: prediction columns to use (default the deal models of :data:`MODEL_NAMES`;
    prospects use lightgbm, channel_rate, logistic)."""
    names = list(MODEL_NAMES) if models is None else list(models)
    return pd.concat(
        [lift_table(test["won"], test[m]).assign(model=m) for m in names if m in test],
        ignore_index=True,
    )


def metrics_json(ev: Evaluation, **extra: Any) -> dict[str, Any]:
    """``{model: {roc_auc, pr_auc, brier, log_loss, calibration_error, n_train, n_test}}`` plus extras."""
    n_train = int(len(ev.role))
    out: dict[str, Any] = {}
    for name, r in ev.comparison.iterrows():
        out[name] = {
            k: round(float(r[k]), 6)
            for k in ("roc_auc", "pr_auc", "brier", "log_loss", "calibration_error")
        }
        out[name] |= {
            "n_train": n_train,
            "n_test": int(r["n"]),
            "base_rate_test": round(float(r["base_rate"]), 6),
        }
    out["split"] = {k: v for k, v in ev.split_info.items()}
    if ev.close_accuracy is not None and ev.period_accuracy is not None:  # set together
        out["close_date"] = {
            m: {k: round(float(v), 6) for k, v in r.items()}
            for m, r in ev.close_accuracy.iterrows()
        }
        out["close_in_quarter"] = {k: round(float(v), 6) for k, v in ev.period_accuracy.items()}
    return out | extra


def refit_final(
    rows: pd.DataFrame,
    *,
    feature_columns: Sequence[str],
    split: str = "time",
    label_lag: int | str = "auto",
    config: Mapping[str, Any] | None = None,
    close_config: Mapping[str, Any] | None = None,
    seed: int = 0,
) -> DealModel:
    """Refit the same recipe on every labelled row (for scoring today's pipeline).

    The held-out metrics describe this recipe; the refitted model has also seen the test period.
    """
    train = final_training_rows(rows, label_lag=label_lag, split=split)
    model, role = fit_deal_model(
        train, feature_columns=feature_columns, split=split, config=config, seed=seed
    )
    _attach_close_model(model, train, role, feature_columns, close_config, seed)
    return model


def score_pipeline(
    model: DealModel,
    tables: Mapping[str, pd.DataFrame],
    *,
    as_of: str | pd.Timestamp | None = None,
    period: str = "quarter",
    n_factors: int = 3,
) -> pd.DataFrame:
    """Every deal open at ``as_of``: win probability, expected close, expected value, reasons.

    Columns: opportunity_id, win_probability, expected_close_month (YYYY-MM), expected_value
    (= win probability x amount), top_factors, then overdue (open longer than 99 % of
    comparable won deals took; no close month then), stage, amount, expected_close_date,
    p_close_in_period (won by the end of the coming ``period``), account_id, owner.
    """
    as_of = extract_date(tables) if as_of is None else pd.Timestamp(as_of).normalize()
    rows = model.snapshot(tables, as_of=as_of)
    p = model.predict_rows(rows)
    out = pd.DataFrame({"opportunity_id": rows["opportunity_id"], "win_probability": p})
    elapsed = (as_of - rows["snapshot_date"]).dt.days.to_numpy(dtype=float)
    if model.close_model is not None:
        close = model.close_model.predict(rows, elapsed=elapsed)
        out["expected_close_month"] = close["expected_close_month"].dt.strftime("%Y-%m").to_numpy()
        out["overdue"] = close["overdue"].to_numpy()
    else:
        out["expected_close_month"] = pd.NA
    amount = (
        rows["amount"].astype(float).to_numpy() if "amount" in rows else np.full(len(rows), np.nan)
    )
    out["expected_value"] = p * amount
    out["top_factors"] = top_factors(model, rows, n=n_factors).to_numpy()
    # display only (not a feature): the stage on the scoring date; without history, the current one
    current = tables["opportunities"].set_index("opportunity_id")["stage"].astype(object)
    out["stage"] = (
        rows["stage"].to_numpy()
        if "stage" in rows
        else rows["opportunity_id"].map(current).to_numpy()
    )
    out["amount"] = amount
    if model.close_model is not None:
        out["expected_close_date"] = close["expected_close_date"].to_numpy()
        out["p_close_in_period"] = prob_close_in_period(
            p, model.close_model, rows, period=period, as_of=as_of
        )
    out["account_id"] = rows["account_id"].to_numpy()
    out["owner"] = rows["owner"].to_numpy() if "owner" in rows else pd.NA
    first = [
        "opportunity_id",
        "win_probability",
        "expected_close_month",
        "expected_value",
        "top_factors",
    ]
    out = out[first + [c for c in out.columns if c not in first]]
    return out.sort_values(
        ["expected_value", "opportunity_id"], ascending=[False, True], kind="stable"
    ).reset_index(drop=True)


def load_model(model_path: str | Path) -> DealModel:
    """Load a saved model: ``model.txt`` (LightGBM) and ``model.json`` (metadata) side by side."""
    from revlib.data import read_json

    path = Path(model_path)
    text_path = path if path.suffix == ".txt" else path / "model.txt"
    meta_path = text_path.with_suffix(".json")
    for p in (text_path, meta_path):
        if not p.is_file():
            raise FileNotFoundError(
                f"model file not found: {p} (need model.txt and model.json side by side)"
            )
    import lightgbm as lgb

    booster = lgb.Booster(model_file=str(text_path))
    meta = read_json(meta_path)
    model = DealModel.from_artifacts(booster.model_to_string(), meta)
    return model


def score_command(*, model: str, data: str, out: str) -> int:
    """``revlib score --model M --data DIR --out FILE.csv``: score open deals with a saved model.

    Loads ``M`` (``model.txt`` path or its directory, with ``model.json`` beside it), reads
    and validates the data directory, scores the deals open at the extract date, writes the
    CSV. Returns 0 on success, 2 when the data fail validation or lack the model's features.
    """
    import sys

    from revlib.data import DataValidationError, load_tables, round_floats, write_csv

    try:
        fitted = load_model(model)
    except FileNotFoundError:
        raise
    except Exception as err:  # a corrupt model.txt or model.json: nothing is written
        print(
            f"revlib score: cannot read the model {model}: {type(err).__name__}: {err}",
            file=sys.stderr,
        )
        return 2
    try:
        tables = load_tables(
            data, ["opportunities", "opportunity_history", "accounts"], required=["opportunities"]
        )
        scores = score_pipeline(fitted, tables)
    except (DataValidationError, ValueError) as err:
        print(f"revlib score: {err}", file=sys.stderr)
        return 2
    write_csv(round_floats(scores), out)
    print(f"scored {len(scores)} open deals -> {out}")
    return 0
