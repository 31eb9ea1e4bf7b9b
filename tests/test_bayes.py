"""The sampler wrapper and diagnostics, on a conjugate model whose posterior is known."""

from __future__ import annotations

from pathlib import Path

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


def fake_idata(centres, draws: int, *, divergent: int = 0, rho: float = 0.0, seed: int = 1):
    """InferenceData of one parameter ``mu`` with one chain per centre (AR(1) normal draws
    around it, autocorrelation ``rho``; ESS about draws x (1 - rho) / (1 + rho)) and
    ``divergent`` divergent transitions in the first chain: no sampling needed."""
    import arviz as az

    rng = np.random.default_rng(seed)
    noise = rng.normal(0, 1, (len(centres), draws))
    for t in range(1, draws):
        noise[:, t] += rho * noise[:, t - 1]
    post = {"mu": noise + np.asarray(centres, dtype=float)[:, None]}
    stats = {"diverging": np.zeros((len(centres), draws), dtype=bool)}
    stats["diverging"][0, :divergent] = True
    return az.from_dict(posterior=post, sample_stats=stats)


def test_diagnostics_flag_problems_and_strict_mode() -> None:
    # two chains stuck in different places: r_hat far above 1.01
    diag = bayes.diagnostics(fake_idata([0, 5], 300, divergent=3))
    assert not diag["ok"]
    assert diag["divergences"] == 3
    assert any("r_hat" in p for p in diag["problems"]) and any(
        "divergent" in p for p in diag["problems"]
    )
    with pytest.raises(RuntimeError, match="failure limits"):  # beyond them: always stops
        bayes.check_diagnostics(diag, strict=False)
    # a milder problem (3 divergences in 1,200 draws, chains agree) stays a warning ...
    mild = bayes.diagnostics(fake_idata([0, 0], 600, divergent=3))
    assert mild["verdict"] == "warning" and any("divergent" in p for p in mild["problems"])
    bayes.check_diagnostics(mild, strict=False)
    with pytest.raises(RuntimeError, match="strict=True"):  # ... unless strict
        bayes.check_diagnostics(mild, strict=True)


def test_verdicts_and_their_colours() -> None:
    ok = bayes.diagnostics(fake_idata([0, 0, 0, 0], 500))
    warning = bayes.diagnostics(fake_idata([0, 0], 120))  # ESS about 240: below 400, above 100
    fail = bayes.diagnostics(fake_idata([0, 5], 300))
    assert [d["verdict"] for d in (ok, warning, fail)] == ["ok", "warning", "fail"]
    assert ok["ok"] and not warning["ok"] and not fail["ok"]
    assert 100 <= warning["min_ess_bulk"] < 400
    for diag, css in ((ok, "rl-success"), (warning, "rl-warning"), (fail, "rl-critical")):
        html = str(bayes.diagnostics_report(diag))
        assert f'class="rl-callout {css}"' in html
        assert html.count("rl-callout") == 1
    bayes.check_diagnostics(ok, strict=True)  # never raises on "ok"
    table = bayes.diagnostics_table(warning).set_index("check")
    assert table.loc["min bulk ESS", "status"] == "warning"
    assert not table.loc["min bulk ESS", "pass"] and table.loc["max r_hat", "pass"]
    assert bayes.diagnostics_table(fail).set_index("check").loc["max r_hat", "status"] == "fail"


def test_verdict_thresholds_are_parameters() -> None:
    diag = bayes.diagnostics(fake_idata([0, 0, 0, 0], 500))
    assert diag["verdict"] == "ok"
    strict_ess = bayes.Limits(min_ess=10_000)
    assert bayes.verdict(diag, targets=strict_ess) == "warning"
    assert bayes.verdict(diag, fail=strict_ess) == "fail"
    assert bayes.diagnostics(fake_idata([0, 0, 0, 0], 500), targets=strict_ess)["verdict"] == (
        "warning"
    )


def test_fast_mode_is_lenient_on_ess_and_says_so() -> None:
    idata = fake_idata(
        [0, 0], 120, rho=0.5, seed=3
    )  # ESS about 80: between the fast and full limits
    full, fast = bayes.diagnostics(idata), bayes.diagnostics(idata, fast=True)
    assert 50 <= full["min_ess_bulk"] < 100
    assert full["verdict"] == "fail" and fast["verdict"] == "warning"
    bayes.check_diagnostics(fast)
    with pytest.raises(bayes.DiagnosticsError):
        bayes.check_diagnostics(full)
    assert "Fast mode" in str(bayes.diagnostics_report(fast))
    assert "Fast mode" not in str(bayes.diagnostics_report(full))


def test_values_are_formatted_for_people_and_artifacts() -> None:
    import json

    assert bayes.format_value("min bulk ESS", 663.0) == "663"
    assert bayes.format_value("min tail ESS", 1204.4) == "1,204"
    assert bayes.format_value("divergences", 3) == "3"
    assert bayes.format_value("max r_hat", 1.00612) == "1.006"
    assert bayes.format_value("min energy BFMI", 0.8123) == "0.81"
    assert bayes.format_value("max r_hat", float("nan")) == "–"
    diag = bayes.diagnostics(fake_idata([0, 0], 120)) | {"min_ess_bulk": 663.0}
    html = str(bayes.diagnostics_report(diag))
    assert ">663<" in html and "663.0" not in html
    art = bayes.diagnostics_artifact(diag)
    assert art["min_ess_bulk"] == 663 and isinstance(art["min_ess_bulk"], int)
    assert isinstance(art["min_ess_tail"], int) and isinstance(art["divergences"], int)
    assert art["max_r_hat"] == round(diag["max_r_hat"], 3)
    assert art["verdict"] == "warning" and "seconds" not in art
    text = json.dumps(art)
    assert '"min_ess_bulk": 663,' in text and "663.0" not in text


NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def _code(path: Path) -> str:
    import nbformat

    nb = nbformat.read(path, as_version=4)
    return "\n".join(c.source for c in nb.cells if c.cell_type == "code")


MCMC_NOTEBOOKS = sorted(p for p in NOTEBOOKS.glob("*.ipynb") if "bayes.diagnostics(" in _code(p))


def test_mcmc_notebooks_are_known() -> None:
    assert {p.stem for p in MCMC_NOTEBOOKS} == {
        "customer_health",
        "pipeline_forecast",
        "price_elasticity",
        "wtp_survey",
    }


@pytest.mark.parametrize("path", MCMC_NOTEBOOKS, ids=lambda p: p.stem)
def test_every_mcmc_notebook_shows_and_checks_its_diagnostics(path: Path) -> None:
    code = _code(path)
    for call in ("bayes.diagnostics_report(diag)", "bayes.check_diagnostics(diag"):
        assert code.count(call) == 1, f"{path.name} should call {call} once"
    assert "fast=fast" in code.split("bayes.diagnostics(", 1)[1].split(")\n", 1)[0], (
        f"{path.name}: bayes.diagnostics(..., fast=fast) applies the fast-mode limits"
    )
    assert "diagnostics_table(" not in code and '["problems"]' not in code  # one renderer
