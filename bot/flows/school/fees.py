"""Monthly fees in chat: finance previews a month and bills it."""

from __future__ import annotations

from billing.permissions import Action
from billing.school import calendar, fees
from bot.core.turn import Step, Turn
from bot.flows.school.common import (
    Key,
    acting_staff,
    key_button,
    menu_button,
    month_from_index,
    month_index,
    month_label,
    pressed_value,
    reply_step,
)
from bot.replies import Text
from locales import format_rupiah, tr


async def fees_menu(turn: Turn) -> Step:
    turn.require(Action.RECURRING_FEE_MANAGE)
    year, month = calendar.this_month(turn.org)

    return _fees_preview(turn, month_index(year, month))


async def fees_month(turn: Turn) -> Step:
    turn.require(Action.RECURRING_FEE_MANAGE)
    return _fees_preview(turn, pressed_value(turn))


def _fees_preview(turn: Turn, index: int) -> Step:
    year, month = month_from_index(index)
    period = f"{year:04d}-{month:02d}"
    preview = fees.preview_recurring_run(turn.session, turn.org, period, actor=acting_staff(turn))

    label = month_label(year, month, turn.language)
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
            key_button(tr(turn.language, "Bill {month}", month=label), Key.FEES_RUN, index)
        )
    buttons.append(
        key_button(
            month_label(*month_from_index(index + 1), turn.language) + " ▶",
            Key.FEES_MONTH,
            index + 1,
        )
    )
    buttons.append(menu_button(turn))
    return Step([Text("\n".join(lines), tuple(buttons))])


async def fees_run(turn: Turn) -> Step:
    turn.require(Action.RECURRING_FEE_MANAGE)
    year, month = month_from_index(pressed_value(turn))
    result = fees.run_recurring_fees(
        turn.session, turn.org, f"{year:04d}-{month:02d}", actor=acting_staff(turn)
    )

    done = tr(
        turn.language,
        "Invoices issued: {count}, total {total}. Parents get their bills shortly.",
        count=len(result.issued),
        total=format_rupiah(sum(item.invoice.total for item in result.issued)),
    )
    return reply_step(turn, done)
