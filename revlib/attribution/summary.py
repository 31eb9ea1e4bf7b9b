"""All attribution models side by side: channel revenue, shares, ROI and distance from a truth."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from .markov import counts_from_touches, credits_from_effects, effects_from_counts, removal_effects
from .models import (
    NO_TOUCH,
    RULE_MODELS,
    check_position_weights,
    check_w_shaped_weights,
    ordered_touches,
    rule_credits,
)
from .shapley import BASELINE, credits_from_fit, effects_from_touches, logistic_effects

MODELS: tuple[str, ...] = (*RULE_MODELS, "markov", "shapley")
PSEUDO_CHANNELS: tuple[str, ...] = (NO_TOUCH, BASELINE)
"""Rows of the channel tables that are not marketing channels."""
MODEL_LABELS: dict[str, str] = {
    "first_touch": "First touch",
    "last_touch": "Last touch",
    "linear": "Linear",
    "time_decay": "Time decay",
    "position": "Position (team)",
    "w_shaped": "W-shaped",
    "markov": "Markov (data-driven)",
    "shapley": "Shapley (logistic)",
}


def attribute(
    touchpoints: pd.DataFrame,
    journeys: pd.DataFrame,
    *,
    models: Iterable[str] = MODELS,
    half_life_days: float = 7.0,
    position_weights: Mapping[str, float] | None = None,
    w_shaped_weights: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Touch credits of several attribution models, stacked with a ``model`` column.

    Rows: one per credited touch per model (see ``touch_credits``); ``credit`` sums to 1 and
    ``revenue`` to the journey's revenue within each model and converted journey. ``markov``
    and ``shapley`` are fitted on every journey given (converted or not).
    """
    models = list(models)
    unknown = [m for m in models if m not in MODELS]
    if unknown:
        raise ValueError(f"models must be among {list(MODELS)}, got {unknown}")
    check_position_weights(position_weights)
    check_w_shaped_weights(w_shaped_weights)
    touches = ordered_touches(touchpoints, journeys)
    frames = []
    for model in models:
        if model == "markov":
            effects = effects_from_counts(counts_from_touches(touches, journeys))
            credits = credits_from_effects(touches, journeys, effects)
        elif model == "shapley":
            credits = credits_from_fit(touches, journeys, effects_from_touches(touches, journeys))
        else:
            credits = rule_credits(
                touches,
                journeys,
                model=model,
                half_life_days=half_life_days,
                position_weights=position_weights,
                w_shaped_weights=w_shaped_weights,
            )
        frames.append(credits.assign(model=model))
    out = pd.concat(frames, ignore_index=True)
    return out[["model", *[c for c in out.columns if c != "model"]]]


def channel_revenue(credits: pd.DataFrame) -> pd.DataFrame:
    """Attributed revenue per model and channel.

    Columns: model, channel, ``conversions`` (sum of credits: fractional converted journeys),
    ``revenue`` (attributed revenue, currency of ``journeys.revenue``) and ``share`` (the
    channel's fraction of the model's revenue; of its conversions when revenue is all 0).
    """
    out = (
        credits.groupby(["model", "channel"], sort=False)[["credit", "revenue"]].sum().reset_index()
    )
    out = out.rename(columns={"credit": "conversions"})
    total_rev = out.groupby("model")["revenue"].transform("sum")
    total_conv = out.groupby("model")["conversions"].transform("sum")
    out["share"] = np.where(
        total_rev > 0,
        out["revenue"] / total_rev.where(total_rev > 0, 1.0),
        out["conversions"] / total_conv,
    )
    order = {m: i for i, m in enumerate(MODELS)}
    out = out.sort_values(
        ["model", "channel"], key=lambda s: s.map(order) if s.name == "model" else s
    )
    return out.reset_index(drop=True)


def share_table(channel_rev: pd.DataFrame, *, value: str = "share") -> pd.DataFrame:
    """Channel x model table of ``value`` (default the revenue share); missing cells are 0."""
    wide = channel_rev.pivot(index="channel", columns="model", values=value).fillna(0.0)
    wide = wide[[m for m in MODELS if m in wide.columns]]
    wide.columns.name = None
    return wide.reset_index()


def channel_shares(
    shares: pd.DataFrame, *, exclude: Iterable[str] = PSEUDO_CHANNELS
) -> pd.DataFrame:
    """Shares of the marketing channels only: rows in ``exclude`` (no-touch and baseline
    revenue) dropped and each model's column renormalised to sum to 1. Ratio."""
    wide = shares.set_index("channel")
    wide = wide.drop(index=[c for c in exclude if c in wide.index])
    totals = wide.sum(axis=0)
    return (wide / totals.where(totals != 0, 1.0)).reset_index()


def channel_spend(spend: pd.DataFrame, *, start=None, end=None) -> pd.DataFrame:
    """Spend per channel in ``[start, end]`` (months, inclusive); rows without a channel are
    summed under ``(unallocated)``. Columns: channel, spend (currency of ``spend.amount``)."""
    s = spend.copy()
    s["month"] = pd.to_datetime(s["month"])
    if start is not None:
        s = s[s["month"] >= pd.Timestamp(start)]
    if end is not None:
        s = s[s["month"] <= pd.Timestamp(end)]
    channel = s["channel"] if "channel" in s.columns else pd.Series(pd.NA, index=s.index)
    s = s.assign(channel=channel.astype("string").fillna("(unallocated)"))
    return s.groupby("channel", sort=True)["amount"].sum().rename("spend").reset_index()


def channel_roi(channel_rev: pd.DataFrame, spend_by_channel: pd.DataFrame) -> pd.DataFrame:
    """Return on spend per model and channel.

    Adds ``spend``, ``roas`` (attributed revenue / spend, ratio; NaN without spend) and ``roi``
    ((attributed revenue - spend) / spend, ratio, 0 = break-even) to :func:`channel_revenue`.
    """
    out = channel_rev.merge(spend_by_channel, on="channel", how="left")
    out["spend"] = out["spend"].fillna(0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["roas"] = np.where(out["spend"] > 0, out["revenue"] / out["spend"], np.nan)
    out["roi"] = out["roas"] - 1.0
    return out


def roas_table(
    roi: pd.DataFrame, spend_by_channel: pd.DataFrame, *, models: Iterable[str]
) -> pd.DataFrame:
    """Channel x model ROAS (attributed revenue / spend, columns named by :data:`MODEL_LABELS`)
    for the channels that have spend, then ROI (ROAS - 1: return per unit spent, net of the
    spend) under the first model, named "ROI (<model>)", and each channel's spend."""
    models = list(models)
    r = roi[roi["model"].isin(models) & (roi["spend"] > 0)]
    wide = r.pivot(index="channel", columns="model", values="roas")[models].rename(
        columns=MODEL_LABELS
    )
    wide.columns.name = None
    first = MODEL_LABELS.get(models[0], models[0])
    wide[f"ROI ({first})"] = wide[first] - 1.0
    return wide.join(spend_by_channel.set_index("channel")).reset_index()


def attribution_error(
    shares: pd.DataFrame, truth: Mapping[str, float], *, exclude: Iterable[str] = PSEUDO_CHANNELS
) -> pd.DataFrame:
    """Distance of a model's channel shares from the true contributions: sum over channels of
    |model share - true share|. Ratio: 0 = perfect, 2 = disjoint (twice the total variation).

    ``shares``: :func:`share_table` output; ``truth``: channel -> true share. Rows in
    ``exclude`` (no-touch and baseline revenue) are dropped and both sides renormalised to sum
    to 1 over the remaining channels. ``max_error`` = the largest single channel's absolute
    difference. Sorted best first, with a ``rank``.
    """
    total = float(sum(truth.values()))
    if not total > 0:
        raise ValueError(f"truth shares must sum to > 0, got {total}")
    true = pd.Series({str(k): float(v) / total for k, v in truth.items()})
    wide = channel_shares(shares, exclude=exclude).set_index("channel")
    channels = sorted(set(wide.index) | set(true.index))
    wide = wide.reindex(channels, fill_value=0.0)
    true = true.reindex(channels, fill_value=0.0)
    rows = []
    for model in wide.columns:
        diff = (wide[model] - true).abs()
        rows.append({"model": model, "l1_error": float(diff.sum()), "max_error": float(diff.max())})
    out = (
        pd.DataFrame(rows)
        .sort_values(["l1_error", "model"], kind="mergesort")
        .reset_index(drop=True)
    )
    out["rank"] = np.arange(1, len(out) + 1)
    return out


def attribution_cards(
    by_channel: pd.DataFrame, *, errors: pd.DataFrame | None = None, team: str = "position"
) -> list[dict[str, Any]]:
    """Headline cards: revenue attributed, the team model's top channel, the channel the
    models disagree on most, and (with ``errors``) the model closest to the truth."""
    team_rows = by_channel[
        (by_channel["model"] == team) & ~by_channel["channel"].isin(PSEUDO_CHANNELS)
    ]
    top = team_rows.sort_values(["share", "channel"], ascending=[False, True]).iloc[0]
    total = float(by_channel[by_channel["model"] == team]["revenue"].sum())
    conversions = float(by_channel[by_channel["model"] == team]["conversions"].sum())
    wide = channel_shares(share_table(by_channel)).set_index("channel")
    spread = (wide.max(axis=1) - wide.min(axis=1)).sort_values(ascending=False)
    ch = spread.index[0]
    lo, hi = wide.loc[ch].idxmin(), wide.loc[ch].idxmax()
    cards: list[dict[str, Any]] = [
        {
            "label": "Revenue attributed",
            "value": f"${total / 1e6:.2f}M" if total >= 1e6 else f"${total:,.0f}",
            "sub": f"{conversions:,.0f} converted journeys, 100 % allocated by every model",
            "definition": channel_revenue,
        },
        {
            "label": f"Top channel ({MODEL_LABELS.get(team, team)})",
            "value": str(top["channel"]),
            "sub": f"{top['share'] * 100:.1f} % of revenue",
        },
        {
            "label": "Models disagree most on",
            "value": str(ch),
            "status": "warning",
            "sub": f"{wide.loc[ch, lo] * 100:.0f} % ({MODEL_LABELS.get(lo, lo)}) to {wide.loc[ch, hi] * 100:.0f} % ({MODEL_LABELS.get(hi, hi)}) of channel revenue",
        },
    ]
    if errors is not None:
        best = errors.iloc[0]
        team_err = (
            float(errors.set_index("model").loc[team, "l1_error"])
            if team in set(errors["model"])
            else float("nan")
        )
        cards.append(
            {
                "label": "Closest to the true contributions",
                "value": MODEL_LABELS.get(best["model"], best["model"]),
                "status": "good" if best["model"] == team else "warning",
                "sub": f"off by {best['l1_error'] * 100:.0f} pp in total; team model {team_err * 100:.0f} pp",
                "definition": attribution_error,
            }
        )
    return cards


def data_driven_effects(touchpoints: pd.DataFrame, journeys: pd.DataFrame) -> pd.DataFrame:
    """What the two fitted models learned per channel, over all journeys given.

    Columns: channel, ``removal_effect`` (Markov: share of conversions lost without the
    channel), ``markov_share`` (removal effects normalised to 1), ``effect`` (logistic: log-odds
    change of converting when touched) and ``odds_ratio``.
    """
    markov = removal_effects(touchpoints, journeys).rename(columns={"share": "markov_share"})
    logistic = logistic_effects(touchpoints, journeys)
    return (
        markov.merge(logistic, on="channel", how="outer")
        .sort_values("channel")
        .reset_index(drop=True)
    )


def attribution_accuracy(
    touchpoints: pd.DataFrame,
    journeys: pd.DataFrame,
    truth: Mapping[str, float],
    *,
    half_life_days: float = 7.0,
    position_weights: Mapping[str, float] | None = None,
    w_shaped_weights: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Every model run on the journeys given and ranked by :func:`attribution_error` against
    the true channel shares ``truth`` (channel -> share)."""
    credits = attribute(
        touchpoints,
        journeys,
        half_life_days=half_life_days,
        position_weights=position_weights,
        w_shaped_weights=w_shaped_weights,
    )
    return attribution_error(share_table(channel_revenue(credits)), truth)


def accuracy_callout(errors: pd.DataFrame, *, team: str = "position"):
    """Report box: which model comes closest to the truth, and how far the team's model is."""
    from revlib.reporting import callout

    best = errors.iloc[0]
    team_error = float(errors.set_index("model").loc[team, "l1_error"])
    return callout(
        f"{MODEL_LABELS.get(best['model'], best['model'])} comes closest: "
        f"{best['l1_error'] * 100:.0f} percentage points of total share misplaced, at most "
        f"{best['max_error'] * 100:.0f} pp on one channel. The team's model "
        f"({MODEL_LABELS.get(team, team).replace(' (team)', '')}) misplaces {team_error * 100:.0f} pp. Rule-based and "
        "Markov models credit channels for being present on converting paths, so channels that "
        "appear often but change little look valuable.",
        "success" if best["model"] == team else "warning",
        title="Which model to trust",
    )


EFFECTS_CAPTION = (
    "Share of removal effects: the channel's removal effect over the sum of all channels' "
    "(a share of conversions, every journey weighted alike). It is not the Markov share of "
    "revenue in the attribution table above, which splits each converted journey's revenue "
    "over the channels that journey touched in proportion to their removal effects, so large "
    "deals and the channels in them weigh more."
)


def effects_table(effects: pd.DataFrame):
    """:func:`data_driven_effects` as a report table with readable column names; the caption
    tells the removal-effect share from the Markov revenue share (:data:`EFFECTS_CAPTION`)."""
    from revlib.reporting import pct, table

    names = {
        "removal_effect": "Markov removal effect",
        "markov_share": "share of removal effects",
        "effect": "logistic effect (log-odds)",
        "odds_ratio": "odds ratio",
    }
    return table(
        effects.rename(columns=names),
        formats={
            names["removal_effect"]: pct,
            names["markov_share"]: pct,
            names["effect"]: "{:+.2f}",
            names["odds_ratio"]: "{:.2f}",
        },
        caption=EFFECTS_CAPTION,
    )
