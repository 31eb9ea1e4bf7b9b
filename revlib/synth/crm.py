"""Prospects, CRM deals, their stage history, and the marketing journeys behind them.

A new-business deal is created when a lead qualifies; its outcome is drawn once from the true
win model (a logistic function of the deal's features, :func:`win_logit`), then the deal walks
the stages prospecting -> qualification -> demo -> proposal -> negotiation. A won deal passes all
five and closes won; a lost deal stops after a stage drawn from ``lost_exit_stage_probs``
(independently of its features) and closes lost. Stage durations do not depend on the outcome,
so for an open deal in stage ``k`` the true probability of winning, given what is known, is
``p / (p + (1 - p) * Q_k)`` with ``Q_k`` the share of lost deals that reach stage ``k``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import brentq
from scipy.special import ndtr

from revlib.synth._core import (
    CHANNEL_MIX,
    CHANNELS,
    COMPETITORS,
    COUNTRIES,
    COUNTRY_CURRENCY_IDX,
    DEMO_STAGE,
    INDUSTRIES,
    INDUSTRY_MIX,
    REGION_MIX,
    REGION_PRICE_LEVEL,
    REGIONS,
    REP_NAMES,
    SEGMENT_EMPLOYEES,
    SEGMENTS,
    STAGES,
    TIER_MIX_TARGET,
    TIER_PRICE,
    TIERS,
    Calendar,
    choice_idx,
    fx_rate,
    lookup,
    sigmoid,
)

N_STAGES = len(STAGES)


# ----------------------------------------------------------------------------- firmographics


def draw_firms(rng: np.random.Generator, n: int, P: dict[str, Any]) -> dict[str, np.ndarray]:
    """Region, country, currency, industry, employees and segment of ``n`` companies."""
    F = P["firmographics"]
    region = choice_idx(rng, REGION_MIX, n)
    country = np.empty(n, dtype=np.int64)  # index into COUNTRY_CODES
    u = rng.random(n)
    first = 0
    for r, name in enumerate(REGIONS):
        probs = np.array([p for _, p in COUNTRIES[name]])
        cum = np.cumsum(probs) / probs.sum()
        mask = region == r
        country[mask] = first + np.minimum(np.searchsorted(cum, u[mask]), len(probs) - 1)
        first += len(probs)
    currency = COUNTRY_CURRENCY_IDX[country]  # index into CURRENCIES
    industry = choice_idx(rng, INDUSTRY_MIX, n)
    log_emp = np.log(F["employees_median"]) + F["employees_log_sd"] * rng.standard_normal(n)
    employees = np.maximum(2, np.round(np.exp(log_emp))).astype(np.int64)
    segment = np.searchsorted(np.asarray(SEGMENT_EMPLOYEES), employees, side="right")
    return {
        "region": region,
        "country": country,
        "currency": currency,
        "industry": industry,
        "employees": employees,
        "segment": segment,
    }


def tier_cutpoints(P: dict[str, Any]) -> np.ndarray:
    """Cut points of the ordered-probit tier choice that give the target mix of prospects.

    Latent willingness to pay z = size_wtp * log(employees / median) + industry_wtp + N(0, 1),
    i.e. a mixture over industries of normals with sd sqrt(1 + (size_wtp * log_sd)^2).
    """
    F = P["firmographics"]
    wtp = lookup(F["industry_wtp"], INDUSTRIES)
    w = np.asarray(INDUSTRY_MIX) / np.sum(INDUSTRY_MIX)
    sd = np.sqrt(1.0 + (F["size_wtp_per_log_employees"] * F["employees_log_sd"]) ** 2)

    def cdf(c: float) -> float:
        return float(np.sum(w * ndtr((c - wtp) / sd)))

    targets = np.cumsum(TIER_MIX_TARGET)[:-1]
    return np.array([brentq(lambda c, t=t: cdf(c) - t, -10, 10) for t in targets])


def draw_plan(
    rng: np.random.Generator, firms: dict[str, np.ndarray], P: dict[str, Any]
) -> dict[str, np.ndarray]:
    """Tier, seats, annual billing and discount of each company's first contract."""
    F = P["firmographics"]
    n = len(firms["region"])
    wtp = lookup(F["industry_wtp"], INDUSTRIES)[firms["industry"]]
    z = (
        F["size_wtp_per_log_employees"] * np.log(firms["employees"] / F["employees_median"])
        + wtp
        + rng.standard_normal(n)
    )
    tier = np.searchsorted(tier_cutpoints(P), z)
    seg = firms["segment"]
    seats = np.asarray(F["seats_base"])[seg] + rng.poisson(np.asarray(F["seats_poisson"])[seg])
    A = F["annual_logit"]
    annual = rng.random(n) < sigmoid(A["intercept"] + A["per_tier"] * tier + A["per_segment"] * seg)
    has_disc = rng.random(n) < np.asarray(F["discount_prob"])[seg]
    levels = np.asarray(F["discount_levels"], dtype=float)
    discount = np.where(has_disc, levels[rng.integers(0, len(levels), n)], 0.0)
    return {
        "tier": tier.astype(np.int64),
        "seats": seats.astype(np.int64),
        "annual": annual,
        "discount": discount,
    }


def unit_price_local(
    tier: np.ndarray,
    region: np.ndarray,
    discount: np.ndarray,
    annual: np.ndarray,
    currency: np.ndarray,
    P: dict[str, Any],
) -> np.ndarray:
    """Monthly price per seat in the billing currency (list x region level x discounts / fx)."""
    fx = fx_rate(currency)
    annual_factor = np.where(annual, 1.0 - P["company"]["annual_discount"], 1.0)
    return TIER_PRICE[tier] * REGION_PRICE_LEVEL[region] * (1 - discount / 100) * annual_factor / fx


# ----------------------------------------------------------------------------- reps


@dataclass(frozen=True)
class Reps:
    names: np.ndarray  # str
    team: np.ndarray  # 0 smb, 1 mid_market, 2 enterprise + strategic
    skill: np.ndarray  # logit effect on winning
    hired: np.ndarray  # month index
    left: np.ndarray  # month index (exclusive), large = still employed

    def pick(self, rng: np.random.Generator, segment: np.ndarray, month: np.ndarray) -> np.ndarray:
        """A rep of the deal's team employed in the deal's month, uniformly (index into reps)."""
        team = np.minimum(segment, 2)
        out = np.empty(len(segment), dtype=np.int64)
        u = rng.random(len(segment))
        for t in range(3):
            for m in np.unique(month[team == t]):
                mask = (team == t) & (month == m)
                ok = np.flatnonzero((self.team == t) & (self.hired <= m) & (self.left > m))
                out[mask] = ok[np.minimum((u[mask] * len(ok)).astype(np.int64), len(ok) - 1)]
        return out


def draw_reps(rng: np.random.Generator, n: int, cal: Calendar, P: dict[str, Any]) -> Reps:
    team = np.array([i % 3 for i in range(n)])
    team = np.sort(team)  # smb reps first
    skill = rng.normal(0.0, P["win_model"]["rep_skill_sd"], n)
    hired = rng.integers(-cal.pre, int(cal.months * 0.7), n)
    left = np.where(rng.random(n) < 0.2, hired + rng.integers(12, 30, n), 10_000)
    first = np.r_[True, team[1:] != team[:-1]]  # one rep per team is there from the start
    hired = np.where(first, -cal.pre, hired)
    left = np.where(first, 10_000, left)
    return Reps(np.asarray(REP_NAMES[:n], dtype=object), team, skill, hired, left)


# ----------------------------------------------------------------------------- the win model


def win_logit(
    P: dict[str, Any],
    *,
    type_name: str,
    segment: np.ndarray,
    tier: np.ndarray,
    region: np.ndarray,
    competitor: np.ndarray,
    amount: np.ndarray,
    discount: np.ndarray,
    rep_skill: np.ndarray,
    touched: np.ndarray | None,
) -> np.ndarray:
    """Linear predictor of the true win model; ``touched`` is an (n, 7) 0/1 channel matrix."""
    W = P["win_model"]
    eta = (
        W["intercept"]
        + W["type"][type_name]
        + lookup(W["segment"], SEGMENTS)[segment]
        + lookup(W["product"], TIERS)[tier]
        + lookup(W["region"], REGIONS)[region]
        + lookup(W["competitor"], COMPETITORS)[competitor]
        + W["log_amount"] * np.log(np.maximum(amount, 1.0) / 12000.0)
        + W["discount_pct"] * discount
        + rep_skill
    )
    if touched is not None:
        eta = eta + touched @ lookup(W["touched_channel"], CHANNELS)
    return eta


def exit_tail(P: dict[str, Any]) -> np.ndarray:
    """Q_k: share of lost deals that reach stage k (k = 0..4)."""
    q = np.asarray(P["funnel"]["lost_exit_stage_probs"], dtype=float)
    q = q / q.sum()
    return q[::-1].cumsum()[::-1]


def p_given_stage(p: np.ndarray, stage: np.ndarray, P: dict[str, Any]) -> np.ndarray:
    """True probability that an open deal now in ``stage`` will be won: p / (p + (1-p) Q_k)."""
    Q = exit_tail(P)[stage]
    return p / (p + (1 - p) * Q)


# ----------------------------------------------------------------------------- deals


@dataclass
class Deals:
    """Deals of one kind as arrays; times are float days since the start date."""

    type_name: str
    created: np.ndarray
    entry: np.ndarray  # (n, 5) stage entry times, nan when not reached
    close: np.ndarray  # close time (maybe past the end date: then open at the snapshot)
    won: np.ndarray
    exit_stage: np.ndarray  # last stage reached (4 for won deals)
    p: np.ndarray  # true win probability at creation
    amount0: np.ndarray  # amount at creation (USD ARR)
    amount: np.ndarray  # final amount
    revise_at: np.ndarray  # time the amount changed from amount0 to amount (nan = never)
    expected0: np.ndarray  # first expected close time
    slips: list[tuple[np.ndarray, np.ndarray, np.ndarray]]  # (deal index, changed_at, new expected)
    tier: np.ndarray
    owner: np.ndarray
    competitor: np.ndarray
    discount: np.ndarray
    lead_source: np.ndarray  # channel index, -1 = none
    account: np.ndarray  # customer index (lifecycle) or -1 for prospects


def stage_durations(
    rng: np.random.Generator, n: int, segment: np.ndarray, type_name: str, P: dict[str, Any]
) -> np.ndarray:
    D = P["deal_cycle"]
    mean = (
        np.asarray(D["stage_days"][type_name], dtype=float)[None, :]
        * np.asarray(D["segment_factor"][type_name])[segment][:, None]
    )
    k = D["gamma_shape"]
    return rng.gamma(k, mean / k, size=(n, N_STAGES))


def draw_exit(rng: np.random.Generator, won: np.ndarray, P: dict[str, Any]) -> np.ndarray:
    exit_stage = choice_idx(rng, P["funnel"]["lost_exit_stage_probs"], len(won))
    return np.where(won, N_STAGES - 1, exit_stage)


def forward_entries(
    created: np.ndarray, dur: np.ndarray, exit_stage: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Stage entry times and close time of deals that start at ``created``."""
    cum = created[:, None] + np.cumsum(dur, axis=1)
    entry = np.concatenate([created[:, None], cum[:, :-1]], axis=1)
    reached = np.arange(N_STAGES)[None, :] <= exit_stage[:, None]
    close = cum[np.arange(len(created)), exit_stage]
    return np.where(reached, entry, np.nan), close


def backward_entries(close: np.ndarray, dur: np.ndarray, exit_stage: np.ndarray) -> np.ndarray:
    """Stage entry times of deals that close at ``close`` after ``exit_stage``."""
    reached = np.arange(N_STAGES)[None, :] <= exit_stage[:, None]
    d = np.where(reached, dur, 0.0)
    after = np.cumsum(d[:, ::-1], axis=1)[:, ::-1]  # sum of durations from stage k to exit
    return np.where(reached, close[:, None] - after, np.nan)


def draw_slips(
    rng: np.random.Generator,
    created: np.ndarray,
    close: np.ndarray,
    segment: np.ndarray,
    type_name: str,
    P: dict[str, Any],
) -> tuple[np.ndarray, list]:
    """First expected close and the slips: each time an open deal passes its expected close
    date the rep pushes it out by a gamma-distributed number of days."""
    D = P["deal_cycle"]
    n = len(created)
    typical = (
        np.sum(D["stage_days"][type_name]) * np.asarray(D["segment_factor"][type_name])[segment]
    )
    expected0 = created + typical * np.exp(rng.normal(0, D["plan_error_sd"], n))
    slips = []
    expected = expected0.copy()
    for _ in range(15):
        late = np.flatnonzero(expected < close)
        if not len(late):
            break
        at = expected[late] + rng.uniform(0.05, 3.0, len(late))
        keep = at < close[late]  # the deal closed before the rep touched the date
        late, at = late[keep], at[keep]
        new = np.maximum(
            at + 1.0, expected[late] + rng.gamma(2.0, D["slip_days_mean"] / 2.0, len(late))
        )
        slips.append((late, at, new))
        expected[late] = new
        expected[np.setdiff1d(np.flatnonzero(expected < close), late)] = np.inf  # stop: closed
    return expected0, slips


def amount_path(
    rng: np.random.Generator, final: np.ndarray, P: dict[str, Any]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Amount at creation: for a share ``amount_change_prob`` of deals a first quote around the
    final amount (revised to it during the proposal stage, if the deal gets there), else the
    final amount. Returns (amount at creation, differs flag, position in the proposal stage)."""
    D = P["deal_cycle"]
    n = len(final)
    differs = rng.random(n) < D["amount_change_prob"]
    noisy = np.maximum(
        np.round(final * np.exp(rng.normal(0.05, D["amount_initial_log_sd"], n)), -2), 100.0
    )
    return np.where(differs, noisy, final), differs, rng.uniform(0.1, 0.9, n)


@dataclass
class Prospects:
    """New-business deals with their company, plan and marketing journey."""

    deals: Deals
    firms: dict[str, np.ndarray]
    plan: dict[str, np.ndarray]
    mrr_local: np.ndarray
    lead_at: np.ndarray
    touch_deal: np.ndarray
    touch_channel: np.ndarray
    touch_at: np.ndarray
    touch_type: np.ndarray  # -1 = missing
    touched: np.ndarray  # (n, 7)
    expected_count: np.ndarray  # (months incl. pre, 7): Poisson mean of deals created
    eta_without_touches: np.ndarray


def expected_new_per_deal(
    rng: np.random.Generator, cal: Calendar, reps: Reps, P: dict[str, Any], n: int = 20000
) -> tuple[float, np.ndarray]:
    """Pilot: mean win probability and, per creation month, P(won and closed in the window)."""
    pilot = _draw_deal_features(rng, n, rng.integers(-cal.pre, cal.months, n), reps, P)
    dur = stage_durations(rng, n, pilot["firms"]["segment"], "new_business", P)
    cycle = dur.sum(axis=1)
    months = np.arange(-cal.pre, cal.total)
    frac = np.empty(len(months))
    u = rng.random(n)
    for i, m in enumerate(months):
        close = cal.month_start(m) + u * cal.month_len(m) + cycle
        frac[i] = np.mean(pilot["p"] * ((close >= 0) & (close < cal.end_day)))
    return float(np.mean(pilot["p"])), frac


def _draw_deal_features(
    rng: np.random.Generator,
    n: int,
    month: np.ndarray,
    reps: Reps,
    P: dict[str, Any],
    channel: np.ndarray | None = None,
) -> dict[str, Any]:
    """Company, plan, competitor, owner and marketing touches of ``n`` new-business deals;
    ``channel`` is the source (first-touch) channel, drawn from the channel mix if not given.
    ``p`` here uses the final amount (the pilot's estimate of the win rate)."""
    firms = draw_firms(rng, n, P)
    plan = draw_plan(rng, firms, P)
    if channel is None:
        channel = choice_idx(rng, CHANNEL_MIX, n)
    mrr_local = np.round(
        plan["seats"]
        * unit_price_local(
            plan["tier"], firms["region"], plan["discount"], plan["annual"], firms["currency"], P
        ),
        2,
    )
    fx = fx_rate(firms["currency"])
    final = np.round(mrr_local * fx * 12, 2)
    seg = firms["segment"]
    comp_present = rng.random(n) < sigmoid(-0.4 + 0.45 * seg)
    comp = np.where(comp_present, 1 + choice_idx(rng, [0.40, 0.25, 0.20, 0.15], n), 0)
    owner = reps.pick(rng, seg, month)
    T = P["touches"]
    one = rng.random(n) < T["one_touch_share"]
    extra = np.where(
        one, 0, np.minimum(1 + rng.poisson(T["extra_touches_poisson"], n), T["max_touches"] - 1)
    )
    n_touch = 1 + extra
    deal_of = np.repeat(np.arange(n), n_touch)
    pos = np.arange(len(deal_of)) - np.repeat(np.cumsum(n_touch) - n_touch, n_touch)
    t_channel = np.where(
        pos == 0, channel[deal_of], choice_idx(rng, T["later_channel_mix"], len(deal_of))
    )
    touched = np.zeros((n, len(CHANNELS)))
    touched[deal_of, t_channel] = 1.0
    base = dict(
        type_name="new_business",
        segment=seg,
        tier=plan["tier"],
        region=firms["region"],
        competitor=comp,
        discount=plan["discount"],
        rep_skill=reps.skill[owner],
    )
    return {
        "firms": firms,
        "plan": plan,
        "channel": channel,
        "mrr_local": mrr_local,
        "final": final,
        "competitor": comp,
        "owner": owner,
        "n_touch": n_touch,
        "deal_of": deal_of,
        "pos": pos,
        "t_channel": t_channel,
        "touched": touched,
        "base": base,
        "p": sigmoid(win_logit(P, amount=final, touched=touched, **base)),
    }


def draw_prospects(
    rng: np.random.Generator, cal: Calendar, reps: Reps, P: dict[str, Any], n_new: int
) -> Prospects:
    """New-business deals created from ``pre`` months before the start until the hidden horizon,
    at a volume that yields about ``n_new`` won deals closing inside the data window."""
    C = P["company"]
    months = np.arange(-cal.pre, cal.total)
    weight = (1 + C["new_growth_per_month"]) ** months * np.asarray(C["seasonality"])[
        cal.calendar_month(months)
    ]
    p_bar, frac = expected_new_per_deal(rng, cal, reps, P)
    level = n_new / np.sum(weight * frac)
    mix = np.asarray(CHANNEL_MIX) / np.sum(CHANNEL_MIX)
    expected_count = level * weight[:, None] * mix[None, :]
    counts = rng.poisson(expected_count)
    m_idx, c_idx = np.nonzero(counts)
    rep_counts = counts[m_idx, c_idx]
    month = np.repeat(months[m_idx], rep_counts)
    channel = np.repeat(c_idx, rep_counts)
    created = cal.month_start(month) + rng.random(len(month)) * cal.month_len(month)
    order = np.argsort(created, kind="stable")
    month, channel, created = month[order], channel[order], created[order]
    n = len(created)
    f = _draw_deal_features(rng, n, month, reps, P, channel=channel)
    touched = f["touched"]
    seg = f["firms"]["segment"]
    dur = stage_durations(rng, n, seg, "new_business", P)
    # the win model uses the amount at creation (the first opportunity_history row)
    amount0, differs, at = amount_path(rng, f["final"], P)
    eta0 = win_logit(P, amount=amount0, touched=None, **f["base"])
    p = sigmoid(eta0 + touched @ lookup(P["win_model"]["touched_channel"], CHANNELS))
    won = rng.random(n) < p
    exit_stage = draw_exit(rng, won, P)
    entry, close = forward_entries(created, dur, exit_stage)
    # revised to the final amount during the proposal stage; lost earlier: keeps its first quote
    revise_at = np.where(differs & ~np.isnan(entry[:, 3]), entry[:, 3] + at * dur[:, 3], np.nan)
    amount = np.where(np.isnan(revise_at), amount0, f["final"])
    expected0, slips = draw_slips(rng, created, close, seg, "new_business", P)
    lead_at = created - rng.exponential(5.0, n)
    # touches: the first before the lead, the others between the lead and the close
    first_at = lead_at - rng.exponential(20.0, n)
    span = np.maximum(close - lead_at, 0.5)
    deal_of, pos = f["deal_of"], f["pos"]
    u = rng.random(len(deal_of))
    t_at = np.where(pos == 0, first_at[deal_of], lead_at[deal_of] + u * span[deal_of])
    order = np.lexsort((t_at, deal_of))
    t_at = t_at[order]  # positions 1.. sorted in time; position 0 stays first (earliest)
    touch_type = _touch_types(rng, deal_of, pos, f["n_touch"], P)
    deals = Deals(
        type_name="new_business",
        created=created,
        entry=entry,
        close=close,
        won=won,
        exit_stage=exit_stage,
        p=p,
        amount0=amount0,
        amount=amount,
        revise_at=revise_at,
        expected0=expected0,
        slips=slips,
        tier=f["plan"]["tier"],
        owner=f["owner"],
        competitor=f["competitor"],
        discount=f["plan"]["discount"],
        lead_source=channel,
        account=np.full(n, -1),
    )
    return Prospects(
        deals,
        f["firms"],
        f["plan"],
        f["mrr_local"],
        lead_at,
        deal_of,
        f["t_channel"],
        t_at,
        touch_type,
        touched,
        expected_count,
        eta0,
    )


def _touch_types(rng, deal_of, pos, n_touch, P) -> np.ndarray:
    """awareness first, closing last (3+ touches), content/demo/sales by position between."""
    n = n_touch[deal_of]
    rel = pos / np.maximum(n - 1, 1)
    middle = np.where(rel < 0.4, 1, np.where(rel < 0.7, 2, 3))
    t = np.where(pos == 0, 0, np.where((pos == n - 1) & (n >= 3), 4, middle))
    untyped = rng.random(len(n_touch)) < P["touches"]["untyped_journey_share"]
    return np.where(untyped[deal_of], -1, t)


# ----------------------------------------------------------------------------- history


def history_rows(deals: Deals, snapshot: float) -> dict[str, np.ndarray]:
    """One row per change before ``snapshot``: created, stage changes, amount revision, close-date
    slips and the close. Each row carries the deal's state after the change."""
    n = len(deals.created)
    idx = np.arange(n)
    parts = []  # (deal, t, kind order, stage, amount, expected)
    nan = np.full(n, np.nan)
    parts.append((idx, deals.created, 0, np.zeros(n), deals.amount0, deals.expected0))
    for k in range(1, N_STAGES):
        ok = ~np.isnan(deals.entry[:, k])
        parts.append((idx[ok], deals.entry[ok, k], 1, np.full(ok.sum(), k), nan[ok], nan[ok]))
    ok = ~np.isnan(deals.revise_at)
    parts.append((idx[ok], deals.revise_at[ok], 2, nan[ok], deals.amount[ok], nan[ok]))
    for d, at, new in deals.slips:
        parts.append((d, at, 3, np.full(len(d), np.nan), np.full(len(d), np.nan), new))
    stage_close = np.where(deals.won, N_STAGES, N_STAGES + 1)
    parts.append((idx, deals.close, 4, stage_close.astype(float), deals.amount, deals.close))
    deal = np.concatenate([p[0] for p in parts])
    t = np.concatenate([p[1] for p in parts])
    kind = np.concatenate([np.full(len(p[0]), p[2]) for p in parts])
    stage = np.concatenate([np.broadcast_to(p[3], len(p[0])) for p in parts]).astype(float)
    amount = np.concatenate([np.broadcast_to(p[4], len(p[0])) for p in parts]).astype(float)
    expected = np.concatenate([np.broadcast_to(p[5], len(p[0])) for p in parts]).astype(float)
    keep = t < snapshot
    deal, t, kind, stage, amount, expected = (
        a[keep] for a in (deal, t, kind, stage, amount, expected)
    )
    order = np.lexsort((kind, t, deal))
    deal, t, kind, stage, amount, expected = (
        a[order] for a in (deal, t, kind, stage, amount, expected)
    )
    stage, amount, expected = _ffill(stage), _ffill(amount), _ffill(expected)
    return {
        "deal": deal,
        "t": t,
        "kind": kind,
        "stage": stage.astype(np.int64),
        "amount": amount,
        "expected": expected,
    }


def _ffill(a: np.ndarray) -> np.ndarray:
    has = ~np.isnan(a)
    idx = np.where(has, np.arange(len(a)), 0)
    np.maximum.accumulate(idx, out=idx)
    return a[idx]


def snapshot_state(
    deals: Deals, hist: dict[str, np.ndarray], snapshot: float
) -> dict[str, np.ndarray]:
    """Stage, amount and (expected) close time of each deal as of ``snapshot`` (its last
    history row); deals created after the snapshot are dropped (``keep``)."""
    keep = deals.created < snapshot
    last = np.r_[hist["deal"][1:] != hist["deal"][:-1], True]
    state = {k: np.full(len(deals.created), np.nan) for k in ("stage", "amount", "expected")}
    for k in state:
        state[k][hist["deal"][last]] = hist[k][last]
    closed = deals.close < snapshot
    return {
        "keep": keep,
        "closed": closed,
        "stage": np.nan_to_num(state["stage"], nan=-1).astype(np.int64),
        "amount": state["amount"],
        "expected": state["expected"],
    }


def reached_demo(deals: Deals, by: float) -> np.ndarray:
    return ~np.isnan(deals.entry[:, DEMO_STAGE]) & (deals.entry[:, DEMO_STAGE] < by)
