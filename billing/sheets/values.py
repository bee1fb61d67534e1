"""Cell values to typed values: text, rupiah amounts, day-first dates and quantities.

Each parser returns the value or raises CellError, whose message names the value and the fix.
Nothing is guessed: a value that could mean two things is rejected.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import Any

from locales import Msg, format_rupiah, msg

# Excel's day 0 in the 1900 date system is 1899-12-31, but Excel counts a 29 February 1900
# that never existed, so serials from 61 on are days since 1899-12-30.
EPOCH_1900 = dt.date(1899, 12, 30)
EPOCH_1904 = dt.date(1904, 1, 1)
# Serials accepted as dates: 1 January 2000 to 31 December 2099 in the 1900 system.
SERIAL_RANGE_1900 = (36526, 73415)


class CellError(ValueError):
    """A cell value that cannot be used. `message` explains why and how to fix it."""

    def __init__(self, message: Msg, code: str):
        super().__init__(code)
        self.message = message
        self.code = code


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and clean_text(value) == "")


def clean_text(value: Any) -> str:
    """Return cell text without control or invisible characters and with single spaces."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value)
    if text.isascii() and text.isprintable():
        # Printable ASCII has no whitespace but spaces, and most cells need no change.
        if "  " in text or text[:1] == " " or text[-1:] == " ":
            return " ".join(text.split())
        return text
    text = unicodedata.normalize("NFC", text)
    kept = []
    for char in text:
        category = unicodedata.category(char)
        if category in ("Cc", "Cf", "Zl", "Zp"):
            kept.append(" " if char in "\t\n\r\u2028\u2029" else "")
        elif category == "Zs":
            kept.append(" ")
        else:
            kept.append(char)
    return " ".join("".join(kept).split())


def cell_text(value: Any) -> str:
    """Return the text the user sees for an identifier cell: 1002.0 becomes "1002"."""
    # calamine returns a cell's stored number, not its displayed text, so the reader replaces
    # numbers in identifier columns with the text their number format shows ("00123") first.
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, (dt.datetime, dt.date)):  # a tuple: no union built per call
        return value.isoformat()
    return clean_text(value)


def display_value(value: Any) -> Any:
    """Return a cell value in a form JSON can carry and a person can read."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dt.date | dt.datetime | dt.time | dt.timedelta):
        return value.isoformat() if not isinstance(value, dt.timedelta) else str(value)
    if isinstance(value, str):
        return value
    return value


# --- amounts ---------------------------------------------------------------------------

_CURRENCY = re.compile(r"^(?:rp\.?|idr)\s*|\s*(?:rp\.?|idr)$", re.IGNORECASE)
_COLLOQUIAL = re.compile(r"\d\s*(?:jt|juta|rb|ribu|k|m|miliar|milyar|em)\b\.?", re.IGNORECASE)
_GROUPED = re.compile(r"^\d{1,3}(?:[.,\s]\d{3})+$")


def parse_amount(value: Any, *, maximum: int) -> int:
    """Parse a whole-rupiah amount from a number or from text such as "Rp 1.500.000,00".

    Zero, negative, fractional, colloquial ("1,5 jt") and out-of-range amounts raise CellError.
    """
    if is_blank(value):
        raise CellError(msg("The amount is missing. Enter the amount in rupiah."), "missing")
    if isinstance(value, bool) or isinstance(value, dt.date | dt.time | dt.timedelta):
        raise _not_an_amount(value)
    if isinstance(value, int | float):
        amount = _whole_rupiah(float(value), value)
    else:
        amount = _parse_amount_text(clean_text(value))
    if amount == 0:
        raise CellError(
            msg("The amount is 0. Enter the amount to bill, or delete the row."), "zero"
        )
    if amount < 0:
        raise CellError(
            msg("The amount {value} is negative. Bills need a positive amount.", value=value),
            "negative",
        )
    if amount > maximum:
        raise CellError(
            msg(
                "The amount {value} is above the limit of {maximum} per bill. "
                "Check for extra digits.",
                value=value,
                maximum=format_rupiah(maximum),
            ),
            "too_large",
        )
    return amount


def _whole_rupiah(number: float, shown: Any) -> int:
    rounded = round(number)
    # Formula results carry float noise (1500000.0000000002); a cent or more is a real fraction.
    if abs(number - rounded) >= 0.01:
        raise CellError(
            msg(
                "The amount {value} has a fraction of a rupiah. Use whole rupiah.",
                value=shown,
            ),
            "fraction",
        )
    return int(rounded)


def _not_an_amount(value: Any) -> CellError:
    return CellError(
        msg(
            "{value} is not an amount. Write the amount in rupiah, for example 1500000 "
            "or Rp1.500.000.",
            value=display_value(value),
        ),
        "invalid",
    )


def _parse_amount_text(text: str) -> int:
    original = text
    negative = False
    if text.startswith("(") and text.endswith(")"):
        negative, text = True, text[1:-1].strip()
    if text.startswith("-"):
        negative, text = True, text[1:].strip()
    text = _CURRENCY.sub("", text).strip()
    if text.startswith("-"):
        negative, text = True, text[1:].strip()
    text = re.sub(r"[,.]-$", "", text).strip()
    if _COLLOQUIAL.search(text):
        raise CellError(
            msg(
                "The amount {value} uses a word for thousands or millions. "
                "Write all the digits, for example 1500000.",
                value=original,
            ),
            "colloquial",
        )
    number = _digits_to_number(text)
    if number is None:
        raise _not_an_amount(original)
    whole, fraction = number
    if fraction.strip("0"):
        raise CellError(
            msg(
                "The amount {value} has a fraction of a rupiah. Use whole rupiah.",
                value=original,
            ),
            "fraction",
        )
    return -whole if negative else whole


def _digits_to_number(text: str) -> tuple[int, str] | None:
    """Split "1.500.000,00" into (1500000, "00"); None when the separators are ambiguous."""
    if re.fullmatch(r"\d+", text):
        return int(text), ""
    if _GROUPED.fullmatch(text) and len(set(re.findall(r"[.,\s]", text))) == 1:
        return int(re.sub(r"\D", "", text)), ""
    # A decimal part: the last separator followed by one or two digits.
    match = re.fullmatch(r"(.+?)([.,])(\d{1,2})", text)
    if match:
        head, separator, fraction = match.groups()
        other = "," if separator == "." else "."
        if separator in head:
            return None
        if re.fullmatch(r"\d+", head) or (
            _GROUPED.fullmatch(head) and set(re.findall(r"[.,\s]", head)) <= {other, " "}
        ):
            return int(re.sub(r"\D", "", head)), fraction
    return None


# --- quantities ------------------------------------------------------------------------


def parse_quantity(value: Any) -> int:
    """Parse a positive whole quantity; blank means 1."""
    if is_blank(value):
        return 1
    number: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str) and re.fullmatch(r"\d+(?:[.,]0+)?", clean_text(value)):
        number = float(re.split(r"[.,]", clean_text(value))[0])
    if number is None or not number.is_integer() or number <= 0:
        raise CellError(
            msg(
                "The quantity {value} is invalid. Use a whole number of 1 or more.",
                value=display_value(value),
            ),
            "invalid",
        )
    return int(number)


# --- dates -----------------------------------------------------------------------------

MONTHS = {
    "januari": 1, "january": 1, "jan": 1,
    "februari": 2, "february": 2, "pebruari": 2, "feb": 2, "peb": 2,
    "maret": 3, "march": 3, "mar": 3,
    "april": 4, "apr": 4,
    "mei": 5, "may": 5,
    "juni": 6, "june": 6, "jun": 6,
    "juli": 7, "july": 7, "jul": 7,
    "agustus": 8, "august": 8, "agu": 8, "agt": 8, "ags": 8, "aug": 8, "agst": 8,
    "september": 9, "sept": 9, "sep": 9,
    "oktober": 10, "october": 10, "okt": 10, "oct": 10,
    "november": 11, "nopember": 11, "nov": 11, "nop": 11,
    "desember": 12, "december": 12, "des": 12, "dec": 12,
}  # fmt: skip
WEEKDAYS = (
    "senin", "selasa", "rabu", "kamis", "jumat", "jum'at", "sabtu", "minggu", "ahad",
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
    "mon", "tue", "wed", "thu", "fri", "sat", "sun",
)  # fmt: skip

_WEEKDAY_PREFIX = re.compile(r"^(?:" + "|".join(re.escape(w) for w in WEEKDAYS) + r")\b[,.]?\s*")
_NUMERIC_DMY = re.compile(r"(\d{1,2})([/.\-])(\d{1,2})\2(\d{4}|\d{2})")
_NUMERIC_YMD = re.compile(r"(\d{4})([/.\-])(\d{1,2})\2(\d{1,2})")
_NAMED_DMY = re.compile(r"(\d{1,2})[\s\-/.]+([a-z']+)\.?[\s\-/.,]+(\d{4})")
_NAMED_MDY = re.compile(r"([a-z']+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})")
# A time after a date, as in "15/03/2031 14:30".
_TIME_SUFFIX = re.compile(r"[\sT]+\d{1,2}[:.]\d{2}(?:[:.]\d{2})?$")


def serial_to_date(serial: float, *, date1904: bool) -> dt.date:
    """Convert an Excel date serial to a date in the workbook's date system, without its time."""
    days = int(serial)
    if date1904:
        return EPOCH_1904 + dt.timedelta(days=days)
    return EPOCH_1900 + dt.timedelta(days=days)


def parse_date(value: Any, *, date1904: bool) -> dt.date:
    """Parse a date cell: a real date, an Excel serial, or day-first text in either language."""
    if is_blank(value):
        raise CellError(msg("The date is missing. Enter it as dd/mm/yyyy."), "missing")
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _serial_date(float(value), date1904=date1904)
    if not isinstance(value, str):
        raise _not_a_date(value)
    return _parse_date_text(clean_text(value))


def _serial_date(serial: float, *, date1904: bool) -> dt.date:
    low, high = SERIAL_RANGE_1900
    if date1904:
        low, high = low - 1462, high - 1462
    if not low <= serial <= high:
        raise _not_a_date(serial)
    return serial_to_date(serial, date1904=date1904)


def _not_a_date(value: Any) -> CellError:
    return CellError(
        msg(
            "{value} is not a date. Enter the date as dd/mm/yyyy, for example 31/01/2031.",
            value=display_value(value),
        ),
        "invalid",
    )


def is_ambiguous_day_month(value: Any) -> bool:
    """Return whether a text date such as "03/04/2031" also makes sense month first.

    Real date cells and serials carry no order, and a day equal to its month reads the same
    both ways, so neither is ambiguous.
    """
    if not isinstance(value, str):
        return False
    lowered = _WEEKDAY_PREFIX.sub("", clean_text(value).casefold()).strip()
    match = _NUMERIC_DMY.fullmatch(_TIME_SUFFIX.sub("", lowered))
    if match is None:
        return False
    day, month = int(match[1]), int(match[3])
    return day <= 12 and month <= 12 and day != month


def _parse_date_text(text: str) -> dt.date:
    lowered = _WEEKDAY_PREFIX.sub("", text.casefold()).strip()
    if re.fullmatch(r"\d{5}(?:\.0+)?", lowered):
        raise CellError(
            msg(
                "{value} looks like an Excel date number stored as text. "
                "Format the cell as a date and enter it again, as dd/mm/yyyy.",
                value=text,
            ),
            "serial_text",
        )
    # A time after the date ("15/03/2031 14:30") is dropped.
    lowered = _TIME_SUFFIX.sub("", lowered)
    day = month = year = None
    if match := _NUMERIC_YMD.fullmatch(lowered):
        year, month, day = int(match[1]), int(match[3]), int(match[4])
    elif match := _NUMERIC_DMY.fullmatch(lowered):
        day, month, year = int(match[1]), int(match[3]), _four_digit_year(match[4])
        if month > 12 and day <= 12:
            raise CellError(
                msg(
                    "{value} has no month {month}. Dates are read day first: "
                    "write dd/mm/yyyy, for example 15/03/2031.",
                    value=text,
                    month=month,
                ),
                "month_first",
            )
    elif match := _NAMED_DMY.fullmatch(lowered):
        day, month, year = int(match[1]), MONTHS.get(match[2].strip("'")), int(match[3])
    elif match := _NAMED_MDY.fullmatch(lowered):
        month, day, year = MONTHS.get(match[1]), int(match[2]), int(match[3])
    if day is None or month is None or year is None:
        raise _not_a_date(text)
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise CellError(
            msg("{value} is not a real date. Check the day and the month.", value=text),
            "impossible",
        ) from None


def _four_digit_year(text: str) -> int:
    # Two-digit years are always this century: bills are never due in the 1900s.
    return 2000 + int(text) if len(text) == 2 else int(text)
