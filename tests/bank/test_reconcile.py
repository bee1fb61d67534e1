"""Statement matching: matched, at the bank only (recorded on confirmation), in Tagih only."""

from __future__ import annotations

import io
import json
from pathlib import Path

from click.testing import CliRunner
from openpyxl import Workbook, load_workbook
from sqlmodel import select

from billing.orgs import get_organisation
from billing.reconcile import build_workbook, read_statement, reconcile, summary
from billing.snap.signature import JAKARTA
from models import Invoice, InvoiceStatus, Notice, NoticeKind, Payment
from models.db import session_scope
from models.types import utcnow
from tagih.banksim.client import BankSimulator
from tagih.cli.reconcile import reconcile_command
from tagih.settings import get_settings
from tests.bank.conftest import COMPANY_CODE, make_bills
from tests.text_cells import formula_cells


def _statement(rows: list[list[str]]) -> bytes:
    header = "Laporan mutasi rekening\n\nTanggal;No VA;Nominal;Referensi\n"
    return (header + "\n".join(";".join(row) for row in rows) + "\n").encode()


def test_reconcile_csv_then_confirm(bank: BankSimulator, tmp_path: Path) -> None:
    matched, missing, wrong, only_tagih = make_bills(4)
    today = utcnow().astimezone(JAKARTA).strftime("%d/%m/%Y")
    assert bank.pay(matched.va_number, COMPANY_CODE, matched.amount).accepted
    assert bank.pay(only_tagih.va_number, COMPANY_CODE, only_tagih.amount).accepted
    content = _statement(
        [
            [today, matched.va_number, "Rp350.000", "REF-A"],
            [today, missing.va_number, "350.000,00", "REF-B"],
            [today, wrong.va_number, "1.000", "REF-C"],
            [today, "8808099999999999", "350000", "REF-D"],
            [today, "not-a-va", "350000", "REF-E"],
        ]
    )
    lines, problems = read_statement("mutasi.csv", content, get_settings())
    assert [line.row for line in lines] == [4, 5, 6, 7]
    assert [row for row, _why in problems] == [8]

    with session_scope() as session:
        organisation = get_organisation(session, "toko-maju")
        result = reconcile(session, organisation, lines)
    assert [line.va_number for line, _payment in result.matched] == [matched.va_number]
    assert [line.va_number for line in result.recordable] == [missing.va_number]
    assert sorted(line.va_number for line, _why in result.unrecordable) == sorted(
        [wrong.va_number, "8808099999999999"]
    )
    assert [payment.invoice_id for payment in result.not_at_bank] == [only_tagih.invoice_id]
    assert "--confirm" in summary(result, "en")

    path = tmp_path / "mutasi.csv"
    path.write_bytes(content)
    output = tmp_path / "hasil.xlsx"
    runner = CliRunner()
    outcome = runner.invoke(
        reconcile_command,
        [str(path), "--org", "toko-maju", "--confirm", "--json", "--output", str(output)],
    )
    assert outcome.exit_code == 0, outcome.output
    counts = json.loads(outcome.output.strip().splitlines()[-1])
    assert counts["recorded"] == 1
    assert counts["in_tagih_only"] == 1
    with session_scope() as session:
        invoice = session.get(Invoice, missing.invoice_id)
        payment = session.exec(
            select(Payment).where(Payment.invoice_id == missing.invoice_id)
        ).one()
        receipts = session.exec(
            select(Notice).where(
                Notice.invoice_id == missing.invoice_id, Notice.kind == NoticeKind.RECEIPT
            )
        ).all()
    assert invoice.status == InvoiceStatus.PAID
    assert payment.source == "statement"
    assert payment.reference_no == "REF-B"
    assert len(receipts) == 1
    sheet = load_workbook(output).active
    results = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert results.count("recorded") == 1
    assert results.count("matched") == 1

    again = runner.invoke(reconcile_command, [str(path), "--org", "toko-maju", "--json"])
    assert json.loads(again.output.strip().splitlines()[-1])["matched"] == 2


def test_reconcile_xlsx_statement(sqlite_database: str) -> None:
    bill = make_bills(1)[0]
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Date", "VA Number", "Amount", "Reference"])
    sheet.append([utcnow().astimezone(JAKARTA).date(), int(bill.va_number), 350000, "X1"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    lines, problems = read_statement("statement.xlsx", buffer.getvalue(), get_settings())
    assert problems == []
    assert lines[0].va_number == bill.va_number
    assert lines[0].amount == 350_000


def test_reconcile_without_header(sqlite_database: str, tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(b"a,b,c\n1,2,3\n")
    outcome = CliRunner().invoke(reconcile_command, [str(path), "--org", "toko-maju"])
    assert outcome.exit_code == 1
    assert "header" in outcome.output


def test_reconcile_workbook_keeps_formula_like_text(bank: BankSimulator) -> None:
    matched, recordable, wrong, only_tagih = make_bills(4)
    today = utcnow().astimezone(JAKARTA).strftime("%d/%m/%Y")
    hyperlink = '=HYPERLINK("http://evil.example.com","x")'
    assert bank.pay(matched.va_number, COMPANY_CODE, matched.amount).accepted
    assert bank.pay(only_tagih.va_number, COMPANY_CODE, only_tagih.amount).accepted
    with session_scope(write=True) as session:
        payment = session.exec(
            select(Payment).where(Payment.invoice_id == only_tagih.invoice_id)
        ).one()
        payment.reference_no = "#N/A"
        payment.payment_request_id = hyperlink
        session.add(payment)
    content = _statement(
        [
            [today, matched.va_number, "350000", "=1+1"],
            [today, recordable.va_number, "350000", "+62812"],
            [today, wrong.va_number, "1000", "-5"],
            [today, "8808099999999999", "350000", hyperlink],
            [today, "=1+1", "350000", "@SUM(A1)"],
        ]
    )
    lines, problems = read_statement("mutasi.csv", content, get_settings())
    assert [line.reference for line in lines] == ["=1+1", "+62812", "-5", hyperlink]

    with session_scope() as session:
        organisation = get_organisation(session, "toko-maju")
        result = reconcile(session, organisation, lines)
    result.problems = problems
    workbook = build_workbook(result, "en")

    assert formula_cells(workbook) == []
    rows = list(load_workbook(io.BytesIO(workbook)).active.iter_rows(min_row=2, values_only=True))
    references = [row[5] for row in rows]
    for text in ("=1+1", "+62812", "-5", hyperlink, "#N/A"):
        assert text in references, text
    assert hyperlink in [row[6] for row in rows]
    skipped = [row for row in rows if row[0] == "skipped"]
    assert skipped[0][7] == "The VA number =1+1 is not a number."
