"""Tests of revlib.attribution: hand-made journeys with hand-computed credits, a loop-based
reference beside the vectorised models, property tests (every model allocates exactly 100 %
of each converted journey's revenue), the Markov chain against power iteration, and the funnel.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from revlib import attribution as at
from revlib import data
from revlib.attribution.markov import CONVERSION, NULL, START

DAY = pd.Timedelta(days=1)
T0 = pd.Timestamp("2024-03-01")


def make(journeys: dict[str, dict], touches: list[tuple]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Hand-made tables: touches as (journey, day offset, channel, type); journeys as
    id -> {converted, day (conversion day offset), revenue}."""
    tp = pd.DataFrame(
        [(j, T0 + d * DAY, ch, ty) for j, d, ch, ty in touches],
        columns=["journey_id", "touched_at", "channel", "touch_type"],
    )
    jr = pd.DataFrame(
        [
            {
                "journey_id": k,
                "converted": v.get("converted", True),
                "converted_at": T0 + v["day"] * DAY if v.get("day") is not None else pd.NaT,
                "revenue": float(v.get("revenue", 100.0)),
            }
            for k, v in journeys.items()
        ]
    )
    return tp, jr


def credit_of(tp, jr, model, journey, **kw) -> list[float]:
    c = (
        at.touch_credits(tp, jr, model=model, **kw)
        if model != "markov"
        else at.markov_credits(tp, jr)
    )
    return c.loc[c["journey_id"] == journey, "credit"].round(12).tolist()


# The full journey: one touch of every type in funnel order.
FULL = [
    ("full", 0, "search", "awareness"),
    ("full", 2, "blog", "content"),
    ("full", 4, "webinar", "demo"),
    ("full", 7, "sdr", "sales"),
    ("full", 9, "email", "closing"),
]


# ----------------------------------------------------------------------------- rule models


def test_position_model_full_journey_gets_the_team_weights():
    tp, jr = make({"full": {"day": 10, "revenue": 1000}}, FULL)
    c = at.touch_credits(tp, jr, model="position")
    assert c["credit"].tolist() == pytest.approx([0.20, 0.15, 0.30, 0.25, 0.10])
    assert c["revenue"].tolist() == pytest.approx([200, 150, 300, 250, 100])


def test_position_model_renormalises_when_a_type_is_missing():
    # No demo touch: first .2, content .15, sales .25, last .1 -> total .7.
    tp, jr = make(
        {"j": {"day": 10}},
        [
            ("j", 0, "ads", "awareness"),
            ("j", 1, "blog", "content"),
            ("j", 3, "sdr", "sales"),
            ("j", 5, "email", "closing"),
        ],
    )
    assert credit_of(tp, jr, "position", "j") == pytest.approx(
        [0.2 / 0.7, 0.15 / 0.7, 0.25 / 0.7, 0.1 / 0.7]
    )


def test_position_model_roles_stack_on_one_touch():
    # First touch is also the content touch; last touch is also the sales touch; no demo.
    tp, jr = make({"j": {"day": 5}}, [("j", 0, "search", "content"), ("j", 3, "sdr", "sales")])
    assert credit_of(tp, jr, "position", "j") == pytest.approx([0.35 / 0.7, 0.35 / 0.7])


def test_position_model_shares_a_role_equally_among_touches_of_the_type():
    tp, jr = make(
        {"j": {"day": 20}},
        [
            ("j", 0, "ads", "awareness"),
            ("j", 1, "blog", "content"),
            ("j", 2, "guide", "content"),
            ("j", 3, "webinar", "demo"),
            ("j", 4, "sdr", "sales"),
            ("j", 5, "email", "closing"),
        ],
    )
    assert credit_of(tp, jr, "position", "j") == pytest.approx([0.2, 0.075, 0.075, 0.3, 0.25, 0.1])


def test_position_model_without_touch_types_is_first_and_last_only():
    tp, jr = make(
        {"j": {"day": 5}}, [("j", 0, "a", None), ("j", 1, "b", None), ("j", 2, "c", None)]
    )
    assert credit_of(tp, jr, "position", "j") == pytest.approx([2 / 3, 0.0, 1 / 3])


def test_position_weights_override_merges_with_defaults():
    tp, jr = make({"full": {"day": 10}}, FULL)
    got = credit_of(tp, jr, "position", "full", position_weights={"first": 0.0, "last": 0.3})
    assert got == pytest.approx(np.array([0.0, 0.15, 0.30, 0.25, 0.30]) / 1.0)


@pytest.mark.parametrize("model", at.MODELS)
def test_one_touch_journey_gets_everything(model):
    tp, jr = make(
        {"one": {"day": 1, "revenue": 70}, "other": {"day": 9}},
        [("one", 0, "ads", "demo"), *[("other", *f[1:]) for f in FULL]],
    )
    c = at.attribute(tp, jr, models=[model])
    one = c[c["journey_id"] == "one"]
    assert one["revenue"].sum() == pytest.approx(70.0)
    if model == "shapley":  # the one channel shares with the no-touch baseline
        assert sorted(one["channel"]) == [at.BASELINE, "ads"]
    else:
        assert one["channel"].tolist() == ["ads"]
        assert one["credit"].tolist() == pytest.approx([1.0])


def test_first_last_linear():
    tp, jr = make({"full": {"day": 10}}, FULL)
    assert credit_of(tp, jr, "first_touch", "full") == [1, 0, 0, 0, 0]
    assert credit_of(tp, jr, "last_touch", "full") == [0, 0, 0, 0, 1]
    assert credit_of(tp, jr, "linear", "full") == pytest.approx([0.2] * 5)


def test_w_shaped_definition():
    tp, jr = make({"full": {"day": 10}}, FULL)
    # first (search), lead = first content (blog), opportunity = first demo/sales (webinar)
    # 30 % each; sdr and email share 10 %.
    assert credit_of(tp, jr, "w_shaped", "full") == pytest.approx([0.3, 0.3, 0.3, 0.05, 0.05])
    # First touch is the lead touch and no other touch: roles stack, the 10 % is dropped.
    tp, jr = make({"j": {"day": 5}}, [("j", 0, "search", "content"), ("j", 3, "sdr", "sales")])
    assert credit_of(tp, jr, "w_shaped", "j") == pytest.approx([0.6 / 0.9, 0.3 / 0.9])
    # No content and no demo/sales touch: first 30 %, two others share 10 % -> 3/4, 1/8, 1/8.
    tp, jr = make(
        {"j": {"day": 5}},
        [("j", 0, "a", "awareness"), ("j", 1, "b", None), ("j", 2, "c", "closing")],
    )
    assert credit_of(tp, jr, "w_shaped", "j") == pytest.approx([0.75, 0.125, 0.125])


def test_time_decay_halves_credit_per_half_life():
    # Touches 14, 7 and 0 days before conversion: weights 1/4, 1/2, 1 -> 1/7, 2/7, 4/7.
    tp, jr = make(
        {"j": {"day": 14}}, [("j", 0, "a", None), ("j", 7, "b", None), ("j", 14, "c", None)]
    )
    assert credit_of(tp, jr, "time_decay", "j") == pytest.approx([1 / 7, 2 / 7, 4 / 7])
    assert credit_of(tp, jr, "time_decay", "j", half_life_days=14) == pytest.approx(
        np.array([0.5, 2**-0.5, 1.0]) / (1.5 + 2**-0.5)
    )


def test_time_decay_is_relative_to_conversion_and_never_underflows():
    # Ages 3 and 10 days before conversion (not before the last touch).
    tp, jr = make({"j": {"day": 10}}, [("j", 0, "a", None), ("j", 7, "b", None)])
    w = np.array([2 ** (-10 / 7), 2 ** (-3 / 7)])
    assert credit_of(tp, jr, "time_decay", "j") == pytest.approx(w / w.sum())
    # 55 years before conversion: 2^(-20000 / 7) underflows to 0 in a naive implementation;
    # the credits stay 1/3 and 2/3 (one half-life apart).
    tp, jr = make({"j": {"day": 20000}}, [("j", 0, "a", None), ("j", 7, "b", None)])
    assert credit_of(tp, jr, "time_decay", "j") == pytest.approx([1 / 3, 2 / 3])


def test_touches_after_conversion_and_unconverted_journeys_get_nothing():
    tp, jr = make(
        {"j": {"day": 5, "revenue": 100}, "lost": {"converted": False, "day": None, "revenue": 0}},
        [
            ("j", 0, "a", "content"),
            ("j", 5, "b", "demo"),
            ("j", 6, "c", "sales"),
            ("lost", 0, "a", "demo"),
        ],
    )
    for model in at.MODELS:
        c = at.attribute(tp, jr, models=[model]).query("channel != @at.BASELINE")
        assert set(c["journey_id"]) == {"j"}, model
        assert c["channel"].tolist() == ["a", "b"], model  # the touch at conversion counts


def test_converted_journey_without_touch_goes_to_no_touch():
    tp, jr = make(
        {
            "j": {"day": 3, "revenue": 40},
            "bare": {"day": 2, "revenue": 60},
            "late": {"day": 0, "revenue": 5},
        },
        [("j", 0, "a", None), ("late", 1, "b", None)],
    )
    for model in at.MODELS:
        c = at.attribute(tp, jr, models=[model])
        no = c[c["channel"] == at.NO_TOUCH]
        assert sorted(no["journey_id"]) == ["bare", "late"], model
        assert no["revenue"].sum() == pytest.approx(65.0)


def test_ties_keep_input_order():
    tp, jr = make({"j": {"day": 1}}, [("j", 0, "second_listed_first", None), ("j", 0, "b", None)])
    assert at.touch_credits(tp, jr, model="first_touch").iloc[0]["channel"] == "second_listed_first"
    assert (
        at.touch_credits(tp, jr, model="last_touch").query("credit == 1")["channel"].item() == "b"
    )


def test_null_conversion_time_keeps_all_touches_and_decays_from_the_last():
    tp, jr = make({"j": {"day": None}}, [("j", 0, "a", None), ("j", 7, "b", None)])
    assert credit_of(tp, jr, "time_decay", "j") == pytest.approx([1 / 3, 2 / 3])


# ----------------------------------------------------------------------------- errors


def test_errors_name_what_was_allowed_and_given():
    tp, jr = make({"full": {"day": 10}}, FULL)
    with pytest.raises(ValueError, match=r"model must be one of .*got 'u_shaped'"):
        at.touch_credits(tp, jr, model="u_shaped")
    with pytest.raises(ValueError, match=r"models must be among .*\['nope'\]"):
        at.attribute(tp, jr, models=["linear", "nope"])
    with pytest.raises(ValueError, match=r"half_life_days must be a number > 0, got 0"):
        at.touch_credits(tp, jr, model="time_decay", half_life_days=0)
    with pytest.raises(
        ValueError,
        match=r"unknown role\(s\) \['trial'\].*demo must be a finite number >= 0, got -0.1",
    ):
        at.check_position_weights({"trial": 0.3, "demo": -0.1})
    with pytest.raises(ValueError, match=r"first and last cannot all be 0"):
        at.check_position_weights({"first": 0, "last": 0})
    with pytest.raises(ValueError, match=r"w_shaped_weights: first cannot all be 0"):
        at.check_w_shaped_weights({"first": 0})
    with pytest.raises(ValueError, match=r"missing from journeys, e.g. \['ghost'\]"):
        at.touch_credits(pd.concat([tp, tp.assign(journey_id="ghost")]), jr, model="linear")
    with pytest.raises(ValueError, match=r"journey_id must be unique"):
        at.touch_credits(tp, pd.concat([jr, jr]), model="linear")
    with pytest.raises(
        ValueError, match=r"touchpoints must have columns .*lacks column\(s\) \['channel'\]"
    ):
        at.touch_credits(tp.drop(columns="channel"), jr, model="linear")


# ----------------------------------------------------------------------------- Markov

# Paths: search>blog>webinar>sdr>email => conv; search>sdr => conv (email after conversion
# dropped); social => conv; search>email => null; (no touch) => conv.
MARKOV_TOUCHES = [
    *FULL,
    ("j2", 0, "search", "content"),
    ("j2", 3, "sdr", "sales"),
    ("j2", 9, "email", "closing"),
    ("j3", 1, "social", None),
    ("j4", 1, "search", "awareness"),
    ("j4", 8, "email", "content"),
]
MARKOV_JOURNEYS = {
    "full": {"day": 10, "revenue": 1000},
    "j2": {"day": 4, "revenue": 500},
    "j3": {"day": 2, "revenue": 100},
    "j4": {"converted": False, "day": None, "revenue": 0},
    "j5": {"day": 0, "revenue": 50},
}


def test_markov_removal_effects_hand_computed():
    # P(conv | email) = 1/2, P(sdr) = 1/2 + 1/2 * 1/2 = 3/4 = P(webinar) = P(blog),
    # P(search) = (3/4 + 1/2 + 3/4) / 3 = 2/3, P(start) = 1/5 + 3/5 * 2/3 + 1/5 = 4/5.
    # Without search: 1/5 + 1/5 = 2/5 -> effect 1/2. Without email: P(sdr) = 1/2,
    # P(search) = 1/3, P = 3/5 -> 1/4. Without sdr: P(webinar) = 0, P(search) = 1/6,
    # P = 1/2 -> 3/8. Without blog or webinar: P(search) = 5/12, P = 13/20 -> 3/16.
    # Without social: P = 3/5 -> 1/4.
    tp, jr = make(MARKOV_JOURNEYS, MARKOV_TOUCHES)
    eff = at.removal_effects(tp, jr).set_index("channel")
    expected = {
        "search": 1 / 2,
        "email": 1 / 4,
        "sdr": 3 / 8,
        "blog": 3 / 16,
        "webinar": 3 / 16,
        "social": 1 / 4,
    }
    assert eff["removal_effect"].to_dict() == pytest.approx(expected)
    assert eff["share"].sum() == pytest.approx(1.0)
    assert eff["share"]["search"] == pytest.approx(0.5 / sum(expected.values()))
    assert eff.attrs["conversion_probability"] == pytest.approx(0.8)


def test_markov_transition_counts():
    tp, jr = make(MARKOV_JOURNEYS, MARKOV_TOUCHES)
    counts = at.transition_counts(tp, jr).set_index(["from", "to"])["count"]
    assert counts[(START, "search")] == 3
    assert counts[(START, CONVERSION)] == 1  # j5, converted without touch
    assert counts[("email", NULL)] == 1 and counts[("email", CONVERSION)] == 1
    assert ("sdr", "email") in counts.index and counts[("sdr", "email")] == 1  # full only
    # One edge out of (start) per journey (5) plus one out of each credited touch (5+2+1+2).
    assert counts.sum() == 5 + 10


def test_markov_credits_split_each_journey_by_removal_effect():
    tp, jr = make(MARKOV_JOURNEYS, MARKOV_TOUCHES)
    # j2: search (1/2) and sdr (3/8) -> 4/7 and 3/7.
    assert credit_of(tp, jr, "markov", "j2") == pytest.approx([4 / 7, 3 / 7])
    # Two touches of one channel share its part equally.
    tp2, jr2 = make(
        {"j": {"day": 9}, "k": {"day": 9}},
        [("j", 0, "a", None), ("j", 1, "b", None), ("j", 2, "a", None), ("k", 0, "b", None)],
    )
    eff = at.removal_effects(tp2, jr2).set_index("channel")["removal_effect"]
    a, b = eff["a"], eff["b"]
    assert credit_of(tp2, jr2, "markov", "j") == pytest.approx(
        [a / (a + b) / 2, b / (a + b), a / (a + b) / 2]
    )


def _absorption_by_iteration(counts: pd.DataFrame, removed: str | None = None) -> float:
    """Naive reference: push probability mass through the chain step by step."""
    out: dict[str, dict[str, float]] = {}
    for frm, to, n in counts.itertuples(index=False):
        out.setdefault(frm, {})[to] = n
    probs = {frm: {to: n / sum(row.values()) for to, n in row.items()} for frm, row in out.items()}
    mass = {START: 1.0}
    converted = 0.0
    while sum(mass.values()) > 1e-15:
        nxt: dict[str, float] = {}
        for state, m in mass.items():
            for to, p in probs[state].items():
                if to == CONVERSION:
                    converted += m * p
                elif to not in (NULL, removed):
                    nxt[to] = nxt.get(to, 0.0) + m * p
        mass = nxt
    return converted


def test_markov_matches_power_iteration_on_a_looping_chain():
    rng = np.random.default_rng(3)
    touches, journeys = [], {}
    for i in range(40):
        k = int(rng.integers(1, 6))
        chans = rng.choice(["a", "b", "c", "d"], size=k, p=[0.4, 0.3, 0.2, 0.1])
        for d, ch in enumerate(chans):
            touches.append((f"j{i}", d, str(ch), None))
        conv = bool(rng.random() < 0.3 + 0.15 * ("c" in chans))
        journeys[f"j{i}"] = {"converted": conv, "day": k if conv else None, "revenue": 10.0 * conv}
    tp, jr = make(journeys, touches)
    counts = at.transition_counts(tp, jr)
    base = _absorption_by_iteration(counts)
    eff = at.removal_effects(tp, jr)
    assert eff.attrs["conversion_probability"] == pytest.approx(base, rel=1e-9)
    for ch, e in zip(eff["channel"], eff["removal_effect"], strict=True):
        assert e == pytest.approx(
            1 - _absorption_by_iteration(counts, removed=ch) / base, rel=1e-9, abs=1e-12
        )


def test_markov_without_conversions_has_zero_effects():
    tp, jr = make({"j": {"converted": False, "day": None, "revenue": 0}}, [("j", 0, "a", None)])
    eff = at.removal_effects(tp, jr)
    assert eff["removal_effect"].tolist() == [0.0] and eff["share"].isna().all()
    assert at.markov_credits(tp, jr).empty


# ----------------------------------------------------------------------------- Shapley


def _v(b, g, subset):
    return 1 / (1 + np.exp(-(b + sum(g[i] for i in subset))))


def test_shapley_values_two_players_by_hand_and_efficiency():
    b, g = -1.0, np.array([0.8, -0.3])
    phi = at.shapley_values(b, g)
    v = lambda *s: _v(b, g, s)  # noqa: E731
    assert phi[0] == pytest.approx(0.5 * ((v(0) - v()) + (v(0, 1) - v(1))))
    assert phi[1] == pytest.approx(0.5 * ((v(1) - v()) + (v(0, 1) - v(0))))
    assert phi[1] < 0
    rng = np.random.default_rng(0)
    for k in (1, 3, 6):
        g = rng.normal(0, 1, k)
        phi = at.shapley_values(-0.5, g)
        assert phi.sum() == pytest.approx(_v(-0.5, g, range(k)) - _v(-0.5, g, ()))
    sym = at.shapley_values(0.2, np.array([0.4, 0.4, 0.1]))
    assert sym[0] == pytest.approx(sym[1])
    assert at.shapley_values(0.0, np.array([])).size == 0
    with pytest.raises(
        ValueError, match="touches 21 channels; exact Shapley values allow at most 20"
    ):
        at.shapley_values(0.0, np.zeros(21))


def test_fit_logistic_matches_sklearn_and_recovers_effects():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(7)
    x = (rng.random((6000, 3)) < 0.4).astype(float)
    true = np.array([0.9, -0.4, 0.0])
    y = rng.random(6000) < 1 / (1 + np.exp(-(-1.2 + x @ true)))
    b, g = at.fit_logistic(x, y, ridge=0.0)
    ref = LogisticRegression(C=1e10, tol=1e-12, max_iter=10_000).fit(x, y)
    assert b == pytest.approx(ref.intercept_[0], abs=1e-5)
    np.testing.assert_allclose(g, ref.coef_[0], atol=1e-5)
    np.testing.assert_allclose(g, true, atol=0.12)  # 6000 journeys: standard errors ~0.06
    # A channel seen only in converted journeys, and all-converted data, stay finite.
    b, g = at.fit_logistic(np.array([[1.0], [1.0], [0.0], [0.0]]), np.array([1, 1, 1, 0]))
    assert np.isfinite(b) and np.isfinite(g).all() and g[0] > 3
    b, g = at.fit_logistic(np.array([[1.0], [0.0]]), np.array([1, 1]))
    assert np.isfinite(b) and np.isfinite(g).all()


def test_shapley_credits_split_revenue_into_baseline_and_channels():
    tp, jr = make(MARKOV_JOURNEYS, MARKOV_TOUCHES)
    eff = at.logistic_effects(tp, jr)
    b = eff.attrs["intercept"]
    g = eff.set_index("channel")["effect"]
    c = at.shapley_credits(tp, jr)
    social = c[c["journey_id"] == "j3"].set_index("channel")["credit"]  # one touch: social
    v_s, v0 = _v(b, [g["social"]], [0]), _v(b, [], [])
    assert social.to_dict() == pytest.approx({"social": (v_s - v0) / v_s, at.BASELINE: v0 / v_s})
    assert c.groupby("journey_id")["revenue"].sum().to_dict() == pytest.approx(
        {"full": 1000, "j2": 500, "j3": 100, "j5": 50}
    )
    full = c[c["journey_id"] == "full"].set_index("channel")["credit"]
    phi = at.shapley_values(b, g[["blog", "email", "sdr", "search", "webinar"]].to_numpy())
    v_all = _v(b, g[["blog", "email", "sdr", "search", "webinar"]].to_numpy(), range(5))
    assert full[["blog", "email", "sdr", "search", "webinar"]].to_numpy() == pytest.approx(
        phi / v_all
    )
    assert c.loc[c["journey_id"] == "j5", "channel"].tolist() == [at.NO_TOUCH]


# ----------------------------------------------------------------------------- properties


def naive_credits(
    tp: pd.DataFrame, jr: pd.DataFrame, model: str, half_life_days: float = 7.0
) -> dict:
    """Loop-based reference: {(journey, channel): revenue} for the rule-based models."""
    pw, ww = at.POSITION_WEIGHTS, at.W_SHAPED_WEIGHTS
    out: dict[tuple[str, str], float] = {}
    for row in jr.itertuples(index=False):
        if not row.converted:
            continue
        rows = tp[tp["journey_id"] == row.journey_id]
        touches = sorted(
            [
                (r.touched_at, i, r.channel, r.touch_type)
                for i, r in enumerate(rows.itertuples(index=False))
            ],
            key=lambda x: (x[0], x[1]),
        )
        if not pd.isna(row.converted_at):
            touches = [x for x in touches if x[0] <= row.converted_at]
        if not touches:
            out[(row.journey_id, at.NO_TOUCH)] = (
                out.get((row.journey_id, at.NO_TOUCH), 0.0) + row.revenue
            )
            continue
        n = len(touches)
        kinds = [x[3] if isinstance(x[3], str) else "" for x in touches]
        if model == "time_decay":
            ref = row.converted_at if not pd.isna(row.converted_at) else touches[-1][0]
            w = [
                0.5
                ** (
                    (
                        (ref - x[0]).total_seconds() / 86400
                        - (ref - touches[-1][0]).total_seconds() / 86400
                    )
                    / half_life_days
                )
                for x in touches
            ]
        else:
            if model == "first_touch":
                roles = {"first": [i == 0 for i in range(n)]}
                weights = {"first": 1.0}
            elif model == "last_touch":
                roles = {"last": [i == n - 1 for i in range(n)]}
                weights = {"last": 1.0}
            elif model == "linear":
                roles, weights = {"all": [True] * n}, {"all": 1.0}
            elif model == "position":
                roles = {
                    "first": [i == 0 for i in range(n)],
                    "content": [k == "content" for k in kinds],
                    "demo": [k == "demo" for k in kinds],
                    "sales": [k == "sales" for k in kinds],
                    "last": [i == n - 1 for i in range(n)],
                }
                weights = pw
            else:  # w_shaped
                lead = next((i for i, k in enumerate(kinds) if k == "content"), None)
                opp = next((i for i, k in enumerate(kinds) if k in ("demo", "sales")), None)
                roles = {
                    "first": [i == 0 for i in range(n)],
                    "lead": [i == lead for i in range(n)],
                    "opportunity": [i == opp for i in range(n)],
                }
                roles["other"] = [
                    not (roles["first"][i] or roles["lead"][i] or roles["opportunity"][i])
                    for i in range(n)
                ]
                weights = ww
            w = [0.0] * n
            present = 0.0
            for role, members in roles.items():
                if any(members):
                    present += weights[role]
                    for i, m in enumerate(members):
                        if m:
                            w[i] += weights[role] / sum(members)
            w = [x / present for x in w]
        total = sum(w)
        for x, wi in zip(touches, w, strict=True):
            key = (row.journey_id, x[2])
            out[key] = out.get(key, 0.0) + row.revenue * wi / total
    return out


@st.composite
def journey_tables(draw):
    n = draw(st.integers(1, 8))
    touches, journeys = [], {}
    for i in range(n):
        jid = f"j{i}"
        k = draw(st.integers(0, 6))
        for _ in range(k):
            touches.append(
                (
                    jid,
                    draw(st.integers(0, 40)) + draw(st.sampled_from([0.0, 0.25, 0.5])),
                    draw(st.sampled_from(["ads", "blog", "sdr", "email"])),
                    draw(
                        st.sampled_from([*at.models.POSITION_WEIGHTS, "awareness", "closing", None])
                    ),
                )
            )
        converted = draw(st.booleans())
        journeys[jid] = {
            "converted": converted,
            "day": draw(st.one_of(st.none(), st.integers(0, 45))) if converted else None,
            "revenue": draw(st.floats(0, 1e6, allow_nan=False)) if converted else 0.0,
        }
    touches = [(j, d, ch, ty if ty not in ("first", "last") else None) for j, d, ch, ty in touches]
    tp = pd.DataFrame(
        [(j, T0 + pd.Timedelta(days=d), ch, ty) for j, d, ch, ty in touches],
        columns=["journey_id", "touched_at", "channel", "touch_type"],
    )
    jr = make(journeys, [])[1]
    return tp, jr


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(journey_tables())
def test_every_model_allocates_exactly_each_converted_journeys_revenue(tables):
    tp, jr = tables
    converted = jr[jr["converted"]].set_index("journey_id")["revenue"]
    credits = at.attribute(tp, jr)
    for model, c in credits.groupby("model"):
        if model != "shapley":  # the incremental model gives negative credit to harmful channels
            assert (c["credit"] >= 0).all(), model
        per_journey = (
            c.groupby("journey_id")["revenue"].sum().reindex(converted.index, fill_value=0.0)
        )
        np.testing.assert_allclose(
            per_journey.to_numpy(), converted.to_numpy(), rtol=1e-12, atol=1e-6, err_msg=model
        )
        np.testing.assert_allclose(
            c.groupby("journey_id")["credit"].sum().to_numpy(), 1.0, rtol=1e-12, err_msg=model
        )
        assert set(c["journey_id"]) == set(converted.index), model
    shares = at.channel_revenue(credits)
    np.testing.assert_allclose(
        shares.groupby("model")["revenue"].sum().to_numpy(), converted.sum(), rtol=1e-12, atol=1e-6
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(journey_tables(), st.sampled_from(at.RULE_MODELS))
def test_rule_models_match_the_loop_reference(tables, model):
    tp, jr = tables
    got = (
        at.touch_credits(tp, jr, model=model)
        .groupby(["journey_id", "channel"])["revenue"]
        .sum()
        .to_dict()
    )
    want = naive_credits(tp, jr, model)
    assert got.keys() == want.keys()
    for key, value in want.items():
        assert got[key] == pytest.approx(value, rel=1e-9, abs=1e-6), key


# ----------------------------------------------------------------------------- summary


def test_channel_revenue_roi_and_share_table():
    tp, jr = make(MARKOV_JOURNEYS, MARKOV_TOUCHES)
    rev = at.channel_revenue(at.attribute(tp, jr, models=["first_touch", "position"]))
    first = rev[rev["model"] == "first_touch"].set_index("channel")
    # first touch: full 1000 + j2 500 -> search; j3 100 -> social; j5 50 -> (no touch).
    assert first.loc["search", "revenue"] == pytest.approx(1500)
    assert first.loc["search", "conversions"] == pytest.approx(2)
    assert first.loc["search", "share"] == pytest.approx(1500 / 1650)
    pos = rev[rev["model"] == "position"].set_index("channel")["revenue"]
    # full: 200/150/300/250/100; j2 (first+content search .35, sales+last sdr .35) 250 each.
    assert pos.to_dict() == pytest.approx(
        {
            "search": 450,
            "blog": 150,
            "webinar": 300,
            "sdr": 500,
            "email": 100,
            "social": 100,
            at.NO_TOUCH: 50,
        }
    )
    wide = at.share_table(rev)
    assert list(wide.columns) == ["channel", "first_touch", "position"]
    assert wide.set_index("channel").loc["blog", "first_touch"] == 0.0
    spend = pd.DataFrame(
        {
            "month": pd.to_datetime(["2024-02-01", "2024-03-01", "2024-03-01", "2024-03-01"]),
            "category": ["marketing"] * 3 + ["sales"],
            "channel": ["search", "search", "blog", None],
            "amount": [999.0, 300.0, 50.0, 70.0],
        }
    )
    by_channel = at.channel_spend(spend, start="2024-03-01")
    assert by_channel.set_index("channel")["spend"].to_dict() == {
        "(unallocated)": 70.0,
        "blog": 50.0,
        "search": 300.0,
    }
    roi = at.channel_roi(rev, by_channel).set_index(["model", "channel"])
    assert roi.loc[("position", "search"), "roas"] == pytest.approx(1.5)
    assert roi.loc[("position", "blog"), "roi"] == pytest.approx(2.0)
    assert np.isnan(roi.loc[("position", "sdr"), "roas"])


def test_attribution_error_is_total_absolute_difference_of_shares():
    shares = pd.DataFrame(
        {"channel": ["a", "b", "c"], "m1": [0.5, 0.5, 0.0], "m2": [0.2, 0.3, 0.5]}
    )
    err = at.attribution_error(shares, {"a": 2, "b": 1, "d": 1})  # truth a .5, b .25, d .25
    assert err["model"].tolist() == ["m1", "m2"]
    assert err["l1_error"].tolist() == pytest.approx([0.5, 0.3 + 0.05 + 0.5 + 0.25])
    assert err["max_error"].tolist() == pytest.approx([0.25, 0.5])
    assert err["rank"].tolist() == [1, 2]
    with pytest.raises(ValueError, match="truth shares must sum to > 0, got 0"):
        at.attribution_error(shares, {"a": 0})


# ----------------------------------------------------------------------------- funnel


def funnel_table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "month": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-02-01", "2024-02-01"]),
            "channel": ["ads", "seo", "ads", "seo"],
            "visitors": [1000, 500, 800, 700],
            "leads": [100, 30, 80, 70],
            "trials": [20, 3, 12, 14],
            "customers": [8, 1, 5, 7],
        }
    )


def test_funnel_rates_pool_counts_with_beta_posteriors():
    rates = at.funnel_rates(funnel_table()).set_index("stage")
    v2l = rates.loc["visitor_to_lead"]
    assert (v2l["successes"], v2l["trials"]) == (280, 3000)
    assert v2l["rate"] == pytest.approx(280 / 3000)
    assert (v2l["alpha"], v2l["beta"]) == (281, 2721)
    assert v2l["mean"] == pytest.approx(281 / 3002)
    assert v2l["lower"] == pytest.approx(sps.beta.ppf(0.03, 281, 2721))
    assert v2l["upper"] == pytest.approx(sps.beta.ppf(0.97, 281, 2721))
    assert list(rates.index) == ["visitor_to_lead", "lead_to_trial", "trial_to_paid"]
    assert (rates.loc["trial_to_paid", "successes"], rates.loc["trial_to_paid", "trials"]) == (
        21,
        49,
    )


def test_funnel_rates_by_channel_and_window():
    rates = at.funnel_rates(funnel_table(), by="channel", start="2024-02-01")
    row = rates.set_index(["channel", "stage"]).loc[("seo", "trial_to_paid")]
    assert (row["successes"], row["trials"]) == (7, 14)
    assert len(rates) == 2 * 3
    by_month = at.funnel_rates(funnel_table(), by=["month"])
    assert by_month["month"].nunique() == 2
    with pytest.raises(ValueError, match=r"missing \['leads'\]"):
        at.funnel_rates(funnel_table().drop(columns="leads"))
    with pytest.raises(ValueError, match="no funnel rows between 2030-01-01 and None"):
        at.funnel_rates(funnel_table(), start="2030-01-01")
    bad = funnel_table().assign(customers=[8, 1, 5, 70])
    with pytest.raises(ValueError, match=r"trial_to_paid: customers exceed trials in 1 group"):
        at.funnel_rates(bad, by="channel")


def movements_table() -> pd.DataFrame:
    """Monthly movements 2024-01 .. 2024-12 of five accounts (first month = data start)."""
    rows = [
        ("old", "2024-01", "new"),  # paying when the data begin: left out
        ("old", "2024-03", "expansion"),
        ("a", "2024-02", "new"),
        ("a", "2024-04", "expansion"),  # 2 months after: within a 3-month horizon
        ("b", "2024-02", "new"),
        ("b", "2024-06", "expansion"),  # 4 months after: outside
        ("c", "2024-03", "new"),
        ("c", "2024-03", "flat"),
        ("d", "2024-10", "new"),  # 2024-10 + 3 months > 2024-12: no full horizon
        ("d", "2024-11", "expansion"),
        ("e", "2024-03", "new"),
        ("e", "2024-06", "expansion"),  # exactly 3 months after
        ("z", "2024-12", "flat"),
    ]
    return pd.DataFrame(
        [(a, pd.Timestamp(m + "-01"), k) for a, m, k in rows],
        columns=["account_id", "month", "movement"],
    )


def test_expansion_rates_follow_new_customers_for_the_horizon():
    mv = movements_table()
    rates = at.expansion_rates(mv, horizon_months=3)
    assert rates[["stage", "successes", "trials"]].values.tolist() == [
        ["paid_to_expansion", 2.0, 4.0]
    ]
    assert rates["alpha"].item() == 3 and rates["beta"].item() == 3
    assert at.expansion_rates(mv, horizon_months=4)["successes"].item() == 3  # b counts; d now cut
    channels = pd.Series({"a": "ads", "b": "ads", "c": "seo"})
    by = at.expansion_rates(mv, horizon_months=3, channels=channels, by="channel").set_index(
        "channel"
    )
    assert by["trials"].to_dict() == {"(unknown)": 1.0, "ads": 2.0, "seo": 1.0}
    assert by.loc["ads", "successes"] == 1 and by.loc["(unknown)", "successes"] == 1
    by_month = at.expansion_rates(mv, horizon_months=3, by="month", start="2024-03")
    assert (
        by_month["month"].tolist() == [pd.Timestamp("2024-03-01")]
        and by_month["rate"].item() == 0.5
    )
    with pytest.raises(ValueError, match=r"by='channel' needs channels"):
        at.expansion_rates(mv, by="channel")
    with pytest.raises(
        ValueError, match=r"by must be among \['channel', 'month'\], got \['region'\]"
    ):
        at.expansion_rates(mv, by="region")
    with pytest.raises(ValueError, match=r"horizon_months must be an integer >= 1, got 0"):
        at.expansion_rates(mv, horizon_months=0)
    with pytest.raises(ValueError, match=r"no new customers with 12 months of follow-up"):
        at.expansion_rates(mv)


def test_cohort_window_defaults_and_errors():
    months = pd.Series(pd.to_datetime(["2023-01-01", "2023-06-15", "2023-12-01"]))
    assert at.cohort_window(months) == (pd.Timestamp("2023-01-01"), pd.Timestamp("2023-08-01"))
    assert at.cohort_window(months, start="2023-03", maturity_months=0) == (
        pd.Timestamp("2023-03-01"),
        pd.Timestamp("2023-12-01"),
    )
    with pytest.raises(
        ValueError, match="cohort window is empty: start 2023-10 is after end 2023-08"
    ):
        at.cohort_window(months, start="2023-10")


def test_against_targets_probabilities_and_status():
    rates = at.against_targets(at.funnel_rates(funnel_table())).set_index("stage")
    row = rates.loc["visitor_to_lead"]  # mean 9.4 %: above the current 8 %, below the 12 % target
    assert (row["current"], row["target"]) == (0.08, 0.12)
    assert row["p_target_met"] == pytest.approx(sps.beta.sf(0.12, 281, 2721))
    assert row["p_above_current"] == pytest.approx(sps.beta.sf(0.08, 281, 2721))
    assert row["status"] == "improving"
    custom = at.against_targets(
        at.funnel_rates(funnel_table()),
        {
            "visitor_to_lead": {"current": 0.05, "target": 0.09},
            "lead_to_trial": {"current": 0.2, "target": 0.3},
        },
    ).set_index("stage")
    assert custom.loc["visitor_to_lead", "status"] == "met"  # mean 9.4 % >= 9 %
    assert custom.loc["lead_to_trial", "status"] == "below current"  # mean 50 / 282 < 20 %
    assert custom.loc["trial_to_paid", "status"] == "no target"
    with pytest.raises(ValueError, match=r"targets need .*visitor_to_lead: \{'current': 8"):
        at.against_targets(
            at.funnel_rates(funnel_table()), {"visitor_to_lead": {"current": 8, "target": 12}}
        )


def test_milestones_velocity_and_journey_counts():
    tp, jr = make(
        {"a": {"day": 30}, "b": {"converted": False, "day": None, "revenue": 0}, "c": {"day": 40}},
        [
            ("a", 0, "ads", None),
            ("a", 3, "seo", None),
            ("b", 2, "seo", None),
            ("c", 35, "seo", None),
        ],
    )
    jr["lead_at"] = [T0 + 4 * DAY, T0 + 10 * DAY, pd.NaT]
    jr["trial_at"] = [T0 + 10 * DAY, pd.NaT, pd.NaT]
    jr["channel"] = ["paid_search", None, None]
    ms = at.journey_milestones(tp, jr).set_index("journey_id")
    assert ms.loc["a", "channel"] == "paid_search" and ms.loc["b", "channel"] == "seo"
    assert ms.loc["c", "cohort"] == pd.Timestamp("2024-04-01")  # first touch 5 April
    vel = at.stage_velocity(ms.reset_index()).set_index("stage")
    assert vel.loc["visitor_to_lead", "journeys"] == 2
    assert vel.loc["visitor_to_lead", "median_days"] == pytest.approx((4 + 8) / 2)
    assert vel.loc["trial_to_paid", "median_days"] == pytest.approx(20)
    assert vel.loc["visitor_to_paid", "median_days"] == pytest.approx((30 + 5) / 2)
    by = at.stage_velocity(ms.reset_index(), by="channel").set_index(["channel", "stage"])
    assert by.loc[("seo", "visitor_to_lead"), "median_days"] == pytest.approx(8)
    assert ms.loc["a", "cohort"] == pd.Timestamp("2024-03-01")  # lead month
    tp2, jr2 = at.select_cohorts(tp, jr, ms.reset_index(), start="2024-04-01")
    assert jr2["journey_id"].tolist() == ["c"] and tp2["journey_id"].tolist() == ["c"]


# ----------------------------------------------------------------------------- real data


def test_rates_on_real_leads_match_the_published_figures():
    """X Education leads (SOURCE.md): 38.54 % converted; Lead Add Form 92.48 % of 718."""
    folder = data.real_data_dir("x_education_leads")
    if not folder.is_dir():
        pytest.skip(f"real data not present at {folder}")
    leads = pd.read_csv(folder / "Leads.csv", usecols=["Lead Origin", "Converted"])
    funnel = pd.DataFrame(
        {
            "month": pd.Timestamp("2020-01-01"),
            "channel": leads["Lead Origin"],
            "visitors": 1,
            "leads": 1,
            "trials": 1,
            "customers": leads["Converted"],
        }
    )
    overall = at.funnel_rates(funnel).set_index("stage").loc["trial_to_paid"]
    assert (overall["successes"], overall["trials"]) == (3561, 9240)
    assert round(overall["rate"] * 100, 2) == 38.54
    assert overall["lower"] < 0.3854 < overall["upper"]
    by = (
        at.funnel_rates(funnel, by="channel").query("stage == 'trial_to_paid'").set_index("channel")
    )
    assert (
        round(by.loc["Lead Add Form", "rate"] * 100, 2) == 92.48
        and by.loc["Lead Add Form", "trials"] == 718
    )
    assert round(by.loc["API", "rate"] * 100, 2) == 31.15 and by.loc["API", "trials"] == 3580


# ----------------------------------------------------------------------------- report helpers


def test_channel_shares_drop_pseudo_channels_and_renormalise():
    shares = pd.DataFrame(
        {
            "channel": [at.BASELINE, "a", "b", at.NO_TOUCH],
            "m": [0.4, 0.3, 0.2, 0.1],
            "n": [0.0, 0.5, 0.5, 0.0],
        }
    )
    out = at.channel_shares(shares).set_index("channel")
    assert list(out.index) == ["a", "b"]
    assert out["m"].tolist() == pytest.approx([0.6, 0.4])
    assert out["n"].tolist() == pytest.approx([0.5, 0.5])
    # The distance from the truth uses the same renormalised shares.
    err = at.attribution_error(shares, {"a": 0.6, "b": 0.4}).set_index("model")["l1_error"]
    assert err.to_dict() == pytest.approx({"m": 0.0, "n": 0.2})


def test_report_tables_and_cards_on_hand_made_journeys():
    tp, jr = make(MARKOV_JOURNEYS, MARKOV_TOUCHES)
    rev = at.channel_revenue(at.attribute(tp, jr))
    spend = pd.DataFrame(
        {
            "month": [T0, T0],
            "category": ["marketing", "sales"],
            "channel": ["search", "sdr"],
            "amount": [300.0, 100.0],
        }
    )
    by = at.channel_spend(spend)
    roas = at.roas_table(at.channel_roi(rev, by), by, models=["position", "first_touch"])
    assert roas.columns.tolist() == [
        "channel",
        "Position (team)",
        "First touch",
        "ROI (Position (team))",
        "spend",
    ]
    assert roas.set_index("channel").loc["search", "First touch"] == pytest.approx(1500 / 300)
    row = roas.set_index("channel").loc["search"]
    assert row["ROI (Position (team))"] == pytest.approx(row["Position (team)"] - 1)
    cards = at.attribution_cards(
        rev, errors=at.attribution_error(at.share_table(rev), {"search": 1.0})
    )
    assert cards[0]["value"] == "$1,650"
    assert cards[1]["value"] == "sdr" and cards[1]["sub"] == f"{500 / 1650 * 100:.1f} % of revenue"
    assert cards[3]["value"] == at.MODEL_LABELS["first_touch"]  # first touch gives search the most
    accuracy = at.attribution_accuracy(tp, jr, {"search": 1.0})
    pd.testing.assert_frame_equal(
        accuracy, at.attribution_error(at.share_table(rev), {"search": 1.0})
    )
    box = str(at.accuracy_callout(accuracy, team="position"))
    assert "First touch comes closest" in box and "model (Position) misplaces" in box
    assert "Markov removal effect" in str(at.effects_table(at.data_driven_effects(tp, jr)))
    effects = at.data_driven_effects(tp, jr).set_index("channel")
    assert effects.loc["search", "removal_effect"] == pytest.approx(0.5)
    assert set(effects.columns) == {"removal_effect", "markov_share", "effect", "odds_ratio"}
    # issue 14: a "Markov share" here (removal effects, per conversion) read as a second,
    # different Markov revenue share; the column and caption now say which is which
    import html

    shown = html.unescape(str(at.effects_table(at.data_driven_effects(tp, jr))))
    assert ">Share of removal effects<" in shown and ">Markov share<" not in shown
    assert "It is not the Markov share of revenue in the attribution table above" in shown


def test_funnel_summary_levels_cards_and_truth_coverage():
    mv = movements_table()
    channels = pd.Series({"a": "ads", "b": "ads", "c": "seo", "e": "seo"})
    summary = at.funnel_summary(funnel_table(), movements=mv, channels=channels, horizon_months=3)
    assert set(summary["level"]) == {"all", "channel", "month"}
    overall = summary[summary["level"] == "all"].set_index("stage")
    assert list(overall.index) == [
        "visitor_to_lead",
        "lead_to_trial",
        "trial_to_paid",
        "paid_to_expansion",
    ]
    assert (
        overall.loc["paid_to_expansion", "successes"] == 2
        and overall.loc["paid_to_expansion", "status"] == "met"  # mean 3 / 6 >= 45 %
    )
    assert set(summary.loc[summary["level"] == "month", "group"]) >= {"2024-01", "2024-02"}
    cards = at.stage_cards(summary)
    assert [c["label"] for c in cards] == list(at.STAGE_LABELS.values())
    assert cards[0]["value"] == f"{281 / 3002 * 100:.1f} %" and cards[0]["status"] == "neutral"
    truth = at.truth_rates(
        {
            "ads": {"visitor_to_lead": 0.1, "lead_to_opportunity": 0.3},
            "seo": {"visitor_to_lead": 0.5},
        }
    )
    assert truth.values.tolist() == [
        ["ads", "visitor_to_lead", 0.1],
        ["seo", "visitor_to_lead", 0.5],
    ]
    cov = at.truth_coverage(summary, truth)
    # seo: 100 visitor -> lead of 1200 is far from 50 %
    assert cov.set_index("channel")["covered"].to_dict() == {"ads": True, "seo": False}
    assert "1 of 2 true channel rates" in str(at.coverage_callout(cov))
    months = at.level_table(summary, "month")
    assert months["month"].dtype.kind == "M" and "level" not in months and "group" not in months
    assert "group" not in at.level_table(summary, "all")
    with pytest.raises(
        ValueError, match=r"level must be one of \['all', 'channel', 'month'\], got 'region'"
    ):
        at.level_table(summary, "region")


def test_velocity_summary_levels():
    tp, jr = make(
        {"a": {"day": 30}, "b": {"day": 40}}, [("a", 0, "ads", None), ("b", 0, "seo", None)]
    )
    jr["lead_at"] = [T0 + 4 * DAY, T0 + 40 * DAY]
    ms = at.journey_milestones(tp, jr)
    v = at.velocity_summary(ms)
    assert set(zip(v["level"], v["group"], strict=True)) >= {
        ("all", "all"),
        ("channel", "ads"),
        ("month", "2024-04"),
    }
    row = v[(v["level"] == "all") & (v["stage"] == "visitor_to_lead")]
    assert row["median_days"].item() == pytest.approx(22.0)


def test_plots_return_figures():
    import matplotlib

    matplotlib.use("Agg")
    from revlib.attribution import plots

    tp, jr = make(MARKOV_JOURNEYS, MARKOV_TOUCHES)
    rev = at.channel_revenue(at.attribute(tp, jr))
    shares = at.share_table(rev)
    spend = at.channel_spend(
        pd.DataFrame(
            {"month": [T0], "category": ["marketing"], "channel": ["search"], "amount": [300.0]}
        )
    )
    summary = at.funnel_summary(funnel_table())
    ms = at.journey_milestones(tp, jr.assign(lead_at=T0 + DAY))
    figures = [
        plots.plot_channel_shares(at.channel_shares(shares), truth={"search": 0.5, "sdr": 0.5}),
        plots.plot_model_error(at.attribution_error(shares, {"search": 1.0})),
        plots.plot_roas(at.channel_roi(rev, spend)),
        plots.plot_funnel_targets(summary, by="channel"),
        plots.plot_funnel_targets(summary),
        plots.plot_rates_over_time(summary),
        plots.plot_velocity(at.stage_velocity(ms, by="channel")),
        plots.plot_velocity_over_time(at.velocity_summary(ms)),
    ]
    import matplotlib.pyplot as plt

    for fig in figures:
        assert isinstance(fig, matplotlib.figure.Figure) and fig.axes
        plt.close(fig)
