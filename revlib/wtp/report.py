"""Report pieces of the wtp_survey notebook: settings, per-segment runs, cards, tables and the
truth check."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from revlib import bayes, reporting
from revlib.wtp import gabor_granger as gg
from revlib.wtp import van_westendorp as vw

BOOTSTRAP = {"full": 1000, "fast": 150}
"""Bootstrap resamples of the PSM and NMS intervals."""


def settings(fast: bool) -> dict[str, Any]:
    """What ``fast`` changes: ``sampler`` (the Gabor-Granger model's settings for
    :func:`revlib.bayes.sample`) and ``n_boot`` (bootstrap resamples)."""
    return {
        "sampler": bayes.sampler_config(**(gg.SAMPLER_FAST if fast else gg.SAMPLER)),
        "n_boot": BOOTSTRAP["fast" if fast else "full"],
    }


def segment_curves(
    responses: pd.DataFrame, segment: str, **options: Any
) -> dict[str, pd.DataFrame]:
    """PSM curves of each value of ``segment`` (sorted)."""
    return {
        s: vw.van_westendorp(responses[responses[segment] == s], **options).curves
        for s in sorted(responses[segment].dropna().unique())
    }


def psm_cards(res: vw.PsmResult, points: pd.DataFrame) -> list[dict[str, Any]]:
    """Headline cards: OPP with interval, acceptable range, respondents kept."""
    p = points.set_index("point")
    kept = res.n_total - res.n_inconsistent
    share = res.n_inconsistent / res.n_total
    return [
        {
            "label": "Optimal price point",
            "value": reporting.money(p.loc["opp", "estimate"], decimals=0),
            "sub": f"90 % interval {p.loc['opp', 'lower']:,.0f}-{p.loc['opp', 'upper']:,.0f}",
            "status": "neutral",
            "definition": "too expensive x too cheap: as many find it too cheap as too expensive",
        },
        {
            "label": "Acceptable range",
            "value": f"{p.loc['pmc', 'estimate']:,.0f}-{p.loc['pme', 'estimate']:,.0f}",
            "sub": "point of marginal cheapness to point of marginal expensiveness",
            "status": "neutral",
        },
        {
            "label": "Respondents analysed",
            "value": f"{kept:,}",
            "sub": f"{res.n_inconsistent} inconsistent excluded ({share:.0%})",
            "status": "warning" if share > 0.1 else "good",
        },
    ]


def points_table(points: pd.DataFrame, *, caption: str = "") -> reporting.HTML:
    """PSM (or NMS) points with their bootstrap intervals, formatted."""
    cols = [
        c for c in ("segment", "point", "name", "estimate", "lower", "upper", "sd") if c in points
    ]
    return reporting.table(
        points[cols],
        formats={c: "{:,.2f}" for c in ("estimate", "lower", "upper", "sd")},
        caption=caption,
    )


def truth_check(
    psm_points: pd.DataFrame, gg_optima: pd.DataFrame, truth: Mapping[str, Any]
) -> pd.DataFrame:
    """Each estimate against the simulator's truth (``ground_truth.json`` ``wtp_survey``):
    PSM points by segment, median stated WTP and revenue-maximising price from Gabor-Granger;
    ``covered`` = truth inside the interval."""
    seg = truth["segments"]
    rows = [
        {
            "segment": r.segment,
            "quantity": f"PSM {r.point.upper()}",
            "estimate": r.estimate,
            "lower": r.lower,
            "upper": r.upper,
            "truth": seg[r.segment]["psm_points"][r.point],
        }
        for r in psm_points.itertuples()
        if r.segment in seg
    ]
    for r in gg_optima.itertuples():
        if r.segment not in seg:
            continue
        rows.append(
            {
                "segment": r.segment,
                "quantity": "GG median stated WTP",
                "estimate": r.median_wtp,
                "lower": r.median_wtp_lower,
                "upper": r.median_wtp_upper,
                "truth": seg[r.segment]["stated_wtp_median"],
            }
        )
        rows.append(
            {
                "segment": r.segment,
                "quantity": "GG revenue-max price",
                "estimate": r.revenue_max_price,
                "lower": r.lower,
                "upper": r.upper,
                "truth": seg[r.segment]["gabor_granger_revenue_max_price"],
            }
        )
    out = pd.DataFrame(rows)
    out["covered"] = (out["lower"] <= out["truth"]) & (out["truth"] <= out["upper"])
    return out


def truth_callout(check: pd.DataFrame, truth: Mapping[str, Any]) -> reporting.HTML:
    """How many truths the intervals hold, and the stated-vs-revealed bias of the sample."""
    n, k = len(check), int(check["covered"].sum())
    bias = truth["params"]["stated_to_revealed"]
    return reporting.callout(
        f"{k} of {n} true values lie inside the report's 90 % intervals. The survey measures "
        f"stated willingness to pay; in this sample company customers state {bias:.0%} of what "
        "they would actually pay, so survey prices understate revealed willingness to pay by "
        f"{1 - bias:.0%}.",
        "success" if k >= 0.8 * n else "warning",
        title="Truth recovery",
    )


def diagnostics_artifact(diag: Mapping[str, Any], check: pd.DataFrame | None) -> dict[str, Any]:
    """``diagnostics.json``: the Gabor-Granger model's convergence checks and sampler settings
    and the truth coverage (no wall times)."""
    return {
        **bayes.diagnostics_artifact(diag),
        "truth_coverage": None if check is None else float(check["covered"].mean()),
        "outside_interval": []
        if check is None
        else [f"{r.segment}: {r.quantity}" for r in check[~check["covered"]].itertuples()],
    }
