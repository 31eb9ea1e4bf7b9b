"""Gabor-Granger: the interval-censored WTP data and the partially pooled Bayesian model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from revlib import bayes
from revlib.wtp import gabor_granger as gg

SAMPLE = Path(__file__).parents[2] / "data" / "sample"


def test_yes_counts_become_wtp_intervals():
    answers = pd.DataFrame(
        {
            "respondent_id": ["a"] * 3 + ["b"] * 3 + ["c"] * 3,
            "price": [10, 20, 30] * 3,
            "would_buy": [True, True, False, False, False, False, True, True, True],
        }
    )
    responses = pd.DataFrame({"respondent_id": ["a", "b", "c"], "size": ["x", "x", "y"]})
    iv = gg.intervals(gg.prepare(answers, responses, "size")).set_index("respondent_id")
    assert iv.loc["a", ["k", "lower", "upper"]].tolist() == [2, 20.0, 30.0]
    assert iv.loc["b", ["lower", "upper"]].tolist() == [0.0, 10.0]
    assert iv.loc["c", "lower"] == 30.0 and np.isinf(iv.loc["c", "upper"])
    agg = gg.aggregate(gg.prepare(answers, responses, "size"))
    assert agg.loc[(agg.segment == "x") & (agg.price == 10), "share"].item() == 0.5


def test_unknown_respondents_and_columns_are_named():
    answers = pd.DataFrame({"respondent_id": ["zz"], "price": [1.0], "would_buy": [True]})
    responses = pd.DataFrame({"respondent_id": ["a"], "size": ["x"]})
    with pytest.raises(ValueError, match=r"gabor_granger: respondent_id.*zz"):
        gg.prepare(answers, responses, "size")
    with pytest.raises(ValueError, match="segment column 'region'"):
        gg.prepare(answers, responses, "region")
    with pytest.raises(ValueError, match="would_buy"):
        gg.prepare(answers.drop(columns="would_buy"), responses, "size")


@pytest.mark.slow
def test_model_recovers_the_sample_truth():
    """Measured on the sample (fast sampler, seed 0): the median stated WTP of every company
    size is inside its 90 % interval; the revenue-maximising price in 3 of 4 (enterprise
    misses: that sample of 120 has 12.5 % above the top price where the truth says 8.9 %,
    so its demand is flatter than the population's)."""
    truth = json.loads((SAMPLE / "ground_truth.json").read_text())["wtp_survey"]["segments"]
    long = gg.prepare(
        pd.read_csv(SAMPLE / "gabor_granger.csv"),
        pd.read_csv(SAMPLE / "wtp_responses.csv"),
        "company_size",
    )
    idata, ref = gg.fit(long, sampler=gg.SAMPLER_FAST, seed=0)
    bayes.check_diagnostics(bayes.diagnostics(idata, list(gg.PARAMS), fast=True))
    o = gg.optimal_prices(idata, ref, gg.aggregate(long)).set_index("segment")
    wtp = pd.Series({s: t["stated_wtp_median"] for s, t in truth.items()})
    rmax = pd.Series({s: t["gabor_granger_revenue_max_price"] for s, t in truth.items()})
    assert ((o["median_wtp_lower"] <= wtp) & (wtp <= o["median_wtp_upper"])).all()
    assert ((o["lower"] <= rmax) & (rmax <= o["upper"])).sum() >= 3
    c = gg.curves(idata, ref, gg.aggregate(long))
    assert (c.groupby("segment")["demand"].apply(lambda d: (np.diff(d) < 0).all())).all()


def test_survey_weights_weight_shares_and_scale_to_the_effective_sample():
    answers = pd.DataFrame(
        {
            "respondent_id": ["a", "a", "b", "b", "c", "c"],
            "price": [10, 20] * 3,
            "would_buy": [True, False, False, False, True, True],
        }
    )
    responses = pd.DataFrame(
        {"respondent_id": ["a", "b", "c"], "size": ["x"] * 3, "w": [1.0, 1.0, 2.0]}
    )
    long = gg.prepare(answers, responses, "size", weight="w")
    agg = gg.aggregate(long).set_index("price")
    # at 10: a (1) and c (2) of total weight 4 would buy; at 20: only c
    assert agg.loc[10, "share"] == pytest.approx(3 / 4)
    assert agg.loc[20, "share"] == pytest.approx(2 / 4)
    assert agg.loc[10, "n"] == 3  # counts stay counts
    iv = gg.intervals(long).set_index("respondent_id")
    n_eff = 4**2 / (1 + 1 + 4)  # Kish: (sum w)^2 / sum w^2 = 2.667
    assert iv["weight"].sum() == pytest.approx(n_eff)
    assert iv.loc["c", "weight"] == pytest.approx(2 * n_eff / 4)
    # equal weights change nothing
    even = gg.prepare(answers, responses.assign(w=5.0), "size", weight="w")
    assert gg.intervals(even)["weight"].tolist() == pytest.approx([1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match=r"wtp_responses.w: weights must be numbers > 0.*'b'"):
        gg.prepare(answers, responses.assign(w=[1.0, 0.0, 1.0]), "size", weight="w")
    with pytest.raises(ValueError, match="weight column 'v' not found"):
        gg.prepare(answers, responses, "size", weight="v")


@pytest.mark.slow
def test_weights_correct_an_unbalanced_sample():
    """Half the population is willing to pay around 50 and half around 200, but 80 % of the
    respondents come from the first half; weights of 0.5 / share restore the population, whose
    median WTP is 100 (midway on the log scale). Unweighted, the estimate sits near the
    over-sampled half."""
    rng = np.random.default_rng(3)
    n_low, n_high = 320, 80
    wtp = np.r_[
        np.exp(rng.normal(np.log(50), 0.25, n_low)), np.exp(rng.normal(np.log(200), 0.25, n_high))
    ]
    ids = [f"r{i}" for i in range(len(wtp))]
    prices = np.array([25, 40, 60, 80, 100, 130, 160, 200, 260, 350], float)
    answers = pd.DataFrame(
        {
            "respondent_id": np.repeat(ids, len(prices)),
            "price": np.tile(prices, len(wtp)),
            "would_buy": np.repeat(wtp, len(prices)) >= np.tile(prices, len(wtp)),
        }
    )
    responses = pd.DataFrame(
        {
            "respondent_id": ids,
            "size": "all",
            "w": np.r_[np.full(n_low, 0.5 / n_low), np.full(n_high, 0.5 / n_high)],
        }
    )
    got = {}
    for weight in (None, "w"):
        long = gg.prepare(answers, responses, "size", weight=weight)
        idata, ref = gg.fit(long, sampler=gg.SAMPLER_FAST, seed=0)
        got[weight] = gg.optimal_prices(idata, ref, gg.aggregate(long)).iloc[0]
    assert got[None]["median_wtp_upper"] < 80  # unweighted: the over-sampled half
    assert got["w"]["median_wtp_lower"] < 100 < got["w"]["median_wtp_upper"]
    width = {k: v["median_wtp_upper"] - v["median_wtp_lower"] for k, v in got.items()}
    assert width["w"] > width[None]  # uneven weights: fewer effective respondents
