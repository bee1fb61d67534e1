"""What parsing needs to know about the organisation, loaded once before the rows are read."""

from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata
from dataclasses import dataclass, field

from billing.invoices import invoice_number_key

EMAIL_PATTERN = re.compile(r"[^@\s]+@[^@\s]+\.[a-z]{2,}", re.IGNORECASE)


@functools.lru_cache(maxsize=65536)
def name_key(name: str) -> str:
    """Fold a name for comparison: no case, invisible characters or repeated spaces.

    Cached, because checking a sheet folds each customer and product name several times.
    """
    return invoice_number_key(unicodedata.normalize("NFKC", name))


@dataclass(frozen=True)
class KnownProduct:
    id: int
    name: str
    price: int | None


@dataclass(frozen=True)
class KnownStudent:
    id: int
    nis: str
    name: str
    class_name: str
    payer_id: int | None  # the guardian Customer who pays
    payer_name: str = ""
    payer_phone: str | None = None
    payer_email: str | None = None


def latest_due_date(today: dt.date, years: int) -> dt.date:
    """Return the day `years` years after today; 29 February becomes 28 February."""
    try:
        return today.replace(year=today.year + years)
    except ValueError:
        return today.replace(year=today.year + years, day=28)


@dataclass
class ParseContext:
    """The organisation's catalogue and students, the limits, and the date bills start from."""

    today: dt.date
    max_amount: int
    latest_due: dt.date  # due dates after this day are rejected as placeholders
    products: dict[str, KnownProduct] = field(default_factory=dict)  # by name_key
    students: dict[str, KnownStudent] = field(default_factory=dict)  # by folded NIS
