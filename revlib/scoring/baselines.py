"""The two baselines the LightGBM model must beat: historical win rate by stage (and type),
and a regularised logistic regression on the same features."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from revlib.pipeline_history import MISSING_LEVEL, win_rate_levels
from revlib.scoring.boosting import categorical_columns
from revlib.scoring.evaluation import log_loss


def _rate_lookup(tables: list[pd.DataFrame], frame: pd.DataFrame, by: Sequence[str]) -> np.ndarray:
    """Each row's rate from the deepest level of ``tables`` that has its cell."""
    p = np.full(len(frame), float(tables[0]["win_rate"].iloc[0]))
    for depth in range(1, len(by) + 1):
        keys = list(by[:depth])
        f = pd.DataFrame(
            {k: frame[k].astype("string").fillna(MISSING_LEVEL).to_numpy() for k in keys}
        )
        hit = f.merge(tables[depth][[*keys, "win_rate"]], on=keys, how="left")["win_rate"].to_numpy(
            dtype=float
        )
        p = np.where(np.isnan(hit), p, hit)
    return p


@dataclass
class StageRateBaseline:
    """Historical win rate of deals in the same stage (and type): the shared
    :func:`revlib.pipeline_history.stage_win_rates`, by default with the ``"deal"`` rule.

    Each deal counts once per cell, however many snapshots saw it there: the baseline answers
    "of the deals that were in this stage, how many were won", and a deal that lingered in a
    stage for many snapshots is one deal, not many. Rate for a cell = (won + prior x parent
    rate) / (deals + prior), nested overall -> stage -> stage and type, so thin cells lean on
    their parent; an unseen cell takes its parent's.
    """

    by: tuple[str, ...] = ("stage", "type")
    prior: float = 5.0
    key: str = "opportunity_id"
    rule: str = "deal"
    tables: list[pd.DataFrame] = field(default_factory=list)

    def fit(self, rows: pd.DataFrame, *, label: str = "won") -> StageRateBaseline:
        self.by = tuple(c for c in self.by if c in rows.columns)
        frame = rows if label == "won" else rows.assign(won=rows[label])
        self.tables = win_rate_levels(
            frame, rule=self.rule, prior=self.prior, by=self.by, key=self.key
        )
        return self

    def predict(self, rows: pd.DataFrame) -> np.ndarray:
        return _rate_lookup(self.tables, rows, self.by)


@dataclass
class LogisticBaseline:
    """L2-regularised logistic regression on the same features.

    Numbers: signed log1p, median imputation with a missing flag, standardised. Categories:
    one-hot (levels seen fewer than ``min_frequency`` times pooled), missing as a level. The
    strength ``C`` is picked from ``grid`` by log loss on the early-stopping rows.
    """

    feature_columns: list[str]
    grid: tuple[float, ...] = (0.01, 0.1, 1.0, 10.0)
    min_frequency: int = 20
    pipeline: Any = None
    C: float | None = None

    def _pipeline(self, frame: pd.DataFrame, C: float):
        from sklearn.compose import ColumnTransformer
        from sklearn.impute import SimpleImputer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

        cats = categorical_columns(frame, self.feature_columns)
        nums = [c for c in self.feature_columns if c not in cats]
        slog = FunctionTransformer(
            lambda x: np.sign(x) * np.log1p(np.abs(x)), feature_names_out="one-to-one"
        )
        pre = ColumnTransformer(
            [
                (
                    "num",
                    make_pipeline(
                        slog,
                        SimpleImputer(
                            strategy="median", add_indicator=True, keep_empty_features=True
                        ),
                        StandardScaler(),
                    ),
                    nums,
                ),
                (
                    "cat",
                    make_pipeline(
                        SimpleImputer(
                            strategy="constant", fill_value="(missing)", keep_empty_features=True
                        ),
                        OneHotEncoder(
                            handle_unknown="infrequent_if_exist", min_frequency=self.min_frequency
                        ),
                    ),
                    cats,
                ),
            ]
        )
        return make_pipeline(pre, LogisticRegression(C=C, max_iter=2000))

    def _frame(self, rows: pd.DataFrame) -> pd.DataFrame:
        f = rows[self.feature_columns].copy()
        for c in categorical_columns(f, self.feature_columns):
            f[c] = f[c].astype(object).where(f[c].notna(), None)
        for c in f.columns.difference(categorical_columns(f, self.feature_columns)):
            f[c] = f[c].astype(float)
        return f

    def fit(
        self, fit_rows: pd.DataFrame, stop_rows: pd.DataFrame, *, label: str = "won"
    ) -> LogisticBaseline:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1):  # BLAS threads only slow small problems down on a busy machine
            return self._fit(fit_rows, stop_rows, label)

    def _fit(self, fit_rows: pd.DataFrame, stop_rows: pd.DataFrame, label: str) -> LogisticBaseline:
        X, Xs = self._frame(fit_rows), self._frame(stop_rows)
        y, ys = fit_rows[label].to_numpy(float), stop_rows[label].to_numpy(float)
        best = None
        for C in self.grid:
            pipe = self._pipeline(X, C).fit(X, y)
            loss = log_loss(ys, pipe.predict_proba(Xs)[:, 1])
            if best is None or loss < best[0] - 1e-12:
                best = (loss, C, pipe)
        if best is None:
            raise ValueError("the logistic baseline's C grid is empty")
        _, self.C, self.pipeline = best
        return self

    def predict(self, rows: pd.DataFrame) -> np.ndarray:
        return self.pipeline.predict_proba(self._frame(rows))[:, 1]
