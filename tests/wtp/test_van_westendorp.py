"""Van Westendorp and NMS behaviour beyond the reference values."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from revlib.wtp import nms
from revlib.wtp import van_westendorp as vw

DATA = Path(__file__).parent / "data"


def frame(rows):
    return pd.DataFrame(rows, columns=["respondent_id", *vw.QUESTIONS])


def test_inconsistent_respondents_are_reported_and_excluded():
    df = frame(
        [
            ["a", 10, 20, 30, 40],
            ["b", 12, 22, 33, 44],
            ["c", 10, 30, 20, 40],  # cheap > expensive
            ["d", 10, 20, 20, 40],  # tie: inconsistent unless allow_ties
            ["e", 11, 19, 31, 45],
        ]
    )
    res = vw.van_westendorp(df)
    assert res.n_inconsistent == 2 and res.inconsistent_ids == ["c", "d"]
    assert set(res.curves["price"]) == {10, 11, 12, 19, 20, 22, 30, 31, 33, 40, 44, 45}
    assert vw.van_westendorp(df, allow_ties=True).n_inconsistent == 1
    kept_all = vw.van_westendorp(df, exclude_inconsistent=False)
    assert kept_all.n_inconsistent == 2
    assert kept_all.curves["too_cheap"].iloc[0] == pytest.approx(1.0)
    assert not kept_all.curves["expensive"].equals(res.curves["expensive"])


def test_curves_are_cumulative_shares():
    df = pd.read_csv(DATA / "small.csv")
    c = vw.van_westendorp(df).curves
    for col in ("expensive", "too_expensive", "not_cheap"):
        assert (np.diff(c[col]) >= 0).all() and c[col].iloc[0] == 0 and c[col].iloc[-1] == 1
    for col in ("too_cheap", "cheap"):
        assert (np.diff(c[col]) <= 0).all()
    np.testing.assert_allclose(c["not_expensive"], 1 - c["expensive"])


def test_weights_move_points_towards_heavy_respondents():
    df = pd.read_csv(DATA / "weighted.csv")
    unw = vw.van_westendorp(df).points["opp"]
    heavy = df.assign(weight=np.where(df["too_cheap"] >= df["too_cheap"].median(), 50.0, 1.0))
    assert vw.van_westendorp(heavy, weight="weight").points["opp"] > unw
    equal = df.assign(weight=2.0)
    assert vw.van_westendorp(equal, weight="weight").points == pytest.approx(
        vw.van_westendorp(df).points
    )


def test_intersection_conventions():
    p = np.array([1.0, 2.0, 3.0, 4.0])
    assert vw.intersection(p, np.array([0, 1, 2, 3.0]), np.array([1.0, 1.5, 1.5, 1.5])) == 2.5
    assert np.isnan(vw.intersection(p, np.zeros(4), np.ones(4)))
    a, b = np.array([0, 1, 0, 1.0]), np.full(4, 0.5)
    assert vw.intersection(p, a, b, method="min") == 1.5
    assert vw.intersection(p, a, b, method="max") == 3.5
    assert vw.intersection(p, a, b, method="mean") == pytest.approx(2.5)
    # crossings at 1.5, 2.5 and 6.5: the median is the middle one, the mean is pulled up
    skew = np.array([1.0, 2.0, 3.0, 10.0])
    assert vw.intersection(skew, a, b, method="median") == pytest.approx(2.5)
    assert vw.intersection(skew, a, b, method="mean") == pytest.approx(3.5)
    assert vw.intersection(skew, a, b, method="median") == pytest.approx(np.median([1.5, 2.5, 6.5]))
    with pytest.raises(ValueError, match="method must be one of"):
        vw.intersection(p, a, b, method="mode")  # type: ignore[arg-type]


def test_bootstrap_is_seeded_and_brackets_the_estimate():
    df = pd.read_csv(DATA / "inconsistent.csv")
    a = vw.bootstrap_points(df, n_boot=60, seed=3)
    b = vw.bootstrap_points(df, n_boot=60, seed=3)
    pd.testing.assert_frame_equal(a, b)
    assert (a["lower"] <= a["estimate"]).all() and (a["estimate"] <= a["upper"]).all()
    assert (a["upper"] > a["lower"]).all()
    c = vw.bootstrap_points(df, n_boot=60, seed=4)
    assert not np.allclose(a["lower"], c["lower"])


def test_bad_input_names_table_column_rows():
    df = frame([["a", 10, 20, 30, 40], ["b", 10, None, 30, 40]])
    with pytest.raises(ValueError, match=r"wtp_responses\.cheap.*\[1\]"):
        vw.van_westendorp(df)
    with pytest.raises(ValueError, match="too_expensive"):
        vw.van_westendorp(df.drop(columns="too_expensive"))
    ok = frame([["a", 10, 20, 30, 40]]).assign(w=[0.0])
    with pytest.raises(ValueError, match=r"wtp_responses\.w"):
        vw.van_westendorp(ok, weight="w")
    with pytest.raises(ValueError, match="every respondent is inconsistent"):
        vw.van_westendorp(frame([["a", 40, 30, 20, 10]]))


def test_nms_calibration_and_optima():
    assert nms.calibrate(np.array([5, 1, 3, 7])) == pytest.approx(
        [0.7, 0.0, 0.3, np.nan], nan_ok=True
    )
    df = pd.read_csv(DATA / "nms.csv")
    r = nms.newton_miller_smith(df)
    assert r.curves["trial"].max() <= 0.7 and r.curves["trial"].min() >= 0
    assert r.price_max_trial == r.curves["price"][r.curves["trial"].idxmax()]
    np.testing.assert_allclose(r.curves["revenue"], r.curves["price"] * r.curves["trial"])
    sure = df.assign(pi_cheap=5, pi_expensive=5)
    assert nms.newton_miller_smith(sure).curves["trial"].max() > r.curves["trial"].max()
    with pytest.raises(ValueError, match="pi_cheap"):
        nms.newton_miller_smith(df.drop(columns="pi_cheap"))
    iv = nms.bootstrap_optima(df, n_boot=30, seed=1)
    assert (iv["lower"] <= iv["upper"]).all()


def test_report_settings_follow_fast():
    from revlib.wtp import report

    fast, full = report.settings(True), report.settings(False)
    assert fast["n_boot"] < full["n_boot"]
    assert fast["sampler"]["draws"] < full["sampler"]["draws"]


def test_truth_check_marks_coverage():
    from revlib.wtp import report

    pts = pd.DataFrame(
        {"segment": ["s"], "point": ["opp"], "estimate": [10.0], "lower": [9.0], "upper": [11.0]}
    )
    opt = pd.DataFrame(
        {
            "segment": ["s"],
            "revenue_max_price": [10.0],
            "lower": [9.0],
            "upper": [9.5],
            "median_wtp": [12.0],
            "median_wtp_lower": [11.0],
            "median_wtp_upper": [13.0],
        }
    )
    truth = {
        "segments": {
            "s": {
                "psm_points": {"opp": 10.5},
                "stated_wtp_median": 12.5,
                "gabor_granger_revenue_max_price": 10.0,
            }
        }
    }
    check = report.truth_check(pts, opt, truth)
    assert check["covered"].tolist() == [True, True, False]


def test_median_method_reduces_several_crossings_to_the_middle_one():
    df = pd.read_csv(DATA / "tiny.csv")
    res = {m: vw.van_westendorp(df, method=m) for m in ("min", "median", "max")}
    c = res["median"].curves
    p = c["price"].to_numpy()
    for point, (a, b) in {
        "opp": ("too_expensive", "too_cheap"),
        "idp": ("expensive", "cheap"),
    }.items():
        d = c[a].to_numpy() - c[b].to_numpy()
        steps = np.flatnonzero(np.diff(np.sign(d)) != 0)
        xs = p[steps] - d[steps] * (p[steps + 1] - p[steps]) / (d[steps + 1] - d[steps])
        assert res["median"].points[point] == pytest.approx(float(np.median(xs)))
        assert res["min"].points[point] <= res["median"].points[point] <= res["max"].points[point]
    assert res["min"].points["opp"] < res["median"].points["opp"]  # two OPP crossings here
    with pytest.raises(ValueError, match="method must be"):
        vw.van_westendorp(df, method="mode")  # type: ignore[arg-type]
