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


def test_values_read_as_written() -> None:
    assert [reporting.display(v) for v in (True, False, None, float("nan"), "", [], {})] == [
        "yes",
        "no",
        "–",
        "–",
        "–",
        "–",
        "–",
    ]
    assert reporting.display(["EMEA", "APAC"]) == "EMEA, APAC"
    assert reporting.display({"floor": 1.5, "regions": ["EMEA"]}) == "floor: 1.5; regions: EMEA"
    assert reporting.display(2116.0) == "2,116" and reporting.display(1.104) == "1.1"
    assert reporting.display(0.2) == "0.2" and reporting.display(0.1234) == "0.123"
    assert reporting.display(pd.Timestamp("2025-12-31")) == "2025-12-31"
    assert reporting.money(1_270) == "$1.27K" and reporting.money(22.9e6) == "$22.9M"
    assert reporting.money(3.49) == "$3.49" and reporting.money(999.7) == "$1.00K"


def test_headers_are_words_in_sentence_case() -> None:
    assert reporting.header("arr_at_risk") == "ARR at risk"
    assert reporting.header("new_business_share") == "New business share"
    assert reporting.header("n_accounts") == "Number of accounts"
    assert reporting.header("r_hat") == "R-hat" and reporting.header("ess_bulk") == "ESS (bulk)"
    assert reporting.header("Already written") == "Already written"
    assert (
        reporting.header("within_5pct") == "Within 5 %" and reporting.header("roc_auc") == "ROC AUC"
    )
    assert reporting.header("n") == "N" and reporting.header("inside80") == "Inside 80 % interval"


def test_table_formats_each_column_by_meaning() -> None:
    df = pd.DataFrame(
        {
            "metric": ["a", "b"],
            "closing_arr": [22_884.982, 1.2e6],
            "win_rate": [0.2, 0.35],
            "ess_bulk": [663.0, 2116.0],
            "r_hat": [1.0012, 1.0],
            "deals": [3.0, 4.0],
            "elasticity": [-1.23456, -0.5],
            "won": [True, False],
        }
    )
    html = reporting.table(df).body
    cells = [c.split(">", 1)[1] for c in html.split("<td")[1:]]
    cells = [c.split("</td>")[0] for c in cells]
    assert cells[:8] == ["a", "$22.9K", "20.0 %", "663", "1.001", "3", "-1.235", "yes"]
    assert cells[8:] == ["b", "$1.20M", "35.0 %", "2,116", "1.000", "4", "-0.500", "no"]
    assert "<th>Closing ARR</th>" in html and "<th>Win rate</th>" in html
    named = reporting.table(df, formats={"deals": "money", "won": "text"}, labels={"won": "Won?"})
    assert "$3<" in named.body and "<th>Won?</th>" in named.body


def test_an_explicit_unit_or_a_count_beats_a_money_word() -> None:
    """`amount_change_pct` is a percentage and `amount_changes` a count, not money."""
    df = pd.DataFrame(
        {"amount_change_pct": [12.5, 40.0], "amount_changes": [2, 3], "amount": [5e3, 7e3]}
    )
    cells = [
        c.split(">", 1)[1].split("</td>")[0] for c in reporting.table(df).body.split("<td")[1:]
    ]
    assert cells == ["12.5 %", "2", "$5.00K", "40.0 %", "3", "$7.00K"]


def test_axis_ticks_are_round_and_share_one_unit() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    assert reporting.money_ticks([0, 5e6, 1e7]) == ["$0", "$5M", "$10M"]
    assert reporting.money_ticks([10, 12.5, 15]) == ["$10.00", "$12.50", "$15.00"]
    assert reporting.money_ticks([1e6, 1.5e6, 2e6]) == ["$1.0M", "$1.5M", "$2.0M"]
    assert reporting.money_ticks([400, 700, 1000]) == ["$400", "$700", "$1,000"]
    assert reporting.pct_ticks([0, 0.025, 0.05]) == ["0.0 %", "2.5 %", "5.0 %"]
    assert reporting.pct_ticks([0, 0.1, 0.2]) == ["0 %", "10 %", "20 %"]
    fig, ax = plt.subplots()
    ax.plot([9.5, 18], [0, 1])
    reporting.money_axis(ax, "x")
    fig.canvas.draw()
    ticks = [t for t in ax.get_xticks() if 9.5 <= t <= 18]
    steps = {round(b - a, 9) for a, b in zip(ticks, ticks[1:], strict=False)}
    assert len(steps) == 1  # true spacing
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert len(set(labels)) == len(labels) and {"$10", "$12", "$14", "$16"} <= set(labels)
    fig2, ax2 = plt.subplots()
    ax2.plot([3e3, 4e6], [0, 1])
    ax2.set_xscale("log")
    reporting.money_axis(ax2, "x")
    fig2.canvas.draw()
    assert [t.get_text() for t in ax2.get_xticklabels()][1:4] == ["$10K", "$100K", "$1M"]
    assert not any(t.get_text() for t in ax2.get_xticklabels(minor=True))
    plt.close("all")


def test_long_category_labels_wrap() -> None:
    assert reporting.wrap_label("Expansion opportunity") == "Expansion\nopportunity"
    assert reporting.wrap_label("Lost (win-back)") == "Lost\n(win-back)"


def test_parameters_read_as_written_in_header_and_index() -> None:
    params = {"fast": True, "as_of": "", "segment": None, "regions": ["EMEA", "APAC"]}
    text = reporting.parameters_text(params)
    assert "fast=yes" in text and "as_of=–" in text and "regions=EMEA, APAC" in text
    run = {
        "run_id": "r",
        "started_at": "t",
        "duration_seconds": 1.0,
        "data_dir": "/d",
        "reports": [
            {"name": "a", "status": "ok", "duration_seconds": 1.0, "parameters": params},
        ],
    }
    assert reporting.page_problems(reporting.index_html(run)) == []


def test_definitions_drop_rst_markup() -> None:
    assert reporting.definition("Share of ``funnel`` rows, see :func:`x.y`.") == (
        "Share of funnel rows, see x.y."
    )
