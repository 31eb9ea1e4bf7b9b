"""The sales pipeline as it stood on a date: one history, the snapshots, one stage win rate.

Deal scoring and forecasting both learn from "the pipeline as it stood on date t"; this module
is the one place that rebuilds it from ``opportunities`` and ``opportunity_history``.

*Open at* ``t``: a deal created by then and not closed by then. Two spellings of the same
instant are in use: scoring snapshots are taken at the **end of day** ``d`` (month or week
ends, :func:`snapshot_pairs`), forecasting snapshots at **midnight** ``t`` (month starts,
:func:`pipeline_as_of`, :func:`snapshots`); the end of 31 January is midnight on 1 February,
and both give the same deals in the same stages. With ``opportunity_history`` a deal's stage,
amount and expected close date are those of its last change by then (:func:`prepare_history`
holds the running state of every deal after each change). Without it (e.g. the Maven CRM data)
the pipeline is *approximate*: a deal is open on the same rule, but its stage and expected
close date at ``t`` are unknown (the current values would leak the future), so they are
reported as ``"(no history)"`` and NaT.

:func:`stage_win_rates` is the one historical win rate by stage (and type); the counting rule
and the prior are options (see :data:`WIN_RATE_RULES`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeGuard

import numpy as np
import pandas as pd

from revlib.data.frames import require_columns
from revlib.periods import month_from_number, month_number, month_start

NO_HISTORY_STAGE = "(no history)"
OPPORTUNITY_COLUMNS = (
    "opportunity_id",
    "type",
    "amount",
    "created_date",
    "close_date",
    "stage",
    "status",
)
EPOCH_SUNDAY = pd.Timestamp("1970-01-04")  # week ends (weekly snapshots) are Sundays


# ----------------------------------------------------------------------------- inputs


def check_opportunities(opportunities: pd.DataFrame) -> pd.DataFrame:
    """Validate the columns the forecasts use; return a copy with parsed dates and float amounts."""
    require_columns(opportunities, "opportunities", OPPORTUNITY_COLUMNS)
    out = opportunities.copy()
    for col in ("created_date", "close_date"):
        out[col] = pd.to_datetime(out[col]).astype("datetime64[ns]")
    out["amount"] = out["amount"].astype(float)
    out["opportunity_id"] = out["opportunity_id"].astype(str)
    bad = sorted(set(out["status"]) - {"open", "won", "lost"})
    if bad:
        raise ValueError(f"opportunities.status must be open, won or lost; got {bad}")
    return out


def observation_start(opportunities: pd.DataFrame) -> pd.Timestamp:
    """First close date of any closed deal: where the extract's record of closes begins.

    A CRM extract often holds only deals closed from some date on (plus the open ones); deals
    created before it that closed earlier are missing. Estimates treat older deals as entering
    the data on this date (delayed entry), which removes that survivor bias."""
    closed = opportunities.loc[opportunities["status"] != "open", "close_date"]
    return (
        pd.Timestamp(closed.min())
        if len(closed)
        else pd.Timestamp(opportunities["created_date"].min())
    )


def extract_date(tables: Mapping[str, pd.DataFrame]) -> pd.Timestamp:
    """The extract date: the latest creation, close of a closed deal, or history change."""
    opps = tables["opportunities"]
    closed = opps["status"].isin(["won", "lost"])
    dates = [opps["created_date"].max(), opps.loc[closed, "close_date"].max()]
    hist = tables.get("opportunity_history")
    if hist is not None and len(hist):
        dates.append(hist["changed_at"].max().normalize())
    return pd.Timestamp(max(d for d in dates if pd.notna(d))).normalize()


# ----------------------------------------------------------------------------- history


def has_history(history: pd.DataFrame | None) -> TypeGuard[pd.DataFrame]:
    """Whether an ``opportunity_history`` table was given and holds rows (narrows the type)."""
    return history is not None and len(history) > 0


def prepare_history(history: pd.DataFrame) -> pd.DataFrame:
    """Per history row, the running state of its deal after that change.

    Checks the columns (opportunity_id, changed_at, stage; amount and close_date optional),
    parses dates to datetime64[ns], ids to text, sorts by deal and time. Amount and close date
    carry forward within a deal. Adds ``stage_since`` (start of the run of identical stages the
    row belongs to), ``stage_changes``, ``close_date_pushes`` (later close dates), ``slip_days``
    (days pushed, summed), ``amount_changes`` and ``first_amount`` (first known amount).
    """
    require_columns(history, "opportunity_history", ("opportunity_id", "changed_at", "stage"))
    h = history.copy()
    h["opportunity_id"] = h["opportunity_id"].astype(str)
    h["changed_at"] = pd.to_datetime(h["changed_at"]).astype("datetime64[ns]")
    if "amount" not in h.columns:
        h["amount"] = np.nan
    h["close_date"] = (
        pd.to_datetime(h["close_date"]).astype("datetime64[ns]") if "close_date" in h else pd.NaT
    )
    h = h.sort_values(["opportunity_id", "changed_at"], kind="stable").reset_index(drop=True)
    g = h.groupby("opportunity_id", sort=False)
    h["amount"] = g["amount"].ffill()
    h["close_date"] = g["close_date"].ffill()
    oid = h["opportunity_id"].to_numpy(dtype=object)
    stage = h["stage"].astype(object).to_numpy()
    new_deal = pd.Series(np.r_[True, oid[1:] != oid[:-1]], index=h.index)
    stage_change = pd.Series(np.r_[True, stage[1:] != stage[:-1]], index=h.index) | new_deal
    run = stage_change.cumsum()
    h["stage_since"] = h.groupby(run)["changed_at"].transform("first")
    h["stage_changes"] = stage_change.astype(int).groupby(oid, sort=False).cumsum() - 1
    prev_close = h["close_date"].shift().where(~new_deal)
    pushed = (h["close_date"] > prev_close).fillna(False).astype(bool)
    h["close_date_pushes"] = pushed.astype(int).groupby(oid, sort=False).cumsum()
    slip = (h["close_date"] - prev_close).dt.days.where(pushed, 0).fillna(0)
    h["slip_days"] = slip.groupby(oid, sort=False).cumsum()
    prev_amount = h["amount"].shift().where(~new_deal)
    changed = ((h["amount"] != prev_amount) & prev_amount.notna() & h["amount"].notna()).astype(int)
    h["amount_changes"] = changed.groupby(oid, sort=False).cumsum()
    h["first_amount"] = g["amount"].transform("first")
    return h


def stage_positions(history: pd.DataFrame) -> pd.Series:
    """Per stage, the median position at which deals first reach it: position = the index
    of the change in the deal's history, in time order (0 = the deal's first record).
    Indexed by stage as text; the funnel order is the ascending order."""
    h = history.sort_values(["opportunity_id", "changed_at"], kind="stable")
    h = h.assign(pos=h.groupby("opportunity_id").cumcount(), stage=h["stage"].astype(str))
    return h.groupby(["stage", "opportunity_id"])["pos"].min().groupby("stage").median()


def stage_order(history: pd.DataFrame | None, deals: pd.DataFrame) -> list[str]:
    """The stages of open ``deals`` in funnel order (earliest stage first): by
    :func:`stage_positions` with history, else by the median age in days of the open deals
    in each stage (deals further down the funnel are older). Ties in alphabetical order."""
    stages = sorted(deals["stage"].astype(str).unique())
    if has_history(history):
        key = stage_positions(history)
    else:
        key = deals.groupby(deals["stage"].astype(str))["age_days"].median()
    return sorted(stages, key=lambda s: (float(key.get(s, np.inf)), s))


# ----------------------------------------------------------------------------- snapshots


def _period_no(d: pd.Series | pd.DatetimeIndex, mode: str) -> np.ndarray:
    """Index of the week ending Sunday (weekly) or the month number
    (:func:`~revlib.periods.month_number`) of each date, as floats (NaN for a null date)."""
    d = pd.DatetimeIndex(d)
    if mode == "weekly":
        return np.ceil(np.asarray((d - EPOCH_SUNDAY).days, dtype="float64") / 7.0)
    out = np.full(len(d), np.nan)
    known = ~np.asarray(d.isna())
    out[known] = month_number(d[known])
    return out


def _period_end(m: np.ndarray, mode: str) -> pd.DatetimeIndex:
    """Last day (the Sunday, or the month end) of each period index from :func:`_period_no`."""
    m = np.asarray(m, dtype=int)
    if mode == "weekly":
        return pd.DatetimeIndex(EPOCH_SUNDAY + pd.to_timedelta(7 * m, unit="D"))
    return pd.DatetimeIndex(month_from_number(m) + pd.offsets.MonthEnd(0))


def snapshot_pairs(
    opportunities: pd.DataFrame,
    *,
    mode: str,
    as_of: pd.Timestamp,
    dates: Sequence[pd.Timestamp] | None = None,
) -> pd.DataFrame:
    """(opportunity_id, snapshot_date) for every deal open at each snapshot date.

    Open at ``t`` (end of day): created on or before ``t`` and not closed by ``t``. Monthly
    snapshots are month ends up to ``as_of``; ``dates`` overrides them (e.g. ``[as_of]`` for
    today's pipeline). Creation mode: one pair per deal at its created_date.
    """
    opps = opportunities
    if mode == "creation":
        keep = opps["created_date"] <= as_of
        return pd.DataFrame(
            {
                "opportunity_id": opps.loc[keep, "opportunity_id"].to_numpy(),
                "snapshot_date": opps.loc[keep, "created_date"].to_numpy(),
            }
        )
    closed = opps["status"].isin(["won", "lost"]) & (opps["close_date"] <= as_of)
    if dates is not None:
        out = []
        for t in pd.DatetimeIndex(dates):
            is_open = (opps["created_date"] <= t) & ~(closed & (opps["close_date"] <= t))
            out.append(
                pd.DataFrame(
                    {
                        "opportunity_id": opps.loc[is_open, "opportunity_id"].to_numpy(),
                        "snapshot_date": t,
                    }
                )
            )
        return (
            pd.concat(out, ignore_index=True)
            if out
            else pd.DataFrame(columns=["opportunity_id", "snapshot_date"])
        )
    last_m = _period_no(pd.DatetimeIndex([as_of]), mode)[0]
    if as_of != _period_end(np.array([last_m]), mode)[0]:
        last_m -= 1
    first = _period_no(opps["created_date"], mode)
    last = np.where(closed, _period_no(opps["close_date"], mode) - 1, last_m)
    last = np.minimum(last, last_m)
    n = np.maximum(last - first + 1, 0).astype(int)
    idx = np.repeat(np.arange(len(opps)), n)
    offset = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
    months = first[idx] + offset
    return pd.DataFrame(
        {
            "opportunity_id": opps["opportunity_id"].to_numpy()[idx],
            "snapshot_date": _period_end(months, mode),
        }
    )


@dataclass(frozen=True)
class StageHistory:
    """``opportunity_history`` as arrays, one element per change, sorted by (deal, changed_at);
    ``first_row`` has one element per deal of the book."""

    opp: np.ndarray  # position of the deal in the book's opportunities
    at: np.ndarray  # changed_at, datetime64[ns]
    stage: np.ndarray  # stage after the change (object)
    amount: np.ndarray  # amount after the change (float, NaN if unknown)
    close: np.ndarray  # expected close date after the change, datetime64[ns]
    since: np.ndarray  # in this stage since, datetime64[ns]
    first_row: np.ndarray  # first history row of each deal (-1 if none)


@dataclass(frozen=True)
class PipelineBook:
    """Opportunities (checked) and their history as arrays, for fast as-of lookups."""

    opps: pd.DataFrame
    created: np.ndarray  # datetime64[ns]
    close: np.ndarray
    is_open: np.ndarray  # status == "open"
    history: StageHistory | None = None  # None without opportunity_history


def pipeline_book(
    opportunities: pd.DataFrame | PipelineBook, history: pd.DataFrame | None
) -> PipelineBook:
    if isinstance(opportunities, PipelineBook):
        return opportunities
    opps = check_opportunities(opportunities).reset_index(drop=True)
    base = {
        "opps": opps,
        "created": opps["created_date"].to_numpy("datetime64[ns]"),
        "close": opps["close_date"].to_numpy("datetime64[ns]"),
        "is_open": (opps["status"] == "open").to_numpy(),
    }
    if not has_history(history):
        return PipelineBook(**base)
    h = history if "stage_since" in history.columns else prepare_history(history)
    pos = pd.Series(np.arange(len(opps)), index=opps["opportunity_id"].to_numpy())
    opp = h["opportunity_id"].map(pos)
    h = h[opp.notna()]
    opp = opp[opp.notna()].to_numpy(dtype=np.int64)
    order = np.lexsort((h["changed_at"].to_numpy("datetime64[ns]"), opp))
    h, opp = h.iloc[order], opp[order]
    first = np.full(len(opps), -1)
    starts = np.r_[True, opp[1:] != opp[:-1]] if len(opp) else np.array([], bool)
    first[opp[starts]] = np.flatnonzero(starts)
    return PipelineBook(
        **base,
        history=StageHistory(
            opp=opp,
            at=h["changed_at"].to_numpy("datetime64[ns]"),
            stage=h["stage"].astype(str).to_numpy(dtype=object),
            amount=pd.to_numeric(h["amount"], errors="coerce").to_numpy(dtype=float),
            close=h["close_date"].to_numpy("datetime64[ns]"),
            since=h["stage_since"].to_numpy("datetime64[ns]"),
            first_row=first,
        ),
    )


def _open_at(book: PipelineBook, t: pd.Timestamp) -> pd.DataFrame:
    opps = book.opps
    t64: np.datetime64 = np.datetime64(t, "ns")
    idx = np.flatnonzero((book.created < t64) & (book.is_open | (book.close >= t64)))
    keep = ["opportunity_id", "type", "stage", "amount", "created_date"]
    keep += [c for c in ("account_id", "owner", "forecast_category") if c in opps.columns]
    out = opps.iloc[idx][keep].reset_index(drop=True)
    created = book.created[idx]
    hist = book.history
    if hist is not None:
        rows = np.flatnonzero(hist.at < t64)
        opp = hist.opp[rows]
        is_last = np.r_[opp[1:] != opp[:-1], True] if len(rows) else np.array([], bool)
        last_for = np.full(len(opps), -1)
        last_for[opp[is_last]] = rows[is_last]
        last = last_for[idx]
        first = hist.first_row[idx]
        has, has_first = last >= 0, first >= 0
        stage = out["stage"].astype(str).to_numpy(dtype=object)
        stage = np.where(has_first, hist.stage[np.maximum(first, 0)], stage)
        out["stage"] = pd.array(np.where(has, hist.stage[np.maximum(last, 0)], stage), dtype="str")
        amt = np.where(has, hist.amount[np.maximum(last, 0)], np.nan)
        out["amount"] = np.where(np.isnan(amt), out["amount"].to_numpy(float), amt)
        nat = np.datetime64("NaT", "ns")
        out["expected_close"] = np.where(has, hist.close[np.maximum(last, 0)], nat)
        since = np.where(has, hist.since[np.maximum(last, 0)], nat)
        since = np.where(np.isnat(since), created, since)
        out["source"] = "history"
    else:
        out["stage"] = NO_HISTORY_STAGE
        out["expected_close"] = np.full(len(idx), np.datetime64("NaT", "ns"))
        since = created
        out["source"] = "approximate"
    out["age_days"] = _days(t64 - created)
    out["stage_days"] = _days(t64 - since)
    out["days_to_close"] = _days(out["expected_close"].to_numpy("datetime64[ns]") - t64)
    return out


def _days(delta: np.ndarray) -> np.ndarray:
    """Time differences (timedelta64) in days, as floats (NaN for NaT)."""
    return np.asarray(delta, dtype="timedelta64[ns]") / np.timedelta64(1, "D")


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
    return _open_at(pipeline_book(opportunities, history), pd.Timestamp(as_of).normalize())


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
    book = pipeline_book(opportunities, history)
    opps = book.opps
    t = pd.Timestamp(as_of).normalize()
    latest = month_start(t) if month_start(t) < t else month_start(t) - pd.DateOffset(months=1)
    first = observation_start(opps)  # earlier snapshots would miss deals that closed before it
    frames = []
    for k in range(months - 1, -1, -1):
        s = latest - pd.DateOffset(months=k)
        if s < first and k > 0:
            continue
        snap = _open_at(book, s)
        snap.insert(0, "snapshot", s)
        frames.append(snap)
    out = pd.concat(frames, ignore_index=True)
    out["snapshot"] = out["snapshot"].astype("datetime64[ns]")
    pos = pd.Series(np.arange(len(opps)), index=opps["opportunity_id"].to_numpy())
    i = pos.reindex(out["opportunity_id"].to_numpy()).to_numpy()
    t64: np.datetime64 = np.datetime64(t, "ns")
    closed = ~book.is_open[i] & (book.close[i] < t64)
    out["closed"] = closed
    out["won"] = closed & (opps["status"].to_numpy()[i] == "won")
    out["close_date"] = np.where(closed, book.close[i], np.datetime64("NaT", "ns"))
    out["weight"] = 1.0 / out.groupby("opportunity_id")["snapshot"].transform("size").astype(float)
    return out


# ----------------------------------------------------------------------------- win rates

WIN_RATE_RULES = ("deal", "snapshot")
MISSING_LEVEL = "(missing)"


def _outcomes(rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(closed, won) per row: from ``closed``/``won`` booleans (forecasting snapshots) or a
    ``won`` label that is 1, 0 or NaN while open (scoring snapshots)."""
    if "closed" in rows.columns:
        closed = rows["closed"].to_numpy(bool)
        return closed, closed & rows["won"].to_numpy(bool)
    won = rows["won"].to_numpy(float)
    return ~np.isnan(won), won == 1


def stage_win_rates(
    rows: pd.DataFrame,
    *,
    rule: str,
    prior: float,
    by: Sequence[str] = ("stage", "type"),
    key: str = "opportunity_id",
) -> pd.DataFrame:
    """Historical win rate by stage (and type); the table of the finest level of
    :func:`win_rate_levels` (see there for the rules, the prior and the columns)."""
    return win_rate_levels(rows, rule=rule, prior=prior, by=by, key=key)[-1]


def win_rate_levels(
    rows: pd.DataFrame,
    *,
    rule: str,
    prior: float,
    by: Sequence[str] = ("stage", "type"),
    key: str = "opportunity_id",
) -> list[pd.DataFrame]:
    """Historical win rate by stage (and type): of the deals in a cell at a snapshot that have
    since closed, the share won. Ratio in [0, 1]. One function for every report.

    ``rows``: snapshot rows (one per deal and snapshot: :func:`snapshots`, or
    ``revlib.scoring.build_snapshots``, or any frame with ``key``, the ``by`` columns and the
    outcome: ``closed`` and ``won`` booleans, or ``won`` 1 / 0 / NaN while open).

    ``rule`` says how deals are counted (see :data:`WIN_RATE_RULES`):

    - ``"deal"``: each deal once per cell of ``by``, however many snapshots saw it there
      (coarser levels add up those cells); the top level is the plain share won. The rate of
      "a deal that was ever in this stage".
    - ``"snapshot"``: the rate counts every snapshot appearance (the pipeline a forecast sees
      is such a snapshot, and deals that linger are seen more often); its evidence counts each
      deal once (``weight`` = 1 / the snapshots the deal is in, computed when absent), so a
      deal seen in five snapshots is not five pieces of evidence. The top level is
      (won + 1) / (closed + 2) over appearances.

    ``prior``: pseudo-deals shrinking each cell towards its parent (``by[:1]`` towards all
    deals, ``by[:2]`` towards ``by[:1]`` ...): rate = (won + prior x parent) / (closed + prior);
    0 gives the raw share. Levels missing in a key column count as ``"(missing)"``.

    Returns one table per level: all deals, ``by[:1]``, ... ``by`` (the last is
    :func:`stage_win_rates`). Columns: that level's keys, ``closed`` (deals, each counted once), ``won`` (deals won),
    ``raw_rate`` (unshrunk share; NaN where no deal has closed), ``win_rate`` (shrunk), and
    ``alpha``, ``beta`` (the Beta posterior whose mean is ``win_rate``). Every cell present
    in ``rows`` gets a row; one without closed deals takes its parent's rate.
    """
    if rule not in WIN_RATE_RULES:
        raise ValueError(f"rule must be one of {WIN_RATE_RULES}, got {rule!r}")
    if prior < 0:
        raise ValueError(f"prior must be >= 0 pseudo-deals, got {prior}")
    by = list(by)
    missing = [c for c in by if c not in rows.columns]
    if missing:
        raise ValueError(
            f"cannot compute win rates by {missing}: by must be a subset of the rows' columns "
            f"{sorted(c for c in rows.columns if c in ('stage', 'type', 'product', 'segment'))} "
            "(stage needs opportunity_history)"
        )
    closed, won = _outcomes(rows)
    frame = pd.DataFrame(
        {k: rows[k].astype("string").fillna(MISSING_LEVEL).to_numpy() for k in by}
        | {"_key": rows[key].to_numpy(), "_closed": closed, "_won": won.astype(float)}
    )
    if rule == "snapshot":
        if "weight" in rows.columns:
            frame["_weight"] = rows["weight"].to_numpy(float)
        else:
            frame["_weight"] = 1.0 / frame.groupby("_key")["_key"].transform("size").astype(float)
    done = frame[frame["_closed"]]
    if rule == "deal":
        done = done.drop_duplicates(["_key", *by])
    levels = [_rate_level(done, [], rule, prior, None)]
    cells = frame[by].drop_duplicates().sort_values(by, kind="stable").reset_index(drop=True)
    for depth in range(1, len(by) + 1):
        level = cells[by[:depth]].drop_duplicates().reset_index(drop=True)
        levels.append(_rate_level(done, by[:depth], rule, prior, levels[-1], cells=level))
    columns = ["closed", "won", "raw_rate", "win_rate", "alpha", "beta"]
    return [t[[*by[:d], *columns]] for d, t in enumerate(levels)]


def _rate_level(
    done: pd.DataFrame,
    keys: list[str],
    rule: str,
    prior: float,
    parent: pd.DataFrame | None,
    *,
    cells: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One level of :func:`stage_win_rates`: counts per ``keys`` cell of the closed rows
    ``done``, shrunk towards the ``parent`` level's rate (the top level: see the rules)."""
    g = done.assign(_one=1.0).groupby(keys if keys else np.zeros(len(done)), sort=False)
    if rule == "deal":
        agg = g.agg(closed=("_one", "sum"), won=("_won", "sum"))
        agg["raw_rate"] = agg["won"] / agg["closed"]
    else:
        agg = g.agg(n=("_one", "sum"), wins=("_won", "sum"), closed=("_weight", "sum"))
        agg["raw_rate"] = agg["wins"] / agg["n"]
        agg["won"] = agg["raw_rate"] * agg["closed"]
    agg = agg[["closed", "won", "raw_rate"]]
    if not keys:
        level = (
            agg.reset_index(drop=True)
            if len(agg)
            else pd.DataFrame({"closed": [0.0], "won": [0.0], "raw_rate": [np.nan]})
        )
        n, wins = len(done), float(done["_won"].sum())
        if rule == "deal":
            level["_parent"] = wins / n if n else np.nan
        else:
            level["_parent"] = (wins + 1.0) / (n + 2.0)
    else:
        if cells is None or parent is None:
            raise ValueError(f"win rates by {keys}: a level below the top needs cells and parent")
        level = cells.merge(agg.reset_index(), on=keys, how="left")
        level[["closed", "won"]] = level[["closed", "won"]].fillna(0.0)
        up = parent[[*keys[:-1], "win_rate"]].rename(columns={"win_rate": "_parent"})
        level = (
            level.merge(up, on=keys[:-1], how="left")
            if keys[:-1]
            else level.assign(_parent=float(up["_parent"].iloc[0]))
        )
    if not keys:  # the top level is its own rate (see the rules), with the evidence it rests on
        strength = level["closed"] + prior
        level["alpha"], level["beta"] = (
            level["_parent"] * strength,
            (1 - level["_parent"]) * strength,
        )
        level["win_rate"] = level["_parent"]
        return level.drop(columns="_parent")
    level["alpha"] = level["_parent"] * prior + level["won"]
    level["beta"] = (1 - level["_parent"]) * prior + level["closed"] - level["won"]
    total = level["closed"] + prior
    level["win_rate"] = np.where(
        total > 0, level["alpha"] / total.where(total > 0, 1.0), level["_parent"]
    )
    return level.drop(columns="_parent")


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
