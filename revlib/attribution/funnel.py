"""The acquisition funnel: stage conversion rates (Beta posteriors), targets and velocity.

Stages: visitor -> lead -> trial -> paid -> expansion. The first three rates come from the
``funnel`` table: a stage's rate is the next stage's count over this stage's count in the same
rows (a lead-month cohort and channel), pooled over the rows of a group. Paid -> expansion comes
from subscriptions: the share of new customers with an MRR expansion within a horizon (12
months by default), because the ``funnel`` table's ``expansions`` count expansion events in a
month, which are not a cohort of that month's new customers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps

from revlib.periods import month_number, month_starts
from revlib.stats import beta_posterior

from .models import ordered_touches

STAGES: dict[str, tuple[str, str]] = {
    "visitor_to_lead": ("leads", "visitors"),
    "lead_to_trial": ("trials", "leads"),
    "trial_to_paid": ("customers", "trials"),
}
"""Stage -> (successes column, trials column) of the ``funnel`` table."""

STAGE_LABELS = {
    "visitor_to_lead": "Visitor → lead",
    "lead_to_trial": "Lead → trial",
    "trial_to_paid": "Trial → paid",
    "paid_to_expansion": "Paid → expansion",
}

FUNNEL_TARGETS: dict[str, dict[str, float]] = {
    "visitor_to_lead": {"current": 0.08, "target": 0.12},
    "lead_to_trial": {"current": 0.15, "target": 0.22},
    "trial_to_paid": {"current": 0.40, "target": 0.48},
    "paid_to_expansion": {"current": 0.35, "target": 0.45},
}
"""The revenue team's conversion rates today (``current``) and its goals (``target``)."""

VELOCITY_STAGES: dict[str, tuple[str, str]] = {
    "visitor_to_lead": ("first_touch_at", "lead_at"),
    "lead_to_trial": ("lead_at", "trial_at"),
    "trial_to_paid": ("trial_at", "converted_at"),
    "visitor_to_paid": ("first_touch_at", "converted_at"),
}
"""Velocity stage -> (start timestamp, end timestamp) of a journey."""

VELOCITY_LABELS = {
    "visitor_to_lead": "First touch → lead",
    "lead_to_trial": "Lead → trial",
    "trial_to_paid": "Trial → paid",
    "visitor_to_paid": "First touch → paid",
}


def _as_keys(by: str | Sequence[str] | None) -> list[str]:
    return [by] if isinstance(by, str) else list(by or [])


def _window(df: pd.DataFrame, column: str, start, end) -> pd.DataFrame:
    if start is not None:
        df = df[df[column] >= pd.Timestamp(start)]
    if end is not None:
        df = df[df[column] <= pd.Timestamp(end)]
    return df


def funnel_rates(
    funnel: pd.DataFrame,
    *,
    by: str | Sequence[str] | None = None,
    start=None,
    end=None,
    prior: tuple[float, float] = (1.0, 1.0),
    prob: float = 0.94,
) -> pd.DataFrame:
    """Stage conversion rate: next-stage count / stage count (leads / visitors, trials / leads,
    customers / trials) pooled over the funnel rows of a group, with its Beta posterior. Ratio.

    ``by``: grouping columns of ``funnel`` (e.g. ``"channel"``, ``"month"``); ``start``/``end``
    restrict ``month`` (inclusive). Columns: *by, stage, successes, trials, ``rate`` (observed),
    ``mean``, ``lower``, ``upper`` (central ``prob`` credible interval), ``alpha``, ``beta``.
    """
    keys = _as_keys(by)
    missing = [
        c
        for c in ["month", *keys, "visitors", "leads", "trials", "customers"]
        if c not in funnel.columns
    ]
    if missing:
        raise ValueError(
            f"funnel needs columns month, visitors, leads, trials, customers and {keys}; missing {missing}"
        )
    f = _window(funnel.assign(month=pd.to_datetime(funnel["month"])), "month", start, end)
    if f.empty:
        raise ValueError(f"no funnel rows between {start} and {end}")
    frames = []
    for stage, (succ, trial) in STAGES.items():
        grouped = (
            f.groupby(keys, sort=True)[[succ, trial]].sum()
            if keys
            else f[[succ, trial]].sum().to_frame().T
        )
        if bool((grouped[succ] > grouped[trial]).any()):
            bad = int((grouped[succ] > grouped[trial]).sum())
            raise ValueError(f"{stage}: {succ} exceed {trial} in {bad} group(s)")
        frames.append(_posterior_rows(stage, grouped[succ], grouped[trial], keys, prior, prob))
    return pd.concat(frames, ignore_index=True)


def _posterior_rows(
    stage: str,
    successes: pd.Series,
    trials: pd.Series,
    keys: list[str],
    prior: tuple[float, float],
    prob: float,
) -> pd.DataFrame:
    """Rows of a rates table: group keys, stage, counts, observed rate and Beta posterior."""
    s = successes.to_numpy(dtype=float)
    n = trials.to_numpy(dtype=float)
    part = pd.DataFrame({"stage": stage, "successes": s, "trials": n})
    if keys:
        part = pd.concat([successes.index.to_frame(index=False), part], axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        part["rate"] = np.where(n > 0, s / np.where(n > 0, n, 1.0), np.nan)
    post = beta_posterior(s, n, prior=prior, prob=prob).reset_index(drop=True)
    return pd.concat([part, post], axis=1)


def expansion_rates(
    movements: pd.DataFrame,
    *,
    channels: pd.Series | None = None,
    by: str | Sequence[str] | None = None,
    horizon_months: int = 12,
    start=None,
    end=None,
    prior: tuple[float, float] = (1.0, 1.0),
    prob: float = 0.94,
) -> pd.DataFrame:
    """Paid -> expansion rate: share of new customers with an MRR expansion movement within
    ``horizon_months`` after the month they first paid, with its Beta posterior. Ratio.

    ``movements``: :func:`revlib.metrics.account_movements` output. A customer's cohort
    (``month``) is its ``new`` movement's month; the first month of data is left out (accounts
    already paying when the data begin look new then) and so are cohorts without a full
    horizon before the last month. ``channels``: account_id -> acquisition channel (accounts
    without one are ``(unknown)``), needed for ``by="channel"``. Same columns as
    :func:`funnel_rates`, stage ``paid_to_expansion``.
    """
    keys = _as_keys(by)
    bad = [k for k in keys if k not in ("channel", "month")]
    if bad:
        raise ValueError(f"by must be among ['channel', 'month'], got {bad}")
    if "channel" in keys and channels is None:
        raise ValueError("by='channel' needs channels (account_id -> acquisition channel)")
    if not (isinstance(horizon_months, int) and horizon_months >= 1):
        raise ValueError(f"horizon_months must be an integer >= 1, got {horizon_months!r}")
    mv = movements.assign(month=pd.to_datetime(movements["month"]))
    first, last = mv["month"].min(), mv["month"].max()
    new = mv.loc[(mv["movement"] == "new") & (mv["month"] > first), ["account_id", "month"]]
    new = new[new["month"] + pd.DateOffset(months=horizon_months) <= last]
    new = _window(new, "month", start, end)
    exp = mv.loc[mv["movement"] == "expansion", ["account_id", "month"]].rename(
        columns={"month": "expanded"}
    )
    hits = new.merge(exp, on="account_id")
    ahead = month_number(hits["expanded"]) - month_number(hits["month"])
    expanded = set(hits.loc[(ahead >= 1) & (ahead <= horizon_months), "account_id"])
    new = new.assign(expanded=new["account_id"].isin(expanded).astype(float), one=1.0)
    if channels is not None:
        new["channel"] = new["account_id"].map(channels).astype("string").fillna("(unknown)")
    if new.empty:
        raise ValueError(
            f"no new customers with {horizon_months} months of follow-up between {start} and {end}"
        )
    grouped = (
        new.groupby(keys, sort=True)[["expanded", "one"]].sum()
        if keys
        else new[["expanded", "one"]].sum().to_frame().T
    )
    return _posterior_rows(
        "paid_to_expansion", grouped["expanded"], grouped["one"], keys, prior, prob
    )


def cohort_window(
    months: pd.Series, *, start=None, end=None, maturity_months: int = 4
) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First and last cohort month to analyse (inclusive, first days of months).

    ``start`` defaults to the first month in ``months``; ``end`` to the last month minus
    ``maturity_months`` (younger cohorts are still converting). Strings like ``"2024-03"``
    are accepted.
    """
    m = pd.to_datetime(pd.Series(months)).dt.to_period("M")
    lo = pd.Period(start, "M") if start is not None else m.min()
    hi = pd.Period(end, "M") if end is not None else m.max() - maturity_months
    if hi < lo:
        raise ValueError(f"cohort window is empty: start {lo} is after end {hi}")
    return lo.to_timestamp(), hi.to_timestamp()


def against_targets(
    rates: pd.DataFrame, targets: Mapping[str, Mapping[str, float]] | None = None
) -> pd.DataFrame:
    """Compare posterior stage rates with the team's current rates and targets.

    Adds ``current``, ``target``, ``p_above_current`` (posterior probability the rate exceeds
    the current rate), ``p_target_met`` (probability it is at or above the target) and
    ``status``: ``met`` (posterior mean >= target), ``improving`` (current <= mean < target)
    or ``below current``. Stages without a target get NaN and status ``no target``.
    """
    targets = FUNNEL_TARGETS if targets is None else targets
    bad = [
        f"{stage}: {t}"
        for stage, t in targets.items()
        if set(t) != {"current", "target"} or not all(0 <= float(v) <= 1 for v in t.values())
    ]
    if bad:
        raise ValueError(
            "targets need {'current': rate, 'target': rate} with rates in [0, 1]; got "
            + "; ".join(bad)
        )
    out = rates.copy()
    out["current"] = out["stage"].map({k: float(v["current"]) for k, v in targets.items()})
    out["target"] = out["stage"].map({k: float(v["target"]) for k, v in targets.items()})
    out["p_above_current"] = sps.beta.sf(out["current"], out["alpha"], out["beta"])
    out["p_target_met"] = sps.beta.sf(out["target"], out["alpha"], out["beta"])
    out["status"] = np.select(
        [out["target"].isna(), out["mean"] >= out["target"], out["mean"] >= out["current"]],
        ["no target", "met", "improving"],
        default="below current",
    )
    return out


def journey_milestones(touchpoints: pd.DataFrame, journeys: pd.DataFrame) -> pd.DataFrame:
    """One row per journey with its milestone timestamps and labels.

    Columns: journey_id, ``channel`` (``journeys.channel`` when given, else the first touch's
    channel), ``cohort`` (month of ``lead_at``, else of the first touch), first_touch_at,
    lead_at, trial_at, converted_at (null when missing or not converted), converted.
    """
    t = ordered_touches(touchpoints, journeys)
    first = t[t["pos"] == 0].set_index("journey_id")
    j = journeys.copy()
    j["journey_id"] = j["journey_id"].astype(str)
    j["converted"] = j["converted"].fillna(False).astype(bool)
    for col in ("lead_at", "trial_at", "converted_at"):
        j[col] = (
            pd.to_datetime(j[col])
            if col in j.columns
            else pd.Series(pd.NaT, index=j.index, dtype="datetime64[ns]")
        )
    j["converted_at"] = j["converted_at"].where(j["converted"])
    j["first_touch_at"] = j["journey_id"].map(first["touched_at"])
    first_channel = j["journey_id"].map(first["channel"]).astype("string")
    given = (
        j["channel"].astype("string")
        if "channel" in j.columns
        else pd.Series(pd.NA, index=j.index, dtype="string")
    )
    j["channel"] = given.fillna(first_channel)
    j["cohort"] = month_starts(j["lead_at"].fillna(j["first_touch_at"]))
    cols = [
        "journey_id",
        "channel",
        "cohort",
        "first_touch_at",
        "lead_at",
        "trial_at",
        "converted_at",
        "converted",
    ]
    return j[cols].reset_index(drop=True)


def select_cohorts(
    touchpoints: pd.DataFrame,
    journeys: pd.DataFrame,
    milestones: pd.DataFrame,
    *,
    start=None,
    end=None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Touchpoints and journeys of the journeys whose cohort month is in ``[start, end]``."""
    ids = set(_window(milestones, "cohort", start, end)["journey_id"])
    keep_j = journeys["journey_id"].astype(str).isin(ids)
    keep_t = touchpoints["journey_id"].astype(str).isin(ids)
    return touchpoints[keep_t].reset_index(drop=True), journeys[keep_j].reset_index(drop=True)


def stage_velocity(
    milestones: pd.DataFrame, *, by: str | Sequence[str] | None = None, start=None, end=None
) -> pd.DataFrame:
    """Days each journey spent between funnel milestones, summarised per stage (and group).

    Stages (:data:`VELOCITY_STAGES`): visitor -> lead (first touch to ``lead_at``), lead ->
    trial, trial -> paid (``trial_at`` to ``converted_at``) and visitor -> paid. Only journeys
    that reached both milestones count; ``start``/``end`` restrict the cohort month. Columns:
    *by, stage, ``journeys``, ``median_days``, ``p25_days``, ``p75_days`` (days, fractional).
    """
    keys = _as_keys(by)
    m = _window(milestones, "cohort", start, end)
    frames = []
    for stage, (a, b) in VELOCITY_STAGES.items():
        days = (m[b] - m[a]).dt.total_seconds() / 86400.0
        part = m[keys].assign(days=days).dropna(subset=["days"])
        if part.empty:
            continue
        grouped = (
            part.groupby(keys, sort=True)["days"]
            if keys
            else part.assign(_all=0).groupby("_all")["days"]
        )
        summary = grouped.agg(
            journeys="size",
            median_days="median",
            p25_days=lambda x: x.quantile(0.25),
            p75_days=lambda x: x.quantile(0.75),
        ).reset_index()
        if not keys:
            summary = summary.drop(columns="_all")
        frames.append(summary.assign(stage=stage))
    if not frames:
        return pd.DataFrame(
            columns=[*keys, "stage", "journeys", "median_days", "p25_days", "p75_days"]
        )
    out = pd.concat(frames, ignore_index=True)
    return out[[*keys, "stage", "journeys", "median_days", "p25_days", "p75_days"]]


def level_table(summary: pd.DataFrame, level: str) -> pd.DataFrame:
    """The rows of one level of a stacked summary (:func:`funnel_summary`,
    :func:`velocity_summary`) with ``group`` renamed to the level; months become dates. A table
    without a ``level`` column is returned unchanged."""
    if "level" not in summary.columns:
        return summary
    if level not in set(summary["level"]):
        raise ValueError(f"level must be one of {sorted(set(summary['level']))}, got {level!r}")
    rows = summary[summary["level"] == level].drop(columns="level")
    if level == "all":
        return rows.drop(columns="group").reset_index(drop=True)
    rows = rows.rename(columns={"group": level})
    if level == "month":
        rows[level] = pd.to_datetime(rows[level], format="%Y-%m")
    return rows.reset_index(drop=True)


def _stacked(parts: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Stack per-level tables into one with ``level`` (all / channel / month) and ``group``."""
    frames = []
    for level, df in parts.items():
        group = df[level].astype(str) if level in df.columns else pd.Series("all", index=df.index)
        if level == "month" and level in df.columns:
            group = pd.to_datetime(df[level]).dt.strftime("%Y-%m")
        frames.append(
            df.drop(columns=[level], errors="ignore").assign(level=level, group=group.to_numpy())
        )
    out = pd.concat(frames, ignore_index=True)
    return out[["level", "group", *[c for c in out.columns if c not in ("level", "group")]]]


def funnel_summary(
    funnel: pd.DataFrame,
    *,
    movements: pd.DataFrame | None = None,
    channels: pd.Series | None = None,
    start=None,
    end=None,
    horizon_months: int = 12,
    targets: Mapping[str, Mapping[str, float]] | None = None,
    prob: float = 0.94,
) -> pd.DataFrame:
    """Every stage's rate overall, by channel and by cohort month, against the targets.

    Visitor -> lead -> trial -> paid from :func:`funnel_rates` over cohorts ``[start, end]``;
    paid -> expansion from :func:`expansion_rates` (when ``movements`` are given) over cohorts
    from ``start`` with a full horizon. Columns: ``level`` (all, channel, month), ``group``
    (the channel or ``YYYY-MM``; ``all``), then :func:`against_targets` columns.
    """
    parts = {}
    for level in ("all", "channel", "month"):
        by = None if level == "all" else level
        rates = [funnel_rates(funnel, by=by, start=start, end=end, prob=prob)]
        if movements is not None and (level != "channel" or channels is not None):
            rates.append(
                expansion_rates(
                    movements,
                    channels=channels,
                    by=by,
                    horizon_months=horizon_months,
                    start=start,
                    prob=prob,
                )
            )
        parts[level] = against_targets(pd.concat(rates, ignore_index=True), targets)
    return _stacked(parts)


def velocity_summary(milestones: pd.DataFrame, *, start=None, end=None) -> pd.DataFrame:
    """:func:`stage_velocity` overall, by channel and by cohort month, stacked with ``level``
    (all, channel, month) and ``group`` columns. Days."""
    ms = milestones.rename(columns={"cohort": "month"}).assign(cohort=milestones["cohort"])
    parts = {
        level: stage_velocity(ms, by=None if level == "all" else level, start=start, end=end)
        for level in ("all", "channel", "month")
    }
    return _stacked(parts)


def truth_rates(by_channel: Mapping[str, Mapping[str, float]]) -> pd.DataFrame:
    """True stage rates as a table (channel, stage, rate) from ``{channel: {stage: rate}}``;
    stages not in :data:`STAGE_LABELS` are dropped."""
    rows = [
        (ch, st, float(r))
        for ch, rates in by_channel.items()
        for st, r in rates.items()
        if st in STAGE_LABELS
    ]
    return pd.DataFrame(rows, columns=["channel", "stage", "rate"])


def truth_coverage(
    rates: pd.DataFrame, truth: pd.DataFrame, *, by: str = "channel"
) -> pd.DataFrame:
    """Posterior intervals against true rates: ``true_rate``, ``error`` (posterior mean - true
    rate, ratio) and ``covered`` (the true rate lies in [lower, upper]). ``rates`` may be a
    stacked :func:`funnel_summary` (its ``by`` level is used)."""
    rates = level_table(rates, by)
    merged = rates.merge(truth.rename(columns={"rate": "true_rate"}), on=[by, "stage"], how="inner")
    merged["error"] = merged["mean"] - merged["true_rate"]
    merged["covered"] = (merged["true_rate"] >= merged["lower"]) & (
        merged["true_rate"] <= merged["upper"]
    )
    return merged


def stage_cards(summary: pd.DataFrame) -> list[dict]:
    """One headline card per stage from the overall rows of :func:`funnel_summary`: posterior
    mean, the team's current rate and target, and the probability the target is met."""
    overall = summary[summary["level"] == "all"].set_index("stage")
    status = {
        "met": "good",
        "improving": "neutral",
        "below current": "warning",
        "no target": "neutral",
    }
    cards = []
    for stage in STAGE_LABELS:
        if stage not in overall.index:
            continue
        r = overall.loc[stage]
        sub = f"94 % interval {r['lower'] * 100:.1f}–{r['upper'] * 100:.1f} %"
        if pd.notna(r["target"]):
            sub += f" · current {r['current'] * 100:.0f} % → target {r['target'] * 100:.0f} % · P(target met) {r['p_target_met'] * 100:.0f} %"
        cards.append(
            {
                "label": STAGE_LABELS[stage],
                "value": f"{r['mean'] * 100:.1f} %",
                "sub": sub,
                "status": status[r["status"]],
            }
        )
    return cards


def coverage_callout(coverage: pd.DataFrame):
    """Report box: how many true rates the 94 % intervals cover, and the largest miss."""
    from revlib.reporting import callout

    covered = int(coverage["covered"].sum())
    return callout(
        f"{covered} of {len(coverage)} true channel rates lie inside their 94 % intervals "
        f"(largest difference of a posterior mean from the truth {coverage['error'].abs().max() * 100:.1f} pp).",
        "success" if covered >= 0.8 * len(coverage) else "warning",
        title="Funnel rates against the truth",
    )
