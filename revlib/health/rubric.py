"""The health-score rubric: signals -> points, bands, expansion triggers (data, not code).

The bundled rubric is ``revlib/health_rubric.yaml``; :func:`load_rubric` reads it (or a file
or mapping of the same shape), checks it and returns a :class:`Rubric`. :func:`signal_points`
turns one feature column into points by the signal's rule.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from revlib.data import read_bundled_yaml, read_yaml

RULES = ("steps", "linear", "flag")
OPERATORS = (">", ">=", "<", "<=", "==")


@dataclass(frozen=True)
class Signal:
    """One scored signal: ``feature`` mapped to at most ``points`` by ``rule``."""

    name: str
    label: str
    component: str
    feature: str
    points: float
    rule: str
    params: Mapping[str, Any]
    why: str = ""


@dataclass(frozen=True)
class Component:
    name: str
    label: str
    points: float
    signals: tuple[Signal, ...]


@dataclass(frozen=True)
class Band:
    """Score band: scores >= ``min`` (and below the next band's floor) fall in it."""

    name: str
    label: str
    min: float
    owner: str
    action: str


@dataclass(frozen=True)
class Trigger:
    """Expansion trigger: fires when every (feature, operator, value) condition holds."""

    name: str
    label: str
    conditions: tuple[tuple[str, str, float], ...]
    team_probability: float | None
    potential_share: float
    owner: str = ""
    action: str = ""


@dataclass(frozen=True)
class Rubric:
    name: str
    total_points: float
    missing_fraction: float
    components: tuple[Component, ...]
    bands: tuple[Band, ...]
    triggers: tuple[Trigger, ...] = ()
    source: str = "bundled"
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def signals(self) -> tuple[Signal, ...]:
        return tuple(s for c in self.components for s in c.signals)

    def table(self) -> pd.DataFrame:
        """The rubric as a table: component, signal, feature, points, rule (readable), why."""
        rows = [
            {
                "component": c.label,
                "signal": s.label,
                "feature": s.feature,
                "points": s.points,
                "rule": describe_rule(s),
                "why": s.why,
            }
            for c in self.components
            for s in c.signals
        ]
        return pd.DataFrame(rows)

    def bands_table(self) -> pd.DataFrame:
        """Bands with their score range, owner and action."""
        rows, upper = [], self.total_points
        for b in sorted(self.bands, key=lambda b: -b.min):
            rows.append(
                {
                    "band": b.label,
                    "score": f"{b.min:g}-{upper:g}",
                    "owner": b.owner,
                    "action": b.action,
                }
            )
            upper = b.min - 1 if float(b.min).is_integer() else b.min
        return pd.DataFrame(rows)


def load_rubric(source: str | os.PathLike | Mapping[str, Any] | None = None) -> Rubric:
    """Read and check a rubric: ``None`` or ``""`` = the bundled one, a path to a YAML file,
    or an already parsed mapping. Raises ``ValueError`` listing every problem found."""
    if source is None or (isinstance(source, str) and source == ""):
        raw, label = read_bundled_yaml("health_rubric.yaml"), "bundled"
    elif isinstance(source, Mapping):
        raw, label = dict(source), "mapping"
    else:
        path = Path(source)
        if not path.is_file():
            raise ValueError(f"rubric file not found: {path}")
        raw, label = read_yaml(path), str(path)
    return parse_rubric(raw, source=label)


def _num(value: Any, where: str, problems: list[str]) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        problems.append(f"{where}: expected a number, got {value!r}")
        return float("nan")
    if not np.isfinite(out):
        problems.append(f"{where}: expected a finite number, got {value!r}")
    return out


def _check_rule(
    sig: Mapping[str, Any], where: str, points: float, problems: list[str]
) -> dict[str, Any]:
    rule = sig.get("rule")
    if rule not in RULES:
        problems.append(f"{where}: rule must be one of {', '.join(RULES)}, got {rule!r}")
        return {}
    if rule == "steps":
        direction = sig.get("direction", "higher")
        if direction not in ("higher", "lower"):
            problems.append(f"{where}: direction must be 'higher' or 'lower', got {direction!r}")
        steps = sig.get("steps")
        if (
            not isinstance(steps, list)
            or not steps
            or not all(isinstance(s, list) and len(s) == 2 for s in steps)
        ):
            problems.append(
                f"{where}: steps must be a non-empty list of [threshold, points] pairs, got {steps!r}"
            )
            return {}
        pairs = [(_num(t, where, problems), _num(p, where, problems)) for t, p in steps]
        thresholds = [t for t, _ in pairs]
        want = sorted(thresholds, reverse=direction == "higher")
        if thresholds != want or len(set(thresholds)) != len(thresholds):
            order = "highest first" if direction == "higher" else "lowest first"
            problems.append(
                f"{where}: step thresholds must be distinct and listed {order}, got {thresholds}"
            )
        pts = [p for _, p in pairs]
        if any(p < 0 or p > points for p in pts):
            problems.append(f"{where}: step points must be within 0..{points:g}, got {pts}")
        if pts != sorted(pts, reverse=True):
            problems.append(
                f"{where}: step points must not increase as the signal worsens, got {pts}"
            )
        return {"direction": direction, "steps": pairs}
    if rule == "linear":
        span = sig.get("from")
        if not isinstance(span, list) or len(span) != 2:
            problems.append(
                f"{where}: linear needs from: [value at 0 points, value at full points], got {span!r}"
            )
            return {}
        a, b = _num(span[0], where, problems), _num(span[1], where, problems)
        if a == b:
            problems.append(f"{where}: linear from values must differ, got {span}")
        return {"from": (a, b)}
    when = sig.get("when")
    if not isinstance(when, bool):
        problems.append(f"{where}: flag needs when: true or false, got {when!r}")
    return {"when": bool(when)}


def parse_rubric(raw: Mapping[str, Any], *, source: str = "mapping") -> Rubric:
    """Build a :class:`Rubric` from its parsed YAML mapping, collecting every problem."""
    problems: list[str] = []
    if not isinstance(raw, Mapping):
        raise ValueError(f"rubric must be a mapping, got {type(raw).__name__}")
    total = _num(raw.get("total_points", 100), "total_points", problems)
    missing = _num(raw.get("missing_fraction", 0.5), "missing_fraction", problems)
    if not 0 <= missing <= 1:
        problems.append(f"missing_fraction must be within 0..1, got {missing}")
    components, seen = [], set()
    for i, comp in enumerate(raw.get("components") or []):
        cname = comp.get("name", f"component {i + 1}")
        cpoints = _num(comp.get("points"), f"{cname}.points", problems)
        signals = []
        for j, sig in enumerate(comp.get("signals") or []):
            sname = sig.get("name", f"{cname} signal {j + 1}")
            where = f"{cname}.{sname}"
            if sname in seen:
                problems.append(f"{where}: duplicate signal name")
            seen.add(sname)
            points = _num(sig.get("points"), f"{where}.points", problems)
            if points < 0:
                problems.append(f"{where}.points must be >= 0, got {points:g}")
            if not sig.get("feature"):
                problems.append(f"{where}: feature is missing")
            params = _check_rule(sig, where, points, problems)
            signals.append(
                Signal(
                    name=str(sname),
                    label=str(sig.get("label", sname)),
                    component=str(cname),
                    feature=str(sig.get("feature", "")),
                    points=points,
                    rule=str(sig.get("rule")),
                    params=params,
                    why=str(sig.get("why", "")),
                )
            )
        if not signals:
            problems.append(f"{cname}: has no signals")
        got = sum(s.points for s in signals)
        if signals and not np.isclose(got, cpoints):
            problems.append(f"{cname}: signal points add up to {got:g}, component has {cpoints:g}")
        components.append(
            Component(str(cname), str(comp.get("label", cname)), cpoints, tuple(signals))
        )
    if not components:
        problems.append("components: the rubric has none")
    got = sum(c.points for c in components)
    if components and not np.isclose(got, total):
        problems.append(f"components add up to {got:g} points, total_points is {total:g}")
    bands = []
    for i, b in enumerate(raw.get("bands") or []):
        bname = b.get("name", f"band {i + 1}")
        bands.append(
            Band(
                str(bname),
                str(b.get("label", bname)),
                _num(b.get("min"), f"band {bname}.min", problems),
                str(b.get("owner", "")),
                str(b.get("action", "")),
            )
        )
    floors = sorted(b.min for b in bands)
    if not bands:
        problems.append("bands: the rubric has none")
    elif floors[0] != 0 or len(set(floors)) != len(floors) or floors[-1] > total:
        problems.append(
            f"band floors must be distinct, start at 0 and stay <= {total:g}; got {floors}"
        )
    triggers = []
    for i, t in enumerate(raw.get("expansion_triggers") or []):
        tname = t.get("name", f"trigger {i + 1}")
        conds = []
        for c in t.get("conditions") or []:
            if not (isinstance(c, list) and len(c) == 3 and c[1] in OPERATORS):
                problems.append(
                    f"trigger {tname}: condition must be [feature, operator, value] with operator in {OPERATORS}, got {c!r}"
                )
                continue
            conds.append((str(c[0]), str(c[1]), _num(c[2], f"trigger {tname}", problems)))
        if not conds:
            problems.append(f"trigger {tname}: has no conditions")
        prob = t.get("team_probability")
        if prob is not None:
            prob = _num(prob, f"trigger {tname}.team_probability", problems)
            if not 0 <= prob <= 1:
                problems.append(
                    f"trigger {tname}: team_probability must be within 0..1, got {prob}"
                )
        share = _num(t.get("potential_share", 0.0), f"trigger {tname}.potential_share", problems)
        if share < 0:
            problems.append(f"trigger {tname}: potential_share must be >= 0, got {share}")
        triggers.append(
            Trigger(
                str(tname),
                str(t.get("label", tname)),
                tuple(conds),
                prob,
                share,
                str(t.get("owner", "")),
                str(t.get("action", "")),
            )
        )
    if problems:
        raise ValueError(
            f"rubric ({source}) has {len(problems)} problem(s):\n  - " + "\n  - ".join(problems)
        )
    return Rubric(
        name=str(raw.get("name", "rubric")),
        total_points=total,
        missing_fraction=missing,
        components=tuple(components),
        bands=tuple(sorted(bands, key=lambda b: -b.min)),
        triggers=tuple(triggers),
        source=source,
        raw=dict(raw),
    )


def describe_rule(signal: Signal) -> str:
    """The signal's rule in words, e.g. ``>= 12: 10, >= 8: 8, else 0``."""
    p = signal.params
    if signal.rule == "steps":
        op = ">=" if p["direction"] == "higher" else "<="
        return ", ".join(f"{op} {t:g}: {pts:g}" for t, pts in p["steps"]) + ", else 0"
    if signal.rule == "linear":
        a, b = p["from"]
        return f"0 at {a:g} rising to {signal.points:g} at {b:g} (straight line, clipped)"
    return f"{signal.points:g} if {str(p['when']).lower()}, else 0"


def signal_points(
    values: pd.Series | np.ndarray, signal: Signal, *, missing_fraction: float
) -> np.ndarray:
    """Points the rubric gives each value of ``signal``'s feature (NaN = no data).

    Steps: points of the first threshold reached; linear: straight line between the two
    anchors, clipped; flag: full points when the value equals ``when``. Missing values score
    ``missing_fraction`` x the signal's points. Float array, same length as ``values``.
    """
    x = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float)
    out = np.zeros(len(x))
    p = signal.params
    if signal.rule == "steps":
        done = np.zeros(len(x), dtype=bool)
        for threshold, pts in p["steps"]:
            hit = (x >= threshold) if p["direction"] == "higher" else (x <= threshold)
            hit &= ~done
            out[hit] = pts
            done |= hit
    elif signal.rule == "linear":
        a, b = p["from"]
        out = signal.points * np.clip((x - a) / (b - a), 0.0, 1.0)
    elif signal.rule == "flag":
        out = np.where(x == float(p["when"]), signal.points, 0.0)
    else:  # pragma: no cover - parse_rubric rejects other rules
        raise ValueError(f"rule must be one of {RULES}, got {signal.rule!r}")
    return np.where(np.isnan(x), missing_fraction * signal.points, out)
