"""Notebook parameters: read their declared types from the parameters cell, convert what users
type (``-p NAME=VALUE``, ``--params FILE.yaml``) to those types.

A report notebook's cell tagged ``parameters`` holds annotated literal assignments, e.g.::

    arr_target: float = 28_000_000.0
    target_date: str = "2026-12-31"
    group_cols: list[str] = ["product", "region"]
    as_of: str = ""

Supported annotations: ``bool``, ``int``, ``float``, ``str``, ``list``/``list[T]``,
``dict``/``dict[K, V]``, ``None`` and unions (``str | None``); an unannotated parameter takes
the type of its default. A ``str`` parameter whose default is an ISO date (``YYYY-MM-DD``)
takes dates: ISO dates or months (``YYYY-MM``), and dates parsed by YAML become ISO text.
Values injected into notebooks are plain literals (papermill writes them as Python code).

The tables a notebook reads are declared once, visibly, in a code cell (by convention the one
right after the parameters cell) as literal lists ``REQUIRED_TABLES`` and ``OPTIONAL_TABLES``.
Everything here reads notebooks without executing them (``ast``).
"""

from __future__ import annotations

import ast
import datetime as dt
import math
import re
from dataclasses import dataclass
from typing import Any

import yaml

NULL_WORDS = ("null", "none", "~")
TRUE_WORDS = ("true", "yes", "on", "1")
FALSE_WORDS = ("false", "no", "off", "0")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_MONTH = re.compile(r"^\d{4}-\d{2}$")
TABLE_VARIABLES = ("REQUIRED_TABLES", "OPTIONAL_TABLES")


class ParameterError(ValueError):
    """A parameter value does not fit the parameter's declared type."""


class Raw(str):
    """A value exactly as typed on the command line (``-p NAME=VALUE``), not yet interpreted."""


@dataclass(frozen=True)
class Parameter:
    """One parameter of a notebook: its name, declared type (as written) and default."""

    name: str
    type_text: str  # e.g. "float", "list[str]", "str | None"; inferred from the default if absent
    default: Any
    is_date: bool = False  # a str parameter holding an ISO date (or month)

    def convert(self, value: Any) -> Any:
        """``value`` converted to this parameter's type; :class:`ParameterError` if it does not fit."""
        try:
            out = _coerce(value, _type_node(self.type_text))
            if self.is_date and isinstance(out, str):
                out = check_date(out, allow_empty=False)
        except (ValueError, TypeError):
            shown = str(value) if isinstance(value, Raw) else repr(value)
            what = f"{self.type_text} (an ISO date)" if self.is_date else self.type_text
            raise ParameterError(f"expects {what}, got {shown}") from None
        return out


# ----------------------------------------------------------------------------- reading cells


def parse_parameters_cell(source: str) -> dict[str, Parameter]:
    """Parameters declared by a parameters cell: literal assignments, annotated or not.

    Raises :class:`ValueError` naming the line when an assignment is not a literal, an
    annotation is not a supported type, or a default does not fit its annotation.
    """
    out: dict[str, Parameter] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            name, value_node, ann = node.target.id, node.value, node.annotation
        elif (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
        ):
            name, value_node, ann = node.targets[0].id, node.value, None
        elif isinstance(node, (ast.Import, ast.ImportFrom, ast.Expr)):
            continue  # imports and bare strings/comments do not declare parameters
        else:
            raise ValueError(f"line {node.lineno}: the parameters cell holds assignments only")
        if value_node is None:
            raise ValueError(f"line {node.lineno}: parameter {name!r} has no default")
        try:
            default = ast.literal_eval(value_node)
        except ValueError:
            raise ValueError(
                f"line {node.lineno}: the default of {name!r} is not a literal"
            ) from None
        type_text = ast.unparse(ann) if ann is not None else _type_of(default)
        _type_node(type_text)  # raises on unsupported annotations
        is_date = type_text == "str" and isinstance(default, str) and bool(_ISO_DATE.match(default))
        param = Parameter(name, type_text, default, is_date)
        try:
            param.convert(default)
        except ParameterError as err:
            raise ValueError(f"line {node.lineno}: default of {name!r} {err}") from None
        out[name] = param
    return out


def declared_tables(sources: list[str]) -> dict[str, list[str]]:
    """``REQUIRED_TABLES`` and ``OPTIONAL_TABLES`` (literal lists of table names) from the
    first code cells (sources) that assign them at top level; missing ones are empty."""
    found: dict[str, list[str]] = {}
    for source in sources:
        try:
            body = ast.parse(source).body
        except SyntaxError:
            continue
        for node in body:
            if (
                isinstance(node, ast.Assign)
                and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
                and node.targets[0].id in TABLE_VARIABLES
                and node.targets[0].id not in found
            ):
                name = node.targets[0].id
                try:
                    value = ast.literal_eval(node.value)
                except ValueError:
                    raise ValueError(f"{name} must be a literal list of table names") from None
                if not isinstance(value, (list, tuple)) or not all(
                    isinstance(t, str) for t in value
                ):
                    raise ValueError(f"{name} must be a list of table names, got {value!r}")
                found[name] = list(value)
    return {name: found.get(name, []) for name in TABLE_VARIABLES}


# ----------------------------------------------------------------------------- conversion


def check_date(text: str, *, allow_empty: bool) -> str:
    """``text`` if it is an ISO date ``YYYY-MM-DD`` or month ``YYYY-MM`` (or empty, when
    allowed); :class:`ValueError` otherwise."""
    text = text.strip()
    if text == "" and allow_empty:
        return text
    try:
        if _ISO_DATE.match(text):
            dt.date.fromisoformat(text)
            return text
        if _ISO_MONTH.match(text):
            dt.date.fromisoformat(text + "-01")
            return text
    except ValueError:
        pass
    raise ValueError(f"not an ISO date (YYYY-MM-DD) or month (YYYY-MM): {text!r}")


def load_yaml_value(text: str) -> Any:
    """A ``-p`` value read as YAML, with YAML dates turned into ISO text."""
    return _plain(yaml.safe_load(text) if text.strip() else "")


def _plain(value: Any) -> Any:
    """``value`` with dates/datetimes (anywhere in lists and dicts) as ISO text."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {_plain(k): _plain(v) for k, v in value.items()}
    return value


def _type_of(default: Any) -> str:
    """The type name an unannotated default implies (``Any`` for ``None``)."""
    for typ in (bool, int, float, str, list, dict):
        if isinstance(default, typ):
            return typ.__name__
    return "Any"


_SCALARS = {"bool", "int", "float", "str", "list", "dict", "Any", "object", "None"}


def _type_node(type_text: str) -> ast.expr:
    """The annotation as an expression tree; :class:`ValueError` if a part is unsupported."""
    node = ast.parse(type_text, mode="eval").body
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name) and sub.id not in _SCALARS:
            raise ValueError(f"unsupported parameter type {type_text!r}")
    return node


def _coerce(value: Any, node: ast.expr) -> Any:
    """``value`` converted to the type ``node`` (an annotation); ValueError/TypeError if not."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        members = _union_members(node)
        if any(_is_none(m) for m in members) and _is_null(value):
            return None
        for member in members:
            if _is_none(member):
                continue
            try:
                return _coerce(value, member)
            except (ValueError, TypeError):
                continue
        raise ValueError("no member of the union fits")
    if _is_none(node):
        if _is_null(value):
            return None
        raise ValueError("expected None")
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
        outer = node.value.id
        args = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        if outer == "list":
            return [_coerce(v, args[0]) for v in _as(value, list)]
        if outer == "dict":
            key_t, val_t = (args + args)[:2]
            return {_coerce(k, key_t): _coerce(v, val_t) for k, v in _as(value, dict).items()}
        raise ValueError(f"unsupported container {outer}")
    if not isinstance(node, ast.Name):
        raise ValueError("unsupported annotation")
    kind = node.id
    if kind in ("Any", "object"):
        return load_yaml_value(value) if isinstance(value, Raw) else _plain(value)
    if kind == "list":
        return _as(value, list)
    if kind == "dict":
        return _as(value, dict)
    if kind == "bool":
        return _to_bool(value)
    if kind == "int":
        return _to_int(value)
    if kind == "float":
        return _to_float(value)
    return _to_str(value)


def _union_members(node: ast.expr) -> list[ast.expr]:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _union_members(node.left) + _union_members(node.right)
    return [node]


def _is_none(node: ast.expr) -> bool:
    return (isinstance(node, ast.Constant) and node.value is None) or (
        isinstance(node, ast.Name) and node.id == "None"
    )


def _is_null(value: Any) -> bool:
    return value is None or (isinstance(value, Raw) and value.strip().lower() in NULL_WORDS)


def _as(value: Any, typ: type) -> Any:
    """A list or dict: ``value`` itself, or YAML text read into one."""
    if isinstance(value, str):
        value = load_yaml_value(value)
    value = _plain(value)
    if typ is list and isinstance(value, tuple):
        value = list(value)
    if not isinstance(value, typ):
        raise TypeError(f"not a {typ.__name__}")
    return value


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
    raise ValueError("not a boolean")


def _to_float(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise TypeError("not a number")
    out = float(value.strip()) if isinstance(value, str) else float(value)
    if not math.isfinite(out):
        raise ValueError("not finite")
    return out


def _to_int(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        try:
            return int(value.strip())  # accepts 1_000
        except ValueError:
            pass
    number = _to_float(value)
    if not number.is_integer():
        raise ValueError("not a whole number")
    return int(number)


def _to_str(value: Any) -> str:
    if isinstance(value, Raw):
        text = str(value)
        stripped = text.strip()
        if len(stripped) >= 2 and stripped[0] == stripped[-1] and stripped[0] in "'\"":
            loaded = load_yaml_value(stripped)  # a quoted YAML string: its content
            if isinstance(loaded, str):
                return loaded
        return text
    value = _plain(value)
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise TypeError("not text")
