"""Expansion opportunities: the team's triggers, their conversion measured on history, and the
accounts firing them now ranked by expected ARR (potential x probability).

A trigger *onset* is a month in which a paying account fires the trigger after not firing it
the month before. History: of the onsets whose next ``horizon`` months are in the data, the
share followed by an expansion movement (MRR up while paying) within the horizon, with its
Beta posterior (``revlib.stats.beta_posterior``), and the median uplift of those that expanded.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from revlib.health.rubric import Rubric, Trigger
from revlib.metrics import MrrPanel
from revlib.stats import beta_posterior

_OPS = {
    ">": np.greater,
    ">=": np.greater_equal,
    "<": np.less,
    "<=": np.less_equal,
    "==": np.equal,
}


def expansion_outcomes(panel: MrrPanel, *, horizon: int = 6) -> pd.DataFrame:
    """What followed each paying account-month: an expansion within ``horizon`` months, and
    the uplift.

    ``expanded``: an expansion movement (0 < MRR(m-1) < MRR(m)) in months t+1..t+h.
    ``uplift``: highest MRR in t+1..t+h / MRR(t) - 1 (ratio, >= 0). ``observed``: month t+h is
    in the data. Columns: account_id, month, mrr, expanded, uplift, observed.
    """
    if horizon < 1:
        raise ValueError(f"horizon must be whole months >= 1, got {horizon}")
    cur = panel.micros
    prev = np.zeros_like(cur)
    prev[:, 1:] = cur[:, :-1]
    up = (prev > 0) & (cur > prev)
    n_accounts, n_months = cur.shape
    csum = np.concatenate(
        [np.zeros((n_accounts, 1), dtype=np.int64), np.cumsum(up, axis=1)], axis=1
    )
    padded = np.concatenate([cur, np.zeros((n_accounts, horizon), dtype=cur.dtype)], axis=1)
    ahead = np.lib.stride_tricks.sliding_window_view(padded[:, 1:], horizon, axis=1)[
        :, :n_months
    ].max(axis=2)
    rows, cols = np.nonzero(cur > 0)
    end = np.minimum(cols + horizon, n_months - 1)
    base = cur[rows, cols].astype(float)
    return pd.DataFrame(
        {
            "account_id": pd.array(panel.accounts[rows], dtype="str"),
            "month": panel.months[cols].to_numpy(),
            "mrr": base / 1e6,
            "expanded": (csum[rows, end + 1] - csum[rows, cols + 1]) > 0,
            "uplift": np.maximum(ahead[rows, cols] / base - 1.0, 0.0),
            "observed": cols + horizon <= n_months - 1,
        }
    )


def trigger_flags(features: pd.DataFrame, rubric: Rubric) -> pd.DataFrame:
    """Which triggers each account-month fires: one boolean column per trigger (a condition on
    a missing value does not hold). Columns: account_id, month, <trigger names>."""
    out = features[["account_id", "month"]].copy()
    for trig in rubric.triggers:
        out[trig.name] = _fires(features, trig)
    return out


def _fires(features: pd.DataFrame, trig: Trigger) -> np.ndarray:
    hit = np.ones(len(features), dtype=bool)
    for feature, op, value in trig.conditions:
        if feature not in features.columns:
            raise ValueError(
                f"trigger {trig.name!r} needs feature {feature!r}; features have {list(features.columns)}"
            )
        x = pd.to_numeric(features[feature], errors="coerce").to_numpy(dtype=float)
        hit &= np.nan_to_num(_OPS[op](x, value), nan=0).astype(bool) & ~np.isnan(x)
    return hit


def trigger_onsets(flags: pd.DataFrame, rubric: Rubric) -> pd.DataFrame:
    """Onsets: account-months where a trigger fires and did not fire in the account's previous
    month (or it is the account's first month). Columns: account_id, month, trigger."""
    f = flags.sort_values(["account_id", "month"]).reset_index(drop=True)
    prev_month = f.groupby("account_id")["month"].shift(1)
    contiguous = prev_month == (f["month"] - pd.DateOffset(months=1))
    parts = []
    for trig in rubric.triggers:
        now = f[trig.name].to_numpy(dtype=bool)
        before = (
            f.groupby("account_id")[trig.name]
            .shift(1)
            .astype("boolean")
            .fillna(False)
            .to_numpy(dtype=bool)
        )
        onset = now & ~(before & contiguous.to_numpy())
        parts.append(f.loc[onset, ["account_id", "month"]].assign(trigger=trig.name))
    return pd.concat(parts, ignore_index=True)


def trigger_history(
    flags: pd.DataFrame,
    outcomes: pd.DataFrame,
    rubric: Rubric,
    *,
    min_onsets: int = 30,
    min_expansions: int = 10,
    prob: float = 0.94,
) -> pd.DataFrame:
    """Trigger conversion: of the months an account started firing a trigger (onsets) whose
    next h months are in the data, the share followed by an expansion within h months.

    Per trigger: onsets, expanded, rate with its Beta posterior interval (uniform prior), the
    base rate of all paying account-months, lift (rate / base rate), and the probability and
    potential the ranking uses, with their source.

    probability: the historical rate when there are >= ``min_onsets`` observed onsets
    ("history"), else the team's probability ("team assumption"), else the base rate ("base
    rate, no team value"). potential_share: median uplift of onsets that expanded when there
    are >= ``min_expansions`` of them ("history"), else the rubric's potential_share ("rubric
    default"). Ratios.
    """
    obs = outcomes[outcomes["observed"]]
    base_rate = float(obs["expanded"].mean()) if len(obs) else np.nan
    onsets = trigger_onsets(flags, rubric).merge(obs, on=["account_id", "month"], how="inner")
    rows = []
    for trig in rubric.triggers:
        part = onsets[onsets["trigger"] == trig.name]
        n, k = len(part), int(part["expanded"].sum())
        post = beta_posterior(k, n, prob=prob).iloc[0] if n else None
        if post is not None and n >= min_onsets:  # post is None only without onsets
            p, p_src = float(post["mean"]), f"history ({k} of {n} onsets expanded)"
        elif trig.team_probability is not None:
            p, p_src = trig.team_probability, f"team assumption (only {n} observed onsets)"
        else:
            p, p_src = base_rate, f"base rate, no team value (only {n} observed onsets)"
        gains = part.loc[part["expanded"], "uplift"]
        gains = gains[gains > 0]
        if len(gains) >= min_expansions:
            share, s_src = float(gains.median()), f"history (median of {len(gains)} expansions)"
        else:
            share, s_src = trig.potential_share, "rubric default"
        rows.append(
            {
                "trigger": trig.name,
                "label": trig.label,
                "onsets": n,
                "expanded": k,
                "rate": k / n if n else np.nan,
                "rate_lower": float(post["lower"]) if post is not None else np.nan,
                "rate_upper": float(post["upper"]) if post is not None else np.nan,
                "base_rate": base_rate,
                "lift": (k / n) / base_rate if n and base_rate else np.nan,
                "team_probability": trig.team_probability,
                "probability": p,
                "probability_source": p_src,
                "potential_share": share,
                "potential_source": s_src,
            }
        )
    return pd.DataFrame(rows)


def expansion_opportunities(
    snapshot: pd.DataFrame, flags: pd.DataFrame, history: pd.DataFrame, rubric: Rubric
) -> pd.DataFrame:
    """Expected expansion ARR: potential ARR (current ARR x the trigger's potential share) x
    the probability that the trigger converts. Reporting currency per year.

    Triggers fired by paying accounts in the snapshot month, ranked by expected ARR. One row per account and trigger;
    ``best_for_account`` marks each account's highest row (sum only those to avoid counting an
    account twice). Sorted by expected ARR, highest first.
    """
    month = snapshot["month"].iloc[0] if len(snapshot) else None
    now = flags[flags["month"] == month]
    keep = [
        c
        for c in ("account_id", "name", "segment", "arr", "health_score", "band_label")
        if c in snapshot.columns
    ]
    base = snapshot[keep].merge(now, on="account_id", how="inner")
    info = history.set_index("trigger")
    triggers = {t.name: t for t in rubric.triggers}
    parts = []
    for name, trig in triggers.items():
        fired = base[base[name]].copy()
        if fired.empty:
            continue
        h = info.loc[name]
        fired["trigger"] = name
        fired["trigger_label"] = trig.label
        fired["probability"] = float(h["probability"])
        fired["probability_source"] = h["probability_source"]
        fired["potential_arr"] = fired["arr"] * float(h["potential_share"])
        fired["potential_source"] = h["potential_source"]
        fired["expected_arr"] = fired["potential_arr"] * fired["probability"]
        fired["owner"] = trig.owner
        fired["action"] = trig.action
        parts.append(fired.drop(columns=[*triggers, "month"]))
    if not parts:
        cols = [
            *keep,
            "trigger",
            "trigger_label",
            "probability",
            "probability_source",
            "potential_arr",
            "potential_source",
            "expected_arr",
            "owner",
            "action",
            "best_for_account",
            "rank",
        ]
        return pd.DataFrame(columns=cols)
    out = pd.concat(parts, ignore_index=True).sort_values(
        ["expected_arr", "account_id", "trigger"], ascending=[False, True, True], ignore_index=True
    )
    out["best_for_account"] = ~out["account_id"].duplicated()
    out["rank"] = np.arange(1, len(out) + 1)
    return out
