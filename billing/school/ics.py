"""Calendar export as an iCalendar (.ics) file, written to RFC 5545 by hand.

All-day events use DATE values with an exclusive DTEND (the day after the last day).
Timed events are written in UTC. The calendar stores no end time, so they last one hour.
Lines end in CRLF and are folded at 75 octets without splitting a UTF-8 character.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from zoneinfo import ZoneInfo

from billing.school.calendar import event_title
from locales import tr
from models import CalendarEvent, Organisation
from models.types import utcnow

MAX_LINE_OCTETS = 75
TIMED_EVENT_LENGTH = dt.timedelta(hours=1)


def escape_text(value: str) -> str:
    """Escape a TEXT value: backslash, semicolon, comma and line breaks (RFC 5545 3.3.11)."""
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return value.replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n")


def fold_line(line: str) -> str:
    """Fold a content line into chunks of at most 75 octets joined by CRLF and a space."""
    encoded = line.encode("utf-8")
    if len(encoded) <= MAX_LINE_OCTETS:
        return line
    chunks: list[str] = []
    current = ""
    size = 0
    limit = MAX_LINE_OCTETS
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            chunks.append(current)
            current, size = "", 0
            limit = MAX_LINE_OCTETS - 1  # the leading space of a continuation line counts
        current += char
        size += width
    chunks.append(current)
    return "\r\n ".join(chunks)


def _utc_stamp(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def _event_lines(
    event: CalendarEvent, organisation: Organisation, language: str, stamp: str
) -> list[str]:
    lines = [
        "BEGIN:VEVENT",
        f"UID:calendar-event-{event.id}@{organisation.slug}.tagih",
        f"DTSTAMP:{stamp}",
    ]
    if event.start_time is None:
        end = event.end_date + dt.timedelta(days=1)
        lines.append(f"DTSTART;VALUE=DATE:{event.start_date:%Y%m%d}")
        lines.append(f"DTEND;VALUE=DATE:{end:%Y%m%d}")
    else:
        zone = ZoneInfo(organisation.timezone)
        start = dt.datetime.combine(event.start_date, event.start_time, tzinfo=zone)
        end_at = dt.datetime.combine(event.end_date, event.start_time, tzinfo=zone)
        lines.append(f"DTSTART:{_utc_stamp(start)}")
        lines.append(f"DTEND:{_utc_stamp(end_at + TIMED_EVENT_LENGTH)}")
    lines.append(f"SUMMARY:{escape_text(event_title(event, language))}")
    classes = ", ".join(event.audience) or tr(language, "whole school")
    description = tr(language, "For: {classes}", classes=classes)
    lines.append(f"DESCRIPTION:{escape_text(description)}")
    lines.append("TRANSP:TRANSPARENT")
    lines.append("END:VEVENT")
    return lines


def export_ics(
    organisation: Organisation,
    events: Iterable[CalendarEvent],
    *,
    language: str,
    now: dt.datetime | None = None,
) -> bytes:
    """Return the events as an .ics file (UTF-8, CRLF line ends) that phone calendars import."""
    stamp = _utc_stamp(now or utcnow())
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Tagih//School calendar//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape_text(organisation.name)}",
        f"X-WR-TIMEZONE:{organisation.timezone}",
    ]
    for event in events:
        lines.extend(_event_lines(event, organisation, language, stamp))
    lines.append("END:VCALENDAR")
    return "".join(fold_line(line) + "\r\n" for line in lines).encode("utf-8")
