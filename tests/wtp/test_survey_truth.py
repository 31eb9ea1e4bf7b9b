"""The sample company's survey: generated from a known WTP truth, recovered by revlib.wtp."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from revlib.synth import survey
from revlib.wtp import van_westendorp as vw

SAMPLE = Path(__file__).parents[2] / "data" / "sample"


@pytest.fixture(scope="module")
def sample():
    truth = json.loads((SAMPLE / "ground_truth.json").read_text())["wtp_survey"]
    return pd.read_csv(SAMPLE / "wtp_responses.csv"), truth


def test_psm_points_of_the_sample_cover_the_population_truth(sample):
    responses, truth = sample
    b = vw.by_segment(responses, "company_size", n_boot=200, seed=0)
    b["truth"] = [
        truth["segments"][s]["psm_points"][p] for s, p in zip(b.segment, b.point, strict=True)
    ]
    covered = (b["lower"] <= b["truth"]) & (b["truth"] <= b["upper"])
    assert covered.all(), b[~covered]
    # informative, not trivially wide: each 90 % interval within +/- 30 % of the estimate
    assert ((b["upper"] - b["lower"]) / b["estimate"] < 0.6).all()


def test_truth_follows_the_budget_bands_and_the_bias():
    _, truth = survey.survey_tables(np.random.default_rng(7))
    for size, (lo, hi) in survey.BUDGETS.items():
        seg = truth["segments"][size]
        assert lo < seg["revealed_wtp_median"] < hi
        assert seg["stated_wtp_median"] == pytest.approx(0.85 * seg["revealed_wtp_median"], 1e-3)
        pts = seg["psm_points"]
        assert pts["pmc"] < pts["opp"] < pts["pme"] and pts["pmc"] < pts["idp"] < pts["pme"]
    # 80 % of a size's revealed WTP inside its band
    z = survey.sigma_for(survey.BUDGETS["smb"])
    assert np.exp(1.2816 * z) == pytest.approx(2.0, rel=1e-3)


def test_survey_tables_are_deterministic_and_report_inconsistency():
    a, _ = survey.survey_tables(np.random.default_rng(3))
    b, _ = survey.survey_tables(np.random.default_rng(3))
    pd.testing.assert_frame_equal(a["wtp_responses"], b["wtp_responses"])
    share = 1 - vw.consistent(a["wtp_responses"]).mean()
    assert 0.02 < share < 0.12  # 5 % swapped, plus ties from rounding
