"""The academic calendar: events for the whole school or some classes, by month."""

from __future__ import annotations

import calendar as stdlib_calendar
import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from babel.dates import format_date as babel_format_date
from sqlmodel import Session, col, select

from billing.errors import NotFound, UserError
from billing.permissions import Action
from billing.school.actors import Actor, clean_classes, require_school
from billing.school.news import parent_classes
from billing.school.sheet import (
    RowProblem,
    SheetRejected,
    SheetResult,
    cell_date,
    cell_text,
    cell_time,
    read_rows,
)
from billing.school.students import check_classes_exist
from locales import Msg, format_date, normalise_language, tr
from models import CalendarEvent, Customer, Organisation
from models.types import utcnow

MAX_EVENT_DAYS = 366


@dataclass
class EventInput:
    title_id: str
    title_en: str
    start_date: dt.date
    end_date: dt.date | None = None
    start_time: dt.time | None = None
    audience: list[str] | None = None


@dataclass
class MonthView:
    """The events of one month that a reader may see, in date order."""

    year: int
    month: int
    events: list[CalendarEvent]

    @property
    def first_day(self) -> dt.date:
        return dt.date(self.year, self.month, 1)

    @property
    def last_day(self) -> dt.date:
        return dt.date(self.year, self.month, stdlib_calendar.monthrange(self.year, self.month)[1])


def shift_month(year: int, month: int, delta: int) -> tuple[int, int]:
    """Return the (year, month) `delta` months away: shift_month(2027, 1, -1) == (2026, 12)."""
    index = year * 12 + (month - 1) + delta
    return index // 12, index % 12 + 1


def this_month(organisation: Organisation, now: dt.datetime | None = None) -> tuple[int, int]:
    """Return the current (year, month) in the organisation's time zone."""
    local = (now or utcnow()).astimezone(ZoneInfo(organisation.timezone))
    return local.year, local.month


def event_title(event: CalendarEvent, language: str | None) -> str:
    if normalise_language(language) == "en":
        return event.title_en or event.title_id
    return event.title_id or event.title_en


def _validated(entry: EventInput) -> tuple[str, str, dt.date, dt.date, list[str]]:
    title_id = " ".join(entry.title_id.split())
    title_en = " ".join(entry.title_en.split())
    if not (title_id or title_en):
        raise UserError("school.event_title_missing", "The event needs a title.")
    end = entry.end_date or entry.start_date
    if end < entry.start_date:
        raise UserError(
            "school.event_dates_reversed",
            "The event ends ({end}) before it starts ({start}). Swap the dates.",
            start=entry.start_date.isoformat(),
            end=end.isoformat(),
        )
    if (end - entry.start_date).days >= MAX_EVENT_DAYS:
        raise UserError(
            "school.event_too_long",
            "An event can last at most {days} days.",
            days=MAX_EVENT_DAYS,
        )
    return title_id, title_en, entry.start_date, end, clean_classes(entry.audience)


def add_event(
    session: Session, organisation: Organisation, actor: Actor, entry: EventInput
) -> CalendarEvent:
    """Add a calendar event; an empty audience is the whole school."""
    require_school(organisation)
    title_id, title_en, start, end, classes = _validated(entry)
    actor.require(Action.CALENDAR_EDIT, classes=classes)
    check_classes_exist(session, organisation, classes)
    event = CalendarEvent(
        organisation_id=organisation.id,
        title_id=title_id,
        title_en=title_en,
        start_date=start,
        end_date=end,
        start_time=entry.start_time,
        audience=classes,
        created_by_staff_id=actor.staff_id,
    )
    session.add(event)
    session.flush()
    return event


def remove_event(
    session: Session, organisation: Organisation, actor: Actor, event_id: int
) -> None:
    event = session.get(CalendarEvent, event_id)
    if event is None or event.organisation_id != organisation.id:
        raise NotFound(
            "school.event_not_found", "Calendar event {id} was not found.", id=str(event_id)
        )
    actor.require(Action.CALENDAR_EDIT, classes=list(event.audience))
    session.delete(event)
    session.flush()


EVENT_SHEET_ALIASES = {
    "title_id": {"judul", "kegiatan", "acara", "title (id)", "judul (id)", "nama kegiatan"},
    "title_en": {"title", "event", "title (en)", "judul (en)"},
    "start": {"start", "start date", "date", "tanggal", "tanggal mulai", "mulai"},
    "end": {"end", "end date", "tanggal selesai", "selesai", "sampai"},
    "time": {"time", "jam", "waktu"},
    "classes": {"classes", "class", "kelas"},
}


def import_events_sheet(
    session: Session, organisation: Organisation, actor: Actor, content: bytes
) -> SheetResult:
    """Add every event of a calendar sheet; any problem row raises SheetRejected.

    Columns: title in Indonesian and/or English, start date, optional end date and time,
    and classes separated by commas (blank: the whole school).
    """
    require_school(organisation)
    rows = read_rows(content, EVENT_SHEET_ALIASES, {"start"})
    result = SheetResult()
    entries: list[tuple[int, EventInput]] = []
    for row in rows:
        problem = _event_row(row.values, entries, row.row)
        if problem is not None:
            result.problems.append(problem)
    for row_number, entry in entries if not result.problems else []:
        try:
            add_event(session, organisation, actor, entry)
            result.created += 1
        except UserError as error:
            value = entry.title_id or entry.title_en
            result.problems.append(RowProblem(row_number, "", value, error.msg))
    if result.problems:
        raise SheetRejected(result)
    return result


def _event_row(
    values: dict[str, object], entries: list[tuple[int, EventInput]], row: int
) -> RowProblem | None:
    start, end = cell_date(values.get("start")), cell_date(values.get("end"))
    if start is None:
        return _date_problem(row, "start", values.get("start"))
    if values.get("end") not in (None, "") and end is None:
        return _date_problem(row, "end", values.get("end"))
    time = cell_time(values.get("time"))
    if time is False:
        return RowProblem(
            row,
            "time",
            cell_text(values.get("time")),
            Msg("The time {value} is invalid. Write it as 07:30.", {"value": values.get("time")}),
        )
    entry = EventInput(
        title_id=cell_text(values.get("title_id")),
        title_en=cell_text(values.get("title_en")),
        start_date=start,
        end_date=end,
        start_time=time or None,
        audience=re.split(r"[,;]", cell_text(values.get("classes"))),
    )
    try:
        _validated(entry)
    except UserError as error:
        return RowProblem(row, "", entry.title_id or entry.title_en, error.msg)
    entries.append((row, entry))
    return None


def _date_problem(row: int, column: str, value: object) -> RowProblem:
    return RowProblem(
        row,
        column,
        cell_text(value),
        Msg("The date {value} is invalid. Write it as 31/12/2026.", {"value": cell_text(value)}),
    )


def _events_between(
    session: Session, organisation: Organisation, first: dt.date, last: dt.date
) -> list[CalendarEvent]:
    return list(
        session.exec(
            select(CalendarEvent)
            .where(
                CalendarEvent.organisation_id == organisation.id,
                CalendarEvent.start_date <= last,
                CalendarEvent.end_date >= first,
            )
            .order_by(CalendarEvent.start_date, col(CalendarEvent.start_time), CalendarEvent.id)
        ).all()
    )


def _for_classes(events: list[CalendarEvent], classes: set[str]) -> list[CalendarEvent]:
    return [event for event in events if not event.audience or classes & set(event.audience)]


def month_for_staff(
    session: Session, organisation: Organisation, actor: Actor, year: int, month: int
) -> MonthView:
    """Return every event of the month in the whole school."""
    actor.require(Action.CALENDAR_READ_SCHOOL)
    view = MonthView(year, month, [])
    view.events = _events_between(session, organisation, view.first_day, view.last_day)
    return view


def month_for_parent(
    session: Session,
    organisation: Organisation,
    customer: Customer,
    year: int,
    month: int,
    *,
    student_id: int | None = None,
) -> MonthView:
    """Return the month's events for the whole school and the parent's children's classes."""
    classes = parent_classes(session, customer, student_id)
    view = MonthView(year, month, [])
    if classes:
        events = _events_between(session, organisation, view.first_day, view.last_day)
        view.events = _for_classes(events, classes)
    return view


def events_for_parent(
    session: Session,
    organisation: Organisation,
    customer: Customer,
    *,
    since: dt.date,
    student_id: int | None = None,
) -> list[CalendarEvent]:
    """Return the events a parent sees that end on or after `since`, for the .ics export."""
    classes = parent_classes(session, customer, student_id)
    if not classes:
        return []
    events = _events_between(session, organisation, since, dt.date.max)
    return _for_classes(events, classes)


def events_for_school(
    session: Session, organisation: Organisation, actor: Actor, *, since: dt.date
) -> list[CalendarEvent]:
    actor.require(Action.CALENDAR_READ_SCHOOL)
    return _events_between(session, organisation, since, dt.date.max)


def describe_event_dates(event: CalendarEvent, language: str | None) -> str:
    """Return "5 Januari 2027", "5 Januari 2027 07:30" or "5 Januari 2027 - 9 Januari 2027"."""
    text = format_date(event.start_date, language)
    if event.end_date != event.start_date:
        text = f"{text} - {format_date(event.end_date, language)}"
    if event.start_time is not None:
        text = f"{text} {event.start_time:%H:%M}"
    return text


def month_name(view: MonthView, language: str | None) -> str:
    """Return "Januari 2027" or "January 2027"."""
    return babel_format_date(view.first_day, format="MMMM y", locale=normalise_language(language))


def month_text(view: MonthView, language: str | None) -> str:
    """Render a month as a text list: a heading, then one line per event."""
    heading = month_name(view, language)
    lines = [tr(language, "Calendar for {month}", month=heading)]
    if not view.events:
        lines.append(tr(language, "No events this month."))
    for event in view.events:
        classes = ", ".join(event.audience) or tr(language, "whole school")
        when = describe_event_dates(event, language)
        lines.append(f"• {when}: {event_title(event, language)} ({classes})")
    return "\n".join(lines)


_DATES_TEXT = re.compile(
    r"(?P<start>\S+)(?:\s*(?:-|–|s/d|sampai|to|until)\s*(?P<end>\d\S*))?(?:\s+(?P<time>\d{1,2}[:.]\d{2}))?"
)


def parse_event_dates(text: str) -> tuple[dt.date, dt.date | None, dt.time | None]:
    """Read dates typed in chat: "31/12/2026", "31/12/2026 07:30", "2/1/2027 - 4/1/2027"."""
    match = _DATES_TEXT.fullmatch(" ".join(text.split()))
    start = cell_date(match["start"]) if match else None
    end = cell_date(match["end"]) if match and match["end"] else None
    time = cell_time(match["time"]) if match and match["time"] else None
    if match is None or start is None or (match["end"] and end is None) or time is False:
        raise UserError(
            "school.event_dates_invalid",
            "The dates {value} are invalid. Write 31/12/2026, 31/12/2026 07:30 or "
            "2/1/2027 - 4/1/2027.",
            value=text,
        )
    return start, end, time or None
