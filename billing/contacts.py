"""E-mail addresses: the one form in which they are stored and compared."""

from __future__ import annotations

import re

from sqlalchemy.sql.elements import ColumnElement

from billing.errors import UserError

EMAIL_PATTERN = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]{2,}")
MAX_EMAIL_LENGTH = 254  # the size of the e-mail columns, and the maximum sheet imports accept


def email_key(value: str) -> str:
    """Fold an e-mail address for storing and comparison: no outer spaces, lower case.

    The chat and sheet imports lower-case what people type, so every stored address and
    every lookup goes through this fold to find the same person.
    """
    return value.strip().lower()


def checked_email(value: str | None) -> str | None:
    """Return the stored form of an e-mail address, None for a blank one.

    Raise UserError naming the value when it does not look like name@example.com.
    """
    text = (value or "").strip()
    if not text:
        return None
    email = email_key(text.removeprefix("mailto:"))
    if len(email) > MAX_EMAIL_LENGTH or not EMAIL_PATTERN.fullmatch(email):
        raise UserError(
            "contact.email_invalid",
            "The e-mail address {email} is invalid. Write it as name@example.com.",
            email=text,
        )
    return email


def email_matches(column: object, email: str) -> ColumnElement[bool]:
    """Build a condition that the e-mail column contains this address.

    Every path that stores an address folds it with email_key, so an exact comparison finds
    it and the column's index serves the lookup.
    """
    return column == email_key(email)  # type: ignore[return-value]
