"""MRR snapshots per account and month, and the five MRR movements.

Definitions (``shared/spec/metrics.md`` v1): an account's MRR in month ``m`` is the sum of
``mrr`` over its subscriptions with ``start_date <= d < end_date``, where ``d`` is the last
day of ``m`` (null ``end_date`` = open). A subscription therefore counts in the months from
the month of its ``start_date`` up to, but not including, the month of its ``end_date``; one
that starts and ends within the same month never shows in a snapshot.

Internally MRR is held as an accounts x months matrix of integer micro-units (1e-6 of the
reporting currency), built with a difference array and a cumulative sum, so that "MRR is 0"
is exact and month totals do not accumulate floating-point error.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from revlib.data import fx_factor, require_columns
from revlib.periods import month_from_number, month_number, month_start

MICROS = 1_000_000  # integer micro-units per currency unit
MOVEMENTS = ("new", "reactivation", "expansion", "contraction", "churn", "flat")
MOVEMENT_COLUMNS = (
    "month",
    "opening_mrr",
    "new_mrr",
    "reactivation_mrr",
    "expansion_mrr",
    "contraction_mrr",
    "churned_mrr",
    "closing_mrr",
    "arr",
    "customers",
)
_SUB_COLUMNS = ("account_id", "start_date", "end_date", "mrr")


@dataclass(frozen=True)
class MrrPanel:
    """MRR of every account in every month, in integer micro-units of the reporting currency.

    ``accounts`` (sorted account ids), ``months`` (first day of each month, consecutive, from
    the first month of data to the as-of month) and ``micros`` (int64, accounts x months).
    Build it with :func:`mrr_panel`; every metric function accepts it in place of the
    subscriptions table, which saves rebuilding it. The matrix is read-only; derived
    matrices (movement masks, cohort sums) are cached on the panel (``cache``, by name).
    """

    accounts: np.ndarray
    months: pd.DatetimeIndex
    micros: np.ndarray
    cache: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.micros.flags.writeable = False

    @property
    def mrr(self) -> np.ndarray:
        """MRR matrix in currency units (float64, accounts x months)."""
        return self.micros / MICROS

    @property
    def active(self) -> np.ndarray:
        """Boolean matrix: the account has MRR > 0 in the month."""
        return self.micros > 0

    def totals(self) -> np.ndarray:
        """Total MRR per month, currency units."""
        return self.micros.sum(axis=0) / MICROS

    def month_index(self, month: str | pd.Timestamp) -> int:
        """Column of ``month`` (any date inside it); raises if outside the panel."""
        m = month_start(month)
        if m < self.months[0] or m > self.months[-1]:
            raise ValueError(
                f"month {m:%Y-%m} is outside the data, which runs "
                f"{self.months[0]:%Y-%m} to {self.months[-1]:%Y-%m}"
            )
        return int(month_number(m) - month_number(self.months[0]))


def check_subscriptions(subscriptions: pd.DataFrame) -> None:
    """Raise ``ValueError`` unless the table has the columns MRR needs, start dates and
    non-negative MRR."""
    require_columns(subscriptions, "subscriptions", _SUB_COLUMNS)
    if subscriptions["start_date"].isna().any():
        raise ValueError("subscriptions.start_date must not be null")
    if (subscriptions["mrr"].fillna(0) < 0).any():
        raise ValueError("subscriptions.mrr must be >= 0")


def data_end_month(subscriptions: pd.DataFrame) -> pd.Timestamp:
    """Default as-of month: the month of the latest ``start_date`` (end dates may be scheduled
    in the future, so they do not extend the data)."""
    starts = pd.to_datetime(subscriptions["start_date"])
    return month_start(starts.max())


def mrr_panel(
    subscriptions: pd.DataFrame | MrrPanel,
    *,
    fx_rates: pd.DataFrame | None = None,
    as_of: str | pd.Timestamp | None = None,
) -> MrrPanel:
    """MRR of an account in a month: the sum of its subscriptions' MRR active on the month's
    last day (start_date <= day < end_date; no end_date = still active), in the reporting
    currency at one constant rate per currency. Reporting currency per month.

    Returns every account at every month-end from the first month of data to the as-of month:
    ``MRR_a(m) = sum of mrr over subscriptions of a with start_date <= last day of m <
    end_date``, converted to the reporting currency with ``fx_rates`` (one constant rate per
    currency). The first month of data is the month of the earliest ``start_date``; the month
    before it has MRR 0 for every account. ``as_of`` (any date; its month is the last column)
    defaults to the month of the latest ``start_date``. Money in reporting currency per month.
    """
    if isinstance(subscriptions, MrrPanel):
        return subscriptions if as_of is None else _truncate(subscriptions, as_of)
    check_subscriptions(subscriptions)
    subs = subscriptions
    if len(subs) == 0:
        raise ValueError("subscriptions is empty: no MRR to compute")
    start = pd.to_datetime(subs["start_date"])
    end = pd.to_datetime(subs["end_date"])
    first = int(month_number(month_start(start.min())))
    last_month = month_start(as_of) if as_of is not None else data_end_month(subs)
    last = int(month_number(last_month))
    if last < first:
        raise ValueError(
            f"as_of {last_month:%Y-%m} is before the first month of data {start.min():%Y-%m}"
        )
    n_months = last - first + 1
    ms = month_number(start) - first
    me = np.where(end.isna().to_numpy(), n_months, 0)
    has_end = end.notna().to_numpy()
    me[has_end] = month_number(end[has_end]) - first
    me = np.minimum(me, n_months)
    rate = fx_factor(subs, fx_rates)
    amount = np.rint(subs["mrr"].fillna(0).to_numpy(dtype=float) * rate * MICROS).astype(np.int64)
    keep = (ms < me) & (ms < n_months) & (amount != 0)
    acc_idx, accounts = pd.factorize(subs["account_id"].astype(str), sort=True)
    # difference array: +amount in the first month counted, -amount in the month of end_date
    width = n_months + 1
    flat = np.concatenate([acc_idx[keep] * width + ms[keep], acc_idx[keep] * width + me[keep]])
    weights = np.concatenate([amount[keep], -amount[keep]])
    diff = _exact_bincount(flat, weights, len(accounts) * width).reshape(len(accounts), width)
    micros = np.cumsum(diff[:, :n_months], axis=1)
    months = pd.date_range(month_from_number(first), periods=n_months, freq="MS").astype(
        "datetime64[ns]"
    )
    return MrrPanel(np.asarray(accounts, dtype=object), months, micros)


def _exact_bincount(index: np.ndarray, weights: np.ndarray, size: int) -> np.ndarray:
    """Integer sums of `weights` per `index` (np.add.at semantics, but fast): float64 bincount
    is exact while every partial sum stays below 2**53 micro-units (~9e9 currency units)."""
    if len(weights) and np.abs(weights).sum() >= 2**53:
        out = np.zeros(size, dtype=np.int64)
        np.add.at(out, index, weights)
        return out
    return np.bincount(index, weights=weights.astype(float), minlength=size).astype(np.int64)


def _truncate(panel: MrrPanel, as_of) -> MrrPanel:
    j = panel.month_index(as_of)
    return MrrPanel(panel.accounts, panel.months[: j + 1], panel.micros[:, : j + 1])


def mrr_by_account_month(
    subscriptions: pd.DataFrame | MrrPanel,
    *,
    fx_rates: pd.DataFrame | None = None,
    end: str | pd.Timestamp | None = None,
) -> pd.DataFrame:
    """MRR per account and month-end snapshot, long format: account_id, month, mrr.

    One row per account and month from the account's first month with MRR > 0 to ``end``
    (default: the month of the latest ``start_date``), zeros included after a churn;
    accounts that never had MRR > 0 are absent. ``month`` is the first day of the month;
    ``mrr`` is reporting currency per month.
    """
    panel = mrr_panel(subscriptions, fx_rates=fx_rates, as_of=end)
    first = first_active_column(panel)
    rows, cols = np.nonzero(np.arange(len(panel.months))[None, :] >= first[:, None])
    return pd.DataFrame(
        {
            "account_id": pd.array(panel.accounts[rows], dtype="str"),
            "month": panel.months[cols].to_numpy(),
            "mrr": panel.micros[rows, cols] / MICROS,
        }
    )


def first_active_column(panel: MrrPanel) -> np.ndarray:
    """Column of each account's first month with MRR > 0 (n_months if never)."""
    active = panel.active
    return np.where(active.any(axis=1), active.argmax(axis=1), len(panel.months))


def _prev(cur: np.ndarray) -> np.ndarray:
    """MRR(m-1) for every month: the matrix shifted one month right, 0 before the data."""
    prev = np.zeros_like(cur)
    prev[:, 1:] = cur[:, :-1]
    return prev


def movement_masks(panel: MrrPanel) -> dict[str, np.ndarray]:
    """Boolean accounts x months matrices of each movement kind (cached on the panel)."""
    if "masks" in panel.cache:
        return panel.cache["masks"]
    cur = panel.micros
    prev = _prev(cur)
    cur_pos, prev_pos = cur > 0, prev > 0
    seen = np.zeros(cur.shape, dtype=bool)  # MRR > 0 in some month before m
    np.logical_or.accumulate(cur_pos[:, :-1], axis=1, out=seen[:, 1:])
    up = cur_pos & ~prev_pos
    masks = {
        "new": up & ~seen,
        "reactivation": up & seen,
        "expansion": prev_pos & (cur > prev),
        "contraction": cur_pos & (cur < prev),
        "churn": prev_pos & ~cur_pos,
    }
    panel.cache["masks"] = masks
    return masks


def account_movements(
    subscriptions: pd.DataFrame | MrrPanel,
    *,
    fx_rates: pd.DataFrame | None = None,
    as_of: str | pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Each account's MRR movement in a month, MRR(m) against MRR(m-1): new (from 0, never
    paid before), reactivation (from 0, paid in some earlier month), expansion (up),
    contraction (down, still above 0), churn (down to 0). Reporting currency per month.

    Columns: account_id, month, opening_mrr (MRR(m-1)), closing_mrr (MRR(m)), movement in
    {new, reactivation, expansion, contraction, churn, flat} and amount (>= 0, reporting
    currency per month): new and reactivation = MRR(m); expansion = MRR(m) - MRR(m-1);
    contraction = MRR(m-1) - MRR(m); churn = MRR(m-1); flat = 0. New means no MRR > 0 ever
    before; reactivation means MRR > 0 in some earlier month. Rows only where opening or
    closing MRR is > 0.
    """
    panel = mrr_panel(subscriptions, fx_rates=fx_rates, as_of=as_of)
    cur = panel.micros
    prev = _prev(cur)
    rows, cols = np.nonzero((cur > 0) | (prev > 0))
    masks = movement_masks(panel)
    code = np.full(cur.shape, len(MOVEMENTS) - 1, dtype=np.int8)
    for i, name in enumerate(MOVEMENTS[:-1]):
        code[masks[name]] = i
    c, p = cur[rows, cols], prev[rows, cols]
    amount = np.abs(c - p)
    k = code[rows, cols]
    amount = np.where(np.isin(k, (0, 1)), c, np.where(k == 4, p, amount))
    return pd.DataFrame(
        {
            "account_id": pd.array(panel.accounts[rows], dtype="str"),
            "month": panel.months[cols].to_numpy(),
            "opening_mrr": p / MICROS,
            "closing_mrr": c / MICROS,
            "movement": pd.array(np.asarray(MOVEMENTS, dtype=object)[k], dtype="str"),
            "amount": amount / MICROS,
        }
    )


def mrr_movements(
    subscriptions: pd.DataFrame | MrrPanel,
    *,
    fx_rates: pd.DataFrame | None = None,
    as_of: str | pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Monthly MRR bridge: opening + new + reactivation + expansion - contraction - churn = closing.

    One row per month from the first month of data to the as-of month. Columns: month (first
    day), opening_mrr, new_mrr, reactivation_mrr, expansion_mrr, contraction_mrr,
    churned_mrr, closing_mrr (reporting currency per month, movements >= 0), arr (12 x
    closing MRR, reporting currency per year) and customers (accounts with MRR > 0).
    """
    panel = mrr_panel(subscriptions, fx_rates=fx_rates, as_of=as_of)
    cur = panel.micros
    prev = _prev(cur)
    m = movement_masks(panel)
    change = cur - prev
    closing = cur.sum(axis=0)
    opening = np.concatenate([[0], closing[:-1]])

    out = pd.DataFrame(
        {
            "month": panel.months.to_numpy(),
            "opening_mrr": opening / MICROS,
            "new_mrr": cur.sum(axis=0, where=m["new"]) / MICROS,
            "reactivation_mrr": cur.sum(axis=0, where=m["reactivation"]) / MICROS,
            "expansion_mrr": change.sum(axis=0, where=m["expansion"]) / MICROS,
            "contraction_mrr": -change.sum(axis=0, where=m["contraction"]) / MICROS,
            "churned_mrr": prev.sum(axis=0, where=m["churn"]) / MICROS,
            "closing_mrr": closing / MICROS,
            "arr": 12 * closing / MICROS,
            "customers": (cur > 0).sum(axis=0).astype(np.int64),
        }
    )
    return out


def arr(mrr: float) -> float:
    """Annual recurring revenue: 12 x MRR. Reporting currency per year."""
    return 12.0 * mrr


def quick_ratio(movements: pd.DataFrame, *, months: int = 1) -> pd.Series:
    """SaaS quick ratio: MRR gained (new + reactivation + expansion) / MRR lost (contraction +
    churn), summed over the window (one month, or the trailing twelve). Ratio; above 1 the base
    grows, 4 or more is excellent.

    ``months`` sets the window ending with each month; NaN where nothing was lost or the window
    reaches before the data.
    """
    if not isinstance(months, (int, np.integer)) or months < 1:
        raise ValueError(f"months must be a whole number >= 1, got {months!r}")
    gain = movements["new_mrr"] + movements["reactivation_mrr"] + movements["expansion_mrr"]
    loss = movements["contraction_mrr"] + movements["churned_mrr"]
    if months > 1:
        gain = gain.rolling(months, min_periods=months).sum()
        loss = loss.rolling(months, min_periods=months).sum()
    return (gain / loss.where(loss > 0)).rename("quick_ratio")
