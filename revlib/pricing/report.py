"""Report pieces of the pricing notebooks: callouts, headline cards and formatted tables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from revlib import bayes, reporting
from revlib.pricing import competitors, offers
from revlib.pricing import elasticity as el
from revlib.pricing import experiments as ex
from revlib.pricing import rules as rl

SAMPLE_DRAWS = {"full": 40_000, "fast": 5_000}
"""Monte-Carlo draws of the price-test posteriors (per arm)."""


def settings(fast: bool) -> dict[str, Any]:
    """What ``fast`` changes in the pricing reports: ``sampler`` (the elasticity model's
    settings for :func:`revlib.bayes.sample`, :data:`revlib.pricing.elasticity.SAMPLER` or
    ``SAMPLER_FAST``) and ``draws`` (Monte-Carlo draws of the price-test posteriors)."""
    return {
        "sampler": bayes.sampler_config(**(el.SAMPLER_FAST if fast else el.SAMPLER)),
        "draws": SAMPLE_DRAWS["fast" if fast else "full"],
    }


def today_from_catalog(
    groups: pd.DataFrame, *, rules: Mapping[str, Any] | None = None
) -> pd.DataFrame | None:
    """Today's price of each product x region from the catalog (list price x geographic
    level), or None when a group is not in the catalog (then the data's price is used)."""
    if not {"product", "region"} <= set(groups.columns):
        return None
    book = rl.geo_price_list(rules=rules).rename(
        columns={"tier": "product", "regional_price": "today_price"}
    )
    keys = set(zip(book["product"], book["region"], strict=True))
    if not all(
        (p, r) in keys
        for p, r in zip(groups["product"].astype(str), groups["region"].astype(str), strict=True)
    ):
        return None
    return book[["product", "region", "today_price"]]


def elasticity_cards(
    pooled: Mapping[str, float],
    summary: pd.DataFrame,
    recs: pd.DataFrame,
    coverage: pd.DataFrame | None = None,
) -> list[dict[str, Any]]:
    """Headline cards: pooled elasticity, elastic groups, portfolio gain, (truth coverage)."""
    elastic = int((summary["hdi_97%"] < -1).sum())
    inelastic = int((summary["hdi_3%"] > -1).sum())
    gain = float(recs["objective_recommended"].sum() / recs["objective_today"].sum() - 1)
    edge = int((recs["at_edge"] != "").sum())
    cards: list[dict[str, Any]] = [
        {
            "label": "Pooled price elasticity",
            "value": f"{pooled['mean']:.2f}",
            "sub": f"94 % interval {pooled['lower']:.2f} to {pooled['upper']:.2f}",
            "definition": el.pooled_elasticity,
        },
        {
            "label": "Elastic groups",
            "value": f"{elastic} of {len(summary)}",
            "sub": f"{inelastic} inelastic, {len(summary) - elastic - inelastic} undecided (94 % intervals vs -1)",
            "definition": "Elastic: a 1 % price rise loses more than 1 % of units, so revenue falls when price rises.",
        },
        {
            "label": "Expected gain at recommended prices",
            "value": reporting.pct(gain, signed=True),
            "sub": f"{edge} of {len(recs)} recommendations sit at the edge of the search (prices seen, today's +/- the largest move)",
            "status": "good" if gain > 0 else "neutral",
            "definition": "Sum over groups of expected revenue (or profit, where unit cost is known) per period at the recommended price over the same at today's price, minus 1.",
        },
    ]
    if coverage is not None:
        share = float(coverage["covered"].mean())
        cards.append(
            {
                "label": "True elasticities recovered",
                "value": f"{int(coverage['covered'].sum())} of {len(coverage)}",
                "sub": f"{share:.0%} inside their 94 % interval (target >= 90 %)",
                "status": "good" if share >= 0.9 else "warning",
                "definition": "Synthetic data only: share of groups whose true elasticity lies inside the posterior 94 % interval.",
            }
        )
    return cards


def recommendations_table(recs: pd.DataFrame, *, caption: str = "") -> reporting.HTML:
    """The recommended prices, their interval, the edge flag and the expected gain (of profit
    or revenue, as the gain plot labels each group)."""
    t = recs.assign(
        interval=[
            f"{lo:,.2f}" if np.isclose(lo, hi) else f"{lo:,.2f} – {hi:,.2f}"
            for lo, hi in zip(recs["price_lower"], recs["price_upper"], strict=True)
        ],
        gain=[
            f"{m * 100:+.1f} % ({lo * 100:+.1f} to {hi * 100:+.1f})"
            for m, lo, hi in zip(
                recs["gain_mean"], recs["gain_lower"], recs["gain_upper"], strict=True
            )
        ],
        edge=recs["at_edge"].map(
            {"low": "low edge: test lower", "high": "high edge: test higher", "": ""}
        ),
    )
    cols = [
        "group",
        "today_price",
        "recommended_price",
        "interval",
        "edge",
        "model_optimum",
        "gain",
        "prob_gain",
    ]
    return reporting.table(
        t[cols],
        formats={
            "today_price": "{:,.2f}",
            "recommended_price": "{:,.2f}",
            "model_optimum": lambda v: "–" if not np.isfinite(v) else f"{v:,.2f}",
            "prob_gain": reporting.pct,
        },
        caption=caption,
    )


def ppp_table(ppp: pd.DataFrame) -> reporting.HTML:
    """Recommended price by region next to today's geographic levels."""
    return reporting.table(
        ppp[
            [
                "product",
                "region",
                "today_level",
                "today_price",
                "recommended_price",
                "recommended_level",
                "change",
            ]
        ],
        formats={
            "today_level": lambda v: reporting.pct(v, decimals=0),
            "recommended_level": lambda v: reporting.pct(v, decimals=0),
            "today_price": "{:,.2f}",
            "recommended_price": "{:,.2f}",
            "change": lambda v: reporting.pct(v, signed=True),
        },
        caption="Levels are shares of the NA price of the same product; change = recommended / today - 1",
        max_rows=60,
    )


# ----------------------------------------------------------------------------- price tests


def verdict_callouts(verdicts: pd.DataFrame) -> reporting.HTML:
    """One callout per test: green for a winner, blue for no difference, amber to keep testing."""
    level = {"winner": "success", "no difference": "info", "keep testing": "warning"}
    parts = []
    for _, v in verdicts.iterrows():
        extra = ""
        if v["verdict"] == "keep testing" and pd.notna(v["visitors_needed_per_variant"]):
            extra = (
                f" To tell {v['leader']}'s revenue per visitor from the runner-up "
                f"{v.get('runner_up', 'arm')}'s at the observed rates (95 %, power 80 %): about "
                f"{int(v['visitors_needed_per_variant']):,} visitors per variant"
                + (
                    f", {int(v['days_needed']):,} days at this traffic."
                    if pd.notna(v["days_needed"])
                    else "."
                )
            )
        title = f"{v['test_id']}: {v['verdict']}"
        parts.append(
            str(
                reporting.callout(
                    v["reason"][0].upper() + v["reason"][1:] + extra,
                    level[v["verdict"]],
                    title=title,
                )
            )
        )
    return reporting.HTML("".join(parts))


def price_test_cards(verdicts: pd.DataFrame) -> list[dict[str, Any]]:
    """Headline cards of the price tests: tests, winners, visitors, keep-testing count."""
    counts = verdicts["verdict"].value_counts()
    return [
        {
            "label": "Tests",
            "value": f"{len(verdicts)}",
            "sub": f"{int(verdicts['arms'].sum())} arms, {int(verdicts['visitors'].sum()):,} visitors",
        },
        {
            "label": "Winners",
            "value": f"{int(counts.get('winner', 0))}",
            "sub": "P(highest revenue per visitor) >= 95 %",
            "status": "good" if counts.get("winner", 0) else "neutral",
            "definition": ex.verdicts,
        },
        {
            "label": "Keep testing",
            "value": f"{int(counts.get('keep testing', 0))}",
            "status": "warning" if counts.get("keep testing", 0) else "neutral",
        },
        {"label": "No difference", "value": f"{int(counts.get('no difference', 0))}"},
    ]


def arms_table(arms: pd.DataFrame) -> reporting.HTML:
    """Arms with conversion, revenue per visitor (94 % intervals), P(best) and expected loss."""
    t = arms.assign(
        conversion=[
            f"{reporting.pct(m, decimals=2)} ({reporting.pct(lo, decimals=2)} – {reporting.pct(hi, decimals=2)})"
            for m, lo, hi in zip(
                arms["conv_mean"], arms["conv_lower"], arms["conv_upper"], strict=True
            )
        ],
        revenue_per_visitor=[
            f"{reporting.money(m, decimals=2)} ({reporting.money(lo, decimals=2)} – {reporting.money(hi, decimals=2)})"
            for m, lo, hi in zip(
                arms["rpv_mean"], arms["rpv_lower"], arms["rpv_upper"], strict=True
            )
        ],
    )
    return reporting.table(
        t[
            [
                "test_id",
                "variant",
                "price",
                "visitors",
                "conversions",
                "conversion",
                "revenue_per_visitor",
                "prob_best",
                "expected_loss",
            ]
        ],
        formats={
            "price": reporting.money,
            "prob_best": reporting.pct,
            "expected_loss": reporting.money,
        },
        caption="Intervals are 94 % credible intervals; expected loss = revenue per visitor given up, on average, by choosing this price",
    )


def elasticity_diagnostics(
    fit: el.ElasticityFit,
    diag: Mapping[str, Any],
    pooled: Mapping[str, float],
    coverage: pd.DataFrame | None,
) -> dict[str, Any]:
    """``diagnostics.json`` of the elasticity report: convergence checks and sampler settings
    (:func:`revlib.bayes.diagnostics_artifact`),
    model configuration, pooled elasticity and truth coverage. No wall times (artifacts are
    deterministic for the same data, parameters and seed)."""
    import json

    return {
        **bayes.diagnostics_artifact(diag),
        "model": json.loads(fit.idata.attrs["model_config"]),
        "pooled_elasticity": dict(pooled),
        "truth_coverage": None if coverage is None else float(coverage["covered"].mean()),
        "groups_outside_interval": []
        if coverage is None
        else list(coverage.loc[~coverage["covered"], "group"]),
    }


def plan_callout(plans: pd.DataFrame) -> reporting.HTML:
    """Whether the team's rule of thumb is enough for each test's planned lift."""
    short = plans[~plans["rule_of_thumb_enough"]]
    rule = f"{int(plans['rule_visitors'].iloc[0]):,} visitors per variant and {int(plans['rule_days'].iloc[0])} days"
    if short.empty:
        return reporting.callout(
            f"The rule of thumb ({rule}) is enough for every test's planned lift.", "success"
        )
    lift = float(short["lift"].iloc[0])
    return reporting.callout(
        f"The rule of thumb ({rule}) is not enough for {len(short)} of {len(plans)} tests to detect a "
        f"{lift:+.0%} lift in conversion (the planned lift, not the leader-vs-runner-up gap sized in "
        f"the verdicts above): they need {int(short['visitors_per_variant'].min()):,} to "
        f"{int(short['visitors_per_variant'].max()):,} visitors per variant, {int(short['days_needed'].min()):,} to "
        f"{int(short['days_needed'].max()):,} days at their traffic. At the rule's size they only detect lifts of "
        f"{short['mde_at_rule'].min():+.0%} to {short['mde_at_rule'].max():+.0%}.",
        "warning",
        title="Tests too small",
    )


def recommendation_callout(recs: pd.DataFrame) -> reporting.HTML:
    """The recommendation in one paragraph: how many groups move which way, and whether the
    optimum lies beyond the prices searched (then: test before moving)."""
    down = int((recs["price_change"] < -0.005).sum())
    up = int((recs["price_change"] > 0.005).sum())
    low, high = int((recs["at_edge"] == "low").sum()), int((recs["at_edge"] == "high").sum())
    sure = int((recs["prob_gain"] >= 0.95).sum())
    text = (
        f"{down} of {len(recs)} groups should charge less and {up} more; {sure} of them gain with at least 95 % "
        f"probability."
    )
    if low or high:
        text += (
            f" {low + high} recommendations sit at the edge of the search ({low} at the lowest, {high} at the "
            "highest price considered): the model's optimum lies beyond the prices seen, so move one step and "
            "run a price test there before going further."
        )
    level = "warning" if (low + high) > len(recs) / 2 else "info"
    return reporting.callout(text, level, title="What to do")


# ----------------------------------------------------------------------------- offer tests


def offer_callouts(verdicts: pd.DataFrame) -> reporting.HTML:
    """One callout per offer test: green for a winner, amber to keep testing or when the
    winner pays back too slowly, blue for no difference, red when below the minimums."""
    level = {
        "winner": "success",
        "no difference": "info",
        "keep testing": "warning",
        "payback too long": "warning",
        "too early": "critical",
    }
    return reporting.HTML(
        "".join(
            str(
                reporting.callout(
                    v["reason"][0].upper() + v["reason"][1:],
                    level[v["verdict"]],
                    title=f"{v['test_id']} ({v['kind'].replace('_', ' ')}): {v['verdict']}",
                )
            )
            for _, v in verdicts.iterrows()
        )
    )


def offer_cards(verdicts: pd.DataFrame) -> list[dict[str, Any]]:
    """Headline cards of the offer tests: tests, winners, disagreements with conversion."""
    counts = verdicts["verdict"].value_counts()
    disagree = int((~verdicts["agrees_with_conversion"]).sum())
    return [
        {
            "label": "Offer tests",
            "value": f"{len(verdicts)}",
            "sub": f"{int(verdicts['arms'].sum())} arms, {int(verdicts['visitors'].sum()):,} visitors",
        },
        {
            "label": "Winners",
            "value": f"{int(counts.get('winner', 0))}",
            "sub": "P(highest value per visitor) >= 95 %, CAC back within the ceiling",
            "status": "good" if counts.get("winner", 0) else "neutral",
            "definition": offers.offer_verdicts,
        },
        {
            "label": "Conversion picks another arm",
            "value": f"{disagree} of {len(verdicts)}",
            "sub": "tests where the highest-converting arm is not the most valuable",
            "status": "warning" if disagree else "neutral",
        },
        {
            "label": "Below the minimums",
            "value": f"{int(counts.get('too early', 0))}",
            "sub": "under 1,000 visitors per variant or 30 days",
            "status": "warning" if counts.get("too early", 0) else "neutral",
        },
    ]


def offer_arms_table(arms: pd.DataFrame) -> reporting.HTML:
    """Offer arms: the offer, conversion, trial-to-paid, early churn, LTV, CAC, payback and
    value per visitor (posterior means; value with its 94 % interval) and P(best)."""

    def offer(r: pd.Series) -> str:
        if r["kind"] == "free_trial":
            return f"{int(r['trial_days'])}-day trial"
        return f"{r['annual_discount']:.0%} off annual"

    t = arms.assign(
        offer=arms.apply(offer, axis=1),
        value_per_visitor=[
            f"{reporting.money(m, decimals=2)} ({reporting.money(lo, decimals=2)} – {reporting.money(hi, decimals=2)})"
            for m, lo, hi in zip(
                arms["value_mean"], arms["value_lower"], arms["value_upper"], strict=True
            )
        ],
    )
    return reporting.table(
        t[
            [
                "test_id",
                "variant",
                "offer",
                "visitors",
                "conversion_mean",
                "trial_to_paid",
                "annual_share_mean",
                "early_churn_mean",
                "ltv_mean",
                "cac_mean",
                "payback_mean",
                "value_per_visitor",
                "prob_best",
            ]
        ],
        formats={
            "conversion_mean": lambda v: reporting.pct(v, decimals=2),
            "trial_to_paid": reporting.pct,
            "annual_share_mean": reporting.pct,
            "early_churn_mean": reporting.pct,
            "ltv_mean": lambda v: reporting.money(v, decimals=0),
            "cac_mean": lambda v: reporting.money(v, decimals=0),
            "payback_mean": "{:.1f}",
            "prob_best": reporting.pct,
        },
        labels={
            "conversion_mean": "Conversion",
            "annual_share_mean": "Annual billing",
            "early_churn_mean": "Early churn (90 d)",
            "ltv_mean": "LTV",
            "cac_mean": "CAC",
            "payback_mean": "CAC payback (months)",
            "prob_best": "P(best value)",
        },
        caption="Posterior means; value per visitor = conversion x (LTV - CAC) with its 94 % interval; "
        "LTV = ARPU x gross margin over 36 months at the churn the early window implies",
    )


# ----------------------------------------------------------------------------- quotes


def quotes_table(quotes: pd.DataFrame) -> reporting.HTML:
    """Every open deal's personalised quote (folded), per seat per month."""
    return reporting.table(
        quotes[
            [
                "opportunity_id",
                "product",
                "country",
                "employees",
                "industry",
                "evaluation_days",
                "competitors",
                "list_price",
                "level",
                "multiplier",
                "quote",
                "vs_list",
                "factors",
            ]
        ],
        formats={
            "list_price": reporting.money,
            "level": lambda v: reporting.pct(v, decimals=0),
            "multiplier": "{:.3f}",
            "quote": lambda v: reporting.money(v, decimals=0),
            "vs_list": lambda v: reporting.pct(v, signed=True),
        },
        caption="Quote = list price x the country's price level x every quote factor that holds, "
        "rounded to whole dollars; vs list = quote / list price - 1",
        max_rows=len(quotes),
        collapsed=f"All {len(quotes)} open deals' quotes (per seat per month)",
    )


def read_recommendations(
    output_dir: str | os.PathLike, path: str = ""
) -> tuple[Path, pd.DataFrame | None]:
    """The elasticity report's ``price_recommendations.csv``: at ``path``, or (``path`` empty)
    in the ``price_elasticity`` folder next to this report's ``output_dir`` (where ``revlib
    run`` writes it). Returns the path looked at and the table, or None when it is absent.
    Only empty cells read as missing (the region "NA" stays North America)."""
    where = (
        Path(path)
        if path
        else Path(output_dir).parent / "price_elasticity" / ("price_recommendations.csv")
    )
    if not where.is_file():
        return where, None
    # only empty cells are missing: the region "NA" (North America) is a value, not a gap
    return where, pd.read_csv(where, keep_default_na=False, na_values=[""])


def quote_callout(
    quotes: pd.DataFrame, recs_path: Path, recs: pd.DataFrame | None
) -> reporting.HTML:
    """How many open deals were quoted, the median quote against list, and where the elasticity
    recommendations came from (or that they are missing)."""
    median = float((quotes["quote"] / quotes["list_price"]).median() - 1)
    text = (
        f"{len(quotes)} open deals quoted; the median quote is "
        f"{reporting.pct(median, signed=True)} against the list price. "
    )
    if recs is None:
        text += (
            f"No elasticity recommendations at {recs_path} (run the price_elasticity report "
            "first, or set elasticity_recommendations): the ladder shows list prices only."
        )
        return reporting.callout(text, "warning", title="Quotes")
    return reporting.callout(
        text + f"The elasticity model's recommendations are read from {recs_path}.",
        "info",
        title="Quotes",
    )


def ladder_table(ladder: pd.DataFrame) -> reporting.HTML:
    """The price ladder the quotes imply, per product x region, against the list price and the
    elasticity model's recommendation where available."""
    cols = [
        "product",
        "region",
        "deals",
        "list_price",
        "local_list_price",
        "quote_p10",
        "quote_median",
        "quote_p90",
    ]
    cols += [c for c in ("recommended_price", "quote_vs_recommended") if c in ladder.columns]
    money0 = {c: reporting.money for c in cols[3:8]}
    return reporting.table(
        ladder[cols],
        formats={
            **money0,
            "recommended_price": reporting.money,
            "quote_vs_recommended": lambda v: reporting.pct(v, signed=True),
        },
        caption="Money per seat per month; local list price = list x the price level (median over "
        "the deals' countries); p10/p90: 10th and 90th percentile of the quotes",
        max_rows=60,
    )


def competitor_table(gap: pd.DataFrame) -> reporting.HTML:
    """The latest competitor price ranges against ours with the value gap."""
    return reporting.table(
        gap[
            [
                "competitor",
                "plan",
                "annual_price_low",
                "annual_price_high",
                "as_of",
                "gap_low",
                "gap_high",
                "gap_mid",
            ]
        ],
        formats={
            "annual_price_low": lambda v: reporting.money(v, decimals=0),
            "annual_price_high": lambda v: reporting.money(v, decimals=0),
            "as_of": lambda v: pd.Timestamp(v).date().isoformat(),
            "gap_low": lambda v: reporting.pct(v, signed=True, decimals=0),
            "gap_high": lambda v: reporting.pct(v, signed=True, decimals=0),
            "gap_mid": lambda v: reporting.pct(v, signed=True, decimals=0),
        },
        caption=f"Annual price per seat; ours {reporting.money(gap['our_low'].iloc[0], decimals=0)}"
        f" – {reporting.money(gap['our_high'].iloc[0], decimals=0)} (comparable tiers' monthly list x 12); "
        "gap = their price / ours - 1 (+100 % = they charge twice ours)",
    )


def competitor_callout(alerts: pd.DataFrame, triggers: pd.DataFrame) -> reporting.HTML:
    """The competitor-cut alerts and the win-rate triggers in one callout."""
    cuts = alerts.loc[alerts["alert"], "message"].tolist()
    trig = [f"{c}: {w}" for c, w in zip(triggers["competitor"], triggers["why"], strict=True) if w]
    if not cuts and not trig:
        return reporting.callout(
            "No competitor cut a price by more than the threshold and no win rate trips the trigger.",
            "success",
            title="Competitor watch",
        )
    lines = [f"Price cut: {m}." for m in cuts] + [f"Win rate against {t}." for t in trig]
    return reporting.callout(
        " ".join(lines) + " Review price and positioning against them.",
        "warning",
        title="Competitor watch",
    )


def country_levels_table(*, rules: Mapping[str, Any] | None = None) -> reporting.HTML:
    """Monthly list price per seat of every tier in every country group of the framework, the
    groups in the rules' order, with the countries of each group in the caption."""
    prices = rl.country_price_list(rules=rules)
    groups = list(dict.fromkeys(prices["group"]))
    wide = prices.pivot(index="tier", columns="group", values="regional_price")
    wide = wide.reindex(index=list(dict.fromkeys(prices["tier"])), columns=groups)
    members = prices.drop_duplicates("group").set_index("group")["countries"]
    return reporting.table(
        wide,
        index=True,
        formats={g: reporting.money for g in groups},
        caption="Monthly list price per seat by country group (other countries pay their "
        "region's level); " + "; ".join(f"{g}: {members[g]}" for g in groups),
    )


def win_rate_table(rates: pd.DataFrame) -> reporting.HTML:
    """Closed new-business win rate by competitor: all time, the recent window with its 94 %
    interval, the window before and the change (rows of :func:`competitors.win_rates`)."""
    rate_cols = ("all_win_rate", "recent_win_rate", "recent_lower", "recent_upper")
    return reporting.table(
        rates[
            [
                "competitor",
                "all_deals",
                *rate_cols[:1],
                "recent_deals",
                *rate_cols[1:],
                "before_win_rate",
                "change",
            ]
        ],
        formats={
            "change": lambda v: reporting.pct(v, signed=True),
            "before_win_rate": reporting.pct,
            **{c: reporting.pct for c in rate_cols},
        },
        caption=reporting.definition(competitors.win_rates),
    )
