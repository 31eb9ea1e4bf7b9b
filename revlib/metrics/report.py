"""Report pieces of the ARR tracker: KPI cards, verdicts and display tables built from
:func:`revlib.metrics.tracker_kpis`. Formatting only; every number comes from a metric function
whose docstring gives the definition shown beside it."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from revlib import reporting as rep
from revlib.metrics import mrr, quote_to_cash, retention, unit_economics, velocity
from revlib.metrics.alerts import DEFAULT_THRESHOLDS
from revlib.metrics.tracker import run_rate_forecast_variance


def _ok(x: float) -> bool:
    return x is not None and not (isinstance(x, float) and math.isnan(x))


def _window(kpis: Mapping, *, long: bool = False) -> str:
    """The KPIs' window: TTM (trailing twelve months) or the shorter history available."""
    n = int(kpis.get("window_months", 12))
    if n == 12:
        return "last 12 months" if long else "TTM"
    return f"last {n} months" if long else f"{n} mo"


def _meets(value: float, limit: float | None, op: str) -> bool:
    if limit is None or not _ok(value):
        return True
    return value >= limit if op == ">=" else value <= limit


def _status(value: float, good: bool) -> str:
    return "neutral" if not _ok(value) else ("good" if good else "warning")


def verdict(kpis: Mapping) -> tuple[str, str, str]:
    """(title, text, level) of the on-track callout: ARR velocity against what the target needs."""
    need, have = kpis["required_daily_velocity"], kpis["actual_daily_velocity"]
    target, date = (
        rep.money(kpis["arr_target"]),
        pd.Timestamp(kpis["target_date"]).strftime("%d %b %Y"),
    )
    projected = kpis["arr"] + have * kpis["days_to_target"]
    if kpis["remaining"] <= 0:
        return (
            "Target reached",
            f"ARR {rep.money(kpis['arr'])} is already above the {target} target.",
            "success",
        )
    if kpis["on_track"]:
        return (
            "On track",
            f"ARR is growing {rep.money(have)}/day against {rep.money(need)}/day needed; at this pace it "
            f"reaches {rep.money(projected)} by {date} (target {target}).",
            "success",
        )
    gap = need / have - 1 if have > 0 else float("inf")
    pace = f"velocity must rise {gap:.0%}" if math.isfinite(gap) else "ARR must start growing again"
    moving = f"growing {rep.money(have)}/day" if have > 0 else f"shrinking {rep.money(-have)}/day"
    if have == 0:
        moving = "flat"
    return (
        "Off track",
        f"ARR is {moving} but {rep.money(need)}/day is needed to reach {target} by "
        f"{date}: {pace}. At the current pace ARR reaches {rep.money(max(projected, 0.0))} "
        f"({max(projected, 0.0) / kpis['arr_target']:.0%} of target).",
        "critical",
    )


def headline_cards(kpis: Mapping, thresholds: Mapping | None = None) -> list[dict]:
    """ARR, target, velocity, NRR and quick-ratio cards for the top of the report; borders
    follow the alert thresholds (amber when breached, red when the target is out of reach)."""
    t = DEFAULT_THRESHOLDS | dict(thresholds or {})
    as_of = pd.Timestamp(kpis["as_of"]).strftime("%d %b %Y")
    return [
        {
            "label": "ARR",
            "value": rep.money(kpis["arr"]),
            "sub": f"at {as_of} · {rep.pct(kpis['yoy_growth'], signed=True)} YoY",
            "status": _status(
                kpis["yoy_growth"], _meets(kpis["yoy_growth"], t["yoy_growth_min"], ">=")
            ),
            "definition": velocity.arr_at,
        },
        {
            "label": "Target",
            "value": rep.money(kpis["arr_target"]),
            "sub": f"by {pd.Timestamp(kpis['target_date']):%d %b %Y} · {rep.money(kpis['remaining'])} to go",
            "status": "neutral",
            "definition": velocity.arr_progress,
        },
        {
            "label": "Velocity / day",
            "value": rep.money(kpis["actual_daily_velocity"]),
            "sub": f"needed {rep.money(kpis['required_daily_velocity'])}/day",
            "status": "good" if kpis["on_track"] else "critical",
            "definition": velocity.actual_daily_velocity,
        },
        {
            "label": "NRR (TTM)",
            "value": rep.pct(kpis["nrr"]),
            "sub": f"GRR {rep.pct(kpis['grr'])}",
            "status": _status(kpis["nrr"], _meets(kpis["nrr"], t["nrr_target"], ">=")),
            "definition": retention.net_revenue_retention,
        },
        {
            "label": f"Quick ratio ({_window(kpis)})",
            "value": f"{kpis['quick_ratio']:.2f}" if _ok(kpis["quick_ratio"]) else "–",
            "sub": f"{kpis['customers']:,} paying customers",
            "status": _status(kpis["quick_ratio"], kpis["quick_ratio"] >= 4),
            "definition": mrr.quick_ratio,
        },
    ]


def velocity_table(kpis: Mapping) -> pd.DataFrame:
    """Actual vs required ARR velocity per day, week and month, with the gap."""
    rows = []
    for period in ("daily", "weekly", "monthly"):
        actual, required = kpis[f"actual_{period}_velocity"], kpis[f"required_{period}_velocity"]
        rows.append(
            {"period": period, "actual": actual, "required": required, "gap": actual - required}
        )
    return pd.DataFrame(rows)


def milestone_table(kpis: Mapping) -> pd.DataFrame:
    """Milestones (90/95/99/100 % of target): ARR needed, month reached or projected date."""
    rows = []
    for m in kpis["milestones"]:
        if m["reached_month"]:
            status = f"reached {pd.Timestamp(m['reached_month']):%b %Y}"
        elif m["projected_date"]:
            due = pd.Timestamp(m["projected_date"])
            late = due > pd.Timestamp(kpis["target_date"])
            status = f"projected {due:%d %b %Y}" + (" (after the target date)" if late else "")
        else:
            status = "not reached; ARR is not growing"
        rows.append({"milestone": f"{m['level']:.0%}", "ARR needed": m["arr"], "status": status})
    return pd.DataFrame(rows)


def unit_economics_cards(kpis: Mapping, thresholds: Mapping | None = None) -> list[dict]:
    """ARPA, CAC, LTV, LTV:CAC, CAC payback, magic number, Rule of 40 and gross margin cards.
    LTV:CAC and gross margin borders follow the alert thresholds; the others common SaaS
    rules of thumb stated on the card."""
    t = DEFAULT_THRESHOLDS | dict(thresholds or {})
    ratio = lambda x, d=2: f"{x:.{d}f}" if _ok(x) else "–"  # noqa: E731
    return [
        {
            "label": "ARPA",
            "value": rep.money(kpis["arpa"]),
            "sub": "per account per month",
            "definition": unit_economics.arpa,
        },
        {
            "label": "CAC",
            "value": rep.money(kpis["cac"]),
            "sub": f"{kpis['new_accounts']:,} new accounts ({_window(kpis)})",
            "definition": unit_economics.cac,
        },
        {
            "label": "LTV",
            "value": rep.money(kpis["ltv"]),
            "sub": f"churn {rep.pct(kpis['mean_monthly_logo_churn'], decimals=2)}/month",
            "definition": unit_economics.ltv,
        },
        {
            "label": "LTV:CAC",
            "value": ratio(kpis["ltv_to_cac"], 1) + "x",
            "sub": f"alert below {t['ltv_to_cac_min']:.1f}x" if t["ltv_to_cac_min"] else "",
            "status": _status(
                kpis["ltv_to_cac"], _meets(kpis["ltv_to_cac"], t["ltv_to_cac_min"], ">=")
            ),
            "definition": unit_economics.ltv_to_cac,
        },
        {
            "label": "CAC payback",
            "value": ratio(kpis["cac_payback_months"], 1) + " mo",
            "sub": "18 months or less is healthy",
            "status": _status(kpis["cac_payback_months"], kpis["cac_payback_months"] <= 18),
            "definition": unit_economics.cac_payback_months,
        },
        {
            "label": "Magic number",
            "value": ratio(kpis["magic_number"]),
            "sub": "last quarter; above 0.75 is efficient",
            "status": _status(kpis["magic_number"], kpis["magic_number"] >= 0.75),
            "definition": unit_economics.magic_number,
        },
        {
            "label": "Rule of 40",
            "value": ratio(kpis["rule_of_40"], 1),
            "sub": f"{kpis['rule_of_40_label']}: {rep.pct(kpis['rule_of_40_growth'])} + {rep.pct(kpis['rule_of_40_margin'])}",
            "status": _status(kpis["rule_of_40"], kpis["rule_of_40"] >= 40),
            "definition": unit_economics.rule_of_40,
        },
        {
            "label": "Gross margin",
            "value": rep.pct(kpis["gross_margin"]),
            "sub": _window(kpis, long=True),
            "status": _status(
                kpis["gross_margin"], _meets(kpis["gross_margin"], t["gross_margin_min"], ">=")
            ),
            "definition": unit_economics.gross_margin,
        },
    ]


def cash_cards(kpis: Mapping, thresholds: Mapping | None = None) -> list[dict]:
    """Collection rate, DSO, deferred revenue and renewal rate cards (borders follow the
    alert thresholds)."""
    t = DEFAULT_THRESHOLDS | dict(thresholds or {})
    return [
        {
            "label": "Collection rate",
            "value": rep.pct(kpis["collection_rate"]),
            "sub": f"invoices due in the {_window(kpis, long=True)}",
            "status": _status(
                kpis["collection_rate"],
                _meets(kpis["collection_rate"], t["collection_rate_min"], ">="),
            ),
            "definition": quote_to_cash.collection_rate,
        },
        {
            "label": "DSO",
            "value": f"{kpis['dso']:.0f} days" if _ok(kpis["dso"]) else "–",
            "sub": _window(kpis, long=True),
            "status": _status(kpis["dso"], _meets(kpis["dso"], t["dso_max"], "<=")),
            "definition": quote_to_cash.dso,
        },
        {
            "label": "Deferred revenue",
            "value": rep.money(kpis["deferred_revenue"]),
            "sub": f"at {pd.Timestamp(kpis['as_of']):%d %b %Y}",
            "definition": quote_to_cash.deferred_revenue_rollforward,
        },
        {
            "label": "Renewal rate",
            "value": rep.pct(kpis["renewal_rate"]),
            "sub": f"renewal ARR due in the {_window(kpis, long=True)}",
            "definition": retention.renewal_rate,
        },
    ]


def retention_cards(kpis: Mapping) -> list[dict]:
    """Trailing-twelve-month and monthly NRR / GRR and logo churn cards, each labelled."""
    return [
        {
            "label": "NRR, TTM cohort",
            "value": rep.pct(kpis["nrr"]),
            "definition": retention.net_revenue_retention,
        },
        {
            "label": "GRR, TTM cohort",
            "value": rep.pct(kpis["grr"]),
            "definition": retention.gross_revenue_retention,
        },
        {
            "label": "NRR, monthly",
            "value": rep.pct(kpis["nrr_monthly"]),
            "sub": "last month vs the month before (lag 1)",
        },
        {
            "label": "GRR, monthly",
            "value": rep.pct(kpis["grr_monthly"]),
            "sub": "last month vs the month before (lag 1)",
        },
        {
            "label": "Logo churn",
            "value": rep.pct(kpis["logo_churn_rate"], decimals=2),
            "sub": f"last month; {rep.pct(kpis['mean_monthly_logo_churn'], decimals=2)} mean, {_window(kpis, long=True)}",
            "definition": retention.logo_churn_rate,
        },
    ]


def movements_table(movements: pd.DataFrame, *, months: int = 12) -> pd.DataFrame:
    """The last `months` rows of the MRR bridge with YYYY-MM months, for display."""
    out = movements.tail(months).copy()
    out["month"] = pd.DatetimeIndex(out["month"]).strftime("%Y-%m")
    return out.iloc[::-1].reset_index(drop=True)


DEFINITIONS = {
    "MRR snapshot": mrr.mrr_panel,
    "MRR movements": mrr.account_movements,
    "MRR bridge": mrr.mrr_movements,
    "Quick ratio": mrr.quick_ratio,
    "YoY growth": velocity.yoy_growth,
    "Required velocity": velocity.required_daily_velocity,
    "Actual velocity": velocity.actual_daily_velocity,
    "On track": velocity.arr_velocity,
    "Milestones": velocity.milestones,
    "NRR": retention.net_revenue_retention,
    "GRR": retention.gross_revenue_retention,
    "Logo churn rate": retention.logo_churn_rate,
    "Cohort revenue retention": retention.cohort_revenue_retention,
    "Cohort logo retention": retention.cohort_logo_retention,
    "Renewal rate": retention.renewal_rate,
    "ARPA": unit_economics.arpa,
    "CAC": unit_economics.cac,
    "LTV": unit_economics.ltv,
    "LTV:CAC": unit_economics.ltv_to_cac,
    "CAC payback": unit_economics.cac_payback_months,
    "Magic number": unit_economics.magic_number,
    "Rule of 40": unit_economics.rule_of_40,
    "Rule of 40 variants": unit_economics.rule_of_40_variants,
    "Gross margin": unit_economics.gross_margin,
    "Collection rate": quote_to_cash.collection_rate,
    "DSO": quote_to_cash.dso,
    "Recognised revenue": quote_to_cash.subscription_revenue,
    "Deferred revenue": quote_to_cash.deferred_revenue_rollforward,
    "Forecast variance": run_rate_forecast_variance,
}


def rule_of_40_table(kpis: Mapping[str, Any]) -> pd.DataFrame:
    """The Rule of 40 under every variant, the report's choice marked: Variant, Growth, Margin,
    Score (percentage points), Passes ("yes"/"no"/"–" where the financials lack the margin)."""
    rows = pd.DataFrame(kpis.get("rule_of_40_variants") or [])
    if rows.empty:
        return rows
    chosen = rows["variant"] == kpis["rule_of_40_variant"]
    return pd.DataFrame(
        {
            "Variant": rows["label"] + np.where(chosen, " (this report)", ""),
            "Growth": rows["growth"],
            "Margin": rows["margin"],
            "Score": rows["score"],
            "Passes": [
                "–" if not np.isfinite(sc) else ("yes" if sc >= 40 else "no")
                for sc in rows["score"]
            ],
        }
    )
