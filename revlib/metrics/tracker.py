"""The ARR tracker's headline figures, assembled from the metric functions."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from revlib.metrics.mrr import (
    MrrPanel,
    mrr_movements,
    mrr_panel,
    quick_ratio,
)
from revlib.metrics.quote_to_cash import (
    collection_rate,
    deferred_revenue_rollforward,
    dso,
    subscription_revenue,
)
from revlib.metrics.retention import (
    gross_revenue_retention,
    logo_churn_rate,
    net_revenue_retention,
    renewal_rate,
)
from revlib.metrics.unit_economics import (
    DEFAULT_RULE_OF_40,
    RULE_OF_40_VARIANTS,
    arpa,
    cac,
    cac_payback_months,
    gross_margin,
    ltv,
    ltv_to_cac,
    magic_number,
    mean_logo_churn,
    new_accounts,
    operating_margin,
    rule_of_40_variants,
)
from revlib.metrics.velocity import (
    actual_daily_velocity,
    arr_at,
    arr_velocity,
    milestones,
    yoy_growth,
)
from revlib.periods import month_end, month_start, month_starts, month_window

# Dates that show how far a table's history reaches (open deals' close dates are forecasts).
_DATE_COLUMNS = {
    "subscriptions": ("start_date",),
    "invoices": ("issued_date",),
    "spend": ("month",),
    "financials": ("month",),
}


def last_complete_month(tables: Mapping[str, pd.DataFrame]) -> pd.Timestamp:
    """The last month the data covers completely: the month of the latest recorded event
    (subscription start, invoice issue, closed deal, spend or financials month) when that
    table is monthly or the event is on the month's last day, else the month before."""
    ends = []
    for name, cols in _DATE_COLUMNS.items():
        if name in tables:
            for col in cols:
                latest = pd.to_datetime(tables[name][col]).max()
                if pd.notna(latest):
                    monthly = col == "month"
                    ends.append(latest + pd.offsets.MonthEnd(0) if monthly else latest)
    opp = tables.get("opportunities")
    if opp is not None:
        closed = opp.loc[opp["status"] != "open", "close_date"]
        if closed.notna().any():
            ends.append(closed.max())
    if not ends:
        raise ValueError(
            f"no dated table to find the data's end in; tables given: {sorted(tables)}"
        )
    latest = max(ends)
    month = month_start(latest)
    return month if latest == month_end(month) else month - pd.DateOffset(months=1)


def as_of_month(tables: Mapping[str, pd.DataFrame], as_of: str | pd.Timestamp = "") -> pd.Timestamp:
    """The month a report is as of: the month of ``as_of`` (any date in it, or ``YYYY-MM``),
    or the last complete month of the data (:func:`last_complete_month`) when it is empty.
    A month after the data end is allowed (see :func:`data_end_note`)."""
    if isinstance(as_of, str) and as_of.strip() == "":
        return last_complete_month(tables)
    try:
        return month_start(as_of)
    except ValueError as err:
        raise ValueError(f"as_of must be a date or YYYY-MM, got {as_of!r}") from err


# Tables that stop at the data end: figures over windows reaching past it are not available.
_STOP_AT_DATA_END = ("spend", "financials", "invoices")


def data_end_note(tables: Mapping[str, pd.DataFrame], *, as_of: str | pd.Timestamp) -> str | None:
    """A sentence for the report when the as-of month is after the last complete month of the
    data (None otherwise): open subscriptions are carried on at their MRR, nothing new happens
    after the data end, and figures that need the other monthly tables are not available."""
    month, end = month_start(as_of), last_complete_month(tables)
    if month <= end:
        return None
    others = [t for t in _STOP_AT_DATA_END if t in tables]
    text = (
        f"The data end in {end:%B %Y}, before the as-of month {month:%B %Y}. After the data end "
        "open subscriptions carry on at their last MRR and nothing new happens: no new "
        "customers, expansions or churn, except end dates already scheduled in the data."
    )
    if others:
        text += (
            f" Figures that need {' or '.join(others)} are not available (n/a): those tables "
            "stop at the data end."
        )
    return text


def run_rate_forecast_variance(
    movements: pd.DataFrame, *, as_of: str | pd.Timestamp, months: int = 3
) -> float:
    """Forecast variance of the last closed quarter: actual ARR at the as-of month-end / ARR
    forecast three months earlier by extending the then-actual daily velocity - 1. Ratio
    (+0.05 = actual 5 % above forecast)."""
    month = month_start(as_of)
    start = month - pd.DateOffset(months=months)
    try:
        velocity = actual_daily_velocity(movements, start, months=months)
    except ValueError:
        return float("nan")
    days = (month_end(month) - month_end(start)).days
    forecast = arr_at(movements, start) + velocity * days
    return arr_at(movements, month) / forecast - 1 if forecast > 0 else float("nan")


def tracker_kpis(
    tables: Mapping[str, pd.DataFrame],
    *,
    as_of: str | pd.Timestamp,
    arr_target: float,
    target_date: str | pd.Timestamp,
    panel: MrrPanel | None = None,
    rule_of_40_variant: str = DEFAULT_RULE_OF_40,
) -> dict:
    """Every headline number of the ARR tracker as of the end of the as-of month, each computed
    by the metric function of the same name (see their definitions). Figures whose optional
    table (spend, financials, invoices, opportunities) is absent are NaN.

    Windows: trailing twelve months ending with the as-of month (quick ratio, unit economics,
    collection rate, DSO, renewal rate), or every month of data when there are fewer than
    twelve (``window_months`` says which); velocity over the last three months.

    An as-of month after the data end (``data_end``, :func:`last_complete_month`) is honoured:
    open subscriptions carry on at their MRR and nothing new happens; figures from spend,
    financials and invoices are NaN (:func:`data_end_note` says so in words).
    """
    if rule_of_40_variant not in RULE_OF_40_VARIANTS:
        raise ValueError(
            f"rule_of_40_variant must be one of {', '.join(RULE_OF_40_VARIANTS)}; "
            f"got {rule_of_40_variant!r}"
        )
    month = month_start(as_of)
    data_end = last_complete_month(tables)
    after_end = month > data_end
    fx = tables.get("fx_rates")
    if panel is None:
        panel = mrr_panel(tables["subscriptions"], fx_rates=fx, as_of=month)
    movements = mrr_movements(panel)
    velocity = arr_velocity(movements, as_of=month, arr_target=arr_target, target_date=target_date)
    stones = milestones(
        movements, arr_target=arr_target, velocity=velocity["actual_daily_velocity"]
    )
    window = min(12, len(panel.months))  # trailing twelve months, or all the data if shorter
    start, end = month_window(month, window)
    nan = float("nan")
    growth = yoy_growth(movements, month)
    n_new, new_arpa = new_accounts(panel, as_of=month, months=window)
    churn = mean_logo_churn(panel, as_of=month, months=window)
    out = {
        **velocity,
        "milestones": stones.to_dict(orient="records"),
        "yoy_growth": growth,
        "nrr": float(net_revenue_retention(panel).iloc[-1]),
        "grr": float(gross_revenue_retention(panel).iloc[-1]),
        "nrr_monthly": float(net_revenue_retention(panel, lag=1).iloc[-1]),
        "grr_monthly": float(gross_revenue_retention(panel, lag=1).iloc[-1]),
        "logo_churn_rate": float(logo_churn_rate(panel).iloc[-1]),
        "mean_monthly_logo_churn": churn,
        "window_months": window,
        "quick_ratio": float(quick_ratio(movements, months=window).iloc[-1]),
        "quick_ratio_month": float(quick_ratio(movements).iloc[-1]),
        "customers": int(movements["customers"].iloc[-1]),
        "forecast_variance": run_rate_forecast_variance(movements, as_of=month),
        "arpa": arpa(panel),
        "new_accounts": n_new,
        "new_account_arpa": new_arpa,
        "data_end": f"{data_end:%Y-%m}",
    }
    spend, fin = tables.get("spend"), tables.get("financials")
    if after_end:  # these tables stop at the data end: no window reaching the as-of month
        spend = fin = None
    out["cac"] = cac(spend, panel, as_of=month, months=window) if spend is not None else nan
    out["magic_number"] = magic_number(movements, spend, as_of=month) if spend is not None else nan
    if fin is not None:
        gm = gross_margin(fin, as_of=month, months=window)
        margin = operating_margin(fin, as_of=month, months=window)
        variants = rule_of_40_variants(movements, fin, as_of=month, months=window)
        chosen = variants.set_index("variant").loc[rule_of_40_variant]
        out |= {
            "gross_margin": gm,
            "operating_margin": margin,
            "rule_of_40": float(chosen["score"]),
            "rule_of_40_growth": float(chosen["growth"]),
            "rule_of_40_margin": float(chosen["margin"]),
            "rule_of_40_variants": variants.to_dict(orient="records"),
            "ltv": ltv(out["arpa"], gm, churn),
            "cac_payback_months": cac_payback_months(out["cac"], new_arpa, gm),
        }
    else:
        out |= dict.fromkeys(
            (
                "gross_margin",
                "operating_margin",
                "rule_of_40",
                "rule_of_40_growth",
                "rule_of_40_margin",
                "ltv",
                "cac_payback_months",
            ),
            nan,
        )
        out["rule_of_40_variants"] = []
    out["rule_of_40_variant"] = rule_of_40_variant
    out["rule_of_40_label"] = RULE_OF_40_VARIANTS[rule_of_40_variant][2]
    out["ltv_to_cac"] = ltv_to_cac(out["ltv"], out["cac"])
    if "invoices" in tables and not after_end:
        inv = tables["invoices"]
        revenue = (
            fin.set_index("month")["revenue"]
            if fin is not None
            else subscription_revenue(tables["subscriptions"], fx_rates=fx, as_of=month)
        )
        roll = deferred_revenue_rollforward(inv, revenue, fx_rates=fx)
        at_end = roll.loc[roll["month"] == month, "closing"]
        out |= {
            "collection_rate": collection_rate(inv, start=start, end=end, fx_rates=fx),
            "dso": dso(inv, start=start, end=end, fx_rates=fx),
            "deferred_revenue": float(at_end.iloc[0]) if len(at_end) else nan,
        }
    else:
        out |= dict.fromkeys(("collection_rate", "dso", "deferred_revenue"), nan)
    opp = tables.get("opportunities")
    out["renewal_rate"] = renewal_rate(opp, start=start, end=end) if opp is not None else nan
    return out


def revenue_by_month(tables: Mapping[str, pd.DataFrame], *, as_of: str | pd.Timestamp) -> pd.Series:
    """Recognised revenue per month up to the as-of month: financials.revenue when the
    financials table is present, else subscription revenue recognised ratably by day
    (:func:`subscription_revenue`). Reporting currency per month."""
    month = month_start(as_of)
    fin = tables.get("financials")
    if fin is not None:
        series = fin.set_index(month_starts(pd.Index(fin["month"])))["revenue"]
        return series[series.index <= month].sort_index().rename("revenue")
    return subscription_revenue(
        tables["subscriptions"], fx_rates=tables.get("fx_rates"), as_of=month
    )


def bridge_error(movements: pd.DataFrame) -> float:
    """Largest monthly gap, in reporting currency, between closing MRR and opening + new +
    reactivation + expansion - contraction - churn, or between a month's opening and the
    previous month's closing. 0 when the MRR identity holds."""
    bridge = (
        movements["opening_mrr"]
        + movements["new_mrr"]
        + movements["reactivation_mrr"]
        + movements["expansion_mrr"]
        - movements["contraction_mrr"]
        - movements["churned_mrr"]
    )
    gaps = np.abs(bridge - movements["closing_mrr"]).to_numpy()
    carried = np.abs(
        movements["opening_mrr"].to_numpy()[1:] - movements["closing_mrr"].to_numpy()[:-1]
    )
    return float(max(gaps.max(initial=0.0), carried.max(initial=0.0)))


def with_month_text(frame: pd.DataFrame, column: str = "month") -> pd.DataFrame:
    """A copy with the month column as YYYY-MM text (the artifacts' month format)."""
    out = frame.copy()
    out[column] = pd.DatetimeIndex(out[column]).strftime("%Y-%m")
    return out


KPI_KEYS = (
    "as_of",
    "target_date",
    "arr",
    "arr_target",
    "progress",
    "remaining",
    "required_daily_velocity",
    "actual_daily_velocity",
    "on_track",
    "milestones",
    "yoy_growth",
    "nrr",
    "grr",
    "quick_ratio",
    "arpa",
    "cac",
    "ltv",
    "ltv_to_cac",
    "cac_payback_months",
    "magic_number",
    "rule_of_40",
    "gross_margin",
    "collection_rate",
    "dso",
)


def kpis_artifact(kpis: Mapping) -> dict:
    """The kpis.json artifact: the issue's KPI keys first, then every other figure under
    ``more``. NaN becomes null when written."""
    head = {k: kpis[k] for k in KPI_KEYS}
    return head | {"more": {k: v for k, v in kpis.items() if k not in KPI_KEYS}}
