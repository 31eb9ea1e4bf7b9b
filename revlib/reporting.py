"""Report building blocks: KPI cards, callouts, tables, plot style, HTML export and the run index.

Display helpers return objects with ``_repr_html_`` so a notebook cell that ends with one shows
it in JupyterLab and in the exported HTML alike. Plot helpers in the domain modules return
matplotlib Figures styled by :func:`setup_plots`.
"""

from __future__ import annotations

import html
import inspect
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any, TypedDict

import pandas as pd


class Palette(TypedDict):
    """Report colours (hex strings); ``series`` is the colour cycle of multi-series plots."""

    ink: str
    muted: str
    line: str
    primary: str
    good: str
    warning: str
    critical: str
    info: str
    success: str
    series: list[str]


PALETTE: Palette = {
    "ink": "#1f2937",
    "muted": "#6b7280",
    "line": "#e5e7eb",
    "primary": "#2563eb",
    "good": "#059669",
    "warning": "#d97706",
    "critical": "#dc2626",
    "info": "#2563eb",
    "success": "#059669",
    "series": [
        "#2563eb",
        "#059669",
        "#d97706",
        "#7c3aed",
        "#dc2626",
        "#0891b2",
        "#db2777",
        "#65a30d",
    ],
}
# The palette's main colours by name, for plot modules.
BLUE, GREEN, AMBER, RED, MUTED = (
    PALETTE["primary"],
    PALETTE["good"],
    PALETTE["warning"],
    PALETTE["critical"],
    PALETTE["muted"],
)
LEVEL_ICON = {"info": "ℹ", "success": "✔", "warning": "⚠", "critical": "✖"}
LEVELS = tuple(LEVEL_ICON)

CSS = """
.rl-cards{display:flex;flex-wrap:wrap;gap:12px;margin:8px 0 16px 0;font-family:system-ui,-apple-system,'Segoe UI',sans-serif}
.rl-card{flex:1 1 180px;max-width:280px;border:1px solid #e5e7eb;border-radius:10px;padding:12px 14px;background:#fff;box-shadow:0 1px 2px rgba(0,0,0,.04)}
.rl-card .rl-label{font-size:12px;color:#6b7280;text-transform:uppercase;letter-spacing:.04em}
.rl-card .rl-value{font-size:26px;font-weight:650;color:#1f2937;margin:4px 0 2px 0;font-variant-numeric:tabular-nums}
.rl-card .rl-sub{font-size:12.5px;color:#374151}
.rl-card .rl-def{font-size:11.5px;color:#6b7280;margin-top:6px;line-height:1.35}
.rl-card.rl-good{border-top:4px solid #059669}.rl-card.rl-warning{border-top:4px solid #d97706}
.rl-card.rl-critical{border-top:4px solid #dc2626}.rl-card.rl-neutral{border-top:4px solid #2563eb}
.rl-callout{border-radius:8px;padding:10px 14px;margin:8px 0 14px 0;font-family:system-ui,sans-serif;font-size:14px;line-height:1.45}
.rl-callout.rl-info{background:#eff6ff;border-left:5px solid #2563eb}.rl-callout.rl-success{background:#ecfdf5;border-left:5px solid #059669}
.rl-callout.rl-warning{background:#fffbeb;border-left:5px solid #d97706}.rl-callout.rl-critical{background:#fef2f2;border-left:5px solid #dc2626}
.rl-table{border-collapse:collapse;font-family:system-ui,sans-serif;font-size:13px;margin:6px 0 14px 0;font-variant-numeric:tabular-nums}
.rl-table th{background:#f3f4f6;color:#374151;text-align:left;padding:6px 10px;border-bottom:2px solid #e5e7eb;font-weight:600}
.rl-table td,.jp-RenderedHTMLCommon .rl-table td{padding:5px 10px;border-bottom:1px solid #f0f0f0;text-align:left;white-space:nowrap}
.rl-table td.rl-num,.jp-RenderedHTMLCommon .rl-table td.rl-num{text-align:right}
.rl-table th,.jp-RenderedHTMLCommon .rl-table th{text-align:left}
.rl-table td.rl-wrap{white-space:normal;min-width:220px}
.rl-table caption{caption-side:top;text-align:left;color:#6b7280;font-size:12px;padding-bottom:4px}
.rl-progress{font-family:system-ui,sans-serif;margin:6px 0 14px 0;max-width:760px}
.rl-progress .rl-bar{position:relative;height:22px;background:#f3f4f6;border-radius:11px;overflow:visible}
.rl-progress .rl-fill{height:100%;border-radius:11px}
.rl-progress .rl-tick{position:absolute;top:-4px;height:30px;border-left:2px dashed #9ca3af}
.rl-progress .rl-ticklabel{position:absolute;top:30px;font-size:11px;color:#6b7280;transform:translateX(-50%)}
.rl-defs{font-family:system-ui,sans-serif;font-size:12.5px;color:#4b5563;margin:4px 0 12px 0}
.rl-defs summary{cursor:pointer;color:#2563eb}
.rl-defs dt{font-weight:600;color:#1f2937;margin-top:6px}.rl-defs dd{margin:2px 0 0 14px}
"""


class HTML:
    """A piece of report HTML that renders in notebooks (``_repr_html_``) and exports as is."""

    def __init__(self, body: str):
        self.body = body

    def _repr_html_(self) -> str:
        return f"<style>{CSS}</style>{self.body}"

    def __str__(self) -> str:
        return self.body


def esc(text: Any) -> str:
    return html.escape(str(text))


# ----------------------------------------------------------------------------- formatting


def _missing(x: Any) -> bool:
    """True for None, NaN and pandas NA/NaT (scalars only)."""
    if x is None:
        return True
    try:
        return bool(pd.isna(x)) if not isinstance(x, (list, tuple, dict, set)) else False
    except (TypeError, ValueError):
        return False


def _template_formatter(template: str) -> Callable[[Any], str]:
    """A cell formatter from a ``str.format`` template ("{:.2f}"); missing values as "–"."""

    def fmt(v: Any) -> str:
        return "–" if _missing(v) else template.format(v)

    return fmt


def money(x: float | None, *, decimals: int | None = None, currency: str = "$") -> str:
    """Format money compactly: $1.23M, $45.6K, $789, $3.49 (exact with ``decimals``).

    Amounts of $1,000 and more get a unit (K, M, B) and three significant figures; smaller
    whole amounts show no cents, smaller fractional amounts below $100 show cents."""
    if x is None or _missing(x):
        return "–"
    sign = "-" if x < 0 else ""
    a = abs(float(x))
    if decimals is not None:
        return f"{sign}{currency}{a:,.{decimals}f}"
    for unit, div in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if round(a / div, 2) >= 1:
            v = a / div
            return f"{sign}{currency}{v:.{2 if v < 9.995 else 1 if v < 99.95 else 0}f}{unit}"
    if a < 100 and abs(a - round(a)) >= 0.005:
        return f"{sign}{currency}{a:,.2f}"
    return f"{sign}{currency}{a:,.0f}"


def pct(x: float | None, *, decimals: int = 1, signed: bool = False) -> str:
    """Format a ratio as a percentage: 0.1234 -> '12.3 %'."""
    if x is None or _missing(x):
        return "–"
    return f"{x * 100:{'+' if signed else ''}.{decimals}f} %"


def number(x: float | None, *, decimals: int = 0) -> str:
    """Format a number with thousands separators and fixed decimals: 1234.5 -> '1,235'."""
    if _missing(x):
        return "–"
    return f"{x:,.{decimals}f}"


def yes_no(x: Any) -> str:
    """A boolean as a reader says it: 'yes' / 'no' ('–' when missing)."""
    return "–" if _missing(x) else "yes" if bool(x) else "no"


def display(value: Any) -> str:
    """A value as a user would write it, never as Python prints it.

    Booleans are yes/no, None/NaN/empty are an en dash, lists read "a, b", mappings read
    "key: value; key: value", whole floats are integers and other floats show about three
    significant figures without trailing zeros ("0.123", "0.2", "1.1", "22,885")."""
    if isinstance(value, bool):
        return yes_no(value)
    if isinstance(value, Mapping):
        return "; ".join(f"{k}: {display(v)}" for k, v in value.items()) or "–"
    if isinstance(value, (list, tuple, set, frozenset)):
        return ", ".join(display(v) for v in value) or "–"
    if _missing(value):
        return "–"
    if isinstance(value, pd.Timestamp):
        return (
            value.strftime("%Y-%m-%d")
            if value == value.normalize()
            else value.strftime("%Y-%m-%d %H:%M")
        )
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalars
        try:
            return display(value.item())
        except (TypeError, ValueError):
            pass
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value.is_integer():
            return f"{value:,.0f}"
        text = f"{value:,.{_decimals_for(abs(value))}f}"
        return text.rstrip("0").rstrip(".") if "." in text else text  # 0.2, not 0.200
    text = str(value)
    return text if text.strip() else "–"


def _decimals_for(magnitude: float) -> int:
    """Decimals that show about three significant figures of ``magnitude`` (0 to 3)."""
    if magnitude >= 100:
        return 0
    if magnitude >= 10:
        return 1
    if magnitude >= 1:
        return 2
    return 3


# ----------------------------------------------------------------------------- column headers

ACRONYMS = {
    "arr": "ARR",
    "mrr": "MRR",
    "nrr": "NRR",
    "grr": "GRR",
    "ltv": "LTV",
    "cac": "CAC",
    "auc": "AUC",
    "ess": "ESS",
    "id": "ID",
    "crm": "CRM",
    "roi": "ROI",
    "kpi": "KPI",
    "usd": "USD",
    "eur": "EUR",
    "gbp": "GBP",
    "sku": "SKU",
    "fx": "FX",
    "hdi": "HDI",
    "mape": "MAPE",
    "rmse": "RMSE",
    "mae": "MAE",
    "rpv": "RPV",
    "acv": "ACV",
    "arpa": "ARPA",
    "ci": "CI",
    "ets": "ETS",
    "apac": "APAC",
    "emea": "EMEA",
    "latam": "LATAM",
    "na": "NA",
    "smb": "SMB",
    "csv": "CSV",
    "html": "HTML",
    "json": "JSON",
    "ppc": "PPC",
    "l1": "L1",
    "q1": "Q1",
    "q2": "Q2",
    "q3": "Q3",
    "q4": "Q4",
    "p10": "P10",
    "p50": "P50",
    "p90": "P90",
    "p5": "P5",
    "p95": "P95",
    "yoy": "YoY",
    "mom": "MoM",
    "qoq": "QoQ",
    "r": "R",
    "roc": "ROC",
    "sbg": "sBG",
    "pr": "PR",
    "brier": "Brier",
    "mcmc": "MCMC",
    "nps": "NPS",
    "api": "API",
    "roas": "ROAS",
    "wape": "WAPE",
}
WORDS = {
    "pct": "%",
    "n": "number of",
    "num": "number of",
    "avg": "average",
    "rhat": "R-hat",
    "prob": "probability",
    "std": "std. dev.",
    "sd": "std. dev.",
    "vs": "vs",
    "lo": "low",
    "hi": "high",
    "min": "min",
    "max": "max",
}


PHRASES = {
    "p_win": "Win probability",
    "r_hat": "R-hat",
    "ess_bulk": "ESS (bulk)",
    "ess_tail": "ESS (tail)",
    "sd": "Std. dev.",
    "mcse_mean": "MCSE of mean",
    "mcse_sd": "MCSE of std. dev.",
    "n": "N",
    "inside80": "Inside 80 % interval",
    "coverage80": "80 % interval coverage",
}


def header(name: Any) -> str:
    """A column name in words, sentence case: 'arr_at_risk' -> 'ARR at risk', 'r_hat' -> 'R-hat'.

    A name that already has spaces or capitals was written for readers and keeps its letters
    (only its first letter is raised)."""
    text = str(name)
    if text.lower() in PHRASES:
        return PHRASES[text.lower()]
    if " " in text.strip() or any(c.isupper() for c in text):
        return text[:1].upper() + text[1:]
    out = []
    for i, w in enumerate(w for w in re.split(r"[_\s]+", text) if w):
        if w in WORDS and not (w == "n" and i > 0):
            out.append(WORDS[w])
        elif re.fullmatch(r"\d+pct", w):
            out.append(f"{w[:-3]} %")
        else:
            out.append(ACRONYMS.get(w, w))
    joined = " ".join(out)
    return joined[:1].upper() + joined[1:] if joined else text


# ----------------------------------------------------------------------------- column formats

_PCT_WORDS = {
    "pct",
    "percent",
    "share",
    "rate",
    "probability",
    "prob",
    "conversion",
    "nrr",
    "grr",
    "margin",
    "uplift",
    "lift",
    "coverage",
    "attainment",
    "retention",
    "growth",
    "accuracy",
    "precision",
    "recall",
    "discount",
    "churn",
    "weight",
    "mix",
}
_NOT_PCT_WORDS = {"fx", "exchange", "to", "reporting", "elasticity", "count", "days", "months"}
_MONEY_WORDS = {
    "arr",
    "mrr",
    "revenue",
    "amount",
    "price",
    "cost",
    "ltv",
    "cac",
    "bookings",
    "acv",
    "spend",
    "profit",
    "usd",
    "invoiced",
    "collected",
    "arpa",
    "rpv",
    "budget",
    "mrr_usd",
}
_COUNT_WORDS = {
    "ess",
    "n",
    "count",
    "accounts",
    "customers",
    "deals",
    "visitors",
    "orders",
    "changes",
}


def _words(name: Any) -> set[str]:
    return {w for w in re.split(r"[^a-z0-9]+", str(name).lower()) if w}


def column_format(name: Any, values: pd.Series) -> Callable[[Any], str]:
    """The formatter a table column gets from its name and values (one format per column).

    Booleans -> yes/no; dates -> YYYY-MM-DD; ``r_hat`` -> 3 decimals; ESS and whole numbers
    -> integers; names about a share, rate or growth with ratio values -> percentages; names
    about money (ARR, revenue, price, ...) -> money; other numbers -> the decimals that show
    three significant figures of the column's typical value; text, lists and dicts -> words."""
    words = _words(name)
    s = values
    if pd.api.types.is_bool_dtype(s):
        return yes_no
    if pd.api.types.is_datetime64_any_dtype(s):
        return display
    if not pd.api.types.is_numeric_dtype(s):
        return display
    finite = pd.to_numeric(s, errors="coerce").dropna()
    finite = finite[finite.abs() != float("inf")]
    if finite.empty:
        return display
    whole = bool((finite == finite.round()).all())
    top = float(finite.abs().max())
    if "rhat" in words or {"r", "hat"} <= words:
        return lambda x: number(x, decimals=3)
    if words & {"ess", "neff"} or ({"n", "eff"} <= words):
        return number
    unit_is_pct = bool(words & {"pct", "percent"})  # an explicit unit beats a money word
    money_named = bool(words & _MONEY_WORDS - {"price"})
    if words & _PCT_WORDS and not words & _NOT_PCT_WORDS and (unit_is_pct or not money_named):
        if words & {"pct", "percent"} and top > 1.5:
            return lambda x: "–" if _missing(x) else f"{x:.1f} %"
        if top <= 10 and not (whole and top > 1):
            return pct
    if whole and words & _COUNT_WORDS:  # e.g. amount_changes: how many, not how much
        return number
    if words & _MONEY_WORDS:
        return money
    if whole:
        return number
    nonzero = finite[finite != 0].abs()
    decimals = _decimals_for(float(nonzero.median())) if len(nonzero) else 0
    return lambda x: number(x, decimals=decimals)


FORMATTERS: dict[str, Callable[[Any], str]] = {
    "money": money,
    "pct": pct,
    "signed_pct": lambda x: pct(x, signed=True),
    "int": number,
    "count": number,
    "yes_no": yes_no,
    "text": display,
    "r_hat": lambda x: number(x, decimals=3),
}


# ----------------------------------------------------------------------------- definitions


def definition(obj: Callable | str) -> str:
    """The definition sentence of a metric: the first paragraph of its function's docstring.

    Metric functions state their definition and units there; reports print the same text
    beside the number, so the definition is written once, in code.
    """
    doc = obj if isinstance(obj, str) else inspect.getdoc(obj) or ""
    first = doc.strip().split("\n\n")[0]
    return plain(" ".join(first.split()))


def plain(text: str) -> str:
    """Docstring markup as readers see it: ``x`` and :func:`x` become x."""
    text = re.sub(r":[a-z]+:`~?([^`]+)`", r"\1", text)
    return re.sub(r"``([^`]*)``", r"\1", text)


def definitions(items: Mapping[str, Callable | str], *, title: str = "Definitions") -> HTML:
    """A collapsible list of metric definitions (name -> function or text)."""
    rows = "".join(f"<dt>{esc(k)}</dt><dd>{esc(definition(v))}</dd>" for k, v in items.items())
    return HTML(
        f'<details class="rl-defs"><summary>{esc(title)}</summary><dl>{rows}</dl></details>'
    )


# ----------------------------------------------------------------------------- components


@dataclass
class Card:
    label: str
    value: str
    sub: str = ""
    status: str = "neutral"  # good | warning | critical | neutral
    definition: str = ""


def kpi_cards(cards: Iterable[Card | Mapping[str, Any]]) -> HTML:
    """A row of headline-number cards. Each card: label, value (formatted text), optional sub
    line, status (good / warning / critical / neutral, the top border colour) and definition
    (a function, whose docstring's first paragraph is shown, or text)."""
    parts = []
    for c in cards:
        card = c if isinstance(c, Card) else Card(**c)
        if card.status not in ("good", "warning", "critical", "neutral"):
            raise ValueError(
                f"card status must be good, warning, critical or neutral, got {card.status!r}"
            )
        text = definition(card.definition) if card.definition else ""
        parts.append(
            f'<div class="rl-card rl-{card.status}"><div class="rl-label">{esc(card.label)}</div>'
            f'<div class="rl-value">{esc(card.value)}</div>'
            + (f'<div class="rl-sub">{esc(card.sub)}</div>' if card.sub else "")
            + (f'<div class="rl-def">{esc(text)}</div>' if text else "")
            + "</div>"
        )
    return HTML(f'<div class="rl-cards">{"".join(parts)}</div>')


def callout(text: str, level: str = "info", *, title: str | None = None) -> HTML:
    """A coloured message box: info, success, warning or critical. ``text`` is plain text."""
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}, got {level!r}")
    head = (
        f"<strong>{LEVEL_ICON[level]} {esc(title)}</strong><br>"
        if title
        else f"<strong>{LEVEL_ICON[level]}</strong> "
    )
    return HTML(
        f'<div class="rl-callout rl-{level}" data-level="{level}">{head}{esc(plain(text))}</div>'
    )


def progress_bar(
    value: float, *, label: str = "", ticks: Sequence[float] = (0.9, 0.95, 0.99, 1.0)
) -> HTML:
    """A horizontal progress bar for a ratio (1.0 = target), with milestone ticks."""
    shown = max(0.0, min(float(value), 1.0))
    colour = (
        PALETTE["good"] if value >= 1 else PALETTE["primary"]
    )  # the verdict, not the bar, judges pace
    parts, last_below = [], -1.0
    for t in sorted(ticks):  # a label too close to the previous one goes above the bar
        below = t - last_below >= 0.035
        top = "30px" if below else "-20px"
        last_below = t if below else last_below
        parts.append(
            f'<div class="rl-tick" style="left:{t * 100:.2f}%"></div>'
            f'<div class="rl-ticklabel" style="left:{t * 100:.2f}%;top:{top}">{t * 100:.0f}%</div>'
        )
    tick_html = "".join(parts)
    return HTML(
        f'<div class="rl-progress"><div style="font-size:13px;margin-bottom:22px">{esc(label)} '
        f'<strong>{pct(value)}</strong></div><div class="rl-bar"><div class="rl-fill" '
        f'style="width:{shown * 100:.2f}%;background:{colour}"></div>{tick_html}</div>'
        f'<div style="height:22px"></div></div>'
    )


def table(
    df: pd.DataFrame,
    *,
    formats: Mapping[str, Callable[[Any], str] | str] | None = None,
    caption: str = "",
    max_rows: int = 50,
    index: bool = False,
    collapsed: str | None = None,
    labels: Mapping[str, str] | None = None,
) -> HTML:
    """A compact styled HTML table, every column in one format.

    ``formats`` maps a column to a function (e.g. ``money``), a name in :data:`FORMATTERS`
    ("money", "pct", "int", ...) or a format spec ("{:.2f}"); other columns get
    :func:`column_format` from their name and values. Headers are :func:`header` of the
    column name unless ``labels`` names them. Numbers are right-aligned, long text wraps.
    With ``collapsed="Summary text"`` the table sits folded under that line."""
    formats = dict(formats or {})
    labels = dict(labels or {})
    data = df.reset_index() if index else df
    shown = data.head(max_rows)
    fmts: list[Callable[[Any], str]] = []
    for i, col in enumerate(shown.columns):
        fmt = formats.get(col)
        if fmt is None:
            fmts.append(column_format(col, data.iloc[:, i]))
        elif callable(fmt):
            fmts.append(fmt)
        elif fmt in FORMATTERS:
            fmts.append(FORMATTERS[fmt])
        else:
            fmts.append(_template_formatter(str(fmt)))
    head = "".join(f"<th>{esc(labels.get(c, header(c)))}</th>" for c in shown.columns)
    body = []
    for row in shown.itertuples(index=False, name=None):
        cells = []
        for val, fmt in zip(row, fmts, strict=True):
            text = "–" if _missing(val) else fmt(val)
            num = (
                isinstance(val, (int, float))
                and not isinstance(val, bool)
                or (hasattr(val, "dtype") and getattr(val.dtype, "kind", "") in "iuf")
            )
            css = "rl-num" if num else "rl-wrap" if len(text) > 40 else ""
            cells.append(f'<td class="{css}">{esc(text)}</td>')
        body.append(f"<tr>{''.join(cells)}</tr>")
    more = f"<caption>{esc(caption)}</caption>" if caption else ""
    note = (
        f'<div class="rl-defs">Showing {max_rows} of {len(data)} rows; the full table is in the artifacts.</div>'
        if len(data) > max_rows
        else ""
    )
    out = f'<table class="rl-table">{more}<thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>{note}'
    if collapsed:
        out = f'<details class="rl-defs"><summary>{esc(collapsed)}</summary>{out}</details>'
    return HTML(out)


# ----------------------------------------------------------------------------- plots


def setup_plots() -> None:
    """House style for matplotlib figures (call once at the top of a report)."""
    import matplotlib as mpl
    from cycler import cycler

    mpl.rcParams.update(
        {
            "figure.figsize": (9.5, 4.2),
            "figure.dpi": 110,
            "savefig.dpi": 110,
            "figure.autolayout": True,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.grid": True,
            "axes.axisbelow": True,  # grid lines behind bars
            "grid.color": PALETTE["line"],
            "grid.linewidth": 0.8,
            "axes.edgecolor": "#9ca3af",
            "axes.titlesize": 12.5,
            "axes.titleweight": "bold",
            "axes.titlelocation": "left",
            "axes.labelsize": 10.5,
            "axes.labelcolor": PALETTE["ink"],
            "xtick.color": "#4b5563",
            "ytick.color": "#4b5563",
            "legend.frameon": False,
            "font.size": 10.5,
            "axes.prop_cycle": cycler(color=PALETTE["series"]),
        }
    )
    try:  # crisp inline figures in notebooks and exported HTML
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("png")
    except Exception:  # pragma: no cover - outside IPython
        pass


def show(fig) -> None:
    """Display a figure once and close it (``display(fig)`` alone shows it twice in notebooks)."""
    import matplotlib.pyplot as plt
    from IPython.display import display

    display(fig)
    plt.close(fig)


def legend_outside(ax, *args: Any, **kwargs: Any):
    """The axes' legend to the right of the plotting area, top aligned, so that it never
    covers bars or lines (a legend inside the axes sits on the data of some data set)."""
    kwargs.setdefault("fontsize", 8.5)
    return ax.legend(*args, loc="upper left", bbox_to_anchor=(1.01, 1.0), **kwargs)


NICE_STEPS = (1, 2, 2.5, 5, 10)


def wrap_label(text: Any, width: int = 12) -> str:
    """A category tick label on lines of at most ``width`` characters (whole words), so that
    neighbouring labels do not run into each other: 'Expansion opportunity' ->
    'Expansion\nopportunity'."""
    import textwrap

    return "\n".join(
        line
        for part in str(text).split("\n")
        for line in textwrap.wrap(part, width, break_on_hyphens=False) or [""]
    )


def _tick_decimals(values: Sequence[float], scale: float, most: int = 3) -> int:
    """Fewest decimals (0 to ``most``) that write every ``value / scale`` exactly."""
    for d in range(most + 1):
        if all(abs(v / scale * 10**d - round(v / scale * 10**d)) < 1e-6 for v in values):
            return d
    return most


def money_ticks(values: Sequence[float], currency: str = "$") -> list[str]:
    """Labels for money axis ticks, one unit (that of the middle tick) and one number of
    decimals for all of them: [0, 5e6, 1e7] -> ['$0', '$5M', '$10M']; [10, 12.5, 15] ->
    ['$10.00', '$12.50', '$15.00']; [400, 700, 1000] -> ['$400', '$700', '$1,000']."""
    vals = [float(v) for v in values]
    sizes = sorted(abs(v) for v in vals if v)
    top = sizes[len(sizes) // 2] if sizes else 0.0  # the typical tick sets the unit
    unit, div = next(
        ((u, d) for u, d in (("B", 1e9), ("M", 1e6), ("K", 1e3)) if top >= d), ("", 1.0)
    )
    d = _tick_decimals(vals, div)
    if not unit and d:
        d = max(d, 2)  # cents
    return [
        f"{'-' if v < 0 else ''}{currency}{abs(v) / div:,.{d}f}{unit}" if v else f"{currency}0"
        for v in vals
    ]


def pct_ticks(values: Sequence[float]) -> list[str]:
    """Labels for percentage axis ticks (ratios), with the decimals their spacing needs:
    [0, 0.025, 0.05] -> ['0.0 %', '2.5 %', '5.0 %']; [0, 0.1] -> ['0 %', '10 %']."""
    vals = [float(v) for v in values]
    d = _tick_decimals(vals, 0.01)
    return [f"{v * 100:.{d}f} %" for v in vals]


def _nice_axis(ax, axis: str, labels: Callable[[Sequence[float]], list[str]], nbins) -> None:
    """Round ticks (1, 2, 2.5, 5 x 10^k; on a log axis 1, 2, 5 x 10^k) labelled by ``labels``."""
    import matplotlib as mpl
    from matplotlib.axis import XAxis
    from matplotlib.font_manager import FontProperties
    from matplotlib.ticker import Formatter, LogLocator, MaxNLocator, NullFormatter

    class _Roomy(MaxNLocator):
        """Round ticks; on an x axis no more than fit side by side ("$1.25M" wide labels)."""

        def __call__(self):
            axis = self.axis
            if nbins == "auto" and isinstance(axis, XAxis):
                width = axis.axes.get_window_extent().width * 72 / axis.figure.dpi
                size = axis.get_tick_params().get("labelsize")
                size = FontProperties(size=size or mpl.rcParams["xtick.labelsize"])
                # a label of about 7 characters and a gap
                per_label = size.get_size_in_points() * 0.6 * 9
                self.set_params(nbins=max(2, int(width // per_label)))
            return super().__call__()

    class _Labels(Formatter):
        ticks: list[float] = []

        def set_locs(self, locs) -> None:
            self.ticks = list(locs)

        def __call__(self, x, pos=None):
            locs = self.ticks if x in self.ticks else [x]
            return labels(locs)[locs.index(x)]

    target = ax.yaxis if axis == "y" else ax.xaxis
    if target.get_scale() == "log":  # decades apart: each label in its own unit ($500K, $1M)
        lo, hi = sorted(abs(v) for v in target.get_view_interval())
        wide = lo <= 0 or hi / lo > 300
        target.set_major_locator(LogLocator(base=10, subs=(1.0,) if wide else (1.0, 2.0, 5.0)))
        target.set_minor_formatter(NullFormatter())
        each = labels
        labels = lambda values: [each([v])[0] for v in values]  # noqa: E731
    else:
        target.set_major_locator(_Roomy(nbins=nbins, steps=list(NICE_STEPS)))
    target.set_major_formatter(_Labels())


def money_axis(ax, axis: str = "y", *, nbins: int | str = "auto") -> None:
    """Money on an axis ($0, $5M, $10M): round ticks that show true spacing, one unit and
    decimals for all labels. Call after ``set_xscale("log")`` (a log scale resets ticks)."""
    _nice_axis(ax, axis, money_ticks, nbins)


def pct_axis(ax, axis: str = "y", *, nbins: int | str = "auto") -> None:
    """Percentages of a ratio on an axis (0.25 -> 25 %): round ticks, with the decimals
    their spacing needs."""
    _nice_axis(ax, axis, pct_ticks, nbins)


# ----------------------------------------------------------------------------- HTML export


def _strip_for_report(nb) -> Any:
    """A copy of an executed notebook ready to show readers: no stderr streams (library
    warnings and progress), no cells tagged ``remove``."""
    import copy

    nb = copy.deepcopy(nb)
    kept = []
    for cell in nb.cells:
        tags = set(cell.get("metadata", {}).get("tags", []))
        if "remove" in tags or "injected-parameters" in tags or "parameters" in tags:
            continue
        if cell.cell_type == "code":
            cell.outputs = [
                o
                for o in cell.get("outputs", [])
                if not (o.get("output_type") == "stream" and o.get("name") == "stderr")
            ]
        kept.append(cell)
    nb.cells = kept
    return nb


def notebook_html(nb, *, header: Mapping[str, Any]) -> str:
    """Render an executed notebook as a single-file HTML report: no code cells, images
    embedded, and a header with title, status, data directory, parameters, run time and
    versions."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="lab")
    exporter.exclude_input = True
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    body, _ = exporter.from_notebook_node(_strip_for_report(nb))
    head_html = _report_header(header)
    style = f"<style>{CSS}{HEADER_CSS}</style>"
    body = body.replace("</head>", style + "</head>", 1)
    body = re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + head_html, body, count=1)
    title = esc(header.get("title", "revlib report"))
    body = re.sub(r"<title>.*?</title>", f"<title>{title}</title>", body, count=1, flags=re.S)
    return body


HEADER_CSS = """
.rl-header{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:18px 24px 6px 4px;padding:14px 20px;border:1px solid #e5e7eb;border-radius:10px;background:#f9fafb;color:#1f2937}
.rl-header h1{font-size:15px;margin:0 0 6px 0;color:#6b7280;font-weight:600;letter-spacing:.03em;text-transform:uppercase}
.rl-header .rl-meta{display:flex;flex-wrap:wrap;gap:6px 22px;font-size:12.5px}
.rl-header .rl-meta b{color:#6b7280;font-weight:500}
.rl-header details{font-size:12px;margin-top:6px}.rl-header summary{cursor:pointer;color:#2563eb}
.rl-header code{background:#eef2f7;padding:1px 4px;border-radius:3px}
.rl-status{display:inline-block;padding:1px 8px;border-radius:9px;color:#fff;font-size:12px;font-weight:600}
.rl-status.ok{background:#059669}.rl-status.failed{background:#dc2626}
"""


def parameters_text(params: Mapping[str, Any]) -> str:
    """Run parameters as HTML, each value as a user would write it (:func:`display`):
    ``fast=yes``, ``regions=EMEA, APAC``, empty values as an en dash."""
    return ", ".join(f"<code>{esc(k)}={esc(display(v))}</code>" for k, v in params.items())


def _report_header(header: Mapping[str, Any]) -> str:
    status = header.get("status", "ok")
    params = header.get("parameters", {})
    versions = header.get("versions", {})
    param_html = parameters_text(params) or "defaults"
    version_html = ", ".join(f"{esc(k)} {esc(v)}" for k, v in versions.items())
    error = header.get("error")
    err_html = (
        f'<div class="rl-callout rl-critical"><strong>✖ This report failed.</strong> {esc(error)}</div>'
        if error
        else ""
    )
    fast = params.get("fast") is True
    fast_html = (
        '<div class="rl-callout rl-warning"><strong>⚠ Fast mode.</strong> Fewer samples and simulations '
        "than a full run: fine for checking the pipeline, not for decisions.</div>"
        if fast
        else ""
    )
    return (
        f'<div class="rl-header"><h1>revlib report · {esc(header.get("name", ""))}</h1>'
        f'<div class="rl-meta"><span><b>Status</b> <span class="rl-status {"ok" if status == "ok" else "failed"}">'
        f"{esc(status)}</span></span>"
        f"<span><b>Data</b> <code>{esc(header.get('data_dir', ''))}</code></span>"
        f"<span><b>Run at</b> {esc(header.get('started_at', ''))}</span>"
        f"<span><b>Duration</b> {float(header.get('duration_seconds', 0)):.1f} s</span></div>"
        f"<details><summary>Parameters and versions</summary><div>Parameters: {param_html}</div>"
        f"<div>Versions: {version_html}</div></details></div>"
        f'<div style="margin:0 24px 0 4px">{err_html}{fast_html}</div>'
    )


def index_html(run: Mapping[str, Any]) -> str:
    """The run's ``index.html``: every report with status, duration, parameters and error."""
    rows = []
    for r in run["reports"]:
        ok = r["status"] == "ok"
        params = parameters_text(
            {
                k: v
                for k, v in r.get("parameters", {}).items()
                if k not in ("data_dir", "output_dir")
            }
        )
        link = (
            f'<a href="{esc(r["html"])}">{esc(r.get("title") or r["name"])}</a>'
            if r.get("html")
            else esc(r["name"])
        )
        err = f'<div class="rl-err">{esc(r["error"])}</div>' if r.get("error") else ""
        rows.append(
            f"<tr><td>{link}<div class='rl-nb'>{esc(r['name'])}</div>{err}</td>"
            f'<td><span class="rl-status {"ok" if ok else "failed"}">{esc(r["status"])}</span></td>'
            f"<td class='rl-num'>{r.get('duration_seconds', 0):.1f} s</td><td>{params or 'defaults'}</td></tr>"
        )
    n_ok = sum(r["status"] == "ok" for r in run["reports"])
    n = len(run["reports"])
    verdict = "all reports succeeded" if n_ok == n else f"{n - n_ok} of {n} reports failed"
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>revlib reports · {esc(run["run_id"])}</title>
<style>{CSS}{HEADER_CSS}
body{{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;color:#1f2937;max-width:1100px;margin:24px auto;padding:0 16px}}
h1{{font-size:22px;margin-bottom:4px}} .rl-sub{{color:#6b7280;font-size:13px;margin-bottom:16px}}
table{{border-collapse:collapse;width:100%;font-size:14px}} th{{text-align:left;background:#f3f4f6;padding:8px 10px;border-bottom:2px solid #e5e7eb}}
td{{padding:9px 10px;border-bottom:1px solid #eee;vertical-align:top}} td.rl-num{{text-align:right;white-space:nowrap}}
a{{color:#2563eb;text-decoration:none;font-weight:600}} .rl-nb{{color:#9ca3af;font-size:12px}}
.rl-err{{color:#b91c1c;font-size:12.5px;margin-top:4px;white-space:pre-wrap;font-family:ui-monospace,monospace}}
code{{font-size:12px;color:#374151}}</style></head><body>
<h1>revlib reports</h1>
<div class="rl-sub">Run <b>{esc(run["run_id"])}</b> · started {esc(run["started_at"])} · {run["duration_seconds"]:.1f} s ·
data <code>{esc(run["data_dir"])}</code> · <b>{esc(verdict)}</b></div>
<table><thead><tr><th>Report</th><th>Status</th><th>Duration</th><th>Parameters</th></tr></thead>
<tbody>{"".join(rows)}</tbody></table>
<p class="rl-sub">Machine-readable artifacts of each report are in the folder of the same name; run.json holds this index.</p>
</body></html>"""


# ----------------------------------------------------------------------------- page check

_VOID = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "wbr",
}
_INLINE = {"a", "b", "strong", "em", "i", "span", "code", "sub", "sup", "small", "abbr"}
_HIDDEN = {"style", "script", "head", "title", "template", "noscript"}
_PY_LITERAL = re.compile(r"\b(?:True|False|None)\b(?!\s+[a-z])|\bnan\b|\bNaN\b|''|\"\"")
_PY_DICT = re.compile(r"\{\s*'[^']*'\s*:")
_PY_LIST = re.compile(r"\[\s*'[^']*'\s*[,\]]")
_RAW_FLOAT = re.compile(r"\d\.\d{4,}|\d\d\.\d{3}(?!\d)")  # 1.2345; 22,884.982; 663.000
NEGATIVE_VERDICT = re.compile(
    r"\b(?:fail(?:s|ed|ing|ure)?|no skill|below (?:the )?(?:target|baseline|plan)|"
    r"(?:does|did) not beat|doesn't beat|worse than|not significant|backwards)\b"
    r"|(?:correlation|ρ|rho)[^.;]*?[-−]0?\.\d",
    re.I,
)
POSITIVE_VERDICT = re.compile(r"\b(?:passed|all checks pass|on track|no issues)\b", re.I)


class _PageText(HTMLParser):
    """Visible text of a report page, with its table cells and coloured boxes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, str | None]] = []
        self.texts: list[str] = []
        self.cells: list[str] = []
        self.boxes: list[tuple[str, str]] = []  # (level, text)
        self._cell: list[str] | None = None
        self._box: list[list[Any]] = []  # [level, parts, depth]

    def _gap(self) -> None:
        """Block tags separate words: 'Prospects</div><div>no skill' reads as two words."""
        if self._cell is not None:
            self._cell.append(" ")
        for box in self._box:
            box[1].append(" ")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _INLINE:
            self._gap()
        if tag in _VOID:
            return
        classes = (dict(attrs).get("class") or "").split()
        level = None
        if "rl-callout" in classes or "rl-card" in classes:
            level = next((c[3:] for c in classes if c[3:] in (*LEVELS, "good", "neutral")), None)
            level = {"good": "success", "neutral": "info"}.get(level or "", level)
        self.stack.append((tag, level))
        if level:
            self._box.append([level, [], len(self.stack)])
        if tag in ("td", "th") and self._cell is None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag not in _INLINE:
            self._gap()
        if tag in _VOID or not any(t == tag for t, _ in self.stack):
            return
        while self.stack:
            t, _ = self.stack.pop()
            if self._box and self._box[-1][2] > len(self.stack):
                level, parts, _depth = self._box.pop()
                self.boxes.append((level, " ".join("".join(parts).split())))
            if t in ("td", "th") and self._cell is not None:
                self.cells.append(" ".join("".join(self._cell).split()))
                self._cell = None
            if t == tag:
                break

    def handle_data(self, data: str) -> None:
        if any(t in _HIDDEN for t, _ in self.stack):
            return
        self.texts.append(data)
        if self._cell is not None:
            self._cell.append(data)
        for box in self._box:
            box[1].append(data)


def page_problems(page: str) -> list[str]:
    """What a reader would trip over in a rendered report page (HTML text): Python values in
    visible text (True, False, None, nan, '', dict and list reprs), unformatted floats in
    table cells (more than 3 decimals or a trailing .000), raw RST double backticks, and
    coloured boxes whose colour contradicts their words (a green box saying fail, no skill,
    below target or a negative correlation; a red box saying passed or on track).
    Empty when the page reads well."""
    parser = _PageText()
    parser.feed(page)
    parser.close()
    problems: list[str] = []

    def context(text: str, m: re.Match) -> str:
        return " ".join(text[max(0, m.start() - 40) : m.end() + 40].split())

    for text in parser.texts:
        for rx, what in ((_PY_LITERAL, "Python value"), (_PY_DICT, "dict"), (_PY_LIST, "list")):
            for m in rx.finditer(text):
                problems.append(f"{what} {m.group(0)!r} in text: …{context(text, m)}…")
        if "``" in text:
            problems.append(f"raw double backticks in text: {' '.join(text.split())[:80]}")
    for cell in parser.cells:
        if _RAW_FLOAT.search(cell):
            problems.append(f"unformatted number in table cell: {cell[:60]!r}")
    for level, text in parser.boxes:
        bad, good = NEGATIVE_VERDICT.search(text), POSITIVE_VERDICT.search(text)
        if level == "success" and bad:
            problems.append(f"green box with a bad verdict ({bad.group(0)!r}): {text[:100]}")
        if level == "critical" and not bad and good:
            problems.append(f"red box with a good verdict ({good.group(0)!r}): {text[:100]}")
    return problems
