"""When an open deal closes, and whether it is won: a discrete-time competing-risk model.

Fitted on past pipelines (month-start snapshots, see :func:`revlib.pipeline_history.snapshots`):
every deal open at a snapshot is followed week by week until it closes (won or lost) or the
as-of date censors it. Each deal-week is one row whose outcome is *still open*, *won* or *lost*;
a multinomial logistic regression predicts it from what was known at the snapshot:

* the week since the snapshot (hazards change as time passes),
* where that week stands against the deal's expected close date then (before it, the week it
  falls due, overdue by one, two, four+ weeks): this is how slips enter, since a deal expected
  this week may close in two months or never,
* stage x type, the deal's age band and log amount (big deals are won less often, or more,
  depending on the type).

A forecast turns each open deal's weekly probabilities into a distribution over (week, outcome)
and samples from it. ``logit_sd`` gives the uncertainty of each type's win odds, drawn once per
simulation so that deals of a type move together.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

WEEK_BINS = (0, 1, 2, 3, 4, 6, 9, 13, 18, 26, 39, 10_000)  # weeks since snapshot, left edges
DUE_BINS = (-10_000, -8, -4, -2, -1, 0, 1, 2, 4, 10_000)  # weeks of (week start - expected close)
AGE_BINS = (0, 31, 91, 181, 10_000)  # days since created at the snapshot
MAX_WEEKS = 52  # deals still open a year after the snapshot stay open in the simulation
CLOSING_DEFAULTS: dict[str, Any] = {"C": 1.0, "max_weeks": MAX_WEEKS}


def _bin(x: np.ndarray, edges) -> np.ndarray:
    return np.clip(np.searchsorted(edges, x, side="right") - 1, 0, len(edges) - 2)


@dataclass
class ClosingModel:
    """A fitted weekly closing model; see the module docstring."""

    model: Any
    columns: list[str]
    z_mean: float
    logit_sd: dict[str, float]
    max_weeks: int
    info: dict[str, Any] = field(default_factory=dict)

    def _design(self, deals: pd.DataFrame, weeks: np.ndarray) -> pd.DataFrame:
        """Rows = deals x weeks (deal-major)."""
        n, w = len(deals), len(weeks)
        wk = np.tile(weeks, n)
        dtc = np.repeat(deals["days_to_close"].to_numpy(float), w)
        age = np.repeat(deals["age_days"].to_numpy(float), w)
        st = np.repeat(
            (deals["stage"].astype(str) + "|" + deals["type"].astype(str)).to_numpy(object), w
        )
        z = np.repeat(np.log1p(deals["amount"].to_numpy(float)), w) - self.z_mean
        return _features(
            wk, dtc, age, st, z, deals_type=np.repeat(deals["type"].astype(str).to_numpy(object), w)
        )

    def weekly_log(self, deals: pd.DataFrame) -> np.ndarray:
        """Log of the weekly probabilities (deals, weeks, 3): still open, won, lost, for weeks
        0..max_weeks-1 after the as-of date."""
        weeks = np.arange(self.max_weeks)
        if len(deals) == 0:
            return np.zeros((0, len(weeks), 3))
        X = self._design(deals, weeks).reindex(columns=self.columns, fill_value=0.0)
        logp = self.model.predict_log_proba(X.to_numpy(float))  # classes 0 open, 1 won, 2 lost
        return logp.reshape(len(deals), len(weeks), 3)

    def weekly(
        self,
        deals: pd.DataFrame,
        *,
        logit_shift: np.ndarray | None = None,
        log_probs: np.ndarray | None = None,
    ) -> np.ndarray:
        """Weekly probabilities (deals, weeks, 3): still open, won, lost. ``logit_shift`` (per
        deal) moves the won log-odds; ``log_probs`` reuses :meth:`weekly_log` output."""
        logp = (self.weekly_log(deals) if log_probs is None else log_probs).copy()
        if logit_shift is not None:
            logp[:, :, 1] += np.asarray(logit_shift, float)[:, None]
            logp -= np.logaddexp.reduce(logp, axis=2, keepdims=True)
        return np.exp(logp)


def _features(week, dtc, age, stage_type, z, deals_type) -> pd.DataFrame:
    # weeks past the week holding the expected close: 0 = it falls due this week, < 0 before
    due = np.where(np.isnan(dtc), np.nan, week - np.floor(dtc / 7))
    cols = {}
    wb = _bin(week, WEEK_BINS)
    for i in range(len(WEEK_BINS) - 1):
        cols[f"week_{WEEK_BINS[i]}"] = (wb == i).astype(float)
    db = np.where(np.isnan(due), -1, _bin(np.nan_to_num(due), DUE_BINS))
    for i in range(len(DUE_BINS) - 1):
        cols[f"due_{DUE_BINS[i]}"] = (db == i).astype(float)
    cols["due_unknown"] = (db == -1).astype(float)
    ab = _bin(age, AGE_BINS)
    for i in range(len(AGE_BINS) - 1):
        cols[f"age_{AGE_BINS[i]}"] = (ab == i).astype(float)
    for lvl in np.unique(stage_type):
        cols[f"st_{lvl}"] = (stage_type == lvl).astype(float)
    for ty in np.unique(deals_type):
        cols[f"z_{ty}"] = np.where(deals_type == ty, z, 0.0)
    return pd.DataFrame(cols)


def deal_weeks(snaps: pd.DataFrame, *, as_of, max_weeks: int = MAX_WEEKS) -> pd.DataFrame:
    """One row per snapshot deal and fully observed week after its snapshot: week, outcome
    (0 still open at the week's end, 1 won, 2 lost in the week), with the snapshot's
    days_to_close, age_days, stage, type and amount."""
    t = pd.Timestamp(as_of).normalize()
    snap = snaps["snapshot"].to_numpy("datetime64[ns]")
    close = snaps["close_date"].to_numpy("datetime64[ns]")
    day = np.timedelta64(1, "D")
    observed = ((np.datetime64(t, "ns") - snap) / day).astype(float)  # days until censoring
    closed = snaps["closed"].to_numpy(bool)
    to_close = np.where(closed, (close - snap) / day, np.inf)
    close_week = np.floor(to_close / 7)
    last_week = np.minimum(np.where(closed, close_week, np.floor(observed / 7) - 1), max_weeks - 1)
    n_weeks = np.maximum(last_week + 1, 0).astype(int)
    rep = np.repeat(np.arange(len(snaps)), n_weeks)
    week = np.arange(n_weeks.sum()) - np.repeat(np.cumsum(n_weeks) - n_weeks, n_weeks)
    won = snaps["won"].to_numpy(bool)
    ends = closed[rep] & (week == close_week[rep])
    outcome = np.where(ends, np.where(won[rep], 1, 2), 0)
    cols = ["days_to_close", "age_days", "stage", "type", "amount", "weight"]
    out = snaps.iloc[rep][cols].reset_index(drop=True)
    out["week"] = week
    out["outcome"] = outcome
    return out


def fit_closing_model(
    snaps: pd.DataFrame, *, as_of, config: dict[str, Any] | None = None
) -> ClosingModel:
    """Fit the weekly closing model on snapshot deals (see the module docstring)."""
    from sklearn.linear_model import LogisticRegression

    cfg = CLOSING_DEFAULTS | dict(config or {})
    rows = deal_weeks(snaps, as_of=as_of, max_weeks=cfg["max_weeks"])
    if rows["outcome"].nunique() < 3:
        raise ValueError(
            "the closing model needs past deals that were won, lost and still open; the history is too short"
        )
    z = np.log1p(rows["amount"].to_numpy(float))
    z_mean = float(z.mean())
    st = (rows["stage"].astype(str) + "|" + rows["type"].astype(str)).to_numpy(object)
    X = _features(
        rows["week"].to_numpy(float),
        rows["days_to_close"].to_numpy(float),
        rows["age_days"].to_numpy(float),
        st,
        z - z_mean,
        deals_type=rows["type"].astype(str).to_numpy(object),
    )
    model = LogisticRegression(C=cfg["C"], solver="newton-cholesky", max_iter=200)
    model.fit(X.to_numpy(float), rows["outcome"].to_numpy(int))
    # uncertainty of each type's win odds: deals (each counted once) that closed
    ends = rows[rows["outcome"] > 0]
    sd = {}
    for ty, g in ends.groupby("type"):
        won = float(g.loc[g["outcome"] == 1, "weight"].sum())
        lost = float(g.loc[g["outcome"] == 2, "weight"].sum())
        sd[str(ty)] = float(np.sqrt(1 / (won + 0.5) + 1 / (lost + 0.5)))
    info = {
        "rows": len(rows),
        "deals": float(snaps["weight"].sum()),
        "closed_rows": int((rows["outcome"] > 0).sum()),
    }
    return ClosingModel(model, list(X.columns), z_mean, sd, int(cfg["max_weeks"]), info)


def outcome_table(probs: np.ndarray) -> np.ndarray:
    """From weekly probabilities (deals, weeks, 3) to the chance of each (week, outcome):
    array (deals, 2 x weeks + 1): won in week 0..W-1, lost in week 0..W-1, still open after W."""
    p_open = probs[:, :, 0]
    alive = np.concatenate([np.ones((len(probs), 1)), np.cumprod(p_open, axis=1)[:, :-1]], axis=1)
    won = alive * probs[:, :, 1]
    lost = alive * probs[:, :, 2]
    rest = np.clip(1 - won.sum(axis=1) - lost.sum(axis=1), 0.0, 1.0)
    return np.concatenate([won, lost, rest[:, None]], axis=1)
