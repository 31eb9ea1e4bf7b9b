"""Small helpers that turn scoring results into the report's cards, tables and artifacts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from revlib.data import round_floats
from revlib.scoring.evaluation import (
    brier_score_loss,
    calibration_error,
    log_loss,
    pr_auc_score,
    roc_auc_score,
    snapshot_truth,
    truth_comparison,
    verdict,
)
from revlib.scoring.workflow import (
    MODEL_NAMES,
    Evaluation,
    calibration_curves,
    metrics_json,
)


def settings(fast: bool, *, snapshot: str, has_history: bool) -> dict[str, Any]:
    """What ``fast`` changes in deal scoring: ``snapshot_mode`` (monthly instead of weekly or
    auto snapshots when ``opportunity_history`` is present: about a quarter of the rows; else
    the ``snapshot`` asked for), ``model_config`` (at most 300 boosting rounds and one tree size,
    15 leaves, instead of the tuned defaults) and ``pd_grid_size`` (points on each
    partial-dependence curve: 12 fast, 20 full)."""
    monthly = fast and snapshot in ("auto", "weekly") and has_history
    return {
        "snapshot_mode": "monthly" if monthly else snapshot,
        "model_config": {"num_boost_round": 300, "num_leaves_grid": (15,)} if fast else {},
        "pd_grid_size": 12 if fast else 20,
    }


DEFINITIONS = {
    "ROC AUC": roc_auc_score,
    "PR AUC": pr_auc_score,
    "Brier score": brier_score_loss,
    "Log loss": log_loss,
    "Calibration error": calibration_error,
}


def baseline_name(by) -> str:
    """Readable name of the historical-rate baseline for the columns it grouped by."""
    by = [b for b in (by or ()) if b]
    return "Historical win rate" + (
        " by " + " and ".join(by) if by else " (overall: no stage in the data)"
    )


def split_callout(info: Mapping[str, Any], *, mode: str):
    """What the model was trained and tested on, in one sentence or three."""
    from revlib.reporting import callout, pct

    if info["split"] != "time":
        return callout(
            f"Random split by whole deals: trained on {info['n_train']:,} rows, tested on {info['n_test']:,} rows "
            f"({info['n_test_deals']:,} deals). No held-out later period: use only for data without usable dates.",
            "warning",
            title="Split",
        )
    what = "created" if mode == "creation" else "snapshot"
    test_rule = "closed after the cut" if mode == "creation" else f"{what} after the cut"
    return callout(
        f"Trained on {info['n_train']:,} rows ({info['n_train_deals']:,} deals) closed by {info['cut']:%Y-%m-%d}; tested on "
        f"{info['n_test']:,} rows ({info['n_test_deals']:,} deals) {test_rule}, {what} from {info['test_window'][0]:%Y-%m-%d} "
        f"to {info['test_window'][1]:%Y-%m-%d}. Rows {what} less than {info['label_lag_days']} days before the cut or the "
        f"extract date are left out: most of their deals had not closed yet, and keeping only those that had would "
        f"over-represent quick outcomes. {pct(info['test_unresolved_share'])} of the test window's rows are still open "
        f"and cannot be scored.",
        "warning" if info["test_unresolved_share"] > 0.2 else "info",
        title="Split",
    )


def comparison_table(
    comparison: pd.DataFrame, names: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """The metrics table with readable model names, best value per metric marked by rank."""
    names = dict(MODEL_NAMES | {"channel_rate": "Channel conversion rate"} | dict(names or {}))
    t = comparison.reset_index()
    t["model"] = t["model"].map(lambda m: names.get(m, m))
    t["n"] = t["n"].astype(int)
    return t[
        ["model", "roc_auc", "pr_auc", "brier", "log_loss", "calibration_error", "base_rate", "n"]
    ]


def headline_cards(
    ev: Evaluation, scores: pd.DataFrame, *, period: str = "quarter"
) -> list[dict[str, Any]]:
    """KPI cards: open pipeline, expected value, expected wins in the coming period, held-out AUC."""
    from revlib.reporting import money, number, pct

    c = ev.comparison
    best_base = c.drop(index="lightgbm")["roc_auc"].idxmax()
    beats = verdict(c)["beats_all"]
    in_period = (
        (scores["p_close_in_period"] * scores["amount"]).sum()
        if "p_close_in_period" in scores
        else float("nan")
    )
    return [
        {
            "label": "Open deals scored",
            "value": number(len(scores)),
            "sub": f"pipeline {money(scores['amount'].sum())}",
        },
        {
            "label": "Expected value",
            "value": money(scores["expected_value"].sum()),
            "sub": f"{pct(scores['expected_value'].sum() / max(scores['amount'].sum(), 1e-9))} of pipeline amount",
            "definition": "Sum over open deals of win probability x amount.",
        },
        {
            "label": f"Expected won next {period}",
            "value": money(in_period),
            "sub": "P(win by the period end) x amount",
            "definition": "Sum over open deals of P(won and closed by the end of the coming period) x amount.",
        },
        {
            "label": "Held-out ROC AUC",
            "value": f"{c.loc['lightgbm', 'roc_auc']:.3f}",
            "sub": f"best baseline {MODEL_NAMES.get(best_base, best_base)}: {c.loc[best_base, 'roc_auc']:.3f}",
            "status": "good" if beats else "warning",
            "definition": roc_auc_score,
        },
        {
            "label": "Held-out Brier score",
            "value": f"{c.loc['lightgbm', 'brier']:.3f}",
            "sub": f"stage win rate {c.loc['stage_rate', 'brier']:.3f}, logistic {c.loc['logistic', 'brier']:.3f}",
            "status": "good" if beats else "warning",
            "definition": brier_score_loss,
        },
    ]


def truth_check(
    ev: Evaluation, ground_truth: Mapping[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Predictions of every model against the generator's true win probability on held-out
    new-business snapshots: (rows with ``truth``, one row of :func:`truth_comparison` per model)."""
    from revlib.scoring.evaluation import ground_truth_win

    p, reach = ground_truth_win(ground_truth)
    test = ev.test.assign(truth=snapshot_truth(ev.test, p, reach).to_numpy())
    test = test[test["truth"].notna()]
    table = pd.DataFrame(
        {MODEL_NAMES[m]: truth_comparison(test[m], test["truth"]) for m in MODEL_NAMES}
    ).T
    table["n"] = table["n"].astype(int)
    return test, table.rename_axis("model").reset_index()


def artifacts(
    ev: Evaluation,
    final_model,
    scores: pd.DataFrame,
    *,
    extra_metrics: Mapping[str, Any] | None = None,
    extra_files: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Every artifact of the report, keyed by file name, for ``revlib.data.write_artifacts``."""
    metrics = metrics_json(ev, verdict=verdict(ev.comparison)["text"], **dict(extra_metrics or {}))
    final_model.meta["metrics"] = {k: metrics[k] for k in MODEL_NAMES if k in metrics}
    files = final_model.to_artifacts()
    out = {
        "metrics.json": metrics,
        "deal_scores.csv": round_floats(scores),
        "calibration.csv": round_floats(calibration_curves(ev.test)),
        "model.txt": files["model.txt"],
        "model.json": files["model.json"],
    }
    for name, obj in dict(extra_files or {}).items():
        out[name] = round_floats(obj) if isinstance(obj, pd.DataFrame) else obj
    return out


def example_deals(scores: pd.DataFrame, *, n: int = 12) -> pd.DataFrame:
    """The ``n`` open deals with the largest expected value, with their reasons."""
    cols = [
        "opportunity_id",
        "stage",
        "amount",
        "win_probability",
        "expected_value",
        "expected_close_month",
        "top_factors",
    ]
    return scores[[c for c in cols if c in scores.columns]].head(n)


def stale_callout(scores: pd.DataFrame):
    """A note on open deals flagged overdue (open longer than 99 % of comparable won deals took)."""
    from revlib.reporting import callout, pct

    share = float(np.mean(scores["overdue"])) if "overdue" in scores and len(scores) else 0.0
    if share == 0:
        return callout(
            "Every open deal is within the time comparable won deals have taken to close.",
            "success",
        )
    return callout(
        f"{pct(share)} of open deals ({int(np.sum(scores['overdue']))}) have been open longer than 99 % of comparable "
        "won deals took: they get no close month, and their win probability (which does not know how long they "
        "have been stuck when features are taken at creation) deserves a second look.",
        "warning" if share > 0.1 else "info",
    )


def prospect_metrics(prospect: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Prospect models' metrics for ``metrics.json`` (None when prospects were not scored)."""
    if not prospect:
        return None
    out = {}
    for name, r in prospect["comparison"].iterrows():
        out[name] = {
            k: round(float(r[k]), 6)
            for k in ("roc_auc", "pr_auc", "brier", "log_loss", "calibration_error")
        }
        out[name] |= {"n_train": int(prospect["split"]["n_train"]), "n_test": int(r["n"])}
    out["split"] = prospect["split"]
    out["features"] = prospect["features"]
    return out


def future_metrics(
    scores: pd.DataFrame, ground_truth: Mapping[str, Any]
) -> dict[str, float] | None:
    """The scored pipeline against the hidden future the generator kept (synthetic data only).

    ``win_model.open_deals`` holds each deal open at the extract date with its eventual status
    and close date (and, for new business, the true probability given its stage). Returns the
    discrimination and calibration of the win probabilities against the eventual outcomes,
    their agreement with the true probabilities, and the close-date accuracy on eventual wins;
    None when the ground truth holds no future.
    """
    from revlib.scoring.close_dates import close_date_accuracy
    from revlib.scoring.evaluation import classification_metrics

    future = ground_truth.get("win_model", {}).get("open_deals")
    if not future:
        return None
    f = pd.DataFrame.from_dict(future, orient="index")
    s = scores.set_index("opportunity_id")
    common = s.index.intersection(f.index)
    s, f = s.loc[common], f.loc[common]
    won = (f["eventual_status"] == "won").astype(float)
    m = classification_metrics(won, s["win_probability"])
    out = {
        "n_deals": int(len(common)),
        "eventually_won": int(won.sum()),
        "predicted_wins": float(s["win_probability"].sum()),
        "roc_auc": m["roc_auc"],
        "brier": m["brier"],
    }
    if "p_snapshot" in f:
        ok = f["p_snapshot"].notna()
        if ok.sum() >= 3:
            t = truth_comparison(
                s.loc[ok, "win_probability"], f.loc[ok, "p_snapshot"].astype(float)
            )
            out |= {
                "n_with_truth": int(ok.sum()),
                "truth_pearson": t["pearson"],
                "truth_mean_abs_error": t["mean_abs_error"],
            }
    if "expected_close_date" in s:
        w = won.astype(bool) & s["expected_close_date"].notna()
        acc = close_date_accuracy(
            pd.to_datetime(f.loc[w, "eventual_close_date"]), s.loc[w, "expected_close_date"]
        )
        out |= {
            "close_within_15_days": acc["within_15_days"],
            "close_within_30_days": acc["within_30_days"],
        }
    return out


FUTURE_LABELS = {
    "n_deals": ("open deals scored, with a known future", "{:,}"),
    "eventually_won": ("eventually won", "{:,}"),
    "predicted_wins": ("predicted wins (sum of win probabilities)", "{:,.1f}"),
    "roc_auc": ("ROC AUC against the eventual outcome", "{:.3f}"),
    "brier": ("Brier score against the eventual outcome", "{:.3f}"),
    "n_with_truth": ("new-business deals with a true probability", "{:,}"),
    "truth_pearson": ("correlation with the true probability", "{:.3f}"),
    "truth_mean_abs_error": ("mean |predicted - true| probability", "{:.3f}"),
    "close_within_15_days": ("eventual wins closed within 15 days of the expected date", "{:.1%}"),
    "close_within_30_days": ("eventual wins closed within 30 days of the expected date", "{:.1%}"),
}


def future_table(metrics: Mapping[str, float]) -> pd.DataFrame:
    """:func:`future_metrics` as a two-column table of readable checks and formatted values."""
    return pd.DataFrame(
        [
            (FUTURE_LABELS[k][0], FUTURE_LABELS[k][1].format(v))
            for k, v in metrics.items()
            if k in FUTURE_LABELS
        ],
        columns=["check", "value"],
    )


NO_SKILL_AUC = 0.55  # ROC AUC below this on the held-out period: ranks about as well as chance


def prospect_verdict(comparison: pd.DataFrame) -> tuple[str, str, str]:
    """(title, text, level) of the prospect-conversion callout, coloured by its verdict:
    "warning" with a plain instruction when LightGBM has no skill (held-out ROC AUC below
    :data:`NO_SKILL_AUC`; 0.5 = chance), else the baseline verdict of
    :func:`revlib.scoring.evaluation.verdict` ("success" only when it beats every baseline)."""
    m = comparison.loc["lightgbm"]
    base = verdict(comparison)
    if m["roc_auc"] < NO_SKILL_AUC:
        text = (
            f"On the held-out period the model ranks prospects with ROC AUC {m['roc_auc']:.2f}, "
            "about as well as a coin (0.50): it cannot tell which new accounts will convert. "
            "Do not prioritise or route prospects by this score; plan on the historical "
            f"conversion rate ({m['base_rate'] * 100:.1f} % of prospects converted in the held-out period), "
            "by acquisition channel and segment where those differ, and add what the accounts "
            "table does not hold today (firmographics, engagement) before trying again."
        )
        return "No skill: do not use the prospect score", text, "warning"
    if base["beats_all"]:
        return "Prospect conversion: the model beats its baselines", str(base["text"]), "success"
    return "Prospect conversion: no clear gain over the baselines", str(base["text"]), "warning"


RUN_CHECKS = (
    "both the training and the held-out period hold deals",
    "every win probability lies between 0 and 100 %",
    "every open deal is scored once",
    "the expected values add up to win probability x amount",
    "the saved model reproduces its predictions",
)


def checks_text() -> str:
    """The sentence the report prints once its guards have passed (:data:`RUN_CHECKS`)."""
    return f"All {len(RUN_CHECKS)} checks passed: " + "; ".join(RUN_CHECKS) + "."
