"""ARR trajectory: a Bayesian model of the monthly MRR movement rates, simulated forward.

The monthly MRR bridge (``revlib.metrics.mrr_movements``) gives, for each month ``t``, the
opening MRR ``O_t`` and the flows new (+ reactivation) ``N_t``, expansion ``E_t``, contraction
``C_t`` and churn ``X_t``. The model (fitted on the last ``window`` months):

* expansion, contraction and churn are **rates on opening MRR**: ``E_t / O_t`` is log-normal
  with mean ``rate_expansion`` and month-to-month spread ``sigma_expansion`` (likewise
  contraction and churn), so a month's flow is ``rate x O_t`` on average;
* new MRR (new + reactivation) is an **amount** with a log-linear trend: ``log N_t ~ Normal(
  log_new + growth x years_t, sigma_new)``, ``years_t`` counted back from the last month, so
  ``exp(log_new)`` is the typical new MRR per month now and ``growth`` its log change per year.

Forward simulation draws, for each posterior draw and month, the four flows from the same
distributions and rolls MRR forward: ``MRR_{t+1} = MRR_t + N - C - X + E``. Scenario and risk
multipliers scale the flows. ARR = 12 x MRR, reporting currency per year.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from revlib.metrics import MOVEMENT_COLUMNS
from revlib.periods import month_start

RATES = ("expansion", "contraction", "churn")
FLOWS = ("new", *RATES)
ARR_PRIORS: dict[str, Any] = {
    "window": 24,  # months of history the rates are fitted on
    "rate_median": {
        "expansion": 0.02,
        "contraction": 0.01,
        "churn": 0.02,
    },  # prior medians, per month
    "rate_log_sd": 1.0,  # prior sd of log rate (x / 2.7 to x 2.7 at one sd)
    "sigma_scale": 0.5,  # HalfNormal scale of the month-to-month log spread
    "growth_sd": 0.5,  # prior sd of new-MRR growth, log per year (0.5 ~ +/- 65 %/yr)
    "floor": 1e-6,  # months with a zero flow count as this share of opening MRR (log needs > 0)
}
_BRIDGE = tuple(c for c in MOVEMENT_COLUMNS if c not in ("arr", "customers"))


def _priors(overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - set(ARR_PRIORS))
    if unknown:
        raise ValueError(f"unknown ARR model settings {unknown}; allowed: {sorted(ARR_PRIORS)}")
    cfg = ARR_PRIORS | overrides
    cfg["rate_median"] = ARR_PRIORS["rate_median"] | dict(overrides.get("rate_median", {}))
    return cfg


def rate_data(
    movements: pd.DataFrame, *, as_of=None, window: int = 24, floor: float = 1e-6
) -> pd.DataFrame:
    """The observed monthly movement rates the model is fitted on: the last ``window`` months up
    to ``as_of`` (a month) with opening MRR > 0. Columns: month, opening_mrr, new_mrr (new +
    reactivation, per month), expansion, contraction, churn (flow / opening MRR, ratios per
    month), years (months before the last one / 12, <= 0)."""
    missing = [c for c in _BRIDGE if c not in movements.columns]
    if missing:
        raise ValueError(
            f"movements must come from revlib.metrics.mrr_movements; missing columns {missing}"
        )
    if window < 3:
        raise ValueError(f"window must be >= 3 months, got {window}")
    m = movements.copy()
    m["month"] = pd.to_datetime(m["month"])
    if as_of is not None:
        m = m[m["month"] <= month_start(as_of)]
    m = m[m["opening_mrr"] > 0].tail(window)
    if len(m) < 3:
        raise ValueError(
            f"need at least 3 months with opening MRR > 0 to fit movement rates, got {len(m)}"
        )
    o = m["opening_mrr"].to_numpy(float)
    out = pd.DataFrame({"month": m["month"].to_numpy(), "opening_mrr": o})
    out["new_mrr"] = np.maximum((m["new_mrr"] + m["reactivation_mrr"]).to_numpy(float), floor * o)
    for name, col in zip(RATES, ("expansion_mrr", "contraction_mrr", "churned_mrr"), strict=True):
        out[name] = np.maximum(m[col].to_numpy(float) / o, floor)
    out["years"] = (np.arange(len(out)) - (len(out) - 1)) / 12.0
    return out


def build_arr_model(data: pd.DataFrame, *, priors: Mapping[str, Any] | None = None):
    """The PyMC model of :func:`rate_data` (see the module docstring). Free variables:
    log_rate (3: expansion, contraction, churn), sigma (3), log_new, growth, sigma_new;
    deterministic ``rate`` (the mean monthly rates) and ``new_now`` (typical new MRR per month)."""
    cfg = _priors(priors)
    import pymc as pm

    coords = {
        "movement": list(RATES),
        "month": [f"{m:%Y-%m}" for m in pd.to_datetime(data["month"])],
    }
    y = np.log(data[list(RATES)].to_numpy(float))
    log_new = np.log(data["new_mrr"].to_numpy(float))
    mu0 = np.log([cfg["rate_median"][r] for r in RATES])
    with pm.Model(coords=coords) as model:
        log_rate = pm.Normal("log_rate", mu=mu0, sigma=cfg["rate_log_sd"], dims="movement")
        sigma = pm.HalfNormal("sigma", sigma=cfg["sigma_scale"], dims="movement")
        # log-normal with mean exp(log_rate): its log has mean log_rate - sigma^2 / 2
        pm.Normal(
            "obs_rate",
            mu=log_rate - sigma**2 / 2,
            sigma=sigma,
            observed=y,
            dims=("month", "movement"),
        )
        pm.Deterministic("rate", pm.math.exp(log_rate), dims="movement")
        center = float(np.mean(log_new[-6:]))
        a = pm.Normal("log_new", mu=center, sigma=1.0)
        g = pm.Normal("growth", mu=0.0, sigma=cfg["growth_sd"])
        s_new = pm.HalfNormal("sigma_new", sigma=cfg["sigma_scale"])
        pm.Normal(
            "obs_new",
            mu=a + g * data["years"].to_numpy(float),
            sigma=s_new,
            observed=log_new,
            dims="month",
        )
        pm.Deterministic("new_now", pm.math.exp(a + s_new**2 / 2))
    model.revlib_config = cfg
    return model


@dataclass
class ArrPosterior:
    """Posterior draws of the movement model, flattened over chains: ``rate`` and ``sigma``
    (draws x 3, order expansion, contraction, churn), ``log_new``, ``growth``, ``sigma_new``
    (draws). ``start_mrr`` is MRR at the end of ``start_month`` (the as-of month)."""

    rate: np.ndarray
    sigma: np.ndarray
    log_new: np.ndarray
    growth: np.ndarray
    sigma_new: np.ndarray
    start_mrr: float
    start_month: pd.Timestamp
    attrs: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_idata(cls, idata, *, start_mrr: float, start_month) -> ArrPosterior:
        post = idata.posterior
        flat = post.stack(sample=("chain", "draw"))
        return cls(
            rate=flat["rate"].transpose("sample", "movement").to_numpy(),
            sigma=flat["sigma"].transpose("sample", "movement").to_numpy(),
            log_new=flat["log_new"].to_numpy(),
            growth=flat["growth"].to_numpy(),
            sigma_new=flat["sigma_new"].to_numpy(),
            start_mrr=float(start_mrr),
            start_month=month_start(start_month),
            attrs=dict(getattr(idata, "attrs", {})),
        )

    def __len__(self) -> int:
        return len(self.log_new)


def fit_arr_model(
    movements: pd.DataFrame,
    *,
    as_of=None,
    priors: Mapping[str, Any] | None = None,
    sampler: Mapping[str, Any] | None = None,
    seed: int = 0,
):
    """Fit the movement-rate model with ``revlib.bayes.sample``. Returns (idata, posterior,
    data): the InferenceData, an :class:`ArrPosterior` starting from the as-of month's closing
    MRR, and the :func:`rate_data` it was fitted on. ``sampler``: draws, tune, chains, ..."""
    from revlib import bayes

    cfg = _priors(priors)
    data = rate_data(movements, as_of=as_of, window=cfg["window"], floor=cfg["floor"])
    model = build_arr_model(data, priors=cfg)
    kw = {"draws": 1000, "tune": 1000, "chains": 4} | dict(sampler or {})
    with warnings.catch_warnings():  # pip-installed PyTensor without BLAS: slower, not wrong
        warnings.filterwarnings("ignore", message="PyTensor could not link to a BLAS")
        idata = bayes.sample(model, seed=seed, **kw)
    last = pd.Timestamp(data["month"].iloc[-1])
    mv = movements.assign(month=pd.to_datetime(movements["month"]))
    start_mrr = float(mv.loc[mv["month"] == last, "closing_mrr"].iloc[0])
    idata.attrs["priors"] = repr(cfg)
    post = ArrPosterior.from_idata(idata, start_mrr=start_mrr, start_month=last)
    return idata, post, data


def rate_summary(post: ArrPosterior, *, prob: float = 0.9) -> pd.DataFrame:
    """Posterior mean and central ``prob`` interval of the monthly movement rates (ratios of
    opening MRR per month) and of the typical new MRR per month now (currency per month) and
    its growth (log per year). Columns: parameter, mean, lower, upper."""
    tail = (1 - prob) / 2
    rows = []
    params = {f"{r}_rate": post.rate[:, i] for i, r in enumerate(RATES)}
    params["new_mrr_per_month"] = np.exp(post.log_new + post.sigma_new**2 / 2)
    params["new_growth_per_year"] = post.growth
    for name, x in params.items():
        lo, hi = np.quantile(x, [tail, 1 - tail])
        rows.append(
            {"parameter": name, "mean": float(x.mean()), "lower": float(lo), "upper": float(hi)}
        )
    return pd.DataFrame(rows)


def simulate_arr(
    post: ArrPosterior,
    *,
    months: int,
    n_paths: int | None = None,
    seed: int = 0,
    multipliers: Mapping[str, np.ndarray | float] | None = None,
    shocks: np.ndarray | None = None,
) -> np.ndarray:
    """Simulated MRR paths: array (paths, months + 1); column 0 is the starting MRR, column h
    the MRR at the end of month h after the as-of month. Reporting currency per month.

    ``multipliers``: per flow ("new", "expansion", "contraction", "churn") a factor, scalar or
    array (paths, months), applied to that month's flow (scenarios, risks). ``shocks``: array
    (paths, months) of one-off shares of MRR lost in a month (a key customer leaving).
    """
    if months < 1:
        raise ValueError(f"months must be >= 1, got {months}")
    rng = np.random.default_rng(seed)
    n = len(post) if n_paths is None else int(n_paths)
    pick = rng.integers(0, len(post), size=n) if n_paths is not None else np.arange(n)
    mult = {
        f: np.broadcast_to(np.asarray((multipliers or {}).get(f, 1.0), dtype=float), (n, months))
        for f in FLOWS
    }
    bad = sorted(set(multipliers or {}) - set(FLOWS))
    if bad:
        raise ValueError(f"multipliers must be among {list(FLOWS)}, got {bad}")
    rate, sigma = post.rate[pick], post.sigma[pick]
    log_new, growth, s_new = post.log_new[pick], post.growth[pick], post.sigma_new[pick]
    paths = np.empty((n, months + 1))
    paths[:, 0] = post.start_mrr
    for h in range(1, months + 1):
        o = paths[:, h - 1]
        z = rng.standard_normal((n, 4))
        flows = rate * np.exp(sigma * z[:, 1:] - sigma**2 / 2) * o[:, None]
        new = np.exp(log_new + growth * h / 12 + s_new * z[:, 0])
        nxt = (
            o
            + new * mult["new"][:, h - 1]
            + flows[:, 0] * mult["expansion"][:, h - 1]
            - flows[:, 1] * mult["contraction"][:, h - 1]
            - flows[:, 2] * mult["churn"][:, h - 1]
        )
        if shocks is not None:
            nxt = nxt * (1 - shocks[:, h - 1])
        paths[:, h] = np.maximum(nxt, 0.0)
    return paths


def arr_fan(paths: np.ndarray, start_month, *, quantiles=(0.1, 0.5, 0.9)) -> pd.DataFrame:
    """ARR fan chart table from simulated MRR paths: month (first day; month 0 = as-of month)
    and the ARR quantiles p10, p50, p90 (12 x MRR, reporting currency per year)."""
    start = month_start(start_month)
    months = [start + pd.DateOffset(months=h) for h in range(paths.shape[1])]
    q = np.quantile(12 * paths, quantiles, axis=0)
    out = pd.DataFrame({"month": pd.DatetimeIndex(months).astype("datetime64[ns]")})
    for name, row in zip((f"p{round(x * 100)}" for x in quantiles), q, strict=True):
        out[name] = row
    return out


def target_month(target_date) -> pd.Timestamp:
    """The month whose month-end ARR is compared with the target: the last month ending on or
    before ``target_date`` + 1 day (so 2025-12-31 and 2026-01-01 both mean December 2025)."""
    return month_start(pd.Timestamp(target_date) + pd.Timedelta(days=1)) - pd.DateOffset(months=1)


def horizon_months(start_month, target_date) -> int:
    """Months from the as-of month to the target month (>= 1)."""
    tm, sm = target_month(target_date), month_start(start_month)
    h = (tm.year - sm.year) * 12 + tm.month - sm.month
    if h < 1:
        raise ValueError(
            f"target_date must be after the end of the as-of month {sm:%Y-%m}, got {pd.Timestamp(target_date):%Y-%m-%d}"
        )
    return h


def target_probability(
    paths: np.ndarray, *, arr_target: float, start_month, target_date
) -> dict[str, Any]:
    """Probability of reaching ``arr_target``: the share of simulated paths whose ARR at the
    end of the target month is >= the target. Ratio in [0, 1]. Also the simulated ARR
    percentiles at the target month and the probability of reaching it at any month before."""
    if not arr_target > 0:
        raise ValueError(f"arr_target must be > 0, got {arr_target!r}")
    h = horizon_months(start_month, target_date)
    if h >= paths.shape[1]:
        raise ValueError(f"paths cover {paths.shape[1] - 1} months; the target needs {h}")
    arr = 12 * paths[:, h]
    q = np.quantile(arr, [0.1, 0.5, 0.9])
    ever = (12 * paths[:, 1 : h + 1] >= arr_target).any(axis=1)
    return {
        "target_month": f"{target_month(target_date):%Y-%m}",
        "months_ahead": h,
        "probability": float((arr >= arr_target).mean()),
        "probability_any_month": float(ever.mean()),
        "arr_p10": float(q[0]),
        "arr_p50": float(q[1]),
        "arr_p90": float(q[2]),
    }


# ----------------------------------------------------------------------------- ground truth


def truth_rates(ground_truth: Mapping[str, Any] | None, months) -> dict[str, float] | None:
    """The generator's monthly movement rates over ``months`` (the months the model was fitted
    on), from a synthetic data set's ``ground_truth.json``: mean expansion, contraction and
    churn rate (flow / opening MRR, realised in the simulation) and the expected churn rate of
    the generator's churn model. ``None`` for real data (no ground truth)."""
    rows = (ground_truth or {}).get("mrr")
    if not rows:
        return None
    t = pd.DataFrame(rows)
    t["month"] = pd.to_datetime(t["month"])
    t = t[t["month"].isin(pd.to_datetime(pd.Series(list(months))))]
    out = {}
    for name in RATES:
        col = f"{name}_rate"
        out[name] = (
            float(pd.to_numeric(t[col], errors="coerce").mean()) if col in t else float("nan")
        )
    if "expected_churn_mrr_rate" in t:
        out["churn_expected"] = float(
            pd.to_numeric(t["expected_churn_mrr_rate"], errors="coerce").mean()
        )
    return out


def hidden_future_check(
    ground_truth: Mapping[str, Any] | None, paths: np.ndarray, start_month
) -> pd.DataFrame | None:
    """Compare the simulated ARR growth with the generator's hidden months (the months after the
    data end that the sample company's generator ran but did not publish): for each hidden
    month, the true MRR growth since the as-of month and the simulated P10 / P50 / P90 growth.
    Growth ratios (1.05 = +5 %), so the check does not depend on how either side defines MRR.
    ``None`` when there is no ground truth or the forecast does not start at the data end."""
    rows = (ground_truth or {}).get("mrr")
    if not rows:
        return None
    t = pd.DataFrame(rows)
    t["month"] = pd.to_datetime(t["month"])
    start = month_start(start_month)
    base = t.loc[t["month"] == start, "mrr_closing"]
    hidden = t[t.get("hidden", False) == True]  # noqa: E712 - column of Python bools
    if base.empty or hidden.empty or hidden["month"].min() != start + pd.DateOffset(months=1):
        return None
    out = []
    for _, r in hidden.iterrows():
        h = (r["month"].year - start.year) * 12 + r["month"].month - start.month
        if h >= paths.shape[1]:
            break
        g = paths[:, h] / paths[:, 0]
        q = np.quantile(g, [0.1, 0.5, 0.9])
        true = float(r["mrr_closing"]) / float(base.iloc[0])
        out.append(
            {
                "month": r["month"],
                "true_growth": true,
                "p10": q[0],
                "p50": q[1],
                "p90": q[2],
                "inside80": bool(q[0] <= true <= q[2]),
            }
        )
    return pd.DataFrame(out) if out else None
