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
import difflib
import functools
import html
import json
import os
import platform
import secrets
import shutil
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from revlib import __version__
from revlib.parameters import (
    Parameter,
    ParameterError,
    Raw,
    check_date,
    declared_tables,
    parse_parameters_cell,
)

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
    """A report notebook as the runner sees it without executing it.

    ``requires``/``optional``: its ``REQUIRED_TABLES``/``OPTIONAL_TABLES``. ``error``: why the
    file cannot be run (not a notebook, an unreadable parameters cell), else ``None``.
    """

    name: str
    path: Path
    title: str
    requires: list[str]
    optional: list[str]
    parameters: dict[str, Parameter] = field(default_factory=dict)
    error: str | None = None

    @property
    def defaults(self) -> dict[str, Any]:
        """Parameter name -> default value."""
        return {k: p.default for k, p in self.parameters.items()}

    @property
    def parameter_names(self) -> list[str]:
        return list(self.parameters)


def _parameters_cell(nb) -> str | None:
    """Source of the cell tagged ``parameters`` (``None`` if there is none)."""
    for cell in nb.cells:
        if cell.cell_type == "code" and "parameters" in cell.get("metadata", {}).get("tags", []):
            return cell.source
    return None


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


def read_notebook_info(path: Path) -> NotebookInfo:
    """What the runner needs from one notebook file; a broken file gives ``error``, not an
    exception, so that it breaks only itself."""
    import nbformat

    try:
        nb = nbformat.read(path, as_version=4)
        source = _parameters_cell(nb)
        parameters = parse_parameters_cell(source) if source is not None else {}
        tables = declared_tables([c.source for c in nb.cells if c.cell_type == "code"])
        return NotebookInfo(
            name=path.stem,
            path=path,
            title=_title(nb, path.stem),
            requires=tables["REQUIRED_TABLES"],
            optional=tables["OPTIONAL_TABLES"],
            parameters=parameters,
        )
    except Exception as err:  # any unreadable file: JSON, nbformat, Python syntax, literals
        reason = " ".join(str(err).split()) or type(err).__name__
        return NotebookInfo(
            name=path.stem,
            path=path,
            title=path.stem,
            requires=[],
            optional=[],
            error=f"{type(err).__name__}: {reason[:300]}",
        )


def discover_notebooks(notebooks_dir: str | os.PathLike) -> dict[str, NotebookInfo]:
    """Every notebook in ``notebooks_dir`` by name (file stem), sorted by name, broken ones
    included (with ``error`` set). :class:`UsageError` if the folder does not exist."""
    folder = Path(notebooks_dir)
    if not folder.is_dir():
        raise UsageError(
            f"no notebooks folder at {folder} (--root must be the workspace folder holding notebooks/)"
        )
    return {path.stem: read_notebook_info(path) for path in sorted(folder.glob("*.ipynb"))}


# ----------------------------------------------------------------------------- parameters

# The parameters every notebook means the same way; the runner accepts them in every run and
# passes each to the notebooks that declare it (a notebook where one would do nothing omits it).
# The runner's defaults are for reports: full settings (`fast=False`). A notebook's own default
# is for exploring in JupyterLab and for nbval (`fast: bool = True`, quick, with a banner).
SHARED_PARAMETERS: dict[str, Parameter] = {
    "fast": Parameter("fast", "bool", False),
    "seed": Parameter("seed", "int", 42),
    "as_of": Parameter("as_of", "str", ""),
}
SHARED_MEANINGS = {
    "fast": "fewer MCMC draws, simulations and repeats: for checking a pipeline, not for decisions",
    "seed": "seed of every random draw (same data, parameters and seed give the same artifacts)",
    "as_of": "the date the report is made as of (YYYY-MM-DD or YYYY-MM); empty = the data's "
    "last complete period",
}
MAX_PARAMETER_DEPTH = 8  # lists/dicts nested deeper than this in a parameters file are refused


def _check_shared(key: str, value: Any) -> Any:
    """A shared parameter's value in its one meaning (``as_of``: a date or empty)."""
    value = SHARED_PARAMETERS[key].convert(value)
    if key == "as_of":
        try:
            value = check_date(value, allow_empty=True)
        except ValueError:
            raise ParameterError(
                f"expects an ISO date (YYYY-MM-DD or YYYY-MM) or empty, got {value}"
            ) from None
    return value


def parse_parameter(text: str) -> tuple[str, Any]:
    """Parse ``NAME=VALUE``; ``VALUE`` is kept as typed (:class:`Raw`) and converted later to
    the type the notebook declares (``5e6`` for a float, ``2026-12-31`` for a date, ``[a, b]``
    for a list). ``NAME`` may be ``notebook.name`` to set a parameter of one notebook only.
    """
    if "=" not in text:
        raise UsageError(f"malformed -p value {text!r}: expected NAME=VALUE, e.g. -p fast=true")
    name, raw = text.split("=", 1)
    name = name.strip()
    if not name or not all(part.isidentifier() for part in name.split(".")) or name.count(".") > 1:
        raise UsageError(f"malformed -p value {text!r}: {name!r} is not a parameter name")
    if raw.strip()[:1] in ("[", "{"):  # a list or mapping: its YAML must at least parse
        try:
            yaml.safe_load(raw)
        except yaml.YAMLError as err:
            why = err.problem if isinstance(err, yaml.MarkedYAMLError) else str(err)
            raise UsageError(
                f"malformed -p value {text!r}: the value is not valid YAML ({why})"
            ) from None
    return name, Raw(raw)


def _depth(value: Any) -> int:
    """Nesting depth of lists/dicts (a scalar is 0)."""
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, (list, tuple)):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


def _parameter_mapping(value: Any, where: str) -> dict[str, Any]:
    """``value`` as a mapping of parameter names to values; :class:`UsageError` naming ``where``."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise UsageError(
            f"{where} must be a mapping of parameter names to values, got {type(value).__name__}: {value!r:.80}"
        )
    for key, item in value.items():
        if not isinstance(key, str) or not key.isidentifier():
            raise UsageError(f"{where}: {key!r} is not a parameter name")
        if _depth(item) > MAX_PARAMETER_DEPTH:
            raise UsageError(
                f"{where}: the value of {key!r} is nested more than {MAX_PARAMETER_DEPTH} levels deep"
            )
    return dict(value)


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
    except (RecursionError, UnicodeDecodeError) as err:
        raise UsageError(f"parameters file {path} cannot be read: {type(err).__name__}") from None
    if not isinstance(doc, dict):
        raise UsageError(f"parameters file {path} must hold a mapping, got {type(doc).__name__}")
    if "parameters" not in doc and "notebooks" not in doc:
        return _parameter_mapping(doc, f"parameters file {path}"), {}
    extra = set(doc) - {"parameters", "notebooks"}
    if extra:
        raise UsageError(
            f"parameters file {path}: unknown keys {sorted(map(str, extra))} (allowed: parameters, notebooks)"
        )
    common = _parameter_mapping(doc.get("parameters"), f"parameters file {path}: 'parameters'")
    notebooks = doc.get("notebooks") or {}
    if not isinstance(notebooks, dict):
        raise UsageError(
            f"parameters file {path}: 'notebooks' must map notebook names to their parameters, "
            f"e.g. notebooks: {{arr_tracker: {{arr_target: 5e6}}}}; got {type(notebooks).__name__}"
        )
    per_notebook = {
        str(name): _parameter_mapping(values, f"parameters file {path}: notebooks.{name}")
        for name, values in notebooks.items()
    }
    return common, per_notebook


def _did_you_mean(key: str, candidates: Sequence[str]) -> str:
    close = difflib.get_close_matches(key, list(candidates), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def resolve_parameters(
    notebooks: Sequence[NotebookInfo],
    common: Mapping[str, Any],
    per_notebook: Mapping[str, Mapping[str, Any]],
) -> dict[str, dict[str, Any]]:
    """Parameters to inject per notebook, converted to the types the notebooks declare.

    A common parameter goes to the notebooks that declare it. Errors (all collected, raised
    once as :class:`UsageError`, one line each): a parameter no selected notebook declares
    (shared ones excepted), a value that does not fit the declared type, a reserved name, a
    parameter addressed to a notebook not in this run.
    """
    errors = []
    by_name = {nb.name: nb for nb in notebooks}
    known = sorted({k for nb in notebooks for k in nb.parameters} | set(SHARED_PARAMETERS))
    for name in per_notebook:
        if name not in by_name:
            errors.append(
                f"parameters given for notebook {name!r}, which is not in this run"
                + _did_you_mean(name, list(by_name))
            )
    for key, value in common.items():
        if key in RESERVED_PARAMETERS:
            errors.append(f"{key} is set by --data / --out, not by -p")
        elif key in SHARED_PARAMETERS:
            try:
                _check_shared(key, value)
            except ParameterError as err:
                errors.append(f"parameter {key!r} {err}")
        elif not any(key in nb.parameters for nb in notebooks):
            errors.append(
                f"unknown parameter {key!r}: no selected notebook declares it"
                + _did_you_mean(key, known)
            )
    out: dict[str, dict[str, Any]] = {}
    for nb in notebooks:
        chosen = {
            k: v for k, v in common.items() if k in nb.parameters and k not in RESERVED_PARAMETERS
        }
        for key, value in (per_notebook.get(nb.name) or {}).items():
            if key in RESERVED_PARAMETERS:
                errors.append(f"{nb.name}.{key} is set by --data / --out, not by parameters")
            elif key not in nb.parameters:
                errors.append(
                    f"unknown parameter {key!r} for notebook {nb.name}"
                    + _did_you_mean(key, nb.parameter_names)
                    + f" (it has: {', '.join(nb.parameter_names)})"
                )
            else:
                chosen[key] = value
        converted = {
            key: shared.default
            for key, shared in SHARED_PARAMETERS.items()
            if key in nb.parameters and key not in chosen
        }
        for key, value in chosen.items():
            try:
                converted[key] = nb.parameters[key].convert(value)
                if key in SHARED_PARAMETERS:
                    converted[key] = _check_shared(key, converted[key])
            except ParameterError as err:
                errors.append(f"parameter {key!r} of {nb.name} {err}")
        out[nb.name] = converted
    if errors:
        raise UsageError("\n".join(dict.fromkeys(errors)))
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
    from revlib.data import load_tables

    required = sorted({t for nb in notebooks for t in nb.requires})
    load_tables(data_dir, required=required)


# ----------------------------------------------------------------------------- output folders

STAGING_MARKER = ".revlib-staging"  # in every staging folder: the pid of the run writing it


def check_out_dir(out: str | os.PathLike, *, root: Path, data_dir: Path) -> Path:
    """The absolute output folder for ``--out``, or :class:`UsageError` when a run must not
    write there: a file, a symbolic link, ``/``, the project folder or a folder containing it,
    ``reports/`` itself, the data directory or a folder containing it or inside it, or an
    existing non-empty folder that is not an earlier revlib run (no ``run.json``)."""
    given = Path(os.path.abspath(Path(out).expanduser()))
    if given.is_symlink():
        raise UsageError(f"--out {out}: is a symbolic link; name the folder itself")
    target = given.resolve()
    project = root.resolve()
    data = data_dir.resolve()
    if target == Path(target.anchor):
        raise UsageError(f"--out {out}: the file-system root cannot be an output folder")
    if target.exists() and not target.is_dir():
        raise UsageError(f"--out {out}: is a file, not a folder; name a new folder")
    if target == project or project.is_relative_to(target):
        raise UsageError(f"--out {out}: is the project folder {project} or contains it")
    if target == project / "reports":
        raise UsageError(
            f"--out {out}: is reports/ itself, which holds every run; name a folder inside it"
        )
    if target == data or data.is_relative_to(target) or target.is_relative_to(data):
        raise UsageError(
            f"--out {out}: is, contains or lies inside the data directory {data}; "
            "write reports elsewhere"
        )
    if target.is_dir() and any(target.iterdir()) and not (target / "run.json").is_file():
        raise UsageError(
            f"--out {out}: exists, is not empty and is not an earlier revlib run (no run.json); "
            "revlib replaces only its own runs: name a new or empty folder"
        )
    _check_writable(target.parent, out)
    return target


def _check_writable(folder: Path, out: str | os.PathLike) -> None:
    """:class:`UsageError` unless ``folder`` is (or can be created as) a writable folder."""
    existing = folder
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise UsageError(f"--out {out}: {existing} is a file, so the folder cannot be created")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(f"--out {out}: {existing} is not writable")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale_staging(parent: Path) -> list[Path]:
    """Delete staging folders in ``parent`` left by runs whose process is gone (only folders
    holding revlib's staging marker). Returns the folders deleted."""
    removed = []
    for folder in parent.glob(".*.partial-*"):
        marker = folder / STAGING_MARKER
        if not (folder.is_dir() and not folder.is_symlink() and marker.is_file()):
            continue
        try:
            pid = int(marker.read_text(encoding="utf-8").split()[0])
        except (ValueError, IndexError, OSError):
            continue
        if pid != os.getpid() and not _pid_alive(pid):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def _make_staging(parent: Path, name: str) -> Path:
    """A new hidden staging folder ``parent/.NAME.partial-<pid>-<token>`` with its marker."""
    parent.mkdir(parents=True, exist_ok=True)
    clean_stale_staging(parent)
    staging = parent / f".{name}.partial-{os.getpid()}-{secrets.token_hex(3)}"
    staging.mkdir()
    (staging / STAGING_MARKER).write_text(f"{os.getpid()}\n", encoding="utf-8")
    return staging


def reserve_run_id(reports_root: Path, now: dt.datetime | None = None) -> str:
    """A new run id ``YYYYmmdd-HHMMSS[-n]``, reserved by creating the (empty) folder
    ``reports_root/<id>`` atomically, so that runs started in the same second never collide."""
    reports_root.mkdir(parents=True, exist_ok=True)
    base = (now or dt.datetime.now()).strftime("%Y%m%d-%H%M%S")
    for i in range(1, 10_000):
        run_id = base if i == 1 else f"{base}-{i}"
        try:
            (reports_root / run_id).mkdir()
        except FileExistsError:
            continue
        return run_id
    raise UsageError(f"cannot reserve a run folder in {reports_root}")


def _path_forms(path: Path) -> list[str]:
    """How ``path`` is spelled in plain text, JSON and HTML."""
    text = str(path)
    return list(dict.fromkeys([text, json.dumps(text)[1:-1], html.escape(text)]))


def retarget(staging: Path, final: Path) -> None:
    """Make the run's top-level records (executed notebooks, HTML reports, ``run.json``)
    name ``final`` where they name ``staging``: the folder they will be published as."""
    pairs = list(zip(_path_forms(staging), _path_forms(final), strict=True))
    for path in staging.iterdir():
        if path.is_file() and path.suffix in (".ipynb", ".html", ".json"):
            text = path.read_text(encoding="utf-8")
            new = text
            for old_form, new_form in pairs:
                new = new.replace(old_form, new_form)
            if new != text:
                path.write_text(new, encoding="utf-8")


def _replace_run(staging: Path, target: Path) -> None:
    """Move ``staging`` to ``target``. An earlier run at ``target`` is first renamed to a
    hidden backup and deleted only once the new run is in place (and only because it holds
    ``run.json``, i.e. revlib wrote it)."""
    if not target.exists() or (target.is_dir() and not any(target.iterdir())):
        staging.rename(target)  # replaces an empty folder atomically
        return
    if not (target / "run.json").is_file():  # changed during the run: leave it alone
        raise UsageError(f"{target} changed during the run and is not a revlib run; kept it")
    backup = target.parent / f".{target.name}.replaced-{os.getpid()}-{secrets.token_hex(3)}"
    target.rename(backup)
    try:
        staging.rename(target)
    except OSError:
        backup.rename(target)
        raise
    if (backup / "run.json").is_file():
        shutil.rmtree(backup)


# ----------------------------------------------------------------------------- the run


@dataclass
class RunPlan:
    """Everything a run needs, checked, before anything is written."""

    root: Path
    notebooks: list[NotebookInfo]  # selected and runnable, in run order
    skipped: dict[str, str]  # broken notebooks left out of an all-notebooks run: name -> reason
    parameters: dict[str, dict[str, Any]]  # per notebook: name -> converted value
    shared: dict[str, Any]  # the run's shared parameters (fast, seed, as_of) as given
    data_dir: Path
    out_dir: Path | None  # None: a new reports/<run id>/


def plan_run(
    names: Sequence[str] = (),
    *,
    data_dir: str | os.PathLike | None = None,
    out_dir: str | os.PathLike | None = None,
    params: Sequence[str] = (),
    params_file: str | os.PathLike | None = None,
    root: str | os.PathLike | None = None,
) -> RunPlan:
    """Check a run's arguments and output folder (nothing is written, no data are read).

    Raises :class:`UsageError` listing what is wrong.
    """
    root = Path(root).expanduser().resolve() if root else project_root()
    notebooks_dir = root / "notebooks"
    available = discover_notebooks(notebooks_dir)
    runnable = {k: nb for k, nb in available.items() if nb.error is None}
    if not runnable:
        raise UsageError(f"no runnable notebooks in {notebooks_dir}")
    unknown = [n for n in names if Path(n).stem not in available]
    if unknown:
        raise UsageError(
            f"unknown notebook(s) {', '.join(map(repr, unknown))}; available: {', '.join(runnable)}"
        )
    broken = [available[Path(n).stem] for n in names if available[Path(n).stem].error]
    if broken:
        raise UsageError(
            "\n".join(f"notebook {nb.name!r} cannot be run: {nb.error}" for nb in broken)
        )
    selected = (
        [available[Path(n).stem] for n in dict.fromkeys(names)]
        if names
        else list(runnable.values())
    )

    common: dict[str, Any] = {}
    per_nb: dict[str, dict[str, Any]] = {}
    if params_file:
        common, per_nb = load_params_file(Path(params_file).expanduser())
    for text in params:
        key, value = parse_parameter(text)
        if "." in key:
            nb_name, key = key.split(".")
            per_nb.setdefault(nb_name, {})[key] = value
        else:
            common[key] = value
    injected = resolve_parameters(selected, common, per_nb)

    if data_dir:
        from revlib.data import path_problem

        problem = path_problem(Path(data_dir).expanduser(), want_dir=True)
        if problem:  # before resolve(): a symbolic link loop would raise there
            raise UsageError(f"data directory: {problem}")
    data_path = Path(data_dir).expanduser().resolve() if data_dir else root / "data" / "sample"
    reports_root = root / "reports"
    target = check_out_dir(out_dir, root=root, data_dir=data_path) if out_dir else None
    if target is None and reports_root.exists() and not reports_root.is_dir():
        raise UsageError(f"{reports_root} is a file; move it away or give --out")
    return RunPlan(
        root=root,
        notebooks=selected,
        skipped={} if names else {k: nb.error for k, nb in available.items() if nb.error},
        parameters=injected,
        shared={k: _check_shared(k, v) for k, v in common.items() if k in SHARED_PARAMETERS},
        data_dir=data_path,
        out_dir=target,
    )


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
    anything when arguments, the output folder or input data are wrong.
    """
    plan = plan_run(
        names,
        data_dir=data_dir,
        out_dir=out_dir,
        params=params,
        params_file=params_file,
        root=root,
    )
    selected, injected, data_path = plan.notebooks, plan.parameters, plan.data_dir
    notebooks_dir = plan.root / "notebooks"
    reports_root = plan.root / "reports"
    target = plan.out_dir
    validate_inputs(data_path, selected)

    for name, reason in plan.skipped.items():
        progress(f"skipped {name}: cannot be run ({reason})")
    if target is None:
        run_id = reserve_run_id(reports_root)
        target = reports_root / run_id
    else:
        run_id = target.name
    try:
        staging = _make_staging(target.parent, target.name)
    except BaseException:
        _drop_placeholder(target, out_dir)
        raise

    started = dt.datetime.now().astimezone()
    t0 = time.perf_counter()
    results: list[ReportResult] = []
    vers = versions()
    try:
        for i, nb in enumerate(selected, 1):
            tag = f"[{i}/{len(selected)}] {nb.name}"
            progress(f"{tag}: running …")
            result = _run_one(
                nb,
                injected[nb.name],
                data_path,
                staging,
                vers,
                notebooks_dir,
                step=functools.partial(_tagged, progress, tag),
            )
            results.append(result)
            mark = "ok" if result.status == "ok" else "FAILED"
            extra = f" — {result.error.splitlines()[0]}" if result.error else ""
            progress(
                f"[{i}/{len(selected)}] {nb.name}: {mark} in {result.duration_seconds:.1f} s{extra}"
            )
    except BaseException:
        _drop_placeholder(target, out_dir)
        progress(f"interrupted: partial output left in {staging}; reports/latest unchanged")
        raise
    ok = all(r.status == "ok" for r in results)
    run_doc = {
        "run_id": run_id,
        "status": "ok" if ok else "failed",
        "started_at": started.isoformat(timespec="seconds"),
        "duration_seconds": round(time.perf_counter() - t0, 2),
        "data_dir": str(data_path),
        "out_dir": str(staging),  # named as published by retarget()
        "command": " ".join(["revlib", *sys.argv[1:]])
        if sys.argv and sys.argv[0].endswith("revlib")
        else "",
        "shared_parameters": plan.shared,
        "skipped": plan.skipped,
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


def _drop_placeholder(target: Path, out_dir: str | os.PathLike | None) -> None:
    """Remove the empty folder that reserved a default run id (never an ``--out`` folder)."""
    if out_dir is None:
        with contextlib.suppress(OSError):
            target.rmdir()  # only if still empty


def _tagged(progress: Callable[[str], None], tag: str, text: str) -> None:
    progress(f"{tag}: {text}")


def section_steps(nb: Any) -> dict[int, str]:
    """Cell index -> "section (cell i/n)" for the first code cell under each markdown heading
    of an executable notebook: what the terminal shows while a long notebook runs."""
    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    steps: dict[int, str] = {}
    heading = None
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            lines = [
                ln.lstrip("#").strip() for ln in cell.source.splitlines() if ln.startswith("#")
            ]
            heading = lines[0] if lines else heading
        elif heading is not None:
            steps[i] = f"{heading} (cell {code.index(i) + 1}/{len(code)})"
            heading = None
    return steps


_ENGINE = "revlib-progress"


def _progress_engine() -> str:
    """Register (once) a papermill engine that reports each section as execution reaches it,
    through the ``revlib_step`` callback passed to ``execute_notebook``; returns its name."""
    from papermill.engines import NBClientEngine, papermill_engines

    if _ENGINE not in papermill_engines._engines:

        class ProgressEngine(NBClientEngine):
            @classmethod
            def execute_managed_notebook(cls, nb_man, kernel_name, **kwargs):
                step = kwargs.pop("revlib_step", None)
                if step is not None:
                    steps = section_steps(nb_man.nb)
                    original = nb_man.cell_start

                    def cell_start(cell, cell_index=None, **kw):
                        if cell_index in steps:
                            step(steps[cell_index])
                        return original(cell, cell_index, **kw)

                    nb_man.cell_start = cell_start
                return super().execute_managed_notebook(nb_man, kernel_name, **kwargs)

        papermill_engines.register(_ENGINE, ProgressEngine)
    return _ENGINE


def _run_one(
    nb: NotebookInfo,
    params: dict[str, Any],
    data_dir: Path,
    staging: Path,
    vers: dict[str, str],
    notebooks_dir: Path,
    step: Callable[[str], None] | None = None,
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
                engine_name=_progress_engine(),
                revlib_step=step,
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
    """Move the finished staging folder into place (see the module docstring)."""
    (staging / STAGING_MARKER).unlink(missing_ok=True)
    latest_updated = False
    if reports_root is not None:  # default: the reserved timestamped folder, latest on success
        retarget(staging, target)
        staging.rename(target)  # onto the empty folder that reserved the run id
        if ok:
            _point_latest(reports_root, target)
            latest_updated = True
        message = f"reports in {target}" + (
            "" if ok else "; reports/latest still points at the last complete run"
        )
    elif ok or not target.exists() or not any(target.iterdir()):
        retarget(staging, target)
        _replace_run(staging, target)
        message = f"reports in {target}"
    else:  # failed run, and the target holds an earlier report: keep it
        failed = target.parent / f"{target.name}.failed-{run_id}-{dt.datetime.now():%Y%m%d-%H%M%S}"
        retarget(staging, failed)
        staging.rename(failed)
        message = f"run failed: its reports are in {failed}; {target} kept as it was"
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
