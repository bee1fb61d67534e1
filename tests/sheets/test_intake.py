"""Files that are not usable .xlsx workbooks, and workbook features that hide data."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile

import pytest
from openpyxl.utils.datetime import CALENDAR_MAC_1904

from tests.sheets.conftest import BILL_HEADER, bill_row, read, rewrite_member, xlsx

CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _compound_file(*stream_names: str) -> bytes:
    """The start of an OLE compound file naming the given streams in its directory.

    Only the magic number and the UTF-16 stream names matter to the intake check, so the
    rest of each sector is left zero.
    """
    header = CFB_MAGIC + bytes(504)
    directory = b"".join(name.encode("utf-16-le").ljust(128, b"\x00") for name in stream_names)
    return header + directory.ljust(512, b"\x00")


def _baseline() -> bytes:
    return xlsx([BILL_HEADER, bill_row("INV-1"), bill_row("INV-2", "Siti Rahma")])


def _rewrite_sheet(content: bytes, change) -> bytes:  # type: ignore[no-untyped-def]
    """Return a copy of an .xlsx whose first worksheet XML went through `change`."""
    return rewrite_member(content, "xl/worksheets/sheet1.xml", change)


@pytest.mark.parametrize(
    ("content", "code", "words"),
    [
        (b"", "sheet.file_empty", "empty"),
        (b"Nama,No. HP,Jumlah\nBudi,0812,1000\n", "sheet.file_format", "CSV"),
        (b"Nama;Jumlah\r\nBudi;1000\r\n", "sheet.file_format", "CSV"),
        (b"<html><body><table><tr><td>x</td></tr></table></body></html>", "sheet.file_format",
         "HTML"),
        (_compound_file("Root Entry", "Workbook"), "sheet.file_format", ".xls"),
        (_compound_file("Root Entry", "EncryptionInfo", "EncryptedPackage"),
         "sheet.file_password", "password"),
        (b"\x89PNG\r\n\x1a\n" + bytes(100), "sheet.file_not_spreadsheet", "not a spreadsheet"),
        (b"%PDF-1.7\n1 0 obj, 2 0 obj\n", "sheet.file_format", "PDF"),
    ],
)  # fmt: skip
def test_not_xlsx_rejected(content: bytes, code: str, words: str) -> None:
    result = read(content, "tagihan.xlsx")
    assert result.file_error is not None
    assert result.file_error.code == code
    text = result.file_error.message.render("en")
    assert words in text
    assert "tagihan.xlsx" in text
    assert result.file_error.message.render("id") != text


def test_ods_renamed_rejected() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", "<office:document-content/>")
    result = read(buffer.getvalue())
    assert result.file_error is not None
    assert result.file_error.code == "sheet.file_format"
    assert ".ods" in result.file_error.message.render("en")


def test_truncated_file_rejected() -> None:
    content = _baseline()
    result = read(content[: len(content) // 2])
    assert result.file_error is not None
    assert result.file_error.code == "sheet.file_damaged"


def test_corrupted_member_rejected() -> None:
    content = bytearray(_baseline())
    start = content.find(b"xl/worksheets/sheet1.xml") + 40
    content[start : start + 30] = bytes(30)
    result = read(bytes(content))
    assert result.file_error is not None
    assert result.file_error.code == "sheet.file_damaged"


def test_zip_bomb_rejected_before_parsing() -> None:
    padding = b" " * (40 * 1024 * 1024)
    content = _rewrite_sheet(
        _baseline(), lambda xml: xml.replace(b"</sheetData>", padding + b"</sheetData>")
    )
    assert len(content) < 1024 * 1024
    result = read(content)
    assert result.file_error is not None
    assert result.file_error.code == "sheet.file_unsafe"


def test_uncompressed_total_limit() -> None:
    result = read(_baseline(), sheet_max_uncompressed_bytes=2000)
    assert result.file_error is not None
    assert result.file_error.code == "sheet.file_unsafe"


def test_file_size_limit() -> None:
    result = read(_baseline(), sheet_max_file_bytes=1000)
    assert result.file_error is not None
    assert result.file_error.code == "sheet.file_too_large"


def test_empty_workbook_rejected() -> None:
    result = read(xlsx([]))
    assert result.file_error is not None
    assert result.file_error.code == "sheet.workbook_empty"


def test_header_only_rejected() -> None:
    result = read(xlsx([["Daftar tagihan"], BILL_HEADER]))
    assert result.file_error is not None
    assert result.file_error.code == "sheet.no_rows"
    assert "2" in result.file_error.message.render("en")


def test_no_header_rejected() -> None:
    result = read(xlsx([["a", "b"], ["c", "d"]]))
    assert result.file_error is not None
    assert result.file_error.code == "sheet.no_header"


def test_hidden_sheet_never_read() -> None:
    def edit(workbook, sheet):  # type: ignore[no-untyped-def]
        hidden = workbook.create_sheet("Arsip")
        hidden.append(BILL_HEADER)
        hidden.append(bill_row("OLD-1"))
        hidden.sheet_state = "hidden"

    result = read(xlsx([BILL_HEADER, bill_row("INV-1")], edit=edit))
    assert [invoice.draft.number for invoice in result.invoices] == ["INV-1"]
    assert [problem.code for problem in result.warnings] == ["sheet.hidden_sheet"]
    assert "Arsip" in result.warnings[0].message.render("en")


def test_data_only_on_hidden_sheet_rejected() -> None:
    def edit(workbook, sheet):  # type: ignore[no-untyped-def]
        sheet.sheet_state = "hidden"
        workbook.create_sheet("Kosong")
        workbook.active = 1

    result = read(xlsx([BILL_HEADER, bill_row("INV-1")], edit=edit))
    assert result.file_error is not None
    assert result.file_error.code == "sheet.only_hidden"


def test_hidden_row_reported_not_billed() -> None:
    def edit(workbook, sheet):  # type: ignore[no-untyped-def]
        sheet.row_dimensions[3].hidden = True

    rows = [BILL_HEADER, bill_row("INV-1"), bill_row("INV-2", "Siti Rahma"), bill_row("INV-3")]
    result = read(xlsx(rows, edit=edit))
    assert [invoice.draft.number for invoice in result.invoices] == ["INV-1", "INV-3"]
    assert [(problem.code, problem.row) for problem in result.errors] == [("sheet.hidden_row", 3)]


def test_total_and_signature_rows_not_billed() -> None:
    rows = [
        BILL_HEADER,
        bill_row("INV-1"),
        bill_row("INV-2", "Siti Rahma"),
        [None] * 7,
        ["TOTAL", None, None, None, None, None, 700000],
        ["Mengetahui,", None, None, None, None, None, None],
        ["Kepala Sekolah", None, None, None, None, None, None],
    ]
    result = read(xlsx(rows))
    assert result.ok
    assert result.total == 700000
    assert [problem.row for problem in result.warnings] == [5, 6, 7]
    assert {problem.code for problem in result.warnings} == {"sheet.footer_row"}


def test_formula_without_cached_value_reported() -> None:
    rows = [BILL_HEADER, bill_row("INV-1", amount="=100000*3"), bill_row("INV-2", "Siti Rahma")]
    result = read(xlsx(rows))
    assert [invoice.draft.number for invoice in result.invoices] == ["INV-2"]
    assert [(problem.code, problem.cell) for problem in result.errors] == [
        ("sheet.formula_without_value", "G2")
    ]


def test_formula_cached_value_used() -> None:
    def add_cache(xml: bytes) -> bytes:
        # openpyxl writes the empty cached value as <v /> or, with lxml, as <v></v>.
        return re.sub(rb"<f>100000\*3</f><v ?/>|<f>100000\*3</f><v></v>",
                      b"<f>100000*3</f><v>300000</v>", xml)  # fmt: skip

    rows = [BILL_HEADER, bill_row("INV-1", amount="=100000*3")]
    result = read(_rewrite_sheet(xlsx(rows), add_cache))
    assert result.ok, [problem.to_json("en") for problem in result.errors]
    assert result.total == 300000


def test_date_serials_1904_system() -> None:
    serial_1904 = (dt.date(2031, 3, 15) - dt.date(1904, 1, 1)).days

    def edit(workbook, sheet):  # type: ignore[no-untyped-def]
        workbook.epoch = CALENDAR_MAC_1904

    rows = [
        BILL_HEADER,
        bill_row("INV-1", due=serial_1904),
        bill_row("INV-2", due=dt.date(2031, 3, 16)),
    ]
    result = read(xlsx(rows, edit=edit))
    assert result.ok, [problem.to_json("en") for problem in result.errors]
    assert [invoice.draft.due_date for invoice in result.invoices] == [
        dt.date(2031, 3, 15),
        dt.date(2031, 3, 16),
    ]


def test_date_serials_1900_system() -> None:
    rows = [BILL_HEADER, bill_row("INV-1", due=47922)]
    result = read(xlsx(rows))
    assert result.invoices[0].draft.due_date == dt.date(2031, 3, 15)


def test_declared_million_rows_ignored() -> None:
    def declare(xml: bytes) -> bytes:
        return re.sub(rb'<dimension ref="[^"]+"', b'<dimension ref="A1:XFD1048576"', xml)

    result = read(_rewrite_sheet(_baseline(), declare))
    assert result.ok
    assert len(result.invoices) == 2


def test_stray_value_far_below_rejected() -> None:
    def edit(workbook, sheet):  # type: ignore[no-untyped-def]
        sheet["A1048576"] = "x"

    result = read(xlsx([BILL_HEADER, bill_row("INV-1")], edit=edit))
    assert result.file_error is not None
    assert result.file_error.code == "sheet.too_many_rows"
    assert "1048576" in result.file_error.message.render("en")


def test_too_many_columns_rejected() -> None:
    def edit(workbook, sheet):  # type: ignore[no-untyped-def]
        sheet["ZZ2"] = "x"

    result = read(xlsx([BILL_HEADER, bill_row("INV-1")], edit=edit))
    assert result.file_error is not None
    assert result.file_error.code == "sheet.too_many_columns"


def test_row_limit_from_settings() -> None:
    rows = [BILL_HEADER] + [bill_row(f"INV-{n}") for n in range(10)]
    result = read(xlsx(rows), sheet_max_rows=5)
    assert result.file_error is not None
    assert result.file_error.code == "sheet.too_many_rows"


def test_parse_time_limit() -> None:
    rows = [BILL_HEADER] + [bill_row(f"INV-{n}") for n in range(10)]
    result = read(xlsx(rows), sheet_max_parse_seconds=0)
    assert result.file_error is not None
    assert result.file_error.code == "sheet.too_slow"


def test_merged_continuation_cells() -> None:
    def edit(workbook, sheet):  # type: ignore[no-untyped-def]
        for column in "ABCDE":
            sheet.merge_cells(f"{column}2:{column}4")

    rows = [
        BILL_HEADER,
        bill_row("INV-7", product="Kertas A4", amount=55000),
        [None, None, None, None, None, "Tinta", 95000],
        [None, None, None, None, None, "Map", 18000],
        bill_row("INV-8", "Siti Rahma"),
    ]
    result = read(xlsx(rows, edit=edit))
    assert result.ok, [problem.to_json("en") for problem in result.errors]
    invoices = {invoice.draft.number: invoice.draft for invoice in result.invoices}
    assert invoices["INV-7"].total == 55000 + 95000 + 18000
    assert invoices["INV-7"].source_rows == [2, 3, 4]
    assert invoices["INV-7"].customer_name == "Budi Santoso"
    assert invoices["INV-8"].source_rows == [5]


def test_header_variants_in_english() -> None:
    header = ["  invoice NO ", "CUSTOMER\nName", "e-mail", "Phone", "Due Date", "Product",
              "Amount", "Internal code"]  # fmt: skip
    data = ["A-1", "Budi", "budi@example.com", 81234567890, "31 December 2031", "Rent",
            "1,500,000", "x"]  # fmt: skip
    rows = [["Billing run"], [], header, data]
    result = read(xlsx(rows))
    assert result.ok, [problem.to_json("en") for problem in result.errors]
    assert result.header_row == 3
    draft = result.invoices[0].draft
    assert (draft.number, draft.phone, draft.total) == ("A-1", "+6281234567890", 1500000)
    assert draft.due_date == dt.date(2031, 12, 31)


def test_hidden_line_blocks_its_invoice() -> None:
    """An invoice whose second line is hidden is not issued with the first line alone."""

    def edit(workbook, sheet):  # type: ignore[no-untyped-def]
        sheet.row_dimensions[3].hidden = True

    rows = [
        BILL_HEADER,
        bill_row("INV-1", product="Kertas A4", amount=55000),
        bill_row("INV-1", product="Tinta", amount=95000),
        bill_row("INV-2", "Siti Rahma"),
    ]
    result = read(xlsx(rows, edit=edit))
    assert [(problem.code, problem.row) for problem in result.errors] == [("sheet.hidden_row", 3)]
    assert [invoice.draft.number for invoice in result.invoices] == ["INV-2"]
    assert result.invalid_rows == [2, 3]


def test_long_product_name_says_fix() -> None:
    result = read(xlsx([BILL_HEADER, bill_row("INV-1", product="Paket " + "x" * 320)]))
    assert [(problem.code, problem.cell) for problem in result.errors] == [
        ("product.too_long", "F2")
    ]
    message = result.errors[0].message
    assert message.render("en") == (
        "The product name is 326 characters long; the limit is 300. Shorten it, and put the "
        "details in the Keterangan / Description column."
    )
    assert "Persingkat" in message.render("id")
