"""Money tables derived from the lifecycle: invoices, fx rates, spend and financials."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from revlib.synth._core import CHANNELS, FX_TO_USD, SEGMENTS, Calendar


def fx_table() -> pd.DataFrame:
    return pd.DataFrame(
        {"currency": list(FX_TO_USD), "rate_to_reporting": list(FX_TO_USD.values())}
    )


def invoices(
    rng: np.random.Generator,
    cal: Calendar,
    chunks: list,
    segment: np.ndarray,
    write_off: list,
    P: dict[str, Any],
) -> dict[str, np.ndarray]:
    """Invoices of the window: one per account-month with a charge (monthly plans every month,
    annual plans at each term start; usage overage on top). Paid ``late`` days after the due
    date (or up to 10 days early when not late); unpaid if paid after the end date or written
    off (last invoice of a churned bad payer, with probability ``write_off_prob``)."""
    acc = np.concatenate([c[0] for c in chunks])
    issued = np.concatenate([c[1] for c in chunks]).astype(np.int64)
    amount = np.round(np.concatenate([c[2] + c[3] for c in chunks]), 2)
    late = np.concatenate([c[4] for c in chunks])
    keep = (amount > 0) & (issued < cal.end_day)
    acc, issued, amount, late = acc[keep], issued[keep], amount[keep], late[keep]
    order = np.lexsort((issued, acc))
    acc, issued, amount, late = acc[order], issued[order], amount[order], late[order]
    terms = np.asarray(P["finance"]["payment_terms_days"])[segment[acc]]
    due = issued + terms
    early = rng.integers(0, 11, len(acc))
    paid = np.where(late > 0, due + late, np.maximum(issued, due - early))
    unpaid = paid >= cal.end_day
    # write-offs: a churned bad payer's last invoice before churn
    wo_acc = np.concatenate([w[0] for w in write_off]) if write_off else np.zeros(0, np.int64)
    wo_day = np.concatenate([w[1] for w in write_off]) if write_off else np.zeros(0, np.int64)
    pick = rng.random(len(wo_acc)) < P["finance"]["write_off_prob"]
    key = acc.astype(np.int64) * 10**7 + issued
    for a, d in zip(wo_acc[pick], wo_day[pick], strict=True):
        j = np.searchsorted(key, a * 10**7 + d, side="right") - 1
        if j >= 0 and acc[j] == a:
            unpaid[j] = True
    return {
        "account": acc,
        "issued": issued,
        "due": due,
        "amount": amount,
        "paid": paid,
        "unpaid": unpaid,
    }


def recognised_revenue(
    cal: Calendar, start: np.ndarray, end: np.ndarray, mrr_usd: np.ndarray
) -> np.ndarray:
    """Subscription revenue per window month, ratable by day (USD)."""
    end = np.where(end < 0, cal.end_day + 10**6, end)
    out = np.zeros(cal.months)
    for m in range(cal.months):
        ms, me = cal.month_start(m), cal.month_start(m + 1)
        days = np.clip(np.minimum(end, me) - np.maximum(start, ms), 0, None)
        out[m] = np.sum(mrr_usd * days) / (me - ms)
    return out


def spend_and_financials(
    rng: np.random.Generator,
    cal: Calendar,
    P: dict[str, Any],
    *,
    leads: np.ndarray,
    reps_active: np.ndarray,
    sub_revenue: np.ndarray,
    usage_revenue: np.ndarray,
    active_accounts: np.ndarray,
    n_new: int,
    new_mrr_usd: float,
    scale: float,
) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Spend by month and channel, scaled so the blended CAC payback equals the plan, and the
    P&L: cogs (share of revenue + hosting per account), S&M, R&D, G&A, operating income."""
    F = P["finance"]
    months = cal.month_dates(np.arange(cal.months))
    revenue = sub_revenue + usage_revenue
    cogs = F["cogs_share"] * revenue + F["hosting_per_account"] * active_accounts
    cogs = cogs * np.exp(rng.normal(0, 0.03, cal.months))
    gm = 1 - cogs.sum() / revenue.sum()
    arpa_new = new_mrr_usd / max(n_new, 1)
    total_sm = F["cac_payback_months"] * arpa_new * gm * n_new
    w = np.asarray(F["cost_per_lead_weight"])[None, :] * leads  # (months, channels)
    mkt_total = total_sm * (1 - F["sales_share_of_sm"])
    mkt = mkt_total * w / w.sum() * np.exp(rng.normal(0, 0.05, w.shape))
    sales_total = total_sm * F["sales_share_of_sm"]
    team = reps_active / reps_active.sum() * sales_total * 0.75
    ds = leads[:, CHANNELS.index("direct_sales")]
    ds = ds / ds.sum() * sales_total * 0.15
    pt = leads[:, CHANNELS.index("partnership")]
    pt = pt / pt.sum() * sales_total * 0.10
    rows = []
    for c, name in enumerate(CHANNELS):
        if name != "direct_sales":
            rows.append(
                pd.DataFrame(
                    {"month": months, "category": "marketing", "channel": name, "amount": mkt[:, c]}
                )
            )
    rows.append(
        pd.DataFrame(
            {"month": months, "category": "sales", "channel": "direct_sales", "amount": ds}
        )
    )
    rows.append(
        pd.DataFrame({"month": months, "category": "sales", "channel": "partnership", "amount": pt})
    )
    rows.append(
        pd.DataFrame({"month": months, "category": "sales", "channel": None, "amount": team})
    )
    spend = pd.concat(rows, ignore_index=True)
    spend["amount"] = spend["amount"].round(2)
    spend["month"] = pd.to_datetime(spend["month"])
    spend = spend.sort_values(
        ["month", "category", "channel"], kind="stable", na_position="last"
    ).reset_index(drop=True)
    sm = spend.groupby("month", sort=True)["amount"].sum().to_numpy()
    fixed = F["fixed_opex"] * scale
    rnd = F["rnd_share"] * revenue + 0.6 * fixed
    ga = F["ga_share"] * revenue + 0.4 * fixed
    fin = pd.DataFrame(
        {
            "month": pd.to_datetime(months),
            "revenue": np.round(revenue, 2),
            "subscription_revenue": np.round(sub_revenue, 2),
            "usage_revenue": np.round(usage_revenue, 2),
            "cogs": np.round(cogs, 2),
            "sales_marketing": np.round(sm, 2),
            "research_development": np.round(rnd, 2),
            "general_administrative": np.round(ga, 2),
        }
    )
    fin["operating_income"] = (
        fin["revenue"]
        - fin["cogs"]
        - fin["sales_marketing"]
        - fin["research_development"]
        - fin["general_administrative"]
    ).round(2)
    # EBITDA adds back depreciation and amortisation; net income pays tax on profits only
    fin["ebitda"] = (fin["operating_income"] + F["depreciation_share"] * fin["revenue"]).round(2)
    tax = F["tax_rate"] * fin["operating_income"].clip(lower=0)
    fin["net_income"] = (fin["operating_income"] - tax).round(2)
    truth = {
        "gross_margin": round(float(gm), 6),
        "cac_target_usd": round(float(total_sm / max(n_new, 1)), 2),
        "arpa_new_usd": round(float(arpa_new), 2),
        "cac_payback_months": F["cac_payback_months"],
        "sales_marketing_total_usd": round(float(total_sm), 2),
    }
    return spend, fin, truth


def payment_terms_doc() -> dict[str, int]:
    return dict(zip(SEGMENTS, [30, 30, 45, 60], strict=True))
