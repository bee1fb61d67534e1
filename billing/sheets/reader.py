"""Reading the data rows of a checked workbook: sheet choice, header, merges, hidden rows.

Rows keep the numbers the user sees in Excel (1-based). A vertically merged cell's value is
copied into every row of the merge, and identifier numbers get back the leading zeros their
number format shows. The reader also records the problems that belong to the sheet rather
than to one field: a header with a missing or repeated column, hidden rows and columns,
formulas without a cached value, cells showing an Excel error, and TOTAL or signature rows.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import python_calamine

from billing.sheets.formats import format_whole_number
from billing.sheets.headers import (
    FIELD_LABELS,
    REQUIRED_TITLES,
    Field,
    HeaderMap,
    SheetType,
    find_header,
    find_incomplete_header,
    fold_header,
)
from billing.sheets.intake import SheetFileError, SheetLayout, Workbook, column_letter
from billing.sheets.result import Problem
from billing.sheets.values import (
    CellError,
    clean_text,
    display_value,
    is_blank,
    parse_amount,
)
from locales import N_, Msg, format_rupiah, msg

T = TypeVar("T")

# The template's hidden sheet with dropdown lists; it is never data.
LISTS_SHEET = "_lists"
# Cells that mark a row below the data as a total, note or signature line, never a bill.
_FOOTER = re.compile(
    r"^(?:grand\s*)?(?:sub\s*)?total\b|^jumlah(?:\s+total)?\s*:?$|^catatan\b|^note[s]?\b"
    r"|^keterangan\s*:|^mengetahui\b|^hormat\s+kami\b|^ttd\b|^tanda\s+tangan\b"
    r"|^kepala\s+sekolah\b|^bendahara\b|^signature\b|^signed\b|^approved\s+by\b"
    r"|^prepared\s+by\b|^dibuat\s+oleh\b|^disetujui\b|^terima\s+kasih\b|^thank\s+you\b",
    re.IGNORECASE,
)
# The label of a total line, compared folded ("SUB-TOTAL:" reads "sub total").
_TOTAL_LABEL = re.compile(
    r"(?:grand |sub ?)?total(?: (?:tagihan|keseluruhan|semua|akhir|bayar|pembayaran|amount|due))?"
    r"|jumlah(?: (?:total|tagihan|keseluruhan|semua|akhir))?|grandtotal|sum"
)
_TOTAL_WORD = re.compile(r"total|jumlah|sum", re.IGNORECASE)
# Columns that name who a row bills: a total line leaves them empty.
PARTY_FIELDS = (Field.CUSTOMER, Field.EMAIL, Field.PHONE, Field.STUDENT, Field.PARENT,
                Field.PARENT_PHONE, Field.PARENT_EMAIL)  # fmt: skip
# Sums on total lines can exceed one bill's limit, so they are read up to this many rupiah.
TOTAL_AMOUNT_LIMIT = 10**15
DEADLINE_CHECK_ROWS = 2000
SHEET_KINDS = {
    SheetType.BILLS: N_("an invoice sheet"),
    SheetType.SCHOOL_BILLS: N_("a student bill sheet"),
    SheetType.CUSTOMERS: N_("a customer list"),
    SheetType.STUDENTS: N_("a student list"),
}
# Columns whose numbers are identifiers, read as the text Excel shows, never as amounts.
IDENTIFIER_FIELDS = (Field.NUMBER, Field.NIS, Field.PHONE, Field.PARENT_PHONE,
                     Field.PARENT2_PHONE)  # fmt: skip
# Rows named in one message before the list is cut short.
LISTED_ROWS = 10


class UnusableCell:
    """Stands in for a cell whose value cannot be read, once the reader has reported it.

    `error` is the Excel error the cell shows ("#REF!"), or None for a formula whose result
    the file does not contain.
    """

    __slots__ = ("error",)

    def __init__(self, error: str | None = None):
        self.error = error

    def __repr__(self) -> str:
        return f"<Excel error {self.error}>" if self.error else "<formula without value>"


FORMULA_WITHOUT_VALUE = UnusableCell()
# The error values Excel shows in a cell in place of a result.
EXCEL_ERRORS = frozenset({"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A",
                          "#GETTING_DATA", "#SPILL!", "#CALC!", "#FIELD!", "#BLOCKED!",
                          "#CONNECT!", "#BUSY!", "#UNKNOWN!"})  # fmt: skip


@dataclass(slots=True)
class DataRow:
    number: int  # Excel row
    cells: list[Any]
    merged: set[int] | None = None  # columns whose value was copied from a merge above
    blocked: bool = False  # a sheet-level error covers the row, so it is never imported


@dataclass
class Problems:
    """Errors and warnings found so far, and the rows that have an error."""

    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    invalid_rows: set[int] = field(default_factory=set)

    def error(self, code: str, message: Msg, *, row: int | None = None, **details: Any) -> None:
        self.errors.append(Problem(code, message, row=row, **details))
        if row is not None:
            self.invalid_rows.add(row)
        for other in details.get("rows", ()):
            self.invalid_rows.add(other)

    def warn(self, code: str, message: Msg, *, row: int | None = None, **details: Any) -> None:
        self.warnings.append(Problem(code, message, row=row, **details))


@dataclass
class SheetData:
    name: str
    header: HeaderMap
    sheet_type: SheetType
    rows: list[DataRow]
    date1904: bool
    layout: SheetLayout


class RowReader:
    """Parse the cells of one row by field, turning CellError into a row error."""

    def __init__(self, data: SheetData, row: DataRow, problems: Problems):
        self.data = data
        self.row = row
        self.problems = problems
        self.failed = row.blocked
        self.columns = data.header.columns
        self.cells = row.cells
        # Most rows have no unusable cell, and then no cell needs the check.
        self.any_unusable = any(isinstance(cell, UnusableCell) for cell in row.cells)

    def column(self, name: Field) -> int | None:
        return self.columns.get(name)

    def raw(self, name: Field) -> Any:
        """Return a field's cell value; an unusable cell (already reported) reads as None."""
        index = self.columns.get(name)
        if index is None:
            return None
        return self.raw_at(index)

    def raw_at(self, index: int) -> Any:
        value = self.cells[index] if index < len(self.cells) else None
        return None if isinstance(value, UnusableCell) else value

    def unusable(self, *names: Field) -> bool:
        """Return whether a field's cell is unusable (already reported), failing the row."""
        for name in names:
            index = self.columns.get(name)
            if index is not None and self._unusable_at(index):
                self.failed = True
                return True
        return False

    def _unusable_at(self, index: int) -> bool:
        if not self.any_unusable:
            return False
        return index < len(self.cells) and isinstance(self.cells[index], UnusableCell)

    def has(self, name: Field) -> bool:
        return not is_blank(self.raw(name))

    def parse(self, name: Field, parser: Callable[[Any], T]) -> T | None:
        index = self.columns.get(name)
        if index is None:
            return None
        return self.parse_at(index, parser)

    def parse_at(self, index: int, parser: Callable[[Any], T]) -> T | None:
        if self._unusable_at(index):
            self.failed = True  # already reported by the reader
            return None
        value = self.cells[index] if index < len(self.cells) else None
        try:
            return parser(value)
        except CellError as error:
            self.fail_at(index, error.code, error.message, value)
            return None

    def fail(self, name: Field, code: str, message: Msg) -> None:
        index = self.column(name)
        if index is None:
            self.failed = True
            self.problems.error(code, message, row=self.row.number)
            return
        self.fail_at(index, code, message, self.raw_at(index))

    def fail_at(self, index: int, code: str, message: Msg, value: Any) -> None:
        self.failed = True
        if self._unusable_at(index):
            return  # the reader reported the cell, so "missing" would only repeat it
        self.problems.error(
            code,
            message,
            row=self.row.number,
            column=self.data.header.title(index),
            value=value,
            cell=f"{column_letter(index + 1)}{self.row.number}",
        )

    def warn(self, name: Field, code: str, message: Msg) -> None:
        index = self.column(name)
        self.problems.warn(
            code,
            message,
            row=self.row.number,
            column=self.data.header.title(index) if index is not None else None,
            value=self.raw_at(index) if index is not None else None,
            cell=f"{column_letter(index + 1)}{self.row.number}" if index is not None else None,
        )


def read_sheet(
    workbook: Workbook,
    filename: str,
    problems: Problems,
    *,
    forced: SheetType | None,
    allowed: set[SheetType],
    max_rows: int,
    deadline: float,
) -> SheetData:
    """Pick the sheet to read and return its data rows; raise SheetFileError when none fits."""
    hidden_match: str | None = None
    any_values = False
    chosen: SheetData | None = None
    # A header of a type this upload does not take, or one that misses a required column.
    unfit: SheetType | None = None
    incomplete: tuple[HeaderMap, SheetType, list[Field]] | None = None
    for layout in workbook.sheets:
        if (layout.name == LISTS_SHEET and layout.hidden) or (chosen and not layout.hidden):
            continue
        sheet, rows = _load_rows(workbook.reader, layout.name, filename, max_rows)
        if not rows:
            continue
        any_values = True
        found = find_header(rows, forced)
        if found is not None and found[1] not in allowed:
            found = None
        if layout.hidden:
            problems.warn(
                "sheet.hidden_sheet",
                msg("Sheet {sheet} is hidden, so it was not read.", sheet=layout.name),
            )
            if found is not None and hidden_match is None:
                hidden_match = layout.name
            continue
        if found is None:
            unfit = unfit or _unfit_kind(rows, allowed)
            incomplete = incomplete or find_incomplete_header(rows, _kinds(forced, allowed))
            continue
        header, kind = found
        _restore_identifiers(rows, header, layout)
        merged = _merged_below(sheet.merged_cell_ranges or [], rows, header.row)
        data_rows = _data_rows(layout, rows, header, merged, problems, deadline)
        _report_hidden_columns(layout, header, data_rows, problems)
        chosen = SheetData(layout.name, header, kind, data_rows, workbook.date1904, layout)
    if chosen is not None:
        _check_duplicate_columns(chosen.header)
        return chosen
    if hidden_match is not None:
        raise SheetFileError(
            "sheet.only_hidden",
            N_(
                "The data in {filename} is on the hidden sheet {sheet}. Unhide the sheet "
                "(right-click a sheet tab > Unhide) and send the file again."
            ),
            filename=filename,
            sheet=hidden_match,
        )
    if not any_values:
        raise SheetFileError(
            "sheet.workbook_empty",
            N_("The workbook {filename} has no values. Fill in the template and send it again."),
            filename=filename,
        )
    if unfit is not None:
        raise _unfit_sheet_error(filename, unfit, allowed)
    if incomplete is not None:
        raise _incomplete_header_error(filename, *incomplete)
    raise SheetFileError(
        "sheet.no_header",
        N_(
            "No header row was found in {filename}. Put the column names from the template "
            "(for example No. Invoice, Nama Pelanggan, Jatuh Tempo) in one row above the data."
        ),
        filename=filename,
    )


def _kinds(forced: SheetType | None, allowed: set[SheetType]) -> list[SheetType]:
    """Return the sheet types this upload may be, bills first."""
    if forced is not None:
        return [forced]
    return [kind for kind in SheetType if kind in allowed]


def _unfit_kind(rows: list[list[Any]], allowed: set[SheetType]) -> SheetType | None:
    """Return the sheet type the rows' header names when the organisation cannot upload it."""
    found = find_header(rows, None)
    if found is None:
        return None
    return None if found[1] in allowed else found[1]


def _unfit_sheet_error(filename: str, kind: SheetType, allowed: set[SheetType]) -> SheetFileError:
    if kind == SheetType.BILLS and SheetType.SCHOOL_BILLS in allowed:
        return SheetFileError(
            "sheet.school_bills_need_nis",
            N_(
                "{filename} has no NIS (student number) column, so its bills cannot be linked "
                "to students. A school bills each student by NIS: get the bill template "
                "(Get a template > Bill template), fill in one row per student and send it "
                "again."
            ),
            filename=filename,
        )
    return SheetFileError(
        "sheet.type_not_allowed",
        N_(
            "{filename} looks like {kind}, which this organisation does not upload. Get the "
            "right template (Get a template), fill it in and send it again."
        ),
        filename=filename,
        kind=msg(SHEET_KINDS[kind]),
    )


def _incomplete_header_error(
    filename: str, header: HeaderMap, kind: SheetType, missing: list[Field]
) -> SheetFileError:
    names = ", ".join(REQUIRED_TITLES[name] for name in missing)
    if len(missing) == 1:
        message = N_("Row {row} is the header, but it has no {columns} column. Add it.")
    else:
        message = N_("Row {row} is the header, but it has no {columns} columns. Add them.")
    return SheetFileError(
        "sheet.header_incomplete", message, row=header.row, columns=names, filename=filename
    )


def _check_duplicate_columns(header: HeaderMap) -> None:
    """Reject a header where two columns name one field, since either could be meant."""
    for name, indexes in header.duplicates.items():
        if name == Field.ROW_NUMBER:
            continue
        labels = [_column_label(header, index) for index in indexes]
        if len(labels) == 2:
            message = N_(
                "Columns {first} and {second} both contain {field}. Which one is {field}? "
                "Rename or delete the other one, then send the file again."
            )
        else:
            message = N_(
                "Columns {columns} all contain {field}. Which one is {field}? Rename or "
                "delete the others, then send the file again."
            )
        raise SheetFileError(
            "sheet.duplicate_column",
            message,
            first=labels[0],
            second=labels[-1],
            columns=", ".join(labels),
            field=msg(FIELD_LABELS[name]),
        )


def _column_label(header: HeaderMap, index: int) -> str:
    return f"{column_letter(index + 1)} ({header.title(index)})"


def _load_rows(
    reader: python_calamine.CalamineWorkbook, name: str, filename: str, max_rows: int
) -> tuple[python_calamine.CalamineSheet, list[list[Any]]]:
    try:
        sheet = reader.get_sheet_by_name(name)
        if sheet.height > max_rows:
            raise SheetFileError(
                "sheet.too_many_rows_plain",
                N_(
                    "Sheet {sheet} in {filename} has {rows} rows; the limit is {limit}. "
                    "Split the rows into several files."
                ),
                filename=filename,
                sheet=name,
                rows=sheet.height,
                limit=max_rows,
            )
        return sheet, sheet.to_python(skip_empty_area=False)
    except python_calamine.CalamineError:
        raise SheetFileError(
            "sheet.file_damaged",
            N_(
                "The file {filename} is damaged or incomplete, so it cannot be opened. "
                "Save it again in Excel as .xlsx and send it again."
            ),
            filename=filename,
        ) from None


def _data_rows(
    layout: SheetLayout,
    rows: list[list[Any]],
    header: HeaderMap,
    merged: dict[int, dict[int, Any]],
    problems: Problems,
    deadline: float,
) -> list[DataRow]:
    key_columns = _key_columns(header)
    used = set(header.columns.values()) | set(header.extra)
    data: list[DataRow] = []
    footer_seen = False
    totals: list[TotalRow] = []
    amount_column = header.columns.get(Field.AMOUNT)
    formula_rows = {row for row, _column in layout.formulas_without_value}
    for index in range(header.row, len(rows)):
        if index % DEADLINE_CHECK_ROWS == 0 and time.monotonic() > deadline:
            raise SheetFileError(
                "sheet.too_slow",
                N_("Reading the sheet took too long. Split the rows into several files."),
            )
        number = index + 1
        cells = rows[index]
        filled = merged.get(number)
        if filled:
            cells = list(cells)
            for column, value in filled.items():
                if column < len(cells):
                    cells[column] = value
        cells = _mark_excel_errors(layout, number, cells, used)
        if all(_blank_cell(cell) for cell in cells):
            continue
        key_blank = all(_blank_cell(cells[c]) for c in key_columns if c < len(cells))
        label = _total_label(cells, header, key_columns, key_blank=key_blank)
        if label is not None:
            footer_seen = True
            totals.append(TotalRow(number, label, _cell(cells, amount_column), len(data)))
            problems.warn(
                "sheet.footer_row",
                msg(
                    "Row {row} is a total line ({label}), so it was not billed.",
                    row=number,
                    label=label,
                ),
                row=number,
            )
            continue
        if _is_footer_row(cells, header, key_columns, key_blank=key_blank, after=footer_seen):
            footer_seen = True
            problems.warn(
                "sheet.footer_row",
                msg(
                    "Row {row} looks like a total, note or signature line, so it was not billed.",
                    row=number,
                ),
                row=number,
            )
            continue
        if number in layout.hidden_rows:
            problems.error(
                "sheet.hidden_row",
                msg(
                    "Row {row} is hidden. Unhide it and check it, or delete it if it should "
                    "not be billed.",
                    row=number,
                ),
                row=number,
            )
            # Kept but blocked, so an invoice with a hidden line fails as a whole.
            data.append(DataRow(number, cells, set(filled) if filled else None, blocked=True))
            continue
        unusable = False
        if number in formula_rows or any(isinstance(cell, UnusableCell) for cell in cells):
            cells, unusable = _report_unusable(layout, number, cells, header, used, problems)
        data.append(DataRow(number, cells, set(filled) if filled else None, blocked=unusable))
    _report_totals(totals, data, amount_column, problems)
    return data


@dataclass(slots=True)
class TotalRow:
    """A TOTAL or SUBTOTAL line among the data: never billed, its amount checked."""

    number: int  # Excel row
    label: str  # the cell text that marks it, as written
    amount: Any  # the value in the amount column, or None
    above: int  # how many data rows come before it


def _total_label(
    cells: list[Any], header: HeaderMap, key_columns: list[int], *, key_blank: bool
) -> str | None:
    """Return the label of a total line ("TOTAL", "Sub Total", "Jumlah Tagihan"), or None.

    With an empty key (invoice number or NIS), any cell may carry the label. Otherwise
    every filled key cell must be a label and the name and contact columns must be empty, so
    an invoice really numbered "TOTAL" for a named customer is still billed.
    """
    if key_blank:
        return next((clean_text(cell) for cell in cells if _is_total_label(cell)), None)
    keys = [cells[c] for c in key_columns if c < len(cells) and not _blank_cell(cells[c])]
    if not all(_is_total_label(cell) for cell in keys):
        return None
    if not _party_blank(cells, header):
        return None
    return clean_text(keys[0])


def _is_footer_row(
    cells: list[Any], header: HeaderMap, key_columns: list[int], *, key_blank: bool, after: bool
) -> bool:
    """Return whether a row is a note or signature line ("Hormat kami,", "Bendahara").

    A row with an empty key is one when it carries such a label or follows one. A row with
    a key is one only when no name, contact, number or date is in it, and its key cell
    carries the label or the row follows a footer line.
    """
    if key_blank:
        return after or _is_footer(cells)
    if not _party_blank(cells, header):
        return False
    if not all(isinstance(cell, str) or _blank_cell(cell) for cell in cells):
        return False
    keys = [cells[c] for c in key_columns if c < len(cells)]
    return after or _is_footer(keys)


def _party_blank(cells: list[Any], header: HeaderMap) -> bool:
    """Return whether the columns naming who a row bills are all empty."""
    for name in PARTY_FIELDS:
        index = header.columns.get(name)
        if index is not None and not _blank_cell(_cell(cells, index)):
            return False
    return True


def _is_total_label(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    # Folding costs more than the rest of a row's checks; ASCII text without the words
    # cannot fold into a label, so it is skipped before folding.
    if value.isascii() and _TOTAL_WORD.search(value) is None:
        return False
    return _TOTAL_LABEL.fullmatch(fold_header(value)) is not None


def _cell(cells: list[Any], index: int | None) -> Any:
    return cells[index] if index is not None and index < len(cells) else None


def _report_totals(
    totals: list[TotalRow], data: list[DataRow], amount_column: int | None, problems: Problems
) -> None:
    """Warn about each total line whose amount is not the sum of the amounts above it.

    A total may cover the rows since the previous total (a subtotal) or all rows above it
    (a grand total), so either sum matches. Rows whose amount is blank or not a number
    leave nothing to compare.
    """
    start = 0
    for total in totals:
        section = _sum_amounts(data[start : total.above], amount_column)
        overall = _sum_amounts(data[: total.above], amount_column)
        stated = _amount_or_none(total.amount)
        start = total.above
        if stated is None or section is None or stated in (section, overall):
            continue
        problems.warn(
            "sheet.total_mismatch",
            msg(
                "The total {stated} in row {row} is not the sum of the amounts above it, "
                "{sum}. Check the amounts: the total line itself is not billed.",
                stated=format_rupiah(stated),
                row=total.number,
                sum=format_rupiah(section),
            ),
            row=total.number,
            value=total.amount,
        )


def _sum_amounts(rows: list[DataRow], column: int | None) -> int | None:
    """Return the sum of the rows' amounts, or None when one of them is not an amount."""
    if column is None or not rows:
        return None
    amounts = [_amount_or_none(_cell(row.cells, column)) for row in rows]
    if any(amount is None for amount in amounts):
        return None
    return sum(amount for amount in amounts if amount is not None)


def _amount_or_none(value: Any) -> int | None:
    if isinstance(value, UnusableCell) or is_blank(value):
        return None
    try:
        return parse_amount(value, maximum=TOTAL_AMOUNT_LIMIT)
    except CellError:
        return None


def _restore_identifiers(rows: list[list[Any]], header: HeaderMap, layout: SheetLayout) -> None:
    """Replace identifier numbers below the header with the text their number format shows.

    A phone stored as 81234567890 in a cell formatted "0###########" reads "081234567890",
    and a NIS stored as 812345 formatted "000000000" reads "000812345".
    """
    if not layout.display_formats:
        return
    for name in IDENTIFIER_FIELDS:
        index = header.columns.get(name)
        formats = layout.display_formats.get(index + 1) if index is not None else None
        if index is None or not formats:
            continue
        for number, code in formats.items():
            if number <= header.row or number > len(rows) or index >= len(rows[number - 1]):
                continue
            value = rows[number - 1][index]
            if isinstance(value, bool) or not isinstance(value, int | float):
                continue
            if not float(value).is_integer():
                continue
            text = format_whole_number(int(value), code)
            if text is not None:
                rows[number - 1][index] = text


def _report_hidden_columns(
    layout: SheetLayout, header: HeaderMap, data: list[DataRow], problems: Problems
) -> None:
    """Report each hidden column that contains values in data rows, and block those rows.

    A hidden column is read like any other, so its values would be imported (or ignored)
    without anyone seeing them. Hidden columns without values below the header pass.
    """
    if not layout.hidden_columns or not data:
        return
    width = max(len(row.cells) for row in data)
    for column in sorted(c for c in layout.hidden_columns if c <= width):
        index = column - 1
        rows = [
            row
            for row in data
            if row.number not in layout.hidden_rows and _has_value(layout, row, index)
        ]
        if not rows:
            continue
        for row in rows:
            row.blocked = True
        letter = column_letter(column)
        title = header.title(index)
        numbers = [row.number for row in rows]
        label = f"{letter} ({title})" if title else letter
        if len(numbers) == 1:
            message = msg(
                "Column {column} is hidden but contains a value in row {row}. Unhide it and "
                "check it, or delete it if its values should not be imported.",
                column=label,
                row=numbers[0],
            )
        else:
            message = msg(
                "Column {column} is hidden but contains values in {count} rows: {rows}. Unhide "
                "it and check it, or delete it if its values should not be imported.",
                column=label,
                count=len(numbers),
                rows=_row_list(numbers),
            )
        problems.error(
            "sheet.hidden_column",
            message,
            row=numbers[0],
            column=title or None,
            cell=f"{letter}{numbers[0]}",
            rows=numbers,
        )


def _has_value(layout: SheetLayout, row: DataRow, index: int) -> bool:
    if index < len(row.cells) and not _blank_cell(row.cells[index]):
        return True
    return (row.number, index + 1) in layout.formulas_without_value


def _row_list(numbers: list[int]) -> str:
    shown = ", ".join(str(number) for number in numbers[:LISTED_ROWS])
    return shown + (", …" if len(numbers) > LISTED_ROWS else "")


def _key_columns(header: HeaderMap) -> list[int]:
    """Columns that identify a row: blank in all of them, a row may be a total or note line."""
    for names in ((Field.NUMBER,), (Field.NIS,), (Field.CUSTOMER, Field.STUDENT)):
        found = [header.columns[name] for name in names if name in header.columns]
        if found:
            return found
    return []


def _blank_cell(value: Any) -> bool:
    return not isinstance(value, UnusableCell) and is_blank(value)


def _is_footer(cells: list[Any]) -> bool:
    return any(isinstance(cell, str) and _FOOTER.search(clean_text(cell)) for cell in cells)


def _mark_excel_errors(
    layout: SheetLayout, number: int, cells: list[Any], used: set[int]
) -> list[Any]:
    """Replace the cells of used columns that show an Excel error with an UnusableCell.

    python-calamine 0.9.1 reads an error cell (t="e") as "", so the codes come from the
    worksheet scan. Text that is exactly an error code counts too, as Excel turns typed
    "#N/A" into the error itself.
    """
    scanned = layout.error_cells.get(number, {})
    marked = cells
    for column in used:
        code = scanned.get(column + 1)
        value = cells[column] if column < len(cells) else None
        if code is None and isinstance(value, str) and "#" in value[:8]:
            text = clean_text(value).upper()
            code = text if text in EXCEL_ERRORS else None
        if code is None or column >= len(cells):
            continue
        if marked is cells:
            marked = list(cells)
        marked[column] = UnusableCell(code)
    return marked


def _report_unusable(
    layout: SheetLayout,
    number: int,
    cells: list[Any],
    header: HeaderMap,
    used: set[int],
    problems: Problems,
) -> tuple[list[Any], bool]:
    """Report each used cell with an Excel error or a formula without a cached value.

    Returns the cells, formulas marked FORMULA_WITHOUT_VALUE, and whether any was found:
    such a row is never imported.
    """
    marked = cells
    found = False
    for column in sorted(used):
        cell = f"{column_letter(column + 1)}{number}"
        value = cells[column] if column < len(cells) else None
        if isinstance(value, UnusableCell) and value.error:
            found = True
            problems.error(
                "sheet.excel_error",
                msg(
                    "Cell {cell} shows the Excel error {error}. Fix the formula, or type the "
                    "value.",
                    cell=cell,
                    error=value.error,
                ),
                row=number,
                column=header.title(column),
                value=value.error,
                cell=cell,
            )
        elif (number, column + 1) in layout.formulas_without_value:
            found = True
            if marked is cells:
                marked = list(cells)
            if column < len(marked):
                marked[column] = FORMULA_WITHOUT_VALUE
            problems.error(
                "sheet.formula_without_value",
                msg(
                    "Cell {cell} holds a formula whose result was not saved in the file. "
                    "Open the file in Excel, let it calculate, save it and send it again, "
                    "or type the value.",
                    cell=cell,
                ),
                row=number,
                column=header.title(column),
                cell=cell,
            )
    return marked, found


def _merged_below(
    ranges: list[tuple[tuple[int, int], tuple[int, int]]], rows: list[list[Any]], header_row: int
) -> dict[int, dict[int, Any]]:
    """Return, per Excel row, the values that merged ranges below the header copy into it."""
    relevant = [r for r in ranges if r[1][0] + 1 > header_row and r[1][0] > r[0][0]]
    if not relevant:
        return {}
    filled: dict[int, dict[int, Any]] = {}
    for (top, left), (bottom, right) in relevant:
        if top >= len(rows) or left >= len(rows[top]):
            continue
        value = rows[top][left]
        for row in range(max(top, header_row), bottom + 1):
            for column in range(left, right + 1):
                if row != top or column != left:
                    filled.setdefault(row + 1, {})[column] = value
    return filled


def value_for_json(value: Any) -> Any:
    if isinstance(value, UnusableCell):
        return value.error
    return display_value(value)


def iter_with_deadline(rows: list[DataRow], deadline: float) -> Iterator[DataRow]:
    for count, row in enumerate(rows):
        if count % DEADLINE_CHECK_ROWS == 0 and time.monotonic() > deadline:
            raise SheetFileError(
                "sheet.too_slow",
                N_("Reading the sheet took too long. Split the rows into several files."),
            )
        yield row
