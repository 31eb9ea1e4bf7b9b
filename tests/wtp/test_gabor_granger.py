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
