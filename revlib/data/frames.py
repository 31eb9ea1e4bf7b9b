"""Checks on in-memory tables that domain functions share (no file I/O here)."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd


def column_problem(frame: pd.DataFrame, table: str, columns: Iterable[str]) -> str | None:
    """The message naming the table and the columns of ``columns`` that ``frame`` lacks, or
    None when it has them all."""
    need = list(dict.fromkeys(columns))
    missing = [c for c in need if c not in frame.columns]
    if not missing:
        return None
    return f"{table} must have columns {need}; it lacks column(s) {missing} (it has {list(frame.columns)})"


def require_columns(frame: pd.DataFrame, table: str, columns: Iterable[str]) -> None:
    """Raise ``ValueError`` (see :func:`column_problem`) unless ``frame`` has every column."""
    problem = column_problem(frame, table, columns)
    if problem:
        raise ValueError(problem)
