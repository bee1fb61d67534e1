"""Names, e-mail addresses and phones of payers, read with the checks every sheet type shares."""

from __future__ import annotations

from typing import Any

from billing.phones import ParsedPhone, PhoneKind, PhoneNote, PhoneProblem, parse_phone
from billing.sheets.context import EMAIL_PATTERN
from billing.sheets.headers import Field
from billing.sheets.reader import RowReader
from billing.sheets.values import CellError, clean_text, display_value
from locales import msg

MAX_NAME_LENGTH = 200
MAX_EMAIL_LENGTH = 254


def parse_name(value: Any) -> str:
    name = clean_text(value)
    if len(name) > MAX_NAME_LENGTH:
        raise CellError(
            msg("The name is longer than {limit} characters. Shorten it.", limit=MAX_NAME_LENGTH),
            "too_long",
        )
    return name


def parse_email(value: Any) -> str | None:
    text = clean_text(value)
    if not text or text.casefold() in ("-", "tidak ada", "none", "n/a"):
        return None
    text = text.removeprefix("mailto:")
    if len(text) > MAX_EMAIL_LENGTH or not EMAIL_PATTERN.fullmatch(text):
        raise CellError(
            msg(
                "{value} is not a valid e-mail address. Write it as name@example.com.",
                value=display_value(value),
            ),
            "invalid",
        )
    return text.lower()


PHONE_MESSAGES = {
    PhoneProblem.TOO_SHORT: msg(
        "The phone number {value} is too short. Write the whole number, for example "
        "0812-3456-7890."
    ),
    PhoneProblem.TOO_LONG: msg(
        "The phone number {value} is too long. Check for extra digits, or put a second "
        "number in another column."
    ),
    PhoneProblem.SCIENTIFIC: msg(
        "The phone number {value} was saved in scientific notation, so its last digits are "
        "lost. Format the column as Text and type the number again."
    ),
    PhoneProblem.INVALID: msg(
        "{value} is not a phone number. Use digits only, for example 0812-3456-7890; "
        "check for letters such as l or O among the digits."
    ),
    PhoneProblem.NOT_A_NUMBER: msg(
        "The phone number {value} does not exist. Check the digits; write it as 0812-3456-7890 "
        "or +62 812-3456-7890."
    ),
}


def read_phone(reader: RowReader, name: Field) -> tuple[str | None, bool]:
    """Read a phone column; return (E.164 or None, whether the cell was usable)."""
    raw = reader.raw(name)
    if raw is None or reader.column(name) is None:
        return None, True
    parsed = reader.parse(name, parse_phone)
    if parsed is None:
        return None, False
    if parsed.problem is not None:
        template = PHONE_MESSAGES[parsed.problem]
        reader.fail(name, f"phone.{parsed.problem.value}", msg(template.message, value=raw))
        return None, False
    _warn_phone(reader, name, parsed, raw)
    return parsed.e164, True


def _warn_phone(reader: RowReader, name: Field, parsed: ParsedPhone, raw: Any) -> None:
    if PhoneNote.FIRST_OF_SEVERAL in parsed.notes:
        reader.warn(
            name,
            "phone.first_of_several",
            msg(
                "The cell holds several phone numbers; only the first, {phone}, is used.",
                phone=parsed.e164,
            ),
        )
    if PhoneNote.TRUNK_ZERO_DROPPED in parsed.notes:
        reader.warn(
            name,
            "phone.trunk_zero",
            msg("The 0 after +62 was dropped: the number is read as {phone}.", phone=parsed.e164),
        )
    if parsed.kind == PhoneKind.LANDLINE:
        reader.warn(
            name,
            "phone.landline",
            msg(
                "{phone} is a landline, so WhatsApp and SMS may not reach it. Add a mobile "
                "number or an e-mail address if you have one.",
                phone=parsed.e164,
            ),
        )
    elif parsed.kind == PhoneKind.FOREIGN:
        reader.warn(
            name,
            "phone.foreign",
            msg("{phone} is not an Indonesian number; check that it is right.", phone=parsed.e164),
        )
