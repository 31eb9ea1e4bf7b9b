"""Deal types, input checks and the survival (time-to-close) estimator shared by the forecasts."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from revlib.periods import month_start

TYPES = ("new_business", "expansion", "renewal")
DAYS_PER_MONTH = 365.25 / 12


def check_choice(name: str, value, allowed: Iterable) -> None:
    allowed = tuple(allowed)
    if value not in allowed:
        raise ValueError(f"{name} must be one of {list(allowed)}, got {value!r}")


def default_as_of(opportunities: pd.DataFrame) -> pd.Timestamp:
    """The first day of the month after the last month with deal activity (created or closed)."""
    closed = opportunities.loc[opportunities["status"] != "open", "close_date"]
    last = max(pd.Timestamp(opportunities["created_date"].max()), pd.Timestamp(closed.max()))
    return month_start(last) + pd.DateOffset(months=1)


# ----------------------------------------------------------------------------- survival


def logit(p: np.ndarray, *, eps: float = 1e-9) -> np.ndarray:
    """Log-odds of probabilities, clipped to [eps, 1 - eps] first (no infinities)."""
    p = np.clip(np.asarray(p, dtype=float), eps, 1 - eps)
    return np.log(p / (1 - p))


def expit(x: np.ndarray) -> np.ndarray:
    """Inverse of :func:`logit`: 1 / (1 + exp(-x))."""
    return 1.0 / (1.0 + np.exp(-x))


@dataclass(frozen=True)
class Survival:
    """Time to close with two outcomes (won, lost): a Kaplan-Meier curve with delayed entry and
    the share of closes at each time that were wins (the Aalen-Johansen competing-risk
    estimate). Times are days on the curve's own axis.

    ``times`` are the distinct close times, ``hazard`` the share of deals at risk that closed
    at each time and ``win_share`` the share of those closes that were won. Deals still open at
    the end of the data are censored, so a plateau (survival that never reaches 0) means some
    deals never close.
    """

    times: np.ndarray
    hazard: np.ndarray
    win_share: np.ndarray
    n_events: float
    n_won: float = 0.0

    def logit_sd(self) -> float:
        """Standard error of the overall win share on the log-odds scale (rate uncertainty)."""
        lost = self.n_events - self.n_won
        return float(np.sqrt(1.0 / (self.n_won + 0.5) + 1.0 / (lost + 0.5)))

    @property
    def survival(self) -> np.ndarray:
        """P(T > t) at each of ``times``."""
        return np.cumprod(1.0 - self.hazard)

    def cum_log_survival(self) -> np.ndarray:
        """log S just before each of ``times`` (``[j]``), and log S after the last (``[-1]``)."""
        logs = np.log(np.clip(1.0 - self.hazard, 1e-300, None))
        return np.concatenate([[0.0], np.cumsum(logs)])  # cum[j] = log S just before times[j]

    def sample(
        self, entry: np.ndarray, rng: np.random.Generator, *, logit_shift=0.0
    ) -> tuple[np.ndarray, np.ndarray]:
        """Close time and outcome of deals known to be open at ``entry``: T ~ (T | T >= entry),
        won ~ Bernoulli(win share at T, shifted by ``logit_shift`` on the log-odds scale).

        Returns (time, won); time is ``inf`` (and won False) where the draw falls on the plateau.
        """
        entry = np.asarray(entry, dtype=float)
        if len(self.times) == 0:
            return np.full(entry.shape, np.inf), np.zeros(entry.shape, dtype=bool)
        cum = self.cum_log_survival()
        start = np.searchsorted(self.times, entry, side="left")  # first close time >= entry
        target = cum[start] + np.log(rng.uniform(size=entry.shape))
        # first j >= start with cum[j + 1] <= target; -cum is non-decreasing
        j = np.maximum(np.searchsorted(-cum[1:], -target, side="left"), start)
        ok = j < len(self.times)
        jj = np.where(ok, j, 0)
        share = self.win_share[jj]
        if np.any(np.asarray(logit_shift) != 0):
            share = expit(logit(share) + logit_shift)
        won = ok & (rng.uniform(size=entry.shape) < share)
        return np.where(ok, self.times[jj], np.inf), won

    def prob_by(self, entry: np.ndarray, horizon: np.ndarray) -> np.ndarray:
        """P(entry <= T < horizon | T >= entry): the chance a deal open at ``entry`` closes
        (won or lost) before ``horizon``."""
        entry = np.asarray(entry, dtype=float)
        horizon = np.asarray(horizon, dtype=float)
        if len(self.times) == 0:
            return np.zeros(np.broadcast(entry, horizon).shape)
        cum = self.cum_log_survival()
        a = cum[np.searchsorted(self.times, entry, side="left")]
        b = cum[np.searchsorted(self.times, np.maximum(horizon, entry), side="left")]
        return np.clip(1.0 - np.exp(b - a), 0.0, 1.0)

    def win_between(
        self, entry: np.ndarray, lo: np.ndarray, hi: np.ndarray, *, logit_shift=0.0
    ) -> np.ndarray:
        """P(won and lo <= T < hi | T >= entry) for deals open at ``entry`` (use ``hi = inf``
        for the chance of ever being won). One value per deal."""
        entry, lo, hi = (np.atleast_1d(np.asarray(x, dtype=float)) for x in (entry, lo, hi))
        entry, lo, hi = np.broadcast_arrays(entry, lo, hi)
        if len(self.times) == 0:
            return np.zeros(entry.shape)
        cum = self.cum_log_survival()
        shift = np.broadcast_to(np.asarray(logit_shift, dtype=float), entry.shape)
        t = self.times[None, :]
        inside = (t >= np.maximum(lo, entry)[:, None]) & (t < hi[:, None])
        share = expit(logit(self.win_share)[None, :] + shift[:, None])
        # P(T = t_j | T >= entry) = S(t_j-) / S(entry-) x hazard_j, in log space (no underflow)
        base = cum[np.searchsorted(self.times, entry, side="left")]
        log_ratio = np.where(inside, cum[None, :-1] - base[:, None], -np.inf)
        return (np.exp(log_ratio) * self.hazard[None, :] * share).sum(axis=1)


def kaplan_meier(
    duration: np.ndarray,
    event: np.ndarray,
    *,
    won: np.ndarray | None = None,
    entry: np.ndarray | None = None,
    weight: np.ndarray | None = None,
) -> Survival:
    """Kaplan-Meier estimate of time to close with delayed entry: a deal is at risk at ``t``
    when ``entry <= t <= duration``; ``event`` False means censored (still open) at
    ``duration``; ``won`` marks the closes that were wins (default: all). Days."""
    d = np.asarray(duration, dtype=float)
    e = np.asarray(event, dtype=bool)
    s = np.zeros_like(d) if entry is None else np.asarray(entry, dtype=float)
    w = np.ones_like(d) if weight is None else np.asarray(weight, dtype=float)
    wn = e if won is None else np.asarray(won, dtype=bool) & e
    if len(d) and np.any(d < s):
        raise ValueError("every duration must be >= its entry time")
    times = np.unique(d[e])
    if len(times) == 0:
        return Survival(np.array([]), np.array([]), np.array([]), 0.0, 0.0)
    pos = np.searchsorted(times, d[e])
    events = np.bincount(pos, weights=w[e], minlength=len(times))
    wins = np.bincount(pos, weights=(w * wn)[e], minlength=len(times))
    # at risk at t: entered at or before t and not out before t
    o_in, o_out = np.argsort(s, kind="stable"), np.argsort(d, kind="stable")
    cum_in = np.concatenate([[0.0], np.cumsum(w[o_in])])
    cum_out = np.concatenate([[0.0], np.cumsum(w[o_out])])
    entered = cum_in[np.searchsorted(s[o_in], times, side="right")]
    left = cum_out[np.searchsorted(d[o_out], times, side="left")]
    at_risk = entered - left
    hazard = np.divide(events, at_risk, out=np.zeros_like(events), where=at_risk > 0)
    share = np.divide(wins, events, out=np.zeros_like(events), where=events > 0)
    return Survival(
        times, np.clip(hazard, 0.0, 1.0), share, float(w[e].sum()), float((w * wn)[e].sum())
    )
