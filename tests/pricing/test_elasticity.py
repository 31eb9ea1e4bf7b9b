"""Hierarchical log-log demand model: data preparation, model structure, price optimisation
(on a hand-made posterior), and parameter recovery on the sample company and on Dominick's."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from revlib.pricing import elasticity as el
from tests.conftest import REAL, SAMPLE


def _obs(
    seed=0,
    groups=(("a", "NA"), ("a", "EU"), ("b", "NA")),
    periods=30,
    elasticities=(-1.5, -2.0, -2.5),
):
    rng = np.random.default_rng(seed)
    rows = []
    for (prod, reg), e in zip(groups, elasticities, strict=True):
        for t in range(periods):
            price = 100 * np.exp(rng.normal(0, 0.1))
            promo = float(rng.random() < 0.2)
            units = np.exp(4 + e * np.log(price / 100) + 0.3 * promo + rng.normal(0, 0.1))
            rows.append(
                (
                    pd.Timestamp("2024-01-01") + pd.Timedelta(weeks=t),
                    prod,
                    reg,
                    price,
                    round(units),
                    promo,
                    20.0,
                )
            )
    return pd.DataFrame(
        rows, columns=["period", "product", "region", "price", "units", "promo", "unit_cost"]
    )


# ----------------------------------------------------------------------------- data


def test_prepare_lists_every_problem():
    bad = _obs().drop(columns=["region"])
    bad.loc[0, "price"] = -1
    with pytest.raises(ValueError) as err:
        el.prepare_demand_data(
            bad, covariates=["discount"], seasonality=-1, priors={"elasticity_muu": 0}
        )
    text = str(err.value)
    assert "lacks column(s) ['region', 'discount']" in text
    assert "seasonality must be a whole number >= 0" in text
    assert "unknown prior(s) ['elasticity_muu']" in text
    neg = _obs()
    neg.loc[[0, 1], "price"] = 0
    with pytest.raises(ValueError, match=r"price must be > 0; 2 row\(s\) are not"):
        el.prepare_demand_data(neg)


def test_prepare_drops_zero_units_and_centres_price():
    obs = _obs()
    obs.loc[[0, 5], "units"] = 0
    d = el.prepare_demand_data(obs)
    assert d.dropped_zero_units == 2
    assert len(d.frame) == len(obs) - 2
    # x is log price relative to the group's geometric mean price: mean zero per group
    assert np.allclose(d.frame.groupby("group_idx")["x"].mean(), 0, atol=1e-12)
    assert list(d.groups["group"]) == ["a · EU", "a · NA", "b · NA"]
    assert d.groups["n_obs"].tolist() == [30, 28, 30]


def test_today_price_is_the_recent_regular_median():
    rows = [
        (
            pd.Timestamp("2024-01-01") + pd.Timedelta(weeks=t),
            "a",
            100.0 if t < 20 else 110.0,
            5.0,
            0.0,
        )
        for t in range(30)
    ]
    rows[-1] = (rows[-1][0], "a", 70.0, 9.0, 1.0)  # a promotion in the last week is ignored
    obs = pd.DataFrame(rows, columns=["period", "product", "price", "units", "promo"])
    d = el.prepare_demand_data(obs, group_cols=["product"])
    # last 13 regular weeks: weeks 16..28 -> prices 100 x4, 110 x9 -> median 110
    assert d.groups.loc[0, "today_price"] == 110.0
    assert np.isnan(d.groups.loc[0, "unit_cost"])


# ----------------------------------------------------------------------------- model


def test_model_structure_and_likelihood_against_a_naive_reference():
    obs = _obs()
    d = el.prepare_demand_data(obs, covariates=["promo"], seasonality=2, centered=False)
    model = el.build_demand_model(d)
    free = {v.name for v in model.free_RVs}
    assert free == {
        "elasticity_mu",
        "elasticity_sd_product_region",
        "elasticity_z_product_region",
        "intercept_z",
        "sigma",
        "gamma",
        "season",
    }
    assert model["elasticity"].eval({model["elasticity_z_product_region"]: np.zeros(3)}).shape == (
        3,
    )
    rng = np.random.default_rng(1)
    point = {k: rng.normal(0, 0.5, size=np.shape(v)) for k, v in model.initial_point().items()}
    logp_obs = model.compile_logp(vars=[model["log_units"]], jacobian=False)(point)
    outs = model.replace_rvs_by_values(
        [model[n] for n in ("elasticity", "intercept", "sigma", "gamma", "season")]
    )
    beta, alpha, sigma, gamma, season = model.compile_fn(
        outs, inputs=model.value_vars, on_unused_input="ignore"
    )(point)
    f = d.frame
    t = (f["period"] - pd.Timestamp("2000-01-01")).dt.days.to_numpy() / 365.25
    fourier = np.column_stack([fn(2 * np.pi * k * t) for k in (1, 2) for fn in (np.sin, np.cos)])
    g = f["group_idx"].to_numpy()
    mu = (
        alpha[g] + beta[g] * f["x"].to_numpy() + gamma[0] * f["promo"].to_numpy() + fourier @ season
    )
    naive = sps.norm.logpdf(np.log(f["units"].to_numpy()), mu, sigma[g]).sum()
    assert logp_obs == pytest.approx(naive, rel=1e-9)


def test_parameterisation_follows_how_much_the_data_say():
    strong = el.prepare_demand_data(_obs())  # 30 periods, 10 % price moves, 10 % noise
    assert strong.centered and strong.slope_se.max() < 0.5
    weak = _obs(periods=4)
    weak["price"] = 100 * np.exp(np.random.default_rng(3).normal(0, 0.01, len(weak)))
    d = el.prepare_demand_data(weak)
    assert not d.centered and d.slope_se.min() > 0.5
    assert el.prepare_demand_data(weak, centered=True).centered
    # golden: a perfect line has zero slope standard error; two rows have none at all
    line = pd.DataFrame({"product": "a", "price": [1.0, 2.0, 4.0], "units": [8.0, 4.0, 2.0]})
    assert el.prepare_demand_data(line, group_cols=["product"]).slope_se[0] == pytest.approx(
        0.0, abs=1e-12
    )
    assert np.isinf(el.prepare_demand_data(line.iloc[:2], group_cols=["product"]).slope_se[0])


def test_centred_parameterisation_samples_the_offsets():
    d = el.prepare_demand_data(_obs(), centered=True)
    model = el.build_demand_model(d)
    free = {v.name for v in model.free_RVs}
    assert "elasticity_offset_product_region" in free and "elasticity_z_product_region" not in free
    point = model.initial_point()
    point["elasticity_mu"] = np.array(-2.0)
    beta = model.compile_fn(
        model.replace_rvs_by_values([model["elasticity"]]),
        inputs=model.value_vars,
        on_unused_input="ignore",
    )(point)[0]
    assert np.allclose(beta, -2.0)  # offsets start at zero: every group at the pooled mean
    assert np.isfinite(model.compile_logp()(point))


def test_nested_single_group_and_fixed_effects():
    obs = _obs()
    nested = el.build_demand_model(el.prepare_demand_data(obs, nested=True, centered=False))
    assert {"elasticity_sd_product", "elasticity_sd_product_region", "elasticity_z_product"} <= {
        v.name for v in nested.free_RVs
    }
    one = el.build_demand_model(
        el.prepare_demand_data(obs[(obs["region"] == "NA") & (obs["product"] == "a")])
    )
    assert "elasticity_sd_product_region" not in {v.name for v in one.free_RVs}
    obs["store"] = np.where(np.arange(len(obs)) % 2 == 0, "s1", "s2")
    fe = el.build_demand_model(el.prepare_demand_data(obs, fixed_effects=["store"]))
    assert "fe_store" in {v.name for v in fe.free_RVs}
    assert np.isfinite(fe.compile_logp()(fe.initial_point()))


# ----------------------------------------------------------------------------- optimisation on a known posterior


def _fake_fit(elasticity, *, cost=10.0, sigma=0.0, draws=50, prices=(15.0, 30.0)):
    """A fit whose posterior is known exactly: every draw has the given elasticities."""
    import arviz as az

    k = len(elasticity)
    rows = []
    for i in range(k):
        for p in np.linspace(*prices, 10):
            rows.append((pd.Timestamp("2024-01-01"), f"p{i}", p, 100.0, 0.0, cost))
    obs = pd.DataFrame(rows, columns=["period", "product", "price", "units", "promo", "unit_cost"])
    data = el.prepare_demand_data(obs, group_cols=["product"])
    shape = (1, draws, k)
    idata = az.from_dict(
        posterior={
            "elasticity": np.broadcast_to(np.asarray(elasticity, float), shape).copy(),
            "intercept": np.full(shape, np.log(100.0)),
            "sigma": np.full(shape, sigma),
        },
        coords={"group": list(data.groups["group"])},
        dims={"elasticity": ["group"], "intercept": ["group"], "sigma": ["group"]},
    )
    return el.ElasticityFit(model=None, idata=idata, data=data)


def test_profit_optimum_is_the_lerner_price():
    # e = -2, cost 10: profit-optimal price 10 x -2 / (1 - 2) = 20, inside the range 15..30
    fit = _fake_fit([-2.0])
    r = el.optimal_prices(fit, points=1501, max_change=None).iloc[0]
    assert r["objective"] == "profit"
    assert r["recommended_price"] == pytest.approx(20.0, abs=0.02)
    assert r["model_optimum"] == pytest.approx(20.0)
    assert r["at_edge"] == ""
    assert el.lerner_price(-2.0, 10.0) == 20.0
    assert np.isnan(el.lerner_price(-0.8, 10.0))


def test_revenue_optimum_sits_at_the_edge_of_the_observed_range():
    fit = _fake_fit([-2.0, -0.5])
    r = el.optimal_prices(fit, objective="revenue", max_change=None).set_index("group")
    assert (
        r.loc["p0", "recommended_price"] == pytest.approx(15.0) and r.loc["p0", "at_edge"] == "low"
    )
    assert (
        r.loc["p1", "recommended_price"] == pytest.approx(30.0) and r.loc["p1", "at_edge"] == "high"
    )
    assert np.isnan(r.loc["p0", "model_optimum"])
    # gain golden: revenue ratio (p / p_today)^(1 + e); today = median price 22.5
    today = r.loc["p0", "today_price"]
    assert today == pytest.approx(22.5)
    assert r.loc["p0", "gain_mean"] == pytest.approx((15 / today) ** (1 - 2) - 1)
    assert r.loc["p1", "gain_mean"] == pytest.approx((30 / today) ** (1 - 0.5) - 1)
    assert r.loc["p0", "prob_gain"] == 1.0


def test_search_is_bounded_by_max_change():
    # today 22.5; +/- 20 % -> 18 .. 27 inside the observed 15 .. 30
    r = el.optimal_prices(_fake_fit([-2.0, -0.5]), objective="revenue", max_change=0.2).set_index(
        "group"
    )
    assert (
        r.loc["p0", "recommended_price"] == pytest.approx(18.0) and r.loc["p0", "at_edge"] == "low"
    )
    assert (
        r.loc["p1", "recommended_price"] == pytest.approx(27.0) and r.loc["p1", "at_edge"] == "high"
    )
    assert r.loc["p0", "search_min"] == pytest.approx(18.0) and r.loc[
        "p0", "search_max"
    ] == pytest.approx(27.0)
    # +/- 60 % reaches past the observed range: the observed range bounds it
    wide = el.optimal_prices(_fake_fit([-2.0]), objective="revenue", max_change=0.6).iloc[0]
    assert wide["recommended_price"] == pytest.approx(15.0)
    with pytest.raises(ValueError, match="max_change must be > 0"):
        el.optimal_prices(_fake_fit([-2.0]), max_change=-0.1)


def test_today_override_and_price_range():
    fit = _fake_fit([-2.0])
    r = el.optimal_prices(
        fit,
        objective="revenue",
        today=pd.DataFrame({"product": ["p0"], "today_price": [20.0]}),
        price_range=(0.9, 1.1),
    ).iloc[0]
    assert r["today_price"] == 20.0
    assert r["recommended_price"] == pytest.approx(18.0)
    with pytest.raises(ValueError, match=r"today has no price > 0 for group\(s\) \['p0'\]"):
        el.optimal_prices(fit, today=pd.DataFrame({"product": ["zz"], "today_price": [20.0]}))
    with pytest.raises(
        ValueError, match="objective must be 'auto', 'revenue' or 'profit', got 'margin'"
    ):
        el.optimal_prices(fit, objective="margin")
    with pytest.raises(ValueError, match="price_range must be"):
        el.optimal_prices(fit, price_range=(1.2, 0.8))


def test_demand_curve_golden():
    # units at price p = exp(log 100 + e log(p / ref) + sigma^2 / 2); ref = geometric mean price
    fit = _fake_fit([-2.0], sigma=0.2)
    c = el.demand_curves(fit, points=5)
    ref = fit.data.groups.loc[0, "ref_price"]
    expected = 100 * (c["price"] / ref) ** -2.0 * np.exp(0.02)
    assert np.allclose(c["units_mean"], expected)
    assert np.allclose(c["revenue_mean"], expected * c["price"])
    assert np.allclose(c["profit_mean"], expected * (c["price"] - 10))


def test_coverage_of_truth():
    s = pd.DataFrame(
        {
            "product": ["a", "b"],
            "mean": [-2.0, -1.0],
            "hdi_3%": [-2.5, -1.2],
            "hdi_97%": [-1.5, -0.8],
        }
    )
    t = pd.DataFrame({"product": ["a", "b"], "elasticity": [-1.6, -1.3]})
    out = el.coverage_of_truth(s, t, on=["product"])
    assert out["covered"].tolist() == [True, False]
    assert out["error"].tolist() == pytest.approx([-0.4, 0.3])
    with pytest.raises(ValueError, match="truth covers 1 of 2 groups"):
        el.coverage_of_truth(s, t.iloc[:1], on=["product"])


# ----------------------------------------------------------------------------- recovery (slow)


@pytest.mark.slow
def test_sample_company_elasticities_inside_their_intervals():
    from revlib import bayes
    from revlib.data import load_tables

    obs = load_tables(SAMPLE, ["price_observations"])["price_observations"]
    truth = json.loads((SAMPLE / "ground_truth.json").read_text())["elasticity"]
    fit = el.fit_elasticity(
        obs, covariates=["promo"], seasonality=1, sampler=el.SAMPLER_FAST, seed=42
    )
    diag = bayes.diagnostics(fit.idata)
    assert diag["divergences"] == 0 and diag["max_r_hat"] <= 1.01, diag
    cov = el.coverage_of_truth(
        el.elasticity_summary(fit), pd.DataFrame(truth["groups"].values()), on=["product", "region"]
    )
    assert cov["covered"].mean() >= 0.9, cov[~cov["covered"]]
    pooled = el.pooled_elasticity(fit)
    assert pooled["lower"] <= truth["mean_elasticity_realised"] <= pooled["upper"]


@pytest.mark.slow
def test_dominicks_reproduces_published_brand_elasticities():
    from revlib.adapters import dominicks

    if not (REAL / dominicks.NAME).is_dir():
        pytest.skip("shared real data folder absent")
    obs = dominicks.dominicks_price_observations(REAL / dominicks.NAME)
    assert len(obs) == dominicks.ROWS
    fit = el.fit_elasticity(
        obs, group_cols=["product"], centered=True, sampler=el.SAMPLER_FAST, seed=1
    )
    s = el.elasticity_summary(fit).set_index("product")
    for brand, published in dominicks.PUBLISHED["by_brand"].items():
        assert s.loc[brand, "hdi_3%"] <= published <= s.loc[brand, "hdi_97%"], (
            brand,
            s.loc[brand].to_dict(),
        )
        assert s.loc[brand, "mean"] == pytest.approx(published, abs=0.03)


def test_plots_draw_one_panel_per_group():
    import matplotlib

    matplotlib.use("Agg")
    from revlib.pricing import plots

    fit = _fake_fit([-2.0, -0.5, -1.5], sigma=0.1)
    recs = el.optimal_prices(fit)
    curves = el.demand_curves(fit, points=9)
    fig = plots.plot_curves(curves, recs, measure="profit", ncols=2)
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in panels] == ["p0", "p1", "p2"]
    assert all(len(ax.lines) == 3 for ax in panels)  # mean curve, today, recommended
    summary = pd.DataFrame(
        {
            "group": ["p0", "p1"],
            "mean": [-2.0, -0.5],
            "hdi_3%": [-2.2, -0.7],
            "hdi_97%": [-1.8, -0.3],
        }
    )
    forest = plots.plot_forest(summary.set_index("group", drop=False), pooled=-1.25)
    assert [t.get_text() for t in forest.axes[0].get_yticklabels()] == [
        "p1",
        "p0",
    ]  # most negative on top
    with pytest.raises(ValueError, match="measure must be 'units', 'revenue' or 'profit'"):
        plots.plot_curves(curves, recs, measure="margin")
