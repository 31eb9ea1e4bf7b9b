"""Hierarchical Bayesian log-log demand model: price elasticity per group and optimal prices.

Model, for observation ``i`` of group ``g`` (a combination of the group columns, e.g.
product x region)::

    log(units_i) ~ Normal(mu_i, sigma_g)
    mu_i = alpha_g + beta_g * log(price_i / ref_price_g) + covariates_i @ gamma
           + seasonality(period_i) + fixed_effects_i

``beta_g`` is the price elasticity of demand of group ``g`` (% change in units per 1 % change
in price), partially pooled: ``beta_g = elasticity_mu + offset_g`` with zero-sum normal offsets
of scale ``elasticity_sd``, so that ``elasticity_mu`` is the mean elasticity over the groups
(and is not traded off against the offsets, which mixes better). With ``nested=True`` the pooling
follows the group columns outermost first: with ``["product", "region"]`` each product's
elasticity is drawn around the pooled mean and each product x region cell around its product
(cell offsets Normal). ``alpha_g`` are group fixed effects (log demand at ``ref_price_g``, the
group's geometric mean price, which leaves little posterior correlation with ``beta_g``).
Priors are weakly informative: the pooled elasticity ~ Normal(-1.5, 1) keeps it in the
plausible -4 .. +0.5 range a priori, the spread ~ HalfNormal(0.5); intercept and noise scales
follow the data's spread of log units (as rstanarm's autoscaling does). Every prior is a key
of :data:`PRIORS`. Optional terms: covariates (e.g. promo), yearly Fourier seasonality and
zero-sum fixed effects of extra columns (e.g. store).

Parameterisation: non-centred (``offset = elasticity_sd * z``, ``z`` standard) suits groups
the data say little about; centred (``offset ~ ZeroSumNormal(elasticity_sd)``) suits groups the
data pin down, where the non-centred form mixes the pooling sd slowly and can diverge
(Betancourt & Girolami 2015). ``centered=None`` (default) chooses per data set: centred when
every group's own least-squares elasticity has a standard error below the prior scale of the
spread (``elasticity_level_sd``), i.e. the data outweigh the prior; non-centred otherwise.
docs/pricing.md has the measurements (sample company and Dominick's: centred, 3-4x the ESS
per second and no divergences).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from revlib.data.frames import column_problem

PRIORS: dict[str, float] = {
    "elasticity_mu": -1.5,  # prior mean of the pooled elasticity
    "elasticity_sd": 1.0,  # prior sd of the pooled elasticity
    "elasticity_level_sd": 0.5,  # HalfNormal scale of the spread of elasticities at each level
    "intercept_sd": 2.0,  # prior sd of each group's intercept, in sd of log units
    "covariate_sd": 1.0,  # prior sd of each covariate coefficient (log-units per unit)
    "season_sd": 0.5,  # prior sd of each Fourier coefficient (log units)
    "fixed_effect_sd": 1.0,  # prior sd of fixed-effect levels (zero-sum, log units)
    "noise_sd": 1.0,  # HalfNormal scale of the residual sd, in sd of log units
}
# Sampler settings (overrides of revlib.bayes.sampler_config). Sampling takes seconds once
# nutpie has compiled the model; more draws in fast mode keep the ESS of the pooling sd >= 400.
SAMPLER: dict[str, Any] = {"draws": 1500, "tune": 1000, "chains": 4}
SAMPLER_FAST: dict[str, Any] = {"draws": 2500, "tune": 1000, "chains": 2}
DAYS_PER_YEAR = 365.25
TODAY_PERIODS = 13  # today's price: median regular price of each group's last 13 periods
GROUP_SEP = " · "


@dataclass(frozen=True)
class DemandData:
    """Observations prepared for the model, and one row per group.

    ``frame``: the rows used (units > 0) with ``group_idx``, ``x`` (log price relative to the
    group's reference price) and ``y`` (log units). ``groups``: group columns, ``group``
    (label), ``ref_price``, ``today_price`` (see :func:`_today`), ``unit_cost`` (latest,
    NaN when absent), ``price_min``, ``price_max``
    and ``n_obs``. ``levels``: per pooling level, the integer code of each group.
    """

    frame: pd.DataFrame
    groups: pd.DataFrame
    group_cols: tuple[str, ...]
    covariates: tuple[str, ...]
    fixed_effects: tuple[str, ...]
    seasonality: int
    centered: bool
    slope_se: np.ndarray
    levels: tuple[tuple[str, np.ndarray, tuple[str, ...]], ...]
    dropped_zero_units: int
    config: dict[str, float] = field(default_factory=dict)


@dataclass
class ElasticityFit:
    """A fitted demand model: the PyMC model, its posterior and the data it was fitted on."""

    model: Any
    idata: Any
    data: DemandData


# ----------------------------------------------------------------------------- data


def _label(frame: pd.DataFrame, cols: Sequence[str]) -> pd.Series:
    parts = [frame[c].astype(str) for c in cols]
    out = parts[0]
    for p in parts[1:]:
        out = out + GROUP_SEP + p
    return out


def prepare_demand_data(
    observations: pd.DataFrame,
    *,
    group_cols: Sequence[str] = ("product", "region"),
    covariates: Sequence[str] = (),
    fixed_effects: Sequence[str] = (),
    seasonality: int = 0,
    nested: bool = False,
    centered: bool | None = None,
    priors: Mapping[str, float] | None = None,
) -> DemandData:
    """Check and prepare ``price_observations`` for :func:`build_demand_model`.

    Rows with ``units == 0`` have no log and are dropped (counted in ``dropped_zero_units``).
    ``seasonality`` is the number of yearly Fourier pairs built from ``period`` (0 = none);
    ``nested`` pools along the group columns level by level; ``centered`` samples the group
    offsets directly instead of standardised ones, None chooses from the data (see the module
    doc). Raises ``ValueError`` listing every problem (missing columns, bad values, unknown priors).
    """
    group_cols, covariates, fixed_effects = (
        tuple(group_cols),
        tuple(covariates),
        tuple(fixed_effects),
    )
    problems = []
    if not group_cols:
        problems.append("group_cols must name at least one column, got none")
    needed = ["price", "units", *group_cols, *covariates, *fixed_effects]
    if seasonality:
        needed.append("period")
    if problem := column_problem(observations, "price_observations", needed):
        problems.append(problem)
    if not isinstance(seasonality, (int, np.integer)) or seasonality < 0:
        problems.append(
            f"seasonality must be a whole number >= 0 (Fourier pairs), got {seasonality!r}"
        )
    unknown = sorted(set(priors or {}) - set(PRIORS))
    if unknown:
        problems.append(f"unknown prior(s) {unknown}; allowed: {sorted(PRIORS)}")
    if not problems:
        price = observations["price"].astype(float)
        units = observations["units"].astype(float)
        if not (price > 0).all():
            problems.append(f"price must be > 0; {int((~(price > 0)).sum())} row(s) are not")
        if not (units >= 0).all():
            problems.append(f"units must be >= 0; {int((~(units >= 0)).sum())} row(s) are not")
        for c in (*group_cols, *fixed_effects, *covariates):
            if observations[c].isna().any():
                problems.append(
                    f"column {c!r} has {int(observations[c].isna().sum())} empty value(s)"
                )
    if problems:
        raise ValueError("cannot fit the demand model: " + "; ".join(problems))

    df = observations.copy()
    keep = df["units"].astype(float) > 0
    dropped = int((~keep).sum())
    df = df.loc[keep].reset_index(drop=True)
    if df.empty:
        raise ValueError("cannot fit the demand model: no rows with units > 0")
    for c in (*group_cols, *fixed_effects):
        df[c] = df[c].astype(str)
    df["log_price"] = np.log(df["price"].astype(float))
    df["y"] = np.log(df["units"].astype(float))

    groups = (
        df.groupby(list(group_cols), sort=True)
        .agg(
            ref_log_price=("log_price", "mean"),
            price_min=("price", "min"),
            price_max=("price", "max"),
            n_obs=("y", "size"),
        )
        .reset_index()
    )
    groups["group"] = _label(groups, group_cols)
    groups["group_idx"] = np.arange(len(groups))
    df = df.merge(
        groups[[*group_cols, "group_idx", "ref_log_price"]], on=list(group_cols), how="left"
    )
    df["x"] = df["log_price"] - df["ref_log_price"]
    groups["ref_price"] = np.exp(groups["ref_log_price"])
    groups = groups.drop(columns="ref_log_price")
    groups = groups.merge(_today(observations, group_cols), on=list(group_cols), how="left")

    levels = []
    for k in range(len(group_cols)) if nested else [len(group_cols) - 1]:
        cols = group_cols[: k + 1]
        labels = _label(groups, cols)
        names = tuple(sorted(labels.unique()))
        codes = labels.map({n: i for i, n in enumerate(names)}).to_numpy()
        levels.append(("_".join(cols), codes, names))
    config = PRIORS | dict(priors or {})
    se = _slope_se(df, len(groups))
    return DemandData(
        frame=df,
        groups=groups,
        group_cols=group_cols,
        covariates=covariates,
        fixed_effects=fixed_effects,
        seasonality=int(seasonality),
        centered=bool(se.max() < config["elasticity_level_sd"])
        if centered is None
        else bool(centered),
        slope_se=se,
        levels=tuple(levels),
        dropped_zero_units=dropped,
        config=config,
    )


def _slope_se(df: pd.DataFrame, n_groups: int) -> np.ndarray:
    """Standard error of each group's own least-squares slope of log units on log price
    (infinite when the price never moved or there are fewer than three rows)."""
    out = np.full(n_groups, np.inf)
    for gi, g in df.groupby("group_idx"):
        x = g["x"].to_numpy() - g["x"].mean()
        sxx = float((x**2).sum())
        if len(g) < 3 or sxx <= 0:
            continue
        slope = float((x * g["y"].to_numpy()).sum() / sxx)
        resid = g["y"].to_numpy() - g["y"].mean() - slope * x
        out[int(gi)] = float(np.sqrt((resid**2).sum() / (len(g) - 2) / sxx))
    return out


def _today(observations: pd.DataFrame, group_cols: Sequence[str]) -> pd.DataFrame:
    """Each group's price today and its unit cost.

    ``today_price``: the median non-promoted price of the group's last 13 periods (all rows
    when there is no ``promo`` column): the regular price, robust to a promotion or a test
    block in the last week. ``unit_cost``: the mean of the latest period's costs.
    """
    df = observations.copy()
    for c in group_cols:
        df[c] = df[c].astype(str)
    regular = df[df["promo"].fillna(0) == 0] if "promo" in df.columns else df
    regular = regular if not regular.empty else df
    if "period" in regular.columns:
        periods = regular.groupby(list(group_cols))["period"].rank(method="dense", ascending=False)
        regular = regular[periods <= TODAY_PERIODS]
    out = (
        regular.groupby(list(group_cols), sort=True)["price"]
        .median()
        .rename("today_price")
        .reset_index()
    )
    if "unit_cost" in df.columns and df["unit_cost"].notna().any():
        known = df.dropna(subset=["unit_cost"])
        if "period" in known.columns:
            known = known[
                known["period"] == known.groupby(list(group_cols))["period"].transform("max")
            ]
        cost = known.groupby(list(group_cols))["unit_cost"].mean().rename("unit_cost").reset_index()
        out = out.merge(cost, on=list(group_cols), how="left")
    else:
        out["unit_cost"] = np.nan
    return out


def _fourier(period: pd.Series, order: int) -> np.ndarray:
    t = (pd.to_datetime(period) - pd.Timestamp("2000-01-01")).dt.days.to_numpy() / DAYS_PER_YEAR
    cols = []
    for k in range(1, order + 1):
        cols += [np.sin(2 * np.pi * k * t), np.cos(2 * np.pi * k * t)]
    return np.column_stack(cols)


# ----------------------------------------------------------------------------- model


def build_demand_model(data: DemandData):
    """The PyMC model of :mod:`this module's docstring <revlib.pricing.elasticity>`.

    Named variables: ``elasticity`` (dim ``group``), ``elasticity_mu``, ``elasticity_sd_<level>``,
    ``intercept`` (``group``), ``sigma`` (``group``), ``gamma`` (``covariate``),
    ``season`` (``fourier``), ``fe_<column>``; observed ``log_units``.
    """
    import pymc as pm
    import pytensor.tensor as pt

    cfg = data.config
    df = data.frame
    y = df["y"].to_numpy()
    y_mean, y_sd = float(y.mean()), float(max(y.std(), 1e-3))
    coords: dict[str, Any] = {"group": list(data.groups["group"]), "obs": np.arange(len(df))}
    for name, _, names in data.levels[:-1]:
        coords[name] = list(names)
    if data.covariates:
        coords["covariate"] = list(data.covariates)
    if data.seasonality:
        coords["fourier"] = [
            f"{f}_{k}" for k in range(1, data.seasonality + 1) for f in ("sin", "cos")
        ]
    fe_codes = {}
    for c in data.fixed_effects:
        cats = pd.Categorical(df[c])
        coords[f"fe_{c}_level"] = list(cats.categories)
        fe_codes[c] = cats.codes

    with pm.Model(coords=coords) as model:
        g = pm.Data("group_idx", df["group_idx"].to_numpy(), dims="obs")
        x = pm.Data("x", df["x"].to_numpy(), dims="obs")

        mu_b = pm.Normal("elasticity_mu", cfg["elasticity_mu"], cfg["elasticity_sd"])
        beta = mu_b * pt.ones(len(data.groups))
        for k, (name, codes, names) in enumerate(data.levels):
            if len(names) < 2:
                continue  # one group: nothing to pool
            dim = "group" if k == len(data.levels) - 1 else name  # the last level is the group
            s_b = pm.HalfNormal(f"elasticity_sd_{name}", cfg["elasticity_level_sd"])
            # Outermost level sums to zero, so elasticity_mu is the mean over its groups (and
            # is not traded off against the offsets: better mixing); inner levels are Normal.
            z_dist = pm.ZeroSumNormal if k == 0 else pm.Normal
            if data.centered:  # the offsets themselves are sampled: better when data are strong
                off = z_dist(f"elasticity_offset_{name}", sigma=s_b, dims=dim)
            else:  # non-centred: offset = sd x z, z standard
                off = s_b * z_dist(f"elasticity_z_{name}", sigma=1.0, dims=dim)
            beta = beta + (off if dim == "group" else off[codes])
        beta = pm.Deterministic("elasticity", beta, dims="group")
        # Group fixed effects: log demand at the reference price, one per group (not pooled:
        # groups differ in size by design and every group has its own data).
        z_a = pm.Normal("intercept_z", 0.0, 1.0, dims="group")
        alpha = pm.Deterministic(
            "intercept", y_mean + cfg["intercept_sd"] * y_sd * z_a, dims="group"
        )
        sigma = pm.HalfNormal("sigma", cfg["noise_sd"] * y_sd, dims="group")

        mu = alpha[g] + beta[g] * x
        if data.covariates:
            X = pm.Data(
                "covariates",
                df[list(data.covariates)].to_numpy(dtype=float),
                dims=("obs", "covariate"),
            )
            gamma = pm.Normal("gamma", 0.0, cfg["covariate_sd"], dims="covariate")
            mu = mu + (X * gamma).sum(axis=1)  # elementwise: numba matmul is slow on tall data
        if data.seasonality:
            F = pm.Data(
                "fourier_terms", _fourier(df["period"], data.seasonality), dims=("obs", "fourier")
            )
            season = pm.Normal("season", 0.0, cfg["season_sd"], dims="fourier")
            mu = mu + (F * season).sum(axis=1)
        for c, codes in fe_codes.items():
            fe = pm.ZeroSumNormal(f"fe_{c}", sigma=cfg["fixed_effect_sd"], dims=f"fe_{c}_level")
            mu = mu + fe[codes]
        pm.Normal("log_units", mu=mu, sigma=sigma[g], observed=y, dims="obs")
    return model


def fit_elasticity(
    observations: pd.DataFrame,
    *,
    group_cols: Sequence[str] = ("product", "region"),
    covariates: Sequence[str] = (),
    fixed_effects: Sequence[str] = (),
    seasonality: int = 0,
    nested: bool = False,
    centered: bool | None = None,
    priors: Mapping[str, float] | None = None,
    sampler: Mapping[str, Any] | None = None,
    seed: int = 0,
) -> ElasticityFit:
    """Prepare, build and sample the demand model (via :func:`revlib.bayes.sample`).

    ``sampler``: overrides of :func:`revlib.bayes.sampler_config` (draws, tune, chains,
    target_accept, sampler="auto"|"nutpie"|"pymc"). The model configuration is stored in
    ``idata.attrs["model_config"]`` (JSON) beside the sampler's own attributes.
    """
    from revlib import bayes

    data = prepare_demand_data(
        observations,
        group_cols=group_cols,
        covariates=covariates,
        fixed_effects=fixed_effects,
        seasonality=seasonality,
        nested=nested,
        centered=centered,
        priors=priors,
    )
    model = build_demand_model(data)
    settings = bayes.sampler_config(**dict(sampler or {}))
    idata = bayes.sample(model, seed=seed, **settings)
    idata.attrs["model_config"] = json.dumps(
        {
            "group_cols": list(data.group_cols),
            "covariates": list(data.covariates),
            "fixed_effects": list(data.fixed_effects),
            "seasonality": data.seasonality,
            "nested": nested,
            "centered": data.centered,
            "centered_requested": centered,
            "max_slope_se": float(data.slope_se.max()),
            "priors": data.config,
            "rows": len(data.frame),
            "dropped_zero_units": data.dropped_zero_units,
        },
        sort_keys=True,
    )
    return ElasticityFit(model=model, idata=idata, data=data)


# ----------------------------------------------------------------------------- summaries


def elasticity_summary(fit: ElasticityFit, *, prob: float = 0.94) -> pd.DataFrame:
    """Posterior of each group's price elasticity (% change in units per 1 % price change).

    Columns: the group columns, ``group``, ``mean``, ``sd``, ``hdi_3%``, ``hdi_97%`` (the
    94 % highest-density interval; names follow ``prob``), ``r_hat``, ``ess_bulk``,
    ``ess_tail``, ``n_obs``.
    """
    import arviz as az

    s = az.summary(fit.idata, var_names=["elasticity"], hdi_prob=prob, round_to="none")
    s = s.drop(columns=[c for c in s.columns if c.startswith("mcse")])
    s.index = list(fit.data.groups["group"])
    out = fit.data.groups[[*fit.data.group_cols, "group", "n_obs"]].set_index("group", drop=False)
    return out.join(s).reset_index(drop=True)[[*fit.data.group_cols, "group", *s.columns, "n_obs"]]


def pooled_elasticity(fit: ElasticityFit, *, prob: float = 0.94) -> dict[str, float]:
    """Pooled price elasticity: the mean elasticity over the groups (the model's population
    mean), with its 94 % highest-density interval. % change in units per +1 % price.

    Returns mean, sd, lower and upper of ``elasticity_mu``.
    """
    from revlib.stats import hdi

    draws = fit.idata.posterior["elasticity_mu"].to_numpy().ravel()
    lo, hi = hdi(draws, prob)
    return {"mean": float(draws.mean()), "sd": float(draws.std(ddof=1)), "lower": lo, "upper": hi}


def posterior_predictive(fit: ElasticityFit, *, draws: int = 100, seed: int = 0):
    """Posterior predictive draws of ``log_units`` from ``draws`` evenly thinned posterior draws.

    Returns a copy of the InferenceData with ``posterior_predictive`` and ``observed_data``
    groups (for :func:`arviz.plot_ppc`).
    """
    import pymc as pm

    post = fit.idata.posterior
    step = max(
        post.sizes["chain"] * post.sizes["draw"] // max(draws, 1), 1
    )  # every step-th draw of each chain
    thin = fit.idata.sel(draw=slice(None, None, step), groups="posterior")
    with fit.model:
        ppc = pm.sample_posterior_predictive(
            thin, random_seed=seed, progressbar=False, var_names=["log_units"]
        )
    return ppc


def _draws(fit: ElasticityFit, name: str) -> np.ndarray:
    """(n_draws, n_groups) array of a group-dimensioned posterior variable."""
    da = fit.idata.posterior[name]
    return da.stack(sample=("chain", "draw")).transpose("sample", "group").to_numpy()


def demand_curves(
    fit: ElasticityFit,
    *,
    points: int = 41,
    price_range: tuple[float, float] | None = None,
    today: pd.DataFrame | None = None,
    prob: float = 0.94,
) -> pd.DataFrame:
    """Expected units, revenue and profit per period at each price of a grid, per group.

    Expected units at price ``p`` (no promotion, average season and fixed effect):
    ``exp(alpha_g + beta_g * log(p / ref_price_g) + sigma_g^2 / 2)`` (the log-normal mean).
    Revenue = ``p * units``; profit = ``(p - unit_cost) * units`` (NaN without a unit cost).
    The grid spans the group's observed price range, or ``price_range`` x today's price.
    Columns: group columns, ``group``, ``price``, then ``units_*``, ``revenue_*``, ``profit_*``
    each as ``mean``, ``lower``, ``upper`` (central ``prob`` interval).
    """
    grids = _grid(fit, points=points, price_range=price_range, today=_today_prices(fit, today))
    curves = _outcomes(fit, grids)
    tail = (1 - prob) / 2
    rows = []
    for gi, grp in fit.data.groups.iterrows():
        block = pd.DataFrame(
            {**{c: grp[c] for c in (*fit.data.group_cols, "group")}, "price": grids[gi]}
        )
        for name, draws in curves.items():
            d = draws[:, gi, :]
            block[f"{name}_mean"] = d.mean(axis=0)
            block[f"{name}_lower"] = np.quantile(d, tail, axis=0)
            block[f"{name}_upper"] = np.quantile(d, 1 - tail, axis=0)
        rows.append(block)
    return pd.concat(rows, ignore_index=True)


def _today_prices(fit: ElasticityFit, today: pd.DataFrame | None) -> np.ndarray:
    """Today's price per group: from ``today`` (group columns + ``today_price``) or the data."""
    groups = fit.data.groups
    if today is None:
        return groups["today_price"].to_numpy(dtype=float)
    cols = list(fit.data.group_cols)
    missing = [c for c in [*cols, "today_price"] if c not in today.columns]
    if missing:
        raise ValueError(f"today needs columns {[*cols, 'today_price']}; missing {missing}")
    t = today[[*cols, "today_price"]].astype({c: str for c in cols})
    merged = groups[cols].merge(t, on=cols, how="left", validate="one_to_one")
    if merged["today_price"].isna().any() or not (merged["today_price"] > 0).all():
        bad = list(groups.loc[~(merged["today_price"] > 0).to_numpy(), "group"])
        raise ValueError(f"today has no price > 0 for group(s) {bad}")
    return merged["today_price"].to_numpy(dtype=float)


def _grid(
    fit: ElasticityFit, *, points: int, price_range: tuple[float, float] | None, today: np.ndarray
) -> np.ndarray:
    """(group, point) price grid: the observed range, or ``price_range`` x today's price."""
    groups = fit.data.groups
    if price_range is None:
        lo, hi = groups["price_min"].to_numpy(), groups["price_max"].to_numpy()
    else:
        if not 0 < price_range[0] < price_range[1]:
            raise ValueError(
                f"price_range must be (low, high) multipliers with 0 < low < high, got {price_range}"
            )
        lo, hi = today * price_range[0], today * price_range[1]
    return np.linspace(lo, hi, points, axis=1)


def _outcomes(fit: ElasticityFit, prices: np.ndarray) -> dict[str, np.ndarray]:
    """Expected units, revenue and profit, (draw, group, point), at ``prices`` (group, point)."""
    groups = fit.data.groups
    beta, alpha, sigma = (_draws(fit, n)[:, :, None] for n in ("elasticity", "intercept", "sigma"))
    log_rel = np.log(prices / groups["ref_price"].to_numpy()[:, None])[None]
    units = np.exp(alpha + beta * log_rel + 0.5 * sigma**2)
    cost = groups["unit_cost"].to_numpy(dtype=float)[:, None]
    return {
        "units": units,
        "revenue": units * prices[None],
        "profit": units * (prices - cost)[None],
    }


def optimal_prices(
    fit: ElasticityFit,
    *,
    objective: str = "auto",
    points: int = 201,
    max_change: float | None = 0.3,
    price_range: tuple[float, float] | None = None,
    today: pd.DataFrame | None = None,
    prob: float = 0.94,
) -> pd.DataFrame:
    """Revenue- or profit-optimal price per group, with its interval and the expected gain.

    ``objective``: "revenue", "profit" (needs ``unit_cost``) or "auto" (profit where the group
    has a unit cost, revenue otherwise). The recommended price maximises the posterior
    expected objective per period on a grid over the group's observed price range, narrowed
    to today's price +/- ``max_change`` (30 %: one step a pricing team would take; None for
    no limit), or over ``price_range`` x today's price. Outside the observed range the model
    extrapolates; and a constant elasticity has no interior revenue optimum (elastic demand
    always "wants" the lowest price), so the search is bounded. ``price_lower`` / ``price_upper``: central ``prob``
    interval of the per-draw optimal price. ``at_edge``: "low" / "high" when the optimum is at
    the edge of the range (the true optimum may lie beyond). ``model_optimum_*``: the
    unbounded profit optimum of a constant elasticity, ``unit_cost * e / (1 + e)`` per draw
    (median and interval; infinite when ``e >= -1``; NaN for revenue, which has no finite
    optimum under constant elasticity). ``gain_*``: relative change of the objective at the
    recommended price over today's price (ratio; 0.05 = +5 %); ``prob_gain``: P(gain > 0).
    ``today``: optional group columns + ``today_price`` (default: :func:`_today`).
    """
    if objective not in ("auto", "revenue", "profit"):
        raise ValueError(f"objective must be 'auto', 'revenue' or 'profit', got {objective!r}")
    groups = fit.data.groups
    has_cost = groups["unit_cost"].notna().to_numpy()
    if objective == "profit" and not has_cost.all():
        missing = list(groups.loc[~has_cost, "group"])
        raise ValueError(
            f"objective='profit' needs unit_cost for every group; missing for {missing}"
        )
    today = _today_prices(fit, today)
    grids = _grid(fit, points=points, price_range=price_range, today=today)
    if max_change is not None and price_range is None:
        if not 0 < max_change:
            raise ValueError(
                f"max_change must be > 0 (a share of today's price) or None, got {max_change!r}"
            )
        lo = np.maximum(grids[:, 0], today * (1 - max_change))
        hi = np.minimum(grids[:, -1], today * (1 + max_change))
        ok = lo < hi  # today's price far outside the observed range: keep the observed range
        grids = np.where(ok[:, None], np.linspace(lo, hi, points, axis=1), grids)
    curves = _outcomes(fit, grids)
    now = {k: v[:, :, 0] for k, v in _outcomes(fit, today[:, None]).items()}
    beta = _draws(fit, "elasticity")
    tail = (1 - prob) / 2
    rows = []
    for gi, grp in groups.iterrows():
        obj = (
            "profit"
            if objective == "profit" or (objective == "auto" and has_cost[gi])
            else "revenue"
        )
        d = curves[obj][:, gi, :]  # (draw, point)
        best = int(np.argmax(d.mean(axis=0)))
        per_draw = grids[gi][np.argmax(d, axis=1)]
        gain = d[:, best] / now[obj][:, gi] - 1
        if obj == "profit":
            e = beta[:, gi]
            unbounded = np.where(e < -1, grp["unit_cost"] * e / np.minimum(1 + e, -1e-12), np.inf)
            opt = np.quantile(unbounded, [0.5, tail, 1 - tail])
        else:
            opt = np.full(3, np.nan)
        rows.append(
            {
                **{c: grp[c] for c in (*fit.data.group_cols, "group")},
                "objective": obj,
                "today_price": today[gi],
                "unit_cost": grp["unit_cost"],
                "search_min": grids[gi][0],
                "search_max": grids[gi][-1],
                "recommended_price": grids[gi][best],
                "price_lower": float(np.quantile(per_draw, tail)),
                "price_upper": float(np.quantile(per_draw, 1 - tail)),
                "at_edge": "low" if best == 0 else "high" if best == len(grids[gi]) - 1 else "",
                "model_optimum": opt[0],
                "model_optimum_lower": opt[1],
                "model_optimum_upper": opt[2],
                "price_change": grids[gi][best] / today[gi] - 1,
                "objective_today": float(now[obj][:, gi].mean()),
                "objective_recommended": float(d[:, best].mean()),
                "gain_mean": float(gain.mean()),
                "gain_lower": float(np.quantile(gain, tail)),
                "gain_upper": float(np.quantile(gain, 1 - tail)),
                "prob_gain": float((gain > 0).mean()),
            }
        )
    return pd.DataFrame(rows)


def lerner_price(elasticity: float, unit_cost: float) -> float:
    """Profit-optimal price of a constant-elasticity demand: ``cost * e / (1 + e)``.

    Defined for elastic demand (``e < -1``); NaN otherwise (profit keeps rising with price).
    """
    return float(unit_cost * elasticity / (1 + elasticity)) if elasticity < -1 else float("nan")


def coverage_of_truth(
    summary: pd.DataFrame, truth: pd.DataFrame, *, on: Sequence[str], value: str = "elasticity"
) -> pd.DataFrame:
    """Join true elasticities to the posterior summary; ``covered`` = truth inside the HDI.

    ``truth`` has the ``on`` columns and ``value``. Returns the joined rows with ``truth``,
    ``error`` (mean - truth) and ``covered``.
    """
    lo = next(c for c in summary.columns if c.startswith("hdi_") and float(c[4:-1]) < 50)
    hi = next(c for c in summary.columns if c.startswith("hdi_") and float(c[4:-1]) > 50)
    t = truth[[*on, value]].rename(columns={value: "truth"}).copy()
    for c in on:
        t[c] = t[c].astype(str)
    s = summary.copy()
    for c in on:
        s[c] = s[c].astype(str)
    out = s.merge(t, on=list(on), how="inner", validate="one_to_one")
    if len(out) != len(s):
        raise ValueError(
            f"truth covers {len(out)} of {len(s)} groups; check the columns {list(on)}"
        )
    out["error"] = out["mean"] - out["truth"]
    out["covered"] = (out["truth"] >= out[lo]) & (out["truth"] <= out[hi])
    return out
