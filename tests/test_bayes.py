"""The sampler wrapper and diagnostics, on a conjugate model whose posterior is known."""

from __future__ import annotations

import numpy as np
import pytest

from revlib import bayes


def normal_mean_model(y: np.ndarray):
    import pymc as pm

    with pm.Model() as model:
        mu = pm.Normal("mu", 0.0, 10.0)
        pm.Normal("y", mu, 1.0, observed=y)
    return model


def test_sampler_config_merges() -> None:
    cfg = bayes.sampler_config(fast=True, chains=3)
    assert cfg == {"draws": 400, "tune": 400, "chains": 3, "target_accept": 0.9}


def test_unknown_sampler() -> None:
    with pytest.raises(ValueError, match="sampler must be"):
        bayes.sample(None, sampler="emcee")


@pytest.mark.slow
@pytest.mark.parametrize("sampler", ["auto", "pymc"])
def test_sample_recovers_conjugate_posterior(sampler: str) -> None:
    rng = np.random.default_rng(0)
    y = rng.normal(1.5, 1.0, size=50)
    idata = bayes.sample(
        normal_mean_model(y), draws=500, tune=500, chains=2, seed=1, sampler=sampler
    )
    # exact posterior: precision 1/100 + 50, mean = sum(y) / (50 + 0.01)
    post_mean = y.sum() / (50 + 0.01)
    post_sd = (50 + 0.01) ** -0.5
    draws = idata.posterior["mu"].to_numpy().ravel()
    assert abs(draws.mean() - post_mean) < 4 * post_sd / np.sqrt(200)  # MC error with ESS >= 200
    assert draws.std() == pytest.approx(post_sd, rel=0.15)
    assert idata.attrs["sampler"] == ("nutpie" if sampler == "auto" else "pymc")
    diag = bayes.diagnostics(idata)
    assert diag["divergences"] == 0 and diag["max_r_hat"] < 1.02
    assert set(bayes.diagnostics_table(diag)["check"]) >= {"max r_hat", "divergences"}


def test_diagnostics_flag_problems_and_strict_mode() -> None:
    import arviz as az

    rng = np.random.default_rng(1)
    # two chains stuck in different places: r_hat far above 1.01
    post = {"mu": np.stack([rng.normal(0, 1, 300), rng.normal(5, 1, 300)])}
    stats = {"diverging": np.zeros((2, 300), dtype=bool)}
    stats["diverging"][0, :3] = True
    idata = az.from_dict(posterior=post, sample_stats=stats)
    diag = bayes.diagnostics(idata)
    assert not diag["ok"]
    assert diag["divergences"] == 3
    assert any("r_hat" in p for p in diag["problems"]) and any(
        "divergent" in p for p in diag["problems"]
    )
    bayes.check_diagnostics(diag, strict=False)
    with pytest.raises(RuntimeError, match="strict=True"):
        bayes.check_diagnostics(diag, strict=True)
