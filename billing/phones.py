"""Phone numbers: every Indonesian spelling to E.164, and nothing guessed."""

from __future__ import annotations

import re

import phonenumbers

_SEPARATORS = re.compile(r"[\s.\-\u2010-\u2015\u00a0()/]+")


def normalise_phone(value: object, region: str = "ID") -> str | None:
    """Return the E.164 form of a phone number, or None when it is not a valid mobile number.

    Accepts numbers that lost their leading 0 (812...), 62/+62 prefixes, separators, and
    numbers stored as numbers. Landlines and doubtful values return None.
    """
    if value is None:
        return None
    if isinstance(value, float):
        if not value.is_integer():
            return None
        value = int(value)
    text = _SEPARATORS.sub("", str(value).strip())
    if not text:
        return None
    if not re.fullmatch(r"\+?\d{6,16}", text):
        return None
    if text.startswith("8") and region == "ID":
        text = "0" + text
    elif text.startswith("62") and region == "ID":
        text = "+" + text
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    kind = phonenumbers.number_type(number)
    if kind not in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
