"""Checking and importing sheets against the database, through the CLI and the batch calls."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from sqlmodel import func, select

from billing.errors import UserError
from billing.imports import cancel_batch, check_sheet, confirm_batch, import_sheet, preview_upload
from models import BatchStatus, Customer, ImportBatch, Invoice, Notice, Product, VirtualAccount
from models.db import session_scope
from models.org import Organisation
from tagih.cli.main import cli
from tests.sheets.conftest import BILL_HEADER, TODAY, bill_row, xlsx

BASELINE = "01_baseline_valid.xlsx"
INVOICE_KEYS = {"number", "customer", "email", "phone", "due_date", "total", "lines", "rows"}


def _count(model: type) -> int:
    with session_scope() as session:
        return session.exec(select(func.count()).select_from(model)).one()


def _invoke(*args: str) -> tuple[int, dict]:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.output.strip().splitlines()[-1])


def test_check_json_contract(shop: Organisation, samples_dir: Path) -> None:
    code, data = _invoke(
        "sheet", "check", str(samples_dir / BASELINE), "--org", shop.slug, "--json"
    )
    assert code == 0
    assert data["ok"] is True
    assert data["file_error"] is None
    assert data["sheet"] == "Tagihan"
    assert data["header_row"] == 1
    assert data["errors"] == []
    assert data["warnings"] == []
    assert "imported" not in data
    assert len(data["invoices"]) == 5
    first = data["invoices"][0]
    assert INVOICE_KEYS <= set(first)
    assert first["number"] == "INV-2031-001"
    assert first["phone"] == "+6281234567890"
    assert first["due_date"] == "2031-01-15"
    assert first["total"] == 350000
    assert first["rows"] == [2]
    assert first["lines"] == [
        {"product": "SPP Januari 2031", "quantity": 1, "unit_price": 350000, "amount": 350000}
    ]
    assert _count(Invoice) == 0


def test_import_json_contract_and_second_import(shop: Organisation, samples_dir: Path) -> None:
    path = str(samples_dir / BASELINE)
    code, data = _invoke("sheet", "import", path, "--org", shop.slug, "--json")
    assert code == 0
    assert data["imported"] == 5
    numbers = [invoice["va_number"] for invoice in data["invoices"]]
    assert all(number.startswith("88001") for number in numbers)
    assert len(set(numbers)) == 5
    assert (_count(Invoice), _count(VirtualAccount), _count(Notice)) == (5, 5, 5)

    code, again = _invoke("sheet", "import", path, "--org", shop.slug, "--json")
    assert code == 0
    assert again["imported"] == 0
    assert again["invoices"] == []
    assert sorted(again["existing"]) == [f"INV-2031-00{n}" for n in range(1, 6)]
    assert {warning["code"] for warning in again["warnings"]} == {"invoice.already_issued"}
    assert (_count(Invoice), _count(VirtualAccount), _count(Notice)) == (5, 5, 5)
    assert _count(Customer) == 5


def test_import_messages_in_indonesian(shop: Organisation, samples_dir: Path) -> None:
    path = str(samples_dir / "42_mixed_row_errors_with_title_offset.xlsx")
    result = CliRunner().invoke(cli, ["--lang", "id", "sheet", "import", path, "--org", shop.slug])
    assert result.exit_code == 1
    assert "Baris" in result.output
    assert "0 data tersimpan" in result.output
    assert _count(Invoice) == 0


def test_import_all_or_nothing(shop: Organisation, samples_dir: Path) -> None:
    path = str(samples_dir / "42_mixed_row_errors_with_title_offset.xlsx")
    code, data = _invoke("sheet", "import", path, "--org", shop.slug, "--json")
    assert code == 1
    assert data["ok"] is False
    assert data["imported"] == 0
    assert [error["row"] for error in data["errors"]] == [8, 15, 21]
    assert data["skipped_rows"] == [8, 15, 21]
    assert _count(Invoice) == 0
    assert _count(Customer) == 0


def test_import_skip_invalid(shop: Organisation, samples_dir: Path) -> None:
    path = str(samples_dir / "42_mixed_row_errors_with_title_offset.xlsx")
    code, data = _invoke("sheet", "import", path, "--org", shop.slug, "--skip-invalid", "--json")
    assert code == 1
    assert data["imported"] == 17
    assert data["skipped_rows"] == [8, 15, 21]
    assert _count(Invoice) == 17
    assert all(invoice["va_number"] for invoice in data["invoices"])


def test_import_creates_new_products(shop: Organisation, samples_dir: Path) -> None:
    _invoke("sheet", "import", str(samples_dir / BASELINE), "--org", shop.slug, "--json")
    with session_scope() as session:
        products = {p.name: p.price for p in session.exec(select(Product))}
    assert products["Paket Katering Bulanan"] == 1250000
    assert len(products) == 4


def test_catalogue_price_fills_blank_amount(shop: Organisation, tmp_path: Path) -> None:
    with session_scope(write=True) as session:
        session.add(Product(organisation_id=shop.id, name="Buku Tulis", name_key="buku tulis",
                            price=5000))  # fmt: skip
    rows = [BILL_HEADER + ["Qty"], bill_row("INV-9", product="buku tulis", amount=None) + [12]]
    with session_scope() as session:
        organisation = session.get(Organisation, shop.id)
        result = check_sheet(session, organisation, "b.xlsx", xlsx(rows), today=TODAY)
    assert result.ok, [problem.to_json("en") for problem in result.errors]
    line = result.invoices[0].draft.lines[0]
    assert (line.quantity, line.unit_price, line.amount) == (12, 5000, 60000)
    assert line.product_id is not None
    assert result.new_products == []


def test_number_taken_by_different_invoice(shop: Organisation) -> None:
    first = xlsx([BILL_HEADER, bill_row("1002")])
    second = xlsx([BILL_HEADER, bill_row("1002 ", "Siti Rahma", amount=99000)])
    with session_scope(write=True) as session:
        organisation = session.get(Organisation, shop.id)
        assert import_sheet(session, organisation, "a.xlsx", first, today=TODAY).imported == 1
    with session_scope(write=True) as session:
        organisation = session.get(Organisation, shop.id)
        result = import_sheet(session, organisation, "b.xlsx", second, today=TODAY)
    assert result.imported == 0
    assert [problem.code for problem in result.errors] == ["invoice.number_taken"]
    text = result.errors[0].message.render("en")
    assert "1002" in text
    assert "rows 2 of an earlier upload" in text
    assert _count(Invoice) == 1


def test_numeric_invoice_number_kept_as_text(shop: Organisation) -> None:
    content = xlsx([BILL_HEADER, bill_row(1002.0)])
    with session_scope(write=True) as session:
        organisation = session.get(Organisation, shop.id)
        result = import_sheet(session, organisation, "a.xlsx", content, today=TODAY)
    assert [invoice.draft.number for invoice in result.invoices] == ["1002"]
    with session_scope() as session:
        assert session.exec(select(Invoice.number)).one() == "1002"


def test_batch_preview_confirm(shop: Organisation, samples_dir: Path) -> None:
    content = (samples_dir / "42_mixed_row_errors_with_title_offset.xlsx").read_bytes()
    with session_scope(write=True) as session:
        organisation = session.get(Organisation, shop.id)
        batch, preview = preview_upload(
            session, organisation, "kelas4a.xlsx", content, uploaded_by="+6281200000001",
            today=TODAY,
        )  # fmt: skip
        batch_id = batch.id
    assert preview.batch_id == batch_id
    assert len(preview.invoices) == 17
    assert _count(Invoice) == 0
    with session_scope(write=True) as session:
        refused = confirm_batch(session, batch_id, only_valid=False, today=TODAY)
    assert refused.imported == 0
    with session_scope(write=True) as session:
        result = confirm_batch(
            session, batch_id, only_valid=True, organisation_id=shop.id, today=TODAY
        )
    assert result.imported == 17
    with session_scope() as session:
        stored = session.get(ImportBatch, batch_id)
        assert stored.status == BatchStatus.CONFIRMED
        batch_ids = set(session.exec(select(Invoice.batch_id)))
    assert batch_ids == {batch_id}
    with session_scope(write=True) as session:
        try:
            confirm_batch(session, batch_id, only_valid=True)
        except UserError as error:
            assert error.code == "sheet.batch_decided"
        else:
            raise AssertionError("a confirmed batch was imported twice")


def test_batch_cancel(shop: Organisation, samples_dir: Path) -> None:
    content = (samples_dir / BASELINE).read_bytes()
    with session_scope(write=True) as session:
        organisation = session.get(Organisation, shop.id)
        batch, _ = preview_upload(session, organisation, BASELINE, content, today=TODAY)
        batch_id = batch.id
    with session_scope(write=True) as session:
        cancelled = cancel_batch(session, batch_id, organisation_id=shop.id)
    assert cancelled.status == BatchStatus.CANCELLED
    assert cancelled.content is None
    assert _count(Invoice) == 0


def test_unknown_org_is_usage_error(database: str, samples_dir: Path) -> None:
    result = CliRunner().invoke(
        cli, ["sheet", "check", str(samples_dir / BASELINE), "--org", "nope", "--json"]
    )
    assert result.exit_code == 2
    assert "nope" in result.output


def test_file_error_exit_status(shop: Organisation, samples_dir: Path) -> None:
    path = str(samples_dir / "32_truncated_zip.xlsx")
    code, data = _invoke("sheet", "import", path, "--org", shop.slug, "--json")
    assert code == 1
    assert data["file_error"]["code"] == "sheet.file_damaged"
    assert data["imported"] == 0


def test_text_output_names_row_and_column(shop: Organisation, samples_dir: Path) -> None:
    path = str(samples_dir / "42_mixed_row_errors_with_title_offset.xlsx")
    english = CliRunner().invoke(cli, ["sheet", "check", path, "--org", shop.slug]).output
    indonesian = (
        CliRunner()
        .invoke(cli, ["--lang", "id", "sheet", "check", path, "--org", shop.slug])
        .output
    )
    assert "- Row 15, Jumlah (Rp) (cell G15): The amount is 0." in english
    assert "- Row 21, Jatuh Tempo (cell E21): " in english
    assert "- Row 8, Nama Pelanggan: " in english
    assert "Row G15" not in english
    assert "- Baris 15, Jumlah (Rp) (sel G15): " in indonesian
    assert "Baris G15" not in indonesian
