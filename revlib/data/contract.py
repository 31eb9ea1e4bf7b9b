"""The data contract: the tables, their columns, types and rules, and its Markdown rendering.

The contract is documented in ``docs/data-contract.md`` and implements
``shared/spec/data-contract.md`` v1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd

Kind = Literal["str", "int", "float", "date", "timestamp", "bool"]
REPORTING_CURRENCY = "USD"
REGIONS = ("NA", "EU", "APAC", "LATAM", "OTHER")
SEGMENTS = ("smb", "mid_market", "enterprise", "strategic")
OPPORTUNITY_TYPES = ("new_business", "expansion", "renewal")
OPPORTUNITY_STATUSES = ("open", "won", "lost")
TOUCH_TYPES = ("awareness", "content", "demo", "sales", "closing")
SPEND_CATEGORIES = ("sales", "marketing")
MAX_EXAMPLES = 5
MAX_ABS_NUMBER = 1e15  # every number: finite and within +-1e15 (float64 keeps whole units exact)
MAX_MONEY = 1e10  # one row's money: sums of many rows stay exact in int64 micro-units


@dataclass(frozen=True)
class Col:
    """One column of the contract: its type and the rules its values follow."""

    name: str
    kind: Kind
    required: bool = True  # the column must be present in the file
    nullable: bool = False
    unique: bool = False
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    isin: tuple[str, ...] | None = None
    ref: str | None = None  # foreign key, "table.column"
    doc: str = ""


@dataclass(frozen=True)
class RowRule:
    """A rule across columns of one row, e.g. ``end_date > start_date``; nulls pass."""

    left: str
    op: Literal[">", ">=", "<="]
    right: str

    @property
    def name(self) -> str:
        return f"{self.left} {self.op} {self.right}"


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Col, ...]
    rules: tuple[RowRule, ...] = ()
    doc: str = ""

    def col(self, name: str) -> Col | None:
        return next((c for c in self.columns if c.name == name), None)


def _money(name: str, *, gt: bool = False, **kw: Any) -> Col:
    return Col(name, "float", gt=0 if gt else None, ge=None if gt else 0, le=MAX_MONEY, **kw)


CONTRACT: dict[str, Table] = {
    t.name: t
    for t in [
        Table(
            "accounts",
            (
                Col("account_id", "str", unique=True),
                Col("name", "str", required=False, nullable=True),
                Col("industry", "str", required=False, nullable=True),
                Col("employees", "int", required=False, nullable=True, ge=0),
                Col("region", "str", isin=REGIONS),
                Col("country", "str", required=False, nullable=True),
                Col("segment", "str", required=False, nullable=True, isin=SEGMENTS),
                Col("created_at", "date"),
                Col("acquisition_channel", "str", required=False, nullable=True),
            ),
            doc="Customers and prospects.",
        ),
        Table(
            "subscriptions",
            (
                Col("subscription_id", "str", unique=True),
                Col("account_id", "str", ref="accounts.account_id"),
                Col("product", "str"),
                Col("start_date", "date"),
                Col(
                    "end_date",
                    "date",
                    nullable=True,
                    doc="exclusive; null (or 9999-12-31) = still active",
                ),
                _money("mrr", doc="monthly recurring amount in `currency`"),
                Col("currency", "str", required=False, nullable=True),
                Col("quantity", "int", required=False, nullable=True, ge=0),
            ),
            rules=(RowRule("end_date", ">", "start_date"),),
            doc="Recurring revenue line items.",
        ),
        Table(
            "usage",
            (
                Col("account_id", "str", ref="accounts.account_id"),
                Col("month", "date"),
                Col("metric", "str"),
                Col("quantity", "float", ge=0),
                Col("included", "float", required=False, nullable=True, ge=0),
                Col("overage_price", "float", required=False, nullable=True, ge=0),
            ),
            doc="Monthly usage per account and metric.",
        ),
        Table(
            "opportunities",
            (
                Col("opportunity_id", "str", unique=True),
                Col("account_id", "str", ref="accounts.account_id"),
                Col("type", "str", isin=OPPORTUNITY_TYPES),
                Col("product", "str", required=False, nullable=True),
                _money("amount", doc="ARR value of the deal"),
                Col("created_date", "date"),
                Col("close_date", "date"),
                Col("stage", "str"),
                Col("status", "str", isin=OPPORTUNITY_STATUSES),
                Col("owner", "str", required=False, nullable=True),
                Col("discount_pct", "float", required=False, nullable=True, ge=0, le=100),
                Col(
                    "competitor",
                    "str",
                    required=False,
                    nullable=True,
                    doc="extension: main competitor in the deal (none = no competitor)",
                ),
            ),
            rules=(RowRule("close_date", ">=", "created_date"),),
            doc="CRM deals.",
        ),
        Table(
            "opportunity_history",
            (
                Col("opportunity_id", "str", ref="opportunities.opportunity_id"),
                Col("changed_at", "timestamp"),
                Col("stage", "str"),
                _money("amount", required=False, nullable=True),
                Col("close_date", "date", required=False, nullable=True),
            ),
            doc="One row per change of a deal.",
        ),
        Table(
            "price_observations",
            (
                Col("period", "date"),
                Col("product", "str"),
                _money("price", gt=True),
                Col("units", "float", ge=0),
                _money("unit_cost", required=False, nullable=True),
                Col("promo", "float", required=False, nullable=True, ge=0, le=1),
            ),
            doc="Demand at a price; group columns are named by the analysis.",
        ),
        Table(
            "price_tests",
            (
                Col("test_id", "str"),
                Col("variant", "str"),
                Col("product", "str"),
                Col("region", "str", required=False, nullable=True),
                _money("price", gt=True),
                Col("visitors", "int", gt=0),
                Col("conversions", "int", ge=0),
                Col("start_date", "date"),
                Col("end_date", "date"),
            ),
            rules=(
                RowRule("conversions", "<=", "visitors"),
                RowRule("end_date", ">=", "start_date"),
            ),
            doc="Conversion experiments at tested price points.",
        ),
        Table(
            "journeys",
            (
                Col("journey_id", "str", unique=True),
                Col("account_id", "str", required=False, nullable=True, ref="accounts.account_id"),
                Col("converted", "bool"),
                Col("converted_at", "timestamp", nullable=True),
                _money("revenue"),
                Col(
                    "channel", "str", required=False, nullable=True, doc="extension: source channel"
                ),
                Col("lead_at", "timestamp", required=False, nullable=True, doc="extension"),
                Col("trial_at", "timestamp", required=False, nullable=True, doc="extension"),
            ),
            doc="Marketing journeys and their outcome.",
        ),
        Table(
            "touchpoints",
            (
                Col("journey_id", "str", ref="journeys.journey_id"),
                Col("touched_at", "timestamp"),
                Col("channel", "str"),
                Col("touch_type", "str", required=False, nullable=True, isin=TOUCH_TYPES),
            ),
            doc="Marketing touches within journeys.",
        ),
        Table(
            "funnel",
            (
                Col("month", "date"),
                Col("channel", "str"),
                Col("visitors", "int", ge=0),
                Col("leads", "int", ge=0),
                Col("trials", "int", ge=0),
                Col("customers", "int", ge=0),
                Col(
                    "expansions",
                    "int",
                    required=False,
                    nullable=True,
                    ge=0,
                    doc="expansion events in the month, customers of any age",
                ),
            ),
            rules=(
                RowRule("leads", "<=", "visitors"),
                RowRule("trials", "<=", "leads"),
                RowRule("customers", "<=", "trials"),
            ),
            doc="Extension: monthly funnel counts by acquisition channel (visitor -> lead -> trial -> paid -> expansion).",
        ),
        Table(
            "spend",
            (
                Col("month", "date"),
                Col("category", "str", isin=SPEND_CATEGORIES),
                Col("channel", "str", required=False, nullable=True),
                _money("amount"),
            ),
            doc="Sales and marketing spend by month (and channel).",
        ),
        Table(
            "financials",
            (
                Col("month", "date", unique=True),
                Col("revenue", "float"),
                Col("cogs", "float"),
                Col("operating_income", "float", required=False, nullable=True),
                Col("free_cash_flow", "float", required=False, nullable=True),
                Col("ebitda", "float", required=False, nullable=True),
                Col("net_income", "float", required=False, nullable=True),
            ),
            doc="Monthly recognized revenue, cost of revenue and income.",
        ),
        Table(
            "invoices",
            (
                Col("invoice_id", "str", unique=True),
                Col("account_id", "str", ref="accounts.account_id"),
                Col("issued_date", "date"),
                Col("due_date", "date"),
                _money("amount", gt=True),
                Col("currency", "str", required=False, nullable=True),
                Col("paid_date", "date", nullable=True),
                _money("paid_amount", nullable=True),
            ),
            rules=(RowRule("due_date", ">=", "issued_date"),),
            doc="Invoices and their payment (quote-to-cash).",
        ),
        Table(
            "fx_rates",
            (
                Col("currency", "str", unique=True),
                Col("rate_to_reporting", "float", gt=0),
            ),
            doc="One constant rate per currency: reporting amount = amount x rate_to_reporting.",
        ),
        Table(
            "health_signals",
            (
                Col("account_id", "str", ref="accounts.account_id"),
                Col("month", "date"),
                Col("logins", "float", required=False, nullable=True, ge=0),
                Col("active_users", "float", required=False, nullable=True, ge=0),
                Col("seats", "float", required=False, nullable=True, ge=0),
                Col("features_adopted", "float", required=False, nullable=True, ge=0, le=1),
                Col("api_calls", "float", required=False, nullable=True, ge=0),
                Col("data_quality", "float", required=False, nullable=True, ge=0, le=1),
                Col("roi_multiple", "float", required=False, nullable=True, ge=0),
                Col("leads_generated", "float", required=False, nullable=True, ge=0),
                Col("payment_late_days", "float", required=False, nullable=True, ge=0),
                Col("nps", "float", required=False, nullable=True, ge=0, le=10),
                Col("support_tickets", "float", required=False, nullable=True, ge=0),
                Col("exec_engagement", "bool", required=False, nullable=True),
                Col("team_growth_pct", "float", required=False, nullable=True),
                Col("feature_requests", "float", required=False, nullable=True, ge=0),
                Col("competitive_evaluation", "bool", required=False, nullable=True),
            ),
            doc="Monthly health signals per account.",
        ),
        Table(
            "wtp_responses",
            (
                Col("respondent_id", "str", unique=True),
                Col("company_size", "str", required=False, nullable=True, doc="segment"),
                Col("region", "str", required=False, nullable=True, doc="segment"),
                Col("persona", "str", required=False, nullable=True, doc="segment"),
                Col("weight", "float", required=False, nullable=True, gt=0, doc="survey weight"),
                _money("too_cheap", doc="price so low quality is doubted (per month)"),
                _money("cheap", doc="price that is a bargain"),
                _money("expensive", doc="price that is expensive but still considered"),
                _money("too_expensive", doc="price too high to consider"),
                Col(
                    "pi_cheap",
                    "int",
                    required=False,
                    nullable=True,
                    ge=1,
                    le=5,
                    doc="purchase intent at `cheap` (5 = definitely .. 1 = not), for NMS",
                ),
                Col(
                    "pi_expensive",
                    "int",
                    required=False,
                    nullable=True,
                    ge=1,
                    le=5,
                    doc="purchase intent at `expensive`, for NMS",
                ),
            ),
            doc="Extension: Van Westendorp survey answers, one row per respondent; other segment "
            "columns are named by the analysis. Inconsistent answers (not too_cheap < cheap < "
            "expensive < too_expensive) are allowed: the analysis reports and excludes them.",
        ),
        Table(
            "gabor_granger",
            (
                Col("respondent_id", "str", ref="wtp_responses.respondent_id"),
                _money("price", gt=True, doc="price shown (per month)"),
                Col("would_buy", "bool"),
            ),
            doc="Extension: Gabor-Granger answers, one row per respondent and price shown.",
        ),
        Table(
            "offer_tests",
            (
                Col("test_id", "str"),
                Col("kind", "str", isin=("annual_discount", "free_trial")),
                Col("variant", "str"),
                Col("product", "str", required=False, nullable=True),
                Col("region", "str", required=False, nullable=True),
                _money("list_price", gt=True, doc="monthly list price per customer"),
                Col(
                    "annual_discount",
                    "float",
                    ge=0,
                    le=1,
                    doc="discount for annual billing offered in the arm (share)",
                ),
                Col("trial_days", "int", ge=0, doc="free-trial length offered (0 = none)"),
                Col("visitors", "int", gt=0),
                Col(
                    "trials",
                    "int",
                    required=False,
                    nullable=True,
                    ge=0,
                    doc="trial starts (trial tests)",
                ),
                Col("conversions", "int", ge=0, doc="paying customers"),
                Col("annual_customers", "int", ge=0, doc="paying customers billed annually"),
                Col(
                    "early_churned",
                    "int",
                    ge=0,
                    doc="paying customers who cancelled within `early_churn_days`",
                ),
                Col("early_churn_days", "int", gt=0),
                _money("acquisition_cost", doc="the arm's traffic and trial-serving spend"),
                Col("start_date", "date"),
                Col("end_date", "date"),
            ),
            rules=(
                RowRule("conversions", "<=", "visitors"),
                RowRule("trials", "<=", "visitors"),
                RowRule("conversions", "<=", "trials"),
                RowRule("annual_customers", "<=", "conversions"),
                RowRule("early_churned", "<=", "conversions"),
                RowRule("end_date", ">=", "start_date"),
            ),
            doc="Extension: offer experiments (annual discount or free-trial length), one row per "
            "test arm, with the paying customers' billing and early churn.",
        ),
        Table(
            "competitor_prices",
            (
                Col("competitor", "str"),
                Col("plan", "str", doc="tier or plan the range covers"),
                _money("annual_price_low", doc="lowest annual price of the plan"),
                _money("annual_price_high", doc="highest annual price of the plan"),
                Col("as_of", "date", doc="date the prices were observed"),
            ),
            rules=(RowRule("annual_price_high", ">=", "annual_price_low"),),
            doc="Extension: competitors' published annual price ranges, one row per competitor, "
            "plan and observation date.",
        ),
    ]
}
TABLE_NAMES: tuple[str, ...] = tuple(CONTRACT)


def format_value(val: Any) -> str:
    """A value as contract text: timestamps at midnight as ISO dates, others as ISO timestamps."""
    if isinstance(val, pd.Timestamp):
        return val.date().isoformat() if val == val.normalize() else val.isoformat()
    return str(val)


def contract_markdown() -> str:
    """The contract's tables as Markdown (docs/data-contract.md embeds it; a test keeps them equal)."""
    lines = []
    for t in CONTRACT.values():
        lines += [
            f"### {t.name}",
            "",
            t.doc,
            "",
            "| column | type | required | rules |",
            "|---|---|---|---|",
        ]
        for c in t.columns:
            rules = []
            if not c.nullable:
                rules.append("non-null")
            if c.unique:
                rules.append("unique")
            for sym, val in ((">=", c.ge), (">", c.gt), ("<=", c.le)):
                if val is not None:
                    rules.append(f"{sym} {val:g}")
            if c.isin:
                rules.append("one of " + ", ".join(c.isin))
            if c.ref:
                rules.append(f"-> {c.ref}")
            if c.doc:
                rules.append(c.doc)
            lines.append(
                f"| {c.name} | {c.kind} | {'yes' if c.required else 'no'} | {'; '.join(rules)} |"
            )
        if t.rules:
            lines += [
                "",
                "Row rules: "
                + "; ".join(f"`{r.name}`" for r in t.rules)
                + " (rows with a null pass).",
            ]
        lines.append("")
    return "\n".join(lines)
