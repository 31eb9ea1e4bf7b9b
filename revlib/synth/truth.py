"""``ground_truth.json``: every true parameter the analyses should recover (see docs/synth.md)."""

from __future__ import annotations

from math import factorial
from typing import Any

import numpy as np
import pandas as pd

from revlib.synth import crm
from revlib.synth._core import (
    CHANNELS,
    INCLUDED,
    OVERAGE_PRICE,
    REGION_PRICE_LEVEL,
    REGIONS,
    TIER_MIX_TARGET,
    TIER_PRICE,
    TIERS,
    USAGE_METRICS,
    Calendar,
    lookup,
    sigmoid,
)
from revlib.synth.summary import headline, movements

CHURN_FEATURES = {
    "utilisation": "active_users / seats (previous month's health_signals)",
    "features_adopted": "features_adopted (0..1)",
    "nps_minus_7": "nps - 7",
    "payment_late_days_over_30": "min(payment_late_days, 90) / 30",
    "competitive_evaluation": "competitive_evaluation (0/1)",
    "exec_engagement": "exec_engagement (0/1)",
    "log1p_support_tickets": "log(1 + support_tickets)",
    "log_seats": "log(seats)",
    "log1p_tenure_months": "log(1 + months from the month of accounts.created_at to the event month)",
    "team_growth_pct_over_5": "team_growth_pct / 5",
    "log1p_feature_requests": "log(1 + feature_requests)",
    "over_limit": "1 if any usage metric exceeded its included limit (usage table) else 0",
    "tier_index": "position of the current product in starter, growth, scale, pro, enterprise (0..4)",
}


def shapley_by_channel(
    eta0: np.ndarray, touched: np.ndarray, gamma: np.ndarray, value: np.ndarray
) -> np.ndarray:
    """Exact Shapley values (n, channels) of the games v_j(S) = value_j * sigmoid(eta0_j + sum_{c in S} gamma_c),
    the players of journey j being the channels it touched. Journeys are grouped by their set of
    touched channels, so each subset's value is one vectorised sigmoid per group."""
    n, k = touched.shape
    mask = (touched.astype(np.int64) << np.arange(k)).sum(axis=1)
    phi = np.zeros((n, k))
    for M in np.unique(mask):
        idx = np.flatnonzero(mask == M)
        players = [c for c in range(k) if (M >> c) & 1]
        size = len(players)
        values = {}
        for sub in range(1 << size):
            chans = [players[i] for i in range(size) if (sub >> i) & 1]
            values[sub] = sigmoid(eta0[idx] + gamma[chans].sum()) * value[idx]
        for i, c in enumerate(players):
            acc = np.zeros(len(idx))
            for sub in range(1 << size):
                if (sub >> i) & 1:
                    continue
                t = bin(sub).count("1")
                w = factorial(t) * factorial(size - t - 1) / factorial(size)
                acc += w * (values[sub | (1 << i)] - values[sub])
            phi[idx, c] = acc
    return phi


def attribution_truth(pros: crm.Prospects, j_deal: np.ndarray, P: dict[str, Any]) -> dict[str, Any]:
    gamma = lookup(P["win_model"]["touched_channel"], CHANNELS)
    eta0 = pros.eta_without_touches[j_deal]
    touched = pros.touched[j_deal]
    amount = pros.deals.amount[j_deal]
    out: dict[str, Any] = {
        "definition": (
            "Journeys = new-business deals in the data. The true model: P(convert) = sigmoid(eta_j + "
            "sum over channels c touched by journey j of gamma_c), eta_j = the deal's other win-model terms. "
            "Shapley share of channel c = sum_j phi_jc / sum_j sum_c phi_jc, phi_jc the exact Shapley value "
            "of c in the game v_j(S) = w_j * sigmoid(eta_j + sum_{c in S} gamma_c) over the channels j "
            "touched (w_j = deal amount for 'revenue', 1 for 'conversions'). Removal effect of c = 1 - "
            "sum_j v_j(touched_j minus c) / sum_j v_j(touched_j); 'removal_share' normalises them to 1."
        ),
        "gamma": {c: float(g) for c, g in zip(CHANNELS, gamma, strict=True)},
    }
    for name, w in (("revenue", amount), ("conversions", np.ones(len(amount)))):
        phi = shapley_by_channel(eta0, touched, gamma, w)
        share = phi.sum(axis=0) / phi.sum()
        full = np.sum(w * sigmoid(eta0 + touched @ gamma))
        removal = np.array(
            [
                1 - np.sum(w * sigmoid(eta0 + touched @ gamma - touched[:, c] * gamma[c])) / full
                for c in range(len(CHANNELS))
            ]
        )
        out[name] = {
            "shapley_share": {c: round(float(v), 6) for c, v in zip(CHANNELS, share, strict=True)},
            "removal_effect": {
                c: round(float(v), 6) for c, v in zip(CHANNELS, removal, strict=True)
            },
            "removal_share": {
                c: round(float(v), 6)
                for c, v in zip(CHANNELS, removal / removal.sum(), strict=True)
            },
            "expected_total": round(float(full), 2),
            "incremental_over_no_touch": round(float(phi.sum()), 2),
        }
    return out


def funnel_truth(pros: crm.Prospects, j_deal: np.ndarray, P: dict[str, Any]) -> dict[str, Any]:
    F = P["funnel"]
    Q_demo = crm.exit_tail(P)[2]
    p = pros.deals.p[j_deal]
    ch = pros.deals.lead_source[j_deal]
    reach = p + (1 - p) * Q_demo
    out = {}
    for c, name in enumerate(CHANNELS):
        sel = ch == c
        out[name] = {
            "visitor_to_lead": F["visitor_to_lead"][c],
            "lead_to_opportunity": F["lead_to_opportunity"][c],
            "lead_to_trial": round(float(F["lead_to_opportunity"][c] * reach[sel].mean()), 6),
            "trial_to_paid": round(float(p[sel].mean() / reach[sel].mean()), 6),
            "opportunity_to_paid": round(float(p[sel].mean()), 6),
        }
    all_reach = reach.mean()
    s_mean = float(
        np.sum(np.asarray(F["lead_to_opportunity"]) * np.bincount(ch, minlength=len(CHANNELS)))
        / len(ch)
    )
    return {
        "definition": (
            "Expected rates by channel. visitor_to_lead and lead_to_opportunity are parameters; "
            "lead_to_trial = lead_to_opportunity x mean over the channel's deals of P(reach demo) = "
            "p + (1 - p) Q_demo; trial_to_paid = mean p / mean P(reach demo). Funnel rows count each "
            "lead-month cohort as of the end date, so the latest cohorts are still maturing."
        ),
        "by_channel": out,
        "overall": {
            "lead_to_trial": round(s_mean * float(all_reach), 6),
            "trial_to_paid": round(float(p.mean() / all_reach), 6),
        },
    }


def mrr_truth(
    cal: Calendar, led: Any, all_rows: dict[str, np.ndarray], n_cust: int
) -> list[dict[str, Any]]:
    """Per month (window + hidden): the drivers' expected values and the realised movements."""
    me = cal.month_start(np.arange(1, cal.total + 1))
    mat = np.zeros((n_cust, cal.total))
    end = np.where(all_rows["end"] < 0, 10**9, all_rows["end"])
    for m in range(cal.total):
        on = (all_rows["start"] < me[m]) & (end >= me[m])
        np.add.at(mat[:, m], all_rows["acc"][on], all_rows["mrr_usd"][on])
    mv = movements(pd.DataFrame(mat, columns=pd.RangeIndex(cal.total)))
    months = cal.month_dates(np.arange(cal.total))
    out = []
    for m in range(cal.total):
        t = led.monthly_truth[m]
        row = {"month": str(months[m]), "hidden": bool(m >= cal.months)}
        for k in ("opening", "new", "reactivation", "expansion", "contraction", "churn", "closing"):
            row[f"mrr_{k}"] = round(float(mv[k].iloc[m]), 2)
        for k in ("accounts", "new_accounts", "reactivated_accounts", "churned_accounts"):
            row[k] = int(mv[k].iloc[m])
        opening = mv["opening"].iloc[m]
        if "at_risk" in t:
            row |= {
                "expected_churn_accounts": round(t["churn_prob_sum"], 4),
                "expected_churn_mrr_rate": round(t["churn_mrr_expected"] / t["mrr_at_risk"], 6),
                "expected_logo_churn_rate": round(t["churn_prob_sum"] / t["at_risk"], 6),
                "mean_monthly_plan_hazard": None
                if t["monthly_hazard_mean"] is None
                else round(t["monthly_hazard_mean"], 6),
                "expected_upgrade_attempts": round(t["upgrade_attempt_prob_sum"], 4),
                "expected_seat_expansions_upper": round(t["seat_expansion_prob_sum"], 4),
                "expected_contractions_upper": round(t["contraction_prob_sum"], 4),
            }
        row["expected_reactivations"] = round(t["reactivation_prob_sum"], 4)
        row |= {
            f"{k}_rate": round(float(mv[k].iloc[m] / opening), 6) if opening > 0 else None
            for k in ("new", "expansion", "contraction", "churn")
        }
        out.append(row)
    return out


def build_truth(
    *,
    cfg,
    P,
    cal,
    reps,
    pros,
    led,
    deal_truth,
    tables,
    elasticity,
    tests,
    fin,
    all_rows,
    n_cust,
    n0,
    j_deal,
) -> dict[str, Any]:
    subs = tables["subscriptions"]
    opps = tables["opportunities"]
    nb_closed = opps[(opps["type"] == "new_business") & (opps["status"] != "open")]
    p_closed = nb_closed["opportunity_id"].map(deal_truth["p"]).to_numpy(float)
    W = {k: v for k, v in P["win_model"].items() if k != "rep_skill_sd"}
    end = cal.start + np.timedelta64(cal.end_day, "D")
    customers = int(subs["account_id"].nunique())
    return {
        "generator": {
            "module": "revlib.synth",
            "seed": cfg.seed,
            "accounts": cfg.accounts,
            "months": cfg.months,
            "start": cfg.start,
            "reps": cfg.reps,
            "overrides": dict(cfg.overrides),
        },
        "calendar": {
            "start": str(cal.start),
            "end_exclusive": str(end),
            "snapshot_date": str(end - np.timedelta64(1, "D")),
            "hidden_months": cal.hidden,
            "crm_history_months_before_start": cal.pre,
        },
        "sizes": {
            "customers": customers,
            "opening_book": n0,
            "new_customers": customers - n0,
            "prospects": int(len(tables["accounts"]) - customers),
            "accounts_rows": len(tables["accounts"]),
        },
        "plan": {
            "tiers": list(TIERS),
            "list_price_usd_per_seat_month": TIER_PRICE.tolist(),
            "tier_mix_target": list(TIER_MIX_TARGET),
            "tier_cutpoints": np.round(crm.tier_cutpoints(P), 6).tolist(),
            "region_price_level": dict(zip(REGIONS, REGION_PRICE_LEVEL.tolist(), strict=True)),
            "annual_discount": P["company"]["annual_discount"],
            "usage_metrics": list(USAGE_METRICS),
            "overage_price_usd": OVERAGE_PRICE.tolist(),
            "included_per_month": {
                m: [None if np.isnan(x) else float(x) for x in INCLUDED[i]]
                for i, m in enumerate(USAGE_METRICS)
            },
            "mrr_formula": "seats x list price x region level x (1 - discount_pct/100) x (0.85 if annual) "
            "x renewal uplifts / fx rate, rounded to cents (in the billing currency)",
        },
        "params": P,
        "win_model": {
            "form": "P(won) = sigmoid(intercept + type + segment + product + region + competitor + "
            "log_amount * log(amount_at_creation / 12000) + discount_pct * discount_pct + "
            "rep_skill[owner] + sum of touched_channel[c] over channels in the deal's journey)",
            "coefficients": W,
            "rep_skill": {
                str(n): round(float(s), 6) for n, s in zip(reps.names, reps.skill, strict=True)
            },
            "applies_to": "new_business (with touches) and expansion (no journey: touch terms 0, "
            "competitor none, lead source none). Renewals: p = (1 - monthly churn hazard) ** 12.",
            "lost_exit_stage_probs": dict(
                zip(crm.STAGES, P["funnel"]["lost_exit_stage_probs"], strict=True)
            ),
            "lost_reach_stage_share": dict(
                zip(crm.STAGES, np.round(crm.exit_tail(P), 6).tolist(), strict=True)
            ),
            "p_snapshot_formula": "open new-business deal in stage k: p / (p + (1 - p) * lost_reach_stage_share[k])",
            "new_business_closed_mean_p": round(float(p_closed.mean()), 6),
            "new_business_closed_win_rate": round(float((nb_closed["status"] == "won").mean()), 6),
            "p": deal_truth["p"],
            "open_deals": deal_truth["open"],
        },
        "churn_model": {
            "form": "monthly hazard lambda = sigmoid(intercept + sum coef x feature), features from the "
            "account's health_signals of the previous month; monthly plans churn with lambda each "
            "month, annual plans only in renewal months (every 12 months from the term anchor) with "
            "1 - (1 - lambda) ** 12. Churn takes effect on the billing day of the month.",
            "coefficients": P["churn_model"],
            "features": CHURN_FEATURES,
        },
        "expansion_models": {
            "order": "per account-month: churn, else upgrade attempt (won with the win model), else seat "
            "expansion, else contraction (annual plans only at renewal), else renewal uplift",
            "upgrade_attempt_model": P["upgrade_attempt_model"],
            "seat_expansion_model": P["seat_expansion_model"],
            "contraction_model": P["contraction_model"],
            "reactivation": P["reactivation"],
            "renewal_uplift": P["renewal_uplift"],
        },
        "attribution": attribution_truth(pros, j_deal, P),
        "funnel": funnel_truth(pros, j_deal, P),
        "elasticity": elasticity,
        "price_tests": tests,
        "mrr": mrr_truth(cal, led, all_rows, n_cust),
        "finance": fin,
        "headline": headline(tables, str(end)),
    }
