"""Figures of the ARR tracker. Each function returns a matplotlib Figure in the house style."""

from __future__ import annotations

import numpy as np
import pandas as pd

from revlib.reporting import PALETTE, legend_outside, money, money_axis, pct_axis

GAIN = {"new_mrr": "New", "reactivation_mrr": "Reactivation", "expansion_mrr": "Expansion"}
LOSS = {"contraction_mrr": "Contraction", "churned_mrr": "Churn"}
COLOURS = {
    "new_mrr": "#2563eb",
    "reactivation_mrr": "#0891b2",
    "expansion_mrr": "#059669",
    "contraction_mrr": "#d97706",
    "churned_mrr": "#dc2626",
}


def _month_formatter():
    from matplotlib.dates import DateFormatter

    return DateFormatter("%b %y")


def _right_label(ax, y: float, text: str, colour: str, va: str = "center") -> None:
    """A label just right of the plot area at height ``y`` (data units)."""
    ax.annotate(
        text,
        (1, y),
        xycoords=("axes fraction", "data"),
        xytext=(4, 0),
        textcoords="offset points",
        va=va,
        fontsize=8.5,
        color=colour,
    )


def _bar_style(ax) -> None:
    """Bars in front of the grid, horizontal grid lines only."""
    ax.set_axisbelow(True)
    ax.grid(axis="x", visible=False)


def _value_label(ax, x: float, top: float, text: str) -> None:
    """``text`` centred above a bar whose top is at ``top``, 3 points clear of it."""
    ax.annotate(
        text,
        (x, top),
        xytext=(0, 3),
        textcoords="offset points",
        ha="center",
        va="bottom",
        fontsize=9,
    )


def _plt():
    import matplotlib.pyplot as plt

    return plt


def plot_arr_trajectory(
    movements: pd.DataFrame,
    *,
    arr_target: float,
    target_date: str | pd.Timestamp,
    velocity: dict,
    months: int = 24,
):
    """ARR by month-end, the target, the path required from today and the path at the actual
    velocity, with the milestone levels."""
    plt = _plt()
    data = movements.tail(months)
    end = pd.Timestamp(velocity["as_of"])
    target_date = pd.Timestamp(target_date)
    fig, ax = plt.subplots(figsize=(10, 4.4))
    x = pd.DatetimeIndex(data["month"]) + pd.offsets.MonthEnd(0)
    ax.plot(
        x,
        data["arr"],
        color=PALETTE["primary"],
        lw=2.4,
        marker="o",
        ms=3.5,
        label="ARR (month-end)",
    )
    arr_now = velocity["arr"]
    ax.plot(
        [end, target_date],
        [arr_now, arr_target],
        color=PALETTE["ink"],
        ls="--",
        lw=1.4,
        label="Required path",
    )
    projected = arr_now + velocity["actual_daily_velocity"] * (target_date - end).days
    colour = PALETTE["good"] if velocity["on_track"] else PALETTE["critical"]
    ax.plot(
        [end, target_date],
        [arr_now, projected],
        color=colour,
        ls=":",
        lw=2,
        label="At current velocity",
    )
    for level in (0.9, 0.95, 0.99):
        ax.axhline(level * arr_target, color="#d1d5db", lw=0.9, zorder=0)
        _right_label(
            ax,
            level * arr_target,
            f"{level:.0%}",
            PALETTE["muted"],
            "top" if level > 0.95 else "center",
        )
    ax.axhline(arr_target, color=PALETTE["good"], lw=1.4, zorder=0)
    _right_label(ax, arr_target, f"target {money(arr_target)}", PALETTE["good"], "bottom")
    ax.scatter([target_date], [projected], color=colour, zorder=5)
    ax.annotate(
        money(projected),
        (target_date, projected),
        textcoords="offset points",
        xytext=(-8, 4 if projected >= arr_target else -4),
        ha="right",
        va="bottom" if projected >= arr_target else "top",
        fontsize=9.5,
        fontweight="bold",
        color=colour,
    )
    money_axis(ax)
    ax.set_title("ARR against target")
    ax.legend(loc="upper left", bbox_to_anchor=(0, -0.08), ncol=3)
    return fig


def plot_arr_bridge(movements: pd.DataFrame, *, months: int = 12):
    """Waterfall of ARR over the last `months` months: opening ARR, + new, + reactivation,
    + expansion, - contraction, - churn, closing ARR (all x 12 MRR)."""
    plt = _plt()
    data = movements.tail(months)
    opening = 12 * float(data["opening_mrr"].iloc[0])
    steps = [(GAIN[c], 12 * float(data[c].sum()), COLOURS[c]) for c in GAIN]
    steps += [(LOSS[c], -12 * float(data[c].sum()), COLOURS[c]) for c in LOSS]
    closing = 12 * float(data["closing_mrr"].iloc[-1])
    fig, ax = plt.subplots(figsize=(10, 4.2))
    labels = [f"ARR {pd.Timestamp(data['month'].iloc[0]) - pd.DateOffset(months=1):%b %Y}"]
    ax.bar(0, opening, color="#9ca3af")
    _value_label(ax, 0, opening, money(opening))
    level = opening
    for i, (name, value, colour) in enumerate(steps, start=1):
        bottom = level if value >= 0 else level + value
        ax.bar(i, abs(value), bottom=bottom, color=colour)
        _value_label(ax, i, bottom + abs(value), ("+" if value >= 0 else "−") + money(abs(value)))
        level += value
        labels.append(name)
    ax.bar(len(steps) + 1, closing, color=PALETTE["primary"])
    _value_label(ax, len(steps) + 1, closing, money(closing))
    labels.append(f"ARR {pd.Timestamp(data['month'].iloc[-1]):%b %Y}")
    ax.set_xticks(range(len(labels)), labels)
    ax.set_ylim(0, max(opening, level, closing) * 1.12 + 1)
    money_axis(ax)
    _bar_style(ax)
    ax.set_title(f"ARR bridge, last {len(data)} months")
    return fig


def plot_mrr_movements(movements: pd.DataFrame, *, months: int = 24):
    """Monthly MRR movements: gains above zero, losses below, net new MRR as a line."""
    plt = _plt()
    data = movements.tail(months)
    x = np.arange(len(data))
    fig, ax = plt.subplots(figsize=(10, 4.2))
    bottom = np.zeros(len(data))
    for col, name in GAIN.items():
        ax.bar(x, data[col], bottom=bottom, color=COLOURS[col], label=name, width=0.8)
        bottom += data[col].to_numpy()
    bottom = np.zeros(len(data))
    for col, name in LOSS.items():
        ax.bar(x, -data[col], bottom=bottom, color=COLOURS[col], label=name, width=0.8)
        bottom -= data[col].to_numpy()
    net = data["closing_mrr"] - data["opening_mrr"]
    ax.plot(x, net, color=PALETTE["ink"], marker="o", ms=3.5, lw=1.6, label="Net new MRR")
    ax.axhline(0, color="#9ca3af", lw=0.8)
    ticks = x[:: max(1, len(x) // 12)]
    ax.set_xticks(ticks, [f"{pd.Timestamp(m):%b %y}" for m in data["month"].iloc[ticks]])
    money_axis(ax)
    _bar_style(ax)
    ax.set_title("MRR movements by month")
    ax.legend(ncol=6, loc="upper left", bbox_to_anchor=(0, -0.08))
    return fig


def plot_retention(retention: pd.DataFrame, *, nrr_target: float | None = None):
    """Trailing-twelve-month NRR and GRR by month (left) and the monthly logo churn rate (right)."""
    plt = _plt()
    data = retention.dropna(subset=["nrr"])
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 3.9), gridspec_kw={"width_ratios": [1.4, 1]})
    x = pd.DatetimeIndex(data["month"])
    ax.plot(x, data["nrr"], lw=2.2, label="NRR (TTM)", color=PALETTE["primary"])
    ax.plot(x, data["grr"], lw=2.2, label="GRR (TTM)", color=PALETTE["good"])
    ax.axhline(1.0, color="#9ca3af", lw=0.8)
    if nrr_target is not None:
        label = f"NRR alert threshold {nrr_target:.0%}"
        ax.axhline(nrr_target, color=PALETTE["warning"], ls="--", lw=1.2, label=label)
    pct_axis(ax)
    ax.set_title("Revenue retention, trailing twelve months")
    ax.legend(loc="upper left", bbox_to_anchor=(0, -0.1), ncol=3)
    churn = retention.dropna(subset=["logo_churn_rate"])
    xc = pd.DatetimeIndex(churn["month"])
    ax2.bar(
        xc,
        churn["logo_churn_rate"],
        width=20,
        color=PALETTE["critical"],
        alpha=0.35,
        label="monthly",
    )
    ax2.plot(
        xc,
        churn["logo_churn_rate"].rolling(3, min_periods=1).mean(),
        color=PALETTE["critical"],
        lw=2,
        label="3-month mean",
    )
    pct_axis(ax2)
    ax2.set_title("Logo churn rate per month")
    ax2.legend(loc="upper left", bbox_to_anchor=(0, -0.1), ncol=2)
    from matplotlib.dates import MonthLocator

    for a, every in ((ax, 3), (ax2, 6)):
        a.xaxis.set_major_locator(MonthLocator(bymonth=range(1, 13, every)))
        a.xaxis.set_major_formatter(_month_formatter())
    ax2.set_axisbelow(True)
    return fig


def plot_cohort_heatmap(
    table: pd.DataFrame,
    *,
    title: str,
    max_age: int = 24,
    sizes: pd.Series | None = None,
    cmap: str = "RdYlGn",
):
    """Cohort x age heat map of a retention ratio, one row per cohort, coloured around 100 %
    (yellow) from red (losses) to green (growth); ``sizes`` (accounts per cohort, indexed by
    cohort month) label the rows."""
    from matplotlib.colors import TwoSlopeNorm

    plt = _plt()
    data = table.iloc[:, : max_age + 1]
    values = data.to_numpy(dtype=float)
    n_rows = len(data)
    fig, ax = plt.subplots(figsize=(11, max(3.0, 0.2 * n_rows + 1.4)))
    finite = values[np.isfinite(values)]
    lo = min(0.6, float(np.percentile(finite, 2))) if finite.size else 0.0
    hi = max(1.0, float(np.percentile(finite, 98))) if finite.size else 1.0
    if hi > 1.0:
        norm = TwoSlopeNorm(vcenter=1.0, vmin=lo, vmax=max(hi, 1.2))
        im = ax.imshow(values, aspect="auto", cmap=cmap, norm=norm, interpolation="nearest")
    else:  # logo retention never exceeds 100 %: the top of the scale is 100 %
        im = ax.imshow(values, aspect="auto", cmap=cmap, vmin=lo, vmax=1.0, interpolation="nearest")
    ax.grid(False)
    ax.set_xlabel("Months since first revenue")
    step = max(1, n_rows // 24)
    labels = [f"{pd.Timestamp(c):%Y-%m}" for c in data.index]
    if sizes is not None:
        labels = [
            f"{lab}  n={int(sizes.get(c, 0)):,}" for lab, c in zip(labels, data.index, strict=True)
        ]
    ax.set_yticks(range(0, n_rows, step), labels[::step], fontsize=8.5)
    ax.set_xticks(range(0, values.shape[1], 3))
    bar = fig.colorbar(im, ax=ax, fraction=0.03, pad=0.01)
    bar.ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
    ax.set_title(title)
    return fig


def plot_bookings(composition: pd.DataFrame):
    """Won bookings ARR by period, stacked by type (new business, expansion, renewal)."""
    plt = _plt()
    colours = {"new_business": "#2563eb", "expansion": "#059669", "renewal": "#9ca3af"}
    names = {"new_business": "New business", "expansion": "Expansion", "renewal": "Renewal"}
    fig, ax = plt.subplots(figsize=(10, 3.9))
    x = np.arange(len(composition))
    bottom = np.zeros(len(composition))
    for col, colour in colours.items():
        ax.bar(x, composition[col], bottom=bottom, color=colour, label=names[col], width=0.75)
        bottom += composition[col].to_numpy()
    ax.set_xticks(
        x,
        [f"{pd.Timestamp(p).year} Q{pd.Timestamp(p).quarter}" for p in composition["period"]],
        rotation=45,
    )
    money_axis(ax)
    _bar_style(ax)
    ax.set_title("Won bookings (ARR) by quarter and type")
    legend_outside(ax)
    return fig


def plot_cash(cash: pd.DataFrame, *, months: int = 18):
    """Quote-to-cash by month (from :func:`cash_by_month`): invoiced and collected bars with
    recognised revenue (left), and the deferred revenue balance (right)."""
    plt = _plt()
    frame = cash.tail(months).reset_index(drop=True)
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 3.9), gridspec_kw={"width_ratios": [1.7, 1]})
    x = np.arange(len(frame))
    ax.bar(x - 0.2, frame["invoiced"], width=0.4, color="#93c5fd", label="Invoiced")
    ax.bar(x + 0.2, frame["collected"], width=0.4, color="#6ee7b7", label="Collected")
    ax.plot(
        x,
        frame["recognized"],
        color=PALETTE["ink"],
        marker="o",
        ms=3.5,
        lw=1.8,
        label="Recognised revenue",
    )
    labels = [f"{pd.Timestamp(m):%b %y}" for m in frame["month"]]
    ax.set_xticks(x[::3], labels[::3])
    money_axis(ax)
    _bar_style(ax)
    ax.set_title("Invoiced, collected and recognised per month")
    ax.legend(ncol=3, loc="upper left", bbox_to_anchor=(0, -0.08))
    ax2.fill_between(x, frame["deferred"], color=PALETTE["primary"], alpha=0.15)
    ax2.plot(x, frame["deferred"], color=PALETTE["primary"], lw=2)
    ax2.set_xticks(x[::6], labels[::6])
    ax2.set_ylim(bottom=0)
    money_axis(ax2)
    ax2.set_title("Deferred revenue balance")
    return fig
