"""Alerts from thresholds: which numbers need attention, worst first."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

LEVEL_RANK = {"critical": 0, "warning": 1, "info": 2, "ok": 3}

# Alert defaults for a company without a plan: the spec's thresholds (shared/spec/metrics.md),
# except NRR (see REFERENCE_THRESHOLDS), then the project's extensions (docs/metrics.md). A
# company's plan overrides them (``load_thresholds``), and every one is a report parameter.
DEFAULT_THRESHOLDS: dict[str, float | None] = {
    "yoy_growth_min": 0.20,
    # below 100 % the installed base shrinks before any new sale: an alarm for any company
    "nrr_target": 1.00,
    "gross_margin_min": 0.40,
    "forecast_variance_max": 0.05,
    # extensions: set to None to switch off
    "ltv_to_cac_min": 3.0,
    "collection_rate_min": 0.95,
    "dso_max": 60.0,
}


# Figures of the reference that are *not* alert defaults. The spec's NRR target of 150 % is
# the reference's figure for a $1B-ARR best-in-class company (issue 14); as an alert floor it
# fires on every healthy company (the bundled sample's NRR is about 110 %). Pass it as the
# plan's ``nrr_target`` to compare with that benchmark.
REFERENCE_THRESHOLDS: dict[str, float] = {"nrr_target": 1.50}
REFERENCE_NOTES: dict[str, str] = {
    "nrr_target": "the reference's target for a $1B-ARR company, not an alert default"
}


def load_thresholds(
    source: str | os.PathLike | Mapping[str, Any] | None,
) -> dict[str, float | None]:
    """Alert thresholds of a company's plan: a YAML file (or mapping) of threshold name ->
    value (ratio, days or x as in :data:`DEFAULT_THRESHOLDS`; null switches the check off).
    ``None`` or ``""`` = no plan, ``{}``. Raises ``ValueError`` naming unknown names and
    non-numeric values."""
    if source is None or (isinstance(source, str) and source == ""):
        return {}
    if isinstance(source, Mapping):
        raw, label = dict(source), "mapping"
    else:
        from revlib.data import read_yaml

        raw, label = read_yaml(source), str(source)
    raw = raw.get("thresholds", raw) if isinstance(raw, Mapping) else raw
    if not isinstance(raw, Mapping):
        raise ValueError(
            f"thresholds {label}: expected a mapping of name -> value, got {type(raw).__name__}"
        )
    problems = [f"unknown threshold {k!r}" for k in raw if k not in DEFAULT_THRESHOLDS] + [
        f"{k}: expected a number or null, got {v!r}"
        for k, v in raw.items()
        if v is not None and (isinstance(v, bool) or not isinstance(v, int | float))
    ]
    if problems:
        raise ValueError(
            f"thresholds {label}: "
            + "; ".join(problems)
            + f" (allowed: {sorted(DEFAULT_THRESHOLDS)})"
        )
    return {k: None if v is None else float(v) for k, v in raw.items()}


@dataclass(frozen=True)
class Rule:
    metric: str  # key in the KPI mapping
    threshold_key: str  # key in the thresholds mapping ("" = compare with another KPI)
    op: str  # "<" alerts when value < threshold, ">" when value > threshold
    level: str
    label: str
    fmt: str  # "pct", "ratio", "days", "money_day"


RULES = (
    Rule("actual_daily_velocity", "", "<", "critical", "ARR velocity", "money_day"),
    Rule("yoy_growth", "yoy_growth_min", "<", "warning", "YoY ARR growth", "pct"),
    Rule("nrr", "nrr_target", "<", "warning", "Net revenue retention (TTM)", "pct"),
    Rule("gross_margin", "gross_margin_min", "<", "warning", "Gross margin", "pct"),
    Rule("forecast_variance", "forecast_variance_max", ">", "warning", "Forecast variance", "pct"),
    Rule("ltv_to_cac", "ltv_to_cac_min", "<", "warning", "LTV:CAC", "ratio"),
    Rule("collection_rate", "collection_rate_min", "<", "warning", "Collection rate", "pct"),
    Rule("dso", "dso_max", ">", "warning", "DSO", "days"),
)


def _show(x: float, fmt: str) -> str:
    if fmt == "pct":
        return f"{x * 100:.1f} %"
    if fmt == "ratio":
        return f"{x:.2f}x"
    if fmt == "days":
        return f"{x:.0f} days"
    return f"${x:,.0f}/day"


def check_thresholds(
    kpis: Mapping[str, float], *, thresholds: Mapping[str, float | None] | None = None
) -> pd.DataFrame:
    """Every threshold check: metric, value, threshold, level (critical / warning when
    breached, ok otherwise) and a message; worst first. Checks whose value is missing (NaN)
    or whose threshold is None are skipped.

    Velocity is critical when the actual daily ARR velocity is below the required one. The
    forecast variance is compared in absolute value.
    """
    limits = DEFAULT_THRESHOLDS | dict(thresholds or {})
    unknown = sorted(set(limits) - set(DEFAULT_THRESHOLDS))
    if unknown:
        raise ValueError(f"unknown threshold(s) {unknown}; allowed: {sorted(DEFAULT_THRESHOLDS)}")
    rows = []
    for rule in RULES:
        value = kpis.get(rule.metric)
        limit = (
            kpis.get("required_daily_velocity")
            if rule.threshold_key == ""
            else limits[rule.threshold_key]
        )
        if value is None or limit is None or _nan(value) or _nan(limit):
            continue
        value, limit = float(value), float(limit)
        compared = abs(value) if rule.metric == "forecast_variance" else value
        breached = compared < limit if rule.op == "<" else compared > limit
        gap = (limit - compared) if rule.op == "<" else (compared - limit)
        severity = gap / abs(limit) if limit else gap
        word = "below" if rule.op == "<" else "above"
        if breached:
            message = f"{rule.label} {_show(value, rule.fmt)} is {word} the threshold {_show(limit, rule.fmt)}"
            if rule.metric == "actual_daily_velocity":
                message = (
                    f"ARR is growing at {_show(value, rule.fmt)}, below the {_show(limit, rule.fmt)} "
                    "needed to reach the target on time"
                )
        else:
            message = f"{rule.label} {_show(value, rule.fmt)} meets the threshold {_show(limit, rule.fmt)}"
        rows.append(
            {
                "metric": rule.metric,
                "value": value,
                "threshold": limit,
                "level": rule.level if breached else "ok",
                "message": message,
                "_severity": severity,
            }
        )
    out = pd.DataFrame(
        rows, columns=["metric", "value", "threshold", "level", "message", "_severity"]
    )
    out["_rank"] = out["level"].map(LEVEL_RANK)
    out = out.sort_values(["_rank", "_severity"], ascending=[True, False], kind="stable")
    return out.drop(columns=["_rank", "_severity"]).reset_index(drop=True)


def alerts(
    kpis: Mapping[str, float], *, thresholds: Mapping[str, float | None] | None = None
) -> pd.DataFrame:
    """Breached thresholds only, worst first (critical before warning, then by how far past
    the threshold relative to it): metric, value, threshold, level, message."""
    checks = check_thresholds(kpis, thresholds=thresholds)
    return checks.loc[checks["level"] != "ok"].reset_index(drop=True)


def _nan(x) -> bool:
    try:
        return math.isnan(float(x))
    except (TypeError, ValueError):
        return True
