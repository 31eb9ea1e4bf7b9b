"""revlib.wtp against the reference implementation, R's ``pricesensitivitymeter``.

The golden values in ``reference_psm.json`` were made once, offline (CI has no R), from the
input CSVs in ``data/`` (drawn by a seeded generator; small, weighted, with inconsistent
respondents, with NMS answers):

* R 4.2.2 from Debian's packages (``apt-get install r-base-core r-cran-survey
  r-cran-ggplot2``);
* ``pricesensitivitymeter`` 1.3.3 from its public repository
  github.com/max-alletsee/pricesensitivitymeter, commit
  8188de1e95fa0f407073677f6f88baec2f43c8d4, installed with ``R CMD INSTALL``;
* each case's ``call`` field holds the exact R call, evaluated with ``x <- read.csv(<data>)``
  (weighted cases: ``design = svydesign(ids = ~1, weights = ~weight, data = x)``); the
  price points (``pricerange_lower`` -> pmc, ``pricerange_upper`` -> pme, ``idp``, ``opp``),
  the counts, the grid size, the NMS optima and (non-interpolated cases) the curves were
  written with 10 decimals.

The option mapping under test is in docs/wtp.md.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from revlib.wtp import nms
from revlib.wtp import van_westendorp as vw

HERE = Path(__file__).parent
REF = json.loads((HERE / "reference_psm.json").read_text())
CASES = REF["cases"]


def options(call: str) -> dict:
    """revlib options equivalent to a psm_analysis call (the documented mapping)."""
    opt: dict = {
        "weight": "weight" if "psm_analysis_weighted" in call else None,
        "exclude_inconsistent": "validate = FALSE" not in call,
        "interpolate": "interpolate = TRUE" in call,
    }
    if m := re.search(r'intersection_method = "(\w+)"', call):
        opt["method"] = m.group(1)
    if m := re.search(r'acceptable_range = "(\w+)"', call):
        opt["acceptable_range"] = m.group(1)
    return opt


def data(case: dict) -> pd.DataFrame:
    return pd.read_csv(HERE / "data" / f"{case['data']}.csv")


@pytest.mark.parametrize("name", sorted(CASES))
def test_price_points_equal_reference_to_the_cent(name):
    case = CASES[name]
    res = vw.van_westendorp(data(case), **options(case["call"]))
    for k in vw.POINTS:  # to the cent, and in fact to 1e-6
        assert res.points[k] == pytest.approx(case[k], abs=1e-6), k
    assert res.n_inconsistent == case["invalid_cases"]
    assert res.n_total == case["total_sample"]
    assert len(res.curves) == case["grid_size"]


@pytest.mark.parametrize("name", sorted(n for n in CASES if "curves" in CASES[n]))
def test_curves_equal_reference(name):
    case = CASES[name]
    res = vw.van_westendorp(data(case), **options(case["call"]))
    for col, ref in case["curves"].items():
        np.testing.assert_allclose(res.curves[col].to_numpy(), ref, atol=1e-9, err_msg=col)


@pytest.mark.parametrize("name", sorted(n for n in CASES if "price_optimal_reach" in CASES[n]))
def test_nms_optima_equal_reference(name):
    case = CASES[name]
    r = nms.newton_miller_smith(data(case), **options(case["call"]))
    assert r.price_max_trial == pytest.approx(case["price_optimal_reach"], abs=0.005)
    assert r.price_max_revenue == pytest.approx(case["price_optimal_revenue"], abs=0.005)
    if case.get("nms_reach") is not None:
        np.testing.assert_allclose(r.curves["trial"].to_numpy(), case["nms_reach"], atol=1e-9)
