"""Sheets sent in chat: the role check, the preview, and a second upload while one waits."""

from __future__ import annotations

import logging

from sqlmodel import col, select

from billing.permissions import Action
from bot.core import registry, services
from bot.core.callbacks import Op
from bot.core.engine import update_tag
from bot.core.formatting import image_instead_of_sheet
from bot.core.menu import button, menu_step, role_name
from bot.core.states import State
from bot.core.turn import Question, Step, Turn
from bot.flows.merchant.common import importable_types, staff_name
from bot.flows.merchant.preview import preview_step
from bot.replies import Text
from locales import N_, tr
from models import BatchStatus, ImportBatch, OrgKind

log = logging.getLogger(__name__)

REJECTIONS = {
    "bills": N_(
        "This is a bill sheet. Issuing bills is a finance task that your role ({role}) "
        "cannot do, so nothing was saved. Ask finance staff to send the sheet."
    ),
    "customers": N_(
        "This is a customer sheet. Registering customers is an admin task that your role "
        "({role}) cannot do, so nothing was saved. Ask an admin to send the sheet."
    ),
    "students": N_(
        "This is a student and parent sheet. Registering students and parents is an admin "
        "task that your role ({role}) cannot do, so nothing was saved. "
        "Ask an admin to send the sheet."
    ),
}


async def ask_upload(turn: Turn) -> Step:
    if not importable_types(turn):
        turn.require(Action.BILLS_UPLOAD)

    reply = tr(turn.language, "Send the filled sheet (.xlsx) here as a file.")
    return Step([Text(reply)], State.AWAIT_UPLOAD)


async def receive_sheet(turn: Turn) -> Step:
    """Check an uploaded sheet of any type the role may import and show its preview.

    At a school, a file without a recognised header is passed on to the next document
    handler when the role cannot upload bills, because such staff also send sheets that
    other flows read. An image is passed on the same way unless the chat waits for a sheet
    upload. At a merchant no other flow reads files, so both get the merchant's file hint.
    """
    importable = importable_types(turn)
    if not importable:
        turn.require(Action.BILLS_UPLOAD)
    document = turn.inbound.document
    assert document is not None and document.content is not None
    image_error = image_instead_of_sheet(document, turn.language)
    if image_error is not None:
        awaited = turn.conversation.state == State.AWAIT_UPLOAD
        log.info("update %s: image sent instead of a sheet", update_tag(turn.inbound))
        if not awaited and "bills" not in importable:
            return _pass_on(turn, image_error, importable)
        return Step([Text(image_error)])
    preview = services.preview_upload(
        turn.session,
        turn.org,
        filename=document.filename,
        content=document.content,
        uploaded_by=staff_name(turn),
        language=turn.language,
        importable=importable,
    )

    if preview.rejected:
        assert turn.membership is not None
        log.info(
            "update %s: %s sheet rejected for role %s",
            update_tag(turn.inbound),
            preview.sheet_type,
            turn.membership.role,
        )
        rejection = REJECTIONS.get(preview.sheet_type or "", REJECTIONS["bills"])
        role = role_name(turn.membership.role, turn.language)
        return menu_step(turn, tr(turn.language, rejection, role=role))
    if preview.file_error is not None:
        text = tr(turn.language, "I could not read this file: {error}", error=preview.file_error)
        unrecognised = preview.file_error_code == "sheet.no_header"
        if unrecognised and "bills" not in importable:
            log.info("update %s: no sheet header found", update_tag(turn.inbound))
            return _pass_on(turn, text, importable)
        return Step([Text(text)])
    earlier = _earlier_preview(turn, preview.batch_id)
    if earlier is not None and preview.batch_id:
        return _conflict_step(turn, old=earlier, new=preview.batch_id)
    return preview_step(turn, preview)


def _pass_on(turn: Turn, problem: str, importable: frozenset[str]) -> Step:
    """Decline a file at a school, so another flow may read it, else explain it and the hint.

    Raises DocumentDeclined at a school.
    """
    if turn.org.kind == OrgKind.SCHOOL:
        raise registry.DocumentDeclined(Step([Text(problem)]))
    return menu_step(turn, f"{problem}\n\n{merchant_file_hint(turn, importable)}")


def merchant_file_hint(turn: Turn, importable: frozenset[str]) -> str:
    """Return which sheets a merchant's staff member may send, and from which menu entry."""
    lines = []
    if "bills" in importable:
        text = tr(
            turn.language,
            "To issue bills, choose Upload a bill sheet, then send the filled bill template "
            "(.xlsx).",
        )
        lines.append(text)
    if "customers" in importable:
        text = tr(
            turn.language,
            "To register customers, choose Upload a customer sheet, then send the filled "
            "customer template (.xlsx).",
        )
        lines.append(text)
    lines.append(tr(turn.language, "Choose Get a template for an empty template."))
    return " ".join(lines)


def _earlier_preview(turn: Turn, new_batch_id: int | None) -> int | None:
    """Return this person's latest upload still waiting for an answer, other than the new one.

    The batch table is the record, so a preview still counts after the person used the menu.
    """
    query = (
        select(ImportBatch.id)
        .where(
            ImportBatch.organisation_id == turn.org.id,
            ImportBatch.uploaded_by == staff_name(turn),
            ImportBatch.status == BatchStatus.PREVIEW,
            ImportBatch.id != new_batch_id,
        )
        .order_by(col(ImportBatch.id).desc())
    )
    return turn.session.exec(query).first()


def _conflict_step(turn: Turn, *, old: int, new: int) -> Step:
    text = tr(
        turn.language,
        "The preview of your earlier sheet is still waiting for an answer. "
        "What should happen to it?",
    )
    replace = tr(turn.language, "Cancel it, use new")
    keep = tr(turn.language, "Keep the earlier one")
    buttons = (
        button(replace, Op.REPLACE_PREVIEW, key=str(old), value=new),
        button(keep, Op.KEEP_PREVIEW, key=str(old), value=new),
    )
    # A typed cancel word would not say which upload to drop, so it asks again.
    data = {"old": old, "new": new}
    return Step([Text(text, buttons)], State.PREVIEW_CONFLICT, data, Question())
