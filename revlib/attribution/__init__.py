"""Multi-touch attribution and the acquisition funnel.

* :mod:`.models` — rule-based models (first touch, last touch, linear, time decay, the team's
  position-weight model, W-shaped) as per-touch credits;
* :mod:`.markov` — the data-driven Markov removal-effect model;
* :mod:`.shapley` — incremental attribution: Shapley values of a logistic conversion model;
* :mod:`.summary` — every model side by side: channel revenue, shares, ROI, distance from truth;
* :mod:`.funnel` — stage conversion rates with Beta posteriors, targets and stage velocity;
* :mod:`.plots` — the report's figures.

Definitions: ``docs/attribution.md``.
"""

from .funnel import (
    FUNNEL_TARGETS,
    STAGE_LABELS,
    STAGES,
    VELOCITY_LABELS,
    VELOCITY_STAGES,
    against_targets,
    cohort_window,
    coverage_callout,
    expansion_rates,
    funnel_rates,
    funnel_summary,
    journey_milestones,
    level_table,
    select_cohorts,
    stage_cards,
    stage_velocity,
    truth_coverage,
    truth_rates,
    velocity_summary,
)
from .markov import markov_credits, removal_effects, transition_counts
from .models import (
    NO_TOUCH,
    POSITION_WEIGHTS,
    RULE_MODELS,
    W_SHAPED_WEIGHTS,
    check_position_weights,
    check_w_shaped_weights,
    converted_without_touch,
    ordered_touches,
    touch_credits,
)
from .shapley import BASELINE, fit_logistic, logistic_effects, shapley_credits, shapley_values
from .summary import (
    MODEL_LABELS,
    MODELS,
    PSEUDO_CHANNELS,
    accuracy_callout,
    attribute,
    attribution_accuracy,
    attribution_cards,
    attribution_error,
    channel_revenue,
    channel_roi,
    channel_shares,
    channel_spend,
    data_driven_effects,
    effects_table,
    roas_table,
    share_table,
)

__all__ = [
    "BASELINE",
    "PSEUDO_CHANNELS",
    "fit_logistic",
    "logistic_effects",
    "shapley_credits",
    "shapley_values",
    "FUNNEL_TARGETS",
    "MODELS",
    "MODEL_LABELS",
    "NO_TOUCH",
    "POSITION_WEIGHTS",
    "RULE_MODELS",
    "STAGES",
    "STAGE_LABELS",
    "VELOCITY_LABELS",
    "VELOCITY_STAGES",
    "W_SHAPED_WEIGHTS",
    "accuracy_callout",
    "against_targets",
    "attribute",
    "attribution_accuracy",
    "attribution_cards",
    "attribution_error",
    "channel_revenue",
    "channel_roi",
    "channel_shares",
    "channel_spend",
    "check_position_weights",
    "check_w_shaped_weights",
    "converted_without_touch",
    "data_driven_effects",
    "effects_table",
    "cohort_window",
    "coverage_callout",
    "expansion_rates",
    "funnel_rates",
    "funnel_summary",
    "journey_milestones",
    "level_table",
    "select_cohorts",
    "stage_cards",
    "markov_credits",
    "ordered_touches",
    "removal_effects",
    "roas_table",
    "share_table",
    "stage_velocity",
    "truth_coverage",
    "truth_rates",
    "velocity_summary",
    "touch_credits",
    "transition_counts",
]
