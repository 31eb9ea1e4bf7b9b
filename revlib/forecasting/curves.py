"""Close-time curves without stage history: time from creation to close, with the share won.

A competing-risk Kaplan-Meier estimate per deal type (:class:`~revlib.forecasting._common.Survival`)
used for deals not yet created and, when there is no ``opportunity_history``, for open deals
(entered at their age). :func:`size_effects` adds how deal size moves the win odds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from revlib.forecasting._common import TYPES, Survival, kaplan_meier, logit
from revlib.pipeline_history import check_opportunities, observation_start


@dataclass(frozen=True)
class CurveSet:
    """Created-to-close curves (:class:`Survival`) per type and for all deals (key ``"all"``);
    a type needs ``min_events`` closed deals for its own curve. ``size`` holds, per curve, the
    mean log(1 + amount) of the closed deals behind it."""

    curves: dict[str, Survival]
    size: dict[str, float] = field(default_factory=dict)

    def key_for(self, deal_type: str) -> str:
        return deal_type if deal_type in self.curves else "all"

    def __getitem__(self, key: str) -> Survival:
        return self.curves[key]


def created_to_close_curves(
    opportunities: pd.DataFrame, *, as_of, months: int = 24, min_events: int = 30
) -> CurveSet:
    """Time from creation to close and the share won at each time, by type (and for all deals):
    competing-risk Kaplan-Meier over deals created in the ``months`` before ``as_of``; deals
    still open at ``as_of`` are censored there. Deals created before the extract's first
    recorded close (:func:`observation_start`) enter at the age they had on that date. Days."""
    opps = check_opportunities(opportunities)
    t = pd.Timestamp(as_of).normalize()
    d = opps[
        (opps["created_date"] < t) & (opps["created_date"] >= t - pd.DateOffset(months=months))
    ]
    closed = ((d["status"] != "open") & (d["close_date"] < t)).to_numpy(bool)
    won = closed & (d["status"] == "won").to_numpy(bool)
    dur = np.where(
        closed, (d["close_date"] - d["created_date"]).dt.days, (t - d["created_date"]).dt.days
    ).astype(float)
    entry = np.clip((observation_start(opps) - d["created_date"]).dt.days.to_numpy(float), 0.0, dur)
    z = np.log1p(d["amount"].to_numpy(float))
    types = d["type"].astype(str).to_numpy(object)
    curves, sizes = {}, {}
    for key in ["all", *TYPES]:
        m = np.ones(len(d), bool) if key == "all" else types == key
        if key != "all" and closed[m].sum() < min_events:
            continue
        curves[key] = kaplan_meier(dur[m], closed[m], won=won[m], entry=entry[m])
        sizes[key] = float(z[m & closed].mean()) if (m & closed).any() else float("nan")
    return CurveSet(curves, sizes)


def size_effects(snaps: pd.DataFrame, *, prior_sd: float = 1.0) -> dict[str, float]:
    """How deal size moves the odds of winning, by type: the slope of log-odds(won) on
    log(1 + amount) among snapshot deals that closed, with a fixed effect per stage (logistic
    regression, Normal(0, ``prior_sd``) prior on the slope). Log-odds per unit of log amount;
    negative = big deals are won less often."""
    closed = snaps[snaps["closed"]]
    out = {}
    for ty in TYPES:
        d = closed[closed["type"] == ty]
        if len(d) < 30 or d["won"].nunique() < 2:
            out[ty] = 0.0
            continue
        stage = pd.factorize(d["stage"])[0]
        z = np.log1p(d["amount"].to_numpy(float))
        X = np.column_stack([np.eye(stage.max() + 1)[stage], z - z.mean()])
        y = d["won"].to_numpy(float)
        prior = np.diag([1 / 100.0] * (X.shape[1] - 1) + [1 / prior_sd**2])
        beta = np.zeros(X.shape[1])
        for _ in range(50):
            p = 1 / (1 + np.exp(-(X @ beta)))
            grad = X.T @ (y - p) - prior @ beta
            hess = X.T @ (X * (p * (1 - p))[:, None]) + prior
            step = np.linalg.solve(hess, grad)
            beta += step
            if np.max(np.abs(step)) < 1e-9:
                break
        out[ty] = float(beta[-1])
    return out


def km_table(curve: Survival, entry: np.ndarray, shift: np.ndarray, weeks: int) -> np.ndarray:
    """Outcome table (deals, 2 x weeks + 1) from an age curve: won in week k, lost in week k
    (weeks after as_of), still open after ``weeks``; deals enter the curve at their age."""
    n = len(entry)
    out = np.zeros((n, 2 * weeks + 1))
    if n == 0 or len(curve.times) == 0:
        out[:, -1] = 1.0
        return out
    cum = curve.cum_log_survival()
    base = cum[np.searchsorted(curve.times, entry, side="left")]
    after = curve.times[None, :] >= entry[:, None]
    mass = (
        np.where(after, np.exp(np.minimum(cum[None, :-1] - base[:, None], 0.0)), 0.0)
        * curve.hazard[None, :]
    )
    share = 1.0 / (1.0 + np.exp(-(logit(curve.win_share, eps=1e-6)[None, :] + shift[:, None])))
    week = np.floor((curve.times[None, :] - entry[:, None]) / 7).astype(int)
    inside = after & (week < weeks)
    rows = np.broadcast_to(np.arange(n)[:, None], week.shape)
    won = np.bincount(
        (rows * weeks + week)[inside], weights=(mass * share)[inside], minlength=n * weeks
    )
    lost = np.bincount(
        (rows * weeks + week)[inside], weights=(mass * (1 - share))[inside], minlength=n * weeks
    )
    out[:, :weeks] = won.reshape(n, weeks)
    out[:, weeks : 2 * weeks] = lost.reshape(n, weeks)
    out[:, -1] = np.clip(1.0 - out[:, :-1].sum(axis=1), 0.0, 1.0)
    return out
