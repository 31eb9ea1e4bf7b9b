"""The pipeline as it stood on a date, stage win rates, forecast categories and pipeline health.

A deal is *open at* time ``t`` (midnight) when it was created before ``t`` and was not yet
closed: ``created_date < t`` and (status is open or ``close_date >= t``). With an
``opportunity_history`` table its stage, amount and expected close date are those of the last
change before ``t``. Without one (e.g. the Maven CRM data) the pipeline is *approximate*: a deal
is open on the same rule, but its stage and expected close date at ``t`` are unknown (the
current values would leak the future), so they are reported as ``"(no history)"`` and NaT and
the forecasts time deals by their age instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from revlib.forecasting._common import (
    check_opportunities,
    month_start,
    observation_start,
)

NO_HISTORY_STAGE = "(no history)"
CATEGORIES = ("closed", "commit", "best_case", "pipeline")
CATEGORY_DEFAULTS: dict[str, float] = {"commit": 0.7, "best_case": 0.4}
_CATEGORY_NAMES = {
    "commit": "commit",
    "best case": "best_case",
    "best_case": "best_case",
    "bestcase": "best_case",
    "pipeline": "pipeline",
    "omitted": "omitted",
    "closed": "closed",
}


def _has_history(history: pd.DataFrame | None) -> bool:
    return history is not None and len(history) > 0


def _prepare_history(history: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in ("opportunity_id", "changed_at", "stage") if c not in history.columns]
    if missing:
        raise ValueError(
            f"opportunity_history must have columns opportunity_id, changed_at, stage; missing {missing}"
        )
    h = history.copy()
    h["opportunity_id"] = h["opportunity_id"].astype(str)
    h["changed_at"] = pd.to_datetime(h["changed_at"]).astype("datetime64[ns]")
    for col in ("amount", "close_date"):
        if col not in h.columns:
            h[col] = np.nan if col == "amount" else pd.NaT
    h["close_date"] = pd.to_datetime(h["close_date"]).astype("datetime64[ns]")
    h = h.sort_values(["opportunity_id", "changed_at"], kind="stable").reset_index(drop=True)
    # start of the run of identical stages each row belongs to
    new_run = (h["stage"] != h.groupby("opportunity_id")["stage"].shift()).to_numpy()
    h["stage_since"] = h["changed_at"].where(new_run).groupby(h["opportunity_id"]).ffill()
    return h


@dataclass(frozen=True)
class _Book:
    """Opportunities (checked) and their history as arrays, for fast as-of lookups."""

    opps: pd.DataFrame
    created: np.ndarray  # datetime64[ns]
    close: np.ndarray
    is_open: np.ndarray  # status == "open"
    h_opp: np.ndarray | None = None  # history rows sorted by (deal, changed_at): deal position
    h_at: np.ndarray | None = None
    h_stage: np.ndarray | None = None
    h_amount: np.ndarray | None = None
    h_close: np.ndarray | None = None
    h_since: np.ndarray | None = None
    first_row: np.ndarray | None = None  # first history row of each deal (-1 if none)


def _book(opportunities: pd.DataFrame, history: pd.DataFrame | None) -> _Book:
    if isinstance(opportunities, _Book):
        return opportunities
    opps = check_opportunities(opportunities).reset_index(drop=True)
    base = {
        "opps": opps,
        "created": opps["created_date"].to_numpy("datetime64[ns]"),
        "close": opps["close_date"].to_numpy("datetime64[ns]"),
        "is_open": (opps["status"] == "open").to_numpy(),
    }
    if not _has_history(history):
        return _Book(**base)
    h = history if "stage_since" in history.columns else _prepare_history(history)
    pos = pd.Series(np.arange(len(opps)), index=opps["opportunity_id"].to_numpy())
    opp = h["opportunity_id"].map(pos)
    h = h[opp.notna()]
    opp = opp[opp.notna()].to_numpy(dtype=np.int64)
    order = np.lexsort((h["changed_at"].to_numpy("datetime64[ns]"), opp))
    h, opp = h.iloc[order], opp[order]
    first = np.full(len(opps), -1)
    starts = np.r_[True, opp[1:] != opp[:-1]] if len(opp) else np.array([], bool)
    first[opp[starts]] = np.flatnonzero(starts)
    return _Book(
        **base,
        h_opp=opp,
        h_at=h["changed_at"].to_numpy("datetime64[ns]"),
        h_stage=h["stage"].astype(str).to_numpy(dtype=object),
        h_amount=pd.to_numeric(h["amount"], errors="coerce").to_numpy(dtype=float),
        h_close=h["close_date"].to_numpy("datetime64[ns]"),
        h_since=h["stage_since"].to_numpy("datetime64[ns]"),
        first_row=first,
    )


def _as_of(book: _Book, t: pd.Timestamp) -> pd.DataFrame:
    opps = book.opps
    t64 = np.datetime64(t, "ns")
    idx = np.flatnonzero((book.created < t64) & (book.is_open | (book.close >= t64)))
    keep = ["opportunity_id", "type", "stage", "amount", "created_date"]
    keep += [c for c in ("account_id", "owner", "forecast_category") if c in opps.columns]
    out = opps.iloc[idx][keep].reset_index(drop=True)
    created = book.created[idx]
    if book.h_opp is not None:
        rows = np.flatnonzero(book.h_at < t64)
        opp = book.h_opp[rows]
        is_last = np.r_[opp[1:] != opp[:-1], True] if len(rows) else np.array([], bool)
        last_for = np.full(len(opps), -1)
        last_for[opp[is_last]] = rows[is_last]
        last = last_for[idx]
        first = book.first_row[idx]
        has, has_first = last >= 0, first >= 0
        stage = out["stage"].astype(str).to_numpy(dtype=object)
        stage = np.where(has_first, book.h_stage[np.maximum(first, 0)], stage)
        out["stage"] = pd.array(
            np.where(has, book.h_stage[np.maximum(last, 0)], stage), dtype="str"
        )
        amt = np.where(has, book.h_amount[np.maximum(last, 0)], np.nan)
        out["amount"] = np.where(np.isnan(amt), out["amount"].to_numpy(float), amt)
        nat = np.datetime64("NaT", "ns")
        out["expected_close"] = np.where(has, book.h_close[np.maximum(last, 0)], nat)
        since = np.where(has, book.h_since[np.maximum(last, 0)], nat)
        since = np.where(np.isnat(since), created, since)
        out["source"] = "history"
    else:
        out["stage"] = NO_HISTORY_STAGE
        out["expected_close"] = np.full(len(idx), np.datetime64("NaT", "ns"))
        since = created
        out["source"] = "approximate"
    day = np.timedelta64(1, "D")
    out["age_days"] = ((t64 - created) / day).astype(float)
    out["stage_days"] = ((t64 - since) / day).astype(float)
    out["days_to_close"] = ((out["expected_close"].to_numpy("datetime64[ns]") - t64) / day).astype(
        float
    )
    return out


def pipeline_as_of(
    opportunities: pd.DataFrame,
    history: pd.DataFrame | None = None,
    *,
    as_of,
) -> pd.DataFrame:
    """Open deals at ``as_of`` (midnight) with the stage, amount and expected close they had then.

    Columns: opportunity_id, type, stage, amount (ARR), created_date, expected_close (NaT when
    unknown), source ("history" or "approximate", see the module docstring), age_days (days
    since created), stage_days (days in the current stage; age when unknown) and days_to_close
    (expected_close - as_of, days; negative = overdue).
    """
    return _as_of(_book(opportunities, history), pd.Timestamp(as_of).normalize())


def snapshots(
    opportunities: pd.DataFrame,
    history: pd.DataFrame | None = None,
    *,
    as_of,
    months: int = 12,
) -> pd.DataFrame:
    """The pipeline at each month start in the ``months`` before ``as_of``, with each deal's
    outcome as it was known at ``as_of``: ``closed`` (won or lost before as_of), ``won`` and
    ``close_date`` (NaT while open). Snapshots before the extract's first recorded close
    (:func:`~revlib.forecasting._common.observation_start`) are skipped, except the latest. ``weight`` = 1 / the number of snapshots the deal is in:
    summed, it counts deals rather than appearances (used for the uncertainty of rates)."""
    if months < 1:
        raise ValueError(f"months must be >= 1, got {months}")
    book = _book(opportunities, history)
    opps = book.opps
    t = pd.Timestamp(as_of).normalize()
    latest = month_start(t) if month_start(t) < t else month_start(t) - pd.DateOffset(months=1)
    first = observation_start(opps)  # earlier snapshots would miss deals that closed before it
    frames = []
    for k in range(months - 1, -1, -1):
        s = latest - pd.DateOffset(months=k)
        if s < first and k > 0:
            continue
        snap = _as_of(book, s)
        snap.insert(0, "snapshot", s)
        frames.append(snap)
    out = pd.concat(frames, ignore_index=True)
    out["snapshot"] = out["snapshot"].astype("datetime64[ns]")
    pos = pd.Series(np.arange(len(opps)), index=opps["opportunity_id"].to_numpy())
    i = pos.reindex(out["opportunity_id"].to_numpy()).to_numpy()
    t64 = np.datetime64(t, "ns")
    closed = ~book.is_open[i] & (book.close[i] < t64)
    out["closed"] = closed
    out["won"] = closed & (opps["status"].to_numpy()[i] == "won")
    out["close_date"] = np.where(closed, book.close[i], np.datetime64("NaT", "ns"))
    out["weight"] = 1.0 / out.groupby("opportunity_id")["snapshot"].transform("size").astype(float)
    return out


def stage_win_rates(
    snaps: pd.DataFrame,
    *,
    by: Sequence[str] = ("stage", "type"),
    prior_strength: float = 10.0,
) -> pd.DataFrame:
    """Win rate of deals by stage (and type) as of the snapshots: won / closed among the deals
    open in that stage at a month-start snapshot that had closed by the as-of date. Ratio in
    [0, 1].

    The rate counts every snapshot appearance (the pipeline a forecast sees is such a
    snapshot); its uncertainty counts each deal once (the ``weight`` column), so a deal seen in
    five snapshots does not look like five pieces of evidence. Rates are shrunk towards the
    rate of the coarser group (stage, then all deals) with ``prior_strength`` pseudo-deals.
    Columns: the ``by`` keys, won, closed (deal-weighted counts), win_rate, alpha, beta (the
    Beta posterior of the rate).
    """
    by = list(by)
    unknown = [b for b in by if b not in ("stage", "type")]
    if unknown:
        raise ValueError(f"by must be a subset of ('stage', 'type'), got {unknown}")
    closed = snaps[snaps["closed"]].assign(won=lambda d: d["won"].astype(float), one=1.0)
    total = closed[["won", "one", "weight"]].sum()
    base = (total["won"] + 1.0) / (total["one"] + 2.0)
    if by:
        agg = closed.groupby(by, observed=True)[["won", "one", "weight"]].sum().reset_index()
        keys = snaps[by].drop_duplicates().reset_index(drop=True)
        out = keys.merge(agg, on=by, how="left").fillna({"won": 0.0, "one": 0.0, "weight": 0.0})
    else:
        out = pd.DataFrame([total.to_dict()])
    rate = np.divide(out["won"], out["one"], out=np.full(len(out), base), where=out["one"] > 0)
    out["closed"] = out["weight"]  # deals, each counted once
    out["won"] = rate * out["closed"]
    prior_mean = pd.Series(base, index=out.index)
    if "stage" in by and len(by) > 1:
        stage_rates = stage_win_rates(snaps, by=("stage",), prior_strength=prior_strength)
        prior_mean = out["stage"].map(stage_rates.set_index("stage")["win_rate"]).fillna(base)
    out["alpha"] = prior_mean * prior_strength + out["won"]
    out["beta"] = (1 - prior_mean) * prior_strength + out["closed"] - out["won"]
    out["win_rate"] = out["alpha"] / (out["alpha"] + out["beta"])
    return out[[*by, "won", "closed", "win_rate", "alpha", "beta"]]


def lookup_rates(deals: pd.DataFrame, rates: pd.DataFrame) -> pd.DataFrame:
    """Each deal's (alpha, beta, win_rate) from a :func:`stage_win_rates` table, falling back
    to the stage, then to all deals, when its exact group has no row."""
    keys = [c for c in ("stage", "type") if c in rates.columns]
    out = deals[keys].merge(rates, on=keys, how="left")
    if out["win_rate"].isna().any():
        total = rates[["won", "closed"]].sum()
        a0 = (total["won"] + 1.0) / (total["closed"] + 2.0)
        fill = {"alpha": a0 * 10, "beta": (1 - a0) * 10, "win_rate": a0}
        out = out.fillna(fill)
    out.index = deals.index
    return out[["alpha", "beta", "win_rate"]]


# ----------------------------------------------------------------------------- categories


def forecast_category(
    deals: pd.DataFrame, win_rate: pd.Series, *, thresholds: Mapping[str, float] | None = None
) -> pd.Series:
    """CRM forecast category of each open deal: the deal's own ``forecast_category`` when the
    CRM provides one (pipeline, best case, commit, omitted), else from its stage's historical win
    rate: commit when >= 0.7, best case when >= 0.4, pipeline otherwise (``thresholds``)."""
    th = CATEGORY_DEFAULTS | dict(thresholds or {})
    derived = np.where(
        win_rate >= th["commit"],
        "commit",
        np.where(win_rate >= th["best_case"], "best_case", "pipeline"),
    )
    out = pd.Series(derived, index=deals.index, dtype="str")
    if "forecast_category" in deals.columns:
        given = (
            deals["forecast_category"].astype("str").str.strip().str.lower().map(_CATEGORY_NAMES)
        )
        out = given.where(given.notna(), out).astype("str")
    return out


def category_rollup(
    deals: pd.DataFrame,
    *,
    closed_won: float,
    expected: pd.Series | None = None,
) -> pd.DataFrame:
    """Forecast categories rolled up the way CRM tools define them (cumulative rollups):
    Closed = won in the period so far; Commit forecast = Closed + Commit; Best case forecast =
    Closed + Commit + Best case; Open pipeline = Commit + Best case + Pipeline (open deals
    only). Reporting currency of ARR.

    ``deals``: open deals expected to close in the period, with ``category`` and ``amount``;
    ``expected`` (optional): each deal's model-expected booking (probability x amount), shown
    per category beside the CRM amount. Columns: rollup, includes, deals, amount,
    model_expected.
    """
    cat = deals["category"]
    amt = deals["amount"].astype(float)
    exp = expected.astype(float) if expected is not None else pd.Series(np.nan, index=deals.index)

    def part(names):
        m = cat.isin(names)
        return int(m.sum()), float(amt[m].sum()), float(exp[m].sum())

    rows = []
    spec = [
        ("Closed", "won so far", ()),
        ("Commit forecast", "closed + commit", ("commit",)),
        ("Best case forecast", "closed + commit + best case", ("commit", "best_case")),
        (
            "Open pipeline",
            "commit + best case + pipeline (open only)",
            ("commit", "best_case", "pipeline"),
        ),
    ]
    for name, includes, cats in spec:
        n, a, e = part(cats)
        with_closed = name != "Open pipeline"
        rows.append(
            {
                "rollup": name,
                "includes": includes,
                "deals": n,
                "amount": a + (closed_won if with_closed else 0.0),
                "model_expected": e + (closed_won if with_closed else 0.0),
            }
        )
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- health


def use_realised_amounts(opportunities: pd.DataFrame, column: str = "close_value") -> pd.DataFrame:
    """Bookings are what was won: replace ``amount`` of won deals by the realised value in
    ``column`` when the CRM has one (the Maven data keep the list price as ``amount`` and the
    closed value in ``close_value``). Unchanged when the column is absent."""
    if column not in opportunities.columns:
        return opportunities
    out = opportunities.copy()
    realised = pd.to_numeric(out[column], errors="coerce")
    won = (out["status"] == "won").to_numpy(bool) & realised.notna().to_numpy()
    out["amount"] = np.where(won, realised, out["amount"].astype(float))
    return out
