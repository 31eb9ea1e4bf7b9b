"""Figures of the customer-health report. Each function returns a matplotlib Figure in the
house style (``revlib.reporting.setup_plots``)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from revlib.health.rubric import Rubric
from revlib.reporting import PALETTE, legend_outside, money, money_axis, pct_axis, wrap_label

BAND_COLOURS = {
    "expansion": "#059669",
    "optimise": "#2563eb",
    "retention_risk": "#d97706",
    "churn_risk": "#ea580c",
    "lost": "#dc2626",
}
MODEL_COLOURS = {
    "Team rubric": "#6b7280",
    "Suggested weights": "#2563eb",
    "LightGBM": "#059669",
    "LightGBM + account size, tier, tenure": "#7c3aed",
}


def _plt():
    import matplotlib.pyplot as plt

    return plt


def _band_colour(name: str, i: int = 0) -> str:
    return BAND_COLOURS.get(name, PALETTE["series"][i % len(PALETTE["series"])])


def plot_score_distribution(snapshot: pd.DataFrame, rubric: Rubric):
    """Histogram of the paying accounts' scores, coloured by band, with the band floors."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(10, 3.6))
    edges = np.arange(0, rubric.total_points + 2.5, 2.5)
    for i, b in enumerate(rubric.bands):
        part = snapshot.loc[snapshot["band"] == b.name, "health_score"]
        ax.hist(
            part,
            bins=edges,
            color=_band_colour(b.name, i),
            alpha=0.9,
            label=f"{b.label} ({len(part)})",
        )
    for b in rubric.bands[:-1]:
        ax.axvline(b.min, color=PALETTE["muted"], lw=0.8, ls=":")
    ax.set_xlim(0, rubric.total_points)
    ax.set_xlabel("Health score (points of 100)")
    ax.set_ylabel("Accounts")
    ax.set_title("Paying accounts by health score")
    legend_outside(ax)
    return fig


def plot_arr_by_band(arr_table: pd.DataFrame):
    """ARR per band (bars) with accounts and share of ARR; the expected ARR lost within the
    horizon (from the band's historical churn rate) as a darker inner bar when present."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(10, 3.6))
    y = np.arange(len(arr_table))[::-1]
    colours = [_band_colour(b, i) for i, b in enumerate(arr_table["band"])]
    ax.barh(y, arr_table["arr"], color=colours, alpha=0.35, label="ARR")
    if "expected_arr_lost" in arr_table:
        ax.barh(
            y,
            arr_table["expected_arr_lost"],
            color=colours,
            alpha=1.0,
            height=0.45,
            label="Expected ARR lost (historical churn rate of the band)",
        )
    for yi, (_, row) in zip(y, arr_table.iterrows(), strict=True):
        ax.text(
            row["arr"],
            yi,
            f"  {money(row['arr'])} · {row['accounts']} accounts · {row['arr_share'] * 100:.0f} %",
            va="center",
            fontsize=9.5,
        )
    ax.set_yticks(y, arr_table["label"])
    money_axis(ax, "x")
    ax.set_xlim(0, arr_table["arr"].max() * 1.45)
    ax.set_title("ARR by health band")
    # neutral legend patches: the bars take each band's colour, pale for ARR, full for the loss
    from matplotlib.patches import Patch

    handles = [Patch(color=PALETTE["muted"], alpha=0.35, label="ARR")]
    if "expected_arr_lost" in arr_table:
        handles.append(
            Patch(
                color=PALETTE["ink"], label="Expected ARR lost (historical churn rate of the band)"
            )
        )
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(0, -0.14), ncol=2, fontsize=9)
    return fig


def plot_component_profile(snapshot: pd.DataFrame, rubric: Rubric):
    """Mean share of each component's points, by band: what separates healthy from at-risk."""
    plt = _plt()
    comps = rubric.components
    fig, ax = plt.subplots(figsize=(10, 3.8))
    width = 0.8 / len(rubric.bands)
    x = np.arange(len(comps))
    for i, b in enumerate(rubric.bands):
        part = snapshot[snapshot["band"] == b.name]
        if part.empty:
            continue
        shares = [part[c.name].mean() / c.points for c in comps]
        ax.bar(
            x + (i - (len(rubric.bands) - 1) / 2) * width,
            shares,
            width,
            color=_band_colour(b.name, i),
            label=b.label,
        )
    ax.set_xticks(x, [f"{c.label}\n({c.points:g} pts)" for c in comps])
    pct_axis(ax)
    ax.set_ylim(0, 1)
    ax.set_ylabel("Mean share of the component's points")
    ax.set_title("Component scores by band")
    ax.legend(ncol=5, fontsize=8.5, loc="upper center", bbox_to_anchor=(0.5, -0.18))
    return fig


def plot_band_outcomes(outcomes: pd.DataFrame):
    """Churn and contraction within 3 and 6 months of the scored month, by band, with
    account-bootstrap intervals."""
    from matplotlib.patches import Patch

    plt = _plt()
    kinds = ["churn", "contraction"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), sharey=True)
    horizons = sorted(outcomes["horizon"].unique())
    for ax, kind in zip(axes, kinds, strict=True):
        handles: list[Patch] = []
        part = outcomes[outcomes["outcome"] == kind]
        labels = list(dict.fromkeys(part["label"]))
        x = np.arange(len(labels))
        width = 0.8 / len(horizons)
        for j, h in enumerate(horizons):
            ph = part[part["horizon"] == h].set_index("label").reindex(labels)
            err = np.vstack([ph["rate"] - ph["lower"], ph["upper"] - ph["rate"]])
            colours = [_band_colour(b, i) for i, b in enumerate(ph["band"])]
            alpha = 0.55 + 0.45 * j / max(len(horizons) - 1, 1)
            ax.bar(
                x + (j - (len(horizons) - 1) / 2) * width,
                ph["rate"],
                width,
                color=colours,
                alpha=alpha,
                yerr=err,
                capsize=2,
                ecolor=PALETTE["ink"],
            )
            # neutral legend patch: the bars take each band's colour, paler for the shorter horizon
            handles.append(Patch(color=PALETTE["muted"], alpha=alpha, label=f"within {h} months"))
        ax.set_xticks(x, [wrap_label(lab) for lab in labels], fontsize=8.5)
        pct_axis(ax)
        ax.set_title(f"{kind.capitalize()} after the scored month")
    legend_outside(axes[-1], handles=handles)
    axes[0].set_ylabel("Share of account-months")
    return fig


def plot_roc(roc: Mapping[str, tuple[np.ndarray, np.ndarray]], auc: pd.DataFrame):
    """ROC curves of the churn predictors on the test period, AUC in the legend."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(9.5, 5.0))
    values = auc.set_index("model")
    for i, (name, (fpr, tpr)) in enumerate(roc.items()):
        a = values.loc[name]
        ax.plot(
            fpr,
            tpr,
            lw=2,
            color=MODEL_COLOURS.get(name, PALETTE["series"][i]),
            label=f"{name}: AUC {a['auc']:.3f} [{a['lower']:.3f}, {a['upper']:.3f}]",
        )
    ax.plot([0, 1], [0, 1], color=PALETTE["muted"], ls=":", lw=1)
    ax.set_xlabel("False-positive rate (healthy accounts flagged)")
    ax.set_ylabel("True-positive rate (churners flagged)")
    ax.set_title("Churn prediction on the test period")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8)  # off the curves
    ax.set_aspect("equal")
    return fig


def plot_weights(comparison: pd.DataFrame):
    """Per signal: the team's share of points, the data-suggested share, LightGBM's gain share
    and, when known, the true share of churn effect."""
    plt = _plt()
    cols = [
        ("team_share", "Team rubric", MODEL_COLOURS["Team rubric"]),
        (
            "suggested_share",
            "Suggested weights",
            MODEL_COLOURS["Suggested weights"],
        ),
    ]
    cols.append(("lightgbm_share", "LightGBM gain", MODEL_COLOURS["LightGBM"]))
    if "true_share" in comparison:
        cols.append(("true_share", "True churn effect (generator)", PALETTE["critical"]))
    n = len(comparison)
    fig, ax = plt.subplots(figsize=(10, 0.42 * n + 1.6))
    y = np.arange(n)[::-1]
    h = 0.8 / len(cols)
    for j, (col, label, colour) in enumerate(cols):
        ax.barh(y + (len(cols) / 2 - j - 0.5) * h, comparison[col], h, color=colour, label=label)
    ax.set_yticks(y, comparison["label"])
    pct_axis(ax, "x")
    ax.set_xlabel("Share of the total (points, gain or effect)")
    ax.set_title("Where the weight goes: team rubric, data and truth")
    legend_outside(ax)
    return fig


def plot_trigger_rates(history: pd.DataFrame, *, horizon: int):
    """Each trigger's historical expansion rate (with interval) against the team's
    probability and the base rate of all paying account-months."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(10, 0.6 * len(history) + 1.6))
    y = np.arange(len(history))[::-1]
    err = np.vstack(
        [history["rate"] - history["rate_lower"], history["rate_upper"] - history["rate"]]
    )
    ax.errorbar(
        history["rate"],
        y,
        xerr=err,
        fmt="o",
        color=PALETTE["primary"],
        capsize=3,
        label=f"History: expanded within {horizon} months of onset",
    )
    team = history["team_probability"].astype(float)
    ax.scatter(team, y, marker="D", color=PALETTE["warning"], zorder=3, label="Team's probability")
    ax.axvline(
        float(history["base_rate"].iloc[0]),
        color=PALETTE["muted"],
        ls=":",
        label="Base rate, all paying account-months",
    )
    ax.set_yticks(
        y,
        [
            f"{lab}\n({n} onsets)"
            for lab, n in zip(history["label"], history["onsets"], strict=True)
        ],
        fontsize=9,
    )
    ax.set_ylim(-0.6, len(history) - 0.4)
    pct_axis(ax, "x")
    ax.set_xlim(0, 1)
    ax.set_title("Do the expansion triggers predict expansion?")
    ax.legend(fontsize=8.5, loc="lower right")
    return fig


def plot_opportunities(opportunities: pd.DataFrame, *, top: int = 15):
    """The top opportunities (best trigger per account) by expected ARR."""
    plt = _plt()
    best = opportunities[opportunities["best_for_account"]].head(top)
    fig, ax = plt.subplots(figsize=(10, 0.34 * max(len(best), 1) + 1.4))
    if best.empty:
        ax.text(
            0.5,
            0.5,
            "No account fires an expansion trigger this month",
            ha="center",
            va="center",
            transform=ax.transAxes,
        )
        ax.set_axis_off()
        return fig
    y = np.arange(len(best))[::-1]
    triggers = list(dict.fromkeys(opportunities["trigger_label"]))
    colour = {t: PALETTE["series"][i % 8] for i, t in enumerate(triggers)}
    name = best["name"] if "name" in best else best["account_id"]
    ax.barh(y, best["potential_arr"], color=[colour[t] for t in best["trigger_label"]], alpha=0.25)
    ax.barh(y, best["expected_arr"], color=[colour[t] for t in best["trigger_label"]])
    ax.set_yticks(
        y, [f"{n} ({a})" for n, a in zip(name, best["account_id"], strict=True)], fontsize=8.5
    )
    money_axis(ax, "x")
    handles = [plt.Rectangle((0, 0), 1, 1, color=colour[t]) for t in triggers]
    legend_outside(ax, handles, triggers)
    ax.set_title(
        f"Top {len(best)} expansion opportunities: expected ARR (solid) of potential ARR (pale)"
    )
    return fig


def plot_survival(empirical: pd.DataFrame, posterior: pd.DataFrame):
    """Observed survival by tenure (steps) against the sBG posterior (line and band), by group."""
    plt = _plt()
    groups = sorted(posterior["group"].unique())
    fig, ax = plt.subplots(figsize=(10, 4.2))
    for i, g in enumerate(groups):
        c = PALETTE["series"][i % 8]
        p = posterior[posterior["group"] == g]
        ax.fill_between(p["month"], p["lower"], p["upper"], color=c, alpha=0.18)
        ax.plot(p["month"], p["mean"], color=c, lw=2, label=f"{g}: sBG")
        e = empirical[empirical["group"] == g]
        ax.step(
            e["month"],
            e["survival"],
            where="post",
            color=c,
            lw=1.2,
            ls="--",
            label=f"{g}: observed (n={int(e['at_risk'].iloc[0])})",
        )
    pct_axis(ax)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("Months since the first paid month")
    ax.set_ylabel("Still paying")
    ax.set_title("Retention by tenure: observed vs shifted-beta-geometric fit")
    ax.legend(fontsize=8, ncol=2)
    return fig


def plot_ltv(ltv: pd.DataFrame):
    """LTV per group: sBG posterior mean and interval beside the spec formula (with the
    interval from its churn rate's posterior)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(10, 0.7 * len(ltv) + 1.6))
    y = np.arange(len(ltv))[::-1]
    for off, prefix, label, colour in (
        (0.12, "ltv_sbg", "sBG (Bayesian, capped horizon)", PALETTE["primary"]),
        (-0.12, "ltv_simple", "Spec formula: ARPA x GM / churn", PALETTE["muted"]),
    ):
        mid = ltv[prefix].replace(np.inf, np.nan)
        lo = ltv[f"{prefix}_lower"]
        hi = ltv[f"{prefix}_upper"].replace(np.inf, np.nan)
        ax.errorbar(
            mid,
            y + off,
            xerr=np.vstack([(mid - lo).clip(lower=0), (hi - mid).clip(lower=0)]),
            fmt="o",
            color=colour,
            capsize=3,
            label=label,
        )
    ax.set_yticks(
        y,
        [f"{g}\n(ARPA {money(a)})" for g, a in zip(ltv["group"], ltv["arpa"], strict=True)],
        fontsize=9,
    )
    ax.set_xscale("log")
    money_axis(ax, "x")
    ax.set_xlabel("Lifetime gross profit per new account (log scale)")
    ax.set_title("LTV with uncertainty")
    ax.legend(fontsize=8.5, loc="lower right")
    return fig
