"""Phone numbers: every Indonesian spelling to E.164, and nothing guessed."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

import phonenumbers

_SEPARATORS = re.compile(r"[\s.\-\u2010-\u2015\u2212\u00a0\u202f()/]+")
# Words people write instead of a number when there is none.
NO_NUMBER_WORDS = frozenset(
    {"-", "--", "0", "tidak ada", "tdk ada", "belum ada", "kosong", "none", "n/a", "na", "nil",
     "no", "tidak punya", "x"}
)  # fmt: skip
_LIST_SPLIT = re.compile(r"\s*(?:/|;|,|\bor\b|\batau\b|\bdan\b|&)\s*", re.IGNORECASE)
_ANNOTATION = re.compile(r"\s*(?:\([^()\d]*[a-z][^()\d]*\)|\s[a-z][a-z .]*)$", re.IGNORECASE)
_TRUNK_AFTER_CODE = re.compile(r"^\+62\s*\(0\)\s*|^\+62[\s\-.]*0(?=\d)")
# A mobile number written plainly ("0812-3456-7890", "+62 812 3456 7890"): no further cleaning.
_PLAIN_MOBILE = re.compile(r"(?:\+62 ?|62|0)8\d{2}[\d\- .]{6,14}")
_PHONE_CHARS = re.compile(r"\+?[\d\s.\-\u2010-\u2015\u2212\u00a0\u202f()/]+")


class PhoneKind(StrEnum):
    MOBILE = "mobile"
    LANDLINE = "landline"  # a valid Indonesian number that WhatsApp and SMS may not reach
    FOREIGN = "foreign"


class PhoneProblem(StrEnum):
    INVALID = "invalid"  # not a phone number at all, or a letter among the digits
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    SCIENTIFIC = "scientific"  # "6.28E+12" typed or exported as text: the digits are lost
    NOT_A_NUMBER = "not_a_number"  # digits that form no valid number


class PhoneNote(StrEnum):
    FIRST_OF_SEVERAL = "first_of_several"
    TRUNK_ZERO_DROPPED = "trunk_zero_dropped"  # "+62 0812...": the 0 after +62 was removed


@dataclass
class ParsedPhone:
    """The outcome of reading a phone cell: an E.164 number, nothing, or a problem."""

    e164: str | None = None
    kind: PhoneKind | None = None
    problem: PhoneProblem | None = None
    notes: list[PhoneNote] = field(default_factory=list)

    @property
    def missing(self) -> bool:
        return self.e164 is None and self.problem is None


def parse_phone(value: object, region: str = "ID") -> ParsedPhone:
    """Read a phone cell in any Indonesian spelling and return its E.164 form or a problem.

    Accepts numbers that lost their leading 0, 62/+62 prefixes, "+62 (0)", separators,
    numbers stored as numbers, an annotation such as "(WA)", and several numbers in one cell
    (the first is taken and noted). A blank cell or a word for "none" returns a missing number.
    """
    if value is None:
        return ParsedPhone()
    if isinstance(value, str) and _PLAIN_MOBILE.fullmatch(value):
        return _parse_digits(_SEPARATORS.sub("", value), region)
    if isinstance(value, bool):
        return ParsedPhone(problem=PhoneProblem.INVALID)
    if isinstance(value, float):
        if not value.is_integer():
            return ParsedPhone(problem=PhoneProblem.INVALID)
        value = int(value)
    text = " ".join(str(value).replace("\u00a0", " ").split()).lstrip("'").strip()
    if not text or text.casefold() in NO_NUMBER_WORDS:
        return ParsedPhone()
    if re.fullmatch(r"\d+(?:[.,]\d+)?e\+?\d+", text, re.IGNORECASE):
        return ParsedPhone(problem=PhoneProblem.SCIENTIFIC)
    notes: list[PhoneNote] = []
    parts = [part for part in _LIST_SPLIT.split(text) if part.strip()]
    if len(parts) > 1 and all(sum(c.isdigit() for c in part) >= 8 for part in parts):
        notes.append(PhoneNote.FIRST_OF_SEVERAL)
        text = parts[0]
    text = _ANNOTATION.sub("", text).strip()
    if not _PHONE_CHARS.fullmatch(text):
        return ParsedPhone(problem=PhoneProblem.INVALID)
    if _TRUNK_AFTER_CODE.match(text):
        notes.append(PhoneNote.TRUNK_ZERO_DROPPED)
        text = _TRUNK_AFTER_CODE.sub("+62", text)
    result = _parse_digits(_SEPARATORS.sub("", text), region)
    result.notes = notes + result.notes
    return result


def _indonesian_mobile_pattern() -> re.Pattern[str]:
    """Indonesian mobile numbers after the country code, from phonenumbers' own metadata."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region("ID")
    assert metadata is not None and metadata.mobile.national_number_pattern is not None
    return re.compile(metadata.mobile.national_number_pattern)


_ID_MOBILE = _indonesian_mobile_pattern()
_ID_PREFIX = re.compile(r"^(?:\+62|62|0)?(8\d+)$")


def _parse_digits(digits: str, region: str) -> ParsedPhone:
    if not re.fullmatch(r"\+?\d+", digits):
        return ParsedPhone(problem=PhoneProblem.INVALID)
    # Most cells hold an Indonesian mobile number: match it against the same metadata that
    # phonenumbers.is_valid_number uses, without its general parsing (a sheet has many rows).
    if region == "ID" and (match := _ID_PREFIX.match(digits)) and _ID_MOBILE.fullmatch(match[1]):
        return ParsedPhone(e164="+62" + match[1], kind=PhoneKind.MOBILE)
    if region == "ID" and not digits.startswith("+"):
        if digits.startswith("62"):
            digits = "+" + digits
        elif digits.startswith("8"):
            digits = "0" + digits  # a mobile number that lost its leading 0
        elif not digits.startswith("0"):
            return ParsedPhone(problem=PhoneProblem.NOT_A_NUMBER)
    try:
        number = phonenumbers.parse(digits, region)
    except phonenumbers.NumberParseException:
        return ParsedPhone(problem=PhoneProblem.INVALID)
    national = str(number.national_number)
    if number.country_code == 62 and national.startswith("8"):
        # Indonesian mobile numbers have 9 to 12 digits after the country code.
        if len(national) < 9:
            return ParsedPhone(problem=PhoneProblem.TOO_SHORT)
        if len(national) > 12:
            return ParsedPhone(problem=PhoneProblem.TOO_LONG)
    possible = phonenumbers.is_possible_number_with_reason(number)
    if possible == phonenumbers.ValidationResult.TOO_SHORT:
        return ParsedPhone(problem=PhoneProblem.TOO_SHORT)
    if possible == phonenumbers.ValidationResult.TOO_LONG:
        return ParsedPhone(problem=PhoneProblem.TOO_LONG)
    if not phonenumbers.is_valid_number(number):
        return ParsedPhone(problem=PhoneProblem.NOT_A_NUMBER)
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if phonenumbers.region_code_for_number(number) != region:
        return ParsedPhone(e164=e164, kind=PhoneKind.FOREIGN)
    kind = phonenumbers.number_type(number)
    mobile = (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    )
    return ParsedPhone(e164=e164, kind=PhoneKind.MOBILE if kind in mobile else PhoneKind.LANDLINE)


def normalise_phone(value: object, region: str = "ID") -> str | None:
    """Return the E.164 form of a mobile number of the region, or None for anything else.

    Landlines, foreign numbers, several numbers in one cell and doubtful values return None.
    """
    parsed = parse_phone(value, region)
    if parsed.kind != PhoneKind.MOBILE or PhoneNote.FIRST_OF_SEVERAL in parsed.notes:
        return None
    return parsed.e164
