"""Configuration, the revenue plan's constants and the true parameters of the simulator.

Everything the simulator draws from is a number in :data:`TRUE_PARAMS` (or a constant below).
``ground_truth.json`` records the mapping actually used (defaults merged with
``SynthConfig.overrides``), so each analysis can be checked against it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# ----------------------------------------------------------------------------- the plan

TIERS = ("starter", "growth", "scale", "pro", "enterprise")
TIER_PRICE = np.array([49.0, 149.0, 299.0, 749.0, 1499.0])  # USD list price per seat per month
TIER_MIX_TARGET = (0.20, 0.30, 0.25, 0.15, 0.10)

REGIONS = ("NA", "EU", "APAC", "LATAM", "OTHER")
REGION_PRICE_LEVEL = np.array([1.00, 0.90, 0.85, 0.70, 0.60])
REGION_MIX = (0.45, 0.28, 0.14, 0.08, 0.05)
COUNTRIES: dict[str, tuple[tuple[str, float], ...]] = {
    "NA": (("US", 0.85), ("CA", 0.15)),
    "EU": (("GB", 0.30), ("DE", 0.25), ("FR", 0.20), ("NL", 0.10), ("ES", 0.08), ("IE", 0.07)),
    "APAC": (("AU", 0.40), ("SG", 0.20), ("JP", 0.20), ("IN", 0.20)),
    "LATAM": (("BR", 0.50), ("MX", 0.30), ("AR", 0.20)),
    "OTHER": (("ZA", 0.40), ("AE", 0.30), ("IL", 0.30)),
}
COUNTRY_CURRENCY = {
    "CA": "CAD",
    "GB": "GBP",
    "DE": "EUR",
    "FR": "EUR",
    "NL": "EUR",
    "ES": "EUR",
    "IE": "EUR",
    "AU": "AUD",
}  # everyone else is billed in USD
FX_TO_USD = {"USD": 1.0, "EUR": 1.08, "GBP": 1.27, "CAD": 0.74, "AUD": 0.66}
CURRENCIES = tuple(FX_TO_USD)
FX = np.array(list(FX_TO_USD.values()))
COUNTRY_CODES = tuple(c for r in COUNTRIES.values() for c, _ in r)
COUNTRY_CURRENCY_IDX = np.array(
    [CURRENCIES.index(COUNTRY_CURRENCY.get(c, "USD")) for c in COUNTRY_CODES]
)

INDUSTRIES = (
    "technology",
    "finance",
    "healthcare",
    "education",
    "retail",
    "manufacturing",
    "nonprofit",
    "other",
)
INDUSTRY_MIX = (0.30, 0.15, 0.13, 0.10, 0.10, 0.10, 0.05, 0.07)
SEGMENTS = ("smb", "mid_market", "enterprise", "strategic")
SEGMENT_EMPLOYEES = (100, 1000, 10000)  # segment boundaries (employees)

CHANNELS = (
    "organic_search",
    "paid_search",
    "content",
    "direct_sales",
    "referral",
    "social",
    "partnership",
)
CHANNEL_MIX = (0.22, 0.20, 0.15, 0.15, 0.10, 0.10, 0.08)

STAGES = ("prospecting", "qualification", "demo", "proposal", "negotiation")
OPEN_STAGES = STAGES
WON, LOST = "closed_won", "closed_lost"
DEMO_STAGE = 2  # reaching the demo stage = starting a trial
COMPETITORS = ("none", "Apollo", "ZoomInfo", "HubSpot", "Outreach")

USAGE_METRICS = ("api_calls", "leads_processed", "data_exports", "voice_calls")
OVERAGE_PRICE = np.array([0.10, 0.50, 0.25, 1.50])  # USD per unit above the plan limit
# included units per month, by metric x tier (nan = unlimited)
INCLUDED = np.array(
    [
        [5_000, 25_000, 100_000, 500_000, np.nan],
        [250, 1_000, 5_000, 20_000, np.nan],
        [10, 50, 200, 1_000, np.nan],
        [0, 50, 200, 1_000, np.nan],
    ]
)

REP_NAMES = (
    "Ava Patel",
    "Ben Okafor",
    "Chloe Martin",
    "Diego Alvarez",
    "Emma Schulz",
    "Farid Haddad",
    "Grace Kim",
    "Hugo Lefevre",
    "Isla Murphy",
    "Jonas Berg",
    "Keiko Tanaka",
    "Liam O'Brien",
    "Maya Cohen",
    "Noah Williams",
    "Olivia Rossi",
    "Pedro Santos",
    "Quinn Taylor",
    "Rosa Jimenez",
    "Sam Nguyen",
    "Tara Singh",
)

# ----------------------------------------------------------------------------- true parameters

TRUE_PARAMS: dict[str, Any] = {
    "company": {
        "opening_share": 0.40,  # share of customers already paying on the start date
        "new_growth_per_month": 0.03,  # growth of new-business volume per month
        "seasonality": [0.90, 0.95, 1.05, 1.00, 1.00, 0.95, 0.85, 0.85, 1.05, 1.10, 1.10, 1.20],
        "annual_discount": 0.15,  # annual billing: 12 months at 85 % of the monthly price
        "hidden_months": 6,  # months simulated past the end date (truth only)
    },
    "firmographics": {
        "employees_median": 45.0,
        "employees_log_sd": 1.7,
        "industry_wtp": {
            "technology": 0.2,
            "finance": 0.45,
            "healthcare": 0.3,
            "education": -0.4,
            "retail": -0.1,
            "manufacturing": 0.05,
            "nonprofit": -0.6,
            "other": -0.1,
        },
        "size_wtp_per_log_employees": 0.45,
        "seats_base": [1, 2, 4, 8],  # by segment
        "seats_poisson": [0.8, 2.5, 6.0, 14.0],
        "annual_logit": {"intercept": -1.6, "per_tier": 0.45, "per_segment": 0.3},
        "discount_prob": [0.25, 0.55, 0.75, 0.85],  # P(any NB discount) by segment
        "discount_levels": [5, 10, 15, 20, 25, 30],
    },
    "funnel": {  # per channel, in CHANNELS order
        "visitor_to_lead": [0.075, 0.085, 0.095, 0.06, 0.10, 0.065, 0.08],
        "lead_to_opportunity": [0.22, 0.22, 0.24, 0.30, 0.28, 0.20, 0.26],
        "lost_exit_stage_probs": [0.25, 0.25, 0.20, 0.18, 0.12],  # where lost deals stop
    },
    "win_model": {  # logistic: P(won) = 1 / (1 + exp(-eta))
        "intercept": -2.3,
        "type": {"new_business": 0.0, "expansion": 2.2},
        "segment": {"smb": 0.0, "mid_market": -0.2, "enterprise": -0.45, "strategic": -0.7},
        "product": {"starter": 0.2, "growth": 0.1, "scale": 0.0, "pro": -0.15, "enterprise": -0.3},
        "region": {"NA": 0.0, "EU": -0.1, "APAC": -0.15, "LATAM": 0.05, "OTHER": -0.2},
        "competitor": {
            "none": 0.0,
            "Apollo": -0.6,
            "ZoomInfo": -0.35,
            "HubSpot": -0.2,
            "Outreach": -0.25,
        },
        "log_amount": -0.15,  # per unit of log(amount / 12000)
        "discount_pct": 0.03,  # per percentage point of discount
        "touched_channel": {
            "organic_search": 0.25,
            "paid_search": 0.10,
            "content": 0.45,
            "direct_sales": 0.70,
            "referral": 0.60,
            "social": 0.05,
            "partnership": 0.40,
        },
        "rep_skill_sd": 0.35,
    },
    "deal_cycle": {
        # mean days per stage (prospecting .. negotiation) for smb; x segment factor
        "stage_days": {
            "new_business": [6, 6, 10, 6, 5],
            "expansion": [3, 4, 6, 5, 4],
            "renewal": [12, 12, 12, 12, 12],
        },
        "segment_factor": {  # by segment smb, mid_market, enterprise, strategic
            "new_business": [1.0, 2.0, 3.5, 5.0],
            "expansion": [1.0, 1.5, 2.0, 2.5],
            "renewal": [1.0, 1.0, 1.2, 1.4],
        },
        "gamma_shape": 2.0,
        "plan_error_sd": 0.35,  # log-sd of the rep's first expected-cycle estimate
        "slip_days_mean": 21.0,
        "amount_change_prob": 0.6,  # at proposal, the amount is revised
        "amount_initial_log_sd": 0.2,
    },
    "touches": {
        "one_touch_share": 0.15,
        "extra_touches_poisson": 2.0,
        "max_touches": 8,
        "later_channel_mix": [0.14, 0.18, 0.26, 0.20, 0.06, 0.10, 0.06],
        "untyped_journey_share": 0.10,
    },
    "health": {
        "fit_sd": 0.7,  # account-level mean of latent health
        "ar": 0.85,  # month-to-month persistence of latent health
        "innovation_sd": 0.45,
        "payer_mix": [0.75, 0.20, 0.05],  # good, sometimes late, bad
        "late_prob": [0.04, 0.35, 0.70],
        "late_days_mean": [4.0, 14.0, 40.0],
    },
    "churn_model": {  # monthly hazard, logistic in the previous month's health signals
        "intercept": -0.85,
        "utilisation": -1.4,  # active_users / seats
        "features_adopted": -1.2,
        "nps_minus_7": -0.22,
        "payment_late_days_over_30": 0.45,
        "competitive_evaluation": 1.1,
        "exec_engagement": -0.5,
        "log1p_support_tickets": 0.3,
        "log_seats": -0.8,
        "log1p_tenure_months": -0.25,
        "tier_index": -0.3,
    },
    "seat_expansion_model": {  # self-serve seat additions
        "intercept": -5.4,
        "team_growth_pct_over_5": 0.9,
        "utilisation": 1.5,
        "nps_minus_7": 0.15,
        "log1p_feature_requests": 0.35,
        "exec_engagement": 0.4,
    },
    "upgrade_attempt_model": {  # an expansion opportunity to move up one tier
        "intercept": -6.3,
        "over_limit": 1.3,
        "features_adopted": 1.8,
        "exec_engagement": 0.5,
        "nps_minus_7": 0.15,
    },
    "contraction_model": {
        "intercept": -2.2,
        "utilisation": -2.8,
        "nps_minus_7": -0.15,
        "payment_late_days_over_30": 0.3,
    },
    "usage": {  # quantity = reference volume x exp(log_mean + 0.15 log seats + 0.3 health + N(0, log_sd))
        "log_mean": -1.1,
        "log_sd": 0.35,
        "voice_share": 0.3,  # accounts using voice calls
        "exports_share": 0.6,  # accounts using data exports
    },
    "reactivation": {"initial_prob": 0.02, "decay_months": 6.0, "min_gap_months": 2},
    "renewal_uplift": {"prob": 0.5, "pct": 5.0},
    "pricing": {
        "elasticity_mu": -1.8,
        "elasticity_tau": 0.4,
        "elasticity_max": -1.1,  # draws above this are set to it (all groups elastic)
        "promo_effect": 0.25,  # log-units uplift in promo weeks beyond the price cut
        "promo_price_cut": 0.2,
        "promo_prob": 0.1,
        "noise_sd": 0.15,
        "weeks": 100,
        "price_levels": [-0.30, -0.20, -0.10, 0.0, 0.0, 0.10, 0.20, 0.30],
        "price_block_weeks": 4,
        "unit_cost_share": [0.25, 0.22, 0.20, 0.18, 0.16],
    },
    "finance": {
        "cogs_share": 0.21,
        "hosting_per_account": 45.0,  # USD per active account per month
        "rnd_share": 0.30,
        "ga_share": 0.15,
        "fixed_opex": 150_000.0,  # USD per month at the default size, scaled by accounts/2000
        "cac_payback_months": 18.0,
        "cost_per_lead_weight": [0.4, 1.4, 0.9, 0.0, 0.7, 1.0, 1.1],  # relative, per channel
        "sales_share_of_sm": 0.55,
        "payment_terms_days": [30, 30, 45, 60],  # by segment
        "write_off_prob": 0.3,  # last invoice of a churned bad payer goes unpaid
        "depreciation_share": 0.03,  # D&A inside the costs, share of revenue (EBITDA adds it back)
        "tax_rate": 0.21,  # on positive operating income (net income; no interest)
    },
}


def merge_params(defaults: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``defaults | overrides`` one level deep: a section's keys override the section's defaults."""
    out = {k: dict(v) if isinstance(v, Mapping) else v for k, v in defaults.items()}
    unknown = [k for k in overrides if k not in defaults]
    if unknown:
        raise ValueError(f"unknown parameter section(s) {unknown}; allowed: {sorted(defaults)}")
    for k, v in overrides.items():
        if isinstance(v, Mapping):
            bad = [kk for kk in v if kk not in defaults[k]]
            if bad:
                raise ValueError(
                    f"unknown parameter(s) {bad} in section {k!r}; allowed: {sorted(defaults[k])}"
                )
            out[k] = out[k] | dict(v)
        else:
            out[k] = v
    return out


@dataclass(frozen=True)
class SynthConfig:
    """Settings of one simulated company.

    ``accounts``: customer accounts that pay at some point up to the end date (prospects come on
    top); ``months``: length of the data window starting at ``start`` (first day of a month);
    ``overrides``: parameter overrides merged into :data:`TRUE_PARAMS` section by section.
    """

    seed: int = 42
    accounts: int = 2000
    months: int = 36
    start: str = "2023-01-01"
    reps: int = 14
    overrides: Mapping[str, Any] = field(default_factory=dict)

    def check(self) -> None:
        problems = []
        if self.accounts < 50:
            problems.append(f"accounts must be >= 50, got {self.accounts}")
        if not 13 <= self.months <= 120:
            problems.append(f"months must be between 13 and 120, got {self.months}")
        if not 3 <= self.reps <= len(REP_NAMES):
            problems.append(f"reps must be between 3 and {len(REP_NAMES)}, got {self.reps}")
        try:
            day = np.datetime64(self.start, "D")
            if day != np.datetime64(self.start, "M").astype("datetime64[D]"):
                problems.append(f"start must be the first day of a month, got {self.start!r}")
        except ValueError:
            problems.append(f"start must be an ISO date YYYY-MM-01, got {self.start!r}")
        if problems:
            raise ValueError("invalid SynthConfig: " + "; ".join(problems))

    def params(self) -> dict[str, Any]:
        return merge_params(TRUE_PARAMS, self.overrides)


# ----------------------------------------------------------------------------- helpers


def sigmoid(x: np.ndarray | float) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=float)))


def choice_idx(rng: np.random.Generator, probs: Any, size: int) -> np.ndarray:
    """Integer codes drawn with the given probabilities (normalised)."""
    p = np.asarray(probs, dtype=float)
    cum = np.cumsum(p / p.sum())
    cum[-1] = 1.0
    return np.searchsorted(cum, rng.random(size), side="right").astype(np.int64)


def fx_rate(currency: np.ndarray) -> np.ndarray:
    """USD per unit of currency, from integer codes into ``CURRENCIES``."""
    return FX[currency]


def lookup(mapping: Mapping[str, float], names: tuple[str, ...]) -> np.ndarray:
    """Array of ``mapping[name]`` in the order of ``names``."""
    return np.array([float(mapping[n]) for n in names])


@dataclass(frozen=True)
class Calendar:
    """Month grid of the simulation, as integer days since the start date.

    Month ``m`` (0 = the start month) spans days ``[bounds[m + pre], bounds[m + pre + 1])``;
    months ``-pre..-1`` precede the data window (CRM history), months ``months..`` are hidden.
    """

    start: np.datetime64
    months: int
    hidden: int
    pre: int
    bounds: np.ndarray  # day offsets of month starts, from month -pre to month months+hidden

    @classmethod
    def build(cls, start: str, months: int, hidden: int, pre: int = 6) -> Calendar:
        first = np.datetime64(start, "M")
        mstarts = (first + np.arange(-pre, months + hidden + 1)).astype("datetime64[D]")
        day0 = np.datetime64(start, "D")
        return cls(day0, months, hidden, pre, (mstarts - day0).astype(np.int64))

    @property
    def total(self) -> int:
        return self.months + self.hidden

    @property
    def end_day(self) -> int:
        """Day offset of the first day after the data window (snapshot = end_day - 1)."""
        return int(self.month_start(self.months))

    def month_start(self, m: np.ndarray | int | np.integer) -> np.ndarray:
        return self.bounds[np.asarray(m) + self.pre]

    def month_len(self, m: np.ndarray | int | np.integer) -> np.ndarray:
        m = np.asarray(m)
        return self.bounds[m + self.pre + 1] - self.bounds[m + self.pre]

    def month_of(self, day: np.ndarray) -> np.ndarray:
        """Month index of integer (or fractional) day offsets."""
        return np.searchsorted(self.bounds, np.floor(day), side="right") - 1 - self.pre

    def calendar_month(self, m: np.ndarray | int) -> np.ndarray:
        """Month of year 0..11 of month index ``m``."""
        first = int(self.start.astype("datetime64[M]").astype(np.int64))
        return (first + np.asarray(m)) % 12

    def dates(self, day: np.ndarray) -> np.ndarray:
        return self.start + np.floor(np.asarray(day)).astype("timedelta64[D]")

    def timestamps(self, t: np.ndarray) -> np.ndarray:
        """Fractional days -> timestamps; the fraction of the day maps to office hours 08:00-18:00
        (monotone, so the order of events is kept)."""
        t = np.asarray(t, dtype=float)
        day = np.floor(t)
        secs = np.round(day * 86400 + 8 * 3600 + (t - day) * 10 * 3600).astype(np.int64)
        return self.start.astype("datetime64[s]") + secs.astype("timedelta64[s]")

    def month_dates(self, m: np.ndarray | int) -> np.ndarray:
        return self.dates(self.month_start(m))
