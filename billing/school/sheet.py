"""Reading the school's own small sheets (staff, calendar events) with python-calamine."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from python_calamine import CalamineError

from billing.errors import UserError
from billing.sheets.intake import open_workbook
from locales import N_, Msg
from tagih.settings import get_settings

# The header may sit below title rows, so this many first rows are searched for it.
HEADER_SEARCH_ROWS = 15
MAX_ROWS = 5000
EXCEL_EPOCH = dt.date(1899, 12, 30)


@dataclass
class SheetRow:
    row: int  # the row number the user sees in Excel
    values: dict[str, Any]


@dataclass
class RowProblem:
    row: int
    column: str
    value: str
    message: Msg


@dataclass
class SheetResult:
    created: int = 0
    updated: int = 0
    problems: list[RowProblem] = field(default_factory=list)


class SheetRejected(UserError):
    """A sheet with problem rows: nothing of it may be saved, so the caller rolls back."""

    def __init__(self, result: SheetResult):
        super().__init__(
            "school.sheet_rejected",
            N_("Nothing was saved. Rows with problems: {count}."),
            count=len(result.problems),
        )
        self.result = result


def fold_header(value: object) -> str:
    return " ".join(str(value or "").replace("\n", " ").split()).casefold()


def read_rows(
    content: bytes,
    aliases: dict[str, set[str]],
    required: set[str],
    *,
    filename: str = "sheet.xlsx",
) -> list[SheetRow]:
    """Read the first visible sheet and map each visible data row to field names by header.

    aliases maps a field name to the folded headers that mean it, in both languages. The
    file passes the same safety checks as bill sheets (size, zip directory, damage,
    password) before any parsing. Raise UserError when it is unusable or a required
    column is missing.
    """
    workbook = open_workbook(filename, content, get_settings())
    layout = next((sheet for sheet in workbook.sheets if not sheet.hidden), None)
    if layout is None:
        raise UserError("school.sheet_empty", "The workbook has no visible sheet.")
    try:
        grid = workbook.reader.get_sheet_by_name(layout.name).to_python(skip_empty_area=False)
    except CalamineError as error:
        raise UserError(
            "school.sheet_unreadable",
            "The file could not be read as a spreadsheet ({reason}). Save it as .xlsx and "
            "send it again.",
            reason=type(error).__name__,
        ) from error
    header_index, columns = _find_header(grid, aliases)
    missing = sorted(required - set(columns.values()))
    if header_index is None or missing:
        raise UserError(
            "school.sheet_columns_missing",
            "The sheet has no column for: {columns}. Use the headers of the template.",
            columns=", ".join(missing or sorted(required)),
        )
    rows = []
    for index in range(header_index + 1, min(len(grid), header_index + 1 + MAX_ROWS)):
        if index + 1 in layout.hidden_rows:
            continue
        values = {
            name: grid[index][col] for col, name in columns.items() if col < len(grid[index])
        }
        if all(value in ("", None) for value in values.values()):
            continue
        rows.append(SheetRow(index + 1, values))
    return rows


def _find_header(
    grid: list[list[Any]], aliases: dict[str, set[str]]
) -> tuple[int | None, dict[int, str]]:
    best: tuple[int | None, dict[int, str]] = (None, {})
    for index, row in enumerate(grid[:HEADER_SEARCH_ROWS]):
        columns: dict[int, str] = {}
        for col, cell in enumerate(row):
            folded = fold_header(cell)
            for name, names in aliases.items():
                if folded in names and name not in columns.values():
                    columns[col] = name
        if len(columns) > len(best[1]):
            best = (index, columns)
    return best


def cell_text(value: Any) -> str:
    """Return a cell as the text the user sees: 812345 stays "812345", never "812345.0"."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return " ".join(str(value).split())


_DAY_FIRST = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})")
_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")


def cell_date(value: Any) -> dt.date | None:
    """Read a date cell: a real date, an Excel serial (1900 system) or day-first text.

    Return None for anything else, so the caller reports the row.
    """
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < 2958466:
        return EXCEL_EPOCH + dt.timedelta(days=int(value))
    text = cell_text(value)
    try:
        if match := _DAY_FIRST.fullmatch(text):
            day, month, year = (int(part) for part in match.groups())
            return dt.date(year, month, day)
        if match := _ISO.fullmatch(text):
            year, month, day = (int(part) for part in match.groups())
            return dt.date(year, month, day)
    except ValueError:
        return None
    return None


def cell_time(value: Any) -> dt.time | None | bool:
    """Read a time cell ("07:30", "7.30", a time, or an Excel day fraction).

    Return None for an empty cell and False for a value that is not a time.
    """
    if value in (None, ""):
        return None
    if isinstance(value, dt.time):
        return value.replace(second=0, microsecond=0)
    if isinstance(value, dt.datetime):
        return value.time().replace(second=0, microsecond=0)
    if isinstance(value, float) and 0 <= value < 1:
        minutes = round(value * 24 * 60)
        return dt.time(minutes // 60, minutes % 60)
    match = re.fullmatch(r"(\d{1,2})[:.](\d{2})", cell_text(value))
    if match and int(match[1]) < 24 and int(match[2]) < 60:
        return dt.time(int(match[1]), int(match[2]))
    return False
