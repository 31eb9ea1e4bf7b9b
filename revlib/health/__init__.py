"""Customer health: the revenue team's 100-point score, its validation against what happened
next, expansion opportunities and retention / LTV with uncertainty (``docs/health.md``).

- :mod:`~revlib.health.rubric`: the rubric (``revlib/health_rubric.yaml``) as data.
- :mod:`~revlib.health.score`: features from the tables, scores, bands, ARR by band.
- :mod:`~revlib.health.validation`: outcomes, band churn rates, AUC, suggested weights,
  LightGBM benchmark.
- :mod:`~revlib.health.truth`: comparison with the sample company's true churn drivers.
- :mod:`~revlib.health.expansion`: trigger history and ranked opportunities.
- :mod:`~revlib.health.retention_model`: shifted-beta-geometric retention and LTV.
- :mod:`~revlib.health.plots`: the report's figures.
"""

from revlib.health.expansion import (
    expansion_opportunities,
    expansion_outcomes,
    trigger_flags,
    trigger_history,
    trigger_onsets,
)
from revlib.health.retention_model import (
    empirical_survival,
    fit_sbg,
    fit_sbg_mle,
    holdout_check,
    ltv_table,
    posterior_survival,
    sbg_parameters,
    sbg_survival,
    tenure_table,
    truncate_panel,
)
from revlib.health.rubric import Rubric, load_rubric, parse_rubric, signal_points
from revlib.health.score import (
    FEATURES,
    arr_by_band,
    assign_band,
    health_scores,
    score_snapshot,
    signal_features,
)
from revlib.health.validation import (
    auc_score,
    band_outcomes,
    churn_benchmark,
    churn_outcomes,
    score_auc_by_horizon,
    scored_outcomes,
    suggest_weights,
)

__all__ = [
    "FEATURES",
    "Rubric",
    "arr_by_band",
    "assign_band",
    "auc_score",
    "band_outcomes",
    "churn_benchmark",
    "churn_outcomes",
    "empirical_survival",
    "expansion_opportunities",
    "expansion_outcomes",
    "fit_sbg",
    "fit_sbg_mle",
    "health_scores",
    "holdout_check",
    "load_rubric",
    "ltv_table",
    "parse_rubric",
    "posterior_survival",
    "sbg_parameters",
    "sbg_survival",
    "score_auc_by_horizon",
    "score_snapshot",
    "scored_outcomes",
    "signal_features",
    "signal_points",
    "suggest_weights",
    "tenure_table",
    "trigger_flags",
    "trigger_history",
    "trigger_onsets",
    "truncate_panel",
]
