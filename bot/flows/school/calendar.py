"""The calendar in chat: staff add events, and everyone reads a month or the .ics file."""

from __future__ import annotations

import datetime as dt

from billing.errors import UserError
from billing.permissions import Action
from billing.school import calendar, ics
from billing.school.calendar_image import render_month_png
from bot.core.menu import menu_step
from bot.core.turn import Step, Turn
from bot.flows.school.common import (
    CAPTION_MAX,
    ICS_MIME,
    Key,
    SchoolState,
    acting_parent,
    acting_staff,
    audience_step,
    child_buttons,
    child_note,
    is_parent,
    key_button,
    local_today,
    menu_button,
    month_from_index,
    month_index,
    month_label,
    pressed_value,
    reply_step,
    toggle_class,
    turn_children,
)
from bot.flows.school.news import news_list_step
from bot.replies import Document, Photo, Reply, Text
from locales import tr


async def event_new(turn: Turn) -> Step:
    turn.require(Action.CALENDAR_EDIT)

    text = tr(turn.language, "What is the event called?")
    buttons = (
        key_button(tr(turn.language, "Import calendar sheet"), Key.EVENT_SHEET),
        menu_button(turn),
    )
    return Step([Text(text, buttons)], SchoolState.EVENT_TITLE)


async def event_title_typed(turn: Turn) -> Step:
    turn.require(Action.CALENDAR_EDIT)
    title = " ".join(turn.inbound.text.split())

    ask = tr(
        turn.language,
        "When is it? Write 31/12/2026, 31/12/2026 07:30 or 2/1/2027 - 4/1/2027.",
    )
    return reply_step(turn, ask, SchoolState.EVENT_DATES, **{f"title_{turn.language}": title})


async def event_dates_typed(turn: Turn) -> Step:
    turn.require(Action.CALENDAR_EDIT)
    start, end, time = calendar.parse_event_dates(turn.inbound.text)
    data = {
        **turn.data,
        "start": start.isoformat(),
        "end": (end or start).isoformat(),
        "time": time.strftime("%H:%M") if time else None,
    }

    return audience_step(turn, data, Key.EVENT_PICK, Key.EVENT_SAVE, SchoolState.EVENT_AUDIENCE)


async def event_pick(turn: Turn) -> Step:
    return toggle_class(turn, Key.EVENT_PICK, Key.EVENT_SAVE, SchoolState.EVENT_AUDIENCE)


async def event_save(turn: Turn) -> Step:
    data = turn.data
    if turn.conversation.state != SchoolState.EVENT_AUDIENCE:
        return menu_step(turn)
    entry = calendar.EventInput(
        title_id=data.get("title_id", ""),
        title_en=data.get("title_en", ""),
        start_date=dt.date.fromisoformat(data["start"]),
        end_date=dt.date.fromisoformat(data["end"]),
        start_time=dt.time.fromisoformat(data["time"]) if data.get("time") else None,
        audience=list(data.get("classes", [])),
    )
    event = calendar.add_event(turn.session, turn.org, acting_staff(turn), entry)

    when = calendar.describe_event_dates(event, turn.language)
    title = calendar.event_title(event, turn.language)
    return reply_step(
        turn, tr(turn.language, "Added to the calendar: {title}, {when}.", title=title, when=when)
    )


async def calendar_this_month(turn: Turn) -> Step:
    year, month = calendar.this_month(turn.org)
    return calendar_step(turn, year, month, turn.data.get("child"))


async def calendar_month(turn: Turn) -> Step:
    year, month = month_from_index(pressed_value(turn))
    return calendar_step(turn, year, month, turn.data.get("child"))


def calendar_step(turn: Turn, year: int, month: int, child: int | None) -> Step:
    """Show a month as a picture with the event list as caption, and the navigation."""
    if is_parent(turn):
        parent = acting_parent(turn, Action.CALENDAR_READ)
        view = calendar.month_for_parent(
            turn.session, turn.org, parent, year, month, student_id=child or None
        )
    else:
        view = calendar.month_for_staff(turn.session, turn.org, acting_staff(turn), year, month)
    text = calendar.month_text(view, turn.language)
    picture = render_month_png(view, turn.language, today=local_today(turn))

    replies: list[Reply] = []
    name = f"calendar-{year}-{month:02d}.png"
    if len(text) <= CAPTION_MAX:
        replies.append(Photo(picture, text, name))
    else:
        replies += [Photo(picture, text.splitlines()[0], name), Text(text)]
    index = month_index(year, month)
    buttons = [
        key_button(
            "◀ " + month_label(*month_from_index(index - 1), turn.language), Key.MONTH, index - 1
        ),
        key_button(
            month_label(*month_from_index(index + 1), turn.language) + " ▶", Key.MONTH, index + 1
        ),
        key_button(tr(turn.language, "Download .ics"), Key.ICS),
    ]
    buttons += child_buttons(turn)
    buttons.append(menu_button(turn))
    prompt = child_note(turn, child) + tr(
        turn.language, "Other months, or add the calendar to your phone:"
    )
    replies.append(Text(prompt, tuple(buttons)))
    return Step(replies, data={"child": child, "view": "calendar", "month": index})


async def calendar_ics(turn: Turn) -> Step:
    since = dt.date(*calendar.this_month(turn.org), 1)
    if is_parent(turn):
        parent = acting_parent(turn, Action.CALENDAR_READ)
        child = turn.data.get("child") or None
        events = calendar.events_for_parent(
            turn.session, turn.org, parent, since=since, student_id=child
        )
    else:
        events = calendar.events_for_school(
            turn.session, turn.org, acting_staff(turn), since=since
        )
    content = ics.export_ics(turn.org, events, language=turn.language)

    caption = tr(turn.language, "Open this file to add the school calendar to your phone.")
    filename = f"calendar-{turn.org.slug}.ics"
    return Step([Document(filename, content, ICS_MIME, caption)], data=turn.data)


async def child_chosen(turn: Turn) -> Step:
    child = pressed_value(turn) or None
    if child is not None and child not in {c.id for c in turn_children(turn)}:
        raise UserError("school.child_not_found", "This student is not your child.")
    if turn.data.get("view") == "calendar":
        index = turn.data.get("month") or month_index(*calendar.this_month(turn.org))
        return calendar_step(turn, *month_from_index(int(index)), child)
    return news_list_step(turn, child)
