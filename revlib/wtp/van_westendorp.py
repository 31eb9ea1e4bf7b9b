"""Van Westendorp Price Sensitivity Meter (PSM): the four cumulative curves, the price points
and the acceptable range, with bootstrap intervals.

Conventions (chosen to agree with the R package ``pricesensitivitymeter``'s ``psm_analysis``
and ``psm_analysis_weighted``, v1.3.3; docs/wtp.md maps the options):

* Price grid: every distinct price any kept respondent answered (in any of the four
  questions); with weights the grid prices are rounded to cents. With ``interpolate=True``
  the grid is ``min, min + step, ..., max`` and each curve is linearly interpolated
  between its values on the answered prices.
* Curves on the grid (``F_q`` the weighted empirical CDF of answer ``q``, share of weight
  with answer <= price, and forced to 0 at prices <= the lowest answer and to 1 at prices
  >= the highest answer): ``too_cheap = 1 - F_too_cheap``, ``cheap = 1 - F_cheap``,
  ``not_cheap = F_cheap``, ``expensive = F_expensive``, ``not_expensive = 1 - F_expensive``,
  ``too_expensive = F_too_expensive``. Shares are 0..1.
* Intersections: the grid steps where the sign of (curve a - curve b) changes; each crossing
  is placed by linear interpolation between the two grid prices (the midpoint if the
  difference does not change); a touch at zero counts as a sign change. Several crossings
  are reduced by ``method`` (min, max, mean or median). No crossing -> NaN. The reference
  accepts ``intersection_method = "median"`` but computes "min" for it; revlib's "median" is
  the median crossing (for three crossings the middle one; for two, their mean).
* Points: PMC (point of marginal cheapness) = not_cheap x too_cheap, PME (point of marginal
  expensiveness) = too_expensive x not_expensive, IDP (indifference price point) =
  expensive x cheap, OPP (optimal price point) = too_expensive x too_cheap. The acceptable
  range is PMC..PME; ``acceptable_range="narrower"`` uses expensive x too_cheap and
  too_expensive x cheap instead.
* Consistency: a respondent is consistent when too_cheap < cheap < expensive <
  too_expensive (strict, as the reference; ``allow_ties=True`` accepts equal answers).
  Inconsistent respondents are counted and, by default, excluded.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from revlib.data.frames import require_columns

QUESTIONS = ("too_cheap", "cheap", "expensive", "too_expensive")
POINTS = ("pmc", "opp", "idp", "pme")
POINT_NAMES = {
    "pmc": "Point of marginal cheapness",
    "opp": "Optimal price point",
    "idp": "Indifference price point",
    "pme": "Point of marginal expensiveness",
}
Method = Literal["min", "max", "mean", "median"]
RangeDef = Literal["original", "narrower"]


@dataclass(frozen=True)
class PsmResult:
    """A PSM analysis: the curves, the four points (price units of the answers), counts."""

    curves: pd.DataFrame
    points: dict[str, float]
    n_total: int
    n_inconsistent: int
    inconsistent_ids: list = field(default_factory=list)
    weighted: bool = False

    @property
    def acceptable_range(self) -> tuple[float, float]:
        """(lower, upper) = (PMC, PME)."""
        return self.points["pmc"], self.points["pme"]


def check_responses(responses: pd.DataFrame, *, table: str = "wtp_responses") -> None:
    """Raise ValueError naming the table/column/rows when the four answers are missing,
    non-numeric, null or negative."""
    require_columns(responses, table, QUESTIONS)
    for q in QUESTIONS:
        col = pd.to_numeric(responses[q], errors="coerce")
        bad = responses.index[col.isna() | (col < 0)]
        if len(bad):
            raise ValueError(
                f"{table}.{q}: {len(bad)} row(s) null, non-numeric or negative, e.g. rows "
                f"{list(bad[:5])}"
            )


def consistent(responses: pd.DataFrame, *, allow_ties: bool = False) -> pd.Series:
    """True where too_cheap < cheap < expensive < too_expensive (<= with ``allow_ties``)."""
    a = [responses[q].to_numpy(float) for q in QUESTIONS]
    less = np.less_equal if allow_ties else np.less
    ok = less(a[0], a[1]) & less(a[1], a[2]) & less(a[2], a[3])
    return pd.Series(ok, index=responses.index)


def _ecdf(values: np.ndarray, weights: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Weighted empirical CDF at ``grid`` (share of weight with value <= price), forced to
    0 at prices <= min(values) and 1 at prices >= max(values) (the reference's bounds)."""
    order = np.argsort(values, kind="stable")
    x, cw = values[order], np.cumsum(weights[order]) / weights.sum()
    idx = np.searchsorted(x, grid, side="right") - 1
    f = np.where(idx >= 0, cw[np.clip(idx, 0, None)], 0.0)
    f[grid >= x.max()] = 1.0
    f[grid <= x.min()] = 0.0
    return f


def r_seq(start: float, stop: float, step: float) -> np.ndarray:
    """R's ``seq(start, stop, by=step)``: start + i * step for i = 0..n, capped at stop."""
    n = int((stop - start) / step + 1e-10)
    return np.minimum(start + np.arange(n + 1) * step, stop)


def curves(
    answers: pd.DataFrame,
    weights: np.ndarray | None = None,
    *,
    interpolate: bool = False,
    step: float = 0.01,
) -> pd.DataFrame:
    """The PSM curves (shares 0..1) on the price grid; see the module docstring."""
    w = np.ones(len(answers)) if weights is None else np.asarray(weights, float)
    vals = {q: answers[q].to_numpy(float) for q in QUESTIONS}
    allv = np.concatenate(list(vals.values()))
    grid = np.unique(np.round(allv, 2) if weights is not None else allv)
    out = pd.DataFrame({"price": grid})
    out["too_cheap"] = 1 - _ecdf(vals["too_cheap"], w, grid)
    out["cheap"] = 1 - _ecdf(vals["cheap"], w, grid)
    out["expensive"] = _ecdf(vals["expensive"], w, grid)
    out["too_expensive"] = _ecdf(vals["too_expensive"], w, grid)
    if interpolate:
        fine = r_seq(grid[0], grid[-1], abs(step))
        out = pd.DataFrame(
            {"price": fine, **{q: np.interp(fine, grid, out[q].to_numpy()) for q in QUESTIONS}}
        )
    out["not_cheap"] = 1 - out["cheap"]
    out["not_expensive"] = 1 - out["expensive"]
    return out


def intersection(
    price: np.ndarray, a: np.ndarray, b: np.ndarray, *, method: Method = "min"
) -> float:
    """Price where curves ``a`` and ``b`` cross (see the module docstring), NaN if never."""
    d = np.asarray(a, float) - np.asarray(b, float)
    price = np.asarray(price, float)
    steps = np.flatnonzero(np.diff(np.sign(d)) != 0)
    if len(steps) == 0:
        return float("nan")
    x1, x2, y1, y2 = price[steps], price[steps + 1], d[steps], d[steps + 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        xs = np.where(y2 != y1, x1 - y1 * (x2 - x1) / (y2 - y1), (x1 + x2) / 2)
    reducers: dict[str, Callable[[np.ndarray], float]] = {
        "min": lambda x: float(np.min(x)),
        "max": lambda x: float(np.max(x)),
        "mean": lambda x: float(np.mean(x)),
        "median": lambda x: float(np.median(x)),
    }
    if method not in reducers:
        raise ValueError(f"method must be one of {list(reducers)}, got {method!r}")
    return reducers[method](xs)


def price_points(
    c: pd.DataFrame, *, method: Method = "min", acceptable_range: RangeDef = "original"
) -> dict[str, float]:
    """PMC, OPP, IDP, PME from the curves (price units)."""
    p = c["price"].to_numpy()

    def x(a: str, b: str) -> float:
        return intersection(p, c[a].to_numpy(), c[b].to_numpy(), method=method)

    if acceptable_range == "original":
        lo, hi = x("not_cheap", "too_cheap"), x("too_expensive", "not_expensive")
    elif acceptable_range == "narrower":
        lo, hi = x("expensive", "too_cheap"), x("too_expensive", "cheap")
    else:
        raise ValueError(
            f"acceptable_range must be 'original' or 'narrower', got {acceptable_range!r}"
        )
    return {
        "pmc": lo,
        "opp": x("too_expensive", "too_cheap"),
        "idp": x("expensive", "cheap"),
        "pme": hi,
    }


def van_westendorp(
    responses: pd.DataFrame,
    *,
    weight: str | None = None,
    exclude_inconsistent: bool = True,
    allow_ties: bool = False,
    interpolate: bool = False,
    step: float = 0.01,
    method: Method = "min",
    acceptable_range: RangeDef = "original",
    id_col: str = "respondent_id",
) -> PsmResult:
    """Van Westendorp PSM of ``responses`` (columns too_cheap, cheap, expensive,
    too_expensive; optional survey ``weight`` column; ``id_col`` names respondents)."""
    check_responses(responses)
    if method not in ("min", "max", "mean", "median"):
        raise ValueError(f"method must be 'min', 'max', 'mean' or 'median', got {method!r}")
    if weight is not None:
        if weight not in responses.columns:
            raise ValueError(f"wtp_responses: weight column {weight!r} not found")
        wcol = pd.to_numeric(responses[weight], errors="coerce")
        bad = responses.index[~(wcol > 0)]
        if len(bad):
            raise ValueError(f"wtp_responses.{weight}: weights must be > 0, rows {list(bad[:5])}")
    ok = consistent(responses, allow_ties=allow_ties)
    ids = responses[id_col] if id_col in responses.columns else pd.Series(responses.index)
    bad_ids = list(ids[~ok.to_numpy()])
    kept = responses[ok] if exclude_inconsistent else responses
    if kept.empty:
        raise ValueError("wtp_responses: every respondent is inconsistent; nothing to analyse")
    w = None if weight is None else kept[weight].to_numpy(float)
    c = curves(kept, w, interpolate=interpolate, step=step)
    return PsmResult(
        curves=c,
        points=price_points(c, method=method, acceptable_range=acceptable_range),
        n_total=len(responses),
        n_inconsistent=int((~ok).sum()),
        inconsistent_ids=bad_ids,
        weighted=weight is not None,
    )


def bootstrap_points(
    responses: pd.DataFrame,
    *,
    n_boot: int = 500,
    seed: int = 0,
    prob: float = 0.9,
    weight: str | None = None,
    **options,
) -> pd.DataFrame:
    """Point estimate and equal-tailed ``prob`` bootstrap interval of each PSM point:
    respondents resampled with replacement (seeded), inconsistent ones handled as in the
    point estimate. Rows pmc/opp/idp/pme; columns estimate, lower, upper, sd (price units)."""
    est = van_westendorp(responses, weight=weight, **options)
    rng = np.random.default_rng(seed)
    n = len(responses)
    draws = np.full((n_boot, len(POINTS)), np.nan)
    for i in range(n_boot):
        sample = responses.iloc[rng.integers(0, n, n)].reset_index(drop=True)
        try:
            pts = van_westendorp(sample, weight=weight, **options).points
        except ValueError:
            continue
        draws[i] = [pts[k] for k in POINTS]
    a = (1 - prob) / 2
    return pd.DataFrame(
        {
            "point": list(POINTS),
            "name": [POINT_NAMES[k] for k in POINTS],
            "estimate": [est.points[k] for k in POINTS],
            "lower": np.nanquantile(draws, a, axis=0),
            "upper": np.nanquantile(draws, 1 - a, axis=0),
            "sd": np.nanstd(draws, axis=0),
        }
    )


def by_segment(
    responses: pd.DataFrame, segment: str, *, segments: Sequence[str] | None = None, **kw
) -> pd.DataFrame:
    """:func:`bootstrap_points` per value of ``segment`` (long table with a segment column)."""
    keys = segments if segments is not None else sorted(responses[segment].dropna().unique())
    parts = [
        bootstrap_points(responses[responses[segment] == k], **kw).assign(segment=k) for k in keys
    ]
    return pd.concat(parts, ignore_index=True)
