"""Figures of the attribution and funnel report. Each returns a matplotlib Figure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from revlib.reporting import PALETTE, pct_axis

from .funnel import STAGE_LABELS, VELOCITY_LABELS, VELOCITY_STAGES, level_table
from .summary import MODEL_LABELS

TEAM_MODEL = "position"
HIGHLIGHT = ("position", "markov", "shapley")
"""Models drawn large in the model-comparison charts: the team's and the two fitted ones."""
_MARKERS = ["o", "s", "^", "v", "D", "P", "X", "*"]


def _model_styles(models: Sequence[str]) -> dict[str, dict]:
    """Scatter style per model: the highlighted models large and opaque, the rest small."""
    colours = PALETTE["series"]
    styles = {}
    for i, m in enumerate(models):
        marker = _MARKERS[i % len(_MARKERS)]
        big = m in HIGHLIGHT
        styles[m] = {
            "color": colours[i % len(colours)],
            "marker": marker,
            "s": (160 if marker == "*" else 75) if big else 30,
            "alpha": 1.0 if big else 0.55,
            "zorder": 4 if big else 3,
            "edgecolor": "white",
            "linewidth": 0.5,
        }
    return styles


def _model_dots(ax, wide: pd.DataFrame, models: Sequence[str]) -> None:
    """One dot per model and row of ``wide`` (rows = channels), offset vertically by model."""
    styles = _model_styles(models)
    y = np.arange(len(wide))
    offsets = np.linspace(-0.3, 0.3, len(models))
    for off, m in zip(offsets, models, strict=True):
        ax.scatter(wide[m], y + off, label=MODEL_LABELS.get(m, m), **styles[m])
    ax.set_yticks(y, wide.index)
    ax.grid(axis="y", visible=False)
    for k in range(len(wide) - 1):
        ax.axhline(k + 0.5, color=PALETTE["line"], linewidth=0.8)


def plot_channel_shares(
    shares: pd.DataFrame, *, truth: Mapping[str, float] | None = None
) -> Figure:
    """Each model's revenue share per channel (dots), with the true contribution (black bar)."""
    models = [c for c in shares.columns if c != "channel"]
    data = shares.set_index("channel")
    data = data.loc[data.mean(axis=1).sort_values().index]
    fig, ax = plt.subplots(figsize=(9.5, 0.62 * len(data) + 1.6))
    _model_dots(ax, data, models)
    if truth:
        true = pd.Series(truth, dtype=float).reindex(data.index)
        ax.scatter(
            true,
            np.arange(len(data)),
            marker="|",
            s=1100,
            color=PALETTE["ink"],
            linewidth=2.5,
            label="True contribution",
            zorder=5,
        )
    ax.axvline(0, color="#9ca3af", linewidth=0.8)
    pct_axis(ax, "x")
    ax.set_xlabel("share of the revenue credited to marketing channels")
    ax.set_title("Channel revenue share by attribution model")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=9, labelspacing=0.9)
    return fig


def plot_model_error(errors: pd.DataFrame) -> Figure:
    """Each model's total absolute difference from the true channel shares (lower is better)."""
    e = errors.sort_values("l1_error", ascending=False)
    fig, ax = plt.subplots(figsize=(8.0, 0.42 * len(e) + 1.2))
    colours = [PALETTE["primary"] if m == TEAM_MODEL else "#9ca3af" for m in e["model"]]
    ax.barh([MODEL_LABELS.get(m, m) for m in e["model"]], e["l1_error"], color=colours)
    for i, v in enumerate(e["l1_error"]):
        ax.text(v, i, f" {v * 100:.0f} pp", va="center", fontsize=9, color=PALETTE["ink"])
    pct_axis(ax, "x")
    ax.set_xlabel("sum over channels of |model share − true share| (0 = perfect, 200 % = disjoint)")
    ax.set_title("Distance from the true channel contributions (team model in blue)")
    ax.grid(axis="y", visible=False)
    return fig


def plot_roas(roi: pd.DataFrame, *, models: Sequence[str] | None = None) -> Figure:
    """Attributed revenue per dollar of spend (ROAS) by channel under each model; 1 = break-even."""
    r = roi[roi["spend"] > 0]
    models = (
        list(models) if models is not None else [m for m in MODEL_LABELS if m in set(r["model"])]
    )
    wide = r.pivot(index="channel", columns="model", values="roas")[models]
    wide = wide.loc[wide.mean(axis=1).sort_values().index]
    fig, ax = plt.subplots(figsize=(9.5, 0.62 * len(wide) + 1.6))
    _model_dots(ax, wide, models)
    ax.axvline(1.0, color=PALETTE["critical"], linestyle="--", linewidth=1.2)
    ax.text(1.0, len(wide) - 0.55, " break-even", color=PALETTE["critical"], fontsize=9, va="top")
    ax.set_xlabel("attributed revenue / spend (ROAS, x)")
    ax.set_title("Return on spend by channel, every model")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=9, labelspacing=0.9)
    return fig


def _target_lines(ax, row: pd.Series, *, vertical: bool = True) -> None:
    line = ax.axvline if vertical else ax.axhline
    if pd.notna(row.get("current")):
        line(row["current"], color="#6b7280", linestyle=":", linewidth=1.4)
    if pd.notna(row.get("target")):
        line(row["target"], color=PALETTE["good"], linestyle="--", linewidth=1.4)


def _finish(fig: Figure, title: str, handles: Sequence[Line2D] = ()) -> Figure:
    """Figure title at the top left and, with ``handles``, one legend row along the bottom."""
    if handles:
        fig.legend(
            handles=list(handles),
            loc="lower center",
            ncol=len(handles),
            bbox_to_anchor=(0.5, -0.02),
            fontsize=9,
        )
    fig.suptitle(title, x=0.01, ha="left", fontsize=12.5, fontweight="bold")
    fig.tight_layout(rect=(0, 0.08 if handles else 0, 1, 1))
    return fig


def _target_legend() -> list[Line2D]:
    return [
        Line2D([], [], color="#6b7280", linestyle=":", label="team's current rate"),
        Line2D([], [], color=PALETTE["good"], linestyle="--", label="target"),
    ]


def plot_funnel_targets(
    rates: pd.DataFrame, *, by: str | None = None, truth: pd.DataFrame | None = None
) -> Figure:
    """Posterior rate of each stage (dot, 94 % interval) against the team's current rate and
    target, one panel per stage; with ``by``, one row per group. ``truth``: optional
    (by, stage, rate) of the true rates, shown as black crosses. ``rates`` may be a stacked
    :func:`revlib.attribution.funnel_summary`."""
    rates = level_table(rates, by or "all")
    stages = [s for s in STAGE_LABELS if s in set(rates["stage"])]
    fig, axes = plt.subplots(
        1,
        len(stages),
        figsize=(3.0 * len(stages) + 1.5, 0.38 * (rates[by].nunique() if by else 1) + 2.0),
        sharey=True,
        squeeze=False,
    )
    groups = sorted(rates[by].unique()) if by else ["all"]
    y = np.arange(len(groups))
    for ax, stage in zip(axes[0], stages, strict=True):
        r = rates[rates["stage"] == stage]
        r = r.set_index(by).reindex(groups) if by else r.assign(_g="all").set_index("_g")
        met = r["mean"] >= r["target"]
        colour = np.where(
            met,
            PALETTE["good"],
            np.where(r["mean"] >= r["current"], PALETTE["primary"], PALETTE["warning"]),
        )
        ax.errorbar(
            r["mean"],
            y,
            xerr=[r["mean"] - r["lower"], r["upper"] - r["mean"]],
            fmt="none",
            ecolor="#9ca3af",
            zorder=2,
        )
        ax.scatter(r["mean"], y, c=colour, s=40, zorder=3)
        if truth is not None:
            t = truth[truth["stage"] == stage]
            t = t.set_index(by).reindex(groups) if by else t
            ax.scatter(t["rate"], y[: len(t)], marker="x", color=PALETTE["ink"], s=36, zorder=4)
        _target_lines(ax, r.iloc[0])
        ax.set_title(STAGE_LABELS[stage], fontsize=11)
        pct_axis(ax, "x")
        ax.grid(axis="y", visible=False)
    axes[0][0].set_yticks(y, groups)
    handles = _target_legend() + [
        Line2D(
            [],
            [],
            color="#9ca3af",
            marker="o",
            markerfacecolor=PALETTE["primary"],
            label="posterior mean, 94 % interval",
        )
    ]
    if truth is not None:
        handles.append(
            Line2D([], [], color=PALETTE["ink"], marker="x", linestyle="", label="true rate")
        )
    title = "Funnel conversion against the team's targets" + (f" by {by}" if by else "")
    return _finish(fig, title, handles)


def plot_rates_over_time(rates: pd.DataFrame) -> Figure:
    """Monthly cohort rate of each stage: posterior mean and 94 % band, with current and target.
    ``rates``: rates with a ``month`` column, or a stacked ``funnel_summary``."""
    rates = level_table(rates, "month")
    stages = [s for s in STAGE_LABELS if s in set(rates["stage"])]
    fig, axes = plt.subplots(1, len(stages), figsize=(3.2 * len(stages) + 1.0, 3.4), squeeze=False)
    for ax, stage in zip(axes[0], stages, strict=True):
        r = rates[rates["stage"] == stage].sort_values("month")
        ax.fill_between(
            r["month"], r["lower"], r["upper"], color=PALETTE["primary"], alpha=0.18, linewidth=0
        )
        ax.plot(r["month"], r["mean"], color=PALETTE["primary"], linewidth=1.6)
        _target_lines(ax, r.iloc[0], vertical=False)
        ax.set_title(STAGE_LABELS[stage], fontsize=11)
        pct_axis(ax, "y")
        ax.tick_params(axis="x", labelrotation=45, labelsize=8.5)
    return _finish(fig, "Conversion by cohort month (posterior mean, 94 % band)", _target_legend())


def plot_velocity_over_time(velocity: pd.DataFrame) -> Figure:
    """Median days of each stage by cohort month, middle half shaded. ``velocity``: with a
    ``month`` column, or a stacked ``velocity_summary``."""
    velocity = level_table(velocity, "month")
    stages = [s for s in VELOCITY_STAGES if s in set(velocity["stage"])]
    fig, ax = plt.subplots(figsize=(9.5, 3.8))
    for i, stage in enumerate(stages):
        v = velocity[velocity["stage"] == stage].sort_values("month")
        colour = PALETTE["series"][i % len(PALETTE["series"])]
        ax.fill_between(
            v["month"], v["p25_days"], v["p75_days"], color=colour, alpha=0.12, linewidth=0
        )
        ax.plot(
            v["month"],
            v["median_days"],
            color=colour,
            linewidth=1.8,
            label=VELOCITY_LABELS.get(stage, stage),
        )
    ax.set_ylabel("days")
    ax.set_ylim(bottom=0)
    ax.set_title("Stage velocity by cohort month: median days (band: middle half of journeys)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=9)
    return fig


def plot_velocity(velocity: pd.DataFrame, *, by: str = "channel") -> Figure:
    """Median days per stage by group, whiskers from the 25th to the 75th percentile.
    ``velocity`` may be a stacked ``velocity_summary``."""
    velocity = level_table(velocity, by)
    stages = [s for s in VELOCITY_STAGES if s in set(velocity["stage"])]
    groups = sorted(velocity[by].astype(str).unique())
    fig, axes = plt.subplots(
        1,
        len(stages),
        figsize=(3.0 * len(stages) + 1.5, 0.38 * len(groups) + 1.8),
        sharey=True,
        squeeze=False,
    )
    y = np.arange(len(groups))
    for ax, stage in zip(axes[0], stages, strict=True):
        v = (
            velocity[velocity["stage"] == stage]
            .assign(**{by: lambda d: d[by].astype(str)})
            .set_index(by)
            .reindex(groups)
        )
        ax.errorbar(
            v["median_days"],
            y,
            xerr=[v["median_days"] - v["p25_days"], v["p75_days"] - v["median_days"]],
            fmt="o",
            color=PALETTE["primary"],
            ecolor="#9ca3af",
            markersize=5,
        )
        ax.set_title(VELOCITY_LABELS.get(stage, stage), fontsize=11)
        ax.set_xlabel("days")
        ax.set_xlim(left=0)
        ax.grid(axis="y", visible=False)
    axes[0][0].set_yticks(y, groups)
    return _finish(fig, f"Stage velocity by {by}: median days (bar: middle half of journeys)")
