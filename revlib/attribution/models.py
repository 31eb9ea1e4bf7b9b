"""Per-touch credit of the rule-based and time-decay attribution models.

Every model turns the ordered touches of each converted journey into credits (fractions of
the journey that sum to 1), so every model allocates exactly 100 % of each converted
journey's revenue. Definitions (also in ``docs/attribution.md``):

* A journey's credited touches are its touches at or before ``converted_at`` (all of them
  when ``converted_at`` is null), ordered by ``touched_at``; ties keep the input row order.
* A converted journey with no credited touch gives all its revenue to the channel
  :data:`NO_TOUCH` in every model, so nothing is silently dropped.
* Role models (first touch, last touch, linear, position, W-shaped): each role has a weight
  and a set of touches in the journey. A role's weight is shared equally by its touches; a
  touch collects the weight of every role it plays; roles the journey lacks are dropped and
  the remaining weights renormalised to 1.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from revlib.data.frames import require_columns

NO_TOUCH = "(no touch)"
"""Channel credited with a converted journey that has no touch at or before its conversion."""

POSITION_WEIGHTS: dict[str, float] = {
    "first": 0.20,
    "content": 0.15,
    "demo": 0.30,
    "sales": 0.25,
    "last": 0.10,
}
"""The revenue team's position-weight model: role -> weight (renormalised per journey)."""

W_SHAPED_WEIGHTS: dict[str, float] = {
    "first": 0.30,
    "lead": 0.30,
    "opportunity": 0.30,
    "other": 0.10,
}
"""W-shaped model: first, lead-creation and opportunity-creation touches, the rest share 10 %."""

RULE_MODELS = ("first_touch", "last_touch", "linear", "time_decay", "position", "w_shaped")

_TOUCH_COLUMNS = ("journey_id", "touched_at", "channel")
_JOURNEY_COLUMNS = ("journey_id", "converted", "converted_at", "revenue")


def _require(df: pd.DataFrame, name: str, columns: tuple[str, ...]) -> None:
    require_columns(df, name, columns)


def ordered_touches(touchpoints: pd.DataFrame, journeys: pd.DataFrame) -> pd.DataFrame:
    """Touches of every journey in order, with their journey's outcome.

    Columns: journey_id, touched_at, channel, touch_type, converted, converted_at, revenue,
    ``pos`` (0-based position in the journey), ``n`` (touches in the journey) and ``credited``
    (the touch counts for the conversion: the journey converted and the touch is at or before
    ``converted_at``; ``pos`` and ``n`` count credited touches only for converted journeys).
    Raises ``ValueError`` when touches reference journeys that are not in ``journeys``.
    """
    _require(touchpoints, "touchpoints", _TOUCH_COLUMNS)
    _require(journeys, "journeys", _JOURNEY_COLUMNS)
    if journeys["journey_id"].duplicated().any():
        dup = journeys.loc[journeys["journey_id"].duplicated(), "journey_id"].head(3).tolist()
        raise ValueError(f"journeys.journey_id must be unique; duplicated e.g. {dup}")
    j = journeys[list(_JOURNEY_COLUMNS)].copy()
    j["journey_id"] = j["journey_id"].astype(str)
    j["converted"] = j["converted"].fillna(False).astype(bool)
    j["revenue"] = j["revenue"].astype(float)
    t = touchpoints[list(_TOUCH_COLUMNS)].copy()
    t["touch_type"] = touchpoints["touch_type"] if "touch_type" in touchpoints else pd.NA
    t["journey_id"] = t["journey_id"].astype(str)
    t["channel"] = t["channel"].astype(str)
    t["touch_type"] = t["touch_type"].astype("string")
    t["touched_at"] = pd.to_datetime(t["touched_at"])
    orphans = ~t["journey_id"].isin(set(j["journey_id"]))
    if orphans.any():
        examples = t.loc[orphans, "journey_id"].drop_duplicates().head(3).tolist()
        raise ValueError(
            f"touchpoints reference {t.loc[orphans, 'journey_id'].nunique()} journey_id(s) "
            f"missing from journeys, e.g. {examples}"
        )
    t["_row"] = np.arange(len(t))
    t = t.merge(j, on="journey_id", how="left", validate="many_to_one")
    t["converted_at"] = pd.to_datetime(t["converted_at"])
    before = t["converted_at"].isna() | (t["touched_at"] <= t["converted_at"])
    t["credited"] = t["converted"] & before
    # Converted journeys: only credited touches are positioned; the others keep all touches.
    t = t[t["credited"] | ~t["converted"]]
    t = t.sort_values(["journey_id", "touched_at", "_row"], kind="mergesort")
    t["pos"] = t.groupby("journey_id", sort=False).cumcount()
    t["n"] = t.groupby("journey_id", sort=False)["pos"].transform("size")
    return t.drop(columns="_row").reset_index(drop=True)


def converted_without_touch(touches: pd.DataFrame, journeys: pd.DataFrame) -> pd.DataFrame:
    """Converted journeys with no credited touch (they are credited to :data:`NO_TOUCH`).

    ``touches`` is the output of :func:`ordered_touches`.
    """
    credited = set(touches.loc[touches["credited"], "journey_id"])
    conv = journeys[journeys["converted"].fillna(False).astype(bool)]
    return conv[~conv["journey_id"].astype(str).isin(credited)].reset_index(drop=True)


def _check_weights(
    weights: Mapping[str, float] | None,
    defaults: Mapping[str, float],
    name: str,
    anchors: tuple[str, ...],
) -> dict[str, float]:
    """``defaults | weights``, checked: known roles, finite and >= 0, anchors not all zero."""
    weights = dict(weights or {})
    problems = []
    unknown = sorted(set(weights) - set(defaults))
    if unknown:
        problems.append(f"unknown role(s) {unknown}; allowed {list(defaults)}")
    merged = dict(defaults) | {k: v for k, v in weights.items() if k in defaults}
    for role, w in merged.items():
        if not isinstance(w, (int, float)) or not np.isfinite(w) or w < 0:
            problems.append(f"{role} must be a finite number >= 0, got {w!r}")
    if not problems and sum(merged[a] for a in anchors) <= 0:
        problems.append(
            f"{' and '.join(anchors)} cannot all be 0: every journey must keep some weight, got "
            + ", ".join(f"{a}={merged[a]}" for a in anchors)
        )
    if problems:
        raise ValueError(f"{name}: " + "; ".join(problems))
    return {k: float(v) for k, v in merged.items()}


def check_position_weights(weights: Mapping[str, float] | None = None) -> dict[str, float]:
    """Position-model weights: :data:`POSITION_WEIGHTS` ``|`` overrides, validated."""
    return _check_weights(weights, POSITION_WEIGHTS, "position_weights", ("first", "last"))


def check_w_shaped_weights(weights: Mapping[str, float] | None = None) -> dict[str, float]:
    """W-shaped weights: :data:`W_SHAPED_WEIGHTS` ``|`` overrides, validated."""
    return _check_weights(weights, W_SHAPED_WEIGHTS, "w_shaped_weights", ("first",))


def _roles(t: pd.DataFrame, model: str) -> pd.DataFrame:
    """Boolean role membership of each touch for a role model."""
    first = (t["pos"] == 0).to_numpy()
    last = (t["pos"] == t["n"] - 1).to_numpy()
    kind = t["touch_type"].fillna("").to_numpy(dtype=str)
    if model == "first_touch":
        return pd.DataFrame({"first": first})
    if model == "last_touch":
        return pd.DataFrame({"last": last})
    if model == "linear":
        return pd.DataFrame({"all": np.ones(len(t), dtype=bool)})
    if model == "position":
        return pd.DataFrame(
            {
                "first": first,
                "content": kind == "content",
                "demo": kind == "demo",
                "sales": kind == "sales",
                "last": last,
            }
        )
    if model == "w_shaped":
        jid = t["journey_id"]
        lead = _first_of(jid, kind == "content")
        opportunity = _first_of(jid, (kind == "demo") | (kind == "sales"))
        return pd.DataFrame(
            {
                "first": first,
                "lead": lead,
                "opportunity": opportunity,
                "other": ~(first | lead | opportunity),
            }
        )
    raise ValueError(f"model must be one of {list(RULE_MODELS)}, got {model!r}")


def _first_of(journey_id: pd.Series, mask: np.ndarray) -> np.ndarray:
    """True on the first touch of each journey where ``mask`` holds (touches in journey order)."""
    seen = (
        pd.Series(mask.astype(int), index=journey_id.index).groupby(journey_id.to_numpy()).cumsum()
    )
    return mask & (seen.to_numpy() == 1)


def _role_credit(t: pd.DataFrame, roles: pd.DataFrame, weights: Mapping[str, float]) -> np.ndarray:
    """Credit per touch: sum over roles of weight / touches in the role, renormalised per journey."""
    groups = t["journey_id"].to_numpy()
    num = np.zeros(len(t))
    total = np.zeros(len(t))
    for role, w in weights.items():
        member = roles[role].to_numpy()
        count = pd.Series(member.astype(float)).groupby(groups).transform("sum").to_numpy()
        num += np.where(member, w / np.maximum(count, 1.0), 0.0)
        total += np.where(count > 0, w, 0.0)
    return num / total


def _time_decay_credit(t: pd.DataFrame, half_life_days: float) -> np.ndarray:
    """Credit proportional to 2^(-age / half-life), age = days before the conversion."""
    ref = t["converted_at"].fillna(t.groupby("journey_id")["touched_at"].transform("max"))
    # Ages relative to the journey's latest touch give the same normalised credits and never
    # underflow to an all-zero journey.
    latest = t.groupby("journey_id")["touched_at"].transform("max")
    shift = (ref - latest).dt.total_seconds().to_numpy() / 86400.0
    age = (ref - t["touched_at"]).dt.total_seconds().to_numpy() / 86400.0 - shift
    w = np.exp2(-age / half_life_days)
    return w / pd.Series(w).groupby(t["journey_id"].to_numpy()).transform("sum").to_numpy()


def touch_credits(
    touchpoints: pd.DataFrame,
    journeys: pd.DataFrame,
    *,
    model: str,
    half_life_days: float = 7.0,
    position_weights: Mapping[str, float] | None = None,
    w_shaped_weights: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Credit of each touch of each converted journey under a rule-based model.

    ``model``: ``first_touch`` (100 % to the first touch), ``last_touch``, ``linear`` (equal
    shares), ``time_decay`` (weight 2^(-days before conversion / ``half_life_days``)),
    ``position`` (the team's model, :data:`POSITION_WEIGHTS`) or ``w_shaped``
    (:data:`W_SHAPED_WEIGHTS`). Returns one row per credited touch: journey_id, touched_at,
    channel, touch_type, ``credit`` (fraction of the journey, sums to 1 per journey) and
    ``revenue`` (credit x journey revenue, currency of ``journeys.revenue``). Converted journeys
    without a credited touch appear once with channel :data:`NO_TOUCH` and credit 1.
    """
    everything = ordered_touches(touchpoints, journeys)
    return rule_credits(
        everything,
        journeys,
        model=model,
        half_life_days=half_life_days,
        position_weights=position_weights,
        w_shaped_weights=w_shaped_weights,
    )


def rule_credits(
    touches: pd.DataFrame,
    journeys: pd.DataFrame,
    *,
    model: str,
    half_life_days: float = 7.0,
    position_weights: Mapping[str, float] | None = None,
    w_shaped_weights: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """:func:`touch_credits` from already ordered touches (:func:`ordered_touches` output)."""
    if model not in RULE_MODELS:
        raise ValueError(f"model must be one of {list(RULE_MODELS)}, got {model!r}")
    if not (
        isinstance(half_life_days, (int, float))
        and np.isfinite(half_life_days)
        and half_life_days > 0
    ):
        raise ValueError(f"half_life_days must be a number > 0, got {half_life_days!r}")
    pw = check_position_weights(position_weights)
    ww = check_w_shaped_weights(w_shaped_weights)
    t = touches[touches["credited"]].reset_index(drop=True)
    if model == "time_decay":
        credit = _time_decay_credit(t, float(half_life_days))
    else:
        roles = _roles(t, model)
        weights = {"position": pw, "w_shaped": ww}.get(model, dict.fromkeys(roles.columns, 1.0))
        credit = _role_credit(t, roles, weights)
    out = t[["journey_id", "touched_at", "channel", "touch_type"]].copy()
    out["credit"] = credit
    out["revenue"] = credit * t["revenue"].to_numpy()
    return with_untouched(out, touches, journeys)


def with_untouched(
    out: pd.DataFrame, touches: pd.DataFrame, journeys: pd.DataFrame
) -> pd.DataFrame:
    """Append converted journeys without a credited touch as one NO_TOUCH row each."""
    out = out.astype({"credit": float, "revenue": float})
    missing = converted_without_touch(touches, journeys)
    if missing.empty:
        return out
    extra = pd.DataFrame(
        {
            "journey_id": missing["journey_id"].astype(str).to_numpy(),
            "touched_at": pd.NaT,
            "channel": NO_TOUCH,
            "touch_type": pd.NA,
            "credit": 1.0,
            "revenue": missing["revenue"].astype(float).to_numpy(),
        }
    )
    extra["touched_at"] = extra["touched_at"].astype(out["touched_at"].dtype)
    extra["touch_type"] = extra["touch_type"].astype(out["touch_type"].dtype)
    return pd.concat([out, extra], ignore_index=True)
