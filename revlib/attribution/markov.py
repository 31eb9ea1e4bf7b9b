"""Data-driven attribution: removal effects of a first-order Markov chain over journeys.

Every journey (converted or not) is a path ``start -> c1 -> ... -> ck -> conversion | null``
of the channels of its touches (converted journeys: touches at or before ``converted_at``).
Transition probabilities are the observed transition frequencies. The conversion probability
P is the probability of absorbing in ``conversion`` from ``start``. The removal effect of a
channel c is ``1 - P(without c) / P``, where removing c sends every transition into c to
``null``. Removal effects are normalised to sum to 1 over channels.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .models import ordered_touches, with_untouched

START, CONVERSION, NULL = "(start)", "(conversion)", "(null)"


def transition_counts(touchpoints: pd.DataFrame, journeys: pd.DataFrame) -> pd.DataFrame:
    """Observed transitions of the journey paths: columns ``from``, ``to``, ``count``.

    States are the channels plus ``(start)``, ``(conversion)`` and ``(null)``. Journeys without
    touches contribute ``(start) -> (conversion)`` or ``(start) -> (null)``.
    """
    return counts_from_touches(ordered_touches(touchpoints, journeys), journeys)


def counts_from_touches(t: pd.DataFrame, journeys: pd.DataFrame) -> pd.DataFrame:
    """:func:`transition_counts` from ordered touches (:func:`ordered_touches` output)."""
    jid = t["journey_id"].to_numpy()
    nxt = t["channel"].shift(-1).to_numpy(dtype=object)
    same = np.r_[jid[1:] == jid[:-1], False]
    end = np.where(t["converted"].to_numpy(), CONVERSION, NULL)
    to = np.where(same, nxt, end)
    frm = t["channel"].to_numpy(dtype=object)
    first = t["pos"].to_numpy() == 0
    j = journeys.assign(journey_id=journeys["journey_id"].astype(str))
    bare = j[~j["journey_id"].isin(set(t["journey_id"]))]
    bare_to = np.where(bare["converted"].fillna(False).astype(bool).to_numpy(), CONVERSION, NULL)
    edges = pd.DataFrame(
        {
            "from": np.concatenate(
                [
                    np.full(first.sum(), START, dtype=object),
                    frm,
                    np.full(len(bare), START, dtype=object),
                ]
            ),
            "to": np.concatenate(
                [t["channel"].to_numpy(dtype=object)[first], to, bare_to.astype(object)]
            ),
        }
    )
    return edges.groupby(["from", "to"], sort=True).size().rename("count").reset_index()


def _conversion_probability(q: np.ndarray, r: np.ndarray) -> float:
    """Absorption probability in conversion from state 0 (start): solve (I - Q) x = r."""
    x = np.linalg.solve(np.eye(len(q)) - q, r)
    return float(x[0])


def removal_effects(touchpoints: pd.DataFrame, journeys: pd.DataFrame) -> pd.DataFrame:
    """Markov removal effect of each channel, over all journeys (converted and not).

    Columns: channel, ``removal_effect`` (1 - P(conversion without the channel) / P(conversion),
    ratio in [0, 1]) and ``share`` (removal effects normalised to sum to 1). Also returns, in
    ``.attrs["conversion_probability"]``, the chain's overall conversion probability. When no
    journey converted every effect is 0 and every share NaN.
    """
    return effects_from_counts(transition_counts(touchpoints, journeys))


def effects_from_counts(counts: pd.DataFrame) -> pd.DataFrame:
    """:func:`removal_effects` from :func:`transition_counts` output."""
    channels = sorted(set(counts["from"]) - {START})
    states = [START, *channels]
    index = {s: i for i, s in enumerate(states)}
    n = len(states)
    q = np.zeros((n, n))
    r = np.zeros(n)
    total = counts.groupby("from")["count"].transform("sum")
    prob = (counts["count"] / total).to_numpy()
    for (frm, to), p in zip(counts[["from", "to"]].itertuples(index=False), prob, strict=True):
        if to == CONVERSION:
            r[index[frm]] += p
        elif to != NULL:
            q[index[frm], index[to]] += p
    base = _conversion_probability(q, r)
    effects = []
    for ch in channels:
        k = index[ch]
        q_removed = q.copy()
        q_removed[:, k] = 0.0  # transitions into the channel now end in null
        r_removed = r.copy()
        r_removed[k] = 0.0
        without = _conversion_probability(q_removed, r_removed)
        effects.append(1.0 - without / base if base > 0 else 0.0)
    eff = np.clip(np.array(effects, dtype=float), 0.0, 1.0)
    share = eff / eff.sum() if eff.sum() > 0 else np.full(len(eff), np.nan)
    out = pd.DataFrame({"channel": channels, "removal_effect": eff, "share": share})
    out.attrs["conversion_probability"] = base
    return out


def markov_credits(
    touchpoints: pd.DataFrame, journeys: pd.DataFrame, *, effects: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Credit of each touch of each converted journey under the Markov removal-effect model.

    Each converted journey's revenue is split over the distinct channels it touched in
    proportion to their removal effects (equally when they are all 0), and a channel's part is
    shared equally by its touches in the journey. Same columns as
    :func:`revlib.attribution.models.touch_credits`; ``effects`` defaults to
    :func:`removal_effects` over all journeys.
    """
    everything = ordered_touches(touchpoints, journeys)
    if effects is None:
        effects = effects_from_counts(counts_from_touches(everything, journeys))
    return credits_from_effects(everything, journeys, effects)


def credits_from_effects(
    everything: pd.DataFrame, journeys: pd.DataFrame, effects: pd.DataFrame
) -> pd.DataFrame:
    """:func:`markov_credits` from ordered touches and removal effects."""
    t = everything[everything["credited"]].reset_index(drop=True)
    effect_of = dict(zip(effects["channel"], effects["removal_effect"], strict=True))
    eff = np.array([effect_of.get(ch, 0.0) for ch in t["channel"]], dtype=float)
    jid = t["journey_id"].to_numpy()
    touches_of_channel = t.groupby(["journey_id", "channel"])["pos"].transform("size").to_numpy()
    first_of_channel = ~t.duplicated(["journey_id", "channel"]).to_numpy()
    # Sum of the effects of the journey's distinct channels, and their number.
    eff_sum = (
        pd.Series(np.where(first_of_channel, eff, 0.0)).groupby(jid).transform("sum").to_numpy()
    )
    n_channels = pd.Series(first_of_channel.astype(float)).groupby(jid).transform("sum").to_numpy()
    channel_credit = np.where(
        eff_sum > 0, eff / np.where(eff_sum > 0, eff_sum, 1.0), 1.0 / n_channels
    )
    credit = channel_credit / touches_of_channel
    out = t[["journey_id", "touched_at", "channel", "touch_type"]].copy()
    out["credit"] = credit
    out["revenue"] = credit * t["revenue"].to_numpy()
    return with_untouched(out, everything, journeys)
