"""Templates: an .xlsx made for one organisation, with dropdowns and text-formatted ID columns."""

from __future__ import annotations

import io
from dataclasses import dataclass

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet
from sqlmodel import Session, col, select

from billing.sheets.headers import SheetType
from billing.sheets.reader import LISTS_SHEET
from billing.xlsx import write_cell
from models import Organisation, Product, RecurringFee, Student

# Rows below the header that get the column formats and dropdowns.
TEMPLATE_ROWS = 1000
# Excel stores what is typed into a text-format cell as text, so "007" or "=1+1" stays as typed.
TEXT = "@"
DATE = "dd/mm/yyyy"
RUPIAH = "#,##0"
HEADER_FILL = PatternFill("solid", fgColor="1F4E78")
HEADER_FONT = Font(bold=True, color="FFFFFF")


@dataclass(frozen=True)
class Column:
    title: str
    width: int
    number_format: str | None = None
    dropdown: str | None = None  # name of a list on the lists sheet


COLUMNS: dict[SheetType, list[Column]] = {
    SheetType.BILLS: [
        Column("No. Invoice / Invoice No", 18, TEXT),
        Column("Nama Pelanggan / Customer Name", 28),
        Column("Email", 28),
        Column("No. HP / Phone", 18, TEXT),
        Column("Jatuh Tempo / Due Date", 16, DATE),
        Column("Produk / Product", 28, TEXT, "products"),
        Column("Qty", 8, "0"),
        Column("Harga Satuan / Unit Price", 18, RUPIAH),
        Column("Jumlah (Rp) / Amount", 18, RUPIAH),
        Column("Keterangan / Description", 30),
    ],
    SheetType.SCHOOL_BILLS: [
        Column("NIS", 14, TEXT),
        Column("Nama Siswa / Student Name", 28),
        Column("Kelas / Class", 10, TEXT, "classes"),
        Column("Jatuh Tempo / Due Date", 16, DATE),
        Column("Keterangan / Description", 30),
    ],
    SheetType.CUSTOMERS: [
        Column("Nama Pelanggan / Customer Name", 28),
        Column("No. HP / Phone", 18, TEXT),
        Column("Email", 28),
        Column("Bahasa / Language", 12, None, "languages"),
    ],
    SheetType.STUDENTS: [
        Column("NIS", 14, TEXT),
        Column("Nama Siswa / Student Name", 28),
        Column("Kelas / Class", 10, TEXT, "classes"),
        Column("Nama Orang Tua / Parent Name", 28),
        Column("No. HP Orang Tua / Parent Phone", 20, TEXT),
        Column("Email Orang Tua / Parent Email", 28),
        Column("Nama Orang Tua 2 / Parent 2 Name", 28),
        Column("No. HP Orang Tua 2 / Parent 2 Phone", 20, TEXT),
        Column("Email Orang Tua 2 / Parent 2 Email", 28),
    ],
}

SHEET_TITLES = {
    SheetType.BILLS: "Tagihan",
    SheetType.SCHOOL_BILLS: "Tagihan Siswa",
    SheetType.CUSTOMERS: "Pelanggan",
    SheetType.STUDENTS: "Siswa",
}

INSTRUCTIONS: dict[SheetType, list[tuple[str, str]]] = {
    SheetType.BILLS: [
        ("Satu baris untuk satu produk. Baris dengan No. Invoice yang sama menjadi satu "
         "invoice.", "One row per product. Rows with the same invoice number form one invoice."),
        ("Isi Jatuh Tempo sebagai tanggal (dd/mm/yyyy).", "Enter the due date as a date "
         "(dd/mm/yyyy)."),
        ("No. HP boleh ditulis 0812..., +62812... atau 62812...; isi No. HP atau Email.",
         "Write phones as 0812..., +62812... or 62812...; give a phone or an e-mail."),
        ("Produk baru boleh dipakai jika Harga Satuan atau Jumlah diisi.",
         "A product not in the list is fine when the unit price or amount is filled in."),
        ("Jumlah dalam rupiah tanpa desimal. Jika kosong, Jumlah = Qty x Harga Satuan.",
         "Amounts are whole rupiah. When blank, amount = quantity x unit price."),
    ],
    SheetType.SCHOOL_BILLS: [
        ("Satu baris untuk satu siswa. Siswa harus sudah terdaftar (NIS).",
         "One row per student. Students must already be registered (by NIS)."),
        ("Setiap kolom setelah Jatuh Tempo adalah komponen biaya; judul kolom adalah nama "
         "komponen. Tambahkan kolom bila perlu.",
         "Every column after the due date is a fee component named by its header. Add "
         "columns as needed."),
        ("Kosong atau 0 berarti komponen itu tidak ditagihkan.",
         "Blank or 0 means the component is not billed."),
        ("Tagihan dikirim ke orang tua yang terdaftar sebagai pembayar.",
         "Bills go to the parent registered as payer."),
    ],
    SheetType.CUSTOMERS: [
        ("Satu baris untuk satu pelanggan; isi No. HP atau Email.",
         "One row per customer; give a phone or an e-mail."),
        ("Bahasa: id (Indonesia) atau en (English).", "Language: id (Indonesian) or en "
         "(English)."),
    ],
    SheetType.STUDENTS: [
        ("Satu baris untuk satu siswa. Orang tua pertama adalah pembayar.",
         "One row per student. The first parent is the payer."),
        ("Kakak-adik boleh memakai No. HP orang tua yang sama.",
         "Siblings may share a parent's phone."),
        ("Orang tua kedua boleh diisi di kolom Orang Tua 2.",
         "A second parent goes in the Parent 2 columns."),
    ],
}  # fmt: skip


def template_lists(session: Session, organisation: Organisation) -> dict[str, list[str]]:
    """Return the dropdown values of an organisation: products, fee components, classes."""
    products = session.exec(
        select(Product.name)
        .where(Product.organisation_id == organisation.id, Product.active)
        .order_by(col(Product.name))
    ).all()
    components = session.exec(
        select(RecurringFee.component)
        .where(RecurringFee.organisation_id == organisation.id, RecurringFee.active)
        .distinct()
    ).all()
    classes = session.exec(
        select(Student.class_name)
        .where(Student.organisation_id == organisation.id, Student.class_name != "")
        .distinct()
        .order_by(col(Student.class_name))
    ).all()
    return {
        "products": list(products),
        "components": sorted(set(components)),
        "classes": list(classes),
        "languages": ["id", "en"],
    }


def build_template(session: Session, organisation: Organisation, sheet_type: SheetType) -> bytes:
    """Build the template workbook for an organisation and return it as .xlsx bytes."""
    lists = template_lists(session, organisation)
    return render_template(organisation.name, sheet_type, lists)


def render_template(title: str, sheet_type: SheetType, lists: dict[str, list[str]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = SHEET_TITLES[sheet_type]
    columns = list(COLUMNS[sheet_type])
    if sheet_type == SheetType.SCHOOL_BILLS:
        names = lists.get("components") or ["SPP"]
        columns[4:4] = [Column(name, 16, RUPIAH) for name in names]
    list_ranges = _write_lists(workbook, lists)
    for index, column in enumerate(columns, start=1):
        _write_column(sheet, index, column, list_ranges)
    sheet.freeze_panes = "A2"
    _write_instructions(workbook, title, sheet_type)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _write_column(
    sheet: Worksheet, index: int, column: Column, list_ranges: dict[str, str]
) -> None:
    letter = get_column_letter(index)
    # Fee component names become headers, so a title may be text a user typed.
    cell = write_cell(sheet, 1, index, column.title)
    cell.fill = HEADER_FILL
    cell.font = HEADER_FONT
    cell.alignment = Alignment(wrap_text=True, vertical="center")
    sheet.column_dimensions[letter].width = column.width
    if column.number_format:
        for row in range(2, TEMPLATE_ROWS + 2):
            sheet.cell(row=row, column=index).number_format = column.number_format
    source = list_ranges.get(column.dropdown or "")
    if source:
        strict = column.dropdown == "languages"
        validation = DataValidation(
            type="list",
            formula1=source,
            allow_blank=True,
            showErrorMessage=strict,
            errorTitle="Tagih",
            error="Pilih dari daftar / Choose from the list",
        )
        validation.add(f"{letter}2:{letter}{TEMPLATE_ROWS + 1}")
        sheet.add_data_validation(validation)


def _write_lists(workbook: Workbook, lists: dict[str, list[str]]) -> dict[str, str]:
    """Write the dropdown values on a hidden sheet; return each list's cell range."""
    sheet = workbook.create_sheet(LISTS_SHEET)
    sheet.sheet_state = "hidden"
    ranges = {}
    for index, (name, values) in enumerate(sorted(lists.items()), start=1):
        if not values:
            continue
        letter = get_column_letter(index)
        write_cell(sheet, 1, index, name)
        # The dropdown shows these cells, so a product named "=1+1" must be that text.
        for row, value in enumerate(values, start=2):
            write_cell(sheet, row, index, value)
        ranges[name] = f"'{LISTS_SHEET}'!${letter}$2:${letter}${len(values) + 1}"
    return ranges


def _write_instructions(workbook: Workbook, title: str, sheet_type: SheetType) -> None:
    sheet = workbook.create_sheet("Petunjuk - Instructions")
    sheet.column_dimensions["A"].width = 70
    sheet.column_dimensions["B"].width = 70
    write_cell(sheet, 1, 1, f"{title}: petunjuk pengisian")
    write_cell(sheet, 1, 2, f"{title}: how to fill in")
    sheet["A1"].font = sheet["B1"].font = Font(bold=True, size=13)
    sheet["A2"] = "Bahasa Indonesia"
    sheet["B2"] = "English"
    sheet["A2"].font = sheet["B2"].font = Font(bold=True)
    general = [
        ("Isi data mulai baris 2 di sheet pertama. Jangan ubah judul kolom.",
         "Fill in from row 2 of the first sheet. Keep the column headers."),
        ("Baris tersembunyi dan baris TOTAL tidak ditagihkan.",
         "Hidden rows and TOTAL rows are never billed."),
        ("Simpan sebagai Excel Workbook (.xlsx) lalu kirim lewat chat.",
         "Save as Excel Workbook (.xlsx) and send it in the chat."),
    ]  # fmt: skip
    for row, (indonesian, english) in enumerate(INSTRUCTIONS[sheet_type] + general, start=3):
        sheet.cell(row=row, column=1, value=indonesian).alignment = Alignment(wrap_text=True)
        sheet.cell(row=row, column=2, value=english).alignment = Alignment(wrap_text=True)
