"""Scenario sets (conservative / base / optimistic) and the revenue risk register, as data.

Both live in the package file ``revlib/forecast_risks.yaml``; :func:`load_risk_config` parses
and checks it (or a mapping given in code). Scenarios multiply the MRR flows of
:func:`revlib.forecasting.arr.simulate_arr`; risks are simulated as shocks: each one happens
within the horizon with probability ``1 - (1 - p)^(months / 12)``, in a uniformly drawn month,
and from then on scales the flow it applies to (or removes a share of MRR once).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from revlib.data import read_bundled_yaml
from revlib.forecasting.arr import FLOWS, ArrPosterior, simulate_arr

APPLIES_TO = ("revenue", "new", "gross_new", "churn", "arr")
SCENARIO_NAMES = ("conservative", "base", "optimistic")
RISKS_FILE = "forecast_risks.yaml"  # bundled in the package: revlib/forecast_risks.yaml


def load_risk_config(config: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Scenarios and risks, checked: every problem is listed in one ``ValueError``. Default:
    the bundled YAML. Returns {"scenarios": {name: {flow: factor, "description": str}},
    "risks": DataFrame(name, probability, impact, applies_to)}."""
    raw = read_bundled_yaml(RISKS_FILE) if config is None else dict(config)
    problems = []
    scenarios: dict[str, dict[str, float | str]] = {}  # flow factors and the description
    for name, spec in dict(raw.get("scenarios") or {}).items():
        spec = dict(spec)
        unknown = sorted(set(spec) - set(FLOWS) - {"description"})
        if unknown:
            problems.append(
                f"scenario {name}: unknown keys {unknown} (allowed {list(FLOWS)} and description)"
            )
        for f in FLOWS:
            v = spec.get(f, 1.0)
            if not (isinstance(v, (int, float)) and v >= 0):
                problems.append(f"scenario {name}: {f} must be a number >= 0, got {v!r}")
        scenarios[name] = {
            f: float(spec.get(f, 1.0)) if isinstance(spec.get(f, 1.0), (int, float)) else 1.0
            for f in FLOWS
        }
        scenarios[name]["description"] = str(spec.get("description", ""))
    if "base" not in scenarios:
        problems.append("scenarios must include 'base'")
    rows = []
    for i, r in enumerate(raw.get("risks") or []):
        name = r.get("name", f"risk {i + 1}")
        p, imp, to = r.get("probability"), r.get("impact"), r.get("applies_to")
        if not (isinstance(p, (int, float)) and 0 <= p <= 1):
            problems.append(f"risk {name}: probability must be in [0, 1], got {p!r}")
        if not (isinstance(imp, (int, float)) and -1 <= imp <= 1):
            problems.append(f"risk {name}: impact must be in [-1, 1], got {imp!r}")
        if to not in APPLIES_TO:
            problems.append(
                f"risk {name}: applies_to must be one of {list(APPLIES_TO)}, got {to!r}"
            )
        rows.append({"name": str(name), "probability": p, "impact": imp, "applies_to": to})
    if problems:
        raise ValueError("invalid risk configuration:\n  - " + "\n  - ".join(problems))
    risks = pd.DataFrame(rows, columns=["name", "probability", "impact", "applies_to"])
    risks[["probability", "impact"]] = risks[["probability", "impact"]].astype(float)
    return {"scenarios": scenarios, "risks": risks}


def scenario_multipliers(config: Mapping[str, Any], scenario: str) -> dict[str, float]:
    """The flow multipliers of ``scenario`` (new, expansion, contraction, churn)."""
    names = list(config["scenarios"])
    if scenario not in names:
        raise ValueError(f"scenario must be one of {names}, got {scenario!r}")
    return {f: config["scenarios"][scenario][f] for f in FLOWS}


def draw_risks(
    risks: pd.DataFrame, *, n_paths: int, months: int, seed: int = 0
) -> dict[str, np.ndarray]:
    """Simulate the risk register over ``months``: which risks happen on each path and from
    which month. Returns multipliers per flow (paths x months), ``shocks`` (one-off MRR loss
    shares, paths x months) and ``occurred`` (paths x risks, bool)."""
    rng = np.random.default_rng(seed)
    mult = {f: np.ones((n_paths, months)) for f in FLOWS}
    shocks = np.zeros((n_paths, months))
    occurred = np.zeros((n_paths, len(risks)), dtype=bool)
    month_idx = np.arange(months)[None, :]
    for i, r in enumerate(risks.itertuples(index=False)):
        p = 1 - (1 - r.probability) ** (months / 12)
        hit = rng.uniform(size=n_paths) < p
        when = rng.integers(0, months, size=n_paths)
        occurred[:, i] = hit
        after = hit[:, None] & (month_idx >= when[:, None])
        factor = np.where(after, 1 + r.impact, 1.0)
        if r.applies_to == "new":
            mult["new"] *= factor
        elif r.applies_to == "gross_new":
            mult["new"] *= factor
            mult["expansion"] *= factor
        elif r.applies_to == "churn":
            loss = np.where(after, 1 / (1 + r.impact), 1.0)
            mult["contraction"] *= loss
            mult["churn"] *= loss
        elif r.applies_to == "revenue":
            # MRR (1 + impact) x what it would have been from the shock month on: a one-off
            # loss of that share in the shock month, then new MRR scaled the same way (the
            # other flows are proportional to MRR, so they follow)
            at = hit[:, None] & (month_idx == when[:, None])
            shocks = 1 - (1 - shocks) * np.where(at, 1 + r.impact, 1.0)
            mult["new"] *= np.where(hit[:, None] & (month_idx > when[:, None]), 1 + r.impact, 1.0)
        else:  # arr: one-off loss in the shock month
            at = hit[:, None] & (month_idx == when[:, None])
            shocks = 1 - (1 - shocks) * np.where(at, 1 + r.impact, 1.0)
    return {**mult, "shocks": shocks, "occurred": occurred}


FLOW_WORDS = {
    "revenue": "MRR",
    "new": "new MRR",
    "gross_new": "new and expansion MRR",
    "churn": "churned and contracted MRR",
}


def impact_text(impact: float, applies_to: str) -> str:
    """What a risk does once it has happened, in the direction it moves the flow: the
    register's ``impact`` -0.10 on ``churn`` means losses divided by 0.9, i.e. "+11 % churned
    and contracted MRR" (more losses), never "-10 % on churn"."""
    if applies_to not in APPLIES_TO:
        raise ValueError(f"applies_to must be one of {list(APPLIES_TO)}, got {applies_to!r}")
    if applies_to == "arr":
        return f"{-impact:.0%} of MRR lost at once"
    if applies_to == "revenue":
        return f"{impact:+.0%} MRR from the month it strikes on"
    change = 1 / (1 + impact) - 1 if applies_to == "churn" else impact
    return f"{change:+.0%} {FLOW_WORDS[applies_to]} every month after"


def scenario_table(
    post: ArrPosterior,
    config: Mapping[str, Any],
    *,
    months: int,
    arr_target: float | None = None,
    n_paths: int = 4000,
    seed: int = 0,
) -> pd.DataFrame:
    """ARR at the horizon under each scenario, with and without the risk register: p10, p50,
    p90 and mean (reporting currency per year) and, with ``arr_target``, the probability of
    reaching it. The same posterior draws and random numbers are used for every row."""
    rows = []
    risk = draw_risks(config["risks"], n_paths=n_paths, months=months, seed=seed + 1)
    for name in config["scenarios"]:
        base = scenario_multipliers(config, name)
        for with_risks in (False, True):
            mult = {f: base[f] * (risk[f] if with_risks else 1.0) for f in FLOWS}
            paths = simulate_arr(
                post,
                months=months,
                n_paths=n_paths,
                seed=seed,
                multipliers=mult,
                shocks=risk["shocks"] if with_risks else None,
            )
            arr = 12 * paths[:, -1]
            q = np.quantile(arr, [0.1, 0.5, 0.9])
            row = {
                "scenario": name,
                "risks": "with risk register" if with_risks else "no shocks",
                "p10": q[0],
                "p50": q[1],
                "p90": q[2],
                "mean": float(arr.mean()),
            }
            if arr_target is not None:
                row["p_target"] = float((arr >= arr_target).mean())
            rows.append(row)
    return pd.DataFrame(rows)


def risk_impacts(
    post: ArrPosterior,
    config: Mapping[str, Any],
    *,
    months: int,
    scenario: str = "base",
    n_paths: int = 4000,
    seed: int = 0,
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """The risk register simulated as shocks on one scenario. Returns (table, arr_without,
    arr_with): per risk its probability within the horizon (the share of paths where it
    happened), the mean ARR lost at the horizon when it happens (against the same path
    without shocks), ``modelled_impact`` (mean relative change of horizon ARR on the paths it
    hit: equals the stated ``impact`` for ``applies_to: revenue``) and ``expected_arr_loss``
    = probability in horizon x ARR lost when hit; plus year-end ARR on every path without and
    with the shocks."""
    risks = config["risks"]
    base = scenario_multipliers(config, scenario)
    risk = draw_risks(risks, n_paths=n_paths, months=months, seed=seed + 1)
    clean = (
        12 * simulate_arr(post, months=months, n_paths=n_paths, seed=seed, multipliers=base)[:, -1]
    )
    mult = {f: base[f] * risk[f] for f in FLOWS}
    shocked = (
        12
        * simulate_arr(
            post, months=months, n_paths=n_paths, seed=seed, multipliers=mult, shocks=risk["shocks"]
        )[:, -1]
    )
    rows = []
    for i, r in enumerate(risks.itertuples(index=False)):
        only = draw_risks(
            risks.iloc[[i]], n_paths=n_paths, months=months, seed=seed + 1 + 1000 * (i + 1)
        )
        m1 = {f: base[f] * only[f] for f in FLOWS}
        one = (
            12
            * simulate_arr(
                post,
                months=months,
                n_paths=n_paths,
                seed=seed,
                multipliers=m1,
                shocks=only["shocks"],
            )[:, -1]
        )
        hit = only["occurred"][:, 0]
        loss = float((clean - one)[hit].mean()) if hit.any() else 0.0
        ok = hit & (clean > 0)
        modelled = float((one[ok] / clean[ok] - 1).mean()) if ok.any() else float("nan")
        rows.append(
            {
                "risk": r.name,
                "annual_probability": r.probability,
                "impact": r.impact,
                "applies_to": r.applies_to,
                "effect": impact_text(r.impact, r.applies_to),
                "modelled_impact": modelled,
                "probability_in_horizon": float(hit.mean()),
                "arr_loss_if_hit": loss,
                "expected_arr_loss": loss * float(hit.mean()),
            }
        )
    return pd.DataFrame(rows), clean, shocked
