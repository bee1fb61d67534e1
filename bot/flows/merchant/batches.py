"""Decisions on a waiting preview: send or save it, cancel it, or settle two of them."""

from __future__ import annotations

from billing.errors import UserError
from bot.core import services
from bot.core.callbacks import Op
from bot.core.menu import menu_step
from bot.core.services import RegistrationSaved
from bot.core.states import State
from bot.core.turn import Step, Turn
from bot.flows.merchant.common import (
    REGISTRATION_TYPES,
    importable_types,
    require_import,
    staff_name,
)
from bot.flows.merchant.preview import MAX_EXISTING_SHOWN, preview_step
from bot.replies import Text
from locales import tr, trn
from models import BatchStatus, ImportBatch


def _waiting_batch(turn: Turn, batch_id: int | None) -> ImportBatch:
    batch = turn.session.get(ImportBatch, batch_id) if batch_id else None
    waiting = batch is not None and batch.status == BatchStatus.PREVIEW
    if batch is None or not waiting or batch.organisation_id != turn.org.id:
        raise UserError("chat.preview_gone", "This preview was already sent or cancelled.")
    return batch


async def send_batch(turn: Turn) -> Step:
    callback = turn.inbound.callback
    assert callback is not None
    batch = _waiting_batch(turn, callback.value)
    require_import(turn, batch.sheet_type)
    only_valid = callback.op is Op.PREVIEW_SEND_VALID
    if batch.sheet_type in REGISTRATION_TYPES:
        return _save_registrations(turn, batch, only_valid=only_valid)
    issued = services.confirm_batch(turn.session, turn.org, batch.id or 0, only_valid=only_valid)

    if issued is None:
        text = tr(
            turn.language,
            "Some rows still have problems, so nothing was sent. Send only the valid rows, "
            "or fix the sheet and send it again.",
        )
        return menu_step(turn, text)
    text = tr(
        turn.language, "Done: {count} invoices issued. Customers are being notified.", count=issued
    )
    return menu_step(turn, text)


def _save_registrations(turn: Turn, batch: ImportBatch, *, only_valid: bool) -> Step:
    saved = services.confirm_registration(
        turn.session, turn.org, batch.id or 0, only_valid=only_valid
    )

    if saved is None:
        text = tr(
            turn.language,
            "Some rows still have problems, so nothing was saved. Save only the valid rows, "
            "or fix the sheet and send it again.",
        )
        return menu_step(turn, text)
    return menu_step(turn, _saved_text(turn, batch.sheet_type, saved))


def _saved_text(turn: Turn, sheet_type: str, saved: RegistrationSaved) -> str:
    language = turn.language
    if sheet_type == "customers":
        lines = [
            trn(
                language,
                "Done: {count} new customer saved.",
                "Done: {count} new customers saved.",
                saved.customers,
            )
        ]
    else:
        lines = [
            trn(
                language,
                "Done: {count} new student saved, with {parents} new parents and {links} "
                "student-parent links.",
                "Done: {count} new students saved, with {parents} new parents and {links} "
                "student-parent links.",
                saved.students,
                parents=saved.customers,
                links=saved.guardian_links,
            )
        ]
    if saved.skipped_rows:
        rows = [str(row) for row in saved.skipped_rows]
        listed = ", ".join(rows[:MAX_EXISTING_SHOWN])
        hidden = len(rows) - MAX_EXISTING_SHOWN
        if hidden > 0:
            listed = tr(language, "{numbers} and {count} more", numbers=listed, count=hidden)
        lines.append(tr(language, "Rows not saved: {rows}.", rows=listed))
    return "\n".join(lines)


async def cancel_preview(turn: Turn) -> Step:
    callback = turn.inbound.callback
    assert callback is not None
    batch = _waiting_batch(turn, callback.value)
    require_import(turn, batch.sheet_type)
    services.cancel_batch(turn.session, turn.org, batch.id or 0)

    if batch.sheet_type in REGISTRATION_TYPES:
        return menu_step(turn, tr(turn.language, "Cancelled. Nothing was saved."))
    return menu_step(turn, tr(turn.language, "Cancelled. Nothing was sent."))


async def settle_conflict(turn: Turn) -> Step:
    """Drop one of two waiting previews and show the other one again."""
    callback = turn.inbound.callback
    assert callback is not None
    old, new = int(callback.key or 0), callback.value or 0
    drop, keep = (old, new) if callback.op is Op.REPLACE_PREVIEW else (new, old)
    dropped = _waiting_batch(turn, drop)
    require_import(turn, dropped.sheet_type)
    survivor = _waiting_batch(turn, keep)
    require_import(turn, survivor.sheet_type)
    services.cancel_batch(turn.session, turn.org, dropped.id or 0)
    filename, content = survivor.filename, survivor.content

    if not content:
        reply = tr(turn.language, "Please send that sheet again.")
        return Step([Text(reply)], State.AWAIT_UPLOAD)
    # The kept upload is checked again as a fresh batch, so its preview is current.
    services.cancel_batch(turn.session, turn.org, survivor.id or 0)
    preview = services.preview_upload(
        turn.session,
        turn.org,
        filename=filename,
        content=content,
        uploaded_by=staff_name(turn),
        language=turn.language,
        importable=importable_types(turn),
    )
    if preview.batch_id is None:
        return menu_step(turn, tr(turn.language, "Please send that sheet again."))
    return preview_step(turn, preview)
