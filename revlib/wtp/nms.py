"""Newton-Miller-Smith (NMS) extension of the PSM: trial (reach) and revenue curves from the
purchase-intent answers at the "cheap" and "expensive" prices, and the reach- and
revenue-maximising prices.

As in ``pricesensitivitymeter`` (v1.3.3): each answer on the intent scale (default 5..1,
5 = "definitely buy") is calibrated to a purchase probability (default 0.7, 0.5, 0.3, 0.1,
0); each respondent gets that probability at their cheap and expensive price and
``p_too_cheap`` / ``p_too_expensive`` (default 0) at their too-cheap and too-expensive
price; between and beyond these known prices the probability is interpolated linearly in
price and held constant outside (R ``approx(rule = 2)``). Trial at a price = (weighted)
mean probability; revenue = price x trial (per potential buyer). The maximising prices are
the first grid price with the highest trial / revenue. The grid is the PSM grid.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from revlib.wtp import van_westendorp as vw

PI_SCALE = (5, 4, 3, 2, 1)
PI_CALIBRATED = (0.7, 0.5, 0.3, 0.1, 0.0)


@dataclass(frozen=True)
class NmsResult:
    """Trial/revenue curves (price, trial 0..1, revenue per respondent) and optima."""

    curves: pd.DataFrame
    price_max_trial: float
    price_max_revenue: float


def calibrate(
    answers: np.ndarray,
    scale: Sequence[float] = PI_SCALE,
    calibrated: Sequence[float] = PI_CALIBRATED,
) -> np.ndarray:
    """Purchase probability of each intent answer (NaN for answers not on the scale)."""
    if len(scale) != len(calibrated):
        raise ValueError(
            f"pi_scale ({len(scale)} values) and pi_calibrated ({len(calibrated)}) differ in length"
        )
    out = np.full(len(answers), np.nan)
    a = np.asarray(answers, float)
    for s, c in zip(scale, calibrated, strict=True):
        out[a == s] = c
    return out


def _key(x: float) -> str:
    """R's ``as.character`` of a double (15 significant digits), used to match prices."""
    return format(float(x), ".15g")


def probability_matrix(
    answers: pd.DataFrame,
    grid: np.ndarray,
    *,
    weighted: bool,
    p_too_cheap: float = 0.0,
    p_too_expensive: float = 0.0,
    scale: Sequence[float] = PI_SCALE,
    calibrated: Sequence[float] = PI_CALIBRATED,
) -> np.ndarray:
    """Respondents x grid purchase probabilities (see the module docstring)."""
    col = {_key(p): j for j, p in enumerate(grid)}
    m = np.full((len(answers), len(grid)), np.nan)
    rows = np.arange(len(answers))
    pc = calibrate(answers["pi_cheap"].to_numpy(), scale, calibrated)
    pe = calibrate(answers["pi_expensive"].to_numpy(), scale, calibrated)
    for q, val in (
        ("too_cheap", np.full(len(answers), p_too_cheap)),
        ("too_expensive", np.full(len(answers), p_too_expensive)),
        ("cheap", pc),
        ("expensive", pe),
    ):
        prices = answers[q].to_numpy(float)
        if weighted:
            prices = np.round(prices, 2)
        pos = np.array([col.get(_key(p), -1) for p in prices])
        ok = pos >= 0
        m[rows[ok], pos[ok]] = val[ok]
    for i in range(len(m)):
        known = ~np.isnan(m[i])
        if known.sum() >= 2:
            m[i] = np.interp(grid, grid[known], m[i, known])
        elif known.sum() == 1:
            m[i] = m[i, known][0]
        else:
            m[i] = 0.0
    return m


def newton_miller_smith(
    responses: pd.DataFrame,
    *,
    weight: str | None = None,
    exclude_inconsistent: bool = True,
    allow_ties: bool = False,
    interpolate: bool = False,
    step: float = 0.01,
    p_too_cheap: float = 0.0,
    p_too_expensive: float = 0.0,
    scale: Sequence[float] = PI_SCALE,
    calibrated: Sequence[float] = PI_CALIBRATED,
) -> NmsResult:
    """NMS trial and revenue curves on the PSM grid of ``responses`` (which need columns
    pi_cheap and pi_expensive besides the four PSM answers)."""
    for c in ("pi_cheap", "pi_expensive"):
        if c not in responses.columns:
            raise ValueError(f"wtp_responses: NMS needs column {c!r}")
    vw.check_responses(responses)
    ok = vw.consistent(responses, allow_ties=allow_ties)
    kept = responses[ok] if exclude_inconsistent else responses
    w = None if weight is None else kept[weight].to_numpy(float)
    grid = vw.curves(kept, w, interpolate=interpolate, step=step)["price"].to_numpy()
    m = probability_matrix(
        kept,
        grid,
        weighted=weight is not None,
        p_too_cheap=p_too_cheap,
        p_too_expensive=p_too_expensive,
        scale=scale,
        calibrated=calibrated,
    )
    trial = m.mean(axis=0) if w is None else (w @ m) / w.sum()
    out = pd.DataFrame({"price": grid, "trial": trial, "revenue": grid * trial})
    return NmsResult(
        curves=out,
        price_max_trial=float(grid[np.argmax(trial)]),
        price_max_revenue=float(grid[np.argmax(out["revenue"].to_numpy())]),
    )


def bootstrap_optima(
    responses: pd.DataFrame, *, n_boot: int = 500, seed: int = 0, prob: float = 0.9, **options
) -> pd.DataFrame:
    """Estimate and equal-tailed ``prob`` bootstrap interval (respondents resampled, seeded)
    of the trial- and revenue-maximising prices. Rows max_trial/max_revenue."""
    est = newton_miller_smith(responses, **options)
    rng = np.random.default_rng(seed)
    n = len(responses)
    draws = np.full((n_boot, 2), np.nan)
    for i in range(n_boot):
        s = responses.iloc[rng.integers(0, n, n)].reset_index(drop=True)
        try:
            r = newton_miller_smith(s, **options)
        except ValueError:
            continue
        draws[i] = [r.price_max_trial, r.price_max_revenue]
    a = (1 - prob) / 2
    return pd.DataFrame(
        {
            "point": ["max_trial", "max_revenue"],
            "estimate": [est.price_max_trial, est.price_max_revenue],
            "lower": np.nanquantile(draws, a, axis=0),
            "upper": np.nanquantile(draws, 1 - a, axis=0),
        }
    )


def by_segment(
    responses: pd.DataFrame, segment: str, *, n_boot: int = 500, seed: int = 0, **options
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """NMS curves and :func:`bootstrap_optima` per value of ``segment`` (sorted): two long
    tables with a ``segment`` column."""
    curves, optima = [], []
    for s in sorted(responses[segment].dropna().unique()):
        sub = responses[responses[segment] == s]
        curves.append(newton_miller_smith(sub, **options).curves.assign(segment=s))
        optima.append(bootstrap_optima(sub, n_boot=n_boot, seed=seed, **options).assign(segment=s))
    return pd.concat(curves, ignore_index=True), pd.concat(optima, ignore_index=True)
