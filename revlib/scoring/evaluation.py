"""How good are win probabilities: discrimination, calibration, lift, and against the truth."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

EPS = 1e-15


def _check(y: np.ndarray | pd.Series, p: np.ndarray | pd.Series) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    if y.shape != p.shape:
        raise ValueError(f"labels and probabilities differ in length: {len(y)} vs {len(p)}")
    if np.isnan(y).any() or np.isnan(p).any():
        raise ValueError("labels and probabilities must not be missing")
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError("labels must be 0 or 1")
    if (p < 0).any() or (p > 1).any():
        raise ValueError("probabilities must lie in [0, 1]")
    return y, p


def roc_auc_score(y, p) -> float:
    """ROC AUC: chance a random won deal scores above a random lost one (ties count half). 0.5 = no skill, 1 = perfect."""
    from sklearn.metrics import roc_auc_score as sk_roc_auc

    y, p = _check(y, p)
    return float(sk_roc_auc(y, p)) if len(np.unique(y)) == 2 else float("nan")


def pr_auc_score(y, p) -> float:
    """PR AUC (average precision): precision averaged over the recall of won deals. Base rate = no skill, 1 = perfect."""
    from sklearn.metrics import average_precision_score

    y, p = _check(y, p)
    return float(average_precision_score(y, p)) if y.sum() > 0 else float("nan")


def brier_score_loss(y, p) -> float:
    """Brier score: mean squared gap between probability and outcome (1 won, 0 lost). Lower is better; 0.25 = always 50 %."""
    y, p = _check(y, p)
    return float(np.mean((p - y) ** 2))


def log_loss(y, p, *, eps: float = EPS) -> float:
    """Log loss: mean -log of the probability given to what happened, probabilities clipped to
    [eps, 1 - eps]. Lower is better; 0.693 = always 50 %."""
    y, p = _check(y, p)
    p = np.clip(p, eps, 1 - eps)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def calibration_error(y, p, *, bins: int = 10) -> float:
    """Expected calibration error: mean |observed win rate - mean probability| over equal-count bins, weighted by deals. Lower is better."""
    t = calibration_table(y, p, bins=bins)
    return float(np.sum(t["n"] * np.abs(t["observed"] - t["predicted"])) / t["n"].sum())


def classification_metrics(y, p) -> dict[str, float]:
    """ROC AUC, PR AUC, Brier score, log loss, calibration error, base rate and n for one model."""
    y, p = _check(y, p)
    return {
        "roc_auc": roc_auc_score(y, p),
        "pr_auc": pr_auc_score(y, p),
        "brier": brier_score_loss(y, p),
        "log_loss": log_loss(y, p),
        "calibration_error": calibration_error(y, p),
        "base_rate": float(y.mean()) if len(y) else float("nan"),
        "n": int(len(y)),
    }


def _bins(p: np.ndarray, bins: int) -> np.ndarray:
    """Equal-count bin of each prediction (ties stay together), 0 .. bins-1."""
    order = np.argsort(p, kind="stable")
    ranks = np.empty(len(p))
    ranks[order] = np.arange(len(p))
    # ties: every equal value takes the bin of its first occurrence
    first = pd.Series(ranks).groupby(p).transform("min").to_numpy()
    return np.minimum((first * bins / max(len(p), 1)).astype(int), bins - 1)


def calibration_table(y, p, *, bins: int = 10, prob: float = 0.9) -> pd.DataFrame:
    """Observed win rate against mean predicted probability in equal-count bins.

    Columns: bin, n, predicted (mean probability), observed (win rate), lower / upper (the
    central ``prob`` Beta(1 + won, 1 + lost) interval of the observed rate).
    """
    from scipy.stats import beta

    y, p = _check(y, p)
    b = _bins(p, bins)
    t = (
        pd.DataFrame({"bin": b, "y": y, "p": p})
        .groupby("bin")
        .agg(n=("y", "size"), won=("y", "sum"), predicted=("p", "mean"))
    )
    t["observed"] = t["won"] / t["n"]
    tail = (1 - prob) / 2
    t["lower"] = beta.ppf(tail, 1 + t["won"], 1 + t["n"] - t["won"])
    t["upper"] = beta.ppf(1 - tail, 1 + t["won"], 1 + t["n"] - t["won"])
    return t.reset_index()[["bin", "n", "predicted", "observed", "lower", "upper"]]


def lift_table(y, p, *, groups: int = 10) -> pd.DataFrame:
    """Win rate by decile of predicted probability (decile 1 = highest scores) and its lift.

    lift = decile win rate / overall win rate; cumulative_capture = share of all wins found in
    this and higher deciles.
    """
    y, p = _check(y, p)
    # equal-size deciles; ties broken by row order (deterministic), so no decile is empty
    rank = pd.Series(-p).rank(method="first").to_numpy() - 1
    b = np.minimum((rank * groups / max(len(p), 1)).astype(int), groups - 1)
    t = (
        pd.DataFrame({"decile": b + 1, "y": y, "p": p})
        .groupby("decile")
        .agg(n=("y", "size"), won=("y", "sum"), predicted=("p", "mean"))
    )
    t["win_rate"] = t["won"] / t["n"]
    t["lift"] = t["win_rate"] / y.mean() if y.mean() > 0 else np.nan
    t["cumulative_capture"] = t["won"].cumsum() / y.sum() if y.sum() > 0 else np.nan
    return t.reset_index()


def compare_models(y, predictions: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """One row of :func:`classification_metrics` per model, in the order given."""
    return pd.DataFrame(
        {name: classification_metrics(y, p) for name, p in predictions.items()}
    ).T.rename_axis("model")


def verdict(
    comparison: pd.DataFrame,
    *,
    model: str = "lightgbm",
    tolerance: float = 0.005,
    names: Mapping[str, str] | None = None,
) -> dict[str, object]:
    """Does ``model`` beat every other row on ROC AUC, Brier score and log loss?

    Beats = better by a margin: ROC AUC higher by more than ``tolerance``, Brier score lower by
    more than ``tolerance / 10``, log loss lower by more than ``tolerance`` x its value. Returns
    ``{"beats_all": bool, "text": plain sentence, "losses": [(baseline, metric), ...]}``.
    """
    m = comparison.loc[model]
    losses = []
    for other in comparison.index.drop(model):
        o = comparison.loc[other]
        if not m["roc_auc"] > o["roc_auc"] + tolerance:
            losses.append((other, "roc_auc"))
        if not m["brier"] < o["brier"] - tolerance / 10:
            losses.append((other, "brier"))
        if not m["log_loss"] < o["log_loss"] * (1 - tolerance):
            losses.append((other, "log_loss"))
    names = {
        "lightgbm": "LightGBM",
        "stage_rate": "the stage win rate",
        "logistic": "the logistic regression",
        "channel_rate": "the channel conversion rate",
    } | dict(names or {})
    label = {"roc_auc": "ROC AUC", "brier": "Brier score", "log_loss": "log loss"}
    if not losses:
        text = f"{names.get(model, model)} beats every baseline on ROC AUC, Brier score and log loss on the held-out period."
    else:
        by_base: dict[str, list[str]] = {}
        for b, m_ in losses:
            by_base.setdefault(b, []).append(label[m_])
        pairs = "; ".join(f"{names.get(b, b)} on {', '.join(v)}" for b, v in by_base.items())
        text = f"{names.get(model, model)} does NOT clearly beat the baselines: it ties with or loses to {pairs}."
    return {"beats_all": not losses, "text": text, "losses": losses}


def truth_comparison(predicted, truth, *, bins: int = 10) -> dict[str, float]:
    """Predicted against true win probabilities (synthetic data): correlation, mean absolute
    error, and calibration error against the truth (mean |mean truth - mean prediction| over
    equal-count bins of the prediction, weighted by deals)."""
    p = np.asarray(predicted, dtype=float)
    q = np.asarray(truth, dtype=float)
    if p.shape != q.shape or len(p) < 3:
        raise ValueError(
            f"need matching predictions and truths (at least 3), got {len(p)} and {len(q)}"
        )
    b = _bins(p, bins)
    t = (
        pd.DataFrame({"b": b, "p": p, "q": q})
        .groupby("b")
        .agg(n=("p", "size"), p=("p", "mean"), q=("q", "mean"))
    )
    return {
        "pearson": float(np.corrcoef(p, q)[0, 1]),
        "spearman": float(pd.Series(p).rank().corr(pd.Series(q).rank())),
        "mean_abs_error": float(np.mean(np.abs(p - q))),
        "calibration_error": float(np.sum(t["n"] * np.abs(t["p"] - t["q"])) / t["n"].sum()),
        "n": int(len(p)),
    }


def snapshot_truth(
    rows: pd.DataFrame,
    deal_probability: Mapping[str, float] | pd.Series,
    reach_share: Mapping[str, float] | None = None,
    *,
    types: tuple[str, ...] = ("new_business",),
) -> pd.Series:
    """True win probability of each row, from the generator's truth (synthetic data only).

    ``deal_probability``: each deal's true P(win) at creation. With ``reach_share`` (share of
    lost deals that reach each stage), a deal open in stage k is worth
    ``p / (p + (1 - p) * reach_share[k])`` (Bayes: won deals reach every stage, and stage
    durations do not depend on the outcome). Rows of other ``types`` or unknown stages are NaN.
    """
    p = pd.Series(deal_probability, dtype=float)
    pt = rows["opportunity_id"].astype(object).map(p).to_numpy(dtype=float)
    if reach_share is not None and "stage" in rows:
        q = rows["stage"].astype(object).map(dict(reach_share)).to_numpy(dtype=float)
        pt = pt / (pt + (1 - pt) * q)
    ok = (
        rows["type"].astype(object).isin(types).to_numpy()
        if "type" in rows
        else np.ones(len(rows), bool)
    )
    return pd.Series(np.where(ok, pt, np.nan), index=rows.index, name="true_win_probability")


def ground_truth_win(ground_truth: Mapping) -> tuple[pd.Series, dict[str, float] | None]:
    """(true P(win) per deal, lost-deal stage reach shares) from the sample's ``ground_truth.json``
    (``win_model.p``: id -> p; older files: ``win_model.deals``: id -> {"p": p})."""
    wm = ground_truth.get("win_model", {})
    deals = wm.get("p") or wm.get("deals")
    if not deals:
        raise ValueError("ground truth has no win_model.p (per-deal true win probabilities)")
    p = pd.Series(
        {k: v["p"] if isinstance(v, Mapping) else v for k, v in deals.items()}, dtype=float
    )
    return p, wm.get("lost_reach_stage_share")
