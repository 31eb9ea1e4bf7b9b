"""Shared statistical primitives: golden values and naive references."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from revlib import stats


def test_beta_posterior_golden() -> None:
    post = stats.beta_posterior(
        pd.Series([3, 0], index=["a", "b"]), pd.Series([10, 5], index=["a", "b"])
    )
    assert list(post.index) == ["a", "b"]
    assert post.loc["a", "mean"] == pytest.approx(4 / 12)  # Beta(1+3, 1+7)
    assert (post.loc["a", "alpha"], post.loc["a", "beta"]) == (4, 8)
    assert post.loc["a", "lower"] == pytest.approx(sps.beta.ppf(0.03, 4, 8))
    assert post.loc["b", "upper"] == pytest.approx(sps.beta.ppf(0.97, 1, 6))


def test_beta_posterior_errors() -> None:
    with pytest.raises(ValueError, match="0 <= successes <= trials"):
        stats.beta_posterior(5, 3)
    with pytest.raises(ValueError, match="prob must be in"):
        stats.beta_posterior(1, 3, prob=1.5)


def test_accuracy_measures() -> None:
    actual, forecast = np.array([100.0, 200.0, 0.0]), np.array([110.0, 180.0, 5.0])
    assert stats.wape(actual, forecast) == pytest.approx((10 + 20 + 5) / 300)
    assert stats.bias(actual, forecast) == pytest.approx((10 - 20 + 5) / 300)
    assert stats.within_pct([100, 200], [104, 215]) == 0.5
    assert stats.interval_coverage([1, 5, 9], [0, 6, 9], [2, 7, 10]) == pytest.approx(2 / 3)
    assert np.isnan(stats.wape([0.0], [1.0]))


def test_hdi_against_naive() -> None:
    rng = np.random.default_rng(3)
    x = rng.gamma(2.0, size=2001)
    lo, hi = stats.hdi(x, 0.9)
    xs = np.sort(x)
    k = int(np.floor(0.9 * len(xs)))
    naive = min(((xs[i], xs[i + k]) for i in range(len(xs) - k)), key=lambda p: p[1] - p[0])
    assert (lo, hi) == pytest.approx(naive)
    assert hi - lo < np.quantile(x, 0.95) - np.quantile(
        x, 0.05
    )  # skewed: narrower than equal-tailed
