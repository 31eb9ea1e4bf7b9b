"""Unit economics: ARPA, CAC, LTV, LTV:CAC, CAC payback, magic number, Rule of 40, gross margin.

Windows are the trailing twelve months ending with the as-of month unless ``months`` says
otherwise. Monthly tables (spend, financials) must cover every month of the window.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from revlib.metrics.mrr import (
    MICROS,
    MrrPanel,
    movement_masks,
    mrr_movements,
    mrr_panel,
)
from revlib.metrics.retention import logo_churn_rate
from revlib.metrics.velocity import arr_at, yoy_growth
from revlib.periods import month_start, month_starts


def _window_months(as_of: str | pd.Timestamp, months: int) -> pd.DatetimeIndex:
    if not isinstance(months, (int, np.integer)) or months < 1:
        raise ValueError(f"months must be a whole number >= 1, got {months!r}")
    last = month_start(as_of)
    return pd.date_range(end=last, periods=months, freq="MS").astype("datetime64[ns]")


def _monthly_window(table: pd.DataFrame, name: str, window: pd.DatetimeIndex) -> pd.DataFrame:
    """Rows of a monthly table inside the window; raises if a month of the window is absent."""
    if "month" not in table.columns:
        raise ValueError(f"{name} must have a month column")
    month = month_starts(table["month"])
    inside = table.loc[month.isin(window)]
    missing = window.difference(pd.DatetimeIndex(month.unique()))
    if len(missing):
        shown = ", ".join(f"{m:%Y-%m}" for m in missing[:6])
        raise ValueError(
            f"{name} must cover every month of the window {window[0]:%Y-%m}..{window[-1]:%Y-%m}; "
            f"missing {len(missing)} month(s): {shown}"
        )
    return inside


def _panel_window(panel: MrrPanel, window: pd.DatetimeIndex) -> np.ndarray:
    """Columns of the panel inside the window (the window may start before the data)."""
    return np.flatnonzero(panel.months.isin(window))


def arpa(
    subscriptions: pd.DataFrame | MrrPanel,
    *,
    as_of: str | pd.Timestamp | None = None,
    fx_rates: pd.DataFrame | None = None,
) -> float:
    """Average revenue per account: mean month-end MRR over accounts with MRR > 0 in the as-of
    month. Reporting currency per account per month."""
    panel = mrr_panel(subscriptions, fx_rates=fx_rates, as_of=as_of)
    last = panel.micros[:, -1]
    active = last > 0
    return float(last[active].sum() / MICROS / active.sum()) if active.any() else float("nan")


def arpa_by_month(
    subscriptions: pd.DataFrame | MrrPanel, *, fx_rates: pd.DataFrame | None = None
) -> pd.Series:
    """ARPA per month: total MRR / accounts with MRR > 0. Reporting currency per account per
    month."""
    panel = mrr_panel(subscriptions, fx_rates=fx_rates)
    count = panel.active.sum(axis=0)
    total = panel.micros.sum(axis=0) / MICROS
    values = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    return pd.Series(values, index=panel.months, name="arpa").rename_axis("month")


def new_accounts(
    panel: MrrPanel, *, as_of: str | pd.Timestamp, months: int = 12
) -> tuple[int, float]:
    """Accounts with a *new* movement in the window (count) and their mean MRR in their first
    month (ARPA of new accounts, reporting currency per account per month)."""
    cols = _panel_window(panel, _window_months(as_of, months))
    new = movement_masks(panel)["new"][:, cols]
    count = int(new.sum())
    mean = float(panel.micros[:, cols][new].sum() / MICROS / count) if count else float("nan")
    return count, mean


def sales_marketing_spend(
    spend: pd.DataFrame, *, as_of: str | pd.Timestamp, months: int = 12
) -> float:
    """Sales + marketing spend in the window ending with the as-of month. Reporting currency."""
    rows = _monthly_window(spend, "spend", _window_months(as_of, months))
    return float(rows.loc[rows["category"].isin(["sales", "marketing"]), "amount"].sum())


def cac(
    spend: pd.DataFrame,
    subscriptions: pd.DataFrame | MrrPanel,
    *,
    as_of: str | pd.Timestamp,
    months: int = 12,
    fx_rates: pd.DataFrame | None = None,
) -> float:
    """Customer acquisition cost: sales + marketing spend in the trailing twelve months / new
    accounts (new movements) in the same months. Reporting currency per new account."""
    panel = mrr_panel(subscriptions, fx_rates=fx_rates, as_of=as_of)
    count, _ = new_accounts(panel, as_of=as_of, months=months)
    total = sales_marketing_spend(spend, as_of=as_of, months=months)
    return total / count if count else float("nan")


def gross_margin(financials: pd.DataFrame, *, as_of: str | pd.Timestamp, months: int = 12) -> float:
    """Gross margin: (revenue - cogs) / revenue over the trailing twelve months of financials.
    Ratio (0.75 = 75 %)."""
    rows = _monthly_window(financials, "financials", _window_months(as_of, months))
    revenue = float(rows["revenue"].sum())
    if revenue <= 0:
        return float("nan")
    return (revenue - float(rows["cogs"].sum())) / revenue


def operating_margin(
    financials: pd.DataFrame, *, as_of: str | pd.Timestamp, months: int = 12
) -> float:
    """Operating margin: operating_income / revenue over the trailing twelve months (falls back
    to free_cash_flow / revenue when operating_income is absent). Ratio."""
    rows = _monthly_window(financials, "financials", _window_months(as_of, months))
    for col in ("operating_income", "free_cash_flow"):
        if col in rows.columns and rows[col].notna().all():
            revenue = float(rows["revenue"].sum())
            return float(rows[col].sum()) / revenue if revenue > 0 else float("nan")
    raise ValueError(
        "financials needs operating_income or free_cash_flow for every month of the window"
    )


def mean_logo_churn(
    subscriptions: pd.DataFrame | MrrPanel,
    *,
    as_of: str | pd.Timestamp,
    months: int = 12,
    fx_rates: pd.DataFrame | None = None,
) -> float:
    """Mean monthly logo churn rate over the trailing twelve months. Ratio per month."""
    panel = mrr_panel(subscriptions, fx_rates=fx_rates, as_of=as_of)
    rates = logo_churn_rate(panel)
    return float(rates[rates.index.isin(_window_months(as_of, months))].mean())


def ltv(arpa: float, gross_margin: float, monthly_logo_churn: float) -> float:
    """Customer lifetime value: ARPA x gross margin / mean monthly logo churn rate. Reporting
    currency of gross profit per account; infinite when no account churned."""
    if monthly_logo_churn == 0:
        return float("inf")
    return arpa * gross_margin / monthly_logo_churn


def ltv_to_cac(ltv: float, cac: float) -> float:
    """LTV:CAC: lifetime gross profit of an account / cost of acquiring it. Ratio (3 = the
    account returns three times its acquisition cost)."""
    return ltv / cac if cac and cac > 0 else float("nan")


def cac_payback_months(cac: float, new_arpa: float, gross_margin: float) -> float:
    """CAC payback: CAC / (ARPA of new accounts x gross margin). Months of a new account's
    gross profit needed to recover its acquisition cost."""
    monthly = new_arpa * gross_margin
    return cac / monthly if monthly > 0 else float("nan")


def magic_number(
    movements: pd.DataFrame,
    spend: pd.DataFrame,
    *,
    as_of: str | pd.Timestamp,
) -> float:
    """Magic number: net new ARR in the quarter (the three months ending with the as-of month)
    / sales + marketing spend in the quarter before. Ratio (ARR added per unit of spend)."""
    month = month_start(as_of)
    start = month - pd.DateOffset(months=3)
    net_new = arr_at(movements, month) - arr_at(movements, start)
    prior = sales_marketing_spend(spend, as_of=start, months=3)
    return net_new / prior if prior > 0 else float("nan")


def rule_of_40(yoy_growth: float, operating_margin: float) -> float:
    """Rule of 40: YoY growth % + margin %. Percentage points; 40 or more passes. Which growth
    and which margin depends on the variant; revlib's default is YoY ARR growth + operating
    margin (the spec)."""
    return 100 * yoy_growth + 100 * operating_margin


# variant -> (growth measure, margin column of financials, label shown on the card)
RULE_OF_40_VARIANTS: dict[str, tuple[str, str, str]] = {
    "arr_growth+operating_margin": ("arr", "operating_income", "ARR growth + operating margin"),
    "revenue_growth+fcf_margin": ("revenue", "free_cash_flow", "revenue growth + FCF margin"),
    "revenue_growth+ebitda_margin": ("revenue", "ebitda", "revenue growth + EBITDA margin"),
    "revenue_growth+net_margin": ("revenue", "net_income", "revenue growth + net margin"),
}
DEFAULT_RULE_OF_40 = "arr_growth+operating_margin"


def revenue_growth(
    financials: pd.DataFrame, *, as_of: str | pd.Timestamp, months: int = 12
) -> float:
    """YoY revenue growth: recognised revenue of the trailing twelve months / the twelve before
    - 1. Ratio; NaN when the earlier window is absent or its revenue is not positive."""
    window = _window_months(as_of, months)
    now = float(_monthly_window(financials, "financials", window)["revenue"].sum())
    try:
        before = _monthly_window(financials, "financials", window - pd.DateOffset(months=12))
    except ValueError:
        return float("nan")
    prior = float(before["revenue"].sum())
    return now / prior - 1 if prior > 0 else float("nan")


def margin(
    financials: pd.DataFrame, column: str, *, as_of: str | pd.Timestamp, months: int = 12
) -> float:
    """A margin over the trailing twelve months: sum of ``column`` (operating_income,
    free_cash_flow, ebitda or net_income) / sum of revenue. Ratio; NaN when the column is
    absent or missing in a month of the window."""
    rows = _monthly_window(financials, "financials", _window_months(as_of, months))
    if column not in rows.columns or rows[column].isna().any():
        return float("nan")
    revenue = float(rows["revenue"].sum())
    return float(rows[column].sum()) / revenue if revenue > 0 else float("nan")


def rule_of_40_variants(
    movements: pd.DataFrame,
    financials: pd.DataFrame,
    *,
    as_of: str | pd.Timestamp,
    months: int = 12,
) -> pd.DataFrame:
    """Rule of 40 under each common variant: growth (YoY ARR or TTM revenue growth) + margin
    (TTM operating, free-cash-flow, EBITDA or net margin), in percentage points; 40 or more
    passes; "–" where the financials lack the margin's column. Columns: variant, label,
    growth, margin (ratios), score, passes."""
    arr_growth = yoy_growth(movements, as_of)
    rev_growth = revenue_growth(financials, as_of=as_of, months=months)
    rows = []
    for name, (growth_kind, column, label) in RULE_OF_40_VARIANTS.items():
        g = arr_growth if growth_kind == "arr" else rev_growth
        m = margin(financials, column, as_of=as_of, months=months)
        score = rule_of_40(g, m)
        rows.append(
            {
                "variant": name,
                "label": label,
                "growth": g,
                "margin": m,
                "score": score,
                "passes": score >= 40 if np.isfinite(score) else np.nan,
            }
        )
    return pd.DataFrame(rows)


def unit_economics_summary(
    subscriptions: pd.DataFrame | MrrPanel,
    *,
    spend: pd.DataFrame,
    financials: pd.DataFrame,
    as_of: str | pd.Timestamp,
    months: int = 12,
    fx_rates: pd.DataFrame | None = None,
) -> dict[str, float]:
    """All unit-economics figures as of a month, each as defined by its own function."""
    panel = mrr_panel(subscriptions, fx_rates=fx_rates, as_of=as_of)
    movements = mrr_movements(panel)
    n_new, new_arpa = new_accounts(panel, as_of=as_of, months=months)
    gm = gross_margin(financials, as_of=as_of, months=months)
    churn = mean_logo_churn(panel, as_of=as_of, months=months)
    a = arpa(panel)
    c = cac(spend, panel, as_of=as_of, months=months)
    value = ltv(a, gm, churn)
    growth = yoy_growth(movements, as_of)
    margin = operating_margin(financials, as_of=as_of, months=months)
    return {
        "arpa": a,
        "new_accounts": n_new,
        "new_account_arpa": new_arpa,
        "sales_marketing_spend": sales_marketing_spend(spend, as_of=as_of, months=months),
        "cac": c,
        "gross_margin": gm,
        "mean_monthly_logo_churn": churn,
        "ltv": value,
        "ltv_to_cac": ltv_to_cac(value, c),
        "cac_payback_months": cac_payback_months(c, new_arpa, gm),
        "magic_number": magic_number(movements, spend, as_of=as_of),
        "operating_margin": margin,
        "rule_of_40": rule_of_40(growth, margin),
    }
