"""The report check: what a reader would trip over in a rendered page (issue 14)."""

from __future__ import annotations

import pandas as pd
import pytest

from revlib import reporting

CLEAN = (
    "<html><head><style>.x{content:'True'}</style><script>var a = None;</script></head><body>"
    "<p>None of the accounts churned. True churn drivers are known.</p>"
    '<div class="rl-callout rl-success" data-level="success"><strong>✔</strong> '
    "The model beats the baseline by 4.2 %.</div>"
    '<div class="rl-callout rl-critical"><strong>✖</strong> Coverage failed: 0.8x.</div>'
    '<table class="rl-table"><tr><th>R-hat</th><th>ESS</th><th>ARR</th></tr>'
    "<tr><td>1.000</td><td>663</td><td>$22.9M</td></tr></table>"
    "<pre>n = 1,403</pre><img src='data:image/png;base64,True=='><br></body></html>"
)


def test_clean_page_passes() -> None:
    assert reporting.page_problems(CLEAN) == []


@pytest.mark.parametrize(
    ("snippet", "found"),
    [
        ("<p>fast=True</p>", "'True'"),
        ("<code>holdout = False</code>", "'False'"),
        ("<p>segment: None</p>", "'None'"),
        ("<td>nan</td>", "'nan'"),
        ("<p>NaN %</p>", "'NaN'"),
        ("<p>regions=''</p>", "\"''\""),
        ("<p>rules={'min_price': 1}</p>", "dict"),
        ("<p>regions=['EMEA', 'APAC']</p>", "list"),
        ("<td>22,884.982</td>", "unformatted number"),
        ("<td>0.12345</td>", "unformatted number"),
        ("<td>663.000</td>", "unformatted number"),
        ("<td>2,116.000</td>", "unformatted number"),
        ("<p>see ``revlib run``</p>", "backticks"),
        ('<div class="rl-callout rl-success">✔ The model has no skill.</div>', "green box"),
        ('<div class="rl-callout rl-success">✔ Checks failed.</div>', "green box"),
        ('<div class="rl-callout rl-success">✔ ARR is below target.</div>', "green box"),
        (
            '<div class="rl-callout rl-success"><strong>✔ Against the truth</strong><br>'
            "rank correlation -0.46 with the true drivers</div>",
            "green box",
        ),
        ('<div class="rl-card rl-good"><div>Prospects</div><div>no skill</div></div>', "green"),
        ('<div class="rl-callout rl-critical">✖ All checks passed.</div>', "red box"),
    ],
)
def test_each_problem_is_found(snippet: str, found: str) -> None:
    problems = reporting.page_problems(f"<html><body>{snippet}</body></html>")
    assert len(problems) == 1 and found in problems[0], problems


def test_nested_boxes_and_unclosed_tags_keep_their_text() -> None:
    page = (
        '<div class="rl-callout rl-success"><p>Deals <b>won</b><br>'
        "ρ = -0.14</p></div><div class='rl-callout rl-warning'>fine</div>"
    )
    problems = reporting.page_problems(page)
    assert len(problems) == 1 and "-0.14" in problems[0]


def test_components_render_clean_pages() -> None:
    """The building blocks themselves leak nothing: booleans, missing values, lists and
    dicts in tables and parameters, RST markup in definitions and callouts."""
    df = pd.DataFrame(
        {
            "segment": ["SMB", "Enterprise"],
            "arr": [22_884.982, 1.104e6],
            "win_rate": [0.2, None],
            "ess_bulk": [663.0, 2116.0],
            "r_hat": [1.0012, 1.0],
            "holdout": [True, False],
            "rules": [{"floor": 1.5, "regions": ["EMEA", "APAC"]}, None],
            "elasticity": [-1.23456, -0.5],
        }
    )
    page = (
        reporting.table(df).body
        + reporting.callout("Run ``revlib run`` with :func:`fast`.", "info").body
        + reporting.parameters_text(
            {"fast": True, "segment": None, "regions": ["EMEA", "APAC"], "x": "", "r": {"a": 1}}
        )
    )
    assert reporting.page_problems(page) == []
    assert "yes" in page and "no" in page and "EMEA, APAC" in page and "$22.9K" in page
    assert "ESS (bulk)" in page and "R-hat" in page and "Win rate" in page
    assert "663<" in page and "2,116<" in page and "1.001<" in page and "20.0 %" in page


@pytest.mark.slow
def test_sample_reports_read_well(sample_run) -> None:
    """Every HTML report of the sample run (and the index) passes the page check."""
    out, _code, run = sample_run
    pages = sorted(out.glob("*.html"))
    assert len(pages) == len(run["reports"]) + 1  # the reports and index.html
    found = {p.name: reporting.page_problems(p.read_text()) for p in pages}
    assert {k: v for k, v in found.items() if v} == {}


def test_every_report_ends_with_its_artifacts() -> None:
    """The last section of every notebook is "## Artifacts", naming the files that its last
    cell writes (and nothing is shown after it)."""
    import json
    import re
    from pathlib import Path

    for path in sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        heads = [i for i, c in enumerate(cells) if c["cell_type"] == "markdown"]
        last_md = "".join(cells[heads[-1]]["source"])
        assert last_md.startswith("## Artifacts"), path.name
        after = ["".join(c["source"]) for c in cells[heads[-1] + 1 :]]
        assert after and "write_artifacts" in after[-1], path.name
        written = set(re.findall(r'"([\w.]+\.(?:csv|json|txt))"', "\n".join(after)))
        named = set(re.findall(r"`([\w.]+\.(?:csv|json|txt))`", last_md))
        assert written <= named, (path.name, written - named)
