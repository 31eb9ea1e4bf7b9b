"""Assemble one simulated company: run the parts in order, build the tables and the truth."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from revlib.synth import crm, finance, offers, pricing, survey
from revlib.synth._core import (
    CHANNEL_MIX,
    Calendar,
    SynthConfig,
    choice_idx,
    sigmoid,
)
from revlib.synth.lifecycle import Customers, simulate
from revlib.synth.tables import (
    account_keys,
    accounts_table,
    concat_chunks,
    funnel_table,
    health_usage_tables,
    invoice_table,
    journey_tables,
    opportunity_tables,
    subscriptions_table,
)


@dataclass
class Company:
    """A simulated company: contract tables (``tables``) and the truth behind them (``truth``)."""

    config: SynthConfig
    tables: dict[str, pd.DataFrame]
    truth: dict[str, Any]


def _opening_book(
    rng: np.random.Generator, cal: Calendar, reps: crm.Reps, P: dict[str, Any], n: int
) -> dict[str, Any]:
    """Customers already paying on the start date: their subscription rows start on it (the
    ledger's opening balance); ``created_at`` is their real signing date 1-48 months earlier."""
    firms = crm.draw_firms(rng, n, P)
    plan = crm.draw_plan(rng, firms, P)
    tenure = rng.integers(1, 49, n)
    created = (cal.start.astype("datetime64[M]") - tenure).astype("datetime64[D]") + rng.integers(
        0, 28, n
    )
    return {
        "firms": firms,
        "plan": plan,
        "tenure": tenure,
        "created_day": (created - cal.start).astype(np.int64),
        "channel": choice_idx(rng, CHANNEL_MIX, n),
        "owner": reps.pick(rng, firms["segment"], np.zeros(n, np.int64)),
        "bill_dom": rng.integers(0, 28, n),
    }


def _backdated(
    rng: np.random.Generator,
    type_name: str,
    close: np.ndarray,
    won: np.ndarray,
    p: np.ndarray,
    amount: np.ndarray,
    tier: np.ndarray,
    account: np.ndarray,
    cust: Customers,
    P: dict[str, Any],
) -> crm.Deals:
    """Expansion and renewal deals: the lifecycle fixes the close and the outcome; the stage
    path is drawn backwards from the close (same stage and slip machinery as new business)."""
    n = len(close)
    segment = cust.segment[account]
    dur = crm.stage_durations(rng, n, segment, type_name, P)
    exit_stage = crm.draw_exit(rng, won, P)
    entry = crm.backward_entries(close, dur, exit_stage)
    created = entry[:, 0]
    expected0, slips = crm.draw_slips(rng, created, close, segment, type_name, P)
    return crm.Deals(
        type_name=type_name,
        created=created,
        entry=entry,
        close=close,
        won=won,
        exit_stage=exit_stage,
        p=p,
        amount0=amount,
        amount=amount,
        revise_at=np.full(n, np.nan),
        expected0=expected0,
        slips=slips,
        tier=tier,
        owner=cust.owner[account],
        competitor=np.zeros(n, np.int64),
        discount=cust.discount[account],
        lead_source=np.full(n, -1),
        account=account,
    )


def _lifecycle_deals(
    rng: np.random.Generator,
    type_name: str,
    chunks: list,
    hours: tuple[float, float],
    cust: Customers,
    P: dict[str, Any],
) -> crm.Deals:
    """Deals from the lifecycle's chunks (account, day, won, p, amount, tier); the close time
    is the event day plus a fraction of a day drawn from ``hours`` (negative: the day before)."""
    acc = concat_chunks(chunks, 0, np.int64)
    close = concat_chunks(chunks, 1) + rng.uniform(*hours, len(acc))
    won, p, amount = (
        concat_chunks(chunks, 2, bool),
        concat_chunks(chunks, 3),
        concat_chunks(chunks, 4),
    )
    return _backdated(
        rng, type_name, close, won, p, amount, concat_chunks(chunks, 5, np.int64), acc, cust, P
    )


def _customers(
    cal: Calendar, pros: crm.Prospects, ob: dict[str, Any], n0: int
) -> tuple[Customers, np.ndarray]:
    """Opening book + every won new-business deal closing within the simulated months."""
    nb = pros.deals
    sim_end = float(cal.month_start(cal.total))
    won_j = np.flatnonzero(nb.won & (nb.close >= 0) & (nb.close < sim_end))
    nb.account[won_j] = n0 + np.arange(len(won_j))
    start_nb = np.floor(nb.close[won_j]).astype(np.int64)
    start_month_nb = cal.month_of(start_nb)
    pf, pp = pros.firms, pros.plan

    def both(a_open: np.ndarray, a_nb: np.ndarray) -> np.ndarray:
        return np.concatenate([a_open, a_nb[won_j]])

    cust = Customers(
        start_day=np.concatenate([np.zeros(n0, np.int64), start_nb]),
        bill_dom=np.concatenate([ob["bill_dom"], start_nb - cal.month_start(start_month_nb)]),
        created_month=np.concatenate([-ob["tenure"], cal.month_of(pros.lead_at[won_j])]),
        tier=both(ob["plan"]["tier"], pp["tier"]),
        seats=both(ob["plan"]["seats"], pp["seats"]),
        annual=both(ob["plan"]["annual"], pp["annual"]),
        discount=both(ob["plan"]["discount"], pp["discount"]),
        region=both(ob["firms"]["region"], pf["region"]),
        segment=both(ob["firms"]["segment"], pf["segment"]),
        currency=both(ob["firms"]["currency"], pf["currency"]),
        owner=both(ob["owner"], nb.owner),
        anchor=np.concatenate([-ob["tenure"], start_month_nb]),
        fit_shift=np.concatenate([np.full(n0, 0.25), np.zeros(len(won_j))]),
    )
    return cust, won_j


def generate_company(config: SynthConfig | None = None) -> Company:
    """Simulate the company described by ``config``; deterministic in ``config.seed``."""
    from revlib.synth.truth import build_truth

    cfg = config or SynthConfig()
    cfg.check()
    P = cfg.params()
    cal = Calendar.build(cfg.start, cfg.months, int(P["company"]["hidden_months"]))
    T = float(cal.end_day)
    # spawning more streams leaves the earlier ones unchanged: 9 (survey) was added later, and
    # 10-13 are for parts added in parallel (stream 12: offer tests)
    streams = np.random.default_rng(cfg.seed).spawn(13)
    r_reps, r_deals, r_open, r_life, r_exp, r_fin, r_price, r_misc, r_survey = streams[:9]
    r_offers = streams[12]
    reps = crm.draw_reps(r_reps, cfg.reps, cal, P)
    n0 = int(round(P["company"]["opening_share"] * cfg.accounts))
    pros = crm.draw_prospects(r_deals, cal, reps, P, cfg.accounts - n0)
    ob = _opening_book(r_open, cal, reps, P, n0)
    cust, _ = _customers(cal, pros, ob, n0)
    zero = np.zeros(len(cust.start_day), np.int64)

    def exp_win_p(idx: np.ndarray, new_tier: np.ndarray, amount: np.ndarray) -> np.ndarray:
        return sigmoid(
            crm.win_logit(
                P,
                type_name="expansion",
                segment=cust.segment[idx],
                tier=new_tier,
                region=cust.region[idx],
                competitor=zero[idx],
                amount=amount,
                discount=cust.discount[idx],
                rep_skill=reps.skill[cust.owner[idx]],
                touched=None,
            )
        )

    led = simulate(r_life, cal, cust, P, exp_win_p)
    keys = account_keys(n0, len(cust.start_day), ob, pros, T)

    accounts = accounts_table(r_misc, cal, keys, ob, pros)
    subs, all_rows = subscriptions_table(cal, led, cust, keys, T)
    exp_deals = _lifecycle_deals(r_exp, "expansion", led.exp_opps, (0.35, 0.75), cust, P)
    ren_deals = _lifecycle_deals(r_exp, "renewal", led.renewals, (-0.65, -0.25), cust, P)
    opps, history, deal_truth, nb_ids = opportunity_tables(
        cal, T, (pros.deals, exp_deals, ren_deals), keys, cust, reps, P
    )
    journeys, touchpoints, jt = journey_tables(cal, T, pros, keys, nb_ids)
    funnel, leads = funnel_table(r_misc, cal, pros, keys, jt, led, P)
    health, usage = health_usage_tables(cal, led, keys)
    invoices = invoice_table(r_fin, cal, led, cust, keys, P)

    ev_kind, ev_m = concat_chunks(led.events, 2, object), cal.month_of(concat_chunks(led.events, 1))
    is_new = (
        (ev_kind == "new")
        & (ev_m >= 0)
        & (ev_m < cal.months)
        & (concat_chunks(led.events, 0, np.int64) >= n0)
    )
    spend, financials, fin_truth = finance.spend_and_financials(
        r_fin,
        cal,
        P,
        leads=leads.astype(float),
        reps_active=np.array(
            [np.sum((reps.hired <= m) & (reps.left > m)) for m in range(cal.months)], float
        ),
        sub_revenue=finance.recognised_revenue(
            cal, all_rows["start"], all_rows["end"], all_rows["mrr_usd"]
        ),
        usage_revenue=np.asarray(led.overage_usd[: cal.months]),
        active_accounts=np.array([t["active_end"] for t in led.monthly_truth[: cal.months]], float),
        n_new=int(is_new.sum()),
        new_mrr_usd=float(concat_chunks(led.events, 4)[is_new].sum()),
        scale=cfg.accounts / 2000,
    )
    r_po, r_pt = r_price.spawn(2)
    price_obs, elasticity_truth = pricing.price_observations(r_po, cal, P)
    tests, tests_truth = pricing.price_tests(r_pt, cal)

    tables = {
        "accounts": accounts,
        "subscriptions": subs,
        "usage": usage,
        "opportunities": opps,
        "opportunity_history": history,
        "price_observations": price_obs,
        "price_tests": tests,
        "journeys": journeys,
        "touchpoints": touchpoints,
        "funnel": funnel,
        "spend": spend,
        "financials": financials,
        "invoices": invoices,
        "fx_rates": finance.fx_table(),
        "health_signals": health,
    }
    truth = build_truth(
        cfg=cfg,
        P=P,
        cal=cal,
        reps=reps,
        pros=pros,
        led=led,
        deal_truth=deal_truth,
        tables=tables,
        elasticity=elasticity_truth,
        tests=tests_truth,
        fin=fin_truth,
        all_rows=all_rows,
        n_cust=len(cust.start_day),
        n0=n0,
        j_deal=keys.nb_keep,
    )
    survey_tables, truth["wtp_survey"] = survey.survey_tables(r_survey)
    tables.update(survey_tables)
    tables["offer_tests"], truth["offer_tests"] = offers.offer_tests(r_offers, cal)
    tables["competitor_prices"] = offers.competitor_prices(cal)
    return Company(cfg, tables, truth)
