"""Students and parents registered in chat, for admins."""

from __future__ import annotations

from billing.permissions import Action
from billing.school import students
from bot.core.menu import menu_step
from bot.core.turn import Question, Step, Turn
from bot.flows.school.common import (
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
from models import Student


async def students_menu(turn: Turn) -> Step:
    actor = acting_staff(turn)
    found = students.list_students(turn.session, turn.org, actor)

    counts: dict[str, int] = {}
    for student in found:
        counts[student.class_name] = counts.get(student.class_name, 0) + 1
    lines = [
        tr(turn.language, "Students of {school}: {count}", school=turn.org.name, count=len(found))
    ]
    lines += [f"• {name}: {count}" for name, count in sorted(counts.items())]
    buttons = (
        key_button(tr(turn.language, "Add student"), Key.STUDENT_ADD),
        key_button(tr(turn.language, "Link a parent"), Key.PARENT_LINK),
        key_button(tr(turn.language, "Archive student"), Key.STUDENT_ARCHIVE),
        menu_button(turn),
    )
    return Step([Text("\n".join(lines), buttons)])


async def student_add(turn: Turn) -> Step:
    turn.require(Action.STUDENT_MANAGE)

    ask = tr(turn.language, "What is the student number (NIS)?")
    return reply_step(turn, ask, SchoolState.STUDENT_NIS)


async def student_nis_typed(turn: Turn) -> Step:
    turn.require(Action.STUDENT_MANAGE)
    nis = turn.inbound.text.strip()

    ask = tr(turn.language, "What is the student's full name?")
    return reply_step(turn, ask, SchoolState.STUDENT_NAME, nis=nis)


async def student_name_typed(turn: Turn) -> Step:
    turn.require(Action.STUDENT_MANAGE)
    name = " ".join(turn.inbound.text.split())

    ask = tr(turn.language, "Which class is {name} in? For example: 7A", name=name)
    return reply_step(turn, ask, SchoolState.STUDENT_CLASS, **{**turn.data, "name": name})


async def student_class_typed(turn: Turn) -> Step:
    data = turn.data
    student = students.add_student(
        turn.session,
        turn.org,
        acting_staff(turn),
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
        key_button(tr(turn.language, "Link a parent"), Key.PARENT_LINK, student.id),
        menu_button(turn),
    )
    return Step([Text(text, buttons)])


async def parent_link(turn: Turn) -> Step:
    turn.require(Action.PARENT_MANAGE)
    student_id = pressed_value(turn)
    if student_id:
        student = turn.session.get(Student, student_id)
        if student is None or student.organisation_id != turn.org.id:
            return menu_step(turn)
        return _ask_parent_name(turn, student)

    ask = tr(turn.language, "What is the student number (NIS) of the child?")
    return reply_step(turn, ask, SchoolState.PARENT_NIS)


def _ask_parent_name(turn: Turn, student: Student) -> Step:
    ask = tr(turn.language, "What is the name of {student}'s parent?", student=student.name)
    return reply_step(turn, ask, SchoolState.PARENT_NAME, nis=student.nis)


async def parent_nis_typed(turn: Turn) -> Step:
    turn.require(Action.PARENT_MANAGE)
    student = students.get_student(turn.session, turn.org, turn.inbound.text)

    return _ask_parent_name(turn, student)


async def parent_name_typed(turn: Turn) -> Step:
    turn.require(Action.PARENT_MANAGE)
    name = " ".join(turn.inbound.text.split())

    ask = tr(turn.language, "What is {name}'s mobile number or e-mail address?", name=name)
    return reply_step(turn, ask, SchoolState.PARENT_CONTACT, **{**turn.data, "name": name})


async def parent_contact_typed(turn: Turn) -> Step:
    actor = acting_staff(turn)
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
    return reply_step(turn, done)


async def student_archive(turn: Turn) -> Step:
    turn.require(Action.STUDENT_MANAGE)

    ask = tr(turn.language, "What is the student number (NIS) of the student who left?")
    return reply_step(turn, ask, SchoolState.ARCHIVE_NIS)


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
        key_button(tr(turn.language, "Yes, archive"), Key.STUDENT_ARCHIVE_OK, student.id),
        menu_button(turn),
    )
    question = Question(cancelled=N_("Cancelled. Nothing was archived."))
    return Step([Text(text, buttons)], question=question)


async def student_archive_confirmed(turn: Turn) -> Step:
    student = turn.session.get(Student, pressed_value(turn))
    if student is None or student.organisation_id != turn.org.id:
        return menu_step(turn)
    students.archive_student(turn.session, turn.org, acting_staff(turn), student)

    return reply_step(
        turn, tr(turn.language, "Archived {name} ({nis}).", name=student.name, nis=student.nis)
    )
