"""Templates read back correctly once filled in, and annotated copies mark each problem."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

from click.testing import CliRunner
from openpyxl import load_workbook

from billing.imports import check_sheet
from billing.sheets.annotate import ERROR_FILL, VALID_FILL, annotate_sheet
from models import Organisation, Product, RecurringFee
from models.db import session_scope
from tagih.cli.main import cli
from tests.sheets.conftest import TODAY, read


def _template(organisation: Organisation, sheet_type: str, tmp_path: Path) -> bytes:
    output = tmp_path / f"{sheet_type}.xlsx"
    result = CliRunner().invoke(
        cli,
        ["sheet", "template", "--org", organisation.slug, "--type", sheet_type, "-o", str(output)],
    )
    assert result.exit_code == 0, result.output
    return output.read_bytes()


def _fill(content: bytes, rows: list[list[object]]) -> bytes:
    workbook = load_workbook(io.BytesIO(content))
    sheet = workbook.worksheets[0]
    for offset, values in enumerate(rows, start=2):
        for column, value in enumerate(values, start=1):
            sheet.cell(row=offset, column=column, value=value)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _check(organisation: Organisation, content: bytes):  # type: ignore[no-untyped-def]
    with session_scope() as session:
        found = session.get(Organisation, organisation.id)
        return check_sheet(session, found, "template.xlsx", content, today=TODAY)


def test_bills_template_layout(shop: Organisation, tmp_path: Path) -> None:
    with session_scope(write=True) as session:
        session.add(Product(organisation_id=shop.id, name="Kertas A4", name_key="kertas a4",
                            price=55000))  # fmt: skip
    workbook = load_workbook(io.BytesIO(_template(shop, "bills", tmp_path)))
    sheet = workbook.worksheets[0]
    assert sheet.freeze_panes == "A2"
    assert sheet["A1"].value == "No. Invoice / Invoice No"
    assert sheet["A2"].number_format == "@"
    assert sheet["D2"].number_format == "@"
    assert sheet["E2"].number_format == "dd/mm/yyyy"
    ranges = {str(v.sqref): v.formula1 for v in sheet.data_validations.dataValidation}
    assert ranges["F2:F1001"] == "'_lists'!$D$2:$D$2"
    assert workbook["_lists"]["D2"].value == "Kertas A4"
    assert workbook["_lists"].sheet_state == "hidden"
    instructions = workbook["Petunjuk - Instructions"]
    assert instructions["A2"].value == "Bahasa Indonesia"
    assert instructions["B2"].value == "English"


def test_bills_template_round_trip(shop: Organisation, tmp_path: Path) -> None:
    with session_scope(write=True) as session:
        session.add(Product(organisation_id=shop.id, name="Kertas A4", name_key="kertas a4",
                            price=55000))  # fmt: skip
    rows = [
        ["1002", "CV Maju", "maju@example.com", "081230000101", dt.date(2031, 2, 1),
         "Kertas A4", 3, None, None, "Pesanan Januari"],
        ["1002", None, None, None, None, "Tinta", 2, 95000, 190000],
        ["1003", "Toko Abadi", None, "0857 3000 0102", "01/02/2031", "Servis", None, None,
         "Rp 350.000"],
    ]  # fmt: skip
    result = _check(shop, _fill(_template(shop, "bills", tmp_path), rows))
    assert result.ok, [problem.to_json("en") for problem in result.errors]
    # "01/02/2031" typed as text also reads as 2 January, so it is read day first with a note.
    assert [(problem.code, problem.row) for problem in result.warnings] == [("date.day_first", 4)]
    invoices = {invoice.draft.number: invoice.to_json() for invoice in result.invoices}
    assert sorted(invoices) == ["1002", "1003"]
    assert invoices["1002"]["total"] == 3 * 55000 + 190000
    assert invoices["1002"]["rows"] == [2, 3]
    assert invoices["1002"]["description"] == "Pesanan Januari"
    assert invoices["1003"]["phone"] == "+6285730000102"
    assert invoices["1003"]["due_date"] == "2031-02-01"
    assert result.new_products == ["Servis", "Tinta"]


def test_school_template_round_trip(school: Organisation, tmp_path: Path) -> None:
    with session_scope(write=True) as session:
        for component in ("SPP", "Uang Buku"):
            session.add(RecurringFee(organisation_id=school.id, component=component,
                                     amount=1, day_of_month=10))  # fmt: skip
    content = _template(school, "bills", tmp_path)
    header = [cell.value for cell in load_workbook(io.BytesIO(content)).worksheets[0][1]]
    assert header[4:6] == ["SPP", "Uang Buku"]
    rows = [["1001", "Ani Lestari", "4A", dt.date(2031, 1, 10), 350000, 120000],
            ["1002", "Bima Lestari", "2B", dt.date(2031, 1, 10), 350000, 0]]  # fmt: skip
    result = _check(school, _fill(content, rows))
    assert result.ok, [problem.to_json("en") for problem in result.errors]
    assert [invoice.draft.total for invoice in result.invoices] == [470000, 350000]


def test_students_template_round_trip(school: Organisation, tmp_path: Path) -> None:
    content = _template(school, "students", tmp_path)
    workbook = load_workbook(io.BytesIO(content))
    ranges = {str(v.sqref) for v in workbook.worksheets[0].data_validations.dataValidation}
    assert "C2:C1001" in ranges  # classes
    rows = [["5001", "Joni", "4A", "Pak Anwar", "081255550001", "anwar@example.com"]]
    result = _check(school, _fill(content, rows))
    assert result.ok, [problem.to_json("en") for problem in result.errors]
    assert [student.nis for student in result.students] == ["5001"]


def test_customers_template_round_trip(shop: Organisation, tmp_path: Path) -> None:
    content = _template(shop, "customers", tmp_path)
    result = _check(shop, _fill(content, [["PT Satu", "081277770001", None, "en"]]))
    assert result.ok
    assert result.customers[0].language == "en"


def test_template_type_must_fit_kind(shop: Organisation, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["sheet", "template", "--org", shop.slug, "--type", "students", "-o",
              str(tmp_path / "x.xlsx")]
    )  # fmt: skip
    assert result.exit_code == 2
    assert "students" in result.output


def test_annotated_copy_marks_problems(samples_dir: Path) -> None:
    content = (samples_dir / "42_mixed_row_errors_with_title_offset.xlsx").read_bytes()
    result = read(content)
    annotated = load_workbook(io.BytesIO(annotate_sheet(content, result, "id")))
    sheet = annotated[result.sheet]
    note = sheet.max_column
    assert sheet.cell(row=3, column=note).value == "Pemeriksaan Tagih"
    assert sheet["G15"].fill.fgColor.rgb == ERROR_FILL.fgColor.rgb
    assert "0" in sheet["G15"].comment.text
    assert "31/02/2031" in sheet.cell(row=21, column=note).value
    assert sheet.cell(row=4, column=note).value == "OK: akan diimpor"
    assert sheet.cell(row=4, column=note).fill.fgColor.rgb == VALID_FILL.fgColor.rgb
    assert sheet.cell(row=8, column=note).fill.fgColor.rgb == ERROR_FILL.fgColor.rgb
