"""Health-score features and scores: per account and month, 100 points in five components.

:func:`signal_features` derives the rubric's features from ``health_signals``, ``usage`` and
``invoices`` (each feature uses only data up to its month's end); :func:`health_scores`
applies a :class:`~revlib.health.rubric.Rubric`, giving every signal's points, the five
component sums, the score and its band. :func:`score_snapshot` adds ARR and owner/action for
the accounts active in one month; :func:`arr_by_band` sums ARR at risk.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from revlib.data.frames import require_columns
from revlib.health.rubric import Rubric, signal_points
from revlib.periods import month_from_number, month_number, month_start, month_starts

GROWTH_WINDOW = 3  # months in the base of a growth feature
PAYMENT_WINDOW_DAYS = 90  # invoices due in the last 90 days count for payment history
EXPANSION_TOPICS = ("api", "integration", "white_label", "white label", "whitelabel")

FEATURES: dict[str, str] = {
    "logins_per_seat": "logins in the month / seats (active users when seats are unknown); logins per seat per month",
    "features_adopted": "share of the plan's key features in use (0..1), as reported",
    "api_growth": "API calls this month / mean of the previous 3 months - 1; ratio (0.1 = +10 %)",
    "data_quality": "share of valid, complete records (0..1), as reported",
    "roi_multiple": "measured return on the subscription, multiple of its cost",
    "leads_growth": "leads generated this month / mean of the previous 3 months - 1; ratio",
    "payment_late_days": (
        "mean days past due of invoices due in the 90 days to the month end (unpaid ones counted "
        "to the month end); the health_signals value where no invoice was due; days"
    ),
    "plan_utilisation": "active users / paid seats: the share of what the account pays for that is in use; ratio",
    "usage_vs_limit": (
        "highest usage / included limit over the account's metered metrics in the month (usage "
        "table); ratio, 1 = at the limit, NaN when no metric has a limit"
    ),
    "nps": "latest 0-10 recommendation score",
    "support_tickets": "support tickets opened in the month, count",
    "exec_engagement": "an executive sponsor engaged in the month (1 yes, 0 no)",
    "team_growth_pct": "growth of the customer's team this month, % (25 = +25 %)",
    "team_growth_12m_pct": "growth of the customer's team over the last 12 months, %, compounded from the monthly team_growth_pct",
    "feature_requests": "feature requests in the month, count",
    "expansion_requests": (
        "feature requests for API, integrations or white label in the month (all feature requests "
        "when the data does not say what was requested), count"
    ),
    "competitive_evaluation": "evaluating a competitor in the month (1 yes, 0 no)",
}


def _col(df: pd.DataFrame, name: str) -> pd.Series:
    if name not in df.columns:
        return pd.Series(np.nan, index=df.index, dtype=float)
    return pd.to_numeric(df[name].astype("Float64"), errors="coerce").astype(float)


def compounded_growth_pct(panel: pd.DataFrame, column: str, *, months: int = 12) -> pd.Series:
    """Growth over the last ``months`` months, %, compounded from monthly growth readings in %
    (``column``) on a gap-free monthly panel sorted by account and month:
    100 x (prod(1 + g/100) - 1) over the account's last ``months`` rows; NaN until an account
    has that many readings or when one of them is missing. 1 %/month for 12 months = 12.7 %."""
    log_step = np.log1p(panel[column].astype(float).clip(lower=-99.0) / 100.0)
    total = log_step.groupby(panel["account_id"], sort=False).transform(
        lambda x: x.rolling(months, min_periods=months).sum()
    )
    return 100.0 * np.expm1(total)


def _growth(panel: pd.DataFrame, column: str, *, window: int = GROWTH_WINDOW) -> pd.Series:
    """x(m) / mean x(m-window..m-1) - 1 on a gap-free monthly panel sorted by account and
    month; NaN without a full base (missing months or the account's first months).

    A zero base gives 0 when x(m) is 0 too and +1 otherwise; growth is clipped to [-1, 5] so
    one odd month cannot dominate.
    """
    x = panel[column]
    by = panel.groupby("account_id", sort=False)[column]
    base = sum(by.shift(k) for k in range(1, window + 1)) / window  # NaN if any month is missing
    growth = (x / base.where(base != 0) - 1).where(base != 0, np.where(x == 0, 0.0, 1.0))
    growth = growth.where(base.notna() & x.notna())
    return growth.clip(-1.0, 5.0)


def _complete_panel(signals: pd.DataFrame) -> pd.DataFrame:
    """Every account's months from its first to its last signal month (gaps become NaN rows)."""
    spans = signals.groupby("account_id", sort=True)["month"].agg(["min", "max"])
    lo, hi = month_number(spans["min"]), month_number(spans["max"])
    size = hi - lo + 1
    acc = np.repeat(spans.index.to_numpy(), size)
    offset = np.arange(size.sum()) - np.repeat(np.cumsum(size) - size, size)
    number = np.repeat(lo, size) + offset
    month = month_from_number(number)
    grid = pd.DataFrame({"account_id": pd.array(acc, dtype="str"), "month": month.to_numpy()})
    return grid.merge(signals, on=["account_id", "month"], how="left")


def usage_vs_limit(usage: pd.DataFrame) -> pd.DataFrame:
    """Highest quantity / included over the metered metrics of each account and month.

    Rows with no limit (null or 0 ``included``) are ignored. Columns: account_id, month,
    usage_vs_limit (ratio, 1 = at the limit), limited_metric (the metric at the maximum).
    """
    u = (
        usage[usage["included"].notna() & (usage["included"] > 0)].copy()
        if "included" in usage
        else usage.iloc[:0]
    )
    if len(u) == 0:
        return pd.DataFrame(
            {
                "account_id": pd.Series(dtype="str"),
                "month": pd.Series(dtype="datetime64[ns]"),
                "usage_vs_limit": pd.Series(dtype=float),
                "limited_metric": pd.Series(dtype="str"),
            }
        )
    u["month"] = month_starts(u["month"])
    u["account_id"] = u["account_id"].astype("str")
    u["ratio"] = u["quantity"].astype(float) / u["included"].astype(float)
    u = u.sort_values(
        ["account_id", "month", "ratio", "metric"], ascending=[True, True, False, True]
    )
    top = u.drop_duplicates(["account_id", "month"], keep="first")
    return top.rename(columns={"ratio": "usage_vs_limit", "metric": "limited_metric"})[
        ["account_id", "month", "usage_vs_limit", "limited_metric"]
    ].reset_index(drop=True)


def invoice_late_days(
    invoices: pd.DataFrame,
    months: pd.DatetimeIndex | None = None,
    *,
    window_days: int = PAYMENT_WINDOW_DAYS,
) -> pd.DataFrame:
    """Mean days past due, at each month end, of the invoices due in the ``window_days`` before it.

    An invoice due on ``d`` counts at every month end ``e`` with ``d <= e < d + window_days``;
    its days late at ``e`` are ``min(paid_date, e) - d`` (unpaid or paid after ``e``: ``e - d``),
    never below 0: only what was known at ``e``. Columns: account_id, month, payment_late_days
    (days), invoices_due (count).
    """
    inv = invoices[["account_id", "due_date", "paid_date"]].copy()
    inv["account_id"] = inv["account_id"].astype("str")
    due = pd.to_datetime(inv["due_date"])
    first_end = due.dt.to_period("M").dt.to_timestamp(how="end").dt.normalize()
    n_months = int(np.ceil(window_days / 28)) + 1
    parts = []
    for k in range(n_months):
        end = (first_end.dt.to_period("M") + k).dt.to_timestamp(how="end").dt.normalize()
        ok = (end >= due) & (end < due + pd.Timedelta(days=window_days))
        paid = pd.to_datetime(inv["paid_date"])
        seen = paid.where(paid.notna() & (paid <= end), end)
        late = (seen - due).dt.days.clip(lower=0)
        parts.append(
            pd.DataFrame(
                {
                    "account_id": inv["account_id"],
                    "month": month_starts(end),
                    "late": late,
                }
            )[ok.to_numpy()]
        )
    long = pd.concat(parts, ignore_index=True)
    long["month"] = long["month"].astype("datetime64[ns]")
    out = long.groupby(["account_id", "month"], as_index=False).agg(
        payment_late_days=("late", "mean"), invoices_due=("late", "size")
    )
    if months is not None:
        out = out[out["month"].isin(months)]
    return out.reset_index(drop=True)


def _expansion_requests(hs: pd.DataFrame) -> tuple[pd.Series, str]:
    """Requests for API / integrations / white label: the topics in ``feature_request_topics``
    (separated by ``;``, ``,`` or ``|``) that name one of them, when the data have that column;
    else every feature request. Returns the counts and the source used."""
    if "feature_request_topics" not in hs.columns:
        return _col(
            hs, "feature_requests"
        ), "feature_requests (the data do not say what was requested)"
    topics = hs["feature_request_topics"].astype("string").str.lower()
    parts = topics.fillna("").str.split(r"[;,|]", regex=True)
    counts = parts.apply(lambda xs: sum(any(w in x for w in EXPANSION_TOPICS) for x in xs)).astype(
        float
    )
    known = topics.notna() | _col(hs, "feature_requests").notna()
    return counts.where(known), "feature_request_topics (API, integrations, white label)"


def signal_features(
    health_signals: pd.DataFrame,
    *,
    usage: pd.DataFrame | None = None,
    invoices: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The rubric's features per account and month (see :data:`FEATURES` for each definition).

    One row per account and month from the account's first to its last ``health_signals``
    month (months without signals have NaN features). ``usage`` gives plan utilisation and
    ``invoices`` payment history; without them the ``health_signals`` stand-ins are used.
    ``attrs["sources"]`` records where each derived feature came from.
    """
    _check_signals(health_signals)
    hs = health_signals.copy()
    hs["account_id"] = hs["account_id"].astype("str")
    hs["month"] = month_starts(hs["month"])
    if hs.duplicated(["account_id", "month"]).any():
        dup = hs.loc[hs.duplicated(["account_id", "month"]), ["account_id", "month"]].head(3)
        raise ValueError(
            f"health_signals must have one row per account and month; duplicates e.g. {dup.to_dict('records')}"
        )
    panel = _complete_panel(hs).sort_values(["account_id", "month"]).reset_index(drop=True)
    seats = _col(panel, "seats")
    active = _col(panel, "active_users")
    per = seats.where(seats > 0, active.where(active > 0))
    out = panel[["account_id", "month"]].copy()
    out["logins_per_seat"] = _col(panel, "logins") / per
    out["features_adopted"] = _col(panel, "features_adopted")
    panel["_api"] = _col(panel, "api_calls")
    panel["_leads"] = _col(panel, "leads_generated")
    out["api_growth"] = _growth(panel, "_api")
    out["data_quality"] = _col(panel, "data_quality")
    out["roi_multiple"] = _col(panel, "roi_multiple")
    out["leads_growth"] = _growth(panel, "_leads")
    sources = {}
    out["payment_late_days"] = _col(panel, "payment_late_days")
    sources["payment_late_days"] = "health_signals.payment_late_days"
    if invoices is not None and len(invoices):
        late = invoice_late_days(invoices)
        merged = out[["account_id", "month"]].merge(late, on=["account_id", "month"], how="left")
        out["payment_late_days"] = (
            merged["payment_late_days"].combine_first(out["payment_late_days"]).to_numpy()
        )
        sources["payment_late_days"] = (
            "invoices (health_signals.payment_late_days where none was due)"
        )
    out["plan_utilisation"] = active / seats.where(seats > 0)
    out["usage_vs_limit"] = np.nan
    sources["usage_vs_limit"] = "no usage table"
    if usage is not None and len(usage):
        merged = out[["account_id", "month"]].merge(
            usage_vs_limit(usage), on=["account_id", "month"], how="left"
        )
        out["usage_vs_limit"] = merged["usage_vs_limit"].to_numpy()
        sources["usage_vs_limit"] = "usage / included limit"
    out["nps"] = _col(panel, "nps")
    out["support_tickets"] = _col(panel, "support_tickets")
    out["exec_engagement"] = _col(panel, "exec_engagement")
    out["team_growth_pct"] = _col(panel, "team_growth_pct")
    panel["_team_growth"] = out["team_growth_pct"].to_numpy()
    out["team_growth_12m_pct"] = compounded_growth_pct(panel, "_team_growth")
    out["feature_requests"] = _col(panel, "feature_requests")
    out["expansion_requests"], sources["expansion_requests"] = _expansion_requests(panel)
    out["competitive_evaluation"] = _col(panel, "competitive_evaluation")
    out.attrs["sources"] = sources
    return out


def _check_signals(health_signals: pd.DataFrame) -> None:
    require_columns(health_signals, "health_signals", ("account_id", "month"))
    if len(health_signals) == 0:
        raise ValueError("health_signals is empty: nothing to score")


def health_scores(features: pd.DataFrame, rubric: Rubric) -> pd.DataFrame:
    """Health score: the sum of the rubric's points over its signals, 0-100 (higher is
    healthier); every account-month gets each signal's points and the five component sums.

    Columns:
    account_id, month, ``pts_<signal>`` per signal, one column per component (its points),
    ``health_score``, ``band`` (band name), ``missing_signals`` (count of signals without data).
    Signals whose feature is absent from ``features`` score as missing.
    """
    out = features[["account_id", "month"]].copy()
    missing = np.zeros(len(features), dtype=int)
    for comp in rubric.components:
        total = np.zeros(len(features))
        for sig in comp.signals:
            values = (
                features[sig.feature]
                if sig.feature in features.columns
                else pd.Series(np.nan, index=features.index)
            )
            pts = signal_points(values, sig, missing_fraction=rubric.missing_fraction)
            out[f"pts_{sig.name}"] = pts
            missing += pd.isna(values).to_numpy()
            total += pts
        out[comp.name] = total
    out["health_score"] = out[[c.name for c in rubric.components]].sum(axis=1)
    out["band"] = assign_band(out["health_score"], rubric)
    out["missing_signals"] = missing
    return out


def assign_band(scores: pd.Series | np.ndarray, rubric: Rubric) -> pd.Series:
    """Band name of each score: the highest band whose floor the score reaches."""
    s = np.asarray(scores, dtype=float)
    out = np.full(len(s), rubric.bands[-1].name, dtype=object)
    done = np.zeros(len(s), dtype=bool)
    for band in rubric.bands:  # highest floor first
        hit = (s >= band.min) & ~done
        out[hit] = band.name
        done |= hit
    index = scores.index if isinstance(scores, pd.Series) else None
    return pd.Series(out, index=index, dtype="str", name="band")


def weakest_signals(scores: pd.DataFrame, rubric: Rubric, *, n: int = 2) -> pd.Series:
    """The ``n`` signals losing the most points for each row, e.g. ``"ROI achievement (-11), NPS (-8)"``."""
    lost = pd.DataFrame(
        {s.label: s.points - scores[f"pts_{s.name}"] for s in rubric.signals}, index=scores.index
    )
    values = lost.to_numpy()
    order = np.argsort(-values, axis=1, kind="stable")[:, :n]
    labels = np.asarray(lost.columns)
    text = [
        ", ".join(f"{labels[j]} (-{values[i, j]:.0f})" for j in row if values[i, j] > 0)
        for i, row in enumerate(order)
    ]
    return pd.Series(text, index=scores.index, dtype="str", name="weakest_signals")


def score_snapshot(
    scores: pd.DataFrame,
    mrr: pd.DataFrame,
    rubric: Rubric,
    *,
    as_of: str | pd.Timestamp,
    accounts: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Scores of the accounts paying in month ``as_of``, with ARR, owner and action.

    ``mrr``: long account_id, month, mrr (``revlib.metrics.mrr_by_account_month``). Accounts
    with MRR > 0 in the month but no score that month get no row (counted by the caller's
    guard). ARR = 12 x MRR, reporting currency per year. Sorted by score, lowest first.
    """
    month = month_start(as_of)
    paying = mrr[(mrr["month"] == month) & (mrr["mrr"] > 0)][["account_id", "mrr"]]
    snap = scores[scores["month"] == month].merge(paying, on="account_id", how="inner")
    snap["arr"] = 12.0 * snap["mrr"]
    bands = {b.name: b for b in rubric.bands}
    snap["band_label"] = snap["band"].map(lambda b: bands[b].label)
    snap["owner"] = snap["band"].map(lambda b: bands[b].owner)
    snap["action"] = snap["band"].map(lambda b: bands[b].action)
    snap["weakest_signals"] = weakest_signals(snap, rubric).to_numpy()
    if accounts is not None:
        keep = [c for c in ("account_id", "name", "segment") if c in accounts.columns]
        snap = snap.merge(accounts[keep].astype({"account_id": "str"}), on="account_id", how="left")
    comps = [c.name for c in rubric.components]
    pts = [f"pts_{s.name}" for s in rubric.signals]
    front = ["account_id"] + [c for c in ("name", "segment") if c in snap.columns]
    cols = front + [
        "month",
        "arr",
        "health_score",
        "band",
        "band_label",
        "owner",
        "action",
        "weakest_signals",
        *comps,
        *pts,
        "missing_signals",
    ]
    return snap[cols].sort_values(["health_score", "account_id"]).reset_index(drop=True)


def arr_by_band(
    snapshot: pd.DataFrame, rubric: Rubric, *, churn_rates: pd.Series | None = None
) -> pd.DataFrame:
    """ARR at risk: ARR (12 x MRR) of the paying accounts scoring below 75, i.e. in the
    retention risk, churn risk and lost bands. Reporting currency per year.

    Returns accounts and ARR per band with owner and action; with ``churn_rates`` (band ->
    share of account-months churning within the horizon, from history) also the expected ARR
    lost (ARR x rate)."""
    rows = []
    for b in rubric.bands:
        part = snapshot[snapshot["band"] == b.name]
        rows.append(
            {
                "band": b.name,
                "label": b.label,
                "floor": b.min,
                "accounts": len(part),
                "arr": float(part["arr"].sum()),
                "owner": b.owner,
                "action": b.action,
            }
        )
    out = pd.DataFrame(rows)
    total = out["arr"].sum()
    out["arr_share"] = out["arr"] / total if total > 0 else np.nan
    out["at_risk"] = out["floor"] < risk_floor(rubric)
    if churn_rates is not None:
        out["churn_rate"] = out["band"].map(churn_rates).astype(float)
        out["expected_arr_lost"] = out["arr"] * out["churn_rate"]
    return out


ESCALATE_SCORE_BELOW = 60.0  # the framework's escalation rule: health below 60 ...
ESCALATE_ARR_ABOVE = 10_000.0  # ... and ARR above $10K go to the CSM


def escalation_route(
    snapshot: pd.DataFrame,
    rubric: Rubric,
    *,
    score_below: float = ESCALATE_SCORE_BELOW,
    arr_above: float = ESCALATE_ARR_ABOVE,
) -> pd.Series:
    """Who acts on each account, by the framework's escalation rule: an at-risk account (score
    below :func:`risk_floor`) with health score below ``score_below`` AND ARR above
    ``arr_above`` (reporting currency per year) escalates to its CSM ("CSM escalation"); other
    at-risk accounts go to automated retention ("Automated retention"); healthy accounts get
    "" (no route)."""
    at_risk = snapshot["health_score"] < risk_floor(rubric)
    escalate = at_risk & (snapshot["health_score"] < score_below) & (snapshot["arr"] > arr_above)
    route = np.where(escalate, "CSM escalation", np.where(at_risk, "Automated retention", ""))
    return pd.Series(route, index=snapshot.index, name="route")


def risk_floor(rubric: Rubric) -> float:
    """Scores below this are "at risk": the floor of the band just above retention risk
    (the second band from the top, 75 in the team's rubric)."""
    return rubric.bands[1].min if len(rubric.bands) > 1 else rubric.bands[0].min
