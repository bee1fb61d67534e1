"""The invoice report for a period chosen by button or typed as two dates."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

from billing.permissions import Action
from bot.core import services
from bot.core.callbacks import Op
from bot.core.menu import button
from bot.core.states import State
from bot.core.turn import Step, Turn
from bot.flows.merchant.common import XLSX
from bot.replies import Document, Text
from locales import N_, format_date, tr

RANGES = {
    "this_month": N_("This month"),
    "last_month": N_("Last month"),
    "last_30_days": N_("Last 30 days"),
}
_RANGE_TEXT = re.compile(
    r"(\d{1,2})/(\d{1,2})/(\d{4})\s*(?:-|–|s/d|to|sampai)\s*(\d{1,2})/(\d{1,2})/(\d{4})"
)


async def ask_report_range(turn: Turn) -> Step:
    turn.require(Action.REPORT_DOWNLOAD)

    buttons = tuple(
        button(tr(turn.language, title), Op.REPORT_RANGE, key=key) for key, title in RANGES.items()
    )
    text = tr(
        turn.language, "Which period? Choose one, or type dates like 01/11/2026 - 30/11/2026."
    )
    return Step([Text(text, buttons)], State.AWAIT_REPORT_RANGE)


def named_range(key: str, today: dt.date) -> tuple[dt.date, dt.date]:
    if key == "last_month":
        end = today.replace(day=1) - dt.timedelta(days=1)
        return end.replace(day=1), end
    if key == "last_30_days":
        return today - dt.timedelta(days=29), today
    return today.replace(day=1), today


def parse_range(text: str) -> tuple[dt.date, dt.date] | None:
    """Read "01/11/2026 - 30/11/2026" (day first); None when the text is not such a range."""
    match = _RANGE_TEXT.search(text)
    if match is None:
        return None
    day1, month1, year1, day2, month2, year2 = (int(part) for part in match.groups())
    try:
        start, end = dt.date(year1, month1, day1), dt.date(year2, month2, day2)
    except ValueError:
        return None
    return (start, end) if start <= end else None


async def report_for_button(turn: Turn) -> Step:
    turn.require(Action.REPORT_DOWNLOAD)
    callback = turn.inbound.callback
    assert callback is not None
    today = dt.datetime.now(ZoneInfo(turn.org.timezone)).date()

    start, end = named_range(callback.key, today)
    return _report_step(turn, start, end)


async def report_for_text(turn: Turn) -> Step:
    turn.require(Action.REPORT_DOWNLOAD)
    period = parse_range(turn.inbound.text)

    if period is None:
        text = tr(
            turn.language, "I could not read those dates. Type them like 01/11/2026 - 30/11/2026."
        )
        return Step([Text(text)], State.AWAIT_REPORT_RANGE)
    return _report_step(turn, *period)


def _report_step(turn: Turn, start: dt.date, end: dt.date) -> Step:
    content = services.build_invoice_report(
        turn.session, turn.org, start=start, end=end, language=turn.language
    )
    caption = tr(
        turn.language,
        "Invoices from {start} to {end}.",
        start=format_date(start, turn.language),
        end=format_date(end, turn.language),
    )
    filename = f"invoices-{start.isoformat()}-{end.isoformat()}.xlsx"
    return Step([Document(filename, content, XLSX, caption)])
