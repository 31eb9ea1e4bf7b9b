"""Figures of the pricing reports. Every function returns a matplotlib Figure in house style
(call :func:`revlib.reporting.setup_plots` first)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from revlib.reporting import AMBER, BLUE, GREEN, MUTED, RED, money_axis, pct_axis


def _grid(n: int, ncols: int, *, width: float = 12.0, row_height: float = 2.4):
    import matplotlib.pyplot as plt

    ncols = max(1, min(ncols, n))
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(width, row_height * nrows + 0.6), squeeze=False)
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    return fig, axes.ravel()


def plot_forest(
    summary: pd.DataFrame,
    *,
    truth: pd.Series | None = None,
    pooled: float | None = None,
    title: str = "Price elasticity by group (mean and 94 % interval)",
):
    """Forest plot of the elasticity posterior per group, sorted; optional true values
    (``truth`` indexed like ``summary``) and the pooled mean as a vertical line."""
    import matplotlib.pyplot as plt

    lo = next(c for c in summary.columns if c.startswith("hdi_") and float(c[4:-1]) < 50)
    hi = next(c for c in summary.columns if c.startswith("hdi_") and float(c[4:-1]) > 50)
    order = summary["mean"].sort_values(ascending=False).index
    s = summary.loc[order]
    y = np.arange(len(s))
    fig, ax = plt.subplots(figsize=(9.5, max(0.28 * len(s) + 1.8, 3.2)))
    ax.hlines(y, s[lo], s[hi], color=BLUE, lw=2.2, alpha=0.75, label="94 % interval")
    ax.plot(s["mean"], y, "o", color=BLUE, ms=5, label="posterior mean")
    if truth is not None:
        t = truth.loc[order]
        ax.plot(t, y, "x", color=RED, ms=6, mew=1.8, label="true value (synthetic)")
    if pooled is not None:
        ax.axvline(pooled, color=MUTED, ls="--", lw=1, label=f"pooled mean {pooled:.2f}")
    ax.axvline(-1, color=AMBER, ls=":", lw=1.2, label="unit elastic (-1)")
    ax.set_yticks(y, s["group"])
    ax.set_xlabel("elasticity: % change in units per +1 % price")
    ax.set_title(title)
    ax.grid(axis="y", visible=False)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8.5)  # off the data
    return fig


def plot_curves(
    curves: pd.DataFrame,
    recommendations: pd.DataFrame,
    *,
    measure: str = "revenue",
    ncols: int = 5,
    title: str | None = None,
):
    """Small multiples: expected ``measure`` (units, revenue or profit) per period against
    price for each group, with its 94 % band, today's price (grey) and the recommended price
    (green)."""
    if measure not in ("units", "revenue", "profit"):
        raise ValueError(f"measure must be 'units', 'revenue' or 'profit', got {measure!r}")
    groups = list(dict.fromkeys(curves["group"]))
    fig, axes = _grid(len(groups), ncols)
    rec = recommendations.set_index("group")
    for ax, g in zip(axes, groups, strict=False):
        c = curves[curves["group"] == g]
        ax.fill_between(
            c["price"], c[f"{measure}_lower"], c[f"{measure}_upper"], color=BLUE, alpha=0.18, lw=0
        )
        ax.plot(c["price"], c[f"{measure}_mean"], color=BLUE, lw=1.8)
        if g in rec.index:
            ax.axvline(rec.loc[g, "today_price"], color=MUTED, ls="--", lw=1)
            ax.axvline(rec.loc[g, "recommended_price"], color=GREEN, lw=1.6)
        ax.set_title(g, fontsize=9.5)
        ax.tick_params(labelsize=7.5)
        if measure != "units":
            money_axis(ax)
        money_axis(ax, "x", nbins=4)
    label = {
        "units": "Expected units per period",
        "revenue": "Expected revenue per period",
        "profit": "Expected profit per period",
    }
    fig.suptitle(
        title or f"{label[measure]} by price (band 94 %; grey dashed: today, green: recommended)",
        x=0.01,
        ha="left",
        fontsize=12,
        fontweight="bold",
    )
    return fig


def plot_gain(
    recommendations: pd.DataFrame,
    *,
    title: str = "Expected gain of the recommended price over today's",
):
    """Relative gain in the objective at the recommended price, mean and 94 % interval."""
    import matplotlib.pyplot as plt

    r = recommendations.sort_values("gain_mean").reset_index(drop=True)
    y = np.arange(len(r))
    fig, ax = plt.subplots(figsize=(9.5, 0.28 * len(r) + 1.4))
    colors = [GREEN if lo > 0 else AMBER for lo in r["gain_lower"]]
    ax.hlines(y, r["gain_lower"], r["gain_upper"], color=colors, lw=2.2)
    ax.scatter(r["gain_mean"], y, color=colors, s=22, zorder=3)
    ax.axvline(0, color=MUTED, lw=1)
    ax.set_yticks(y, r["group"] + "  (" + r["objective"] + ")")
    pct_axis(ax, "x")
    ax.set_xlabel("gain in expected revenue or profit per period (green: 94 % interval above zero)")
    ax.set_title(title)
    ax.grid(axis="y", visible=False)
    return fig


def plot_ppp(
    ppp: pd.DataFrame,
    *,
    title: str = "Geographic price levels: today's rule vs the model's recommendation",
):
    """Per product, today's regional price level next to the recommended one (share of the
    reference region's price)."""
    products = list(dict.fromkeys(ppp["product"]))
    fig, axes = _grid(len(products), min(len(products), 5), row_height=2.8)
    for ax, p in zip(axes, products, strict=False):
        d = ppp[ppp["product"] == p]
        x = np.arange(len(d))
        ax.bar(x - 0.2, d["today_level"], 0.4, color=MUTED, alpha=0.6, label="today's rule")
        ax.bar(x + 0.2, d["recommended_level"], 0.4, color=GREEN, label="recommended")
        ax.set_xticks(x, d["region"], fontsize=8)
        ax.set_title(p, fontsize=10)
        pct_axis(ax)
        ax.set_ylim(
            0, max(1.2, float(np.nanmax(d[["today_level", "recommended_level"]].to_numpy())) * 1.1)
        )
    axes[0].legend(fontsize=8, loc="lower left")
    fig.suptitle(title, x=0.01, ha="left", fontsize=12, fontweight="bold")
    return fig


def plot_ppc(ppc, *, title: str = "Posterior predictive check: log units, observed vs replicated"):
    """Density of observed log units against 50 replicated data sets (arviz ``plot_ppc``)."""
    import arviz as az
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9.5, 3.6))
    az.plot_ppc(ppc, var_names=["log_units"], num_pp_samples=50, ax=ax, random_seed=0)
    ax.set_title(title)
    ax.set_xlabel("log(units)")
    return fig


def plot_energy(
    idata, *, title: str = "Energy: marginal vs transition (similar widths = sampler explored well)"
):
    """Energy plot (arviz): the marginal energy and energy-transition distributions."""
    import arviz as az
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 3.2))
    az.plot_energy(idata, ax=ax)
    ax.set_title(title)
    return fig


# ----------------------------------------------------------------------------- price tests


def plot_tests(arms: pd.DataFrame, curve: pd.DataFrame, *, measure: str = "rpv", ncols: int = 2):
    """Per test: each arm's conversion (``measure="conv"``) or revenue per visitor ("rpv") with
    its 94 % interval, over the pooled curve's band; the leader is green."""
    if measure not in ("conv", "rpv"):
        raise ValueError(f"measure must be 'conv' or 'rpv', got {measure!r}")
    tests = list(dict.fromkeys(arms["test_id"]))
    fig, axes = _grid(len(tests), ncols, row_height=3.0)
    for ax, t in zip(axes, tests, strict=False):
        a = arms[arms["test_id"] == t]
        c = curve[curve["test_id"] == t]
        ax.fill_between(
            c["price"],
            c[f"{measure}_lower"],
            c[f"{measure}_upper"],
            color=BLUE,
            alpha=0.15,
            lw=0,
            label="pooled curve, 94 %",
        )
        ax.plot(c["price"], c[f"{measure}_mean"], color=BLUE, lw=1.4)
        lead = a["rpv_mean"].idxmax()
        for i, row in a.iterrows():
            col = GREEN if i == lead else "#374151"
            ax.errorbar(
                row["price"],
                row[f"{measure}_mean"],
                yerr=[
                    [row[f"{measure}_mean"] - row[f"{measure}_lower"]],
                    [row[f"{measure}_upper"] - row[f"{measure}_mean"]],
                ],
                fmt="o",
                color=col,
                capsize=3,
                ms=5,
            )
            ax.annotate(
                row["variant"],
                (row["price"], row[f"{measure}_upper"]),
                textcoords="offset points",
                xytext=(0, 4),
                ha="center",
                fontsize=8,
            )
        ax.set_title(f"{t}  ({a['visitors'].sum():,} visitors)", fontsize=10)
        money_axis(ax, "x")
        if measure == "rpv":
            money_axis(ax)
        else:
            pct_axis(ax)
    name = "Revenue per visitor" if measure == "rpv" else "Conversion rate"
    fig.suptitle(
        f"{name} by tested price (arms: mean and 94 % interval; green = leader)",
        x=0.01,
        ha="left",
        fontsize=12,
        fontweight="bold",
    )
    return fig


def plot_prob_best(arms: pd.DataFrame, *, threshold: float = 0.95, ncols: int = 4):
    """Probability each price has the highest revenue per visitor, per test."""
    tests = list(dict.fromkeys(arms["test_id"]))
    fig, axes = _grid(len(tests), ncols, row_height=2.5)
    for ax, t in zip(axes, tests, strict=False):
        a = arms[arms["test_id"] == t]
        colors = [GREEN if p >= threshold else BLUE for p in a["prob_best"]]
        ax.bar(a["variant"], a["prob_best"], color=colors)
        ax.axhline(threshold, color=AMBER, ls="--", lw=1)
        ax.set_ylim(0, 1)
        pct_axis(ax)
        ax.set_title(t, fontsize=9.5)
        ax.tick_params(axis="x", labelsize=8)
    fig.suptitle(
        f"P(best price) per arm (dashed: the {threshold:.0%} winner threshold)",
        x=0.01,
        ha="left",
        fontsize=12,
        fontweight="bold",
    )
    return fig


def plot_sample_size(
    baseline: float,
    *,
    lifts: Sequence[float] = (0.05, 0.10, 0.15, 0.20, 0.30),
    rule_visitors: int = 1000,
):
    """Visitors per variant needed to detect each relative lift at ``baseline`` conversion
    (two-sided 95 %, power 80 %), against the team's rule of thumb."""
    import matplotlib.pyplot as plt

    from revlib.pricing.experiments import visitors_per_variant

    n = [visitors_per_variant(baseline, lift) for lift in lifts]
    fig, ax = plt.subplots(figsize=(8, 3.2))
    ax.bar(
        [f"{lift:+.0%}" for lift in lifts],
        n,
        color=[GREEN if v <= rule_visitors else AMBER for v in n],
    )
    ax.axhline(
        rule_visitors,
        color=RED,
        ls="--",
        lw=1.2,
        label=f"rule of thumb: {rule_visitors:,} per variant",
    )
    ax.set_yscale("log")
    ax.set_ylabel("visitors per variant")
    ax.set_xlabel("relative lift in conversion to detect")
    ax.set_title(f"Test size needed at {baseline:.1%} baseline conversion (95 %, power 80 %)")
    ax.legend(fontsize=8.5)
    return fig


def plot_offer_arms(arms: pd.DataFrame):
    """Per offer test (rows): conversion, LTV, CAC payback and value per visitor of each arm
    (columns), posterior mean and 94 % interval; the most valuable arm in green."""
    import matplotlib.pyplot as plt

    panels = [
        ("conversion", "Conversion", pct_axis),
        ("ltv", "LTV per customer", money_axis),
        ("payback", "CAC payback (months)", None),
        ("value", "Value per visitor", money_axis),
    ]
    tests = list(dict.fromkeys(arms["test_id"]))
    fig, axes = plt.subplots(
        len(tests),
        len(panels),
        figsize=(12, 1.0 + 0.45 * len(arms) + 0.5 * len(tests)),
        squeeze=False,
    )
    for row, test_id in zip(axes, tests, strict=True):
        g = arms[arms["test_id"] == test_id].reset_index(drop=True)
        y = np.arange(len(g))
        best = int(np.argmax(g["value_mean"].to_numpy()))
        colors = [GREEN if i == best else BLUE for i in range(len(g))]
        for ax, (metric, label, axis_fmt) in zip(row, panels, strict=True):
            ax.hlines(y, g[f"{metric}_lower"], g[f"{metric}_upper"], color=colors, lw=2.2)
            ax.scatter(g[f"{metric}_mean"], y, color=colors, s=22, zorder=3)
            ax.set_yticks(y, g["variant"] if ax is row[0] else [""] * len(g))
            ax.set_ylim(-0.6, len(g) - 0.4)
            ax.grid(axis="y", visible=False)
            ax.tick_params(labelsize=8)
            if axis_fmt is not None:
                axis_fmt(ax, "x", nbins=4)
            if metric == "value":
                ax.axvline(0, color=MUTED, lw=1)
            ax.set_title(
                label if ax is not row[0] else f"{test_id}\n{label}", fontsize=9, loc="left"
            )
    fig.suptitle(
        "Offer tests: each arm's mean and 94 % interval (green: most value per visitor)",
        x=0.01,
        ha="left",
        fontsize=12,
        fontweight="bold",
    )
    fig.tight_layout()
    return fig


def plot_quotes(quotes: pd.DataFrame, ladder: pd.DataFrame | None = None):
    """Left: the distribution of quote / list price over every open deal. Right: each deal's
    quote by product (dots) against the list price (grey bar) and, where the ladder carries
    it, the elasticity model's NA recommendation (green bar); money per seat per month, log
    scale."""
    import matplotlib.pyplot as plt

    from revlib.reporting import legend_outside

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 3.8), gridspec_kw={"width_ratios": [1, 1.4]})
    ratio = quotes["quote"] / quotes["list_price"]
    a1.hist(ratio, bins=np.arange(0.4, 1.75, 0.05), color=BLUE, alpha=0.85)
    a1.axvline(1, color=MUTED, ls="--", lw=1)
    a1.set_xlabel("quote / list price")
    a1.set_ylabel("open deals")
    pct_axis(a1, "x", nbins=5)
    a1.set_title("Quotes against the list price", fontsize=10, loc="left")
    products = list(dict.fromkeys(ladder["product"])) if ladder is not None else None
    products = products or list(dict.fromkeys(quotes["product"]))
    rng = np.random.default_rng(0)
    for i, p in enumerate(products):
        q = quotes.loc[quotes["product"] == p, "quote"].to_numpy(float)
        a2.scatter(
            i + rng.uniform(-0.25, 0.25, len(q)),
            q,
            s=9,
            color=BLUE,
            alpha=0.55,
            label="quote" if i == 0 else None,
        )
        lp = quotes.loc[quotes["product"] == p, "list_price"]
        if len(lp):
            a2.hlines(
                lp.iloc[0],
                i - 0.35,
                i + 0.35,
                color=MUTED,
                lw=2.5,
                label="list price" if i == 0 else None,
            )
        if ladder is not None and "recommended_price" in ladder.columns:
            rec = ladder.loc[
                (ladder["product"] == p) & (ladder["region"] == "NA"), "recommended_price"
            ]
            if len(rec) and np.isfinite(rec.iloc[0]):
                a2.hlines(
                    rec.iloc[0],
                    i - 0.35,
                    i + 0.35,
                    color=GREEN,
                    lw=2.5,
                    label="elasticity recommendation (NA)" if i == 0 else None,
                )
    a2.set_yscale("log")
    a2.set_xticks(range(len(products)), products)
    money_axis(a2)
    a2.grid(axis="x", visible=False)
    a2.set_title("Each open deal's quote by product", fontsize=10, loc="left")
    legend_outside(a2)
    fig.tight_layout()
    return fig
