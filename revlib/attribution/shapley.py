"""Incremental attribution: Shapley values of a logistic conversion model (an addition to the
models the revenue team named, for comparison with the true incremental contributions).

Fit ``P(convert) = sigmoid(b + sum over channels c touched by the journey of g_c)`` on every
journey (converted or not). For a converted journey touching the channel set S, the game
``v(T) = sigmoid(b + sum_{c in T} g_c)`` splits its conversion probability ``v(S)`` into a
baseline ``v(empty)`` (what converts without any touch) and each channel's exact Shapley value
``phi_c`` (they add up: ``v(S) = v(empty) + sum phi_c``). The journey's revenue is allocated in
those proportions: ``phi_c / v(S)`` to channel c and ``v(empty) / v(S)`` to :data:`BASELINE`.
A channel that lowers conversion gets a negative credit.
"""

from __future__ import annotations

from math import factorial
from typing import TypeVar

import numpy as np
import pandas as pd

from .models import ordered_touches, with_untouched

BASELINE = "(baseline)"
"""Pseudo-channel of the Shapley model: revenue expected without any touch."""

MAX_CHANNELS_PER_JOURNEY = 20


_Z = TypeVar("_Z", np.ndarray, float)


def _sigmoid(z: _Z) -> _Z:
    """Logistic function ``1 / (1 + exp(-z))``, elementwise (a float gives a numpy float)."""
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def channel_matrix(
    touches: pd.DataFrame, journeys: pd.DataFrame
) -> tuple[pd.DataFrame, np.ndarray]:
    """Journeys x channels 0/1 matrix of the channels each journey touched (credited touches
    for converted journeys, all touches otherwise) and the converted flags, in journey order."""
    ids = journeys["journey_id"].astype(str)
    x = pd.crosstab(touches["journey_id"], touches["channel"]).clip(upper=1).astype(float)
    x = x.reindex(ids, fill_value=0.0)
    x.columns.name = None
    x = x[sorted(x.columns)]
    return x, journeys["converted"].fillna(False).astype(bool).to_numpy()


def fit_logistic(
    x: np.ndarray, y: np.ndarray, *, ridge: float = 1e-3, max_iter: int = 100, tol: float = 1e-10
) -> tuple[float, np.ndarray]:
    """Logistic regression by Newton-Raphson with a small ridge penalty ``ridge / 2`` x sum of
    squared slopes (it keeps a channel seen only in converted journeys finite; the intercept
    gets a 1000 times smaller one, so all-converted data stay finite too). Returns
    (intercept, coefficients) on the log-odds scale."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    design = np.column_stack([np.ones(len(x)), x])
    beta = np.zeros(design.shape[1])
    penalty = np.full(design.shape[1], ridge)
    penalty[0] = ridge * 1e-3
    for _ in range(max_iter):
        p = _sigmoid(design @ beta)
        grad = design.T @ (y - p) - penalty * beta
        hess = (
            (design * (p * (1 - p))[:, None]).T @ design
            + np.diag(penalty)
            + 1e-12 * np.eye(len(beta))
        )
        step = np.linalg.solve(hess, grad)
        step = step * min(1.0, 5.0 / max(np.max(np.abs(step)), 1e-300))  # damp huge first steps
        beta = beta + step
        if np.max(np.abs(step)) < tol:
            break
    return float(beta[0]), beta[1:]


def shapley_values(intercept: float, effects: np.ndarray) -> np.ndarray:
    """Exact Shapley values of the players of ``v(T) = sigmoid(intercept + sum_{c in T} effects_c)``.

    They sum to ``v(all) - v(empty)`` (efficiency). Cost O(k 2^k) for k players.
    """
    g = np.asarray(effects, dtype=float)
    k = len(g)
    if k == 0:
        return np.zeros(0)
    if k > MAX_CHANNELS_PER_JOURNEY:
        raise ValueError(
            f"a journey touches {k} channels; exact Shapley values allow at most {MAX_CHANNELS_PER_JOURNEY}"
        )
    masks = np.arange(2**k)
    bits = (masks[:, None] >> np.arange(k)[None, :]) & 1
    v = _sigmoid(intercept + bits @ g)
    size = bits.sum(axis=1)
    weight = np.array([factorial(s) * factorial(k - s - 1) / factorial(k) for s in range(k)])
    phi = np.empty(k)
    for c in range(k):
        without = bits[:, c] == 0
        t = masks[without]
        phi[c] = np.sum(weight[size[without]] * (v[t | (1 << c)] - v[t]))
    return phi


def logistic_effects(
    touchpoints: pd.DataFrame, journeys: pd.DataFrame, *, ridge: float = 1e-3
) -> pd.DataFrame:
    """Fitted conversion effect of touching each channel, over all journeys.

    Columns: channel, ``effect`` (log-odds change of converting when the journey touched the
    channel) and ``odds_ratio`` (exp(effect)). ``.attrs["intercept"]``: log-odds without any
    touch.
    """
    return effects_from_touches(ordered_touches(touchpoints, journeys), journeys, ridge=ridge)


def effects_from_touches(
    touches: pd.DataFrame, journeys: pd.DataFrame, *, ridge: float = 1e-3
) -> pd.DataFrame:
    """:func:`logistic_effects` from ordered touches (:func:`ordered_touches` output)."""
    x, y = channel_matrix(touches, journeys)
    intercept, coef = fit_logistic(x.to_numpy(), y, ridge=ridge)
    out = pd.DataFrame({"channel": list(x.columns), "effect": coef, "odds_ratio": np.exp(coef)})
    out.attrs["intercept"] = intercept
    return out


def credits_from_fit(
    touches: pd.DataFrame, journeys: pd.DataFrame, effects: pd.DataFrame
) -> pd.DataFrame:
    """Shapley credits of each touch of each converted journey (see the module docstring), plus
    one :data:`BASELINE` row per converted journey with touches. Columns as ``touch_credits``."""
    b = float(effects.attrs["intercept"])
    effect_of = dict(zip(effects["channel"], effects["effect"], strict=True))
    t = touches[touches["credited"]].reset_index(drop=True)
    pairs = t[["journey_id", "channel"]].drop_duplicates().sort_values(["journey_id", "channel"])
    key_of = pairs.groupby("journey_id", sort=True)["channel"].agg(lambda c: "\x1f".join(c))
    rows, bases = [], {}
    for key in key_of.unique():
        channels = key.split("\x1f")
        g = np.array([effect_of.get(c, 0.0) for c in channels])
        total = float(_sigmoid(b + g.sum()))
        bases[key] = float(_sigmoid(b)) / total
        rows += [(key, c, p) for c, p in zip(channels, shapley_values(b, g) / total, strict=True)]
    table = pd.DataFrame(rows, columns=["_key", "channel", "_share"])
    keyed = t.assign(_key=t["journey_id"].map(key_of).to_numpy())
    share = (
        keyed[["_key", "channel"]]
        .merge(table, on=["_key", "channel"], how="left")["_share"]
        .to_numpy()
    )
    n_of = t.groupby(["journey_id", "channel"])["pos"].transform("size").to_numpy()
    out = t[["journey_id", "touched_at", "channel", "touch_type"]].copy()
    out["credit"] = share / n_of
    out["revenue"] = out["credit"].to_numpy() * t["revenue"].to_numpy()
    journey = t.drop_duplicates("journey_id")
    if len(journey):
        base = journey["journey_id"].map(key_of).map(bases).to_numpy(dtype=float)
        base_rows = pd.DataFrame(
            {
                "journey_id": journey["journey_id"].to_numpy(),
                "touched_at": pd.Series(pd.NaT, index=journey.index, dtype=out["touched_at"].dtype),
                "channel": BASELINE,
                "touch_type": pd.Series(pd.NA, index=journey.index, dtype=out["touch_type"].dtype),
                "credit": base,
                "revenue": base * journey["revenue"].to_numpy(),
            }
        )
        out = pd.concat([out, base_rows], ignore_index=True).sort_values(
            "journey_id", kind="mergesort"
        )
        out = out.reset_index(drop=True)
    return with_untouched(out, touches, journeys)


def shapley_credits(
    touchpoints: pd.DataFrame, journeys: pd.DataFrame, *, ridge: float = 1e-3
) -> pd.DataFrame:
    """Credit of each touch of each converted journey under the logistic Shapley model.

    Each converted journey's revenue is split into a :data:`BASELINE` part ``v(empty) / v(S)``
    and, for each channel c it touched, ``phi_c / v(S)`` (shared equally by the channel's
    touches), where v is the fitted conversion probability and phi the exact Shapley values.
    Credits sum to 1 per journey; a channel that lowers conversion gets a negative credit.
    """
    touches = ordered_touches(touchpoints, journeys)
    return credits_from_fit(touches, journeys, effects_from_touches(touches, journeys, ridge=ridge))
