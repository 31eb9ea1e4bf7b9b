"""Report text and artifacts of the customer-health notebook: headline cards, verdicts and the
``health_validation.json`` payload, so the notebook stays a sequence of one-line calls."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from revlib import bayes, reporting
from revlib.data import round_floats
from revlib.health import score, validation
from revlib.health.rubric import Rubric


def settings(fast: bool) -> dict[str, Any]:
    """What ``fast`` changes in the customer-health report: ``n_boot`` (account-bootstrap
    repeats behind every interval: 100 fast, 300 full) and ``sampler`` (the sBG model's
    :func:`revlib.bayes.sample` settings: 1,000 draws; 2 chains and 400 tuning steps fast, 4 and
    1,000 full; this small model samples in seconds)."""
    return {"n_boot": 100 if fast else 300, "sampler": bayes.sampler_config(fast=fast, draws=1000)}


def headline_cards(
    snapshot: pd.DataFrame,
    arr_table: pd.DataFrame,
    bench_auc: pd.DataFrame,
    opportunities: pd.DataFrame,
    *,
    horizon: int,
) -> list[dict[str, Any]]:
    """KPI cards: accounts and mean score, ARR at risk, expected ARR lost, how well the score
    predicts churn, expected expansion ARR."""
    total = float(arr_table["arr"].sum())
    risk = arr_table[arr_table["at_risk"]]
    at_risk = float(risk["arr"].sum())
    share = at_risk / total if total else np.nan
    auc = bench_auc.set_index("model")
    team, best = auc.loc["Team rubric"], auc.loc["LightGBM"]
    best_exp = (
        opportunities[opportunities["best_for_account"]] if len(opportunities) else opportunities
    )
    floor = float(arr_table.loc[~arr_table["at_risk"], "floor"].min())
    cards: list[dict[str, Any]] = [
        {
            "label": "Paying accounts scored",
            "value": reporting.number(len(snapshot)),
            "sub": f"mean score {snapshot['health_score'].mean():.0f} of 100",
            "definition": score.health_scores,
        },
    ]
    if "expected_arr_lost" in arr_table:
        lost = float(arr_table["expected_arr_lost"].sum())
        cards.append(
            {
                "label": f"Expected ARR lost in {horizon} months",
                "value": reporting.money(lost),
                "sub": f"{reporting.pct(lost / total if total else np.nan)} of {reporting.money(total)} ARR, at each band's historical churn rate",
                "status": "warning",
                "definition": "ARR of each band x the share of that band's account-months that churned within the horizon in the past.",
            }
        )
    cards.append(
        {
            "label": f"ARR scoring below {floor:.0f} (not all of it will churn)",
            "value": reporting.money(at_risk),
            "sub": f"{reporting.pct(share)} of ARR, {int(risk['accounts'].sum()):,} accounts in the retention-risk bands and below",
            "status": "warning" if share > 0.25 else "good",
            "definition": score.arr_by_band,
        }
    )
    cards += [
        {
            "label": "Score as churn predictor (AUC)",
            "value": f"{team['auc']:.2f}",
            "sub": f"test period; LightGBM on the same signals {best['auc']:.2f}",
            "status": "good" if team["auc"] >= 0.7 else "warning",
            "definition": validation.auc_score,
        },
        {
            "label": "Expected expansion ARR",
            "value": reporting.money(
                float(best_exp["expected_arr"].sum()) if len(best_exp) else 0.0
            ),
            "sub": f"{len(best_exp)} accounts firing a trigger (best trigger each)",
            "definition": "Potential ARR x probability of the best trigger per account, probability from history where the data allow.",
        },
    ]
    return cards


def validation_verdict(
    outcomes: pd.DataFrame, bench_auc: pd.DataFrame, *, horizon: int
) -> tuple[str, str, str]:
    """(title, text, level) of the "does it work?" callout: is churn monotone across bands, and
    how the rubric ranks against the data-driven alternatives."""
    part = outcomes[(outcomes["outcome"] == "churn") & (outcomes["horizon"] == horizon)].dropna(
        subset=["rate"]
    )
    rates = part["rate"].to_numpy()
    monotone = bool(np.all(np.diff(rates) >= 0))
    auc = bench_auc.set_index("model")["auc"]
    team, sugg, lgbm = auc["Team rubric"], auc["Suggested weights"], auc["LightGBM"]
    first, last = part.iloc[0], part.iloc[-1]
    text = (
        f"{horizon}-month churn rises from {reporting.pct(first['rate'])} in '{first['label']}' to "
        f"{reporting.pct(last['rate'])} in '{last['label']}'"
        + (
            " and every lower band churns more than the one above it. "
            if monotone
            else ", but not every band churns more than the one above it. "
        )
        + f"On later months the team's score ranks churners with AUC {team:.2f}; its signals re-weighted by "
        f"their effect net of account size give {sugg:.2f} and LightGBM on the raw signals {lgbm:.2f}."
    )
    if not monotone or team < 0.6:
        return "The score does not yet separate churners well", text, "warning"
    if sugg - team > 0.03:
        return "The score works, and the data support better weights", text, "info"
    if lgbm - team > 0.03:
        return "The score works; a model on the same signals ranks churners better", text, "info"
    return "The score works", text, "success"


RANK_AGREEMENT = 0.6  # Spearman with the true driver shares that counts as "ranks them well"


def truth_verdict(
    summary: Mapping[str, float], comparison: pd.DataFrame | None = None
) -> tuple[str, str, str]:
    """(title, text, level) of the callout on how close the team's weights and the data-driven
    ones come to the generator's true churn drivers. The level follows the verdict on the
    team's rubric: "success" only when its points rank the true drivers with Spearman >=
    :data:`RANK_AGREEMENT`, else "warning"; the title says which weighting agrees."""
    team = summary["team_spearman_with_truth"]
    sugg = summary["suggested_spearman_with_truth"]
    lgbm = summary["lightgbm_spearman_with_truth"]
    text = (
        f"Rank correlation of each weighting with the true effects (1 = same order, 0 = none, "
        f"negative = reversed): suggested weights {sugg:+.2f}, team {team:+.2f}, LightGBM gain "
        f"{lgbm:+.2f} (gain favours continuous features and is not an effect size). "
        f"Signals that do not drive churn hold {summary['team_share_on_non_drivers'] * 100:.0f} % of the "
        f"team's points and {summary['suggested_share_on_non_drivers'] * 100:.0f} % of the suggested points. "
    )
    if comparison is not None and "true_share" in comparison:
        top = comparison.sort_values("true_share", ascending=False).iloc[0]
        text += (
            f"The largest true driver among the signals, {top['label'].lower()} "
            f"({top['true_share'] * 100:.0f} % of the in-rubric effect), has {top['team_points']:.0f} "
            f"team points and {top['suggested_points']:.0f} suggested. "
        )
    text += (
        f"{summary['true_effect_outside_rubric'] * 100:.0f} % of the true effect sits in account "
        "size, tier and tenure, which no health signal covers; the suggested weights hold them "
        "fixed so that signals are not credited with their effect."
    )
    good = RANK_AGREEMENT
    if team >= good:
        return "The team's points follow the true churn drivers", text, "success"
    if sugg >= good:
        return (
            "The data-suggested weights rank the true churn drivers; the team's points do not",
            text,
            "warning",
        )
    return "Neither weighting ranks the true churn drivers well", text, "warning"


def ltv_note(ltv: pd.DataFrame) -> str | None:
    """Why a group's spec LTV shows a dash beside a finite interval: no account of the group
    churned in the trailing window, so ARPA x margin / churn has no finite point estimate,
    while the churn rate's Beta posterior still bounds it. None when every group has one."""
    unbounded = ltv[ltv["ltv_simple"].isna() & ltv["ltv_simple_upper"].notna()]
    if unbounded.empty:
        return None
    parts = [
        f"{r.group}: no account churned in the trailing months, so the spec's LTV (ARPA x gross "
        f"margin / monthly churn) has no finite point estimate (shown as –); the churn rate's "
        f"posterior still puts it between {reporting.money(r.ltv_simple_lower)} and "
        f"{reporting.money(r.ltv_simple_upper)}. Use the sBG LTV, {reporting.money(r.ltv_sbg)}."
        for r in unbounded.itertuples()
    ]
    return " ".join(parts)


def accounts_to_act_on(
    snapshot: pd.DataFrame,
    rubric: Rubric,
    *,
    n: int = 15,
    score_below: float = score.ESCALATE_SCORE_BELOW,
    arr_above: float = score.ESCALATE_ARR_ABOVE,
) -> pd.DataFrame:
    """The at-risk accounts (score below the optimise floor) with the most ARR: who, how much,
    score, band, route (:func:`revlib.health.score.escalation_route`), owner, weakest signals
    and component points."""
    snap = snapshot.assign(
        route=score.escalation_route(snapshot, rubric, score_below=score_below, arr_above=arr_above)
    )
    risk = snap[snap["health_score"] < score.risk_floor(rubric)]
    cols = [c for c in ("account_id", "name", "segment") if c in snapshot.columns]
    comps = [c.name for c in rubric.components]
    out = risk.sort_values(["arr", "account_id"], ascending=[False, True]).head(n)
    return out[
        [*cols, "arr", "health_score", "band_label", "route", "owner", "weakest_signals", *comps]
    ].rename(columns={c.name: c.label for c in rubric.components})


def escalation_summary(
    snapshot: pd.DataFrame,
    rubric: Rubric,
    *,
    score_below: float = score.ESCALATE_SCORE_BELOW,
    arr_above: float = score.ESCALATE_ARR_ABOVE,
) -> pd.DataFrame:
    """Accounts and ARR per escalation route of the at-risk accounts (both routes always
    listed, zero when empty): route, rule, accounts, arr."""
    route = score.escalation_route(snapshot, rubric, score_below=score_below, arr_above=arr_above)
    floor = score.risk_floor(rubric)
    rules = {
        "CSM escalation": f"score below {score_below:g} and ARR above ${arr_above:,.0f}",
        "Automated retention": f"other accounts scoring below {floor:g}",
    }
    rows = [
        {
            "route": name,
            "rule": rule,
            "accounts": int((route == name).sum()),
            "arr": float(snapshot.loc[route == name, "arr"].sum()),
        }
        for name, rule in rules.items()
    ]
    return pd.DataFrame(rows)


def scores_artifact(snapshot: pd.DataFrame) -> pd.DataFrame:
    """``health_scores.csv``: the snapshot with points rounded to 0.01 (scores are sums of
    rubric points; two decimals keep them exact for steps and readable for linear rules)."""
    num = [
        c
        for c in snapshot.columns
        if c.startswith("pts_")
        or c
        in (
            "health_score",
            "arr",
            "usage",
            "business_value",
            "payment",
            "relationship",
            "expansion",
        )
    ]
    return round_floats(snapshot, 2, columns=num)


def opportunities_artifact(opportunities: pd.DataFrame) -> pd.DataFrame:
    """``expansion_opportunities.csv``: money to cents, probabilities to 4 decimals."""
    out = round_floats(opportunities, 2, columns=("arr", "potential_arr", "expected_arr"))
    return round_floats(out, 4, columns=("probability", "health_score"))


def _records(df: pd.DataFrame | None, digits: int = 6) -> list[dict[str, Any]] | None:
    if df is None:
        return None
    out = round_floats(df, digits)
    for col in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = out[col].dt.strftime("%Y-%m-%d")
    return out.to_dict(orient="records")


def validation_artifact(
    *,
    as_of: pd.Timestamp,
    rubric: Rubric,
    parameters: Mapping[str, Any],
    band_outcomes: pd.DataFrame,
    auc_by_horizon: pd.DataFrame,
    benchmark: Mapping[str, Any],
    arr_table: pd.DataFrame,
    trigger_history: pd.DataFrame,
    retention: Mapping[str, Any],
    truth: Mapping[str, Any] | None = None,
    feature_sources: Mapping[str, str] | None = None,
    escalation: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """``health_validation.json``: every validation figure of the report, machine-readable."""
    return {
        "escalation": _records(escalation),
        "as_of": f"{as_of:%Y-%m}",
        "rubric": {
            "name": rubric.name,
            "source": rubric.source if rubric.source in ("bundled", "mapping") else "file",
        },
        "parameters": dict(parameters),
        "feature_sources": dict(feature_sources or {}),
        "arr_by_band": _records(arr_table.drop(columns=["owner", "action"])),
        "band_outcomes": _records(band_outcomes),
        "score_auc": _records(auc_by_horizon),
        "benchmark": {
            "auc": _records(benchmark["auc"]),
            "split": benchmark["split"],
            "lightgbm_config": benchmark["config"],
            "lightgbm_importance": _records(benchmark["importance"]),
            "suggested_weights": _records(benchmark["weights"]),
        },
        "expansion_triggers": _records(trigger_history),
        "retention": {
            k: (_records(v) if isinstance(v, pd.DataFrame) else v) for k, v in retention.items()
        },
        "truth": None
        if truth is None
        else {k: (_records(v) if isinstance(v, pd.DataFrame) else v) for k, v in truth.items()},
    }


DEFINITIONS = {
    "Health score": score.health_scores,
    "Band": "The highest band whose floor the score reaches: 90-100 expansion, 75-89 optimise, 60-74 retention risk, 40-59 churn risk, 0-39 lost.",
    "ARR at risk": score.arr_by_band,
    "Churn / contraction within h months": validation.churn_outcomes,
    "Band churn rate": validation.band_outcomes,
    "ROC AUC": validation.auc_score,
    "Suggested weights": validation.suggest_weights,
    "Benchmark": validation.churn_benchmark,
}


def trigger_notes(history: pd.DataFrame, features: pd.DataFrame, rubric: Rubric) -> str:
    """Plain-text notes on the expansion triggers: where their data come from, how history
    compares with the team's probabilities, and triggers that never fired (with the highest
    value their feature reached)."""
    sources = features.attrs.get("sources", {})
    notes = [
        f"Feature-request trigger: {sources.get('expansion_requests', 'feature_requests')}.",
        f"Usage trigger: {sources.get('usage_vs_limit', 'usage / included limit')}.",
    ]
    known = history[
        history["probability_source"].str.startswith("history")
        & history["team_probability"].notna()
    ]
    if len(known):
        parts = [
            f"{r.label} {r.rate * 100:.0f} % (team {r.team_probability * 100:.0f} %)"
            for r in known.itertuples()
        ]
        notes.append("Measured conversion within the horizon: " + "; ".join(parts) + ".")
    for trig in rubric.triggers:
        row = history.set_index("trigger").loc[trig.name]
        if row["onsets"] == 0:
            highs = ", ".join(
                f"{f} reached at most {pd.to_numeric(features[f], errors='coerce').max():.4g}"
                for f, _, _ in trig.conditions
                if f in features
            )
            notes.append(
                f"'{trig.label}' never fired in the history ({highs}); its probability falls back to {row['probability_source'].split(' (')[0]}."
            )
    return " ".join(notes)
