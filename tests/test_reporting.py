"""Report building blocks."""

from __future__ import annotations

import pandas as pd
import pytest

from revlib import reporting


def net_retention_example() -> None:
    """Net revenue retention: MRR today from accounts active 12 months ago / their MRR then.
    Ratio, 1.0 = 100 %.

    Details that are not part of the definition."""


def test_definition_is_first_paragraph() -> None:
    assert reporting.definition(net_retention_example) == (
        "Net revenue retention: MRR today from accounts active 12 months ago / their MRR then. Ratio, 1.0 = 100 %."
    )
    assert reporting.definition("plain text") == "plain text"


def test_formatting() -> None:
    assert reporting.money(1_234_567) == "$1.23M"
    assert reporting.money(45_600) == "$45.6K"
    assert reporting.money(-789) == "-$789"
    assert reporting.money(12.5, decimals=2) == "$12.50"
    assert reporting.money(float("nan")) == "–"
    assert reporting.pct(0.1234) == "12.3 %"
    assert reporting.pct(0.05, signed=True) == "+5.0 %"


def test_components_escape_and_validate() -> None:
    cards = reporting.kpi_cards(
        [
            {
                "label": "ARR <x>",
                "value": "$1M",
                "status": "good",
                "definition": net_retention_example,
            }
        ]
    )
    html = cards._repr_html_()
    assert "ARR &lt;x&gt;" in html and "rl-good" in html and "Net revenue retention" in html
    with pytest.raises(ValueError, match="card status must be"):
        reporting.kpi_cards([{"label": "x", "value": "1", "status": "meh"}])
    with pytest.raises(ValueError, match="level must be one of"):
        reporting.callout("x", "fatal")
    assert "rl-critical" in reporting.callout("bad <b>", "critical").body
    assert "&lt;b&gt;" in reporting.callout("bad <b>", "critical").body


def test_table_formats_and_truncates() -> None:
    df = pd.DataFrame({"name": ["a", "b", "c"], "arr": [1e6, 2e6, None]})
    html = reporting.table(df, formats={"arr": reporting.money}, max_rows=2).body
    assert "$1.00M" in html and "$2.00M" in html and "Showing 2 of 3 rows" in html
    folded = reporting.table(df, collapsed="Show all").body
    assert folded.startswith("<details") and "Show all" in folded


def test_progress_bar_clamps() -> None:
    html = reporting.progress_bar(1.3, label="ARR").body
    assert "width:100.00%" in html and "130.0 %" in html


def test_index_html_lists_reports() -> None:
    run = {
        "run_id": "r1",
        "started_at": "2026-01-01T00:00:00",
        "duration_seconds": 3.0,
        "data_dir": "/d",
        "reports": [
            {
                "name": "a",
                "title": "A",
                "status": "ok",
                "duration_seconds": 1.0,
                "parameters": {"fast": True},
                "html": "a.html",
            },
            {
                "name": "b",
                "title": "B",
                "status": "failed",
                "duration_seconds": 2.0,
                "parameters": {},
                "html": "b.html",
                "error": "ValueError: boom",
            },
        ],
    }
    html = reporting.index_html(run)
    assert (
        'href="a.html"' in html and "1 of 2 reports failed" in html and "ValueError: boom" in html
    )
