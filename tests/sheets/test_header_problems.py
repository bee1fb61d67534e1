"""Headers that cannot be read as they are: two columns for one field, a missing column."""

from __future__ import annotations

import pytest

from billing.sheets.headers import SheetType
from billing.sheets.templates import COLUMNS
from tests.sheets.conftest import BILL_HEADER, bill_row, read, xlsx

TEMPLATE_HEADER = [column.title for column in COLUMNS[SheetType.BILLS]]


def _file_error(content: bytes, language: str = "en") -> tuple[str, str]:
    result = read(content)
    assert result.file_error is not None
    assert not result.invoices
    return result.file_error.code, result.file_error.message.render(language)


def test_two_amount_columns_rejected() -> None:
    header = [*BILL_HEADER, "Jumlah"]
    rows = [header, [*bill_row("INV-1"), 350000]]
    code, text = _file_error(xlsx(rows))
    assert code == "sheet.duplicate_column"
    assert text == (
        "Columns G (Jumlah (Rp)) and H (Jumlah) both contain the amount. Which one is the "
        "amount? Rename or delete the other one, then send the file again."
    )
    _, indonesian = _file_error(xlsx(rows), "id")
    assert "G (Jumlah (Rp))" in indonesian
    assert "H (Jumlah)" in indonesian
    assert "jumlah tagihan" in indonesian


def test_three_columns_for_one_field_listed() -> None:
    header = [*BILL_HEADER, "No HP", "WhatsApp"]
    rows = [header, [*bill_row("INV-1"), "081234567890", "081234567890"]]
    code, text = _file_error(xlsx(rows))
    assert code == "sheet.duplicate_column"
    assert "Columns C (No. HP), H (No HP), I (WhatsApp) all contain the phone number." in text


def test_repeated_row_number_columns_pass() -> None:
    rows = [["No", *BILL_HEADER, "Nomor"], [1, *bill_row("INV-1"), 1]]
    result = read(xlsx(rows))
    assert result.ok, [problem.to_json("en") for problem in result.errors]


def test_header_without_due_date_named() -> None:
    header = [title for title in TEMPLATE_HEADER if not title.startswith("Jatuh Tempo")]
    rows = [header, ["INV-1", "Budi Santoso", "budi@example.com", "081234567890",
                     "SPP Januari 2031", 1, 350000, 350000, None]]  # fmt: skip
    code, text = _file_error(xlsx(rows))
    assert code == "sheet.header_incomplete"
    assert text == ("Row 1 is the header, but it has no Jatuh Tempo / Due Date column. Add it.")
    _, indonesian = _file_error(xlsx(rows), "id")
    assert indonesian.startswith("Baris 1 adalah judul kolom")
    assert "Jatuh Tempo / Due Date" in indonesian


def test_header_missing_two_columns_named() -> None:
    rows = [
        ["Laporan Januari"],
        ["Nama Pelanggan", "Email", "No. HP", "Produk", "Jumlah (Rp)"],
        ["Budi Santoso", "budi@example.com", "081234567890", "SPP Januari 2031", 350000],
    ]
    code, text = _file_error(xlsx(rows))
    assert code == "sheet.header_incomplete"
    assert text == (
        "Row 2 is the header, but it has no No. Invoice / Invoice No, Jatuh Tempo / Due Date "
        "columns. Add them."
    )


@pytest.mark.parametrize(
    "header",
    [
        ["Tanggal", "Uraian", "Debit"],
        ["Nama Pelanggan", "Keterangan"],
    ],
)
def test_unrelated_header_still_not_found(header: list[str]) -> None:
    code, _ = _file_error(xlsx([header, ["a", "b", "c"]]))
    assert code == "sheet.no_header"
