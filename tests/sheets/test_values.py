"""Cell parsers: amounts, dates, quantities, headers and phones, case by case."""

from __future__ import annotations

import datetime as dt

import pytest

from billing.phones import PhoneKind, PhoneProblem, normalise_phone, parse_phone
from billing.sheets.headers import Field, field_for
from billing.sheets.values import (
    CellError,
    cell_text,
    clean_text,
    parse_amount,
    parse_date,
    parse_quantity,
)

LIMIT = 10_000_000_000


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Rp1.500.000", 1500000),
        ("Rp 1.500.000,00", 1500000),
        ("1,500,000", 1500000),
        ("1,500,000.00", 1500000),
        ("IDR 75.000,-", 75000),
        ("Rp. 75.000,-", 75000),
        ("75000", 75000),
        ("1 500 000", 1500000),
        ("Rp\u00a02.000.000", 2000000),
        (1500000.0000000002, 1500000),
        (350000, 350000),
    ],
)
def test_amount_parsed(value: object, expected: int) -> None:
    assert parse_amount(value, maximum=LIMIT) == expected


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("Rp 1,5 jt", "colloquial"),
        ("250rb", "colloquial"),
        ("-50000", "negative"),
        ("(50.000)", "negative"),
        (0, "zero"),
        ("1.500.000,50", "fraction"),
        (1500.5, "fraction"),
        ("1.5", "fraction"),
        ("", "missing"),
        ("Rp 999.999.999.999", "too_large"),
        ("1.500,000", "invalid"),
        ("abc", "invalid"),
        (True, "invalid"),
    ],
)
def test_amount_rejected(value: object, code: str) -> None:
    with pytest.raises(CellError) as raised:
        parse_amount(value, maximum=LIMIT)
    assert raised.value.code == code


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("15/03/2031", dt.date(2031, 3, 15)),
        ("15-03-2031", dt.date(2031, 3, 15)),
        ("15.03.2031", dt.date(2031, 3, 15)),
        ("03/04/2031", dt.date(2031, 4, 3)),
        ("2031-03-15", dt.date(2031, 3, 15)),
        ("2031/03/15", dt.date(2031, 3, 15)),
        ("15 Maret 2031", dt.date(2031, 3, 15)),
        ("15 Agt 2031", dt.date(2031, 8, 15)),
        ("31 Desember 2031", dt.date(2031, 12, 31)),
        ("Mar 15, 2031", dt.date(2031, 3, 15)),
        ("15 March 2031", dt.date(2031, 3, 15)),
        ("Senin, 17 Maret 2031", dt.date(2031, 3, 17)),
        ("15/03/31", dt.date(2031, 3, 15)),
        ("15/03/2031 14:30", dt.date(2031, 3, 15)),
        (47922, dt.date(2031, 3, 15)),
        (47922.6, dt.date(2031, 3, 15)),
        (dt.datetime(2031, 3, 15, 14, 30), dt.date(2031, 3, 15)),  # noqa: DTZ001 (Excel times are naive)
    ],
)
def test_date_parsed(value: object, expected: dt.date) -> None:
    assert parse_date(value, date1904=False) == expected


def test_date_serial_1904() -> None:
    assert parse_date(46460, date1904=True) == dt.date(2031, 3, 15)


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("03/15/2031", "month_first"),
        ("31/02/2031", "impossible"),
        ("47922", "serial_text"),
        ("akhir bulan", "invalid"),
        (123, "invalid"),
        ("", "missing"),
    ],
)
def test_date_rejected(value: object, code: str) -> None:
    with pytest.raises(CellError) as raised:
        parse_date(value, date1904=False)
    assert raised.value.code == code


@pytest.mark.parametrize(("value", "expected"), [(None, 1), (2.0, 2), ("3", 3), ("4,0", 4)])
def test_quantity_parsed(value: object, expected: int) -> None:
    assert parse_quantity(value) == expected


@pytest.mark.parametrize("value", [0, -1, 1.5, "dua"])
def test_quantity_rejected(value: object) -> None:
    with pytest.raises(CellError):
        parse_quantity(value)


def test_text_cleaning() -> None:
    assert clean_text("  Budi\u200b  Santoso\n") == "Budi Santoso"
    assert clean_text("\ufeffSiti\u00a0Rahma") == "Siti Rahma"
    assert cell_text(1002.0) == "1002"
    assert cell_text(" INV-1 ") == "INV-1"


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("No. Invoice", Field.NUMBER),
        ("  INVOICE no ", Field.NUMBER),
        ("Nama\nPelanggan", Field.CUSTOMER),
        ("No. HP (WA)", Field.PHONE),
        ("No. HP", Field.PHONE),
        ("Jumlah (Rp)", Field.AMOUNT),
        ("Jatuh Tempo / Due Date", Field.DUE_DATE),
        ("Harga Satuan*", Field.UNIT_PRICE),
        ("E-mail", Field.EMAIL),
        ("SPP Januari", None),
    ],
)
def test_header_recognised(header: str, field: Field | None) -> None:
    assert field_for(header) == field


@pytest.mark.parametrize(
    ("value", "e164", "kind"),
    [
        (81234567890.0, "+6281234567890", PhoneKind.MOBILE),
        ("+62 (0) 812-3456-7898", "+6281234567898", PhoneKind.MOBILE),
        ("021-2555-1234", "+622125551234", PhoneKind.LANDLINE),
        ("+65 9123 4567", "+6591234567", PhoneKind.FOREIGN),
        ("0812-3456-7811 (WA)", "+6281234567811", PhoneKind.MOBILE),
    ],
)
def test_phone_parsed(value: object, e164: str, kind: PhoneKind) -> None:
    parsed = parse_phone(value)
    assert parsed.e164 == e164
    assert parsed.kind == kind


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("0812-345", PhoneProblem.TOO_SHORT),
        ("0812345678901234", PhoneProblem.TOO_LONG),
        ("0812345678l6", PhoneProblem.INVALID),
        ("6.28123456782E+12", PhoneProblem.SCIENTIFIC),
        ("5551234", PhoneProblem.NOT_A_NUMBER),
    ],
)
def test_phone_rejected(value: object, problem: PhoneProblem) -> None:
    assert parse_phone(value).problem == problem


def test_missing_phone_words() -> None:
    assert parse_phone("tidak ada").missing
    assert parse_phone(None).missing
    assert parse_phone(" - ").missing


def test_normalise_phone_takes_mobiles_only() -> None:
    assert normalise_phone("0812-3456-7890") == "+6281234567890"
    assert normalise_phone("021-2555-1234") is None
    assert normalise_phone("+65 9123 4567") is None
    assert normalise_phone("0812-3456-7810 / 0857-1234-5610") is None
