"""The shared sample sheets give the results their expected.json describes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from billing.sheets import SheetResult
from tests.sheets.conftest import read

EXPECTED_FILE = "expected.json"
FILE_ERROR_CODES = {
    "corrupt_truncated": "sheet.file_damaged",
    "decompression_bomb": "sheet.file_unsafe",
}


def _expected(samples_dir: Path) -> dict[str, Any]:
    return json.loads((samples_dir / EXPECTED_FILE).read_text())


def _read_sample(samples_dir: Path, name: str) -> SheetResult:
    return read((samples_dir / name).read_bytes(), name)


def _by_number(result: SheetResult) -> dict[str, Any]:
    return {invoice.draft.number: invoice.to_json() for invoice in result.invoices}


def _error_rows(result: SheetResult) -> set[int]:
    return {problem.row for problem in result.errors if problem.row is not None}


def _check_invoice(found: dict[str, Any], expected: dict[str, Any]) -> None:
    assert found["customer"] == expected["customer"]
    assert found["email"] == expected["email"]
    assert found["phone"] == expected["phone_e164"]
    assert found["due_date"] == expected["due_date"]
    assert found["total"] == expected["total"]
    lines = [(line["product"], line["amount"]) for line in found["lines"]]
    assert lines == [(line["product"], line["amount"]) for line in expected["lines"]]


def test_every_sample_has_expectations(samples_dir: Path) -> None:
    expected = _expected(samples_dir)
    for path in samples_dir.glob("*.xlsx"):
        assert path.name in expected, path.name


@pytest.mark.parametrize("name", ["01_baseline_valid.xlsx", "02_title_rows_merged_header.xlsx"])
def test_clean_samples_accepted(samples_dir: Path, name: str) -> None:
    expected = _expected(samples_dir)[name]
    result = _read_sample(samples_dir, name)
    assert result.ok, [p.to_json("en") for p in result.errors]
    assert result.sheet == expected["sheet"] if "sheet" in expected else True
    assert result.header_row == expected["header_row"]
    assert len(result.invoices) == expected["invoice_count"]
    assert result.total == expected["total_amount"]
    found = _by_number(result)
    for invoice in expected["invoices"]:
        _check_invoice(found[invoice["invoice_no"]], invoice)
    if "data_rows" in expected:
        first, last = expected["data_rows"]
        rows = sorted(row for invoice in result.invoices for row in invoice.rows)
        assert rows == list(range(first, last + 1))


def test_phone_formats(samples_dir: Path) -> None:
    name = "04_phone_formats.xlsx"
    expected = _expected(samples_dir)[name]
    result = _read_sample(samples_dir, name)
    found = _by_number(result)
    for row in expected["rows"]:
        if row["row_valid"]:
            assert row["invoice_no"] in found, row
            assert found[row["invoice_no"]]["phone"] == row["phone_e164"], row
            assert found[row["invoice_no"]]["rows"] == [row["excel_row"]]
        else:
            assert row["invoice_no"] not in found, row
    assert set(result.invalid_rows) == set(expected["invalid_rows"])
    assert _error_rows(result) == set(expected["invalid_rows"])
    for problem in result.errors:
        assert problem.column == "No. HP"


def test_amounts_as_text(samples_dir: Path) -> None:
    name = "05_amounts_as_text.xlsx"
    expected = _expected(samples_dir)[name]
    result = _read_sample(samples_dir, name)
    found = _by_number(result)
    for row in expected["rows"]:
        if row["amount"] is None:
            assert row["invoice_no"] not in found, row
        else:
            assert found[row["invoice_no"]]["total"] == row["amount"], row
    assert set(result.invalid_rows) == set(expected["invalid_rows"])
    assert _error_rows(result) == set(expected["invalid_rows"])


def test_dates_mixed(samples_dir: Path) -> None:
    name = "06_dates_mixed.xlsx"
    expected = _expected(samples_dir)[name]
    result = _read_sample(samples_dir, name)
    found = _by_number(result)
    for row in expected["rows"]:
        if row["due_date"] is None:
            assert row["invoice_no"] not in found, row
        else:
            assert found[row["invoice_no"]]["due_date"] == row["due_date"], row
    assert set(result.invalid_rows) == set(expected["invalid_rows"])
    assert _error_rows(result) == set(expected["invalid_rows"])


def test_duplicate_invoice_numbers(samples_dir: Path) -> None:
    name = "18_duplicate_invoice_numbers.xlsx"
    expected = _expected(samples_dir)[name]
    result = _read_sample(samples_dir, name)
    assert sorted(_by_number(result)) == expected["valid_invoices"]
    for conflict in expected["conflicts"] + [expected["exact_duplicate"]]:
        cited = [p for p in result.errors if set(conflict["rows"]) <= set(p.rows)]
        assert cited, conflict
        assert set(conflict["rows"]) <= set(result.invalid_rows)
    repeated = [p for p in result.errors if p.code == "invoice.repeated_row"]
    assert [p.row for p in repeated] == [6]


def test_multiline_invoices(samples_dir: Path) -> None:
    name = "20_multiline_invoice_blank_continuation.xlsx"
    expected = _expected(samples_dir)[name]
    result = _read_sample(samples_dir, name)
    found = _by_number(result)
    assert sorted(found) == sorted(i["invoice_no"] for i in expected["invoices"])
    for invoice in expected["invoices"]:
        _check_invoice(found[invoice["invoice_no"]], invoice)
    for conflict in expected["conflicts"]:
        cited = [p for p in result.errors if p.rows == conflict["rows"]]
        assert cited, conflict
        assert cited[0].column == "Email"


@pytest.mark.parametrize("name", ["32_truncated_zip.xlsx", "34_zip_bomb_150MiB_sheet.xlsx"])
def test_unusable_files_rejected(samples_dir: Path, name: str) -> None:
    expected = _expected(samples_dir)[name]
    assert expected["outcome"] == "reject_file"
    result = _read_sample(samples_dir, name)
    assert result.file_error is not None
    assert result.file_error.code == FILE_ERROR_CODES[expected["reason"]]
    assert result.invoices == []
    assert name in result.file_error.message.render("en")


def test_row_errors_with_title_offset(samples_dir: Path) -> None:
    name = "42_mixed_row_errors_with_title_offset.xlsx"
    expected = _expected(samples_dir)[name]
    result = _read_sample(samples_dir, name)
    assert result.header_row == expected["header_row"]
    assert len(result.invoices) == expected["valid_count"]
    by_row = {problem.row: problem for problem in result.errors}
    assert sorted(by_row) == [error["row"] for error in expected["row_errors"]]
    assert by_row[8].code == "customer.missing"
    assert by_row[15].code == "zero"
    assert by_row[21].code == "impossible"
    assert "31/02/2031" in by_row[21].message.render("id")


@pytest.mark.parametrize("language", ["en", "id"])
def test_sample_messages_in_both_languages(samples_dir: Path, language: str) -> None:
    result = _read_sample(samples_dir, "42_mixed_row_errors_with_title_offset.xlsx")
    texts = [problem.to_json(language)["message"] for problem in result.errors]
    assert all(texts)
    english = [problem.to_json("en")["message"] for problem in result.errors]
    if language == "id":
        assert texts != english
