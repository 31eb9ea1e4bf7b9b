"""Figures of the wtp_survey report. Every function returns a matplotlib Figure in house style
(call :func:`revlib.reporting.setup_plots` first)."""

from __future__ import annotations

import math

import pandas as pd

from revlib.reporting import AMBER, BLUE, GREEN, RED, money_axis, pct_axis

CURVES = (  # column, label, colour, line style
    ("too_cheap", "too cheap", GREEN, ":"),
    ("not_cheap", "not cheap", GREEN, "-"),
    ("not_expensive", "not expensive", RED, "-"),
    ("too_expensive", "too expensive", RED, ":"),
)
POINT_LABELS = {"pmc": "PMC", "opp": "OPP", "idp": "IDP", "pme": "PME"}
POINT_CURVES = {  # the two plotted curves that cross at each point (share read off the first)
    "pmc": "too_cheap",
    "opp": "too_cheap",
    "idp": "not_cheap",
    "pme": "too_expensive",
}


def _grid(n: int, ncols: int, *, width: float = 12.0, row_height: float = 3.0):
    import matplotlib.pyplot as plt

    ncols = max(1, min(ncols, n))
    fig, axes = plt.subplots(
        math.ceil(n / ncols),
        ncols,
        figsize=(width, row_height * math.ceil(n / ncols) + 0.6),
        squeeze=False,
    )
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    return fig, axes.ravel()


def _psm_axes(ax, curves: pd.DataFrame, points: pd.DataFrame, *, legend: bool) -> None:
    """Draw one PSM chart: four curves, the acceptable range, the points with intervals."""
    import numpy as np

    pts = points.set_index("point")
    ax.axvspan(
        pts.loc["pmc", "estimate"],
        pts.loc["pme", "estimate"],
        color=BLUE,
        alpha=0.08,
        lw=0,
        label="acceptable range",
    )
    for col, label, colour, ls in CURVES:
        ax.plot(curves["price"], curves[col], color=colour, ls=ls, lw=1.5, label=label)
    for k, name in POINT_LABELS.items():
        x = pts.loc[k, "estimate"]
        y = float(np.interp(x, curves["price"], curves[POINT_CURVES[k]]))
        if "lower" in pts.columns:
            ax.errorbar(
                x,
                y,
                xerr=[[x - pts.loc[k, "lower"]], [pts.loc[k, "upper"] - x]],
                fmt="o",
                color="#111827",
                ms=4,
                capsize=3,
                lw=1,
            )
        ax.annotate(name, (x, y), textcoords="offset points", xytext=(4, 6), fontsize=8)
    ax.set_xscale("log")
    money_axis(ax, "x")
    pct_axis(ax)
    ax.set_ylim(0, 1.02)
    if legend:
        ax.legend(fontsize=8, loc="center right")


def plot_psm(curves: pd.DataFrame, points: pd.DataFrame, *, title: str = ""):
    """The Van Westendorp chart (log price axis): too cheap, not cheap, not expensive, too expensive (share of
    respondents) by price, the acceptable range PMC..PME shaded, the four points with their
    bootstrap intervals (horizontal bars)."""
    fig, (ax,) = _grid(1, 1, width=11, row_height=4.6)
    _psm_axes(ax, curves, points, legend=True)
    ax.set_xlabel("price (USD / month, log scale)")
    fig.suptitle(
        title or "Van Westendorp price sensitivity meter",
        x=0.01,
        ha="left",
        fontsize=12,
        fontweight="semibold",
    )
    return fig


def plot_psm_segments(curves: dict[str, pd.DataFrame], points: pd.DataFrame, *, ncols: int = 2):
    """One PSM chart per segment (``points``: long table with a ``segment`` column)."""
    fig, axes = _grid(len(curves), ncols, row_height=3.2)
    for i, (ax, (seg, c)) in enumerate(zip(axes, curves.items(), strict=False)):
        _psm_axes(ax, c, points[points["segment"] == seg], legend=i == 0)
        n = points[points["segment"] == seg]
        ax.set_title(
            f"{seg}  (OPP {n.set_index('point').loc['opp', 'estimate']:,.0f})", fontsize=10
        )
    fig.suptitle(
        "Price sensitivity by segment (points with 90 % bootstrap intervals)",
        x=0.01,
        ha="left",
        fontsize=12,
        fontweight="semibold",
    )
    return fig


def plot_nms(curves: pd.DataFrame, optima: pd.DataFrame):
    """Newton-Miller-Smith per segment (one row each): trial (share who would buy) and revenue
    per respondent by price (log axis), the maximising prices (dashed) and their 90 % bootstrap
    intervals (band)."""
    segs = list(dict.fromkeys(curves["segment"]))
    fig, axes = _grid(2 * len(segs), 2, width=12, row_height=2.6)
    for i, s in enumerate(segs):
        c = curves[curves["segment"] == s]
        o = optima[optima["segment"] == s].set_index("point")
        for ax, col, key, colour in (
            (axes[2 * i], "trial", "max_trial", BLUE),
            (axes[2 * i + 1], "revenue", "max_revenue", GREEN),
        ):
            ax.plot(c["price"], c[col], color=colour, lw=1.6)
            ax.axvspan(o.loc[key, "lower"], o.loc[key, "upper"], color=colour, alpha=0.12, lw=0)
            ax.axvline(o.loc[key, "estimate"], color=colour, ls="--", lw=1)
            ax.set_title(f"{s}: {col}, max at {o.loc[key, 'estimate']:,.0f}", fontsize=10)
            ax.set_xscale("log")
            money_axis(ax, "x")
            (pct_axis if col == "trial" else money_axis)(ax)
    fig.suptitle(
        "Newton-Miller-Smith: trial and revenue per respondent by segment",
        x=0.01,
        ha="left",
        fontsize=12,
        fontweight="semibold",
    )
    return fig


def plot_gabor_granger(
    curves: pd.DataFrame,
    agg: pd.DataFrame,
    optima: pd.DataFrame,
    *,
    measure: str = "demand",
    ncols: int = 2,
):
    """Per segment: posterior demand (share who would buy; with observed shares as dots) or
    revenue per respondent (with the revenue-maximising price and its interval), mean and 90 %
    band."""
    segs = list(dict.fromkeys(curves["segment"]))
    fig, axes = _grid(len(segs), ncols, row_height=3.0)
    o = optima.set_index("segment")
    for ax, s in zip(axes, segs, strict=False):
        c = curves[curves["segment"] == s]
        colour = BLUE if measure == "demand" else GREEN
        ax.fill_between(
            c["price"], c[f"{measure}_lower"], c[f"{measure}_upper"], color=colour, alpha=0.18, lw=0
        )
        ax.plot(c["price"], c[measure], color=colour, lw=1.6)
        if measure == "demand":
            a = agg[agg["segment"] == s]
            ax.plot(a["price"], a["share"], "o", color="#111827", ms=4, label="observed share")
            pct_axis(ax)
            ax.set_title(f"{s}: median WTP {o.loc[s, 'median_wtp']:,.0f}", fontsize=10)
        else:
            ax.axvspan(o.loc[s, "lower"], o.loc[s, "upper"], color=AMBER, alpha=0.15, lw=0)
            ax.axvline(o.loc[s, "revenue_max_price"], color=AMBER, ls="--", lw=1)
            money_axis(ax)
            ax.set_title(
                f"{s}: revenue-max price {o.loc[s, 'revenue_max_price']:,.0f} "
                f"({o.loc[s, 'lower']:,.0f}-{o.loc[s, 'upper']:,.0f})",
                fontsize=10,
            )
        money_axis(ax, "x")
    name = "Demand (share who would buy)" if measure == "demand" else "Revenue per respondent"
    fig.suptitle(
        f"Gabor-Granger: {name} by price, posterior mean and 90 % band",
        x=0.01,
        ha="left",
        fontsize=12,
        fontweight="semibold",
    )
    return fig
