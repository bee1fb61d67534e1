"""Write samples/demo-invoices.xlsx: the made-up merchant sheet that `tagih demo` imports.

Run: .venv/bin/python samples/make_demo_sheet.py
Every customer, e-mail address (example.com) and phone number in it is invented.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill

OUTPUT = Path(__file__).resolve().parent / "demo-invoices.xlsx"
HEADER = ["No. Invoice", "Nama Pelanggan", "Email", "No. HP", "Jatuh Tempo", "Produk", "Qty",
          "Harga Satuan", "Jumlah (Rp)"]  # fmt: skip
# Invoice number, customer, e-mail, phone, due date, then (product, quantity, unit price) lines.
INVOICES = [
    ("SJ-2701-001", "CV Maju Bersama", "keuangan@majubersama.example.com", "0812-3000-0101",
     dt.date(2027, 1, 15), [("Kertas HVS A4 (rim)", 20, 55_000),
                            ("Tinta Printer Hitam", 4, 95_000),
                            ("Map Plastik (lusin)", 10, 18_000)]),
    ("SJ-2701-002", "Toko Berkah Abadi", "admin@berkahabadi.example.com", "+62 857 3000 0102",
     dt.date(2027, 1, 15), [("Jasa Servis Komputer", 1, 350_000)]),
    ("SJ-2701-003", "PT Cahaya Nusantara", "finance@cahayanusantara.example.com", "081330000103",
     dt.date(2027, 1, 20), [("Paket Internet Kantor", 1, 1_250_000)]),
    ("SJ-2701-004", "Warung Bu Ratna", "ratna.warung@example.com", "0878-3000-0104",
     dt.date(2027, 1, 25), [("Kertas HVS A4 (rim)", 5, 55_000)]),
    ("SJ-2701-005", "Klinik Sehat Sentosa", "tagihan@sehatsentosa.example.com", "0896-3000-0105",
     dt.date(2027, 1, 31), [("Sewa Mesin Fotokopi", 1, 750_000),
                            ("Kertas HVS A4 (rim)", 10, 55_000)]),
    ("SJ-2701-006", "Yayasan Pelita Harapan", "bendahara@pelitaharapan.example.com",
     "0811-3000-0106", dt.date(2027, 2, 5), [("Jasa Servis Komputer", 2, 350_000)]),
]  # fmt: skip


def build() -> Workbook:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Tagihan"
    sheet.append(["Daftar Tagihan Januari 2027 - Toko Sinar Jaya"])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADER))
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append(HEADER)
    for cell in sheet[2]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="1F4E78")
        cell.alignment = Alignment(horizontal="center")
    for number, customer, email, phone, due, lines in INVOICES:
        for product, quantity, price in lines:
            sheet.append([number, customer, email, phone, due, product, quantity, price,
                          quantity * price])  # fmt: skip
            row = sheet.max_row
            sheet.cell(row=row, column=1).number_format = "@"
            sheet.cell(row=row, column=4).number_format = "@"
            sheet.cell(row=row, column=5).number_format = "dd/mm/yyyy"
            for column in (8, 9):
                sheet.cell(row=row, column=column).number_format = "#,##0"
    for letter, width in zip("ABCDEFGHI", (14, 24, 34, 18, 13, 26, 6, 14, 14), strict=True):
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = "A3"
    return workbook


def main() -> None:
    build().save(OUTPUT)
    sys.stdout.write(f"wrote {OUTPUT}\n")


if __name__ == "__main__":
    main()
