"""Deal scoring: will an open deal close, when, and why do we think so.

Public API (see ``docs/scoring.md``):

- features: :func:`build_snapshots`, :func:`default_features`, :func:`check_features`,
  :func:`knowledge_at`, :class:`LeakageError`
- models: :func:`fit_deal_model`, :class:`DealModel`, :func:`stage_win_rates` (the shared
  one of :mod:`revlib.pipeline_history`),
  :class:`StageRateBaseline`, :class:`LogisticBaseline`, :func:`split_rows`
- evaluation: :func:`classification_metrics`, :func:`calibration_table`, :func:`lift_table`,
  :func:`compare_models`, :func:`verdict`, :func:`truth_comparison`
- explanations: :func:`top_factors`, :func:`global_importance`, :func:`partial_dependence`
- close dates: :class:`CloseDateModel`, :func:`close_date_accuracy`
- prospects: :func:`prospect_rows`, :func:`fit_prospect_model`
- workflow: :func:`fit_and_evaluate`, :func:`refit_final`, :func:`score_pipeline`,
  :func:`load_model`, :func:`score_command`
"""

from revlib.pipeline_history import stage_win_rates
from revlib.scoring import explain, plots, report  # noqa: F401  (submodules used as scoring.report ...)
from revlib.scoring.baselines import LogisticBaseline, StageRateBaseline
from revlib.scoring.close_dates import CloseDateModel, close_date_accuracy, prob_close_in_period
from revlib.scoring.evaluation import (
    brier_score_loss,
    calibration_error,
    calibration_table,
    classification_metrics,
    compare_models,
    ground_truth_win,
    lift_table,
    log_loss,
    pr_auc_score,
    roc_auc_score,
    snapshot_truth,
    truth_comparison,
    verdict,
)
from revlib.scoring.explain import global_importance, main_drivers, partial_dependence, top_factors
from revlib.scoring.features import (
    DENY_LIST,
    LeakageError,
    build_snapshots,
    check_features,
    default_features,
    knowledge_at,
    resolve_mode,
)
from revlib.scoring.model import DealModel, fit_calibrator, fit_deal_model
from revlib.scoring.prospects import fit_prospect_model, prospect_rows, score_prospects
from revlib.scoring.splits import split_rows
from revlib.scoring.workflow import (
    MODEL_NAMES,
    Evaluation,
    calibration_curves,
    fit_and_evaluate,
    lift_tables,
    load_model,
    metrics_json,
    refit_final,
    score_command,
    score_pipeline,
)

__all__ = [
    "CloseDateModel",
    "DENY_LIST",
    "DealModel",
    "Evaluation",
    "LeakageError",
    "LogisticBaseline",
    "MODEL_NAMES",
    "StageRateBaseline",
    "brier_score_loss",
    "build_snapshots",
    "calibration_curves",
    "calibration_error",
    "calibration_table",
    "check_features",
    "classification_metrics",
    "close_date_accuracy",
    "compare_models",
    "default_features",
    "fit_and_evaluate",
    "fit_calibrator",
    "fit_deal_model",
    "fit_prospect_model",
    "global_importance",
    "ground_truth_win",
    "knowledge_at",
    "lift_table",
    "lift_tables",
    "load_model",
    "log_loss",
    "main_drivers",
    "metrics_json",
    "partial_dependence",
    "pr_auc_score",
    "prob_close_in_period",
    "prospect_rows",
    "refit_final",
    "resolve_mode",
    "roc_auc_score",
    "score_command",
    "score_pipeline",
    "score_prospects",
    "snapshot_truth",
    "split_rows",
    "stage_win_rates",
    "top_factors",
    "truth_comparison",
    "verdict",
]
