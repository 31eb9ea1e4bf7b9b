"""Run report notebooks headlessly with papermill into a folder of HTML reports and artifacts.

A run: validate parameters and input data first (nothing is written if that fails), execute
each notebook into a hidden staging folder, render each to a single-file HTML report, write
``index.html`` and ``run.json``, then move the staging folder into place. ``reports/latest``
moves only when every notebook succeeded, and an explicit ``--out`` folder holding an earlier
report is replaced only by a fully successful run.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import platform
import shutil
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from revlib import __version__
from revlib.data import load_tables

RESERVED_PARAMETERS = ("data_dir", "output_dir")


class UsageError(ValueError):
    """The command's arguments are wrong (unknown notebook, malformed or unknown parameter)."""


# ----------------------------------------------------------------------------- locations


def project_root() -> Path:
    """The workspace folder: ``$REVLIB_HOME``, else the nearest folder above the working
    directory holding ``notebooks/`` and ``pyproject.toml``, else the package's checkout."""
    env = os.environ.get("REVLIB_HOME")
    if env:
        return Path(env).resolve()
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "notebooks").is_dir() and (folder / "pyproject.toml").is_file():
            return folder
    return Path(__file__).resolve().parent.parent


# ----------------------------------------------------------------------------- notebooks


@dataclass
class NotebookInfo:
    name: str
    path: Path
    title: str
    requires: list[str]
    optional: list[str]
    defaults: dict[str, Any]  # parameter name -> default value

    @property
    def parameter_names(self) -> list[str]:
        return list(self.defaults)


def _parameters_cell_defaults(nb) -> dict[str, Any]:
    """Defaults of the tagged ``parameters`` cell (literal assignments only)."""
    import ast

    for cell in nb.cells:
        if cell.cell_type == "code" and "parameters" in cell.get("metadata", {}).get("tags", []):
            out: dict[str, Any] = {}
            for node in ast.parse(cell.source).body:
                if (
                    isinstance(node, ast.Assign)
                    and len(node.targets) == 1
                    and isinstance(node.targets[0], ast.Name)
                ):
                    try:
                        out[node.targets[0].id] = ast.literal_eval(node.value)
                    except ValueError:
                        out[node.targets[0].id] = None
                elif (
                    isinstance(node, ast.AnnAssign)
                    and isinstance(node.target, ast.Name)
                    and node.value is not None
                ):
                    out[node.target.id] = ast.literal_eval(node.value)
            return out
    return {}


def _title(nb, name: str) -> str:
    meta = nb.metadata.get("revlib", {})
    if meta.get("title"):
        return str(meta["title"])
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return name


def discover_notebooks(notebooks_dir: str | os.PathLike) -> dict[str, NotebookInfo]:
    """Every report notebook in ``notebooks_dir`` by name (file stem), sorted by name."""
    import nbformat

    found = {}
    for path in sorted(Path(notebooks_dir).glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        meta = nb.metadata.get("revlib", {})
        found[path.stem] = NotebookInfo(
            name=path.stem,
            path=path,
            title=_title(nb, path.stem),
            requires=list(meta.get("requires", [])),
            optional=list(meta.get("optional", [])),
            defaults=_parameters_cell_defaults(nb),
        )
    return found


# ----------------------------------------------------------------------------- parameters


def parse_parameter(text: str) -> tuple[str, Any]:
    """Parse ``NAME=VALUE`` (``VALUE`` in YAML: ``3``, ``0.5``, ``true``, ``[a, b]``, ``text``).

    ``NAME`` may be ``notebook.name`` to set a parameter of one notebook only.
    """
    if "=" not in text:
        raise UsageError(f"malformed -p value {text!r}: expected NAME=VALUE, e.g. -p fast=true")
    name, raw = text.split("=", 1)
    name = name.strip()
    if not name or not all(part.isidentifier() for part in name.split(".")) or name.count(".") > 1:
        raise UsageError(f"malformed -p value {text!r}: {name!r} is not a parameter name")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError as err:
        raise UsageError(
            f"malformed -p value {text!r}: the value is not valid YAML ({err.problem})"
        ) from None
    return name, value


def load_params_file(path: str | os.PathLike) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Read a parameters YAML: ``{parameters: {...}, notebooks: {name: {...}}}``, or a flat
    mapping applying to every notebook. Returns (common, per_notebook)."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"parameters file not found: {path}")
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise UsageError(f"parameters file {path} is not valid YAML: {err}") from None
    if not isinstance(doc, dict):
        raise UsageError(f"parameters file {path} must hold a mapping, got {type(doc).__name__}")
    if "parameters" in doc or "notebooks" in doc:
        extra = set(doc) - {"parameters", "notebooks"}
        if extra:
            raise UsageError(
                f"parameters file {path}: unknown keys {sorted(extra)} (allowed: parameters, notebooks)"
            )
        return dict(doc.get("parameters") or {}), {
            k: dict(v or {}) for k, v in (doc.get("notebooks") or {}).items()
        }
    return dict(doc), {}


def _type_ok(default: Any, value: Any) -> bool:
    if default is None or value is None:
        return True
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, (int, float)):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(default, str):
        return isinstance(value, (str, int, float)) and not isinstance(value, bool)
    if isinstance(default, (list, tuple)):
        return isinstance(value, (list, tuple))
    if isinstance(default, dict):
        return isinstance(value, dict)
    return True


def resolve_parameters(
    notebooks: Sequence[NotebookInfo],
    common: Mapping[str, Any],
    per_notebook: Mapping[str, Mapping[str, Any]],
) -> dict[str, dict[str, Any]]:
    """Parameters to inject per notebook. A common parameter goes to the notebooks that
    declare it; one no selected notebook declares, a wrong type, or a parameter addressed to
    an unselected notebook is an error (all collected, raised once)."""
    errors = []
    by_name = {nb.name: nb for nb in notebooks}
    for name in per_notebook:
        if name not in by_name:
            errors.append(f"parameters given for notebook {name!r}, which is not in this run")
    for key in common:
        if key in RESERVED_PARAMETERS:
            errors.append(f"{key} is set by --data / --out, not by -p")
        elif not any(key in nb.defaults for nb in notebooks):
            errors.append(f"unknown parameter {key!r}: no selected notebook declares it")
    out: dict[str, dict[str, Any]] = {}
    for nb in notebooks:
        chosen = {
            k: v for k, v in common.items() if k in nb.defaults and k not in RESERVED_PARAMETERS
        }
        for key, value in (per_notebook.get(nb.name) or {}).items():
            if key in RESERVED_PARAMETERS:
                errors.append(f"{nb.name}.{key} is set by --data / --out, not by parameters")
            elif key not in nb.defaults:
                errors.append(
                    f"unknown parameter {key!r} for notebook {nb.name} (it has: {', '.join(nb.parameter_names)})"
                )
            else:
                chosen[key] = value
        for key, value in chosen.items():
            if not _type_ok(nb.defaults.get(key), value):
                errors.append(
                    f"parameter {key!r} of {nb.name} expects {type(nb.defaults[key]).__name__} "
                    f"(default {nb.defaults[key]!r}), got {value!r}"
                )
        out[nb.name] = chosen
    if errors:
        raise UsageError("\n".join(errors))
    return out


# ----------------------------------------------------------------------------- the run


@dataclass
class ReportResult:
    name: str
    title: str
    status: str
    duration_seconds: float
    parameters: dict[str, Any]
    html: str | None
    notebook: str
    artifacts_dir: str
    artifacts: list[str] = field(default_factory=list)
    error: str | None = None


@dataclass
class RunResult:
    run_id: str
    out_dir: Path
    reports: list[ReportResult]
    ok: bool
    latest_updated: bool
    message: str = ""


def versions() -> dict[str, str]:
    """Versions of Python and the packages whose behaviour shapes the numbers."""
    from importlib import metadata

    out = {"python": platform.python_version(), "revlib": __version__}
    for pkg in (
        "pandas",
        "numpy",
        "pymc",
        "arviz",
        "nutpie",
        "lightgbm",
        "scikit-learn",
        "statsforecast",
        "matplotlib",
        "papermill",
    ):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    return out


def _error_text(err: BaseException) -> str:
    ename = getattr(err, "ename", type(err).__name__)
    evalue = getattr(err, "evalue", str(err))
    text = f"{ename}: {evalue}".strip()
    return text if len(text) < 2000 else text[:2000] + " …"


def validate_inputs(data_dir: Path, notebooks: Sequence[NotebookInfo]) -> None:
    """Validate every contract table in ``data_dir`` and require what the notebooks need."""
    required = sorted({t for nb in notebooks for t in nb.requires})
    load_tables(data_dir, required=required)


def _new_run_id(reports_root: Path) -> str:
    base = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    run_id, i = base, 1
    while (reports_root / run_id).exists():
        i += 1
        run_id = f"{base}-{i}"
    return run_id


def run(
    names: Sequence[str] = (),
    *,
    data_dir: str | os.PathLike | None = None,
    out_dir: str | os.PathLike | None = None,
    params: Sequence[str] = (),
    params_file: str | os.PathLike | None = None,
    root: str | os.PathLike | None = None,
    progress: Callable[[str], None] = print,
) -> RunResult:
    """Execute notebooks and write their reports; see the module docstring.

    Raises :class:`UsageError` or :class:`revlib.data.DataValidationError` before writing
    anything when arguments or input data are wrong.
    """

    root = Path(root) if root else project_root()
    notebooks_dir = root / "notebooks"
    available = discover_notebooks(notebooks_dir)
    if not available:
        raise UsageError(f"no notebooks found in {notebooks_dir}")
    unknown = [n for n in names if Path(n).stem not in available]
    if unknown:
        raise UsageError(
            f"unknown notebook(s) {', '.join(map(repr, unknown))}; available: {', '.join(available)}"
        )
    selected = (
        [available[Path(n).stem] for n in dict.fromkeys(names)]
        if names
        else list(available.values())
    )

    common: dict[str, Any] = {}
    per_nb: dict[str, dict[str, Any]] = {}
    if params_file:
        common, per_nb = load_params_file(params_file)
    for text in params:
        key, value = parse_parameter(text)
        if "." in key:
            nb_name, key = key.split(".")
            per_nb.setdefault(nb_name, {})[key] = value
        else:
            common[key] = value
    injected = resolve_parameters(selected, common, per_nb)

    data_path = Path(data_dir).resolve() if data_dir else (root / "data" / "sample").resolve()
    validate_inputs(data_path, selected)

    reports_root = root / "reports"
    if out_dir:
        target = Path(out_dir).resolve()
        run_id = target.name
    else:
        reports_root.mkdir(parents=True, exist_ok=True)
        run_id = _new_run_id(reports_root)
        target = reports_root / run_id
    staging = target.parent / f".{target.name}.partial-{os.getpid()}"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)

    started = dt.datetime.now().astimezone()
    t0 = time.perf_counter()
    results: list[ReportResult] = []
    vers = versions()
    try:
        for i, nb in enumerate(selected, 1):
            progress(f"[{i}/{len(selected)}] {nb.name}: running …")
            result = _run_one(nb, injected[nb.name], data_path, staging, vers, notebooks_dir)
            results.append(result)
            mark = "ok" if result.status == "ok" else "FAILED"
            extra = f" — {result.error.splitlines()[0]}" if result.error else ""
            progress(
                f"[{i}/{len(selected)}] {nb.name}: {mark} in {result.duration_seconds:.1f} s{extra}"
            )
    except KeyboardInterrupt:
        progress(f"interrupted: partial output left in {staging}; reports/latest unchanged")
        raise
    ok = all(r.status == "ok" for r in results)
    run_doc = {
        "run_id": run_id,
        "status": "ok" if ok else "failed",
        "started_at": started.isoformat(timespec="seconds"),
        "duration_seconds": round(time.perf_counter() - t0, 2),
        "data_dir": str(data_path),
        "out_dir": str(target),
        "command": " ".join(["revlib", *sys.argv[1:]])
        if sys.argv and sys.argv[0].endswith("revlib")
        else "",
        "versions": vers,
        "reports": [r.__dict__ for r in results],
    }
    from revlib.data import write_json
    from revlib.reporting import index_html

    write_json(run_doc, staging / "run.json")
    (staging / "index.html").write_text(index_html(run_doc), encoding="utf-8")
    return _publish(
        staging, target, run_id, results, ok, reports_root if not out_dir else None, progress
    )


def _run_one(
    nb: NotebookInfo,
    params: dict[str, Any],
    data_dir: Path,
    staging: Path,
    vers: dict[str, str],
    notebooks_dir: Path,
) -> ReportResult:
    import nbformat
    import papermill as pm

    from revlib.reporting import notebook_html

    artifacts_dir = staging / nb.name
    artifacts_dir.mkdir(parents=True, exist_ok=True)
    out_nb = staging / f"{nb.name}.ipynb"
    full_params = {"data_dir": str(data_dir), "output_dir": str(artifacts_dir), **params}
    started = dt.datetime.now().astimezone()
    t0 = time.perf_counter()
    error = None
    try:
        with _stderr_to(staging / "logs" / f"{nb.name}.log"):  # kernel chatter, not the terminal
            pm.execute_notebook(
                str(nb.path),
                str(out_nb),
                parameters=full_params,
                cwd=str(notebooks_dir),
                kernel_name="python3",
                progress_bar=False,
                log_output=False,
                report_mode=False,
            )
    except Exception as err:  # a failing notebook does not stop the others
        error = _error_text(err)
    duration = time.perf_counter() - t0
    effective = nb.defaults | params
    shown = {k: v for k, v in effective.items() if k not in RESERVED_PARAMETERS}
    html_name = None
    if out_nb.exists():
        executed = nbformat.read(out_nb, as_version=4)
        header = {
            "name": nb.name,
            "title": nb.title,
            "status": "ok" if error is None else "failed",
            "error": error,
            "data_dir": str(data_dir),
            "parameters": shown,
            "started_at": started.isoformat(timespec="seconds"),
            "duration_seconds": duration,
            "versions": vers,
        }
        html_name = f"{nb.name}.html"
        (staging / html_name).write_text(notebook_html(executed, header=header), encoding="utf-8")
    artifacts = sorted(
        str(p.relative_to(artifacts_dir)) for p in artifacts_dir.rglob("*") if p.is_file()
    )
    return ReportResult(
        name=nb.name,
        title=nb.title,
        status="ok" if error is None else "failed",
        duration_seconds=round(duration, 2),
        parameters=shown,
        html=html_name,
        notebook=f"{nb.name}.ipynb",
        artifacts_dir=nb.name,
        artifacts=artifacts,
        error=error,
    )


@contextlib.contextmanager
def _stderr_to(path: Path):
    """Send this process's file descriptor 2 (inherited by the kernel it starts) to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stderr.flush()
    saved = os.dup(2)
    with open(path, "ab") as log:
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


def _publish(
    staging: Path,
    target: Path,
    run_id: str,
    results: list[ReportResult],
    ok: bool,
    reports_root: Path | None,
    progress: Callable[[str], None],
) -> RunResult:
    latest_updated = False
    if reports_root is not None:  # default: a new timestamped folder, latest only on success
        staging.rename(target)
        if ok:
            _point_latest(reports_root, target)
            latest_updated = True
        message = f"reports in {target}" + (
            "" if ok else "; reports/latest still points at the last complete run"
        )
    elif ok or not target.exists() or not any(target.iterdir()):
        if target.exists():
            old = target.parent / f".{target.name}.old-{os.getpid()}"
            target.rename(old)
            staging.rename(target)
            shutil.rmtree(old)
        else:
            staging.rename(target)
        final = target
        message = f"reports in {final}"
    else:  # failed run, and the target holds an earlier report: keep it
        failed = target.parent / f"{target.name}.failed-{run_id}-{dt.datetime.now():%Y%m%d-%H%M%S}"
        staging.rename(failed)
        target_msg = f"{target} kept as it was"
        message = f"run failed: its reports are in {failed}; {target_msg}"
        target = failed
    progress(message)
    return RunResult(
        run_id=run_id,
        out_dir=target,
        reports=results,
        ok=ok,
        latest_updated=latest_updated,
        message=message,
    )


def _point_latest(reports_root: Path, target: Path) -> None:
    """Atomically point ``reports/latest`` at ``target`` (a relative symlink)."""
    link = reports_root / "latest"
    tmp = reports_root / f".latest.tmp-{os.getpid()}"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    tmp.symlink_to(target.name, target_is_directory=True)
    if link.exists() and not link.is_symlink():
        raise UsageError(f"{link} exists and is not a symlink; move it away")
    os.replace(tmp, link)
