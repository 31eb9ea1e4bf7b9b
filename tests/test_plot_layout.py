"""Issue 14: legends and labels of report charts sit off the data; axes read as money."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_rgba

from revlib.reporting import PALETTE
from tests.plot_checks import bar_extents, legends_over_bars


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_lift_legend_sits_beside_the_bars_not_on_them() -> None:
    from revlib.scoring import plots

    rows = [
        {"model": m, "decile": d, "win_rate": 0.9 - 0.08 * d, "won": 9, "n": 10}
        for m in ("lightgbm", "logistic", "stage_rate")
        for d in range(1, 11)
    ]
    fig = plots.plot_lift(pd.DataFrame(rows))
    assert legends_over_bars(fig) == []
    ax = fig.axes[0]
    assert ax.get_legend().get_window_extent().x0 >= ax.get_window_extent().x1


def test_bookings_histogram_labels_sit_above_the_bars_and_apart() -> None:
    from revlib.forecasting import plots

    class Forecast:
        labels = ["2025 Q1"]

        def totals(self) -> np.ndarray:
            return np.random.default_rng(0).normal(1e6, 1e5, (4000, 1))

    fig = plots.plot_bookings_distribution(Forecast(), target=1.02e6)  # target near P50
    fig.canvas.draw()
    ax = fig.axes[0]
    texts = [t for t in ax.texts if t.get_text()]
    assert len(texts) == 4
    boxes = [t.get_window_extent() for t in texts]
    top = ax.get_window_extent().y1
    assert all(b.y0 >= top for b in boxes)  # above the plotting area, so never on a bar
    assert all(t.get_rotation() == 0 for t in texts)
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1 :])
    assert ax.title.get_window_extent().y0 >= max(b.y1 for b in boxes)


def test_arr_bridge_value_labels_clear_the_bar_tops() -> None:
    from revlib.metrics import plots

    months = pd.date_range("2024-01-01", periods=6, freq="MS")
    movements = pd.DataFrame(
        {
            "month": months,
            "opening_mrr": 1000.0 + 50 * np.arange(6),
            "closing_mrr": 1050.0 + 50 * np.arange(6),
            "new_mrr": 40.0,
            "reactivation_mrr": 5.0,
            "expansion_mrr": 20.0,
            "contraction_mrr": 5.0,
            "churned_mrr": 10.0,
        }
    )
    fig = plots.plot_arr_bridge(movements, months=6)
    fig.canvas.draw()
    ax = fig.axes[0]
    bars = sorted(bar_extents(ax), key=lambda b: b.x0)
    labels = sorted((t.get_window_extent() for t in ax.texts), key=lambda b: b.x0)
    assert len(bars) == len(labels) == 7
    for bar, label in zip(bars, labels, strict=True):
        assert label.y0 - bar.y1 >= 2  # pixels of air between bar top and its label


def test_partial_dependence_money_feature_reads_as_money() -> None:
    from revlib.scoring import plots

    grid = np.array([0.0, 30_000, 60_000, 90_000, 120_000])
    frames = [
        pd.DataFrame({"feature": "amount", "value": grid, "win_probability": 0.5}),
        pd.DataFrame(
            {"feature": "owner_win_rate", "value": [0.1, 0.3, 0.5], "win_probability": 0.5}
        ),
    ]
    fig = plots.plot_partial_dependence(frames)
    fig.canvas.draw()
    money, rate = (
        [
            t.get_text()
            for t in ax.get_xticklabels()
            if ax.get_xlim()[0] <= t.get_position()[0] <= ax.get_xlim()[1]
        ]
        for ax in fig.axes[:2]
    )
    assert {"$0", "$50K", "$100K"} <= set(money) and all(t.startswith("$") for t in money)
    assert rate and all(t.endswith("%") for t in rate)


def test_arr_by_band_legend_is_neutral_and_off_the_bars() -> None:
    from revlib.health import plots

    arr_table = pd.DataFrame(
        {
            "band": ["healthy", "watch", "at_risk"],
            "label": ["Healthy", "Watch", "At risk"],
            "arr": [9e6, 5e6, 3e6],
            "expected_arr_lost": [2e5, 4e5, 9e5],
            "accounts": [500, 300, 200],
            "arr_share": [9 / 17, 5 / 17, 3 / 17],
        }
    )
    fig = plots.plot_arr_by_band(arr_table)
    assert legends_over_bars(fig) == []
    patches = fig.axes[0].get_legend().get_patches()
    assert [p.get_facecolor() for p in patches] == [
        to_rgba(PALETTE["muted"], 0.35),
        to_rgba(PALETTE["ink"]),
    ]


def test_band_outcomes_legend_shows_horizons_in_neutral_grey_beside_the_bars() -> None:
    from revlib.health import plots

    outcomes = pd.DataFrame(
        [
            {"outcome": o, "horizon": h, "band": b, "label": b.title(), "rate": r}
            for o in ("churn", "contraction")
            for h in (3, 6)
            for b, r in (("optimise", 0.02 * h), ("lost", 0.05 * h))
        ]
    ).assign(lower=lambda d: d["rate"] * 0.8, upper=lambda d: d["rate"] * 1.2)
    fig = plots.plot_band_outcomes(outcomes)
    assert legends_over_bars(fig) == []
    legend = fig.axes[-1].get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["within 3 months", "within 6 months"]
    assert {to_rgba(p.get_facecolor())[:3] for p in legend.get_patches()} == {
        to_rgba(PALETTE["muted"])[:3]
    }
