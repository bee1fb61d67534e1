"""Monthly fees in chat: finance previews a month and bills it."""

from __future__ import annotations

from billing.errors import PermissionDenied, UserError
from billing.permissions import Action
from billing.school import calendar, fees, periods
from bot.core.turn import Question, Step, Turn
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
from locales import N_, format_rupiah, tr


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
    question = None
    try:
        periods.check_run_period(turn.org, preview)
    except UserError as problem:
        lines.append(problem.render(turn.language))
    else:
        if preview.new:
            bill = tr(turn.language, "Bill {month}", month=label)
            buttons.append(key_button(bill, Key.FEES_RUN, index))
            question = Question(cancelled=N_("Cancelled. No bills were issued."))
    next_year, next_month = month_from_index(index + 1)
    today = periods.local_today(turn.org)
    if periods.months_ahead(next_year, next_month, today) <= periods.MAX_MONTHS_AHEAD:
        title = month_label(next_year, next_month, turn.language) + " ▶"
        buttons.append(key_button(title, Key.FEES_MONTH, index + 1))
    buttons.append(menu_button(turn))
    return Step([Text("\n".join(lines), tuple(buttons))], question=question)


async def fees_run(turn: Turn) -> Step:
    turn.require(Action.RECURRING_FEE_MANAGE)
    year, month = month_from_index(pressed_value(turn))
    # Chat offers no override for a month already past due, so billing one takes the
    # command line with --allow-past.
    try:
        with turn.session.begin_nested():
            result = fees.run_recurring_fees(
                turn.session, turn.org, f"{year:04d}-{month:02d}", actor=acting_staff(turn)
            )
    except PermissionDenied:
        raise
    except UserError as problem:
        return reply_step(turn, problem.render(turn.language))

    done = tr(
        turn.language,
        "Invoices issued: {count}, total {total}. Parents get their bills shortly.",
        count=len(result.issued),
        total=format_rupiah(sum(item.invoice.total for item in result.issued)),
    )
    return reply_step(turn, done)
