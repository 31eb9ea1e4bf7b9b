"""Contract tables built from the simulation's arrays: ids, dates, text columns, ordering.

Text columns are plain ``object`` arrays (cheap to build and to write); dates are
``datetime64``. ``revlib.data.validate_tables`` turns them into the contract's parsed types.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from revlib.synth import crm, finance
from revlib.synth._core import (
    CHANNELS,
    COMPETITORS,
    COUNTRY_CODES,
    CURRENCIES,
    INCLUDED,
    INDUSTRIES,
    LOST,
    OVERAGE_PRICE,
    REGIONS,
    SEGMENTS,
    STAGES,
    TIERS,
    USAGE_METRICS,
    WON,
    Calendar,
    fx_rate,
)
from revlib.synth.lifecycle import HEALTH_COLUMNS, Customers, Ledger

STAGE_NAMES = np.array([*STAGES, WON, LOST], dtype=object)
CHANGE_KINDS = np.array(["created", "stage", "amount", "close_date", "closed"], dtype=object)
TOUCH_TYPE_NAMES = np.array(["awareness", "content", "demo", "sales", "closing"], dtype=object)


def _labels(names: tuple[str, ...] | np.ndarray, codes: np.ndarray) -> np.ndarray:
    return np.asarray(names, dtype=object)[codes]


def _frame(columns: dict[str, Any]) -> pd.DataFrame:
    """DataFrame keeping object (text) arrays as ``object`` (no string-dtype conversion)."""
    return pd.DataFrame(
        {
            k: pd.Series(v, dtype=object) if isinstance(v, np.ndarray) and v.dtype == object else v
            for k, v in columns.items()
        }
    )


def _ids(prefix: str, n: int) -> np.ndarray:
    """``prefix`` + zero-padded 1..n (at least 6 digits)."""
    width = max(6, len(str(n)))
    digits = np.strings.zfill(np.arange(1, n + 1).astype(np.str_), width)
    return np.strings.add(prefix, digits).astype(object)


def _names(rng: np.random.Generator, n: int) -> np.ndarray:
    a = (
        "Acme",
        "Blue",
        "Bright",
        "Cedar",
        "Delta",
        "Echo",
        "Falcon",
        "Granite",
        "Harbor",
        "Iron",
        "Juniper",
        "Kite",
        "Lumen",
        "Maple",
        "North",
        "Orbit",
        "Pine",
        "Quartz",
        "River",
        "Summit",
        "Terra",
        "Union",
        "Vertex",
        "Willow",
        "Zenith",
    )
    b = (
        "Analytics",
        "Systems",
        "Health",
        "Labs",
        "Logistics",
        "Capital",
        "Learning",
        "Retail",
        "Works",
        "Foods",
        "Energy",
        "Media",
        "Partners",
        "Software",
        "Robotics",
        "Bio",
        "Finance",
        "Studio",
        "Cloud",
        "Dynamics",
    )
    c = ("Inc", "Ltd", "GmbH", "LLC", "Group", "Co", "SA", "Pty")
    combos = np.array([f"{x} {y} {z}" for x in a for y in b for z in c], dtype=object)
    return combos[rng.integers(0, len(combos), n)]


def _dates(cal: Calendar, day: np.ndarray, missing: np.ndarray | None = None) -> pd.Series:
    d = cal.dates(np.nan_to_num(np.asarray(day, dtype=float))).astype("datetime64[s]")
    if missing is not None:
        d = np.where(missing, np.datetime64("NaT"), d)
    return pd.Series(d.astype("datetime64[ns]"))


def _stamps(cal: Calendar, t: np.ndarray, missing: np.ndarray | None = None) -> pd.Series:
    d = cal.timestamps(np.nan_to_num(np.asarray(t, dtype=float)))
    if missing is not None:
        d = np.where(missing, np.datetime64("NaT"), d)
    return pd.Series(d.astype("datetime64[ns]"))


def concat_chunks(chunks: list, i: int, dtype: Any = float) -> np.ndarray:
    if not chunks:
        return np.zeros(0, dtype=dtype)
    return np.concatenate([c[i] for c in chunks])


# ----------------------------------------------------------------------------- parts


@dataclass
class AccountKeys:
    """Account identities: which simulated companies appear in the data and under which id."""

    account_ids: np.ndarray  # sorted by creation
    rank: np.ndarray  # account row (opening book, then new-business deals kept) -> position in ids
    cust_acc: np.ndarray  # customer index -> account row, -1 if not in the data
    nb_keep: np.ndarray  # new-business deals created before the end date
    channel: np.ndarray  # acquisition channel code per account row
    created: np.ndarray  # day of creation per account row

    def cust_id(self, cust: np.ndarray) -> np.ndarray:
        return self.account_ids[self.rank[self.cust_acc[cust]]]

    def cust_rank(self, cust: np.ndarray) -> np.ndarray:
        return self.rank[self.cust_acc[cust]]


def account_keys(
    n0: int, n_cust: int, ob: dict[str, Any], pros: crm.Prospects, T: float
) -> AccountKeys:
    nb = pros.deals
    # the CRM holds deals created before the end date that were still open on the start date
    nb_keep = np.flatnonzero((nb.created < T) & (nb.close >= 0))
    created = np.concatenate([ob["created_day"], np.floor(pros.lead_at[nb_keep]).astype(np.int64)])
    order = np.argsort(created, kind="stable")
    rank = np.empty(len(created), np.int64)
    rank[order] = np.arange(len(created))
    cust_acc = np.full(n_cust, -1)
    cust_acc[:n0] = np.arange(n0)
    of_deal = nb.account[nb_keep]
    has = of_deal >= 0
    cust_acc[of_deal[has]] = n0 + np.flatnonzero(has)
    channel = np.concatenate([ob["channel"], nb.lead_source[nb_keep]])
    return AccountKeys(_ids("ACC-", len(created)), rank, cust_acc, nb_keep, channel, created)


def accounts_table(rng, cal, keys: AccountKeys, ob, pros) -> pd.DataFrame:
    order = np.argsort(keys.rank)

    def col(key: str) -> np.ndarray:
        return np.concatenate([ob["firms"][key], pros.firms[key][keys.nb_keep]])[order]

    return _frame(
        {
            "account_id": keys.account_ids,
            "name": _names(rng, len(order)),
            "industry": _labels(INDUSTRIES, col("industry")),
            "employees": col("employees"),
            "region": _labels(REGIONS, col("region")),
            "country": _labels(COUNTRY_CODES, col("country")),
            "segment": _labels(SEGMENTS, col("segment")),
            "created_at": _dates(cal, keys.created[order]),
            "acquisition_channel": _labels(CHANNELS, keys.channel[order]),
        }
    )


def subscriptions_table(
    cal, led: Ledger, cust: Customers, keys: AccountKeys, T: float
) -> tuple[pd.DataFrame, dict]:
    acc, start, end = (
        concat_chunks(led.rows, 0, np.int64),
        concat_chunks(led.rows, 1, np.int64),
        concat_chunks(led.rows, 2, np.int64),
    )
    tier, seats, mrr = (
        concat_chunks(led.rows, 3, np.int64),
        concat_chunks(led.rows, 4, np.int64),
        concat_chunks(led.rows, 5),
    )
    all_rows = {
        "acc": acc,
        "start": start,
        "end": end,
        "mrr_usd": mrr * fx_rate(cust.currency)[acc],
    }
    vis = np.flatnonzero(start < T)
    open_ = (end[vis] < 0) | (end[vis] >= T)
    order = np.lexsort((start[vis], keys.cust_rank(acc[vis])))
    v = vis[order]
    df = _frame(
        {
            "subscription_id": _ids("SUB-", len(v)),
            "account_id": keys.cust_id(acc[v]),
            "product": _labels(TIERS, tier[v]),
            "start_date": _dates(cal, start[v]),
            "end_date": _dates(cal, end[v], missing=open_[order]),
            "mrr": mrr[v],
            "currency": _labels(CURRENCIES, cust.currency[acc[v]]),
            "quantity": seats[v],
            "billing": np.where(cust.annual[acc[v]], "annual", "monthly").astype(object),
        }
    )
    return df, all_rows


def opportunity_tables(
    cal, T, deal_sets, keys: AccountKeys, cust: Customers, reps: crm.Reps, P
) -> tuple[pd.DataFrame, pd.DataFrame, dict, np.ndarray]:
    """opportunities + opportunity_history (state as of the end date) and the per-deal truth.

    Returns the opportunity id of each kept new-business deal (in ``keys.nb_keep`` order) too."""
    parts, hparts, tparts = [], [], []
    for deals in deal_sets:
        hist = crm.history_rows(deals, T)
        st = crm.snapshot_state(deals, hist, T)
        if deals.type_name == "new_business":
            keep = keys.nb_keep
            aid = keys.account_ids[keys.rank[len(keys.created) - len(keep) + np.arange(len(keep))]]
        else:  # deals of customers in the data, created after their first subscription start
            a = deals.account
            keep = np.flatnonzero(
                st["keep"] & (keys.cust_acc[a] >= 0) & (deals.created >= cust.start_day[a])
            )
            aid = keys.cust_id(a[keep])
        closed = st["closed"][keep]
        won = deals.won[keep]
        stage = st["stage"][keep]
        src = deals.lead_source[keep]
        parts.append(
            {
                "t": deals.created[keep],
                "account_id": aid,
                "type": np.full(len(keep), deals.type_name, dtype=object),
                "product": _labels(TIERS, deals.tier[keep]),
                "amount": np.round(st["amount"][keep], 2),
                "created": deals.created[keep],
                "close": np.where(closed, deals.close[keep], st["expected"][keep]),
                "stage": STAGE_NAMES[stage],
                "status": np.where(closed, np.where(won, "won", "lost"), "open").astype(object),
                "owner": reps.names[deals.owner[keep]],
                "lead_source": np.where(
                    src >= 0, _labels(CHANNELS, np.maximum(src, 0)), np.array(None, dtype=object)
                ),
                "competitor": _labels(COMPETITORS, deals.competitor[keep]),
                "discount_pct": deals.discount[keep],
            }
        )
        local = np.full(len(deals.created), -1)
        local[keep] = np.arange(len(keep))
        hk = local[hist["deal"]] >= 0
        hparts.append({k: v[hk] for k, v in hist.items()} | {"local": local[hist["deal"][hk]]})
        is_open = ~closed
        p = deals.p[keep]
        p_snap = (
            crm.p_given_stage(p, np.clip(stage, 0, 4), P)
            if deals.type_name == "new_business"
            else np.full(len(keep), np.nan)
        )
        tparts.append(
            {
                "p": p,
                "p_snapshot": np.where(is_open, p_snap, np.nan),
                "open": is_open,
                "won": won,
                "close": deals.close[keep],
            }
        )
    sizes = [len(p["t"]) for p in parts]
    offsets = np.cumsum([0, *sizes])
    cat = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    order = np.lexsort((np.arange(len(cat["t"])), cat["t"]))
    rank = np.empty(len(order), np.int64)
    rank[order] = np.arange(len(order))
    ids = _ids("OPP-", len(order))
    opps = _frame(
        {
            "opportunity_id": ids,
            "account_id": cat["account_id"][order],
            "type": cat["type"][order],
            "product": cat["product"][order],
            "amount": cat["amount"][order],
            "created_date": _dates(cal, cat["created"][order]),
            "close_date": _dates(cal, cat["close"][order]),
            "stage": cat["stage"][order],
            "status": cat["status"][order],
            "owner": cat["owner"][order],
            "lead_source": cat["lead_source"][order],
            "competitor": cat["competitor"][order],
            "discount_pct": cat["discount_pct"][order],
        }
    )
    h_rank = np.concatenate([rank[offsets[i] + h["local"]] for i, h in enumerate(hparts)])
    h = {
        k: np.concatenate([hp[k] for hp in hparts])
        for k in ("t", "kind", "stage", "amount", "expected")
    }
    ho = np.lexsort((h["kind"], h["t"], h_rank))
    history = _frame(
        {
            "opportunity_id": ids[h_rank[ho]],
            "changed_at": _stamps(cal, h["t"][ho]),
            "stage": STAGE_NAMES[h["stage"][ho]],
            "amount": np.round(h["amount"][ho], 2),
            "close_date": _dates(cal, h["expected"][ho]),
            "change": CHANGE_KINDS[h["kind"][ho]],
        }
    )
    tp = {k: np.concatenate([t[k] for t in tparts])[order] for k in tparts[0]}
    p_all = dict(zip(ids.tolist(), np.round(tp["p"], 6).tolist(), strict=True))
    op = np.flatnonzero(tp["open"])
    close_dates = np.datetime_as_string(cal.dates(tp["close"][op]), unit="D")
    open_truth = {
        str(ids[i]): {
            "eventual_status": "won" if tp["won"][i] else "lost",
            "eventual_close_date": str(d),
        }
        | (
            {"p_snapshot": round(float(tp["p_snapshot"][i]), 6)}
            if not np.isnan(tp["p_snapshot"][i])
            else {}
        )
        for i, d in zip(op, close_dates, strict=True)
    }
    nb_ids = ids[rank[offsets[0] : offsets[1]]]
    return opps, history, {"p": p_all, "open": open_truth}, nb_ids


def journey_tables(
    cal, T, pros: crm.Prospects, keys: AccountKeys, nb_ids: np.ndarray
) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    nb = pros.deals
    j = keys.nb_keep
    converted = nb.won[j] & (nb.close[j] < T)
    trial_t = nb.entry[j, crm.DEMO_STAGE]
    has_trial = ~np.isnan(trial_t) & (trial_t < T)
    journey_ids = _ids("J-", len(j))
    aid = keys.account_ids[keys.rank[len(keys.created) - len(j) + np.arange(len(j))]]
    journeys = _frame(
        {
            "journey_id": journey_ids,
            "account_id": aid,
            "converted": converted,
            "converted_at": _stamps(cal, nb.close[j], missing=~converted),
            "revenue": np.where(converted, nb.amount[j], 0.0),
            "channel": _labels(CHANNELS, nb.lead_source[j]),
            "lead_at": _stamps(cal, pros.lead_at[j]),
            "trial_at": _stamps(cal, trial_t, missing=~has_trial),
            "opportunity_id": nb_ids,
        }
    )
    jmap = np.full(len(nb.created), -1)
    jmap[j] = np.arange(len(j))
    keep = (jmap[pros.touch_deal] >= 0) & (pros.touch_at < T)
    tt = pros.touch_type[keep]
    touchpoints = _frame(
        {
            "journey_id": journey_ids[jmap[pros.touch_deal[keep]]],
            "touched_at": _stamps(cal, pros.touch_at[keep]),
            "channel": _labels(CHANNELS, pros.touch_channel[keep]),
            "touch_type": np.where(tt >= 0, TOUCH_TYPE_NAMES[np.maximum(tt, 0)], None),
        }
    )
    return journeys, touchpoints, {"converted": converted, "has_trial": has_trial}


def funnel_table(
    rng, cal, pros, keys: AccountKeys, jt: dict, led: Ledger, P
) -> tuple[pd.DataFrame, np.ndarray]:
    """Funnel counts per lead-month cohort and channel (as of the end date) + expansions per
    calendar month by the account's acquisition channel. Leads that never became a deal and
    visitors who never became leads are Poisson thinnings of the same expected volume."""
    F = P["funnel"]
    p1, s = np.asarray(F["visitor_to_lead"]), np.asarray(F["lead_to_opportunity"])
    j = keys.nb_keep
    lead_m = cal.month_of(pros.lead_at[j])
    ch = pros.deals.lead_source[j]
    shape = (cal.months, len(CHANNELS))
    in_win = (lead_m >= 0) & (lead_m < cal.months)

    def count(mask: np.ndarray) -> np.ndarray:
        out = np.zeros(shape, np.int64)
        np.add.at(out, (lead_m[mask & in_win], ch[mask & in_win]), 1)
        return out

    expected = pros.expected_count[cal.pre : cal.pre + cal.months]
    leads = count(np.ones(len(j), bool)) + rng.poisson(expected * (1 - s) / s)
    visitors = leads + rng.poisson(expected / s * (1 - p1) / p1)
    ev_acc, ev_kind = concat_chunks(led.events, 0, np.int64), concat_chunks(led.events, 2, object)
    ev_m = cal.month_of(concat_chunks(led.events, 1))
    is_exp = (
        np.isin(ev_kind, ["upgrade", "seat_expansion"])
        & (ev_m < cal.months)
        & (keys.cust_acc[ev_acc] >= 0)
    )
    expansions = np.zeros(shape, np.int64)
    np.add.at(expansions, (ev_m[is_exp], keys.channel[keys.cust_acc[ev_acc[is_exp]]]), 1)
    months = cal.month_dates(np.arange(cal.months))
    funnel = _frame(
        {
            "month": pd.Series(np.repeat(months, len(CHANNELS)).astype("datetime64[ns]")),
            "channel": np.tile(np.asarray(CHANNELS, dtype=object), cal.months),
            "visitors": visitors.ravel(),
            "leads": leads.ravel(),
            "trials": count(jt["has_trial"]).ravel(),
            "customers": count(jt["converted"]).ravel(),
            "expansions": expansions.ravel(),
        }
    )
    return funnel, leads


def health_usage_tables(cal, led: Ledger, keys: AccountKeys) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Health signals and usage of account-months paying at the month's end, ordered by month
    then account (then metric)."""
    parts = led.health[: cal.months]
    orders = [np.argsort(keys.cust_rank(p[0]), kind="stable") for p in parts]
    acc = np.concatenate([p[0][o] for p, o in zip(parts, orders, strict=True)])
    m = np.concatenate([p[1][o] for p, o in zip(parts, orders, strict=True)])
    cols = {"account_id": keys.cust_id(acc), "month": _month_dates(cal, m)}
    for c in HEALTH_COLUMNS:
        cols[c] = np.concatenate([p[2][c][o] for p, o in zip(parts, orders, strict=True)])
    health = _frame(cols)
    k = len(USAGE_METRICS)
    u_acc = np.concatenate(
        [p[0][o] for p, o in zip(parts, orders, strict=True)]
    )  # same rows as health
    q = np.concatenate(
        [u[2][o] for u, o in zip(led.usage[: len(parts)], orders, strict=True)]
    ).ravel()
    tier = np.repeat(
        np.concatenate([u[3][o] for u, o in zip(led.usage[: len(parts)], orders, strict=True)]), k
    )
    metric = np.tile(np.arange(k), len(u_acc))
    pos = np.flatnonzero(q > 0)
    row = pos // k
    usage = _frame(
        {
            "account_id": keys.cust_id(u_acc[row]),
            "month": _month_dates(cal, m[row]),
            "metric": _labels(USAGE_METRICS, metric[pos]),
            "quantity": q[pos],
            "included": INCLUDED[metric[pos], tier[pos]],
            "overage_price": OVERAGE_PRICE[metric[pos]],
        }
    )
    return health, usage


def _month_dates(cal: Calendar, m: np.ndarray) -> pd.Series:
    return pd.Series(cal.month_dates(m).astype("datetime64[ns]"))


def invoice_table(rng, cal, led: Ledger, cust: Customers, keys: AccountKeys, P) -> pd.DataFrame:
    inv = finance.invoices(rng, cal, led.invoices, cust.segment, led.write_off, P)
    r = keys.cust_rank(inv["account"])
    o = np.lexsort((inv["issued"], r))
    unpaid = inv["unpaid"][o]
    return _frame(
        {
            "invoice_id": _ids("INV-", len(o)),
            "account_id": keys.account_ids[r[o]],
            "issued_date": _dates(cal, inv["issued"][o]),
            "due_date": _dates(cal, inv["due"][o]),
            "amount": inv["amount"][o],
            "currency": _labels(CURRENCIES, cust.currency[inv["account"][o]]),
            "paid_date": _dates(cal, inv["paid"][o], missing=unpaid),
            "paid_amount": np.where(unpaid, 0.0, inv["amount"][o]),
        }
    )


# ----------------------------------------------------------------------------- the company
