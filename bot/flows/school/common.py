"""Shared pieces of the school chat flows: states, button keys and helpers."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from billing.errors import PermissionDenied, UserError
from billing.permissions import Action, Role
from billing.school import calendar, students
from billing.school.actors import Actor, clean_classes
from bot.core import registry
from bot.core.callbacks import Op
from bot.core.menu import button
from bot.core.turn import Question, Step, Turn
from bot.replies import Button, Text
from locales import N_, tr
from models import Customer, OrgKind, StaffRole, StaffUser, Student
from models.types import utcnow

SCHOOL_ONLY = frozenset({OrgKind.SCHOOL})
ICS_MIME = "text/calendar"
CAPTION_MAX = 1024  # Telegram's caption limit, the smallest of the channels
MAX_PICK_BUTTONS = 10  # WhatsApp shows at most 10 rows in a list
# The adapters split long keyboards into several WhatsApp lists, so staff fit on a few.
MAX_STAFF_BUTTONS = 40
MAX_NEWS_LISTED = 8
ROLE_ORDER = [StaffRole.SUPER_ADMIN, StaffRole.FINANCE, StaffRole.ADMIN, StaffRole.TEACHER]


class SchoolState(StrEnum):
    """States of the school flows. Values are stored in the database: never rename them."""

    STAFF_NAME = "school_staff_name"
    STAFF_CONTACT = "school_staff_contact"
    STAFF_ROLE = "school_staff_role"
    STAFF_CLASSES = "school_staff_classes"
    NEWS_TITLE = "school_news_title"
    NEWS_TEXT = "school_news_text"
    NEWS_OTHER_TITLE = "school_news_other_title"
    NEWS_OTHER_TEXT = "school_news_other_text"
    NEWS_AUDIENCE = "school_news_audience"
    NEWS_CORRECTION = "school_news_correction"
    EVENT_TITLE = "school_event_title"
    EVENT_DATES = "school_event_dates"
    EVENT_AUDIENCE = "school_event_audience"
    STUDENT_NIS = "school_student_nis"
    STUDENT_NAME = "school_student_name"
    STUDENT_CLASS = "school_student_class"
    PARENT_NIS = "school_parent_nis"
    PARENT_NAME = "school_parent_name"
    PARENT_CONTACT = "school_parent_contact"
    ARCHIVE_NIS = "school_archive_nis"
    EVENT_SHEET = "school_event_sheet"
    NEWS_PHOTO = "school_news_photo"
    STAFF_SHEET = "school_staff_sheet"


# Questions of a news post or an event waiting for its audience: a cancel word drops the draft.
NEWS_QUESTION = Question(cancelled=N_("Cancelled. The news was not posted."))
EVENT_QUESTION = Question(cancelled=N_("Cancelled. The event was not saved."))


class Key(StrEnum):
    """Button keys of the school flows. Values are in chats already sent: never change them."""

    STAFF_ADD = "s_staff_add"
    STAFF_PICK = "s_staff_pick"  # value: staff id
    STAFF_CHANGE = "s_staff_change"  # value: staff id
    STAFF_ROLE = "s_staff_role"  # value: index into ROLE_ORDER
    STAFF_REMOVE = "s_staff_rm"  # value: staff id
    STAFF_REMOVE_OK = "s_staff_rm_ok"  # value: staff id
    NEWS_NEW = "s_news_new"
    NEWS_OTHER = "s_news_other"  # value: 1 to add the other language, 0 to go on
    NEWS_PICK = "s_news_pick"  # value: index into the class options, -1 for the whole school
    NEWS_SEND = "s_news_send"
    NEWS_WITHDRAW = "s_news_wd"  # value: post id
    NEWS_CORRECT = "s_news_fix"  # value: post id
    NEWS_OPEN = "s_news_open"  # value: post id
    NEWS_LIST = "s_news_list"
    EVENT_PICK = "s_ev_pick"  # value: index into the class options, -1 for the whole school
    EVENT_SAVE = "s_ev_save"
    MONTH = "s_month"  # value: months since year 0 (year * 12 + month - 1)
    ICS = "s_ics"
    CHILD = "s_child"  # value: student id, 0 for every child
    FEES_MONTH = "s_fee_month"  # value: months since year 0
    FEES_RUN = "s_fee_run"  # value: months since year 0
    STUDENT_ADD = "s_student_add"
    STUDENT_ARCHIVE = "s_student_arch"
    STUDENT_ARCHIVE_OK = "s_student_arch_ok"  # value: student id
    PARENT_LINK = "s_parent_link"  # value: student id, 0 to ask for the NIS
    EVENT_SHEET = "s_ev_sheet"
    NEWS_PHOTO = "s_news_photo"
    STAFF_SHEET = "s_staff_sheet"


def key_button(title: str, key: Key, value: int | None = None) -> Button:
    return button(title, Op.EXTENSION, key=key.value, value=value)


def menu_button(turn: Turn) -> Button:
    return button(tr(turn.language, "Menu"), Op.HOME)


def pressed_value(turn: Turn) -> int:
    callback = turn.inbound.callback
    return callback.value if callback is not None and callback.value is not None else 0


def acting_staff(turn: Turn) -> Actor:
    """Return the staff member writing, with the role and classes stored now."""
    membership = turn.membership
    if membership is None or membership.staff_id is None:
        return Actor(Role(membership.role) if membership else Role.CUSTOMER)
    member = turn.session.get(StaffUser, membership.staff_id)
    if member is None or not member.active:
        return Actor(Role.CUSTOMER)
    return Actor.from_staff(member)


def acting_parent(turn: Turn, action: Action) -> Customer:
    turn.require(action)
    membership = turn.membership
    assert membership is not None and membership.customer_id is not None
    parent = turn.session.get(Customer, membership.customer_id)
    assert parent is not None
    return parent


def month_index(year: int, month: int) -> int:
    return year * 12 + month - 1


def month_from_index(index: int) -> tuple[int, int]:
    return index // 12, index % 12 + 1


def month_label(year: int, month: int, language: str) -> str:
    return calendar.month_name(calendar.MonthView(year, month, []), language)


def reply_step(turn: Turn, text: str, state: StrEnum | None = None, **data: Any) -> Step:
    if state is None:
        return Step([Text(text, (menu_button(turn),))])
    return Step([Text(text)], state, data)


def class_options(turn: Turn, actor: Actor) -> list[str]:
    if actor.role is Role.TEACHER:
        return list(actor.classes)
    return students.school_classes(turn.session, turn.org)


def audience_step(
    turn: Turn, data: dict[str, Any], pick: Key, done: Key, state: SchoolState
) -> Step:
    """Ask for the audience: buttons toggle classes, or the classes can be typed."""
    actor = acting_staff(turn)
    options = class_options(turn, actor)
    picked = list(data.get("classes", []))
    buttons: list[Button] = []
    if actor.role is not Role.TEACHER:
        buttons.append(key_button(tr(turn.language, "Whole school"), pick, -1))
    for index, name in enumerate(options[: MAX_PICK_BUTTONS - 3]):
        mark = "✓ " if name in picked else ""
        buttons.append(key_button(f"{mark}{name}", pick, index))
    chosen = ", ".join(picked) or tr(turn.language, "whole school")
    if picked or actor.role is not Role.TEACHER:
        buttons.append(key_button(tr(turn.language, "Send to: {audience}", audience=chosen), done))
        if state == SchoolState.NEWS_AUDIENCE:
            buttons.append(key_button(tr(turn.language, "Add photo"), Key.NEWS_PHOTO))
    text = tr(
        turn.language,
        "Who is it for? Tap classes, or type them, for example: 7A, 7B. Chosen: {audience}.",
        audience=chosen,
    )
    question = NEWS_QUESTION if state == SchoolState.NEWS_AUDIENCE else EVENT_QUESTION
    return Step([Text(text, tuple(buttons))], state, {**data, "options": options}, question)


def toggle_class(turn: Turn, pick: Key, done: Key, state: SchoolState) -> Step:
    data = turn.data
    options = list(data.get("options", []))
    picked = list(data.get("classes", []))
    index = pressed_value(turn)
    if index == -1:
        picked = []
    elif 0 <= index < len(options):
        name = options[index]
        picked = [c for c in picked if c != name] if name in picked else picked + [name]
    return audience_step(turn, {**data, "classes": picked}, pick, done, state)


async def audience_typed(turn: Turn) -> Step:
    classes = clean_classes(turn.inbound.text.replace(";", ",").split(","))
    data = {**turn.data, "classes": classes}
    if turn.conversation.state == SchoolState.EVENT_AUDIENCE:
        return audience_step(
            turn, data, Key.EVENT_PICK, Key.EVENT_SAVE, SchoolState.EVENT_AUDIENCE
        )
    return audience_step(turn, data, Key.NEWS_PICK, Key.NEWS_SEND, SchoolState.NEWS_AUDIENCE)


def turn_children(turn: Turn) -> list[Student]:
    membership = turn.membership
    if membership is None or membership.customer_id is None:
        return []
    return students.children_of(turn.session, membership.customer_id)


def child_buttons(turn: Turn) -> list[Button]:
    children = turn_children(turn)
    if len(children) < 2:
        return []
    buttons = [key_button(tr(turn.language, "All children"), Key.CHILD, 0)]
    return buttons + [key_button(child.name, Key.CHILD, child.id) for child in children[:6]]


def child_note(turn: Turn, child: int | None) -> str:
    """Return a first line naming the one child a view is narrowed to, or nothing."""
    student = turn.session.get(Student, child) if child else None
    if student is None:
        return ""
    return tr(turn.language, "Only for {name}:", name=student.name) + "\n"


def is_parent(turn: Turn) -> bool:
    return turn.membership is not None and turn.membership.customer_id is not None


def local_today(turn: Turn) -> dt.date:
    return utcnow().astimezone(ZoneInfo(turn.org.timezone)).date()


def asking_again(handler: registry.Handler) -> registry.Handler:
    """Wrap a typed-text handler: on a UserError, show it and wait for the text again.

    The core would otherwise end the conversation on the error, and the person would have to
    start the flow again for one mistyped value.
    """

    async def handle(turn: Turn) -> Step:
        try:
            return await handler(turn)
        except PermissionDenied:
            raise
        except UserError as error:
            again = tr(turn.language, "Please try again, or tap Menu to stop.")
            text = f"{error.render(turn.language)}\n{again}"
            return Step(
                [Text(text, (menu_button(turn),))], SchoolState(turn.conversation.state), turn.data
            )

    return handle
