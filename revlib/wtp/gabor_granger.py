"""Gabor-Granger: demand and revenue curves by segment from yes/no answers at shown prices,
with a Bayesian willingness-to-pay model partially pooled across segments.

Each respondent answers at several prices, so their answers are not independent: a binomial
model of the yes-counts per price treats 7 answers x 120 people as 840 people and its
intervals are too narrow. Instead each respondent gives one interval-censored observation of
their willingness to pay: with ``k`` "yes" answers over the prices shown, sorted
``p_1 < ... < p_K``, WTP lies in ``[p_k, p_(k+1))`` (``p_0 = 0``, ``p_(K+1) = inf``; for
monotone answers this is exact, otherwise the yes-count is the summary used).

Model: log WTP of a respondent of segment s ~ Normal(log(ref_s) + m_s, sigma_s) (``ref_s``:
geometric mean of the prices shown to the segment; sigma_s includes answer noise), so the
segment's demand (share who would buy at p, 0..1) is ``Phi((log(ref_s) + m_s - log p) /
sigma_s)``. Partial pooling: ``m_s = mu_m + tau_m * z_s``, ``log sigma_s = mu_s + tau_s *
y_s`` (z, y ~ Normal(0, 1)); priors ``mu_m ~ N(0, 1)``, ``tau_m ~ HalfNormal(0.5)``,
``mu_s ~ N(log 0.5, 0.5)``, ``tau_s ~ HalfNormal(0.3)``. Revenue per respondent is p x demand;
its maximiser is found per posterior draw on a fine log grid over the segment's shown prices
(so it is clipped to that range). Intervals are equal-tailed posterior quantiles.

Survey weights (optional ``weight`` column of ``wtp_responses``): a weighted pseudo-likelihood,
each respondent's log-likelihood term multiplied by their weight scaled so that a segment's
weights sum to its Kish effective sample size ``(sum w)^2 / sum w^2``. The estimates follow
the weighted population, and the intervals widen with the weights' unevenness (equal
weights change nothing). Observed shares (:func:`aggregate`) are weighted the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from revlib import bayes

SAMPLER: dict[str, Any] = {"draws": 1000, "tune": 1000, "chains": 4}
SAMPLER_FAST: dict[str, Any] = {"draws": 500, "tune": 500, "chains": 2}
PARAMS = ("mu_m", "tau_m", "mu_s", "tau_s", "m", "sigma")


def prepare(
    answers: pd.DataFrame,
    responses: pd.DataFrame,
    segment: str,
    *,
    weight: str | None = None,
    table: str = "gabor_granger",
) -> pd.DataFrame:
    """One row per answer with its ``segment`` (from ``responses``), ``buy`` (bool) and
    ``weight`` (the respondent's survey weight from ``responses[weight]``; 1 without one).
    Answers of respondents missing from ``responses`` raise a ValueError naming them, as do
    missing or non-positive weights."""
    for c in ("respondent_id", "price", "would_buy"):
        if c not in answers.columns:
            raise ValueError(f"{table}: missing column {c!r}")
    if segment not in responses.columns:
        raise ValueError(f"wtp_responses: segment column {segment!r} not found")
    by_id = responses.set_index("respondent_id")
    s = answers["respondent_id"].map(by_id[segment])
    if s.isna().any():
        ids = list(answers.loc[s.isna(), "respondent_id"].unique()[:5])
        raise ValueError(f"{table}: respondent_id(s) without a {segment} in wtp_responses: {ids}")
    w = pd.Series(1.0, index=answers.index)
    if weight is not None:
        if weight not in responses.columns:
            raise ValueError(f"wtp_responses: weight column {weight!r} not found")
        w = answers["respondent_id"].map(pd.to_numeric(by_id[weight], errors="coerce"))
        bad = answers.loc[~(w > 0), "respondent_id"].unique()
        if len(bad):
            raise ValueError(
                f"wtp_responses.{weight}: weights must be numbers > 0; respondent_id(s) "
                f"{list(bad[:5])}"
            )
    return answers.assign(
        segment=s.astype(str), buy=answers["would_buy"].astype(bool), weight=w.astype(float)
    )


def aggregate(long: pd.DataFrame) -> pd.DataFrame:
    """Shown (``n``) and would-buy (``k``) counts and ``share`` per segment x price; ``share``
    is weighted by the respondents' ``weight`` when :func:`prepare` attached one (the share of
    weight that would buy, 0..1)."""
    w = long["weight"] if "weight" in long.columns else pd.Series(1.0, index=long.index)
    g = long.assign(_w=w, _wb=w * long["buy"]).groupby(["segment", "price"], sort=True)
    out = g.agg(n=("buy", "size"), k=("buy", "sum"), _w=("_w", "sum"), _wb=("_wb", "sum"))
    out["share"] = out["_wb"] / out["_w"]
    return out.drop(columns=["_w", "_wb"]).reset_index()


def intervals(long: pd.DataFrame) -> pd.DataFrame:
    """Per respondent: ``segment``, yes-count ``k``, the WTP interval [``lower``, ``upper``)
    (price units; 0 and inf at the ends) from their sorted shown prices, and ``weight`` (the
    survey weight scaled to the segment's Kish effective sample size; 1 without weights)."""
    rows = []
    for (rid, seg), g in long.sort_values("price").groupby(["respondent_id", "segment"]):
        prices = g["price"].to_numpy(float)
        k = int(g["buy"].sum())
        rows.append(
            {
                "respondent_id": rid,
                "segment": seg,
                "k": k,
                "lower": prices[k - 1] if k > 0 else 0.0,
                "upper": prices[k] if k < len(prices) else np.inf,
                "weight": float(g["weight"].iloc[0]) if "weight" in g.columns else 1.0,
            }
        )
    out = pd.DataFrame(rows)
    w = out.groupby("segment")["weight"]
    n_eff = w.transform("sum") ** 2 / w.transform(lambda x: (x**2).sum())
    out["weight"] = out["weight"] * n_eff / w.transform("sum")
    return out


def build_model(long: pd.DataFrame):
    """The PyMC model of the module docstring for :func:`prepare`'s output."""
    import pymc as pm

    segs = sorted(long["segment"].unique())
    ref = long.groupby("segment")["price"].apply(lambda p: float(np.exp(np.log(p).mean())))
    cells = (
        intervals(long).groupby(["segment", "lower", "upper"])["weight"].sum().rename("n")
    ).reset_index()
    si = cells["segment"].map({s: i for i, s in enumerate(segs)}).to_numpy()
    r = cells["segment"].map(ref).to_numpy()
    with np.errstate(divide="ignore"):
        lo = np.log(cells["lower"].to_numpy() / r)
        hi = np.log(cells["upper"].to_numpy() / r)
    lo_c, hi_c = np.clip(lo, -50, 50), np.clip(hi, -50, 50)  # finite stand-ins for -inf / inf
    with pm.Model(coords={"segment": segs}) as model:
        mu_m = pm.Normal("mu_m", 0, 1)
        tau_m = pm.HalfNormal("tau_m", 0.5)
        mu_s = pm.Normal("mu_s", np.log(0.5), 0.5)
        tau_s = pm.HalfNormal("tau_s", 0.3)
        m = pm.Deterministic(
            "m", mu_m + tau_m * pm.Normal("m_z", 0, 1, dims="segment"), dims="segment"
        )
        sigma = pm.Deterministic(
            "sigma",
            pm.math.exp(mu_s + tau_s * pm.Normal("s_z", 0, 1, dims="segment")),
            dims="segment",
        )

        def cdf(x):
            return 0.5 * (1 + pm.math.erf((x - m[si]) / (sigma[si] * np.sqrt(2))))

        prob = pm.math.maximum(cdf(hi_c) - cdf(lo_c), 1e-12)
        pm.Potential("loglik", (cells["n"].to_numpy() * pm.math.log(prob)).sum())
    model.ref_price = ref.reindex(segs).to_numpy()
    return model


def fit(
    long: pd.DataFrame, *, sampler: Mapping[str, Any] | None = None, seed: int = 0
) -> tuple[Any, np.ndarray]:
    """Sample the model (via :func:`revlib.bayes.sample`); returns (idata, ref prices by
    segment in sorted segment order)."""
    model = build_model(long)
    idata = bayes.sample(model, seed=seed, **bayes.sampler_config(**dict(sampler or SAMPLER)))
    return idata, model.ref_price


def _draws(idata, name: str) -> np.ndarray:
    v = idata.posterior[name]
    dims = ("chain", "draw")
    if "segment" not in v.dims:
        return v.stack(sample=dims).to_numpy()[:, None]
    return v.stack(sample=dims).transpose("sample", "segment").to_numpy()


def demand_draws(idata, ref: np.ndarray, j: int, grid: np.ndarray) -> np.ndarray:
    """(draws, len(grid)) posterior demand (share who would buy) of segment ``j``."""
    m, sig = _draws(idata, "m")[:, j], _draws(idata, "sigma")[:, j]
    return special.ndtr((np.log(ref[j]) + m[:, None] - np.log(grid)[None, :]) / sig[:, None])


def curves(
    idata, ref: np.ndarray, agg: pd.DataFrame, *, points: int = 60, prob: float = 0.9
) -> pd.DataFrame:
    """Posterior demand (0..1) and revenue per respondent (price units) on a grid over each
    segment's shown prices: mean and equal-tailed ``prob`` interval."""
    segs = list(idata.posterior["segment"].values)
    q = (1 - prob) / 2
    parts = []
    for j, s in enumerate(segs):
        shown = agg.loc[agg["segment"] == s, "price"]
        grid = np.geomspace(shown.min(), shown.max(), points)
        p = demand_draws(idata, ref, j, grid)
        r = p * grid
        parts.append(
            pd.DataFrame(
                {
                    "segment": s,
                    "price": grid,
                    "demand": p.mean(0),
                    "demand_lower": np.quantile(p, q, 0),
                    "demand_upper": np.quantile(p, 1 - q, 0),
                    "revenue": r.mean(0),
                    "revenue_lower": np.quantile(r, q, 0),
                    "revenue_upper": np.quantile(r, 1 - q, 0),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def optimal_prices(
    idata, ref: np.ndarray, agg: pd.DataFrame, *, prob: float = 0.9, points: int = 800
) -> pd.DataFrame:
    """Per segment: the revenue-maximising price (posterior median and 90 % interval, price
    units), at_edge (share of posterior draws whose optimum is at the lowest or highest price
    shown) and the segment's median stated willingness to pay (median_wtp) with its interval.

    ``prob`` sets the interval (equal-tailed); median_wtp = ref_s x exp(m_s)."""
    segs = list(idata.posterior["segment"].values)
    q = (1 - prob) / 2
    rows = []
    for j, s in enumerate(segs):
        shown = agg.loc[agg["segment"] == s, "price"]
        lo, hi = float(shown.min()), float(shown.max())
        grid = np.geomspace(lo, hi, points)
        best = grid[np.argmax(demand_draws(idata, ref, j, grid) * grid, axis=1)]
        wtp = ref[j] * np.exp(_draws(idata, "m")[:, j])
        rows.append(
            {
                "segment": s,
                "revenue_max_price": float(np.median(best)),
                "lower": float(np.quantile(best, q)),
                "upper": float(np.quantile(best, 1 - q)),
                "at_edge": float(((best <= grid[0]) | (best >= grid[-1])).mean()),
                "median_wtp": float(np.median(wtp)),
                "median_wtp_lower": float(np.quantile(wtp, q)),
                "median_wtp_upper": float(np.quantile(wtp, 1 - q)),
            }
        )
    return pd.DataFrame(rows)
