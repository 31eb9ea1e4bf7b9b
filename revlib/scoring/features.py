"""Deal features as they were knowable on a snapshot date, and the guard against leakage.

A training row is one deal as it stood on one snapshot date ``t`` (the end of that day): its
stage, age, amount and expected close date rebuilt from ``opportunity_history``, the account's
static attributes, and its owner's and account's record on deals closed by ``t``. The label
(``won``) and the outcome date are kept beside the features and never among them.

Two snapshot modes:

- ``"monthly"``: every deal open at a month end gets a row for that month end (the pipeline as
  it stood then). Needs ``opportunity_history`` for stage and close-date features; without it
  only age and static attributes are known.
- ``"weekly"``: the same at every week end (Sunday). Four times the rows; catches deals whose
  whole cycle fits between two month ends.
- ``"creation"``: one row per deal, as it stood the day it was created (other deals' outcomes
  count only if they closed before that day). The mode for CRM extracts without history.

"Impossible by construction": every feature at ``t`` is read from history rows changed by the
end of ``t`` and from outcomes dated by ``t`` (``< t`` in creation mode), never from a deal's
final stage, status, amount or close date. ``knowledge_at`` cuts tables down to what was known
at ``t``; the tests build features from the full and the cut tables and require them equal.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import overload

import numpy as np
import pandas as pd

from revlib.periods import period_ends
from revlib.pipeline_history import extract_date, prepare_history, snapshot_pairs

SnapshotMode = str  # "auto" | "monthly" | "weekly" | "creation"
MODES = ("auto", "monthly", "weekly", "creation")
PERIODIC = ("monthly", "weekly")
STATIC_DEAL_COLUMNS = ("type", "product", "lead_source", "competitor", "discount_pct")
ACCOUNT_COLUMNS = ("industry", "employees", "region", "segment", "acquisition_channel")
HISTORY_FEATURES = (
    "stage",
    "days_in_stage",
    "stage_changes",
    "days_to_expected_close",
    "close_date_pushes",
    "slip_days",
    "amount_change_pct",
    "amount_changes",
)
LABEL_COLUMNS = ("won", "outcome_date")
KEY_COLUMNS = ("opportunity_id", "snapshot_date")
# Names that can only be known once a deal has closed. A feature with one of these names (or
# containing one as a word) is refused outright.
DENY_LIST = (
    "won",
    "is_won",
    "lost",
    "status",
    "outcome",
    "outcome_date",
    "label",
    "target",
    "close_value",
    "final_stage",
    "final_amount",
    "closed_date",
    "close_date",
    "actual_close_date",
    "days_to_close",
    "is_closed",
    "deal_stage",
)
DENY_WORDS = {"won", "outcome", "status", "label", "target"}
FEATURE_DEFAULTS = {"owner_prior": 10.0}


class LeakageError(ValueError):
    """A feature uses, or behaves as if it used, information from after the snapshot date."""


def resolve_mode(tables: Mapping[str, pd.DataFrame], mode: SnapshotMode = "auto") -> str:
    """``auto`` is ``weekly`` when ``opportunity_history`` is present, else ``creation``."""
    if mode not in MODES:
        raise ValueError(f"snapshot mode must be one of {MODES}, got {mode!r}")
    if mode != "auto":
        return mode
    hist = tables.get("opportunity_history")
    return "weekly" if hist is not None and len(hist) else "creation"


@overload
def _with_ns_dates(df: None, cols: Sequence[str]) -> None: ...
@overload
def _with_ns_dates(df: pd.DataFrame, cols: Sequence[str]) -> pd.DataFrame: ...
def _with_ns_dates(df, cols):
    """Copy with the given date columns as datetime64[ns] (as-of joins need one resolution)."""
    if df is None:
        return None
    df = df.copy()
    for c in cols:
        if c in df.columns:
            df[c] = pd.to_datetime(df[c]).astype("datetime64[ns]")
    return df


def _closed_running(opps: pd.DataFrame, by: str | None, as_of: pd.Timestamp) -> pd.DataFrame:
    """Closed deals sorted by close date with running won / closed counts (per ``by``)."""
    closed = opps[opps["status"].isin(["won", "lost"]) & (opps["close_date"] <= as_of)]
    cols = ["close_date", "status"] + ([by] if by else [])
    c = closed[cols].dropna().sort_values("close_date", kind="stable").reset_index(drop=True)
    c["_won"] = (c["status"].astype(object) == "won").astype(float)
    if by:
        g = c.groupby(by, sort=False)
        c["n_closed"] = g.cumcount() + 1.0
        c["n_won"] = g["_won"].cumsum()
    else:
        c["n_closed"] = np.arange(1, len(c) + 1, dtype=float)
        c["n_won"] = c["_won"].cumsum()
    return c[["close_date", "n_closed", "n_won"] + ([by] if by else [])]


def _asof_join(
    left: pd.DataFrame,
    right: pd.DataFrame,
    *,
    key: str,
    right_key: str,
    by: str | None,
    strict: bool,
) -> pd.DataFrame:
    """Backward as-of join of ``right``'s running columns onto ``left`` (which keeps its order)."""
    left = left.assign(_pos=np.arange(len(left)))
    if by is not None:
        valid = left[by].notna()
        right = right[right[by].notna()]
        part = left[valid]
    else:
        part = left
    part = part.sort_values(key, kind="stable")
    if len(right) == 0 or len(part) == 0:
        merged = part.copy()
        for c in right.columns:
            if c not in (right_key, by):
                merged[c] = np.nan
    else:
        r = right.sort_values(right_key, kind="stable")
        if by is not None:
            r = r.astype({by: part[by].dtype}) if part[by].dtype != r[by].dtype else r
        merged = pd.merge_asof(
            part,
            r,
            left_on=key,
            right_on=right_key,
            by=by,
            direction="backward",
            allow_exact_matches=not strict,
        )
    merged = merged.set_index("_pos").reindex(np.arange(len(left)))
    return merged


def build_snapshots(
    tables: Mapping[str, pd.DataFrame],
    *,
    mode: SnapshotMode = "auto",
    as_of: str | pd.Timestamp | None = None,
    dates: Sequence[str | pd.Timestamp] | None = None,
    extra_columns: Sequence[str] = (),
    config: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """One row per (deal, snapshot date): features known then, the label and outcome date.

    ``extra_columns``: further opportunity columns to use as features, which the caller
    declares fixed from the deal's creation (e.g. the rep's manager); the leakage guard
    (:func:`check_features`) still checks them.

    Columns: ``opportunity_id``, ``snapshot_date``, the features listed in
    ``rows.attrs["feature_columns"]`` (those the data can support), ``expected_close_date``
    (the CRM close date on the snapshot date, when history has it), ``won`` (1 won, 0 lost,
    NaN still open at ``as_of``) and ``outcome_date`` (close date of closed deals). Only
    deals closed by ``as_of`` count as closed. ``as_of`` defaults to the extract date (latest
    date in the data) when ``None`` or empty. Amounts are the deal's ``amount`` in reporting currency.
    """
    cfg = FEATURE_DEFAULTS | dict(config or {})
    opps = _with_ns_dates(tables["opportunities"], ("created_date", "close_date"))
    hist = _with_ns_dates(tables.get("opportunity_history"), ("changed_at", "close_date"))
    accounts = _with_ns_dates(tables.get("accounts"), ("created_at",))
    mode = resolve_mode(tables, mode)
    as_of = (
        extract_date(tables) if as_of is None or as_of == "" else pd.Timestamp(as_of).normalize()
    )
    use_history = mode in PERIODIC and hist is not None and len(hist) > 0
    pairs = snapshot_pairs(
        opps,
        mode=mode,
        as_of=as_of,
        dates=None if dates is None else [pd.Timestamp(d) for d in dates],
    )
    pairs["snapshot_date"] = pd.to_datetime(pairs["snapshot_date"]).astype("datetime64[ns]")
    rows = pairs.merge(opps, on="opportunity_id", how="left", validate="many_to_one")
    t = rows["snapshot_date"]
    features: list[str] = []
    if mode in PERIODIC:
        rows["age_days"] = (t - rows["created_date"]).dt.days.astype(float)
        features.append("age_days")
    # Knowledge of other deals' outcomes: closed by the end of t (monthly); before t (creation).
    strict = mode == "creation"
    missing = [c for c in extra_columns if c not in opps.columns]
    if missing:
        raise ValueError(
            f"extra columns not in opportunities: {missing}; columns: {list(opps.columns)}"
        )
    static = list(
        dict.fromkeys([c for c in STATIC_DEAL_COLUMNS if c in opps.columns] + list(extra_columns))
    )
    state_amount = rows["amount"].astype(float)
    rows["expected_close_date"] = pd.NaT
    if use_history:
        h = prepare_history(hist)
        rows["_t_end"] = t + pd.Timedelta(days=1) - pd.Timedelta(nanoseconds=1)
        keep = [
            "opportunity_id",
            "changed_at",
            "stage",
            "amount",
            "close_date",
            "stage_since",
            "stage_changes",
            "close_date_pushes",
            "slip_days",
            "amount_changes",
            "first_amount",
        ]
        state = _asof_join(
            rows[["opportunity_id", "_t_end"]],
            h[keep],
            key="_t_end",
            right_key="changed_at",
            by="opportunity_id",
            strict=False,
        )
        has = state["changed_at"].notna().to_numpy()
        rows["stage"] = state["stage"].to_numpy()
        rows["days_in_stage"] = np.where(
            has, (t - state["stage_since"].dt.normalize()).dt.days, np.nan
        )
        for c in ("stage_changes", "close_date_pushes", "slip_days", "amount_changes"):
            rows[c] = np.where(has, state[c].astype(float), np.nan)
        state_amount = pd.Series(
            np.where(has, state["amount"].astype(float), np.nan), index=rows.index
        )
        first = state["first_amount"].astype(float).to_numpy()
        rows["amount_change_pct"] = np.where(
            has & (first > 0), state_amount / np.where(first > 0, first, 1) - 1, np.nan
        )
        rows["expected_close_date"] = pd.to_datetime(state["close_date"]).to_numpy()
        rows["days_to_expected_close"] = (rows["expected_close_date"] - t).dt.days.astype(float)
        features += list(HISTORY_FEATURES)
    rows["amount"] = state_amount.to_numpy()
    features.append("amount")
    features += static
    if accounts is not None and len(accounts):
        acc_cols = [c for c in ACCOUNT_COLUMNS if c in accounts.columns]
        acc = accounts[
            ["account_id", *acc_cols, *(["created_at"] if "created_at" in accounts.columns else [])]
        ]
        rows = rows.drop(columns=[c for c in acc_cols if c in rows.columns]).merge(
            acc.rename(columns={"created_at": "_acc_created"}), on="account_id", how="left"
        )
        t = rows["snapshot_date"]
        features += acc_cols
        if "_acc_created" in rows:
            rows["account_age_days"] = (t - rows["_acc_created"]).dt.days.astype(float)
            features.append("account_age_days")
    # Owner's and account's record on deals closed before the snapshot.
    if "owner" in opps.columns:
        overall = _asof_join(
            rows[["snapshot_date"]],
            _closed_running(opps, None, as_of),
            key="snapshot_date",
            right_key="close_date",
            by=None,
            strict=strict,
        )
        prior_rate = (overall["n_won"] / overall["n_closed"]).to_numpy()
        own = _asof_join(
            rows[["snapshot_date", "owner"]],
            _closed_running(opps, "owner", as_of),
            key="snapshot_date",
            right_key="close_date",
            by="owner",
            strict=strict,
        )
        n_closed = own["n_closed"].fillna(0.0).to_numpy()
        n_won = own["n_won"].fillna(0.0).to_numpy()
        k = float(cfg["owner_prior"])
        rows["owner_win_rate"] = (n_won + k * prior_rate) / (n_closed + k)
        rows.loc[rows["owner"].isna().to_numpy(), "owner_win_rate"] = np.nan
        rows["owner_closed_deals"] = np.where(rows["owner"].notna(), n_closed, np.nan)
        features += ["owner_win_rate", "owner_closed_deals"]
    acc_run = _closed_running(opps[opps["status"] == "won"], "account_id", as_of)
    prior = _asof_join(
        rows[["snapshot_date", "account_id"]],
        acc_run,
        key="snapshot_date",
        right_key="close_date",
        by="account_id",
        strict=strict,
    )
    rows["account_prior_wins"] = prior["n_won"].fillna(0.0).to_numpy()
    features.append("account_prior_wins")
    q_end = period_ends(t, "quarter")
    rows["days_to_quarter_end"] = (q_end - t).dt.days.astype(float)
    features.append("days_to_quarter_end")
    closed = rows["status"].isin(["won", "lost"]) & (rows["close_date"] <= as_of)
    rows["won"] = np.where(closed, (rows["status"].astype(object) == "won").astype(float), np.nan)
    rows["outcome_date"] = rows["close_date"].where(closed)
    keep_cols = [
        *KEY_COLUMNS,
        "account_id",
        "owner",
        "created_date",
        *features,
        "expected_close_date",
        *LABEL_COLUMNS,
    ]
    keep_cols = list(dict.fromkeys(c for c in keep_cols if c in rows.columns))
    out = rows[keep_cols].sort_values(list(KEY_COLUMNS), kind="stable").reset_index(drop=True)
    out.attrs = {
        "feature_columns": list(dict.fromkeys(features)),
        "mode": mode,
        "as_of": as_of,
        "extra_columns": list(extra_columns),
    }
    return out


def knowledge_at(
    tables: Mapping[str, pd.DataFrame], t: str | pd.Timestamp
) -> dict[str, pd.DataFrame]:
    """The tables as they could have been extracted at the end of day ``t``.

    Deals created after ``t`` are dropped; deals closing after ``t`` become open with their
    stage, amount and expected close date as history had them at ``t``; history rows after
    ``t`` are dropped. Used to prove that features at ``t`` need nothing later.
    """
    t = pd.Timestamp(t).normalize()
    opps = tables["opportunities"]
    opps = opps[opps["created_date"] <= t].copy()
    late = ~(opps["status"].isin(["won", "lost"]) & (opps["close_date"] <= t))
    out = {k: v for k, v in tables.items() if k not in ("opportunities", "opportunity_history")}
    hist = tables.get("opportunity_history")
    if hist is not None:
        hist = hist[hist["changed_at"] < t + pd.Timedelta(days=1)]
        hist = hist[hist["opportunity_id"].isin(opps["opportunity_id"])].reset_index(drop=True)
        last = (
            hist.sort_values("changed_at", kind="stable")
            .groupby("opportunity_id")
            .tail(1)
            .set_index("opportunity_id")
        )
        ids = opps.loc[late, "opportunity_id"]
        for col in ("stage", "amount", "close_date"):
            if col in last:
                opps.loc[late, col] = last[col].reindex(ids).to_numpy()
        out["opportunity_history"] = hist
    else:
        opps.loc[late, ["stage", "close_date"]] = [pd.NA, pd.NaT]
    opps.loc[late, "status"] = "open"
    out["opportunities"] = opps.reset_index(drop=True)
    return out


DEFAULT_DROP = ("owner_closed_deals",)  # grows with calendar time: a trend proxy under a time split


def default_features(rows: pd.DataFrame, *, drop: Iterable[str] = DEFAULT_DROP) -> list[str]:
    """The feature columns ``build_snapshots`` produced, less ``drop`` and constant columns."""
    drop = set(drop)
    cols = [c for c in rows.attrs.get("feature_columns", []) if c not in drop and c in rows.columns]
    return [c for c in cols if rows[c].nunique(dropna=False) > 1]


def single_feature_auc(values: pd.Series, label: pd.Series) -> float:
    """How well one feature alone separates won from lost: ROC AUC, folded to >= 0.5.

    Numbers are ranked as they are (missing as its own lowest value); text is replaced by
    its category's win rate. 0.5 = no signal, 1.0 = perfect separation.
    """
    from sklearn.metrics import roc_auc_score

    y = np.asarray(label, dtype=float)
    if len(np.unique(y)) < 2:
        return float("nan")
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        x = values.astype(float)
        x = x.fillna(x.min() - 1 if x.notna().any() else 0).to_numpy()
    else:
        key = values.astype("string").fillna("(missing)")
        x = key.map(pd.Series(y, index=values.index).groupby(key).mean()).to_numpy(dtype=float)
    auc = roc_auc_score(y, x)
    return float(max(auc, 1 - auc))


def check_features(
    rows: pd.DataFrame,
    feature_columns: Sequence[str],
    *,
    label: str = "won",
    max_single_auc: float = 0.95,
) -> dict[str, float]:
    """Refuse features that leak the outcome; return each feature's single-feature AUC.

    Raises :class:`LeakageError` listing every feature that (a) is the label or a name on
    :data:`DENY_LIST` (final stage, status, close value, close date, days to close ...), or
    (b) alone separates won from lost with ROC AUC above ``max_single_auc`` on closed rows,
    which at a snapshot only information from after it can explain. Also refuses unknown
    columns.
    """
    problems = []
    missing = [c for c in feature_columns if c not in rows.columns]
    if missing:
        raise ValueError(
            f"feature columns not in the data: {missing}; available: {list(rows.columns)}"
        )
    for c in feature_columns:
        name = c.lower()
        if c in (label, *KEY_COLUMNS) or name in DENY_LIST or set(name.split("_")) & DENY_WORDS:
            problems.append(f"{c}: on the deny list (known only after a deal closes)")
    closed = rows[rows[label].notna()]
    aucs = {}
    for c in feature_columns:
        if any(p.startswith(f"{c}:") for p in problems):
            continue
        aucs[c] = single_feature_auc(closed[c], closed[label])
        if aucs[c] > max_single_auc:
            problems.append(
                f"{c}: alone separates won from lost with ROC AUC {aucs[c]:.3f} > {max_single_auc} "
                "(only post-snapshot information explains that)"
            )
    if problems:
        raise LeakageError("leaking feature(s): " + "; ".join(problems))
    return aucs
