"""Bad input files (issue 12 §3): each gives one clear problem naming table, column, rule and
rows, and exit 2 from ``revlib validate`` and ``revlib run`` with nothing written."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from revlib import cli, data
from tests.data.test_data import problems_of, replace_in, write_valid

SUBS_HEADER = "subscription_id,account_id,product,start_date,end_date,mrr,currency"
FIRST_SUB = "s1,a1,growth,2023-01-05,2023-06-01,149,USD"


@pytest.fixture
def valid_dir(tmp_path: Path) -> Path:
    return write_valid(tmp_path / "data")


def one_problem(folder: Path) -> data.Problem:
    (p,) = problems_of(folder)
    return p


# ----------------------------------------------------------------------------- dates


def test_end_date_9999_12_31_is_open_ended(valid_dir: Path) -> None:
    replace_in(valid_dir, "subscriptions", "2023-09-10", "9999-12-31")
    subs = data.load_tables(valid_dir)["subscriptions"].set_index("subscription_id")
    assert pd.isna(subs.loc["s3", "end_date"])  # still active, like an empty cell
    assert subs.loc["s1", "end_date"] == pd.Timestamp("2023-06-01")


def test_9999_12_31_in_a_required_date_is_out_of_range(valid_dir: Path) -> None:
    replace_in(valid_dir, "subscriptions", "2023-02-10,2023-09-10", "9999-12-31,2023-09-10")
    p = one_problem(valid_dir)
    assert (p.table, p.column, p.count) == ("subscriptions", "start_date", 1)
    assert p.rule == "must be between 1677-09-22 and 2262-04-11"
    assert p.examples == ["line 4: '9999-12-31'"]


@pytest.mark.parametrize(
    ("old", "new", "column"),
    [
        ("2023-09-10", "2300-01-01", "end_date"),
        ("2023-02-10,2023-09-10", "1600-01-01,2023-09-10", "start_date"),
    ],
)
def test_dates_outside_the_supported_range(
    valid_dir: Path, old: str, new: str, column: str
) -> None:
    replace_in(valid_dir, "subscriptions", old, new)
    p = one_problem(valid_dir)
    assert (p.table, p.column, p.count) == ("subscriptions", column, 1)
    assert p.rule.startswith("must be between 1677-09-22 and 2262-04-11")
    assert p.examples[0].startswith("line 4: ")


def test_parquet_date_in_year_3000(valid_dir: Path) -> None:
    acc = data.load_tables(valid_dir, ["accounts"])["accounts"]
    table = pa.Table.from_pandas(acc, preserve_index=False)
    days = pa.array([dt.date(2023, 1, 5), dt.date(3000, 1, 1), dt.date(2023, 3, 1)], pa.date32())
    table = table.set_column(table.schema.get_field_index("created_at"), "created_at", days)
    pq.write_table(table, valid_dir / "accounts.parquet")
    p = one_problem(valid_dir)
    assert (p.table, p.column, p.count) == ("accounts", "created_at", 1)
    assert "between 1677-09-22 and 2262-04-11" in p.rule and p.examples[0].startswith("row 1:")


@pytest.mark.parametrize(
    "text", ["2023/01/05", "20230105", "05.01.2023", "2023-01-05T23:00:00-05:00"]
)
def test_only_iso_dates_are_dates(valid_dir: Path, text: str) -> None:
    """A time zone in a date column would shift the day (UTC): not a date, reported."""
    replace_in(valid_dir, "subscriptions", "2023-01-05,2023-06-01", f"{text},2023-06-01")
    p = one_problem(valid_dir)
    assert (p.table, p.column, p.rule) == (
        "subscriptions",
        "start_date",
        "must be an ISO date (YYYY-MM-DD)",
    )
    assert p.examples == [f"line 2: {text!r}"]


def test_impossible_calendar_day(valid_dir: Path) -> None:
    replace_in(valid_dir, "subscriptions", "2023-09-10", "2023-13-10")
    assert one_problem(valid_dir).column == "end_date"


def test_zoned_parquet_timestamp_in_a_date_column_keeps_its_day(valid_dir: Path) -> None:
    acc = data.load_tables(valid_dir, ["accounts"])["accounts"]
    acc["created_at"] = acc["created_at"].dt.tz_localize("Asia/Tokyo")  # UTC: the day before
    acc.to_parquet(valid_dir / "accounts.parquet")
    back = data.load_tables(valid_dir, ["accounts"])["accounts"]
    assert back["created_at"].tolist() == [
        pd.Timestamp(d) for d in ["2023-01-05", "2023-02-10", "2023-03-01"]
    ]


def test_timestamps_iso_8601_with_zone_to_utc() -> None:
    frame = pd.DataFrame(
        {
            "opportunity_id": ["o1", "o1", "o1"],
            "changed_at": ["2023-01-05T10:00:00+02:00", "2023-01-05 10:00", "2023-01-06"],
            "stage": ["a", "b", "c"],
        }
    )
    out = data.validate_tables({"opportunity_history": frame})["opportunity_history"]
    assert out["changed_at"].tolist() == [
        pd.Timestamp("2023-01-05 08:00"),
        pd.Timestamp("2023-01-05 10:00"),
        pd.Timestamp("2023-01-06"),
    ]
    frame.loc[1, "changed_at"] = "2023/01/05 10:00"
    with pytest.raises(data.DataValidationError) as info:
        data.validate_tables({"opportunity_history": frame})
    (p,) = info.value.problems
    assert (p.column, p.rule, p.count) == ("changed_at", "must be an ISO-8601 timestamp", 1)


def test_open_end_in_a_stored_timestamp_column_leaves_the_input_alone() -> None:
    stamps = np.array(["2023-01-05T10:00", "9999-12-31T00:00", "NaT"], dtype="datetime64[us]")
    frame = pd.DataFrame(
        {"journey_id": ["j1", "j2", "j3"], "converted": [True, False, False], "revenue": 1.0}
    ).assign(converted_at=stamps)
    out = data.validate_tables({"journeys": frame})["journeys"]
    assert out["converted_at"].isna().tolist() == [False, True, True]
    assert out["converted_at"].iloc[0] == pd.Timestamp("2023-01-05 10:00")
    assert frame["converted_at"].iloc[1] == pd.Timestamp("9999-12-31")  # caller's frame as given


# ----------------------------------------------------------------------------- numbers


@pytest.mark.parametrize("text", ["inf", "Infinity", "-inf", "nan", "1e309", "1e308", "2e15"])
def test_money_must_be_finite_and_bounded(valid_dir: Path, text: str) -> None:
    replace_in(valid_dir, "subscriptions", ",149,", f",{text},")
    p = one_problem(valid_dir)
    assert (p.table, p.column, p.count) == ("subscriptions", "mrr", 1)
    assert p.rule == "must be a finite number between -1e+15 and 1e+15"
    assert p.examples == [f"line 2: {text!r}"]


def test_money_above_the_money_bound(valid_dir: Path) -> None:
    replace_in(valid_dir, "subscriptions", ",149,", ",2e10,")
    p = one_problem(valid_dir)
    assert (p.column, p.rule) == ("mrr", f"must be <= {data.MAX_MONEY:g}")


def test_parquet_boolean_in_money_column(valid_dir: Path) -> None:
    opp = data.load_tables(valid_dir, ["opportunities"])["opportunities"]
    opp["amount"] = [True, False, True]
    opp.to_parquet(valid_dir / "opportunities.parquet")
    p = one_problem(valid_dir)
    assert (p.table, p.column, p.count) == ("opportunities", "amount", 3)
    assert p.rule == "must be a number (true/false is not)"


def test_fraction_in_a_count(valid_dir: Path) -> None:
    replace_in(valid_dir, "accounts", ",120,", ",12.5,")
    p = one_problem(valid_dir)
    assert (p.column, p.rule, p.examples) == (
        "employees",
        "must be a whole number",
        ["line 2: '12.5'"],
    )


def test_parquet_infinite_float(valid_dir: Path) -> None:
    subs = data.load_tables(valid_dir, ["subscriptions"])["subscriptions"]
    subs.loc[2, "mrr"] = np.inf
    subs.to_parquet(valid_dir / "subscriptions.parquet")
    p = one_problem(valid_dir)
    assert (p.column, p.count) == ("mrr", 1) and "finite" in p.rule


# ----------------------------------------------------------------------------- CSV shape


def test_first_data_row_with_one_field_too_many(valid_dir: Path) -> None:
    """pandas would take the first field as the index and shift every column."""
    replace_in(valid_dir, "subscriptions", FIRST_SUB, FIRST_SUB + ",oops")
    p = one_problem(valid_dir)
    assert (p.table, p.column, p.count) == ("subscriptions", None, 1)
    assert "every row must have 7 fields like its header" in p.rule
    assert p.examples == ["line 2: 8 fields"]


def test_row_with_too_few_fields(valid_dir: Path) -> None:
    replace_in(
        valid_dir, "subscriptions", "s4,a3,pro,2023-03-01,,749,", "s4,a3,pro,2023-03-01,,749"
    )
    p = one_problem(valid_dir)
    assert p.examples == ["line 5: 6 fields"]


def test_duplicate_column_names(valid_dir: Path) -> None:
    replace_in(valid_dir, "subscriptions", SUBS_HEADER, SUBS_HEADER.replace("currency", "mrr"))
    p = one_problem(valid_dir)
    assert (p.table, p.column) == ("subscriptions", "mrr")
    assert p.rule == "column name appears 2 times in the header of subscriptions.csv"


def test_empty_file(valid_dir: Path) -> None:
    (valid_dir / "opportunities.csv").write_text("", encoding="utf-8")
    p = one_problem(valid_dir)
    assert (p.table, p.rule) == ("opportunities", "opportunities.csv is empty (no header row)")


def test_not_utf8_names_the_byte(valid_dir: Path) -> None:
    text = (valid_dir / "accounts.csv").read_text(encoding="utf-8").replace("Bolt", "B\xf6lt")
    (valid_dir / "accounts.csv").write_bytes(text.encode("latin-1"))
    p = one_problem(valid_dir)
    offset = text.encode("latin-1").index(b"\xf6")
    assert p.rule.startswith(f"accounts.csv is not UTF-8 text (byte {offset}:")


def test_utf8_byte_order_mark_is_accepted(valid_dir: Path) -> None:
    path = valid_dir / "accounts.csv"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert data.load_tables(valid_dir, ["accounts"])["accounts"].columns[0] == "account_id"


# ----------------------------------------------------------------------------- paths


def test_directory_named_like_a_table(valid_dir: Path) -> None:
    (valid_dir / "subscriptions.csv").unlink()
    (valid_dir / "subscriptions.csv").mkdir()
    p = one_problem(valid_dir)
    assert p.table == "subscriptions" and p.rule.endswith("is a directory, not a table file")


def test_symlink_loop_named_like_a_table(valid_dir: Path) -> None:
    path = valid_dir / "subscriptions.csv"
    path.unlink()
    os.symlink(path, path)
    p = one_problem(valid_dir)
    assert p.table == "subscriptions" and p.rule.endswith("is a symbolic link loop, not a file")


def test_broken_symlink_named_like_a_table(valid_dir: Path) -> None:
    path = valid_dir / "subscriptions.csv"
    path.unlink()
    os.symlink(valid_dir / "gone.csv", path)
    p = one_problem(valid_dir)
    assert "symbolic link to a missing file" in p.rule and "gone.csv" in p.rule


def test_data_dir_that_is_a_file(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    p = one_problem(path)
    assert (p.table, p.rule) == ("(data directory)", f"{path} is a file, not a directory")


def test_data_dir_symlink_loop(tmp_path: Path) -> None:
    path = tmp_path / "loop"
    os.symlink(path, path)
    p = one_problem(path)
    assert p.rule == f"{path} is a symbolic link loop, not a directory"


def test_run_with_a_data_dir_that_is_a_symlink_loop(tmp_path: Path, capsys) -> None:
    loop = tmp_path / "loop"
    os.symlink(loop, loop)
    root = Path(__file__).resolve().parents[2]
    out = tmp_path / "out"
    code = cli.main(
        ["run", "data_overview", "--root", str(root), "--data", str(loop), "--out", str(out)]
    )
    err = capsys.readouterr().err
    assert code == 2 and "symbolic link loop, not a directory" in err and "Traceback" not in err
    assert not out.exists()


# ----------------------------------------------------------------------------- command line


def _extra_field(d: Path) -> None:
    replace_in(d, "subscriptions", FIRST_SUB, FIRST_SUB + ",x")


def _dir_named_csv(d: Path) -> None:
    (d / "subscriptions.csv").unlink()
    (d / "subscriptions.csv").mkdir()


CLI_CASES: dict[str, tuple[Callable[[Path], None], str]] = {
    "date 2300": (
        lambda d: replace_in(d, "subscriptions", "2023-09-10", "2300-01-01"),
        "subscriptions.end_date: must be between 1677-09-22 and 2262-04-11",
    ),
    "money 1e308": (
        lambda d: replace_in(d, "subscriptions", ",149,", ",1e308,"),
        "subscriptions.mrr: must be a finite number",
    ),
    "extra field": (_extra_field, "every row must have 7 fields like its header"),
    "duplicate column": (
        lambda d: replace_in(d, "subscriptions", ",currency\n", ",mrr\n"),
        "subscriptions.mrr: column name appears 2 times",
    ),
    "non-ISO date": (
        lambda d: replace_in(d, "accounts", "2023-02-10", "2023/02/10"),
        "accounts.created_at: must be an ISO date (YYYY-MM-DD) (1 row; e.g. line 3: '2023/02/10')",
    ),
    "directory named csv": (_dir_named_csv, "is a directory, not a table file"),
}


@pytest.mark.parametrize("case", list(CLI_CASES))
def test_cli_validate_exits_2_with_the_problem(
    case: str, valid_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    break_it, message = CLI_CASES[case]
    break_it(valid_dir)
    assert cli.main(["validate", str(valid_dir)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


@pytest.mark.parametrize("case", list(CLI_CASES))
def test_cli_run_exits_2_and_writes_nothing(
    case: str, valid_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    break_it, message = CLI_CASES[case]
    break_it(valid_dir)
    out = tmp_path / "out"
    code = cli.main(["run", "data_overview", "--data", str(valid_dir), "--out", str(out)])
    assert code == 2 and message in capsys.readouterr().err
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]  # no staging left


def test_cli_validate_data_dir_that_is_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "subscriptions.csv"
    path.write_text(SUBS_HEADER + "\n", encoding="utf-8")
    assert cli.main(["validate", str(path)]) == 2
    assert "is a file, not a directory" in capsys.readouterr().err


# ----------------------------------------------------------------------------- extra columns


def test_extra_columns_keep_their_place_and_are_typed_once(valid_dir: Path) -> None:
    path = valid_dir / "accounts.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    extra = [",n,note,blank,x"] + [f",{i},t{i},,{i}.5" for i in range(3)]
    rows = [
        a.split(",", 1)[0] + e + "," + a.split(",", 1)[1] for a, e in zip(lines, extra, strict=True)
    ]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    acc = data.load_tables(valid_dir, ["accounts"])["accounts"]
    assert list(acc.columns[:5]) == ["account_id", "n", "note", "blank", "x"]
    assert acc["n"].tolist() == [0, 1, 2] and acc["n"].dtype == np.int64
    assert acc["x"].tolist() == [0.5, 1.5, 2.5]
    assert str(acc["note"].dtype) == "string" and acc["note"].tolist() == ["t0", "t1", "t2"]
    assert str(acc["blank"].dtype) == "string" and acc["blank"].isna().all()
    assert acc["region"].tolist() == ["NA", "EU", "APAC"]


def test_cli_validate_unknown_table_name(
    valid_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["validate", str(valid_dir), "--tables", "nosuchtable"]) == 2
    err = capsys.readouterr().err
    assert "unknown table(s) 'nosuchtable'" in err and "Traceback" not in err
    assert "the data contract's tables: accounts, subscriptions" in err


def test_cli_run_data_dir_that_is_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "subscriptions.csv"
    path.write_text(SUBS_HEADER + "\n", encoding="utf-8")
    out = tmp_path / "out"
    assert cli.main(["run", "data_overview", "--data", str(path), "--out", str(out)]) == 2
    assert "is a file, not a directory" in capsys.readouterr().err and not out.exists()
