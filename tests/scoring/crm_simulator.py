"""A small CRM simulator with known win probabilities, for tests and benchmarks.

The bundled sample company (``revlib.synth``) is the realistic data set; this generator is
deliberately simple and fast so tests can build a few hundred deals in milliseconds and the
benchmark can build 100,000. Every deal's true win probability at creation is returned beside
the contract tables, so a model's probabilities can be checked against the truth.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

STAGES = ("qualification", "discovery", "proposal", "negotiation")
WON_STAGE, LOST_STAGE = "closed_won", "closed_lost"
INDUSTRIES = ("technology", "finance", "healthcare", "education", "nonprofit", "other")
INDUSTRY_EFFECT = dict(zip(INDUSTRIES, (0.35, 0.1, -0.1, -0.25, -0.45, 0.0), strict=True))
REGIONS = ("NA", "EU", "APAC", "LATAM")
CHANNELS = ("organic_search", "paid_search", "referral", "direct_sales", "partnership")
CHANNEL_EFFECT = dict(zip(CHANNELS, (0.0, -0.3, 0.6, 0.2, 0.3), strict=True))
LEAD_SOURCES = ("inbound", "outbound", "partner", "event")
LEAD_EFFECT = dict(zip(LEAD_SOURCES, (0.4, -0.5, 0.25, -0.1), strict=True))
TYPE_EFFECT = {"new_business": -0.2, "expansion": 0.6, "renewal": 1.6}
PRODUCTS = ("starter", "growth", "scale", "enterprise")
PRODUCT_PRICE = dict(zip(PRODUCTS, (6_000.0, 18_000.0, 45_000.0, 120_000.0), strict=True))


def simulate_crm(
    n_deals: int = 2_000,
    *,
    seed: int = 0,
    start: str = "2022-01-01",
    months: int = 36,
    history: bool = True,
) -> tuple[dict[str, pd.DataFrame], pd.Series]:
    """Simulate accounts, opportunities and their stage history; return (tables, truth).

    ``truth`` is each deal's true probability of winning at creation (a logistic function of
    type, industry, lead source, competitor, discount, amount and the owner's skill), indexed
    by opportunity_id. Won deals pass through every stage; lost deals drop out after a random
    number of stages. Reps set an expected close date at creation and push it by 30 days
    whenever a stage change happens after it (a "slip"). Deals still running at the end of
    the window are open. ``history=False`` leaves out ``opportunity_history``.
    """
    rng = np.random.default_rng(seed)
    t0 = pd.Timestamp(start)
    end = t0 + pd.DateOffset(months=months) - pd.Timedelta(days=1)
    span = (end - t0).days
    n_acc = max(30, n_deals // 3)
    employees = np.round(np.exp(rng.normal(5.0, 1.6, n_acc))).astype(int) + 1
    segment = np.select(
        [employees < 100, employees < 1_000, employees < 5_000],
        ["smb", "mid_market", "enterprise"],
        "strategic",
    )
    accounts = pd.DataFrame(
        {
            "account_id": [f"A{i:06d}" for i in range(n_acc)],
            "industry": rng.choice(INDUSTRIES, n_acc),
            "employees": employees,
            "region": rng.choice(REGIONS, n_acc, p=[0.45, 0.3, 0.15, 0.1]),
            "segment": segment,
            "created_at": t0 - pd.to_timedelta(rng.integers(0, 365, n_acc), unit="D"),
            "acquisition_channel": rng.choice(CHANNELS, n_acc),
        }
    )
    n_owners = max(4, n_deals // 150)
    skill = rng.normal(0.0, 0.5, n_owners)
    owner_idx = rng.integers(0, n_owners, n_deals)
    acc_idx = rng.integers(0, n_acc, n_deals)
    created = t0 + pd.to_timedelta(np.sort(rng.integers(0, span, n_deals)), unit="D")
    dtype = rng.choice(list(TYPE_EFFECT), n_deals, p=[0.6, 0.25, 0.15])
    size_rank = np.searchsorted(["enterprise", "mid_market", "smb", "strategic"], segment[acc_idx])
    product_idx = np.clip(np.array([1, 1, 0, 3])[size_rank] + rng.integers(-1, 2, n_deals), 0, 3)
    product = np.asarray(PRODUCTS)[product_idx]
    amount = np.round(
        np.array([PRODUCT_PRICE[p] for p in product]) * np.exp(rng.normal(0, 0.35, n_deals)), -2
    )
    lead = rng.choice(LEAD_SOURCES, n_deals)
    competitor = np.where(
        rng.random(n_deals) < 0.45, rng.choice(["Rivalco", "Bigsoft"], n_deals), None
    )
    discount = np.round(np.clip(rng.normal(8, 6, n_deals), 0, 35), 1)
    industry = accounts["industry"].to_numpy()[acc_idx]
    channel = accounts["acquisition_channel"].to_numpy()[acc_idx]
    logit = (
        0.1
        + np.vectorize(TYPE_EFFECT.get)(dtype)
        + np.vectorize(INDUSTRY_EFFECT.get)(industry)
        + np.vectorize(LEAD_EFFECT.get)(lead)
        + np.vectorize(CHANNEL_EFFECT.get)(channel)
        + skill[owner_idx]
        - 0.7 * (competitor != None)  # noqa: E711 (element-wise)
        + 0.03 * (discount - 8)
        - 0.3 * (np.log(amount) - np.log(18_000))
    )
    p_true = 1 / (1 + np.exp(-logit))
    won = rng.random(n_deals) < p_true
    # Stages reached before closing: won deals pass all four; lost ones drop out earlier.
    n_reached = np.where(won, 4, rng.choice([1, 2, 3, 4], n_deals, p=[0.4, 0.3, 0.2, 0.1]))
    scale = np.array([8.0, 12.0, 18.0, 25.0])[size_rank]
    durations = rng.gamma(2.0, 1.0, (n_deals, 4)) * scale[:, None]
    durations = np.maximum(1, np.round(durations)).astype(int)
    durations[np.arange(4)[None, :] >= n_reached[:, None]] = 0
    close_offset = durations.sum(axis=1)
    close = created + pd.to_timedelta(close_offset, unit="D")
    is_open = close > end
    ids = np.array([f"O{i:07d}" for i in range(n_deals)])

    rows = []  # history: (id, day offset, stage, amount, expected close offset)
    expected0 = np.round(45 + scale * 3 + rng.normal(0, 10, n_deals)).astype(int)
    for i in range(n_deals):
        exp_off = int(max(expected0[i], 7))
        day = 0
        rows.append((i, 0, STAGES[0], amount[i], exp_off))
        for k in range(1, n_reached[i] + 1):
            day += int(durations[i, k - 1])
            while day > exp_off:  # the rep pushes the date when it has passed
                exp_off += 30
                rows.append((i, exp_off - 30, rows[-1][2], rows[-1][3], exp_off))
            if k < n_reached[i]:
                amt = rows[-1][3]
                if STAGES[k] == "proposal" and rng.random() < 0.5:
                    amt = float(np.round(amt * np.exp(rng.normal(0, 0.15)), -2))
                rows.append((i, day, STAGES[k], amt, exp_off))
        final = WON_STAGE if won[i] else LOST_STAGE
        rows.append((i, day, final, rows[-1][3], day))
    hist = pd.DataFrame(rows, columns=["i", "day", "stage", "amount", "exp_off"])
    hist = hist.sort_values(["i", "day"], kind="stable")
    base = created.to_numpy()[hist["i"].to_numpy()]
    hist_changed = base + pd.to_timedelta(hist["day"].to_numpy(), unit="D")
    history_df = pd.DataFrame(
        {
            "opportunity_id": ids[hist["i"].to_numpy()],
            "changed_at": hist_changed,
            "stage": hist["stage"].to_numpy(),
            "amount": hist["amount"].to_numpy(),
            "close_date": base + pd.to_timedelta(hist["exp_off"].to_numpy(), unit="D"),
        }
    )
    history_df = history_df[history_df["changed_at"] <= end].reset_index(drop=True)
    last = history_df.groupby("opportunity_id", sort=False).tail(1).set_index("opportunity_id")
    status = np.where(is_open, "open", np.where(won, "won", "lost"))
    opps = pd.DataFrame(
        {
            "opportunity_id": ids,
            "account_id": accounts["account_id"].to_numpy()[acc_idx],
            "type": dtype,
            "product": product,
            "amount": last["amount"].reindex(ids).to_numpy(),
            "created_date": created,
            "close_date": last["close_date"].reindex(ids).to_numpy(),
            "stage": last["stage"].reindex(ids).to_numpy(),
            "status": status,
            "owner": np.array([f"rep_{j:03d}" for j in range(n_owners)])[owner_idx],
            "lead_source": lead,
            "competitor": competitor,
            "discount_pct": discount,
        }
    )
    opps["close_date"] = pd.to_datetime(opps["close_date"]).dt.normalize()
    opps["close_date"] = opps["close_date"].where(
        opps["close_date"] >= opps["created_date"], opps["created_date"]
    )
    tables = {"accounts": accounts, "opportunities": opps}
    if history:
        tables["opportunity_history"] = history_df
    return tables, pd.Series(
        p_true, index=pd.Index(ids, name="opportunity_id"), name="true_win_probability"
    )
