"""Layout checks on drawn matplotlib figures, shared by the report-figure tests."""

from __future__ import annotations

from matplotlib.container import BarContainer


def bar_extents(ax) -> list:
    """Window extents (pixels) of the visible, non-empty bars of ``ax`` (bar and hist bars)."""
    return [
        p.get_window_extent()
        for c in ax.containers
        if isinstance(c, BarContainer)
        for p in c
        if p.get_visible() and p.get_width() and p.get_height()
    ]


def legends_over_bars(fig) -> list[str]:
    """Titles of the axes whose legend covers one of their bars (empty when none does)."""
    fig.canvas.draw()
    bad = []
    for ax in fig.axes:
        legend = ax.get_legend()
        if legend is None:
            continue
        box = legend.get_window_extent()
        if any(box.overlaps(bar) for bar in bar_extents(ax)):
            bad.append(ax.get_title() or "untitled axes")
    return bad
