"""Figures of the pipeline forecast report. Each function returns a matplotlib Figure in the
house style (call :func:`revlib.reporting.setup_plots` once first)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from revlib.forecasting._common import TYPES
from revlib.reporting import PALETTE, legend_outside, money, money_axis, pct_axis

TYPE_LABELS = {
    "new_business": "New business",
    "expansion": "Expansion",
    "renewal": "Renewal",
    "total": "Total",
}
METHOD_LABELS = {
    "model": "Model (Monte Carlo)",
    "stage_weighted": "Stage-weighted pipeline",
    "last_period": "Last period",
    "seasonal_naive": "Seasonal naive",
    "ets": "ETS (statsforecast)",
}


def _fig(width=9.5, height=4.2, ncols=1):
    import matplotlib.pyplot as plt

    return plt.subplots(1, ncols, figsize=(width, height))


def plot_bookings_distribution(fc, *, k: int = 0, target: float | None = None):
    """Histogram of simulated total bookings in period ``k`` with P10 / P50 / P90 and the target."""
    fig, ax = _fig()
    x = fc.totals()[:, k]
    ax.hist(x, bins=60, color=PALETTE["primary"], alpha=0.75, edgecolor="white", linewidth=0.3)
    q = np.quantile(x, [0.1, 0.5, 0.9])
    marks: list[tuple[float, str, str, str]] = [
        (float(v), f"{name} {money(v)}", style, PALETTE["ink"])
        for v, name, style in zip(q, ("P10", "P50", "P90"), (":", "-", ":"), strict=True)
    ]
    if target is not None and target > 0:
        marks.append((target, f"target {money(target)}", "-", PALETTE["critical"]))
    for v, _, style, colour in marks:
        ax.axvline(v, color=colour, linestyle=style, linewidth=1.4)
    # labels above the plotting area (never over the bars), on a second row when close
    lo, hi = ax.get_xlim()
    last: list[float] = []  # x of the last label on each row
    for v, text, _, colour in sorted(marks):
        row = next((r for r, x0 in enumerate(last) if (v - x0) > 0.16 * (hi - lo)), len(last))
        last[row : row + 1] = [v]
        ax.annotate(
            text,
            (v, 1.0),
            xycoords=ax.get_xaxis_transform(),
            xytext=(0, 3 + 13 * row),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=9,
            color=colour,
        )
    money_axis(ax, "x")
    ax.set_yticks([])
    ax.set_xlabel("bookings in the period (ARR)")
    ax.set_title(
        f"{fc.labels[k]}: {len(x):,} simulated outcomes of total bookings", pad=8 + 13 * len(last)
    )
    return fig


def plot_bookings_by_type(summary: pd.DataFrame):
    """P50 bookings by type and period with P10-P90 whiskers."""
    fig, ax = _fig(height=3.6)
    periods = list(dict.fromkeys(summary["period"]))
    types = [*TYPES, "total"]
    width = 0.8 / len(periods)
    for i, per in enumerate(periods):
        s = summary[summary["period"] == per].set_index("type").reindex(types)
        y = np.arange(len(types)) + i * width
        ax.barh(
            y, s["p50"], height=width * 0.9, color=PALETTE["series"][i % 8], alpha=0.85, label=per
        )
        ax.errorbar(
            s["p50"],
            y,
            xerr=[s["p50"] - s["p10"], s["p90"] - s["p50"]],
            fmt="none",
            ecolor=PALETTE["ink"],
            capsize=3,
            linewidth=1,
        )
    ax.set_yticks(np.arange(len(types)) + width * (len(periods) - 1) / 2)
    ax.set_yticklabels([TYPE_LABELS[t] for t in types])
    ax.invert_yaxis()
    money_axis(ax, "x")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_title("Bookings by type: P50, whiskers P10 to P90")
    return fig


def plot_categories(rollup: pd.DataFrame, *, p10: float, p50: float, p90: float):
    """CRM forecast-category rollups beside the model's P10-P90 range and P50."""
    fig, ax = _fig(height=3.2)
    r = rollup[rollup["rollup"] != "Open pipeline"]
    y = np.arange(len(r))
    ax.barh(y, r["amount"], color=PALETTE["line"], edgecolor="#9ca3af", label="CRM rollup (amount)")
    ax.barh(
        y,
        r["model_expected"],
        height=0.35,
        color=PALETTE["primary"],
        alpha=0.8,
        label="model: expected from those deals",
    )
    ax.axvspan(p10, p90, color=PALETTE["good"], alpha=0.12, label="model P10-P90 (all deals)")
    ax.axvline(p50, color=PALETTE["good"], linewidth=2, label="model P50")
    ax.set_yticks(y)
    ax.set_yticklabels(r["rollup"])
    ax.invert_yaxis()
    money_axis(ax, "x")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2, fontsize=8.5)
    ax.set_title("Forecast categories (cumulative, as CRM tools roll them up) vs the model")
    return fig


def plot_creation_trend(trend: pd.DataFrame):
    """Deals created per month by type (stacked)."""
    fig, ax = _fig(height=3.4)
    wide = (
        trend.pivot_table(index="month", columns="type", values="deals", aggfunc="sum")
        .reindex(columns=list(TYPES))
        .fillna(0)
    )
    bottom = np.zeros(len(wide))
    x = np.arange(len(wide))
    for i, ty in enumerate(TYPES):
        ax.bar(
            x,
            wide[ty],
            bottom=bottom,
            color=PALETTE["series"][i],
            label=TYPE_LABELS[ty],
            width=0.85,
        )
        bottom += wide[ty].to_numpy()
    step = max(1, len(wide) // 12)
    ax.set_xticks(x[::step])
    ax.set_xticklabels([f"{m:%Y-%m}" for m in wide.index[::step]], rotation=0, fontsize=8.5)
    legend_outside(ax)
    ax.set_ylabel("deals created")
    ax.set_title("Pipeline creation by month")
    return fig


def plot_stage_health(by_stage: pd.DataFrame):
    """Open pipeline ARR by stage, the stuck part highlighted."""
    fig, ax = _fig(height=3.2)
    y = np.arange(len(by_stage))
    ax.barh(y, by_stage["amount"], color=PALETTE["primary"], alpha=0.8, label="open ARR")
    ax.barh(y, by_stage["stuck_amount"], color=PALETTE["warning"], label="of which stuck")
    for yi, (n, s) in enumerate(zip(by_stage["deals"], by_stage["stuck_deals"], strict=True)):
        ax.annotate(
            f"{n} deals, {s} stuck",
            (0, yi),
            xytext=(4, 0),
            textcoords="offset points",
            va="center",
            fontsize=8.5,
            color="white",
        )
    ax.set_yticks(y)
    ax.set_yticklabels(by_stage["stage"])
    ax.invert_yaxis()
    money_axis(ax, "x")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_title("Open pipeline by stage and stuck deals")
    return fig


def plot_arr_fan(
    movements: pd.DataFrame,
    fan: pd.DataFrame,
    *,
    arr_target: float | None = None,
    target_month=None,
    history_months: int = 24,
):
    """ARR history and the simulated fan (P10-P90 band, P50 line) with the target."""
    fig, ax = _fig()
    h = movements.assign(month=pd.to_datetime(movements["month"])).tail(history_months)
    ax.plot(h["month"], h["arr"], color=PALETTE["ink"], linewidth=2, label="ARR (actual)")
    ax.fill_between(
        fan["month"], fan["p10"], fan["p90"], color=PALETTE["primary"], alpha=0.18, label="P10-P90"
    )
    ax.plot(fan["month"], fan["p50"], color=PALETTE["primary"], linewidth=2, label="P50")
    if arr_target:
        ax.axhline(
            arr_target,
            color=PALETTE["critical"],
            linestyle="--",
            linewidth=1.3,
            label=f"target {money(arr_target)}",
        )
    if target_month is not None:
        ax.axvline(
            pd.Timestamp(target_month), color=PALETTE["critical"], linestyle=":", linewidth=1
        )
    money_axis(ax)
    ax.legend(loc="upper left")
    ax.set_title("ARR trajectory: history and simulated paths")
    return fig


def plot_rate_posteriors(
    post, truth: dict[str, float] | None = None, observed: pd.DataFrame | None = None
):
    """Posterior of the monthly expansion, contraction and churn rates, with the generator's
    true rates (sample company) and the observed monthly rates."""
    from revlib.forecasting.arr import RATES

    fig, axes = _fig(width=10.5, height=3.0, ncols=3)
    for i, (ax, name) in enumerate(zip(axes, RATES, strict=True)):
        x = post.rate[:, i]
        ax.hist(
            x,
            bins=40,
            color=PALETTE["series"][i],
            alpha=0.75,
            edgecolor="white",
            linewidth=0.3,
            density=True,
            label="posterior",
        )
        if observed is not None:
            for v in observed[name]:
                ax.axvline(v, ymax=0.08, color=PALETTE["muted"], linewidth=1)
        if truth and name in truth and truth[name] is not None:
            ax.axvline(truth[name], color=PALETTE["critical"], linewidth=2, label="true")
        lo, hi = np.quantile(x, [0.001, 0.999])
        pad = 0.75 * (hi - lo)
        ax.set_xlim(max(0.0, lo - pad), hi + pad)  # months far off the posterior fall outside
        pct_axis(ax, "x")
        ax.set_yticks([])
        ax.set_title(f"{name} rate / month")
    legend_outside(axes[-1], *axes[0].get_legend_handles_labels())
    return fig


def plot_risk_distribution(
    clean: np.ndarray,
    shocked: np.ndarray,
    *,
    arr_target: float | None = None,
    label: str = "ARR at the horizon",
):
    """Distribution of ARR at the horizon without and with the risk register's shocks."""
    fig, ax = _fig(height=3.6)
    lo, hi = np.quantile(np.concatenate([clean, shocked]), [0.002, 0.998])
    bins = np.linspace(lo, hi, 60)
    ax.hist(clean, bins=bins, color=PALETTE["primary"], alpha=0.45, label="no shocks")
    ax.hist(
        shocked, bins=bins, color=PALETTE["critical"], alpha=0.45, label="with the risk register"
    )
    if arr_target:
        ax.axvline(
            arr_target, color=PALETTE["ink"], linestyle="--", label=f"target {money(arr_target)}"
        )
    money_axis(ax, "x")
    ax.set_yticks([])
    legend_outside(ax)
    ax.set_title(label)
    return fig


def plot_backtest(bt: pd.DataFrame):
    """Back-test: actual bookings per period, the model's forecast with its 80 % interval and
    the baselines' forecasts."""
    fig, ax = _fig()
    periods = list(dict.fromkeys(bt["period"]))
    x = np.arange(len(periods))
    actual = bt.drop_duplicates("period").set_index("period")["actual"].reindex(periods)
    ax.plot(x, actual, color=PALETTE["ink"], linewidth=2.2, marker="o", label="actual", zorder=5)
    m = bt[bt["method"] == "model"].set_index("period").reindex(periods)
    if len(m.dropna(subset=["forecast"])):
        ax.fill_between(
            x,
            m["lower80"],
            m["upper80"],
            color=PALETTE["primary"],
            alpha=0.15,
            label="model 80 % interval",
        )
        ax.plot(
            x,
            m["forecast"],
            color=PALETTE["primary"],
            linewidth=2,
            marker="s",
            label=METHOD_LABELS["model"],
        )
    markers = {"stage_weighted": "^", "last_period": "x", "seasonal_naive": "+", "ets": "d"}
    for i, (method, mk) in enumerate(markers.items()):
        b = bt[bt["method"] == method].set_index("period").reindex(periods)
        if b["forecast"].notna().any():
            ax.scatter(
                x,
                b["forecast"],
                marker=mk,
                s=40,
                color=PALETTE["series"][i + 1],
                label=METHOD_LABELS[method],
                zorder=4,
            )
    ax.set_xticks(x)
    ax.set_xticklabels(periods, fontsize=8.5, rotation=45 if len(periods) > 12 else 0)
    money_axis(ax)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), fontsize=8.5, ncol=3)
    ax.set_title("Back-test: forecasts made at the start of each period vs what was booked")
    return fig
