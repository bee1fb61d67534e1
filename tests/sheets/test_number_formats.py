"""Identifier numbers keep the leading zeros that only their number format shows."""

from __future__ import annotations

import pytest

from billing.sheets.formats import format_whole_number
from billing.sheets.intake import open_workbook
from tagih.settings import Settings
from tests.sheets.conftest import BILL_HEADER, bill_row, read, rewrite_member, xlsx

STUDENTS_HEADER = ["NIS", "Nama Siswa", "Kelas", "Nama Orang Tua", "No. HP Orang Tua"]


def _formats(**by_cell: str):  # type: ignore[no-untyped-def]
    def edit(workbook, sheet):  # type: ignore[no-untyped-def]
        for cell, code in by_cell.items():
            sheet[cell].number_format = code

    return edit


@pytest.mark.parametrize(
    ("value", "code", "shown"),
    [
        (812345, "000000000", "000812345"),
        (812345, "0000000000", "0000812345"),
        (1234567890, "000000000", "1234567890"),
        (81234567890, "0###########", "081234567890"),
        (812345678901, "0###########", "812345678901"),
        (81234567890, '"0"#', "081234567890"),
        (81234567890, "\\0#", "081234567890"),
        (12, '"INV-"0000', "INV-0012"),
        (8123456789, "0###-####-###", "0812-3456-789"),
        (812, "[Blue]00000;[Red]-00000", "00812"),
        (0, "0000", "0000"),
    ],
)
def test_format_whole_number(value: int, code: str, shown: str) -> None:
    assert format_whole_number(value, code) == shown


@pytest.mark.parametrize(
    "code", ["0.00", "#,##0", "0%", "dd/mm/yyyy", "@", "General", "0.0E+00", "[>99]000;0", '"Rp"0']
)
def test_format_whole_number_other_formats(code: str) -> None:
    result = format_whole_number(812345, code)
    assert result is None or not result.startswith("0")


def test_format_whole_number_rejects_negative() -> None:
    assert format_whole_number(-5, "0000") is None


def test_invoice_number_keeps_zeros() -> None:
    rows = [BILL_HEADER, bill_row(1002), bill_row(12, "Siti Rahma")]
    result = read(xlsx(rows, edit=_formats(D2="000000", D3='"INV-"0000')))
    assert result.ok, [problem.to_json("en") for problem in result.errors]
    assert [invoice.draft.number for invoice in result.invoices] == ["001002", "INV-0012"]


def test_phone_format_with_leading_zero() -> None:
    rows = [BILL_HEADER, bill_row("INV-1", phone=81234567890)]
    result = read(xlsx(rows, edit=_formats(C2="0###########")))
    assert result.ok, [problem.to_json("en") for problem in result.errors]
    assert result.invoices[0].draft.phone == "+6281234567890"


def test_phone_problem_shows_formatted_value() -> None:
    rows = [BILL_HEADER, bill_row("INV-1", phone=812345)]
    result = read(xlsx(rows, edit=_formats(C2="0000000")))
    assert [(p.code, p.value) for p in result.errors] == [("phone.too_short", "0812345")]


def test_amount_format_ignored() -> None:
    rows = [BILL_HEADER, bill_row("INV-1", amount=350000)]
    result = read(xlsx(rows, edit=_formats(G2="000000000")))
    assert result.ok, [problem.to_json("en") for problem in result.errors]
    assert result.total == 350000


def test_student_number_keeps_zeros() -> None:
    rows = [
        STUDENTS_HEADER,
        [812345, "Ani Lestari", "4A", "Ibu Sari", "081311110001"],
        ["0000812346", "Bima Lestari", "2B", "Ibu Sari", "081311110001"],
        [812347, "Citra Dewi", "1A", "Pak Dewa", 81311110002],
    ]
    edit = _formats(A2="0000000000", A4="0000000000", E4="0###########")
    result = read(xlsx(rows, edit=edit))
    assert result.ok, [problem.to_json("en") for problem in result.errors]
    assert [student.nis for student in result.students] == [
        "0000812345",
        "0000812346",
        "0000812347",
    ]
    assert result.students[2].parents[0].phone == "+6281311110002"


def test_fraction_left_alone() -> None:
    rows = [BILL_HEADER, bill_row(1002.5)]
    result = read(xlsx(rows, edit=_formats(D2="000000")))
    assert result.invoices[0].draft.number == "1002.5"


def test_only_formatted_numbers_recorded() -> None:
    """A column formatted far below the data lists only the cells that contain a number."""

    def edit(workbook, sheet):  # type: ignore[no-untyped-def]
        for row in range(2, 3000):
            sheet.cell(row=row, column=4).number_format = "000000"

    rows = [BILL_HEADER, bill_row(1002), bill_row("001003"), bill_row(1004)]
    content = xlsx(rows, edit=edit)
    workbook = open_workbook("a.xlsx", content, Settings(_env_file=None))
    assert workbook.sheets[0].display_formats == {4: {2: "000000", 4: "000000"}}
    result = read(content)
    assert [invoice.draft.number for invoice in result.invoices] == ["001002", "001003", "001004"]


def test_default_style_with_zero_format() -> None:
    """Cells without a style attribute use cell style 0, which may carry a format too."""

    def format_style_zero(styles: bytes) -> bytes:
        styles = styles.replace(
            b"<fonts",
            b'<numFmts count="1"><numFmt numFmtId="170" formatCode="000000"/></numFmts><fonts',
            1,
        )
        first = styles.index(b'numFmtId="0"', styles.index(b"<cellXfs"))
        return styles[:first] + b'numFmtId="170"' + styles[first + len(b'numFmtId="0"') :]

    content = xlsx([BILL_HEADER, bill_row(1002)])
    result = read(rewrite_member(content, "xl/styles.xml", format_style_zero))
    assert result.invoices[0].draft.number == "001002"
    # The due date and the amount keep their values: the format only touches identifiers.
    assert result.total == 350000
