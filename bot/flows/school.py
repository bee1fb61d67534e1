"""School chat flows. Staff manage staff, news, the calendar and monthly fees, and parents
read news and the calendar.

Buttons are CallbackData(Op.EXTENSION, key=Key..., value=int). Typed text arrives in the
SchoolState states. Each handler checks the role through the billing.school functions.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from billing.errors import PermissionDenied, UserError
from billing.permissions import Action, Role
from billing.school import calendar, fees, ics, news, staff, students
from billing.school.actors import Actor, clean_classes
from billing.school.calendar_image import render_month_png
from bot.core import registry
from bot.core.callbacks import Op
from bot.core.menu import button, menu_step
from bot.core.turn import Step, Turn
from bot.replies import Button, Document, Photo, Reply, Text
from locales import N_, format_date, format_rupiah, tr
from models import Customer, NewsPost, OrgKind, StaffRole, StaffUser, Student
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


# --- Shared helpers ------------------------------------------------------------------------


def _button(title: str, key: Key, value: int | None = None) -> Button:
    return button(title, Op.EXTENSION, key=key.value, value=value)


def _home(turn: Turn) -> Button:
    return button(tr(turn.language, "Menu"), Op.HOME)


def _value(turn: Turn) -> int:
    callback = turn.inbound.callback
    return callback.value if callback is not None and callback.value is not None else 0


def _actor(turn: Turn) -> Actor:
    """Return the staff member writing, with the role and classes stored now."""
    membership = turn.membership
    if membership is None or membership.staff_id is None:
        return Actor(Role(membership.role) if membership else Role.CUSTOMER)
    member = turn.session.get(StaffUser, membership.staff_id)
    if member is None or not member.active:
        return Actor(Role.CUSTOMER)
    return Actor.from_staff(member)


def _parent(turn: Turn, action: Action) -> Customer:
    turn.require(action)
    membership = turn.membership
    assert membership is not None and membership.customer_id is not None
    parent = turn.session.get(Customer, membership.customer_id)
    assert parent is not None
    return parent


def _month_index(year: int, month: int) -> int:
    return year * 12 + month - 1


def _from_index(index: int) -> tuple[int, int]:
    return index // 12, index % 12 + 1


def _month_label(year: int, month: int, language: str) -> str:
    return calendar.month_name(calendar.MonthView(year, month, []), language)


def _say(turn: Turn, text: str, state: StrEnum | None = None, **data: Any) -> Step:
    if state is None:
        return Step([Text(text, (_home(turn),))])
    return Step([Text(text)], state, data)


# --- Staff management (super admin) --------------------------------------------------------


async def staff_menu(turn: Turn) -> Step:
    actor = _actor(turn)
    members = staff.list_staff(turn.session, turn.org, actor)

    lines = [tr(turn.language, "Staff of {school}:", school=turn.org.name)]
    lines += [_staff_line(turn, member) for member in members]
    buttons = [_button(tr(turn.language, "Add staff"), Key.STAFF_ADD)]
    buttons += [
        _button(member.name or member.phone or "-", Key.STAFF_PICK, member.id)
        for member in members[:MAX_STAFF_BUTTONS]
    ]
    buttons.append(_home(turn))
    return Step([Text("\n".join(lines), tuple(buttons))])


def _staff_line(turn: Turn, member: StaffUser) -> str:
    role = tr(turn.language, staff.ROLE_LABELS[StaffRole(member.role)])
    classes = f" ({', '.join(member.classes)})" if member.classes else ""
    contact = member.phone or member.email or "-"
    return f"• {member.name} — {role}{classes}, {contact}"


async def staff_add(turn: Turn) -> Step:
    turn.require(Action.STAFF_MANAGE)

    return _say(
        turn, tr(turn.language, "What is the new staff member's name?"), SchoolState.STAFF_NAME
    )


async def staff_name_typed(turn: Turn) -> Step:
    turn.require(Action.STAFF_MANAGE)
    name = " ".join(turn.inbound.text.split())
    if not name:
        raise UserError("school.staff_name_missing", "The staff member's name is missing.")

    ask = tr(turn.language, "What is {name}'s mobile number or e-mail address?", name=name)
    return _say(turn, ask, SchoolState.STAFF_CONTACT, name=name)


async def staff_contact_typed(turn: Turn) -> Step:
    turn.require(Action.STAFF_MANAGE)
    contact = turn.inbound.text.strip()
    if "@" in contact:
        staff.checked_email(contact)
    else:
        staff.checked_phone(contact)

    data = {**turn.data, "contact": contact}
    return _role_question(turn, data)


def _role_question(turn: Turn, data: dict[str, Any]) -> Step:
    buttons = tuple(
        _button(tr(turn.language, staff.ROLE_LABELS[role]), Key.STAFF_ROLE, index)
        for index, role in enumerate(ROLE_ORDER)
    )
    text = tr(turn.language, "Which role does {name} have?", name=data.get("name", ""))
    return Step([Text(text, buttons)], SchoolState.STAFF_ROLE, data)


async def staff_role_chosen(turn: Turn) -> Step:
    turn.require(Action.STAFF_MANAGE)
    index = _value(turn)
    if turn.conversation.state != SchoolState.STAFF_ROLE or not 0 <= index < len(ROLE_ORDER):
        return menu_step(turn)
    data = {**turn.data, "role": ROLE_ORDER[index].value}

    if ROLE_ORDER[index] is StaffRole.TEACHER:
        ask = tr(turn.language, "Which classes does the teacher teach? For example: 7A, 7B")
        return _say(turn, ask, SchoolState.STAFF_CLASSES, **data)
    return _save_staff(turn, data)


async def staff_classes_typed(turn: Turn) -> Step:
    turn.require(Action.STAFF_MANAGE)
    classes = clean_classes(turn.inbound.text.replace(";", ",").split(","))

    return _save_staff(turn, {**turn.data, "classes": classes})


def _save_staff(turn: Turn, data: dict[str, Any]) -> Step:
    actor = _actor(turn)
    contact = data.get("contact") or ""
    is_email = "@" in contact
    existing_id = data.get("staff_id")
    if existing_id:
        member = staff.get_staff(turn.session, turn.org, int(existing_id))
        entry = staff.StaffInput(
            member.name,
            member.phone,
            data["role"],
            member.email,
            data.get("classes"),
            member.language,
        )
        staff.change_staff(turn.session, turn.org, actor, member, entry)
        done = tr(turn.language, "Saved: {line}", line=_staff_line(turn, member))
        return _say(turn, done)
    entry = staff.StaffInput(
        name=data.get("name", ""),
        phone=None if is_email else contact,
        email=contact if is_email else None,
        role=data["role"],
        classes=data.get("classes"),
    )
    member = staff.add_staff(turn.session, turn.org, actor, entry)
    return _say(turn, tr(turn.language, "Saved: {line}", line=_staff_line(turn, member)))


async def staff_pick(turn: Turn) -> Step:
    turn.require(Action.STAFF_MANAGE)
    member = staff.get_staff(turn.session, turn.org, _value(turn))

    buttons = (
        _button(tr(turn.language, "Change role"), Key.STAFF_CHANGE, member.id),
        _button(tr(turn.language, "Remove"), Key.STAFF_REMOVE, member.id),
        _home(turn),
    )
    return Step([Text(_staff_line(turn, member), buttons)])


async def staff_change(turn: Turn) -> Step:
    turn.require(Action.STAFF_MANAGE)
    member = staff.get_staff(turn.session, turn.org, _value(turn))

    return _role_question(turn, {"staff_id": member.id, "name": member.name})


async def staff_remove(turn: Turn) -> Step:
    turn.require(Action.STAFF_MANAGE)
    member = staff.get_staff(turn.session, turn.org, _value(turn))

    text = tr(turn.language, "Remove {name} from the staff?", name=member.name)
    buttons = (
        _button(tr(turn.language, "Yes, remove"), Key.STAFF_REMOVE_OK, member.id),
        _home(turn),
    )
    return Step([Text(text, buttons)])


async def staff_remove_confirmed(turn: Turn) -> Step:
    member = staff.get_staff(turn.session, turn.org, _value(turn))
    staff.remove_staff(turn.session, turn.org, _actor(turn), member)

    return _say(turn, tr(turn.language, "Removed {name}.", name=member.name))


# --- News for staff ------------------------------------------------------------------------


async def news_menu(turn: Turn) -> Step:
    actor = _actor(turn)
    posts = news.list_news(turn.session, turn.org, actor, limit=MAX_NEWS_LISTED)

    lines = [tr(turn.language, "Recent news:") if posts else tr(turn.language, "No news yet.")]
    buttons = [_button(tr(turn.language, "New post"), Key.NEWS_NEW)]
    for post in posts:
        lines.append(_post_line(turn, post))
        if post.withdrawn_at is None and len(buttons) < MAX_PICK_BUTTONS - 2:
            buttons.append(
                _button(tr(turn.language, "Correct #{id}", id=post.id), Key.NEWS_CORRECT, post.id)
            )
            buttons.append(
                _button(
                    tr(turn.language, "Withdraw #{id}", id=post.id), Key.NEWS_WITHDRAW, post.id
                )
            )
    buttons.append(_home(turn))
    return Step([Text("\n".join(lines), tuple(buttons))])


def _post_line(turn: Turn, post: NewsPost) -> str:
    _, title, _ = news.news_text(post, turn.language)
    audience = ", ".join(post.audience) or tr(turn.language, "whole school")
    line = f"#{post.id} {title} ({audience})"
    if post.withdrawn_at is not None:
        line += " — " + tr(turn.language, "withdrawn")
    return line


async def news_new(turn: Turn) -> Step:
    turn.require(Action.NEWS_POST)

    return _say(turn, tr(turn.language, "What is the title of the news?"), SchoolState.NEWS_TITLE)


async def news_title_typed(turn: Turn) -> Step:
    turn.require(Action.NEWS_POST)
    title = " ".join(turn.inbound.text.split())
    first = turn.conversation.state == SchoolState.NEWS_TITLE
    language = turn.language if first else _other(turn.language)

    ask = tr(turn.language, "Now write the text of the news.")
    next_state = SchoolState.NEWS_TEXT if first else SchoolState.NEWS_OTHER_TEXT
    return _say(turn, ask, next_state, **{**turn.data, f"title_{language}": title})


def _other(language: str) -> str:
    return "en" if language == "id" else "id"


async def news_text_typed(turn: Turn) -> Step:
    turn.require(Action.NEWS_POST)
    first = turn.conversation.state == SchoolState.NEWS_TEXT
    key = "text_" + (turn.language if first else _other(turn.language))
    data = {**turn.data, key: turn.inbound.text.strip()}
    news.check_content(_content(data))

    if not first:
        return _audience_step(turn, data, Key.NEWS_PICK, Key.NEWS_SEND, SchoolState.NEWS_AUDIENCE)
    other = (
        tr(turn.language, "Indonesian") if turn.language == "en" else tr(turn.language, "English")
    )
    text = tr(turn.language, "Add the news in {language} too?", language=other)
    buttons = (
        _button(tr(turn.language, "Add {language}", language=other), Key.NEWS_OTHER, 1),
        _button(tr(turn.language, "Choose audience"), Key.NEWS_OTHER, 0),
    )
    return Step([Text(text, buttons)], SchoolState.NEWS_AUDIENCE, data)


def _content(data: dict[str, Any]) -> news.NewsContent:
    return news.NewsContent(
        data.get("title_id", ""),
        data.get("title_en", ""),
        data.get("text_id", ""),
        data.get("text_en", ""),
    )


async def news_other_language(turn: Turn) -> Step:
    turn.require(Action.NEWS_POST)
    if _value(turn):
        ask = tr(turn.language, "What is the title in the other language?")
        return _say(turn, ask, SchoolState.NEWS_OTHER_TITLE, **turn.data)

    return _audience_step(turn, turn.data, Key.NEWS_PICK, Key.NEWS_SEND, SchoolState.NEWS_AUDIENCE)


def _class_options(turn: Turn, actor: Actor) -> list[str]:
    if actor.role is Role.TEACHER:
        return list(actor.classes)
    return students.school_classes(turn.session, turn.org)


def _audience_step(
    turn: Turn, data: dict[str, Any], pick: Key, done: Key, state: SchoolState
) -> Step:
    """Ask for the audience: buttons toggle classes, or the classes can be typed."""
    actor = _actor(turn)
    options = _class_options(turn, actor)
    picked = list(data.get("classes", []))
    buttons: list[Button] = []
    if actor.role is not Role.TEACHER:
        buttons.append(_button(tr(turn.language, "Whole school"), pick, -1))
    for index, name in enumerate(options[: MAX_PICK_BUTTONS - 3]):
        mark = "✓ " if name in picked else ""
        buttons.append(_button(f"{mark}{name}", pick, index))
    chosen = ", ".join(picked) or tr(turn.language, "whole school")
    if picked or actor.role is not Role.TEACHER:
        buttons.append(_button(tr(turn.language, "Send to: {audience}", audience=chosen), done))
    text = tr(
        turn.language,
        "Who is it for? Tap classes, or type them, for example: 7A, 7B. Chosen: {audience}.",
        audience=chosen,
    )
    return Step([Text(text, tuple(buttons))], state, {**data, "options": options})


async def news_pick(turn: Turn) -> Step:
    return _toggle(turn, Key.NEWS_PICK, Key.NEWS_SEND, SchoolState.NEWS_AUDIENCE)


async def event_pick(turn: Turn) -> Step:
    return _toggle(turn, Key.EVENT_PICK, Key.EVENT_SAVE, SchoolState.EVENT_AUDIENCE)


def _toggle(turn: Turn, pick: Key, done: Key, state: SchoolState) -> Step:
    data = turn.data
    options = list(data.get("options", []))
    picked = list(data.get("classes", []))
    index = _value(turn)
    if index == -1:
        picked = []
    elif 0 <= index < len(options):
        name = options[index]
        picked = [c for c in picked if c != name] if name in picked else picked + [name]
    return _audience_step(turn, {**data, "classes": picked}, pick, done, state)


async def audience_typed(turn: Turn) -> Step:
    classes = clean_classes(turn.inbound.text.replace(";", ",").split(","))
    data = {**turn.data, "classes": classes}
    if turn.conversation.state == SchoolState.EVENT_AUDIENCE:
        return _audience_step(
            turn, data, Key.EVENT_PICK, Key.EVENT_SAVE, SchoolState.EVENT_AUDIENCE
        )
    return _audience_step(turn, data, Key.NEWS_PICK, Key.NEWS_SEND, SchoolState.NEWS_AUDIENCE)


async def news_send(turn: Turn) -> Step:
    data = turn.data
    if turn.conversation.state != SchoolState.NEWS_AUDIENCE:
        return menu_step(turn)
    post, count = news.post_news(
        turn.session,
        turn.org,
        _actor(turn),
        content=_content(data),
        audience=list(data.get("classes", [])),
    )

    done = tr(
        turn.language, "News #{id} is posted. Parents notified: {count}.", id=post.id, count=count
    )
    return _say(turn, done)


async def news_withdraw(turn: Turn) -> Step:
    post = news.get_post(turn.session, turn.org, _value(turn))
    news.withdraw_news(turn.session, turn.org, _actor(turn), post)

    return _say(turn, tr(turn.language, "News #{id} is withdrawn.", id=post.id))


async def news_correct(turn: Turn) -> Step:
    turn.require(Action.NEWS_POST)
    post = news.get_post(turn.session, turn.org, _value(turn))

    ask = tr(turn.language, "Write the corrected text of news #{id}.", id=post.id)
    return _say(turn, ask, SchoolState.NEWS_CORRECTION, post_id=post.id)


async def news_correction_typed(turn: Turn) -> Step:
    post = news.get_post(turn.session, turn.org, int(turn.data.get("post_id", 0)))
    language, _, _ = news.news_text(post, turn.language)
    content = news.NewsContent(post.title_id, post.title_en, post.body_id, post.body_en)
    content = replace(content, **{f"text_{language}": turn.inbound.text.strip()})
    news.correct_news(turn.session, turn.org, _actor(turn), post, content=content)

    done = tr(
        turn.language,
        "News #{id} is corrected (version {version}).",
        id=post.id,
        version=post.version,
    )
    return _say(turn, done)


# --- Calendar events for staff -------------------------------------------------------------


async def event_new(turn: Turn) -> Step:
    turn.require(Action.CALENDAR_EDIT)

    return _say(turn, tr(turn.language, "What is the event called?"), SchoolState.EVENT_TITLE)


async def event_title_typed(turn: Turn) -> Step:
    turn.require(Action.CALENDAR_EDIT)
    title = " ".join(turn.inbound.text.split())

    ask = tr(
        turn.language,
        "When is it? Write 31/12/2026, 31/12/2026 07:30 or 2/1/2027 - 4/1/2027.",
    )
    return _say(turn, ask, SchoolState.EVENT_DATES, **{f"title_{turn.language}": title})


async def event_dates_typed(turn: Turn) -> Step:
    turn.require(Action.CALENDAR_EDIT)
    start, end, time = calendar.parse_event_dates(turn.inbound.text)
    data = {
        **turn.data,
        "start": start.isoformat(),
        "end": (end or start).isoformat(),
        "time": time.strftime("%H:%M") if time else None,
    }

    return _audience_step(turn, data, Key.EVENT_PICK, Key.EVENT_SAVE, SchoolState.EVENT_AUDIENCE)


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
    event = calendar.add_event(turn.session, turn.org, _actor(turn), entry)

    when = calendar.describe_event_dates(event, turn.language)
    title = calendar.event_title(event, turn.language)
    return _say(
        turn, tr(turn.language, "Added to the calendar: {title}, {when}.", title=title, when=when)
    )


# --- Calendar month view (staff and parents) -----------------------------------------------


def _is_parent(turn: Turn) -> bool:
    return turn.membership is not None and turn.membership.customer_id is not None


async def calendar_this_month(turn: Turn) -> Step:
    year, month = calendar.this_month(turn.org)
    return _calendar_step(turn, year, month, turn.data.get("child"))


async def calendar_month(turn: Turn) -> Step:
    year, month = _from_index(_value(turn))
    return _calendar_step(turn, year, month, turn.data.get("child"))


def _calendar_step(turn: Turn, year: int, month: int, child: int | None) -> Step:
    """Show a month as a picture with the event list as caption, and the navigation."""
    if _is_parent(turn):
        parent = _parent(turn, Action.CALENDAR_READ)
        view = calendar.month_for_parent(
            turn.session, turn.org, parent, year, month, student_id=child or None
        )
    else:
        view = calendar.month_for_staff(turn.session, turn.org, _actor(turn), year, month)
    text = calendar.month_text(view, turn.language)
    picture = render_month_png(view, turn.language, today=_today(turn))

    replies: list[Reply] = []
    name = f"calendar-{year}-{month:02d}.png"
    if len(text) <= CAPTION_MAX:
        replies.append(Photo(picture, text, name))
    else:
        replies += [Photo(picture, text.splitlines()[0], name), Text(text)]
    index = _month_index(year, month)
    buttons = [
        _button("◀ " + _month_label(*_from_index(index - 1), turn.language), Key.MONTH, index - 1),
        _button(_month_label(*_from_index(index + 1), turn.language) + " ▶", Key.MONTH, index + 1),
        _button(tr(turn.language, "Download .ics"), Key.ICS),
    ]
    buttons += _child_buttons(turn)
    buttons.append(_home(turn))
    prompt = _child_note(turn, child) + tr(
        turn.language, "Other months, or add the calendar to your phone:"
    )
    replies.append(Text(prompt, tuple(buttons)))
    return Step(replies, data={"child": child, "view": "calendar", "month": index})


def _today(turn: Turn) -> dt.date:
    return utcnow().astimezone(ZoneInfo(turn.org.timezone)).date()


async def calendar_ics(turn: Turn) -> Step:
    since = dt.date(*calendar.this_month(turn.org), 1)
    if _is_parent(turn):
        parent = _parent(turn, Action.CALENDAR_READ)
        child = turn.data.get("child") or None
        events = calendar.events_for_parent(
            turn.session, turn.org, parent, since=since, student_id=child
        )
    else:
        events = calendar.events_for_school(turn.session, turn.org, _actor(turn), since=since)
    content = ics.export_ics(turn.org, events, language=turn.language)

    caption = tr(turn.language, "Open this file to add the school calendar to your phone.")
    filename = f"calendar-{turn.org.slug}.ics"
    return Step([Document(filename, content, ICS_MIME, caption)], data=turn.data)


# --- News for parents ----------------------------------------------------------------------


def _children(turn: Turn) -> list[Student]:
    membership = turn.membership
    if membership is None or membership.customer_id is None:
        return []
    return students.children_of(turn.session, membership.customer_id)


def _child_buttons(turn: Turn) -> list[Button]:
    children = _children(turn)
    if len(children) < 2:
        return []
    buttons = [_button(tr(turn.language, "All children"), Key.CHILD, 0)]
    return buttons + [_button(child.name, Key.CHILD, child.id) for child in children[:6]]


async def parent_news(turn: Turn) -> Step:
    return _news_list_step(turn, turn.data.get("child") or None)


def _news_list_step(turn: Turn, child: int | None) -> Step:
    parent = _parent(turn, Action.NEWS_READ)
    posts = news.latest_news_for_parent(
        turn.session, turn.org, parent, student_id=child, limit=MAX_NEWS_LISTED
    )

    if not posts:
        text = tr(turn.language, "There is no news from the school yet.")
    else:
        text = tr(turn.language, "Latest news from {school}:", school=turn.org.name)
    buttons = []
    for post in posts:
        _, title, _ = news.news_text(post, turn.language)
        local = post.created_at.astimezone(ZoneInfo(turn.org.timezone))
        when = format_date(local.date(), turn.language)
        text += f"\n• {title} ({when})"
        buttons.append(_button(title, Key.NEWS_OPEN, post.id))
    buttons += _child_buttons(turn)
    buttons.append(_home(turn))
    text = _child_note(turn, child) + text
    return Step([Text(text, tuple(buttons))], data={"child": child, "view": "news"})


def _child_note(turn: Turn, child: int | None) -> str:
    """Return a first line naming the one child a view is narrowed to, or nothing."""
    student = turn.session.get(Student, child) if child else None
    if student is None:
        return ""
    return tr(turn.language, "Only for {name}:", name=student.name) + "\n"


async def parent_news_open(turn: Turn) -> Step:
    parent = _parent(turn, Action.NEWS_READ)
    post = news.news_for_parent(turn.session, turn.org, parent, _value(turn))
    _, title, body = news.news_text(post, turn.language)

    text = f"{title}\n\n{body}"
    if post.version > 1:
        text += "\n\n" + tr(turn.language, "(corrected)")
    buttons = (_button(tr(turn.language, "Back to news"), Key.NEWS_LIST), _home(turn))
    if post.photo is None:
        return Step([Text(text, buttons)], data=turn.data)
    name = f"news-{post.id}.jpg"
    if len(text) <= CAPTION_MAX:
        more = Text(tr(turn.language, "Other news:"), buttons)
        return Step([Photo(post.photo, text, name), more], data=turn.data)
    return Step([Photo(post.photo, title, name), Text(text, buttons)], data=turn.data)


async def child_chosen(turn: Turn) -> Step:
    child = _value(turn) or None
    if child is not None and child not in {c.id for c in _children(turn)}:
        raise UserError("school.child_not_found", "This student is not your child.")
    if turn.data.get("view") == "calendar":
        index = turn.data.get("month") or _month_index(*calendar.this_month(turn.org))
        return _calendar_step(turn, *_from_index(int(index)), child)
    return _news_list_step(turn, child)


# --- Students and parents (admin) ----------------------------------------------------------


async def students_menu(turn: Turn) -> Step:
    actor = _actor(turn)
    found = students.list_students(turn.session, turn.org, actor)

    counts: dict[str, int] = {}
    for student in found:
        counts[student.class_name] = counts.get(student.class_name, 0) + 1
    lines = [
        tr(turn.language, "Students of {school}: {count}", school=turn.org.name, count=len(found))
    ]
    lines += [f"• {name}: {count}" for name, count in sorted(counts.items())]
    buttons = (
        _button(tr(turn.language, "Add student"), Key.STUDENT_ADD),
        _button(tr(turn.language, "Link a parent"), Key.PARENT_LINK),
        _button(tr(turn.language, "Archive student"), Key.STUDENT_ARCHIVE),
        _home(turn),
    )
    return Step([Text("\n".join(lines), buttons)])


async def student_add(turn: Turn) -> Step:
    turn.require(Action.STUDENT_MANAGE)

    ask = tr(turn.language, "What is the student number (NIS)?")
    return _say(turn, ask, SchoolState.STUDENT_NIS)


async def student_nis_typed(turn: Turn) -> Step:
    turn.require(Action.STUDENT_MANAGE)
    nis = turn.inbound.text.strip()

    ask = tr(turn.language, "What is the student's full name?")
    return _say(turn, ask, SchoolState.STUDENT_NAME, nis=nis)


async def student_name_typed(turn: Turn) -> Step:
    turn.require(Action.STUDENT_MANAGE)
    name = " ".join(turn.inbound.text.split())

    ask = tr(turn.language, "Which class is {name} in? For example: 7A", name=name)
    return _say(turn, ask, SchoolState.STUDENT_CLASS, **{**turn.data, "name": name})


async def student_class_typed(turn: Turn) -> Step:
    data = turn.data
    student = students.add_student(
        turn.session,
        turn.org,
        _actor(turn),
        nis=data.get("nis", ""),
        name=data.get("name", ""),
        class_name=turn.inbound.text,
    )

    text = tr(
        turn.language,
        "Registered {name} ({nis}) in class {class_name}.",
        name=student.name,
        nis=student.nis,
        class_name=student.class_name,
    )
    buttons = (
        _button(tr(turn.language, "Link a parent"), Key.PARENT_LINK, student.id),
        _home(turn),
    )
    return Step([Text(text, buttons)])


async def parent_link(turn: Turn) -> Step:
    turn.require(Action.PARENT_MANAGE)
    student_id = _value(turn)
    if student_id:
        student = turn.session.get(Student, student_id)
        if student is None or student.organisation_id != turn.org.id:
            return menu_step(turn)
        return _ask_parent_name(turn, student)

    ask = tr(turn.language, "What is the student number (NIS) of the child?")
    return _say(turn, ask, SchoolState.PARENT_NIS)


def _ask_parent_name(turn: Turn, student: Student) -> Step:
    ask = tr(turn.language, "What is the name of {student}'s parent?", student=student.name)
    return _say(turn, ask, SchoolState.PARENT_NAME, nis=student.nis)


async def parent_nis_typed(turn: Turn) -> Step:
    turn.require(Action.PARENT_MANAGE)
    student = students.get_student(turn.session, turn.org, turn.inbound.text)

    return _ask_parent_name(turn, student)


async def parent_name_typed(turn: Turn) -> Step:
    turn.require(Action.PARENT_MANAGE)
    name = " ".join(turn.inbound.text.split())

    ask = tr(turn.language, "What is {name}'s mobile number or e-mail address?", name=name)
    return _say(turn, ask, SchoolState.PARENT_CONTACT, **{**turn.data, "name": name})


async def parent_contact_typed(turn: Turn) -> Step:
    actor = _actor(turn)
    contact = turn.inbound.text.strip()
    is_email = "@" in contact
    student = students.get_student(turn.session, turn.org, turn.data.get("nis", ""))
    parent = students.add_parent(
        turn.session,
        turn.org,
        actor,
        name=turn.data.get("name", ""),
        phone=None if is_email else contact,
        email=contact if is_email else None,
    )
    students.link_parent(turn.session, turn.org, actor, student=student, parent=parent)

    done = tr(
        turn.language, "Linked {parent} to {student}.", parent=parent.name, student=student.name
    )
    return _say(turn, done)


async def student_archive(turn: Turn) -> Step:
    turn.require(Action.STUDENT_MANAGE)

    ask = tr(turn.language, "What is the student number (NIS) of the student who left?")
    return _say(turn, ask, SchoolState.ARCHIVE_NIS)


async def archive_nis_typed(turn: Turn) -> Step:
    turn.require(Action.STUDENT_MANAGE)
    student = students.get_student(turn.session, turn.org, turn.inbound.text)

    text = tr(
        turn.language,
        "Archive {name} ({nis}, class {class_name})? Their bills and receipts stay.",
        name=student.name,
        nis=student.nis,
        class_name=student.class_name,
    )
    buttons = (
        _button(tr(turn.language, "Yes, archive"), Key.STUDENT_ARCHIVE_OK, student.id),
        _home(turn),
    )
    return Step([Text(text, buttons)])


async def student_archive_confirmed(turn: Turn) -> Step:
    student = turn.session.get(Student, _value(turn))
    if student is None or student.organisation_id != turn.org.id:
        return menu_step(turn)
    students.archive_student(turn.session, turn.org, _actor(turn), student)

    return _say(
        turn, tr(turn.language, "Archived {name} ({nis}).", name=student.name, nis=student.nis)
    )


# --- Monthly fees (finance) ----------------------------------------------------------------


async def fees_menu(turn: Turn) -> Step:
    turn.require(Action.RECURRING_FEE_MANAGE)
    year, month = calendar.this_month(turn.org)

    return _fees_preview(turn, _month_index(year, month))


async def fees_month(turn: Turn) -> Step:
    turn.require(Action.RECURRING_FEE_MANAGE)
    return _fees_preview(turn, _value(turn))


def _fees_preview(turn: Turn, index: int) -> Step:
    year, month = _from_index(index)
    period = f"{year:04d}-{month:02d}"
    preview = fees.preview_recurring_run(turn.session, turn.org, period, actor=_actor(turn))

    label = _month_label(year, month, turn.language)
    lines = [
        tr(turn.language, "Monthly fees for {month}:", month=label),
        tr(
            turn.language,
            "New invoices: {count}, total {total}.",
            count=len(preview.new),
            total=format_rupiah(preview.total),
        ),
        tr(turn.language, "Already billed: {count}.", count=len(preview.already_billed)),
    ]
    missing = preview.without_payer
    if missing:
        names = ", ".join(item.student.name for item in missing[:10])
        lines.append(tr(turn.language, "No parent registered, not billed: {names}", names=names))
    buttons = []
    if preview.new:
        buttons.append(
            _button(tr(turn.language, "Bill {month}", month=label), Key.FEES_RUN, index)
        )
    buttons.append(
        _button(
            _month_label(*_from_index(index + 1), turn.language) + " ▶", Key.FEES_MONTH, index + 1
        )
    )
    buttons.append(_home(turn))
    return Step([Text("\n".join(lines), tuple(buttons))])


async def fees_run(turn: Turn) -> Step:
    turn.require(Action.RECURRING_FEE_MANAGE)
    year, month = _from_index(_value(turn))
    result = fees.run_recurring_fees(
        turn.session, turn.org, f"{year:04d}-{month:02d}", actor=_actor(turn)
    )

    done = tr(
        turn.language,
        "Invoices issued: {count}, total {total}. Parents get their bills shortly.",
        count=len(result.issued),
        total=format_rupiah(sum(item.invoice.total for item in result.issued)),
    )
    return _say(turn, done)


# --- Registration --------------------------------------------------------------------------

MENU = [
    ("school_staff", N_("Staff"), staff_menu, Action.STAFF_MANAGE, 59),
    ("school_students", N_("Students"), students_menu, Action.STUDENT_MANAGE, 60),
    ("school_news", N_("Post news"), news_menu, Action.NEWS_POST, 61),
    ("school_event", N_("Add event"), event_new, Action.CALENDAR_EDIT, 62),
    (
        "school_calendar",
        N_("School calendar"),
        calendar_this_month,
        Action.CALENDAR_READ_SCHOOL,
        63,
    ),
    ("school_fees", N_("Monthly fees"), fees_menu, Action.RECURRING_FEE_MANAGE, 64),
    ("school_news_read", N_("School news"), parent_news, Action.NEWS_READ, 30),
    ("school_calendar_read", N_("Calendar"), calendar_this_month, Action.CALENDAR_READ, 31),
]

BUTTONS = {
    Key.STAFF_ADD: staff_add,
    Key.STAFF_PICK: staff_pick,
    Key.STAFF_CHANGE: staff_change,
    Key.STAFF_ROLE: staff_role_chosen,
    Key.STAFF_REMOVE: staff_remove,
    Key.STAFF_REMOVE_OK: staff_remove_confirmed,
    Key.NEWS_NEW: news_new,
    Key.NEWS_OTHER: news_other_language,
    Key.NEWS_PICK: news_pick,
    Key.NEWS_SEND: news_send,
    Key.NEWS_WITHDRAW: news_withdraw,
    Key.NEWS_CORRECT: news_correct,
    Key.NEWS_OPEN: parent_news_open,
    Key.NEWS_LIST: parent_news,
    Key.EVENT_PICK: event_pick,
    Key.EVENT_SAVE: event_save,
    Key.MONTH: calendar_month,
    Key.ICS: calendar_ics,
    Key.CHILD: child_chosen,
    Key.FEES_MONTH: fees_month,
    Key.FEES_RUN: fees_run,
    Key.STUDENT_ADD: student_add,
    Key.STUDENT_ARCHIVE: student_archive,
    Key.STUDENT_ARCHIVE_OK: student_archive_confirmed,
    Key.PARENT_LINK: parent_link,
}

TYPED = {
    SchoolState.STAFF_NAME: staff_name_typed,
    SchoolState.STAFF_CONTACT: staff_contact_typed,
    SchoolState.STAFF_CLASSES: staff_classes_typed,
    SchoolState.NEWS_TITLE: news_title_typed,
    SchoolState.NEWS_TEXT: news_text_typed,
    SchoolState.NEWS_OTHER_TITLE: news_title_typed,
    SchoolState.NEWS_OTHER_TEXT: news_text_typed,
    SchoolState.NEWS_AUDIENCE: audience_typed,
    SchoolState.NEWS_CORRECTION: news_correction_typed,
    SchoolState.EVENT_TITLE: event_title_typed,
    SchoolState.EVENT_DATES: event_dates_typed,
    SchoolState.EVENT_AUDIENCE: audience_typed,
    SchoolState.STUDENT_NIS: student_nis_typed,
    SchoolState.STUDENT_NAME: student_name_typed,
    SchoolState.STUDENT_CLASS: student_class_typed,
    SchoolState.PARENT_NIS: parent_nis_typed,
    SchoolState.PARENT_NAME: parent_name_typed,
    SchoolState.PARENT_CONTACT: parent_contact_typed,
    SchoolState.ARCHIVE_NIS: archive_nis_typed,
}

PHRASES = [
    (r"\b(berita|pengumuman|news)\b", parent_news, Action.NEWS_READ),
    (r"\b(kalender|jadwal|calendar|agenda)\b", calendar_this_month, Action.CALENDAR_READ),
    (r"\b(kalender|jadwal|calendar|agenda)\b", calendar_this_month, Action.CALENDAR_READ_SCHOOL),
]


def _asking_again(handler: registry.Handler) -> registry.Handler:
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
                [Text(text, (_home(turn),))], SchoolState(turn.conversation.state), turn.data
            )

    return handle


def register() -> None:
    for key, title, handler, action, order in MENU:
        registry.register_menu_entry(
            key, title, handler, action=action, kinds=SCHOOL_ONLY, order=order
        )
    for button_key, handler in BUTTONS.items():
        registry.register_button_handler(button_key.value, handler)
    for state, handler in TYPED.items():
        registry.register_state_handler(state, _asking_again(handler))
    for pattern, handler, action in PHRASES:
        registry.register_phrase(pattern, handler, action=action)
