"""The months a fee run may bill: none past due, none too far ahead."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from billing.errors import UserError
from models import Organisation
from models.types import utcnow

if TYPE_CHECKING:
    # billing.school.fees imports this module to check every run's month.
    from billing.school.fees import FeeRunPreview

# A run further ahead is most likely a typo in the year, and its bills would stay open
# for years.
MAX_MONTHS_AHEAD = 24


def local_today(organisation: Organisation, now: dt.datetime | None = None) -> dt.date:
    """Return today's date in the organisation's time zone."""
    return (now or utcnow()).astimezone(ZoneInfo(organisation.timezone)).date()


def months_ahead(year: int, month: int, today: dt.date) -> int:
    """Return how many months (year, month) lies after today's month, negative if before."""
    return (year * 12 + month) - (today.year * 12 + today.month)


def last_billable_month(today: dt.date) -> tuple[int, int]:
    index = today.year * 12 + today.month - 1 + MAX_MONTHS_AHEAD
    return index // 12, index % 12 + 1


def run_period_problem(
    year: int,
    month: int,
    due_dates: Iterable[dt.date],
    *,
    today: dt.date,
    allow_past: bool = False,
) -> UserError | None:
    """Return why a run of (year, month) with these due dates is rejected, or None.

    A month is rejected when any invoice it would issue is due before today, unless
    allow_past, because those invoices would be overdue at once. A month more than
    MAX_MONTHS_AHEAD after today's month is always rejected.
    """
    period = f"{year:04d}-{month:02d}"
    if months_ahead(year, month, today) > MAX_MONTHS_AHEAD:
        last_year, last_month = last_billable_month(today)
        return UserError(
            "school.period_too_far",
            "The month {period} is more than {max} months ahead. "
            "Check the year, and bill a month up to {last}.",
            period=period,
            max=MAX_MONTHS_AHEAD,
            last=f"{last_year:04d}-{last_month:02d}",
        )
    earliest = min(due_dates, default=None)
    if allow_past or earliest is None or earliest >= today:
        return None
    return UserError(
        "school.period_past",
        "The due date of {period}, {due_date}, has already passed, so its invoices would be "
        "overdue at once. Bill a month whose due date is still ahead.",
        period=period,
        due_date=earliest.isoformat(),
    )


def check_run_period(
    organisation: Organisation,
    preview: FeeRunPreview,
    *,
    allow_past: bool = False,
    now: dt.datetime | None = None,
) -> None:
    """Raise the UserError of run_period_problem for a previewed run, if it has one.

    Today is taken in the school's time zone, and only invoices the run would issue count.
    """
    year, month = map(int, preview.period.split("-"))  # preview periods are YYYY-MM
    problem = run_period_problem(
        year,
        month,
        [item.due_date for item in preview.new],
        today=local_today(organisation, now),
        allow_past=allow_past,
    )
    if problem is not None:
        raise problem
