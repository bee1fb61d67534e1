"""Files that staff send in chat: calendar sheets, news photos and staff sheets.

The core hands documents sent in the states below to `school_document`, which picks the
step by the state that awaits the file. Each step runs in a savepoint, so a rejected file
leaves nothing half-saved while the chat stays in its state for the corrected file.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from billing.errors import PermissionDenied, UserError
from billing.permissions import Action, is_allowed
from billing.school import calendar, news, staff
from billing.school.sheet import RowProblem, SheetRejected
from bot.core.engine import update_tag
from bot.core.formatting import image_instead_of_sheet
from bot.core.menu import menu_step
from bot.core.turn import Step, Turn
from bot.flows.school.common import (
    NEWS_QUESTION,
    Key,
    SchoolState,
    acting_staff,
    key_button,
    menu_button,
    reply_step,
)
from bot.replies import Text
from locales import N_, tr

log = logging.getLogger(__name__)

# Sheet columns named in problem rows, by the field names of billing.school.calendar.
COLUMN_NAMES = {
    "start": N_("start date"),
    "end": N_("end date"),
    "time": N_("time"),
}

# Sheet columns named in problem rows, by the field names of billing.school.staff.
STAFF_COLUMN_NAMES = {
    "name": N_("name"),
    "phone": N_("phone number"),
    "email": N_("e-mail address"),
    "role": N_("role"),
    "classes": N_("classes"),
}

# The states whose documents `school_document` takes before other flows' handlers.
FILE_STATES = (
    SchoolState.EVENT_SHEET,
    SchoolState.EVENT_TITLE,
    SchoolState.NEWS_PHOTO,
    SchoolState.STAFF_SHEET,
)


async def ask_event_sheet(turn: Turn) -> Step:
    turn.require(Action.CALENDAR_EDIT)

    text = tr(
        turn.language,
        "Send the calendar sheet (.xlsx) as a file. Columns: Judul or Title, Tanggal Mulai, "
        "and optionally Tanggal Selesai, Jam and Kelas (blank: the whole school).",
    )
    return Step([Text(text, (menu_button(turn),))], SchoolState.EVENT_SHEET)


async def ask_staff_sheet(turn: Turn) -> Step:
    turn.require(Action.STAFF_MANAGE)

    text = tr(
        turn.language,
        "Send the staff sheet (.xlsx) as a file. Columns: Nama or Name, Peran or Role, "
        "No HP or Phone, Email, and for teachers Kelas (for example: 7A, 7B). Each row needs "
        "a phone number or an e-mail address. A row with the phone number or e-mail address "
        "of current staff changes that entry.",
    )
    return Step([Text(text, (menu_button(turn),))], SchoolState.STAFF_SHEET)


async def ask_news_photo(turn: Turn) -> Step:
    turn.require(Action.NEWS_POST)
    if turn.conversation.state != SchoolState.NEWS_AUDIENCE:
        return menu_step(turn)

    return Step([_photo_prompt(turn)], SchoolState.NEWS_PHOTO, turn.data, NEWS_QUESTION)


def _photo_prompt(turn: Turn) -> Text:
    audience = ", ".join(turn.data.get("classes", [])) or tr(turn.language, "whole school")
    text = tr(
        turn.language,
        "Send the photo as a file or as an ordinary photo (JPEG or PNG, at most {size} MB). "
        "The news is posted with it to: {audience}.",
        size=news.MAX_PHOTO_BYTES // 2**20,
        audience=audience,
    )
    send = key_button(tr(turn.language, "Send without photo"), Key.NEWS_SEND)
    return Text(text, (send, menu_button(turn)))


async def remind_file_awaited(turn: Turn) -> Step:
    """Remind a person who typed text where a file is awaited."""
    if turn.conversation.state == SchoolState.NEWS_PHOTO:
        return Step([_photo_prompt(turn)], SchoolState.NEWS_PHOTO, turn.data, NEWS_QUESTION)
    if turn.conversation.state == SchoolState.STAFF_SHEET:
        return await ask_staff_sheet(turn)
    return await ask_event_sheet(turn)


async def school_document(turn: Turn) -> Step:
    """Handle a file by the state that awaits it, or explain where files are taken."""
    state = turn.conversation.state
    if state in (SchoolState.EVENT_SHEET, SchoolState.EVENT_TITLE):
        return _import_event_sheet(turn)
    if state == SchoolState.NEWS_PHOTO:
        return _post_with_photo(turn)
    if state == SchoolState.STAFF_SHEET:
        return _import_staff_sheet(turn)
    intro = tr(
        turn.language,
        "To add events from a sheet, choose Add event, then Import calendar sheet. "
        "To add a photo to news, tap Add photo when you choose its audience.",
    )
    if turn.membership is not None and is_allowed(turn.membership.role, Action.STAFF_MANAGE):
        staff_hint = tr(
            turn.language, "To add staff from a sheet, choose Staff, then Import staff sheet."
        )
        intro = f"{intro} {staff_hint}"
    return menu_step(turn, intro)


def _content(turn: Turn) -> bytes:
    document = turn.inbound.document
    assert document is not None and document.content is not None
    return document.content


def _image_error(turn: Turn) -> str | None:
    document = turn.inbound.document
    assert document is not None
    image_error = image_instead_of_sheet(document, turn.language)
    if image_error is not None:
        log.info("update %s: image sent instead of a sheet", update_tag(turn.inbound))
    return image_error


def _import_sheet(
    turn: Turn,
    *,
    kind: str,
    state: SchoolState,
    importer: Callable[..., Any],
    columns: dict[str, str],
) -> tuple[Any, Step | None]:
    """Import the sent sheet in a savepoint; return the result, or the step that asks again.

    `kind` names the sheet in logs. A rejected or unusable sheet keeps the chat in `state`
    for the corrected file, with the problems listed.
    """
    image_error = _image_error(turn)
    if image_error is not None:
        return None, _again(turn, image_error, state)
    actor = acting_staff(turn)
    try:
        with turn.session.begin_nested():
            return importer(turn.session, turn.org, actor, _content(turn)), None
    except SheetRejected as rejected:
        log.info(
            "update %s: %s sheet rejected, %d problem rows",
            update_tag(turn.inbound),
            kind,
            len(rejected.result.problems),
        )
        return None, _again(turn, _problems_text(turn, rejected, columns), state)
    except PermissionDenied:
        raise
    except UserError as error:
        log.info("update %s: %s sheet unusable: %s", update_tag(turn.inbound), kind, error.code)
        return None, _again(turn, error.render(turn.language), state)


def _import_event_sheet(turn: Turn) -> Step:
    turn.require(Action.CALENDAR_EDIT)
    result, retry = _import_sheet(
        turn,
        kind="calendar",
        state=SchoolState.EVENT_SHEET,
        importer=calendar.import_events_sheet,
        columns=COLUMN_NAMES,
    )
    if retry is not None:
        return retry

    done = tr(turn.language, "Events added: {count}.", count=result.created)
    return reply_step(turn, done)


def _import_staff_sheet(turn: Turn) -> Step:
    turn.require(Action.STAFF_MANAGE)
    result, retry = _import_sheet(
        turn,
        kind="staff",
        state=SchoolState.STAFF_SHEET,
        importer=staff.import_staff_sheet,
        columns=STAFF_COLUMN_NAMES,
    )
    if retry is not None:
        return retry

    done = tr(
        turn.language,
        "Staff added: {created}. Staff changed: {updated}.",
        created=result.created,
        updated=result.updated,
    )
    return reply_step(turn, done)


def _problems_text(turn: Turn, rejected: SheetRejected, columns: dict[str, str]) -> str:
    lines = [rejected.render(turn.language)]
    lines += [_problem_line(turn, problem, columns) for problem in rejected.result.problems]
    return "\n".join(lines)


def _problem_line(turn: Turn, problem: RowProblem, columns: dict[str, str]) -> str:
    reason = problem.message.render(turn.language)
    column = columns.get(problem.column)
    if column is None:
        return tr(turn.language, "Row {row}: {reason}", row=problem.row, reason=reason)
    return tr(
        turn.language,
        "Row {row}, {column}: {reason}",
        row=problem.row,
        column=tr(turn.language, column),
        reason=reason,
    )


def _post_with_photo(turn: Turn) -> Step:
    data = turn.data
    try:
        with turn.session.begin_nested():
            post, count = news.post_news(
                turn.session,
                turn.org,
                acting_staff(turn),
                content=news.NewsContent(
                    data.get("title_id", ""),
                    data.get("title_en", ""),
                    data.get("text_id", ""),
                    data.get("text_en", ""),
                ),
                audience=list(data.get("classes", [])),
                photo=_content(turn),
            )
    except PermissionDenied:
        raise
    except UserError as error:
        log.info("update %s: news photo rejected: %s", update_tag(turn.inbound), error.code)
        return _again(turn, error.render(turn.language), SchoolState.NEWS_PHOTO)

    done = tr(
        turn.language, "News #{id} is posted. Parents notified: {count}.", id=post.id, count=count
    )
    return reply_step(turn, done)


def _again(turn: Turn, problem: str, state: SchoolState) -> Step:
    """Show what is wrong with the file and keep waiting for a corrected one."""
    again = tr(turn.language, "Send the corrected file, or tap Menu to stop.")
    return Step([Text(f"{problem}\n\n{again}", (menu_button(turn),))], state, turn.data)
