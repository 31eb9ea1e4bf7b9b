"""Bookings and ARR forecasting: "will we make the quarter, and reach the ARR target on time?"

- :mod:`revlib.pipeline_history` (shared with deal scoring): the pipeline as it stood on a
  date, month-start snapshots, stage win rates (re-exported here).
- :mod:`~revlib.forecasting.categories`: CRM forecast categories and their rollups.
- :mod:`~revlib.forecasting.pipeline_health`: coverage, stage aging, conversion, velocity,
  creation trend.
- :mod:`~revlib.forecasting.closing`: weekly competing-risk model of when an open deal closes
  and whether it is won (learnt from past pipelines, slips included).
- :mod:`~revlib.forecasting.curves` and :mod:`~revlib.forecasting.creation`: created-to-close
  curves and the pipeline creation model (deals not yet created).
- :mod:`~revlib.forecasting.bookings_forecast`: Monte Carlo bookings forecast by period and
  type over open deals and deals not yet created.
- :mod:`~revlib.forecasting.arr`: Bayesian model of monthly MRR movement rates (PyMC), simulated
  forward to a fan chart of ARR and the probability of reaching a target.
- :mod:`~revlib.forecasting.scenarios`: conservative / base / optimistic scenarios and the
  revenue risk register (``revlib/forecast_risks.yaml``) simulated as shocks.
- :mod:`~revlib.forecasting.backtest`: rolling-origin accuracy against naive, ETS and
  stage-weighted baselines.
- :mod:`~revlib.forecasting.plots` and :mod:`~revlib.forecasting.report`: the report's figures
  and building blocks.
"""

from revlib.forecasting._common import TYPES, default_as_of, kaplan_meier
from revlib.forecasting.arr import (
    ARR_PRIORS,
    ArrPosterior,
    arr_fan,
    build_arr_model,
    fit_arr_model,
    hidden_future_check,
    horizon_months,
    rate_data,
    rate_summary,
    simulate_arr,
    target_month,
    target_probability,
    truth_rates,
)
from revlib.forecasting.backtest import (
    METHODS,
    backtest_origins,
    backtest_summary,
    ets_forecast,
    naive_forecast,
    period_bookings,
    rolling_backtest,
    verdict,
)
from revlib.forecasting.bookings_forecast import (
    BOOKINGS_DEFAULTS,
    BookingsForecast,
    forecast_bookings,
    open_pipeline_truth,
    stage_weighted_forecast,
)
from revlib.forecasting.categories import category_rollup, forecast_category, use_realised_amounts
from revlib.forecasting.closing import ClosingModel, fit_closing_model
from revlib.forecasting.creation import creation_rates
from revlib.forecasting.curves import created_to_close_curves
from revlib.forecasting.pipeline_health import (
    coverage_ratio,
    creation_growth,
    creation_trend,
    default_period_target,
    sales_velocity,
    stage_aging,
    stage_conversion,
)
from revlib.forecasting.scenarios import (
    draw_risks,
    load_risk_config,
    risk_impacts,
    scenario_multipliers,
    scenario_table,
)
from revlib.pipeline_history import pipeline_as_of, snapshots, stage_win_rates

__all__ = [
    "ARR_PRIORS",
    "BOOKINGS_DEFAULTS",
    "METHODS",
    "TYPES",
    "ArrPosterior",
    "BookingsForecast",
    "ClosingModel",
    "arr_fan",
    "backtest_origins",
    "backtest_summary",
    "build_arr_model",
    "category_rollup",
    "coverage_ratio",
    "created_to_close_curves",
    "creation_growth",
    "creation_rates",
    "creation_trend",
    "default_as_of",
    "default_period_target",
    "draw_risks",
    "ets_forecast",
    "fit_arr_model",
    "fit_closing_model",
    "forecast_bookings",
    "forecast_category",
    "hidden_future_check",
    "horizon_months",
    "kaplan_meier",
    "load_risk_config",
    "naive_forecast",
    "open_pipeline_truth",
    "period_bookings",
    "pipeline_as_of",
    "rate_data",
    "rate_summary",
    "risk_impacts",
    "rolling_backtest",
    "sales_velocity",
    "scenario_multipliers",
    "scenario_table",
    "simulate_arr",
    "snapshots",
    "stage_aging",
    "stage_conversion",
    "stage_weighted_forecast",
    "stage_win_rates",
    "target_month",
    "target_probability",
    "truth_rates",
    "use_realised_amounts",
    "verdict",
]
