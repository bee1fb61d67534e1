"""Staff management in chat, for the super admin."""

from __future__ import annotations

from typing import Any

from billing.errors import UserError
from billing.permissions import Action
from billing.school import staff
from billing.school.actors import clean_classes
from bot.core.menu import menu_step
from bot.core.turn import Question, Step, Turn
from bot.flows.school.common import (
    MAX_STAFF_BUTTONS,
    ROLE_ORDER,
    Key,
    SchoolState,
    acting_staff,
    key_button,
    menu_button,
    pressed_value,
    reply_step,
)
from bot.replies import Text
from locales import N_, tr
from models import StaffRole, StaffUser


async def staff_menu(turn: Turn) -> Step:
    actor = acting_staff(turn)
    members = staff.list_staff(turn.session, turn.org, actor)

    lines = [tr(turn.language, "Staff of {school}:", school=turn.org.name)]
    lines += [_staff_line(turn, member) for member in members]
    buttons = [
        key_button(tr(turn.language, "Add staff"), Key.STAFF_ADD),
        key_button(tr(turn.language, "Import staff sheet"), Key.STAFF_SHEET),
    ]
    buttons += [
        key_button(member.name or member.phone or "-", Key.STAFF_PICK, member.id)
        for member in members[:MAX_STAFF_BUTTONS]
    ]
    buttons.append(menu_button(turn))
    return Step([Text("\n".join(lines), tuple(buttons))])


def _staff_line(turn: Turn, member: StaffUser) -> str:
    role = tr(turn.language, staff.ROLE_LABELS[StaffRole(member.role)])
    classes = f" ({', '.join(member.classes)})" if member.classes else ""
    contact = member.phone or member.email or "-"
    return f"• {member.name} — {role}{classes}, {contact}"


async def staff_add(turn: Turn) -> Step:
    turn.require(Action.STAFF_MANAGE)

    return reply_step(
        turn, tr(turn.language, "What is the new staff member's name?"), SchoolState.STAFF_NAME
    )


async def staff_name_typed(turn: Turn) -> Step:
    turn.require(Action.STAFF_MANAGE)
    name = " ".join(turn.inbound.text.split())
    if not name:
        raise UserError("school.staff_name_missing", "The staff member's name is missing.")

    ask = tr(turn.language, "What is {name}'s mobile number or e-mail address?", name=name)
    return reply_step(turn, ask, SchoolState.STAFF_CONTACT, name=name)


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
        key_button(tr(turn.language, staff.ROLE_LABELS[role]), Key.STAFF_ROLE, index)
        for index, role in enumerate(ROLE_ORDER)
    )
    text = tr(turn.language, "Which role does {name} have?", name=data.get("name", ""))
    question = Question(cancelled=N_("Cancelled. Nothing was saved."))
    return Step([Text(text, buttons)], SchoolState.STAFF_ROLE, data, question)


async def staff_role_chosen(turn: Turn) -> Step:
    turn.require(Action.STAFF_MANAGE)
    index = pressed_value(turn)
    if turn.conversation.state != SchoolState.STAFF_ROLE or not 0 <= index < len(ROLE_ORDER):
        return menu_step(turn)
    data = {**turn.data, "role": ROLE_ORDER[index].value}

    if ROLE_ORDER[index] is StaffRole.TEACHER:
        ask = tr(turn.language, "Which classes does the teacher teach? For example: 7A, 7B")
        return reply_step(turn, ask, SchoolState.STAFF_CLASSES, **data)
    return _save_staff(turn, data)


async def staff_classes_typed(turn: Turn) -> Step:
    turn.require(Action.STAFF_MANAGE)
    classes = clean_classes(turn.inbound.text.replace(";", ",").split(","))

    return _save_staff(turn, {**turn.data, "classes": classes})


def _save_staff(turn: Turn, data: dict[str, Any]) -> Step:
    actor = acting_staff(turn)
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
        return reply_step(turn, done)
    entry = staff.StaffInput(
        name=data.get("name", ""),
        phone=None if is_email else contact,
        email=contact if is_email else None,
        role=data["role"],
        classes=data.get("classes"),
    )
    member = staff.add_staff(turn.session, turn.org, actor, entry)
    return reply_step(turn, tr(turn.language, "Saved: {line}", line=_staff_line(turn, member)))


async def staff_pick(turn: Turn) -> Step:
    turn.require(Action.STAFF_MANAGE)
    member = staff.get_staff(turn.session, turn.org, pressed_value(turn))

    buttons = (
        key_button(tr(turn.language, "Change role"), Key.STAFF_CHANGE, member.id),
        key_button(tr(turn.language, "Remove"), Key.STAFF_REMOVE, member.id),
        menu_button(turn),
    )
    return Step([Text(_staff_line(turn, member), buttons)])


async def staff_change(turn: Turn) -> Step:
    turn.require(Action.STAFF_MANAGE)
    member = staff.get_staff(turn.session, turn.org, pressed_value(turn))

    return _role_question(turn, {"staff_id": member.id, "name": member.name})


async def staff_remove(turn: Turn) -> Step:
    turn.require(Action.STAFF_MANAGE)
    member = staff.get_staff(turn.session, turn.org, pressed_value(turn))

    text = tr(turn.language, "Remove {name} from the staff?", name=member.name)
    buttons = (
        key_button(tr(turn.language, "Yes, remove"), Key.STAFF_REMOVE_OK, member.id),
        menu_button(turn),
    )
    question = Question(cancelled=N_("Cancelled. Nobody was removed."))
    return Step([Text(text, buttons)], question=question)


async def staff_remove_confirmed(turn: Turn) -> Step:
    member = staff.get_staff(turn.session, turn.org, pressed_value(turn))
    staff.remove_staff(turn.session, turn.org, acting_staff(turn), member)

    return reply_step(turn, tr(turn.language, "Removed {name}.", name=member.name))
