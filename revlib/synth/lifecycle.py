"""Customer lifecycle: a monthly loop over all customers at once (numpy, no per-account loop).

Each month ``m``, for every account paying at the end of month ``m - 1`` (the *at-risk* set), the
previous month's health signals drive, in this order of precedence (one event per account-month):

1. churn: monthly plans with hazard ``lambda = sigmoid(churn_model . x)``; annual plans only in
   their renewal month, with probability ``1 - (1 - lambda) ** 12``;
2. upgrade: an expansion opportunity is attempted with ``sigmoid(upgrade_attempt_model . x)``
   (not on the top tier) and won with the true win model; a won deal moves the account one tier
   up on its close date;
3. seat expansion (self-serve) with ``sigmoid(seat_expansion_model . x)``;
4. contraction with ``sigmoid(contraction_model . x)`` (annual plans only at renewal): fewer
   seats if seats are idle, else one tier down;
5. renewal price uplift of annual plans that renew.

Churned accounts come back (win-back) with a probability that decays with the time since churn.
Then latent health moves (AR(1) around the account's fit) and the month's signals, usage and
invoice are drawn for every account paying at the end of month ``m``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from revlib.synth._core import (
    INCLUDED,
    OVERAGE_PRICE,
    REGION_PRICE_LEVEL,
    TIER_PRICE,
    Calendar,
    choice_idx,
    fx_rate,
    sigmoid,
)

HEALTH_COLUMNS = (
    "logins",
    "active_users",
    "seats",
    "features_adopted",
    "api_calls",
    "data_quality",
    "roi_multiple",
    "leads_generated",
    "payment_late_days",
    "nps",
    "support_tickets",
    "exec_engagement",
    "team_growth_pct",
    "feature_requests",
    "competitive_evaluation",
)


@dataclass
class Customers:
    """Static attributes of every customer (opening book first, then won new business)."""

    start_day: np.ndarray  # int day offset of the first subscription
    bill_dom: np.ndarray  # billing day of month, 0-based
    created_month: np.ndarray  # month index of accounts.created_at (tenure counts from it)
    tier: np.ndarray
    seats: np.ndarray
    annual: np.ndarray
    discount: np.ndarray
    region: np.ndarray
    segment: np.ndarray
    currency: np.ndarray
    owner: np.ndarray
    anchor: np.ndarray  # month index of a term start (annual renewals every 12 months from it)
    fit_shift: np.ndarray  # added to the account's health fit (opening book survivors)


@dataclass
class Ledger:
    """Everything the loop records, as lists of per-month array chunks."""

    rows: list = field(default_factory=list)  # subscription rows
    health: list = field(default_factory=list)
    usage: list = field(default_factory=list)
    invoices: list = field(default_factory=list)
    events: list = field(default_factory=list)  # movements with reasons
    exp_opps: list = field(default_factory=list)  # expansion attempts
    renewals: list = field(default_factory=list)
    monthly_truth: list[dict[str, int | float | None]] = field(default_factory=list)
    write_off: list = field(default_factory=list)  # (account, day) of churn of bad payers
    overage_usd: list = field(default_factory=list)  # usage revenue per month (USD)


def _design(sig: dict[str, np.ndarray], names: list[str]) -> np.ndarray:
    return np.column_stack([sig[n] for n in names]) if names else np.zeros((len(sig["seats"]), 0))


def features(
    sig: dict[str, np.ndarray], tenure: np.ndarray, tier: np.ndarray
) -> dict[str, np.ndarray]:
    """The model features (documented in docs/synth.md) from one month's health signals."""
    seats = np.maximum(sig["seats"], 1)
    return {
        "utilisation": sig["active_users"] / seats,
        "features_adopted": sig["features_adopted"],
        "nps_minus_7": sig["nps"] - 7.0,
        "payment_late_days_over_30": np.minimum(sig["payment_late_days"], 90.0) / 30.0,
        "competitive_evaluation": sig["competitive_evaluation"].astype(float),
        "exec_engagement": sig["exec_engagement"].astype(float),
        "log1p_support_tickets": np.log1p(sig["support_tickets"]),
        "log_seats": np.log(seats),
        "log1p_tenure_months": np.log1p(tenure),
        "team_growth_pct_over_5": sig["team_growth_pct"] / 5.0,
        "log1p_feature_requests": np.log1p(sig["feature_requests"]),
        "over_limit": sig["over_limit"].astype(float),
        "tier_index": tier.astype(float),
    }


def linear(model: dict[str, float], x: dict[str, np.ndarray]) -> np.ndarray:
    """intercept + sum of coefficient x feature over the model's features."""
    eta = np.full(len(x["log_seats"]), float(model["intercept"]))
    for name, coef in model.items():
        if name != "intercept":
            eta = eta + coef * x[name]
    return eta


def simulate(
    rng: np.random.Generator, cal: Calendar, cust: Customers, P: dict[str, Any], exp_win_p: Any
) -> Ledger:
    """Run the monthly loop over the data window and the hidden months.

    ``exp_win_p(idx, new_tier, amount)`` returns the true win probability of an expansion deal.
    """
    H = P["health"]
    n = len(cust.start_day)
    led = Ledger()
    fx = fx_rate(cust.currency)
    level = REGION_PRICE_LEVEL[cust.region]
    annual_factor = np.where(cust.annual, 1.0 - P["company"]["annual_discount"], 1.0)
    uplift = np.ones(n)
    fit = rng.normal(0.0, H["fit_sd"], n) + cust.fit_shift
    growth_trait = rng.normal(0.0, 1.0, n)
    payer = choice_idx(rng, H["payer_mix"], n)
    voice = rng.random(n) < P["usage"]["voice_share"]
    exports = rng.random(n) < P["usage"]["exports_share"]
    health = fit + rng.normal(0.0, H["innovation_sd"], n)
    tier = cust.tier.copy()
    seats = cust.seats.copy()
    active = np.zeros(n, dtype=bool)
    row_start = np.zeros(n, dtype=np.int64)
    churn_month = np.full(n, -10_000)
    start_month = cal.month_of(cust.start_day)
    bill_dom = cust.bill_dom
    react_month = np.full(n, -10_000)
    prev = None  # signals of the previous month (full-size arrays)

    def unit(idx: np.ndarray) -> np.ndarray:
        return (
            TIER_PRICE[tier[idx]]
            * level[idx]
            * (1 - cust.discount[idx] / 100)
            * annual_factor[idx]
            * uplift[idx]
            / fx[idx]
        )

    def mrr_local(idx: np.ndarray) -> np.ndarray:
        return np.round(seats[idx] * unit(idx), 2)

    def close_row(idx: np.ndarray, day: np.ndarray) -> None:
        if len(idx):
            led.rows.append(
                (
                    idx,
                    row_start[idx].copy(),
                    day.copy(),
                    tier[idx].copy(),
                    seats[idx].copy(),
                    mrr_local(idx),
                )
            )

    def event(idx, day, kind, before_usd):
        if len(idx):
            after = np.where(active[idx], mrr_local(idx) * fx[idx], 0.0)
            led.events.append((idx, day, np.full(len(idx), kind), before_usd, after))

    for m in range(cal.total):
        ms, ml = int(cal.month_start(m)), int(cal.month_len(m))
        bill_day = ms + np.minimum(bill_dom, ml - 1)
        rand_day = ms + rng.integers(0, ml, n)
        truth: dict[str, int | float | None] = {"month": m}
        risk = np.flatnonzero(active)
        if prev is not None and len(risk):
            tenure = m - cust.created_month[risk]
            sig = {k: v[risk] for k, v in prev.items()}
            x = features(sig, tenure, tier[risk])
            lam = sigmoid(linear(P["churn_model"], x))
            renewal = cust.annual[risk] & ((m - cust.anchor[risk]) % 12 == 0)
            p_churn = np.where(cust.annual[risk], np.where(renewal, 1 - (1 - lam) ** 12, 0.0), lam)
            u = rng.random((len(risk), 5))
            churn = u[:, 0] < p_churn
            p_att = np.where(tier[risk] < 4, sigmoid(linear(P["upgrade_attempt_model"], x)), 0.0)
            attempt = ~churn & (u[:, 1] < p_att)
            p_seat = sigmoid(linear(P["seat_expansion_model"], x))
            p_con = np.where(
                ~cust.annual[risk] | renewal, sigmoid(linear(P["contraction_model"], x)), 0.0
            )
            mrr_before = mrr_local(risk) * fx[risk]
            truth.update(
                at_risk=len(risk),
                mrr_at_risk=float(mrr_before.sum()),
                churn_prob_sum=float(p_churn.sum()),
                churn_mrr_expected=float((p_churn * mrr_before).sum()),
                monthly_hazard_mean=float(lam[~cust.annual[risk]].mean())
                if (~cust.annual[risk]).any()
                else None,
                upgrade_attempt_prob_sum=float(p_att.sum()),
                seat_expansion_prob_sum=float(p_seat.sum()),
                contraction_prob_sum=float(p_con.sum()),
            )
            # 1. churn, on the billing (anniversary) day
            ci = risk[churn]
            day_c = bill_day[ci]
            close_row(ci, day_c)
            active[ci] = False
            churn_month[ci] = m
            event(ci, day_c, "churn", mrr_before[churn])
            bad = ci[payer[ci] == 2]
            led.write_off.append((bad, day_c[payer[ci] == 2]))
            if renewal.any():
                rn = renewal
                led.renewals.append(
                    (
                        risk[rn],
                        bill_day[risk[rn]],
                        ~churn[rn],
                        (1 - lam[rn]) ** 12,
                        np.round(mrr_before[rn] * 12, 2),
                        tier[risk[rn]].copy(),
                    )
                )
            # 2. upgrade attempts (expansion opportunities)
            ai = risk[attempt]
            new_tier = np.minimum(tier[ai] + 1, 4)
            old_mrr_usd = mrr_before[attempt]
            new_mrr_usd = (
                np.round(
                    seats[ai]
                    * TIER_PRICE[new_tier]
                    * level[ai]
                    * (1 - cust.discount[ai] / 100)
                    * annual_factor[ai]
                    * uplift[ai]
                    / fx[ai],
                    2,
                )
                * fx[ai]
            )
            amount = np.round((new_mrr_usd - old_mrr_usd) * 12, 2)
            p_win = exp_win_p(ai, new_tier, amount)
            won = u[attempt, 2] < p_win
            day_a = rand_day[ai]
            led.exp_opps.append((ai, day_a, won, p_win, amount, new_tier))
            up = ai[won]
            close_row(up, day_a[won])
            tier[up] = new_tier[won]
            row_start[up] = day_a[won]
            event(up, day_a[won], "upgrade", old_mrr_usd[won])
            done = churn.copy()
            done[attempt] = won
            # 3. seat expansion
            seat_add = ~done & (u[:, 3] < p_seat)
            si = risk[seat_add]
            before = mrr_before[seat_add]
            close_row(si, rand_day[si])
            seats[si] += 1 + rng.poisson(0.25 * np.sqrt(seats[si]))
            row_start[si] = rand_day[si]
            event(si, rand_day[si], "seat_expansion", before)
            done |= seat_add
            # 4. contraction: idle seats go first, else one tier down
            con = ~done & (u[:, 4] < p_con)
            util = x["utilisation"]
            cut_seats = con & (seats[risk] > 1) & (util < 0.75)
            down = con & ~cut_seats & (tier[risk] > 0)
            ki = risk[cut_seats | down]
            day_k = np.where(cust.annual[ki], bill_day[ki], rand_day[ki])
            before = mrr_before[cut_seats | down]
            close_row(ki, day_k)
            cs = risk[cut_seats]
            seats[cs] = np.maximum(
                1, seats[cs] - np.maximum(1, np.floor(seats[cs] * (1 - util[cut_seats]) * 0.5))
            ).astype(seats.dtype)
            dn = risk[down]
            tier[dn] -= 1
            row_start[ki] = day_k
            event(ki, day_k, "contraction", before)
            done |= cut_seats | down
            # 5. renewal uplift
            U = P["renewal_uplift"]
            upl = ~done & renewal & (rng.random(len(risk)) < U["prob"])
            li = risk[upl]
            before = mrr_before[upl]
            close_row(li, bill_day[li])
            uplift[li] *= 1 + U["pct"] / 100
            row_start[li] = bill_day[li]
            event(li, bill_day[li], "renewal_uplift", before)
        # win-back reactivation
        R = P["reactivation"]
        gap = m - churn_month
        cand = np.flatnonzero(~active & (gap >= R["min_gap_months"]) & (gap < 10_000))
        p_re = R["initial_prob"] * np.exp(-(gap[cand] - R["min_gap_months"]) / R["decay_months"])
        re = cand[rng.random(len(cand)) < p_re]
        truth["reactivation_prob_sum"] = float(p_re.sum())
        truth["churned_pool"] = len(cand)
        tier[re] = np.maximum(tier[re] - (rng.random(len(re)) < 0.4), 0)
        seats[re] = np.maximum(1, seats[re] - rng.poisson(0.5, len(re)))
        uplift[re] = 1.0
        row_start[re] = rand_day[re]
        active[re] = True
        react_month[re] = m
        health[re] = fit[re] + rng.normal(0.0, H["innovation_sd"], len(re))
        event(re, rand_day[re], "reactivation", np.zeros(len(re)))
        # new customers
        new = np.flatnonzero(start_month == m)
        row_start[new] = cust.start_day[new]
        active[new] = True
        event(new, cust.start_day[new], "new", np.zeros(len(new)))
        # health, usage and invoices of everyone paying at the end of the month
        idx = np.flatnonzero(active)
        health[idx] = (
            fit[idx]
            + H["ar"] * (health[idx] - fit[idx])
            + rng.normal(0.0, H["innovation_sd"], len(idx))
        )
        sig, use, late = _signals(
            rng,
            idx,
            health,
            tier,
            seats,
            cust.segment,
            growth_trait,
            payer,
            voice,
            exports,
            H,
            P["usage"],
        )
        led.health.append((idx, np.full(len(idx), m), sig))
        led.usage.append((idx, m, use, tier[idx].copy()))
        over_usd = np.nansum(
            np.maximum(use - INCLUDED[:, tier[idx]].T, 0.0) * OVERAGE_PRICE, axis=1
        )
        first_month = (start_month[idx] == m) | (react_month[idx] == m)
        issued = np.where(first_month, row_start[idx], bill_day[idx])
        term_start = ~cust.annual[idx] | ((m - cust.anchor[idx]) % 12 == 0) | first_month
        sub_amount = np.where(cust.annual[idx], 12.0, 1.0) * mrr_local(idx) * term_start
        led.invoices.append(
            (idx, issued, np.round(sub_amount, 2), np.round(over_usd / fx[idx], 2), late)
        )
        led.overage_usd.append(float(over_usd.sum()))
        full = {k: np.full(n, np.nan) for k in sig}
        for k, v in sig.items():
            full[k][idx] = v
        full["over_limit"] = np.zeros(n, dtype=bool)
        full["over_limit"][idx] = np.any(use > INCLUDED[:, tier[idx]].T, axis=1)
        prev = full
        truth["active_end"] = len(idx)
        led.monthly_truth.append(truth)
    # rows still open
    still = np.flatnonzero(active)
    close_row(still, np.full(len(still), -1))
    return led


def _signals(rng, idx, health, tier, seats, segment, growth_trait, payer, voice, exports, H, U):
    """One month of health signals, usage (n, 4) and invoice late days for accounts ``idx``."""
    k = len(idx)
    h = health[idx]
    s = seats[idx].astype(float)
    t = tier[idx]
    util = sigmoid(1.0 + 0.9 * h + 0.3 * rng.standard_normal(k))
    active_users = rng.binomial(seats[idx], util).astype(float)
    logins = rng.poisson(active_users * 14.0 * np.exp(0.25 * h)).astype(float)
    features_adopted = np.round(
        sigmoid(-0.6 + 0.25 * t + 0.7 * h + 0.3 * rng.standard_normal(k)), 2
    )
    data_quality = np.round(sigmoid(1.2 + 0.4 * h + 0.4 * rng.standard_normal(k)), 2)
    roi = np.round(np.exp(0.9 + 0.35 * h + 0.25 * rng.standard_normal(k)), 2)
    pl = np.asarray(H["late_prob"])[payer[idx]] * np.exp(-0.3 * h)
    is_late = rng.random(k) < np.minimum(pl, 0.95)
    late = np.where(
        is_late, 1 + rng.geometric(1.0 / np.asarray(H["late_days_mean"])[payer[idx]]), 0
    ).astype(float)
    nps = np.clip(np.round(7.2 + 1.6 * h + 1.2 * rng.standard_normal(k)), 0, 10)
    tickets = rng.poisson((0.3 + 0.25 * s**0.7) * np.exp(-0.35 * h)).astype(float)
    exec_eng = rng.random(k) < sigmoid(-0.4 + 0.9 * h + 0.4 * segment[idx])
    team_growth = np.round(
        1.0 + 0.8 * growth_trait[idx] + 0.3 * h + 2.0 * rng.standard_normal(k), 1
    )
    feat_req = rng.poisson(np.exp(-0.8 + 0.35 * h + 0.15 * np.log(s))).astype(float)
    comp_eval = rng.random(k) < sigmoid(-3.0 - 1.1 * h)
    # usage: a share of the plan's reference volume (enterprise: 3x pro), scaled by seats and health
    ref = np.where(np.isnan(INCLUDED[:, t]), 3 * INCLUDED[:, np.full(k, 3)], INCLUDED[:, t]).T
    ref[:, 3] = np.where(t == 0, 20.0, ref[:, 3])
    level = np.exp(
        U["log_mean"]
        + 0.15 * np.log(s)[:, None]
        + 0.3 * h[:, None]
        + U["log_sd"] * rng.standard_normal((k, 4))
    )
    use = np.round(ref * level)
    use[:, 2] = np.where(exports[idx], use[:, 2], 0.0)
    use[:, 3] = np.where(voice[idx], use[:, 3], 0.0)
    sig = {
        "logins": logins,
        "active_users": active_users,
        "seats": s,
        "features_adopted": features_adopted,
        "api_calls": use[:, 0],
        "data_quality": data_quality,
        "roi_multiple": roi,
        "leads_generated": use[:, 1],
        "payment_late_days": late,
        "nps": nps,
        "support_tickets": tickets,
        "exec_engagement": exec_eng,
        "team_growth_pct": team_growth,
        "feature_requests": feat_req,
        "competitive_evaluation": comp_eval,
    }
    return sig, use, late
