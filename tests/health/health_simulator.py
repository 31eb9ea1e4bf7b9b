"""A small simulated company for the health tests: a latent health drives signals, churn,
contraction and expansion, so the tests know the truth."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

SEGMENT_MRR = {"smb": 400.0, "mid_market": 1500.0, "enterprise": 6000.0}


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def simulate_company(
    n_accounts: int = 300, n_months: int = 36, *, seed: int = 0, churn_slope: float = 1.2
) -> dict[str, pd.DataFrame]:
    """Tables of the data contract for a simulated company.

    Each account's latent health h follows an AR(1); monthly churn probability is
    sigmoid(-3.6 - churn_slope * h), expansion sigmoid(-3.2 + 0.8 h), contraction
    sigmoid(-4.2 - 0.6 h). Signals are noisy functions of h (payment delays and competitive
    evaluations worsen as h falls). Accounts start over the first two thirds of the window.
    """
    rng = np.random.default_rng(seed)
    months = pd.date_range("2022-01-01", periods=n_months, freq="MS")
    segments = rng.choice(list(SEGMENT_MRR), size=n_accounts, p=[0.6, 0.3, 0.1])
    start = rng.integers(0, int(n_months * 2 / 3), size=n_accounts)
    accounts: list[dict[str, Any]] = []
    subs: list[dict[str, Any]] = []
    signals: list[dict[str, Any]] = []
    usage: list[dict[str, Any]] = []
    invoices: list[dict[str, Any]] = []
    for i in range(n_accounts):
        acc = f"A{i:04d}"
        accounts.append(
            {
                "account_id": acc,
                "name": f"Account {i}",
                "region": "NA",
                "segment": segments[i],
                "created_at": months[start[i]],
            }
        )
        h = rng.normal(0.0, 1.0)
        mrr = SEGMENT_MRR[segments[i]] * rng.uniform(0.7, 1.3)
        seats = int(rng.integers(5, 60))
        sub_start = months[start[i]]
        api_prev = rng.uniform(1000, 5000)
        leads_prev = rng.uniform(50, 200)
        churned = False
        for t in range(start[i], n_months):
            if t > start[i]:
                h = 0.85 * h + 0.5 * rng.normal()
            m = months[t]
            api_prev = api_prev * np.exp(0.05 * h + 0.1 * rng.normal())
            leads_prev = leads_prev * np.exp(0.05 * h + 0.1 * rng.normal())
            late = max(0.0, rng.normal(4 - 6 * h, 4))
            signals.append(
                {
                    "account_id": acc,
                    "month": m,
                    "logins": max(0.0, seats * (9 + 3 * h + rng.normal(0, 2))),
                    "active_users": float(
                        min(seats, max(0, round(seats * _sigmoid(1 + h + rng.normal(0, 0.5)))))
                    ),
                    "seats": float(seats),
                    "features_adopted": float(_sigmoid(0.3 + 0.8 * h + rng.normal(0, 0.5))),
                    "api_calls": api_prev,
                    "data_quality": float(np.clip(0.8 + 0.05 * h + rng.normal(0, 0.05), 0, 1)),
                    "roi_multiple": float(np.exp(0.8 + 0.3 * h + rng.normal(0, 0.2))),
                    "leads_generated": leads_prev,
                    "payment_late_days": late,
                    "nps": float(np.clip(round(7 + 1.5 * h + rng.normal(0, 1)), 0, 10)),
                    "support_tickets": float(rng.poisson(seats * 0.1 * np.exp(-0.4 * h))),
                    "exec_engagement": bool(rng.random() < _sigmoid(h)),
                    "team_growth_pct": float(10 + 10 * h + rng.normal(0, 8)),
                    "feature_requests": float(rng.poisson(0.3)),
                    "competitive_evaluation": bool(rng.random() < _sigmoid(-2.5 - 1.2 * h)),
                }
            )
            usage.append(
                {
                    "account_id": acc,
                    "month": m,
                    "metric": "api_calls",
                    "quantity": api_prev,
                    "included": 6000.0,
                }
            )
            due = m + pd.Timedelta(days=30)
            invoices.append(
                {
                    "invoice_id": f"I{len(invoices):06d}",
                    "account_id": acc,
                    "issued_date": m,
                    "due_date": due,
                    "amount": mrr,
                    "paid_date": due + pd.Timedelta(days=round(late)),
                    "paid_amount": mrr,
                }
            )
            if t == n_months - 1:
                break
            nxt = months[t + 1]
            u = rng.random()
            p_churn = _sigmoid(-3.6 - churn_slope * h)
            p_exp = _sigmoid(-3.2 + 0.8 * h)
            p_con = _sigmoid(-4.2 - 0.6 * h)
            if u < p_churn + p_exp + p_con:
                subs.append(
                    {
                        "account_id": acc,
                        "start_date": sub_start,
                        "end_date": nxt,
                        "mrr": mrr,
                        "product": "pro",
                    }
                )
                if u < p_churn:
                    churned = True
                    break
                mrr = mrr * (1.25 if u < p_churn + p_exp else 0.8)
                sub_start = nxt
        if not churned:
            subs.append(
                {
                    "account_id": acc,
                    "start_date": sub_start,
                    "end_date": pd.NaT,
                    "mrr": mrr,
                    "product": "pro",
                }
            )
    subscriptions = pd.DataFrame(subs)
    subscriptions.insert(0, "subscription_id", [f"S{i:05d}" for i in range(len(subscriptions))])
    return {
        "accounts": pd.DataFrame(accounts),
        "subscriptions": subscriptions,
        "health_signals": pd.DataFrame(signals),
        "usage": pd.DataFrame(usage),
        "invoices": pd.DataFrame(invoices),
    }
