"""Header recognition: find the header row and map its columns to fields, in either language.

Headers are compared folded: no case, accents, punctuation, line breaks or units such as
"(Rp)", so "No. HP", "no hp" and "NO HP\n(WhatsApp)" are the same header.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from billing.sheets.values import clean_text
from locales import N_

# Rows searched for the header, from the top of the sheet.
HEADER_SEARCH_ROWS = 30


class SheetType(StrEnum):
    BILLS = "bills"  # a merchant's invoices, one product line per row
    SCHOOL_BILLS = "school_bills"  # one row per student, one amount column per fee component
    CUSTOMERS = "customers"
    STUDENTS = "students"


class Field(StrEnum):
    NUMBER = "number"
    CUSTOMER = "customer"
    EMAIL = "email"
    PHONE = "phone"
    DUE_DATE = "due_date"
    PRODUCT = "product"
    DESCRIPTION = "description"
    QUANTITY = "quantity"
    UNIT_PRICE = "unit_price"
    AMOUNT = "amount"
    LANGUAGE = "language"
    NIS = "nis"
    STUDENT = "student"
    CLASS = "class_name"
    PARENT = "parent"
    PARENT_PHONE = "parent_phone"
    PARENT_EMAIL = "parent_email"
    PARENT2 = "parent2"
    PARENT2_PHONE = "parent2_phone"
    PARENT2_EMAIL = "parent2_email"
    ROW_NUMBER = "row_number"  # a running "No." column, ignored


ALIASES: dict[Field, tuple[str, ...]] = {
    Field.NUMBER: (
        "no invoice", "invoice no", "nomor invoice", "no faktur", "nomor faktur",
        "invoice number", "invoice", "no tagihan", "nomor tagihan", "bill no", "bill number",
        "no inv", "inv no",
    ),
    Field.CUSTOMER: (
        "nama pelanggan", "customer name", "pelanggan", "customer", "nama customer",
        "nama pembeli", "buyer", "buyer name", "nama", "name",
    ),
    Field.EMAIL: ("email", "e mail", "alamat email", "surel", "email address"),
    Field.PHONE: (
        "no hp", "phone", "nomor hp", "no telepon", "telepon", "no telp", "nomor telepon",
        "no wa", "nomor wa", "whatsapp", "no whatsapp", "hp", "no handphone", "handphone",
        "phone number", "mobile", "mobile number", "no hp wa",
    ),
    Field.DUE_DATE: (
        "jatuh tempo", "due date", "tanggal jatuh tempo", "tgl jatuh tempo", "due",
        "batas bayar", "batas pembayaran", "tanggal jatuh tempo dd mm yyyy",
        "due date dd mm yyyy",
    ),
    Field.PRODUCT: (
        "produk", "product", "nama produk", "product name", "item", "barang", "layanan",
    ),
    Field.DESCRIPTION: ("keterangan", "deskripsi", "description", "catatan", "note", "notes"),
    Field.QUANTITY: (
        "qty", "kuantitas", "quantity", "banyak", "jml", "jumlah barang", "jumlah unit",
    ),
    Field.UNIT_PRICE: ("harga satuan", "unit price", "harga", "price", "harga per unit"),
    Field.AMOUNT: (
        "jumlah", "amount", "nominal", "total", "subtotal", "line amount", "jumlah tagihan",
        "total tagihan", "tagihan", "jumlah harga",
    ),
    Field.LANGUAGE: ("bahasa", "language"),
    Field.NIS: (
        "nis", "no induk", "nomor induk", "nomor induk siswa", "no induk siswa",
        "student number", "student no", "student id", "id siswa",
    ),
    Field.STUDENT: ("nama siswa", "student name", "nama murid", "siswa", "student", "murid"),
    Field.CLASS: ("kelas", "class", "rombel"),
    Field.PARENT: (
        "nama orang tua", "nama orang tua wali", "orang tua", "nama wali", "wali",
        "parent name", "parent", "nama orang tua 1", "parent 1 name", "parent 1",
        "nama ortu", "ortu",
    ),
    Field.PARENT_PHONE: (
        "no hp orang tua", "hp orang tua", "no hp wali", "parent phone", "no hp ortu",
        "no hp orang tua 1", "parent 1 phone", "no wa orang tua", "telepon orang tua",
    ),
    Field.PARENT_EMAIL: (
        "email orang tua", "email wali", "parent email", "email ortu", "email orang tua 1",
        "parent 1 email",
    ),
    Field.PARENT2: ("nama orang tua 2", "parent 2 name", "parent 2", "nama wali 2", "orang tua 2"),
    Field.PARENT2_PHONE: (
        "no hp orang tua 2", "parent 2 phone", "hp orang tua 2", "no hp wali 2",
    ),
    Field.PARENT2_EMAIL: ("email orang tua 2", "parent 2 email", "email wali 2"),
    Field.ROW_NUMBER: ("no", "nomor", "no urut", "number"),
}  # fmt: skip

_UNITS = re.compile(r"\b(?:rp|idr|rupiah|wajib|required|opsional|optional)\b")


def fold_header(value: Any) -> str:
    """Fold a header cell for comparison: "No. HP\\n(WA)*" becomes "no hp wa"."""
    text = unicodedata.normalize("NFKD", clean_text(value)).casefold()
    text = "".join(char for char in text if not unicodedata.combining(char))
    text = re.sub(r"[^0-9a-z]+", " ", text)
    text = _UNITS.sub(" ", text)
    return " ".join(text.split())


_LOOKUP: dict[str, Field] = {
    fold_header(alias): name for name, aliases in ALIASES.items() for alias in aliases
}


def field_for(header: Any) -> Field | None:
    """Return the field a header names; "Jatuh Tempo / Due Date" names one in both languages."""
    found = _LOOKUP.get(fold_header(header))
    if found is not None or not isinstance(header, str) or "/" not in header:
        return found
    names = {_LOOKUP.get(fold_header(part)) for part in header.split("/") if part.strip()}
    return names.pop() if len(names) == 1 else None


@dataclass
class HeaderMap:
    """The header row (1-based) and which 0-based column holds each field."""

    row: int
    columns: dict[Field, int]
    titles: dict[int, str]  # column index to the header text as the user wrote it
    extra: list[int] = field(default_factory=list)  # columns no field claims
    duplicates: dict[Field, list[int]] = field(default_factory=dict)

    def title(self, column: int) -> str:
        return self.titles.get(column, "")


def map_header(row_number: int, cells: list[Any]) -> HeaderMap:
    columns: dict[Field, int] = {}
    titles: dict[int, str] = {}
    extra: list[int] = []
    duplicates: dict[Field, list[int]] = {}
    for index, cell in enumerate(cells):
        text = clean_text(cell)
        if not text:
            continue
        titles[index] = text
        name = field_for(cell)
        if name is None:
            extra.append(index)
        elif name in columns:
            duplicates.setdefault(name, [columns[name]]).append(index)
        else:
            columns[name] = index
    return HeaderMap(row_number, columns, titles, extra, duplicates)


REQUIRED: dict[SheetType, tuple[Field, ...]] = {
    SheetType.BILLS: (Field.NUMBER, Field.CUSTOMER, Field.DUE_DATE),
    SheetType.SCHOOL_BILLS: (Field.NIS, Field.DUE_DATE),
    SheetType.CUSTOMERS: (Field.CUSTOMER,),
    SheetType.STUDENTS: (Field.NIS, Field.PARENT),
}


# The fields each template names, to recognise a header that misses a required column.
TEMPLATE_FIELDS: dict[SheetType, frozenset[Field]] = {
    SheetType.BILLS: frozenset({
        Field.NUMBER, Field.CUSTOMER, Field.EMAIL, Field.PHONE, Field.DUE_DATE, Field.PRODUCT,
        Field.QUANTITY, Field.UNIT_PRICE, Field.AMOUNT, Field.DESCRIPTION,
    }),
    SheetType.SCHOOL_BILLS: frozenset({
        Field.NIS, Field.STUDENT, Field.CLASS, Field.DUE_DATE, Field.DESCRIPTION,
    }),
    SheetType.CUSTOMERS: frozenset({Field.CUSTOMER, Field.PHONE, Field.EMAIL, Field.LANGUAGE}),
    SheetType.STUDENTS: frozenset({
        Field.NIS, Field.STUDENT, Field.CLASS, Field.PARENT, Field.PARENT_PHONE,
        Field.PARENT_EMAIL, Field.PARENT2, Field.PARENT2_PHONE, Field.PARENT2_EMAIL,
    }),
}  # fmt: skip
# A row naming at least this many of a template's fields is taken as that sheet's header.
MIN_TEMPLATE_FIELDS = 3

# The template's header of each required column, as messages name a missing one.
REQUIRED_TITLES: dict[Field, str] = {
    Field.NUMBER: "No. Invoice / Invoice No",
    Field.CUSTOMER: "Nama Pelanggan / Customer Name",
    Field.DUE_DATE: "Jatuh Tempo / Due Date",
    Field.NIS: "NIS",
    Field.PARENT: "Nama Orang Tua / Parent Name",
}

# Field descriptions, as messages about two columns for one field name it.
FIELD_LABELS: dict[Field, str] = {
    Field.NUMBER: N_("the invoice number"),
    Field.CUSTOMER: N_("the customer name"),
    Field.EMAIL: N_("the e-mail address"),
    Field.PHONE: N_("the phone number"),
    Field.DUE_DATE: N_("the due date"),
    Field.PRODUCT: N_("the product"),
    Field.DESCRIPTION: N_("the description"),
    Field.QUANTITY: N_("the quantity"),
    Field.UNIT_PRICE: N_("the unit price"),
    Field.AMOUNT: N_("the amount"),
    Field.LANGUAGE: N_("the language"),
    Field.NIS: N_("the student number (NIS)"),
    Field.STUDENT: N_("the student name"),
    Field.CLASS: N_("the class"),
    Field.PARENT: N_("the parent name"),
    Field.PARENT_PHONE: N_("the parent's phone number"),
    Field.PARENT_EMAIL: N_("the parent's e-mail address"),
    Field.PARENT2: N_("the second parent's name"),
    Field.PARENT2_PHONE: N_("the second parent's phone number"),
    Field.PARENT2_EMAIL: N_("the second parent's e-mail address"),
    Field.ROW_NUMBER: N_("the row number"),
}


def guess_type(header: HeaderMap) -> SheetType | None:
    """Recognise the sheet type from the fields its header names, or None."""
    fields = set(header.columns)
    if Field.NIS in fields:
        if fields & {Field.PARENT, Field.PARENT_PHONE, Field.PARENT_EMAIL}:
            return SheetType.STUDENTS
        if Field.DUE_DATE in fields:
            return SheetType.SCHOOL_BILLS
        return None
    if Field.NUMBER in fields and Field.DUE_DATE in fields:
        return SheetType.BILLS
    if Field.CUSTOMER in fields and fields & {Field.PHONE, Field.EMAIL}:
        if not fields & {Field.DUE_DATE, Field.AMOUNT, Field.UNIT_PRICE, Field.PRODUCT}:
            return SheetType.CUSTOMERS
    return None


def score(header: HeaderMap) -> int:
    return len(set(header.columns) - {Field.ROW_NUMBER})


def find_header(
    rows: list[list[Any]], forced: SheetType | None
) -> tuple[HeaderMap, SheetType] | None:
    """Find the first row among the top rows whose headers make a recognisable sheet.

    Merged group labels above the header ("Pelanggan" over three columns) fill few cells
    and name no field, so they never win over the real header row.
    """
    best: tuple[int, HeaderMap, SheetType] | None = None
    for index, cells in enumerate(rows[:HEADER_SEARCH_ROWS]):
        header = map_header(index + 1, cells)
        kind = forced if forced and _has_required(header, forced) else guess_type(header)
        if forced and kind != forced:
            continue
        if kind is None:
            continue
        if best is None or score(header) > best[0]:
            best = (score(header), header, kind)
    return (best[1], best[2]) if best else None


def _has_required(header: HeaderMap, kind: SheetType) -> bool:
    return all(name in header.columns for name in REQUIRED[kind])


def find_incomplete_header(
    rows: list[list[Any]], kinds: list[SheetType]
) -> tuple[HeaderMap, SheetType, list[Field]] | None:
    """Find a row that is clearly a header of one of `kinds` but misses required columns.

    Returns the header, its sheet type and the missing required fields. A row qualifies when
    it names at least MIN_TEMPLATE_FIELDS fields of the type's template. The type whose
    template it matches best wins, and on a tie the earlier one in `kinds`.
    """
    best: tuple[int, HeaderMap, SheetType] | None = None
    for index, cells in enumerate(rows[:HEADER_SEARCH_ROWS]):
        header = map_header(index + 1, cells)
        for kind in kinds:
            count = len(set(header.columns) & TEMPLATE_FIELDS[kind])
            if count < MIN_TEMPLATE_FIELDS or _has_required(header, kind):
                continue
            if best is None or count > best[0]:
                best = (count, header, kind)
    if best is None:
        return None
    _, header, kind = best
    missing = [name for name in REQUIRED[kind] if name not in header.columns]
    return header, kind, missing
