"""Thin notebook glue: what ``fast`` changes comes from one ``settings`` function per domain,
optional tables are found in either format, and no figure is computed twice."""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from revlib import data
from revlib.forecasting import report as forecasting_report
from revlib.health import report as health_report
from revlib.pricing import elasticity as el
from revlib.pricing import report as pricing_report
from revlib.scoring import report as scoring_report

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def code(name: str) -> str:
    """The code of a notebook without its parameters cell."""
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    return "\n".join(
        c.source
        for c in nb.cells
        if c.cell_type == "code" and "parameters" not in c.metadata.get("tags", [])
    )


def branches_on_fast(source: str) -> list[str]:
    """Conditions (``if``, ``x if c else y``, ``and`` / ``or``) that read ``fast``."""
    out = []
    for node in ast.walk(ast.parse(source)):
        test = node.test if isinstance(node, (ast.If, ast.IfExp)) else None
        test = node if isinstance(node, ast.BoolOp) else test
        if test is not None and any(
            isinstance(n, ast.Name) and n.id == "fast" for n in ast.walk(test)
        ):
            out.append(ast.unparse(node)[:80])
    return out


def test_pricing_settings() -> None:
    fast, full = pricing_report.settings(True), pricing_report.settings(False)
    assert (fast["draws"], full["draws"]) == (5_000, 40_000)
    assert {k: fast["sampler"][k] for k in el.SAMPLER_FAST} == el.SAMPLER_FAST
    assert {k: full["sampler"][k] for k in el.SAMPLER} == el.SAMPLER
    assert full["sampler"]["target_accept"] == 0.9


def test_health_settings() -> None:
    fast, full = health_report.settings(True), health_report.settings(False)
    assert (fast["n_boot"], full["n_boot"]) == (100, 300)
    assert fast["sampler"] == {"draws": 1000, "tune": 400, "chains": 2, "target_accept": 0.9}
    assert full["sampler"] == {"draws": 1000, "tune": 1000, "chains": 4, "target_accept": 0.9}


def test_forecasting_settings() -> None:
    fast = forecasting_report.settings(True, n_simulations=4000, backtest_origins=8)
    full = forecasting_report.settings(False, n_simulations=4000, backtest_origins=8)
    assert (fast["n_sims"], fast["bt_origins"], fast["bt_sims"]) == (1000, 4, 300)
    assert (full["n_sims"], full["bt_origins"], full["bt_sims"]) == (4000, 8, 1000)
    assert (
        forecasting_report.settings(True, n_simulations=10, backtest_origins=2)["bt_origins"] == 2
    )
    assert {k: fast["sampler"][k] for k in ("draws", "tune", "chains")} == {
        "draws": 300,
        "tune": 300,
        "chains": 2,
    }
    assert {k: full["sampler"][k] for k in ("draws", "tune", "chains")} == {
        "draws": 1000,
        "tune": 1000,
        "chains": 2,
    }


@pytest.mark.parametrize(
    ("fast", "snapshot", "has_history", "mode"),
    [
        (True, "auto", True, "monthly"),
        (True, "weekly", True, "monthly"),
        (True, "auto", False, "auto"),  # no stage history: build_snapshots picks creation rows
        (True, "creation", True, "creation"),
        (False, "auto", True, "auto"),
        (False, "weekly", True, "weekly"),
    ],
)
def test_scoring_settings(fast: bool, snapshot: str, has_history: bool, mode: str) -> None:
    cfg = scoring_report.settings(fast, snapshot=snapshot, has_history=has_history)
    assert cfg["snapshot_mode"] == mode
    assert cfg["model_config"] == (
        {"num_boost_round": 300, "num_leaves_grid": (15,)} if fast else {}
    )
    assert cfg["pd_grid_size"] == (12 if fast else 20)


@pytest.mark.parametrize(
    ("name", "call"),
    [
        ("price_elasticity", "report.settings(fast)"),
        ("price_test", "report.settings(fast)"),
        ("wtp_survey", "report.settings(fast)"),
        ("customer_health", "report.settings(fast)"),
        ("pipeline_forecast", "report.settings(fast,"),
        ("deal_scoring", "scoring.report.settings(fast,"),
    ],
)
def test_fast_maps_to_settings_in_one_call(name: str, call: str) -> None:
    source = code(name)
    assert source.count(call) == 1
    assert not branches_on_fast(source), f"{name}: branches on fast outside report.settings"


def test_deal_scoring_finds_history_in_either_format(tmp_path: Path) -> None:
    source = code("deal_scoring")
    assert "opportunity_history.csv" not in source
    assert 'data.find_table_file(data_dir, "opportunity_history")' in source
    pd.DataFrame({"opportunity_id": ["o1"]}).to_parquet(tmp_path / "opportunity_history.parquet")
    assert data.find_table_file(tmp_path, "opportunity_history") is not None


def test_the_branch_check_sees_inline_fast_mappings() -> None:
    assert branches_on_fast("n = 1 if fast else 2\nm = fast and x\nif fast:\n    y = 1")
    assert len(branches_on_fast("n = 1 if fast else 2\nm = fast and x\nif fast:\n    y = 1")) == 3
    assert not branches_on_fast("cfg = report.settings(fast)\nf(fast=fast)")


def test_customer_health_bootstraps_the_score_auc_once() -> None:
    assert code("customer_health").count("score_auc_by_horizon(") == 1
