"""The data contract and the only code that reads or writes files.

Modules: :mod:`~revlib.data.contract` (tables, columns, rules, Markdown of the contract),
:mod:`~revlib.data.validate` (parsing and validating tables), :mod:`~revlib.data.io` (reading a
data directory, writing tables, JSON and artifacts, YAML and ground truth) and
:mod:`~revlib.data.currency` (reporting-currency conversion). Everything else works on the
in-memory DataFrames returned here; the public names are re-exported, so ``from revlib import
data`` and ``data.load_tables(...)`` work as before.
"""

from revlib.data.contract import (
    CONTRACT,
    MAX_ABS_NUMBER,
    MAX_EXAMPLES,
    MAX_MONEY,
    OPPORTUNITY_STATUSES,
    OPPORTUNITY_TYPES,
    REGIONS,
    REPORTING_CURRENCY,
    SEGMENTS,
    SPEND_CATEGORIES,
    TABLE_NAMES,
    TOUCH_TYPES,
    Col,
    Kind,
    RowRule,
    Table,
    contract_markdown,
    format_value,
)
from revlib.data.currency import fx_factor, fx_rate_map, to_reporting_currency
from revlib.data.frames import column_problem, require_columns
from revlib.data.io import (
    available_tables,
    bundled_path,
    find_table_file,
    load_tables,
    path_problem,
    read_artifact,
    read_bundled_yaml,
    read_ground_truth,
    read_json,
    read_raw,
    read_yaml,
    real_data_dir,
    round_floats,
    write_artifacts,
    write_csv,
    write_json,
    write_tables,
)
from revlib.data.validate import DataValidationError, Problem, validate_tables

__all__ = [
    "column_problem",
    "require_columns",
    "CONTRACT",
    "MAX_ABS_NUMBER",
    "MAX_EXAMPLES",
    "MAX_MONEY",
    "OPPORTUNITY_STATUSES",
    "OPPORTUNITY_TYPES",
    "REGIONS",
    "REPORTING_CURRENCY",
    "SEGMENTS",
    "SPEND_CATEGORIES",
    "TABLE_NAMES",
    "TOUCH_TYPES",
    "Col",
    "DataValidationError",
    "Kind",
    "Problem",
    "RowRule",
    "Table",
    "available_tables",
    "bundled_path",
    "contract_markdown",
    "find_table_file",
    "format_value",
    "fx_factor",
    "fx_rate_map",
    "load_tables",
    "path_problem",
    "read_artifact",
    "read_bundled_yaml",
    "read_ground_truth",
    "read_json",
    "read_raw",
    "read_yaml",
    "real_data_dir",
    "round_floats",
    "to_reporting_currency",
    "validate_tables",
    "write_artifacts",
    "write_csv",
    "write_json",
    "write_tables",
]
