"""Retention and LTV with uncertainty: a Bayesian shifted-beta-geometric (sBG) model.

sBG (Fader & Hardie 2007, "How to project customer retention"): each account churns at the end
of any month with its own probability ``theta``, constant over its life; ``theta`` varies across
accounts as Beta(alpha, beta). Survivors are therefore increasingly the low-``theta`` accounts,
so the aggregate churn rate falls with tenure. With ``T`` the months an account pays:

    P(T = t)  = B(alpha + 1, beta + t - 1) / B(alpha, beta)          t = 1, 2, ...
    S(t) = P(T > t) = B(alpha, beta + t) / B(alpha, beta)

Accounts still paying in the last month with ``n`` months paid contribute P(T >= n) = S(n - 1).
Groups (segments, cohorts, ...) get their own (alpha, beta), parameterised by the mean churn
probability ``mu = alpha / (alpha + beta)`` and the polarisation ``phi = 1 / (alpha + beta +
1)``, each with a Beta prior.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import betaln

from revlib.metrics import MrrPanel

SBG_PRIORS: dict[str, float] = {
    "mu_a": 1.0,  # mean monthly churn probability mu = alpha / (alpha + beta) ~ Beta(mu_a, mu_b):
    "mu_b": 9.0,  # mean 10 %, a third of the mass below 5 %, weak next to hundreds of accounts
    "phi_a": 1.0,  # polarisation phi = 1 / (alpha + beta + 1) ~ Beta(phi_a, phi_b): 0 means
    "phi_b": 3.0,  # every account churns alike, towards 1 a few churn at once and the rest stay
}


def tenure_table(
    panel: MrrPanel,
    accounts: pd.DataFrame | None = None,
    *,
    by: str | None = "segment",
    exclude_left_truncated: bool = True,
) -> pd.DataFrame:
    """Each account's paid months until its first churn, or so far.

    One row per account with MRR > 0 at some month: account_id, group (``accounts[by]``;
    ``"cohort_year"`` = the year of the first paying month; ``None`` = one group "all"),
    cohort (first month with MRR > 0), months (paid months up to the first churn, or up to the
    last month when still paying), churned (True when MRR fell to 0; reactivations are ignored).
    ``exclude_left_truncated`` drops accounts already paying in the first month of data, whose
    true tenure is unknown.
    """
    active = panel.active
    has = active.any(axis=1)
    first = active.argmax(axis=1)
    n_months = active.shape[1]
    cols = np.arange(n_months)[None, :]
    after = (cols > first[:, None]) & ~active
    churned = after.any(axis=1)
    churn_col = np.where(churned, after.argmax(axis=1), n_months)
    out = pd.DataFrame(
        {
            "account_id": pd.array(panel.accounts, dtype="str"),
            "cohort": panel.months[np.minimum(first, n_months - 1)].to_numpy(),
            "months": churn_col - first,
            "churned": churned,
        }
    )[has]
    if exclude_left_truncated:
        out = out[first[has] > 0]
    out["group"] = _groups(out, accounts, by)
    return out.reset_index(drop=True)[["account_id", "group", "cohort", "months", "churned"]]


def _groups(tenure: pd.DataFrame, accounts: pd.DataFrame | None, by: str | None) -> pd.Series:
    if by is None:
        return pd.Series("all", index=tenure.index, dtype="str")
    if by == "cohort_year":
        return tenure["cohort"].dt.year.astype(str).astype("str")
    if accounts is None or by not in accounts.columns:
        have = [] if accounts is None else list(accounts.columns)
        raise ValueError(
            f"by must be None, 'cohort_year' or a column of accounts {have}, got {by!r}"
        )
    lookup = accounts.assign(account_id=accounts["account_id"].astype("str")).set_index(
        "account_id"
    )[by]
    return tenure["account_id"].map(lookup).fillna("unknown").astype("str")


def survival_counts(tenure: pd.DataFrame) -> dict[str, Any]:
    """Sufficient statistics of the sBG likelihood per group and tenure month k = 1..t_max:
    ``churn[g, k-1]`` accounts that paid exactly k months then churned, ``alive[g, k-1]``
    accounts still paying in the last month with k months paid (so T >= k, outcome of month k
    unknown), ``at_risk[g, k-1]`` accounts whose churn-or-stay after month k is observed:
    churned with T >= k plus still paying with more than k months paid."""
    groups = sorted(tenure["group"].unique())
    t_max = int(tenure["months"].max())
    churn = np.zeros((len(groups), t_max), dtype=np.int64)
    alive = np.zeros((len(groups), t_max), dtype=np.int64)
    g = pd.Categorical(tenure["group"], categories=groups).codes
    m = tenure["months"].to_numpy() - 1
    c = tenure["churned"].to_numpy(dtype=bool)
    np.add.at(churn, (g[c], m[c]), 1)
    np.add.at(alive, (g[~c], m[~c]), 1)
    churn_from = churn[:, ::-1].cumsum(axis=1)[:, ::-1]  # churned with T >= k
    alive_after = alive[:, ::-1].cumsum(axis=1)[:, ::-1] - alive  # still paying with n > k
    at_risk = churn_from + alive_after
    return {"groups": groups, "churn": churn, "alive": alive, "at_risk": at_risk}


def sbg_hazard(mu: np.ndarray | float, phi: np.ndarray | float, months: int) -> np.ndarray:
    """sBG churn hazard h(k) = P(churn after month k | paid k months) = alpha / (alpha + beta +
    k - 1) = mu (1 - phi) / (1 - phi + (k - 1) phi), for k = 1..months. Broadcasts like
    :func:`sbg_survival`. Ratio per month."""
    mu = np.asarray(mu, dtype=float)[..., None]
    phi = np.asarray(phi, dtype=float)[..., None]
    k = np.arange(1, months + 1)
    return mu * (1 - phi) / (1 - phi + (k - 1) * phi)


def sbg_loglik(alpha: float, beta: float, churn: np.ndarray, alive: np.ndarray) -> float:
    """sBG log-likelihood of one group's counts (see :func:`survival_counts`)."""
    t = np.arange(1, len(churn) + 1)
    base = betaln(alpha, beta)
    lp_churn = betaln(alpha + 1, beta + t - 1) - base
    lp_alive = betaln(alpha, beta + t - 1) - base
    return float(churn @ lp_churn + alive @ lp_alive)


def fit_sbg_mle(churn: np.ndarray, alive: np.ndarray) -> tuple[float, float]:
    """Maximum-likelihood (alpha, beta) of one group's sBG counts (Nelder-Mead on the log scale)."""
    churn = np.asarray(churn, dtype=float)
    alive = np.asarray(alive, dtype=float)
    res = minimize(
        lambda p: -sbg_loglik(np.exp(p[0]), np.exp(p[1]), churn, alive),
        x0=np.array([0.0, 1.0]),
        method="Nelder-Mead",
        options={"xatol": 1e-9, "fatol": 1e-11, "maxiter": 5000},
    )
    return float(np.exp(res.x[0])), float(np.exp(res.x[1]))


def fit_sbg_hazard_mle(churn: np.ndarray, at_risk: np.ndarray) -> tuple[float, float]:
    """Maximum-likelihood (alpha, beta) from hazard counts: ``churn[k-1]`` of ``at_risk[k-1]``
    accounts churned after month k, with h(k) = alpha / (alpha + beta + k - 1).

    Equals :func:`fit_sbg_mle` on cohort data, and also fits snapshot data (e.g. one month of
    customers of every tenure), where accounts enter observation late: conditioning on having
    survived to the observed tenure removes the left truncation.
    """
    d = np.asarray(churn, dtype=float)
    r = np.asarray(at_risk, dtype=float)
    k = np.arange(1, len(d) + 1)

    def nll(p: np.ndarray) -> float:
        a, b = np.exp(p)
        h = a / (a + b + k - 1)
        return -float(d @ np.log(h) + (r - d) @ np.log1p(-h))

    res = minimize(
        nll,
        x0=np.array([0.0, 1.0]),
        method="Nelder-Mead",
        options={"xatol": 1e-9, "fatol": 1e-11, "maxiter": 5000},
    )
    return float(np.exp(res.x[0])), float(np.exp(res.x[1]))


def sbg_survival(alpha: np.ndarray | float, beta: np.ndarray | float, months: int) -> np.ndarray:
    """S(t) = P(still paying after t months) for t = 0..months, for each (alpha, beta) given.

    Broadcasts: arrays of shape (...) give (..., months + 1). Ratio; S(0) = 1.
    """
    a = np.asarray(alpha, dtype=float)[..., None]
    b = np.asarray(beta, dtype=float)[..., None]
    t = np.arange(months + 1)
    return np.exp(betaln(a, b + t) - betaln(a, b))


def empirical_survival(tenure: pd.DataFrame, *, months: int | None = None) -> pd.DataFrame:
    """Observed survival by tenure (Kaplan-Meier with monthly steps), per group.

    S(t) = prod over k <= t of (1 - churned at k / at risk at k), where "at risk at k" are the
    accounts whose outcome after month k is known: churned after k or more months, or still
    paying with more than k months paid. Columns: group, month (t), survival, at_risk.
    """
    rows = []
    for group, part in tenure.groupby("group", sort=True):
        t_max = months or int(part["months"].max())
        s = 1.0
        rows.append({"group": group, "month": 0, "survival": 1.0, "at_risk": len(part)})
        for t in range(1, t_max + 1):
            at_risk = int(
                ((part["months"] >= t) & part["churned"]).sum()
                + ((part["months"] > t) & ~part["churned"]).sum()
            )
            if at_risk == 0:
                break
            d = int(((part["months"] == t) & part["churned"]).sum())
            s *= 1 - d / at_risk
            rows.append({"group": group, "month": t, "survival": s, "at_risk": at_risk})
    return pd.DataFrame(rows)


def sbg_model(counts: Mapping[str, Any], *, priors: Mapping[str, float] | None = None):
    """The sBG model in PyMC (``SBG_PRIORS | priors``), one (alpha, beta) per group.

    Per group: mean monthly churn probability mu = alpha / (alpha + beta) ~ Beta(mu_a, mu_b)
    and polarisation phi = 1 / (alpha + beta + 1) ~ Beta(phi_a, phi_b) (Fader & Hardie's
    heterogeneity index; it stays well identified when churn is nearly homogeneous, where
    alpha + beta runs off to infinity). Groups are independent: a group of a few hundred
    accounts dominates any pooling prior, and independent 2-d posteriors sample cleanly.
    The likelihood is written with the sBG hazard h(k) = mu (1 - phi) / (1 - phi + (k - 1) phi)
    as churned ~ Binomial(at risk, h(k)) per tenure month, which equals the sBG likelihood of
    :func:`sbg_loglik` up to a constant and stays numerically stable for any alpha, beta.
    """
    import pymc as pm

    p = SBG_PRIORS | dict(priors or {})
    unknown = set(p) - set(SBG_PRIORS)
    if unknown:
        raise ValueError(f"unknown sBG prior(s) {sorted(unknown)}; allowed: {sorted(SBG_PRIORS)}")
    at_risk = np.asarray(counts["at_risk"], dtype=np.int64)
    churn = np.asarray(counts["churn"], dtype=np.int64)
    k = np.arange(1, churn.shape[1] + 1, dtype=float)[None, :]
    keep = at_risk > 0
    g_idx, k_idx = np.nonzero(keep)
    coords = {"group": list(counts["groups"])}
    with pm.Model(coords=coords) as model:
        mu = pm.Beta("mu", p["mu_a"], p["mu_b"], dims="group")
        phi = pm.Beta("phi", p["phi_a"], p["phi_b"], dims="group")
        kappa = (1 - phi) / phi
        pm.Deterministic("alpha", mu * kappa, dims="group")
        pm.Deterministic("beta", (1 - mu) * kappa, dims="group")
        hazard = mu[g_idx] * (1 - phi[g_idx]) / (1 - phi[g_idx] + (k[0, k_idx] - 1) * phi[g_idx])
        pm.Binomial("churned", n=at_risk[keep], p=hazard, observed=churn[keep])
    return model


def fit_sbg(
    tenure: pd.DataFrame,
    *,
    priors: Mapping[str, float] | None = None,
    sampler: Mapping[str, Any] | None = None,
    seed: int = 0,
):
    """Fit the sBG model to a :func:`tenure_table`; returns ``az.InferenceData`` whose attrs
    carry the groups, priors and sampler settings (``revlib.bayes.sample``)."""
    from revlib import bayes

    counts = survival_counts(tenure)
    model = sbg_model(counts, priors=priors)
    cfg = {"draws": 1000, "tune": 1000, "chains": 4} | dict(sampler or {})
    idata = bayes.sample(model, seed=seed, **cfg)
    idata.attrs["sbg_priors"] = str(SBG_PRIORS | dict(priors or {}))
    idata.attrs["groups"] = ",".join(counts["groups"])
    return idata


HOLDOUT_TAG = " (fit to cut-off)"


def stack_holdout(tenure: pd.DataFrame, tenure_cut: pd.DataFrame) -> pd.DataFrame:
    """One tenure table holding the full data and the data as it stood at a cut-off, the
    latter's groups tagged with :data:`HOLDOUT_TAG`. Groups are independent in the sBG model,
    so one fit of the stacked table equals two separate fits, at the cost of one compile."""
    return pd.concat(
        [tenure, tenure_cut.assign(group=tenure_cut["group"] + HOLDOUT_TAG)], ignore_index=True
    )


def _groups_of(idata, groups) -> list[str]:
    have = [str(g) for g in idata.posterior["group"].to_numpy()]
    if groups is None:
        return [g for g in have if not g.endswith(HOLDOUT_TAG)]
    missing = [g for g in groups if g not in have]
    if missing:
        raise ValueError(f"groups {missing} are not in the posterior, which has {have}")
    return list(groups)


def _draws(idata, name: str, groups: list[str]) -> np.ndarray:
    """Posterior draws of a group variable for ``groups``, shape (draws, groups)."""
    x = idata.posterior[name].sel(group=groups)
    return x.stack(sample=("chain", "draw")).transpose("sample", "group").to_numpy()


def posterior_survival(
    idata, *, months: int, prob: float = 0.94, groups: list[str] | None = None
) -> pd.DataFrame:
    """Posterior of S(t) per group for t = 0..months: mean and central ``prob`` interval.
    Columns: group, month, mean, lower, upper (ratios). ``groups``: default all but holdout."""
    groups = _groups_of(idata, groups)
    a, b = _draws(idata, "alpha", groups), _draws(idata, "beta", groups)
    s = sbg_survival(a, b, months)  # draws x groups x months+1
    tail = (1 - prob) / 2
    lo, hi = np.quantile(s, [tail, 1 - tail], axis=0)
    rows = [
        {
            "group": g,
            "month": t,
            "mean": float(s[:, i, t].mean()),
            "lower": float(lo[i, t]),
            "upper": float(hi[i, t]),
        }
        for i, g in enumerate(groups)
        for t in range(months + 1)
    ]
    return pd.DataFrame(rows)


def expected_months(
    alpha: np.ndarray, beta: np.ndarray, *, horizon_months: int = 120, annual_discount: float = 0.0
) -> np.ndarray:
    """Expected (discounted) months a new account pays within ``horizon_months``:
    sum over t = 0..H-1 of S(t) x (1 + annual_discount)^(-t/12). Months."""
    s = sbg_survival(alpha, beta, horizon_months - 1)
    disc = (1.0 + annual_discount) ** (-np.arange(horizon_months) / 12.0)
    return s @ disc


def simple_ltv_interval(
    churn_events: int, account_months: int, *, arpa: float, gross_margin: float, prob: float = 0.94
) -> dict[str, float]:
    """The spec LTV (ARPA x gross margin / monthly logo churn rate, ``revlib.metrics.ltv``)
    with the churn rate's Beta posterior (uniform prior): the point value at the observed rate,
    the interval from the posterior's central ``prob`` interval. Reporting currency per account."""
    from revlib.metrics import ltv
    from revlib.stats import beta_posterior

    post = beta_posterior(churn_events, account_months, prob=prob).iloc[0]
    rate = churn_events / account_months if account_months else np.nan
    return {
        "churn_rate": rate,
        "ltv": ltv(arpa, gross_margin, rate),
        "lower": ltv(arpa, gross_margin, float(post["upper"])),
        "upper": ltv(arpa, gross_margin, float(post["lower"])),
    }


def ltv_table(
    idata,
    tenure: pd.DataFrame,
    panel: MrrPanel,
    *,
    gross_margin: float,
    horizon_months: int = 120,
    annual_discount: float = 0.0,
    window_months: int = 12,
    prob: float = 0.94,
) -> pd.DataFrame:
    """LTV: lifetime gross profit of a new account. sBG: ARPA x gross margin x expected months
    paid (within the cap); spec: ARPA x gross margin / monthly logo churn rate. Reporting
    currency per account.

    sBG LTV: ARPA x gross margin x expected (discounted) months paid by a new account within
    ``horizon_months`` (posterior mean and central ``prob`` interval). Spec LTV: ARPA x gross
    margin / mean monthly logo churn rate over the trailing ``window_months`` (interval from
    the churn rate's Beta posterior; NaN where it is unbounded because no account churned).
    ARPA: mean MRR of the group's paying accounts in the last month.
    """
    groups = sorted(set(tenure["group"]))
    a, b = _draws(idata, "alpha", groups), _draws(idata, "beta", groups)
    months = expected_months(a, b, horizon_months=horizon_months, annual_discount=annual_discount)
    tail = (1 - prob) / 2
    group_of = dict(zip(tenure["account_id"], tenure["group"], strict=True))
    acc_group = np.array([group_of.get(str(acc), None) for acc in panel.accounts], dtype=object)
    mrr = panel.micros / 1e6
    rows = []
    for i, g in enumerate(groups):
        rows_g = acc_group == g
        last = mrr[rows_g, -1]
        arpa = float(last[last > 0].mean()) if (last > 0).any() else np.nan
        # churn events and account-months at risk over the trailing window
        w = mrr[rows_g][:, -(window_months + 1) :]
        at_risk = int((w[:, :-1] > 0).sum())
        events = int(((w[:, :-1] > 0) & (w[:, 1:] == 0)).sum())
        simple = (
            simple_ltv_interval(events, at_risk, arpa=arpa, gross_margin=gross_margin, prob=prob)
            if at_risk
            else {}
        )
        simple = {
            k: (np.nan if np.isinf(v) else v) for k, v in simple.items()
        }  # no churn: unbounded
        ltv = arpa * gross_margin * months[:, i]
        lo, hi = np.quantile(ltv, [tail, 1 - tail])
        rows.append(
            {
                "group": g,
                "accounts": int(rows_g.sum()),
                "paying": int((last > 0).sum()),
                "arpa": arpa,
                "expected_months": float(months[:, i].mean()),
                "ltv_sbg": float(ltv.mean()),
                "ltv_sbg_lower": float(lo),
                "ltv_sbg_upper": float(hi),
                "monthly_churn": simple.get("churn_rate", np.nan),
                "ltv_simple": simple.get("ltv", np.nan),
                "ltv_simple_lower": simple.get("lower", np.nan),
                "ltv_simple_upper": simple.get("upper", np.nan),
            }
        )
    return pd.DataFrame(rows)


def sbg_parameters(idata, *, prob: float = 0.94, groups: list[str] | None = None) -> pd.DataFrame:
    """Posterior of each group's alpha, beta, mean monthly churn probability mu and
    polarisation phi, with central ``prob`` intervals. Columns: group, parameter, mean, lower,
    upper."""
    groups = _groups_of(idata, groups)
    tail = (1 - prob) / 2
    rows = []
    for name in ("mu", "phi", "alpha", "beta"):
        d = _draws(idata, name, groups)
        lo, hi = np.quantile(d, [tail, 1 - tail], axis=0)
        for i, g in enumerate(groups):
            rows.append(
                {
                    "group": g,
                    "parameter": name,
                    "mean": float(d[:, i].mean()),
                    "lower": float(lo[i]),
                    "upper": float(hi[i]),
                }
            )
    return pd.DataFrame(rows)


def holdout_check(
    tenure_cut: pd.DataFrame,
    tenure: pd.DataFrame,
    idata,
    *,
    months_ahead: int,
    prob: float = 0.94,
    seed: int = 0,
) -> pd.DataFrame:
    """Out-of-sample check: of the accounts paying at a past cut-off, how many still paid k
    months later, as predicted by the model fitted to the data up to the cut-off, and as
    observed.

    Uses the groups tagged HOLDOUT_TAG (see :func:`stack_holdout`) and the actual ``tenure``.

    An account paying at the cut-off with n months paid survives the next k months with
    probability B(alpha, beta + n + k - 1) / B(alpha, beta + n - 1). The predictive interval
    adds Bernoulli noise to the posterior draws. Columns: group, accounts, predicted (mean
    survivors), lower, upper, observed, inside (observed within the interval).
    """
    rng = np.random.default_rng(seed)
    tail = (1 - prob) / 2
    open_ = tenure_cut[~tenure_cut["churned"]]
    actual = tenure.set_index("account_id")
    rows = []
    for g in sorted(set(open_["group"])):
        a, b = (_draws(idata, v, [g + HOLDOUT_TAG])[:, :1] for v in ("alpha", "beta"))
        part = open_[open_["group"] == g]
        n = part["months"].to_numpy(dtype=float)[None, :]
        p = np.exp(betaln(a, b + n + months_ahead - 1) - betaln(a, b + n - 1))
        sims = (rng.random(p.shape) < p).sum(axis=1)
        later = actual.loc[part["account_id"]]
        observed = int(
            (later["months"].to_numpy() >= part["months"].to_numpy() + months_ahead).sum()
        )
        lo, hi = np.quantile(sims, [tail, 1 - tail])
        rows.append(
            {
                "group": g,
                "accounts": len(part),
                "predicted": float(p.sum(axis=1).mean()),
                "lower": float(lo),
                "upper": float(hi),
                "observed": observed,
                "inside": bool(lo <= observed <= hi),
            }
        )
    return pd.DataFrame(rows)


def truncate_panel(panel: MrrPanel, months: int) -> MrrPanel:
    """The panel without its last ``months`` months (the data as it stood then)."""
    if not 0 < months < len(panel.months):
        raise ValueError(f"months must be within 1..{len(panel.months) - 1}, got {months}")
    return MrrPanel(panel.accounts, panel.months[:-months], panel.micros[:, :-months])
