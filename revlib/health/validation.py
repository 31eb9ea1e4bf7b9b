"""Does the health score work? Outcomes after each scored month, band outcome rates, ROC AUC,
data-supported rubric weights and a LightGBM churn benchmark, with a time-based split.

Every account-month with MRR > 0 is one observation: its score at month ``t`` and what happened
in months ``t+1 .. t+h``. Observations of one account are correlated, so every interval here
is an account-level (cluster) bootstrap: accounts are resampled, not rows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from sklearn.metrics import roc_auc_score, roc_curve

from revlib.health.rubric import Rubric
from revlib.metrics import MrrPanel

LGBM_DEFAULTS: dict[str, Any] = {
    "objective": "binary",
    "n_estimators": 300,
    "learning_rate": 0.03,
    "num_leaves": 15,
    "min_child_samples": 100,
    "subsample": 0.8,
    "subsample_freq": 1,
    "colsample_bytree": 0.8,
    "reg_lambda": 1.0,
    "deterministic": True,
    "force_row_wise": True,
    "n_jobs": 1,
    "verbose": -1,
}


def churn_outcomes(panel: MrrPanel, *, horizons: Sequence[int] = (1, 3, 6)) -> pd.DataFrame:
    """Churn (contraction) within h months: the account's MRR fell to 0 (fell but stayed above
    0) in some month t+1..t+h after the scored month t.

    One row per account-month with MRR > 0. ``churn_<h>m``: the account's MRR fell to 0 in some month t+1..t+h (a churn movement).
    ``contraction_<h>m``: a contraction movement (0 < MRR < previous MRR) in t+1..t+h.
    ``observed_<h>m``: month t+h is inside the data, so the outcome is known; unobserved
    outcomes are False and must be filtered with this column. Also mrr (at t, per month).
    """
    horizons = _check_horizons(horizons)
    cur = panel.micros
    prev = np.zeros_like(cur)
    prev[:, 1:] = cur[:, :-1]
    events = {
        "churn": (prev > 0) & (cur == 0),
        "contraction": (cur > 0) & (cur < prev),
    }
    rows, cols = np.nonzero(cur > 0)
    n_months = cur.shape[1]
    out = pd.DataFrame(
        {
            "account_id": pd.array(panel.accounts[rows], dtype="str"),
            "month": panel.months[cols].to_numpy(),
            "mrr": cur[rows, cols] / 1e6,
        }
    )
    for name, ev in events.items():
        csum = np.concatenate(
            [np.zeros((cur.shape[0], 1), dtype=np.int64), np.cumsum(ev, axis=1)], axis=1
        )
        for h in horizons:
            end = np.minimum(cols + h, n_months - 1)
            out[f"{name}_{h}m"] = (csum[rows, end + 1] - csum[rows, cols + 1]) > 0
    for h in horizons:
        out[f"observed_{h}m"] = cols + h <= n_months - 1
    return out


def _check_horizons(horizons: Sequence[int]) -> tuple[int, ...]:
    hs = tuple(int(h) for h in horizons)
    if not hs or any(h < 1 for h in hs):
        raise ValueError(f"horizons must be whole months >= 1, got {list(horizons)}")
    return hs


def scored_outcomes(scores: pd.DataFrame, outcomes: pd.DataFrame) -> pd.DataFrame:
    """Scores joined to outcomes: one row per account-month that has both (MRR > 0 and a score)."""
    return scores.merge(outcomes, on=["account_id", "month"], how="inner")


def _bootstrap_weights(groups: np.ndarray, n_boot: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-row bootstrap weights: how many times each row's account is drawn, ``n_boot`` x rows."""
    codes, uniques = pd.factorize(groups)
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(len(uniques), np.full(len(uniques), 1.0 / len(uniques)), size=n_boot)
    return draws[:, codes], codes


def band_outcomes(
    data: pd.DataFrame,
    rubric: Rubric,
    *,
    horizons: Sequence[int] = (3, 6),
    n_boot: int = 200,
    prob: float = 0.94,
    seed: int = 0,
) -> pd.DataFrame:
    """Band churn rate: account-months of the band followed by churn (or contraction) within h
    months / account-months of the band whose next h months are in the data. Ratio.

    ``lower`` / ``upper``: central
    ``prob`` interval of an account-level bootstrap. Columns: band, label, horizon, outcome,
    rate, lower, upper, events, observations, accounts.
    """
    horizons = _check_horizons(horizons)
    rows = []
    tail = (1 - prob) / 2
    for h in horizons:
        obs = data[data[f"observed_{h}m"]]
        if len(obs) == 0:
            continue
        w, _ = _bootstrap_weights(obs["account_id"].to_numpy(), n_boot, seed)
        for outcome in ("churn", "contraction"):
            y = obs[f"{outcome}_{h}m"].to_numpy(dtype=float)
            for b in rubric.bands:
                mask = (obs["band"] == b.name).to_numpy()
                n = int(mask.sum())
                events = int(y[mask].sum())
                if n:
                    num = w[:, mask] @ y[mask]
                    den = w[:, mask].sum(axis=1)
                    boot = num[den > 0] / den[den > 0]
                    lo, hi = np.quantile(boot, [tail, 1 - tail])
                else:
                    lo = hi = np.nan
                rows.append(
                    {
                        "band": b.name,
                        "label": b.label,
                        "horizon": h,
                        "outcome": outcome,
                        "rate": events / n if n else np.nan,
                        "lower": lo,
                        "upper": hi,
                        "events": events,
                        "observations": n,
                        "accounts": int(obs.loc[mask, "account_id"].nunique()),
                    }
                )
    return pd.DataFrame(rows)


def weighted_auc(y: np.ndarray, risk: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """ROC AUC for each row of ``weights`` (repeats x observations), ties counted as one half.

    AUC = sum over positive i, negative j of w_i w_j (1[risk_i > risk_j] + 0.5 1[risk_i =
    risk_j]) / (sum of positive weights x sum of negative weights). One sort serves every
    weighting, which makes account-bootstrap intervals cheap. Ratio in [0, 1].
    """
    y = np.asarray(y, dtype=bool)
    risk = np.asarray(risk, dtype=float)
    w = np.atleast_2d(np.asarray(weights, dtype=float))
    order = np.argsort(risk, kind="mergesort")
    r, yy = risk[order], y[order]
    starts = np.flatnonzero(np.r_[True, r[1:] != r[:-1]])
    out = np.empty(w.shape[0])
    for lo in range(0, w.shape[0], 50):  # chunks keep memory small
        wk = w[lo : lo + 50, order]
        gp = np.add.reduceat(wk * yy, starts, axis=1)
        gn = np.add.reduceat(wk * ~yy, starts, axis=1)
        below = np.cumsum(gn, axis=1) - gn
        den = gp.sum(axis=1) * gn.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[lo : lo + 50] = (gp * (below + 0.5 * gn)).sum(axis=1) / den
    return out


def auc_score(
    y: np.ndarray,
    risk: np.ndarray,
    *,
    groups: np.ndarray | None = None,
    n_boot: int = 200,
    prob: float = 0.94,
    seed: int = 0,
) -> dict[str, float]:
    """ROC AUC: the probability that a random account-month followed by churn is ranked as
    riskier than a random one that was not (0.5 = chance, 1 = perfect ranking).

    ``risk``: higher = more likely to churn (for the health score, minus the score). With
    ``groups`` (account ids) adds a central ``prob`` account-level bootstrap interval.
    """
    y = np.asarray(y, dtype=bool)
    risk = np.asarray(risk, dtype=float)
    if y.all() or not y.any():
        return {
            "auc": np.nan,
            "lower": np.nan,
            "upper": np.nan,
            "n": len(y),
            "events": int(y.sum()),
        }
    auc = float(roc_auc_score(y, risk))
    lo = hi = np.nan
    if groups is not None and n_boot > 0:
        w, _ = _bootstrap_weights(np.asarray(groups), n_boot, seed)
        boots = weighted_auc(y, risk, w)
        tail = (1 - prob) / 2
        lo, hi = (float(q) for q in np.nanquantile(boots, [tail, 1 - tail]))
    return {"auc": auc, "lower": lo, "upper": hi, "n": len(y), "events": int(y.sum())}


def signal_fractions(scores: pd.DataFrame, rubric: Rubric) -> pd.DataFrame:
    """Each signal's points as a share of its maximum (0..1), one column per signal name."""
    return pd.DataFrame(
        {s.name: scores[f"pts_{s.name}"] / s.points if s.points else 0.0 for s in rubric.signals},
        index=scores.index,
    )


def _largest_remainder(values: np.ndarray, total: float) -> np.ndarray:
    """Round non-negative ``values`` (summing to ``total``) to integers that still sum to it."""
    floor = np.floor(values)
    short = int(round(total - floor.sum()))
    order = np.argsort(-(values - floor), kind="stable")
    floor[order[:short]] += 1
    return floor


def fit_weights(
    x: np.ndarray, y: np.ndarray, *, l2: float = 1.0, controls: np.ndarray | None = None
) -> tuple[float, np.ndarray]:
    """Non-negative logistic weights: P(churn) = sigmoid(b0 - x @ w + c @ g), w >= 0.

    ``x``: signal fractions (rows x signals, 0..1, 1 = full points). ``controls``: optional
    covariates that are not health signals (rows x k, e.g. log seats, tier, tenure); their
    coefficients ``g`` are free in sign and unpenalised (standardised inside), so the signal
    weights are read net of them. Ridge ``l2`` on w; maximum penalised likelihood with
    L-BFGS-B. Returns (b0, w). A weight at 0 means the data give that signal no
    churn-predicting role once the others (and the controls) are known.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    n, k = x.shape
    c = np.zeros((n, 0)) if controls is None else np.asarray(controls, dtype=float).reshape(n, -1)
    if not np.isfinite(c).all():
        raise ValueError("fit_weights: controls must be finite (fill or drop missing values)")
    sd = c.std(axis=0)
    c = (c - c.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    m = c.shape[1]

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        b0, w, g = theta[0], theta[1 : k + 1], theta[k + 1 :]
        z = b0 - x @ w + c @ g
        p = 1.0 / (1.0 + np.exp(-z))
        nll = np.sum(np.logaddexp(0.0, z) - y * z) + 0.5 * l2 * np.sum(w**2)
        r = p - y
        grad = np.concatenate([[r.sum()], -(x.T @ r) + l2 * w, c.T @ r])
        return nll / n, grad / n

    rate = min(max(y.mean(), 1e-6), 1 - 1e-6)
    start = np.concatenate([[np.log(rate / (1 - rate))], np.zeros(k + m)])
    bounds = [(None, None)] + [(0.0, None)] * k + [(None, None)] * m
    res = minimize(
        loss,
        start,
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={"maxiter": 5000, "gtol": 1e-9},
    )
    return float(res.x[0]), res.x[1 : k + 1]


def size_controls(data: pd.DataFrame, attributes: pd.DataFrame | None) -> np.ndarray | None:
    """Account size, tier and tenure per row of ``data`` (matched on account_id, month) as
    control covariates: log(seats), tier_index, log(1 + tenure_months), whichever
    ``attributes`` (:func:`revlib.health.truth.account_attributes`) has. Missing values take
    the column mean. None without attributes or when none of those columns is present."""
    if attributes is None:
        return None
    transforms: dict[str, Callable[[pd.Series], pd.Series]] = {
        "seats": lambda v: np.log(v.where(v > 0)),
        "tier_index": lambda v: v,
        "tenure_months": np.log1p,
    }
    got = data[["account_id", "month"]].merge(attributes, on=["account_id", "month"], how="left")
    cols = [
        transforms[name](pd.to_numeric(got[name], errors="coerce").astype(float))
        for name in transforms
        if name in got.columns
    ]
    if not cols:
        return None
    mat = np.column_stack([v.fillna(v.mean()).fillna(0.0).to_numpy() for v in cols])
    return mat


def suggest_weights(
    data: pd.DataFrame,
    rubric: Rubric,
    *,
    target: str = "churn_6m",
    l2: float = 1.0,
    attributes: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Rubric points the data support: the team's signal mappings, re-weighted to predict churn.

    Fits :func:`fit_weights` on the signal fractions of ``data`` (rows with the target
    observed) and rescales the weights to the rubric's total points (whole points, largest
    remainder). With ``attributes`` the fit holds account size, tier and tenure fixed
    (:func:`size_controls`): they drive churn, no signal measures them, and signals that vary
    with size (utilisation of a one-seat plan is 0 or 100 %, tickets grow with seats) would
    otherwise carry their effect with the wrong sign. Columns: component, signal, label, team_points,
    suggested_points, weight (log-odds of churn per full signal), univariate_auc (the signal
    alone; 0.5 = no signal).
    """
    h = _target_horizon(target)
    obs = data[data[f"observed_{h}m"]]
    x = signal_fractions(obs, rubric)
    y = obs[target].to_numpy(dtype=bool)
    if y.all() or not y.any():
        raise ValueError(
            f"suggest_weights needs both outcomes of {target!r}; got {int(y.sum())} events in {len(y)} rows"
        )
    _, w = fit_weights(x.to_numpy(), y, l2=l2, controls=size_controls(obs, attributes))
    if w.sum() <= 0:
        suggested = np.full(len(w), np.nan)
    else:
        suggested = _largest_remainder(rubric.total_points * w / w.sum(), rubric.total_points)
    rows = []
    for sig, wi, si in zip(rubric.signals, w, suggested, strict=True):
        xi = x[sig.name].to_numpy()
        uni = roc_auc_score(y, -xi) if np.ptp(xi) > 0 else 0.5
        rows.append(
            {
                "component": sig.component,
                "signal": sig.name,
                "label": sig.label,
                "feature": sig.feature,
                "team_points": sig.points,
                "suggested_points": si,
                "weight": wi,
                "univariate_auc": float(uni),
            }
        )
    return pd.DataFrame(rows)


def _target_horizon(target: str) -> int:
    try:
        kind, h = target.rsplit("_", 1)
        if kind not in ("churn", "contraction") or not h.endswith("m"):
            raise ValueError
        return int(h[:-1])
    except ValueError:
        raise ValueError(
            f"target must look like 'churn_6m' or 'contraction_3m', got {target!r}"
        ) from None


def weighted_score(data: pd.DataFrame, rubric: Rubric, points: Mapping[str, float]) -> np.ndarray:
    """Score with other signal weights: sum over signals of points[signal] x signal fraction."""
    x = signal_fractions(data, rubric)
    return sum(x[s.name].to_numpy() * float(points.get(s.name, 0.0)) for s in rubric.signals)


def time_split(
    months: pd.Series, *, horizon: int, test_months: int
) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Split evaluable scoring months: the last ``test_months`` are the test period; training
    uses months up to ``horizon`` months before the test starts (their outcomes were known then).
    Returns (last training month, first test month)."""
    uniq = pd.DatetimeIndex(sorted(pd.unique(months)))
    if len(uniq) < test_months + horizon + 3:
        raise ValueError(
            f"need at least {test_months + horizon + 3} scoring months with observed outcomes for "
            f"test_months={test_months} and horizon={horizon}; got {len(uniq)}"
        )
    test_start = uniq[-test_months]
    train_end = (test_start.to_period("M") - horizon).to_timestamp()
    return train_end, test_start


def churn_benchmark(
    data: pd.DataFrame,
    features: pd.DataFrame,
    rubric: Rubric,
    *,
    target: str = "churn_6m",
    weights_target: str = "churn_1m",
    test_months: int = 12,
    n_boot: int = 200,
    seed: int = 0,
    lgbm: Mapping[str, Any] | None = None,
    l2: float = 1.0,
    attributes: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """Team score vs data-suggested weights vs LightGBM, on a later test period.

    Training: scoring months up to ``horizon`` months before the test period (outcomes known
    by then); test: the last ``test_months`` months with observed outcomes. The suggested
    weights are fitted to ``weights_target`` (default next-month churn: a discrete-time hazard,
    so a signal is judged on the churn that follows it rather than diluted over 6 months of
    later signals) holding account size, tier and tenure fixed when ``attributes`` are given;
    they and the LightGBM model (``LGBM_DEFAULTS | lgbm``, on the rubric's raw features)
    are fitted on training only; all three are judged by test ROC AUC with account-bootstrap
    intervals. With ``attributes`` (``revlib.health.truth.account_attributes``), a second LightGBM also sees
    account size, tier and tenure: how much the rubric leaves on the table. Returns a dict:
    ``auc`` (table), ``weights`` (suggested on training), ``importance`` (LightGBM gain share
    per feature), ``roc`` (curves), ``split``, ``config``.
    """
    from lightgbm import LGBMClassifier

    h = _target_horizon(target)
    obs = data[data[f"observed_{h}m"]].reset_index(drop=True)
    train_end, test_start = time_split(obs["month"], horizon=h, test_months=test_months)
    train = obs[obs["month"] <= train_end]
    test = obs[obs["month"] >= test_start]
    _target_horizon(weights_target)
    if weights_target not in train.columns:
        raise ValueError(
            f"churn_benchmark: weights_target {weights_target!r} is not a column of the outcomes; "
            "compute it with churn_outcomes(panel, horizons=...) including its horizon"
        )
    weights = suggest_weights(train, rubric, target=weights_target, l2=l2, attributes=attributes)
    cols = list(dict.fromkeys(s.feature for s in rubric.signals if s.feature in features.columns))
    fx = features[["account_id", "month", *cols]]
    xtrain = train[["account_id", "month"]].merge(fx, on=["account_id", "month"], how="left")[cols]
    xtest = test[["account_id", "month"]].merge(fx, on=["account_id", "month"], how="left")[cols]
    config = LGBM_DEFAULTS | dict(lgbm or {}) | {"random_state": seed}
    model = LGBMClassifier(**config)
    model.fit(xtrain, train[target].to_numpy(dtype=int))
    y = test[target].to_numpy(dtype=bool)
    groups = test["account_id"].to_numpy()
    risks = {
        "Team rubric": -test["health_score"].to_numpy(dtype=float),
        "Suggested weights": -weighted_score(
            test, rubric, dict(zip(weights["signal"], weights["suggested_points"], strict=True))
        ),
        "LightGBM": np.asarray(model.predict_proba(xtest))[:, 1],
    }
    if attributes is not None:
        extra = [c for c in attributes.columns if c not in ("account_id", "month")]
        fa = fx.merge(attributes, on=["account_id", "month"], how="left")[
            ["account_id", "month", *cols, *extra]
        ]
        big_train = train[["account_id", "month"]].merge(
            fa, on=["account_id", "month"], how="left"
        )[cols + extra]
        big_test = test[["account_id", "month"]].merge(fa, on=["account_id", "month"], how="left")[
            cols + extra
        ]
        big = LGBMClassifier(**config).fit(big_train, train[target].to_numpy(dtype=int))
        big_proba = np.asarray(big.predict_proba(big_test))
        risks["LightGBM + account size, tier, tenure"] = big_proba[:, 1]
    auc_rows, roc = [], {}
    for name, risk in risks.items():
        res = auc_score(y, risk, groups=groups, n_boot=n_boot, seed=seed)
        auc_rows.append({"model": name} | res)
        fpr, tpr, _ = roc_curve(y, risk)
        roc[name] = (fpr, tpr)
    gain = model.booster_.feature_importance(importance_type="gain")
    importance = pd.DataFrame(
        {"feature": cols, "gain_share": gain / gain.sum() if gain.sum() > 0 else gain}
    ).sort_values("gain_share", ascending=False, ignore_index=True)
    return {
        "auc": pd.DataFrame(auc_rows),
        "weights": weights,
        "importance": importance,
        "roc": roc,
        "split": {
            "target": target,
            "weights_target": weights_target,
            "train_months": [str(train["month"].min().date()), str(train_end.date())],
            "test_months": [str(test_start.date()), str(test["month"].max().date())],
            "train_rows": len(train),
            "test_rows": len(test),
            "train_events": int(train[target].sum()),
            "test_events": int(y.sum()),
        },
        "config": {k: v for k, v in config.items() if k not in ("verbose",)},
    }


def score_auc_by_horizon(
    data: pd.DataFrame,
    *,
    horizons: Sequence[int] = (3, 6),
    outcomes: Sequence[str] = ("churn", "contraction"),
    n_boot: int = 200,
    seed: int = 0,
) -> pd.DataFrame:
    """ROC AUC of the team score (lower score = higher risk) for each outcome and horizon, over
    every scored month with the outcome observed. Columns: outcome, horizon, auc, lower, upper,
    n, events."""
    rows = []
    for h in _check_horizons(horizons):
        obs = data[data[f"observed_{h}m"]]
        for outcome in outcomes:
            res = auc_score(
                obs[f"{outcome}_{h}m"].to_numpy(),
                -obs["health_score"].to_numpy(dtype=float),
                groups=obs["account_id"].to_numpy(),
                n_boot=n_boot,
                seed=seed,
            )
            rows.append({"outcome": outcome, "horizon": h} | res)
    return pd.DataFrame(rows)
