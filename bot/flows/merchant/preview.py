"""The preview of a checked sheet: counts, problems with their rows, and the choices."""

from __future__ import annotations

from bot.core.callbacks import Op
from bot.core.menu import button
from bot.core.services import PreviewView, Problem
from bot.core.states import State
from bot.core.turn import Question, Step, Turn
from bot.flows.merchant.common import MAX_LISTED, REGISTRATION_TYPES, XLSX
from bot.replies import Document, Reply, Text
from locales import format_rupiah, tr, trn

MAX_PROBLEMS_SHOWN = 200  # the adapters split long text; the annotated sheet has them all
MAX_EXISTING_SHOWN = 50  # invoice numbers listed as already issued before "and N more"


def preview_step(turn: Turn, preview: PreviewView) -> Step:
    """Summarise a checked sheet, attach the annotated copy and ask what to send or save."""
    registration = preview.sheet_type in REGISTRATION_TYPES
    if registration:
        summary = _registration_text(turn, preview)
    else:
        summary = _preview_text(turn, preview)
    replies: list[Reply] = [Text(summary)]
    if preview.annotated:
        caption = tr(turn.language, "Rows with problems are marked in this copy of your sheet.")
        name = f"checked-{preview.batch_id}.xlsx"
        replies.append(Document(name, preview.annotated, XLSX, caption))

    batch_id = preview.batch_id
    if registration:
        all_title = tr(turn.language, "Save all")
        valid_title = tr(turn.language, "Save only valid rows")
    else:
        all_title = tr(turn.language, "Send all")
        valid_title = tr(turn.language, "Send only valid rows")
    buttons = []
    if preview.ready_count and not preview.problems:
        buttons.append(button(all_title, Op.PREVIEW_SEND_ALL, value=batch_id))
    if preview.ready_count and preview.problems:
        buttons.append(button(valid_title, Op.PREVIEW_SEND_VALID, value=batch_id))
    cancel = button(tr(turn.language, "Cancel"), Op.PREVIEW_CANCEL, value=batch_id)
    buttons.append(cancel)
    replies.append(Text(tr(turn.language, "What should I do with this sheet?"), tuple(buttons)))
    return Step(replies, State.PREVIEW, {"batch_id": batch_id}, Question(cancel.payload))


def _registration_text(turn: Turn, preview: PreviewView) -> str:
    """Describe a customers or students sheet: who is new, who is known, every problem."""
    language = turn.language
    students = preview.students
    if students is None:
        lines = [
            trn(
                language,
                "Customer sheet checked: {count} new customer, {known} already registered.",
                "Customer sheet checked: {count} new customers, {known} already registered.",
                preview.new_customers,
                known=preview.registered_customers,
            )
        ]
    else:
        lines = _students_lines(turn, preview)
    if not preview.ready_count and not preview.problems:
        text = tr(
            language, "Everyone in this sheet is already registered, so there is nothing to save."
        )
        lines.append(text)
    if preview.problems:
        text = trn(
            language,
            "{count} problem. Rows with problems are not saved:",
            "{count} problems. Rows with problems are not saved:",
            len(preview.problems),
        )
        lines.append(text)
    lines.extend(_problem_lines(turn, preview.problems))
    return "\n".join(lines)


def _students_lines(turn: Turn, preview: PreviewView) -> list[str]:
    language = turn.language
    students = preview.students
    assert students is not None
    lines = [
        trn(
            language,
            "Student sheet checked: {count} new student, {known} already registered.",
            "Student sheet checked: {count} new students, {known} already registered.",
            students.new_students,
            known=students.known_students,
        ),
        tr(
            language,
            "Parents: {new} new, {known} already registered.",
            new=students.new_parents,
            known=students.known_parents,
        ),
    ]
    if students.known_students:
        text = tr(
            language,
            "Students already registered are kept. Their class is updated and new parents "
            "are linked to them.",
        )
        lines.append(text)
    if students.shared_parents:
        lines.append(tr(language, "Parents shared by siblings:"))
        for parent in students.shared_parents[:MAX_LISTED]:
            lines.append(f"• {parent.name}: {', '.join(parent.students)}")
        hidden = len(students.shared_parents) - MAX_LISTED
        if hidden > 0:
            lines.append(tr(language, "…and {count} more.", count=hidden))
    return lines


def _problem_lines(turn: Turn, problems: list[Problem]) -> list[str]:
    """List at most MAX_PROBLEMS_SHOWN problems, because the annotated sheet marks them all."""
    lines = [_problem_line(turn, problem) for problem in problems[:MAX_PROBLEMS_SHOWN]]
    hidden = len(problems) - MAX_PROBLEMS_SHOWN
    if hidden > 0:
        more = tr(turn.language, "…and {count} more, marked in the attached sheet.", count=hidden)
        lines.append(more)
    return lines


def _preview_text(turn: Turn, preview: PreviewView) -> str:
    lines = [
        tr(
            turn.language,
            "Sheet checked: {count} invoices ready, total {total}, {new} new customers.",
            count=preview.invoice_count,
            total=format_rupiah(preview.total),
            new=preview.new_customers,
        )
    ]
    if preview.existing:
        lines.append(_existing_line(turn, preview.existing))
        if not preview.invoice_count and not preview.problems:
            text = tr(
                turn.language,
                "Every invoice in this sheet was issued before, so there is nothing to send.",
            )
            lines.append(text)
    if preview.problems:
        text = tr(
            turn.language,
            "{count} problems in {rows} rows. Those rows are not sent:",
            count=len(preview.problems),
            rows=preview.invalid_rows,
        )
        lines.append(text)
    lines.extend(_problem_lines(turn, preview.problems))
    return "\n".join(lines)


def _existing_line(turn: Turn, numbers: list[str]) -> str:
    listed = ", ".join(numbers[:MAX_EXISTING_SHOWN])
    hidden = len(numbers) - MAX_EXISTING_SHOWN
    if hidden > 0:
        listed = tr(turn.language, "{numbers} and {count} more", numbers=listed, count=hidden)
    return tr(turn.language, "Already issued, not issued again: {numbers}.", numbers=listed)


def _problem_line(turn: Turn, problem: Problem) -> str:
    if problem.row is None:
        return f"• {problem.message}"
    where = tr(turn.language, "Row {row}", row=problem.row)
    column = f", {problem.column}" if problem.column else ""
    return f"• {where}{column}: {problem.message}"
