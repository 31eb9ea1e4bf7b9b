"""Figures of the deal-scoring report. Each function returns a matplotlib Figure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

NAMES = {
    "lightgbm": "LightGBM (calibrated)",
    "stage_rate": "Stage win rate",
    "channel_rate": "Channel conversion rate",
    "logistic": "Logistic regression",
}


def _colors():
    from revlib.reporting import PALETTE

    s = PALETTE["series"]
    return {
        "lightgbm": s[0],
        "stage_rate": s[2],
        "channel_rate": s[2],
        "logistic": s[1],
        "model": s[0],
        "truth": s[3],
    }


def _unit_square(fig, ax, xlabel: str, ylabel: str, title: str):
    """Probability against probability: both axes 0-100 %, legend top left."""
    from revlib.reporting import pct_axis

    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel=xlabel, ylabel=ylabel, title=title)
    pct_axis(ax, "x")
    pct_axis(ax, "y")
    ax.legend(loc="upper left")
    return fig


def plot_calibration(curves: pd.DataFrame, *, title: str = "Calibration on the held-out period"):
    """Observed win rate against predicted probability per model (equal-count bins), with the
    90 % interval of the observed rate for the first model and the diagonal of perfect calibration."""
    import matplotlib.pyplot as plt

    col = _colors()
    fig, ax = plt.subplots(figsize=(6.2, 5.0))
    ax.plot([0, 1], [0, 1], color="#9ca3af", lw=1, ls="--", label="perfect calibration")
    for i, (name, g) in enumerate(curves.groupby("model", sort=False)):
        if i == 0:
            ax.fill_between(
                g["predicted"], g["lower"], g["upper"], color=col.get(name), alpha=0.15, lw=0
            )
        ax.plot(
            g["predicted"],
            g["observed"],
            marker="o",
            ms=4,
            color=col.get(name),
            label=NAMES.get(name, name),
        )
    return _unit_square(fig, ax, "predicted win probability", "observed win rate", title)


def plot_lift(
    lift: pd.DataFrame,
    *,
    title: str = "Win rate by decile of score (1 = highest)",
    ylabel: str = "win rate",
):
    """Win rate (or conversion rate, ``ylabel``) in each decile of predicted probability, one
    bar group per model, with the overall rate as a dashed line."""
    import matplotlib.pyplot as plt

    from revlib.reporting import legend_outside, pct_axis

    col = _colors()
    models = list(dict.fromkeys(lift["model"]))
    fig, ax = plt.subplots()
    width = 0.8 / len(models)
    for i, m in enumerate(models):
        g = lift[lift["model"] == m]
        ax.bar(
            g["decile"] + (i - (len(models) - 1) / 2) * width,
            g["win_rate"],
            width,
            color=col.get(m),
            label=NAMES.get(m, m),
        )
    base = float(
        lift.groupby("model")["won"].sum().iloc[0] / lift.groupby("model")["n"].sum().iloc[0]
    )
    ax.axhline(base, color="#6b7280", lw=1, ls="--", label=f"overall {base:.0%}")
    ax.set(
        xlabel="decile of predicted probability",
        ylabel=ylabel,
        title=title,
        xticks=range(1, 11),
    )
    pct_axis(ax)
    legend_outside(ax)
    return fig


def plot_roc_pr(y, predictions: Mapping[str, np.ndarray]):
    """ROC and precision-recall curves of every model on the held-out rows."""
    import matplotlib.pyplot as plt
    from sklearn.metrics import precision_recall_curve, roc_curve

    col = _colors()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4.2))
    y = np.asarray(y, dtype=float)
    for m, p in predictions.items():
        fpr, tpr, _ = roc_curve(y, p)
        prec, rec, _ = precision_recall_curve(y, p)
        a1.plot(fpr, tpr, color=col.get(m), label=NAMES.get(m, m))
        a2.plot(rec, prec, color=col.get(m), label=NAMES.get(m, m))
    a1.plot([0, 1], [0, 1], color="#9ca3af", ls="--", lw=1)
    a2.axhline(y.mean(), color="#9ca3af", ls="--", lw=1)
    a1.set(
        xlabel="false positive rate (lost deals flagged)",
        ylabel="true positive rate (won deals found)",
        title="ROC curve",
    )
    a2.set(
        xlabel="recall (share of wins found)",
        ylabel="precision (share flagged that won)",
        title="Precision-recall curve",
        ylim=(0, 1.02),
    )
    a1.legend(loc="lower right")
    return fig


def plot_importance(importance: pd.DataFrame, *, n: int = 12):
    """Mean |contribution| to the log-odds of winning, top ``n`` features."""
    import matplotlib.pyplot as plt

    top = importance.head(n).iloc[::-1]
    fig, ax = plt.subplots(figsize=(8, 0.32 * len(top) + 1.2))
    ax.barh(top["label"], top["mean_abs_contribution"], color=_colors()["lightgbm"])
    ax.set(
        xlabel="mean |contribution| to log-odds of winning",
        title="What drives the score (global importance)",
    )
    ax.grid(axis="y", visible=False)
    return fig


def plot_partial_dependence(
    frames: Sequence[pd.DataFrame], *, labels: Mapping[str, str] | None = None
):
    """Average win probability as one feature varies (others as they are), one panel per feature.
    Money features (``explain.MONEY_FEATURES``) get a money x axis, ratios a percentage one."""
    import matplotlib.pyplot as plt

    from revlib.reporting import column_format, money_axis, pct, pct_axis
    from revlib.scoring.explain import MONEY_FEATURES

    labels = dict(labels or {})
    n = len(frames)
    cols = min(n, 3)
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.4 * cols + 0.6, 2.9 * rows), squeeze=False)
    for ax, f in zip(axes.ravel(), frames, strict=False):
        name = f["feature"].iloc[0]
        numeric = pd.api.types.is_numeric_dtype(f["value"])
        if numeric:
            from matplotlib.ticker import FuncFormatter, MaxNLocator

            ax.plot(f["value"], f["win_probability"], marker="o", ms=3, color=_colors()["lightgbm"])
            if name in MONEY_FEATURES:
                money_axis(ax, "x")
            elif column_format(name, f["value"]) is pct:
                pct_axis(ax, "x")
            else:
                ax.xaxis.set_major_locator(MaxNLocator(5))
                ax.xaxis.set_major_formatter(
                    FuncFormatter(
                        lambda v, _: f"{v / 1000:,.0f}k" if abs(v) >= 10_000 else f"{v:g}"
                    )
                )
        else:
            ax.bar([str(v) for v in f["value"]], f["win_probability"], color=_colors()["lightgbm"])
            ax.tick_params(axis="x", rotation=35, labelsize=8)
        ax.set_title(labels.get(name, name), fontsize=10.5)
        pct_axis(ax)
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    fig.suptitle(
        "Partial dependence: average win probability",
        x=0.02,
        ha="left",
        fontsize=12,
        fontweight="bold",
    )
    return fig


def plot_truth(
    predicted, truth, *, title: str = "Predicted against true win probability (synthetic truth)"
):
    """Each held-out row's predicted probability against the generator's true probability, with
    the mean truth in equal-count bins of the prediction."""
    import matplotlib.pyplot as plt

    p = np.asarray(predicted, dtype=float)
    q = np.asarray(truth, dtype=float)
    fig, ax = plt.subplots(figsize=(6.2, 5.0))
    ax.scatter(
        q, p, s=6, alpha=0.25, color=_colors()["lightgbm"], lw=0, label="held-out deal snapshots"
    )
    order = np.argsort(p)
    bins = np.array_split(order, 10)
    ax.plot(
        [q[b].mean() for b in bins],
        [p[b].mean() for b in bins],
        "o-",
        color=_colors()["truth"],
        label="bin means",
    )
    ax.plot([0, 1], [0, 1], color="#9ca3af", ls="--", lw=1)
    return _unit_square(fig, ax, "true win probability", "predicted win probability", title)


def plot_close_errors(actual, predictions: Mapping[str, pd.Series]):
    """Histogram of (actual - predicted) close date in days per method, +/- 15 and 30 days marked."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    a = pd.to_datetime(pd.Series(actual)).reset_index(drop=True)
    bins = np.arange(-120, 125, 5).tolist()
    for i, (name, pred) in enumerate(predictions.items()):
        err = (
            (a - pd.to_datetime(pd.Series(pred)).reset_index(drop=True))
            .dt.days.dropna()
            .clip(-120, 120)
        )
        ax.hist(
            err,
            bins=bins,
            histtype="step",
            lw=1.8,
            label=name,
            color=["#2563eb", "#d97706", "#6b7280"][i % 3],
        )
    for d in (15, 30):
        ax.axvspan(-d, d, color="#059669", alpha=0.06)
    ax.set(
        xlabel="actual close minus predicted close (days; late closes to the right)",
        ylabel="won deal snapshots",
        title="Close-date error on held-out won deals",
    )
    ax.legend()
    return fig


def plot_pipeline_months(scores: pd.DataFrame):
    """Expected value (probability x amount) and raw amount of open deals by expected close month."""
    import matplotlib.pyplot as plt

    from revlib.reporting import money_axis

    g = scores.groupby("expected_close_month").agg(
        expected_value=("expected_value", "sum"),
        amount=("amount", "sum"),
        deals=("opportunity_id", "size"),
    )
    g = g.head(12)
    fig, ax = plt.subplots()
    x = np.arange(len(g))
    ax.bar(x, g["amount"], color="#dbeafe", label="pipeline amount")
    ax.bar(
        x,
        g["expected_value"],
        width=0.5,
        color=_colors()["lightgbm"],
        label="expected value (win probability x amount)",
    )
    for i, (ev, n) in enumerate(zip(g["expected_value"], g["deals"], strict=True)):
        ax.text(i, ev, f"{n} deals", ha="center", va="bottom", fontsize=8, color="#374151")
    ax.set_xticks(x, g.index, rotation=0)
    ax.set(xlabel="expected close month", title="Open pipeline by expected close month")
    money_axis(ax)
    ax.legend(loc="upper left", bbox_to_anchor=(0, -0.16), ncol=2)  # below, off the bars
    return fig
