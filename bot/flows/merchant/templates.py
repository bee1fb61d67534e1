"""The .xlsx templates staff fill in: bills, customers or students."""

from __future__ import annotations

from billing.permissions import Action
from bot.core import services
from bot.core.callbacks import Op
from bot.core.menu import button
from bot.core.turn import Step, Turn
from bot.flows.merchant.common import XLSX, may_import
from bot.replies import Document, Text
from locales import N_, tr
from models import OrgKind

TEMPLATE_TITLES = {
    "bills": N_("Bill template"),
    "customers": N_("Customer template"),
    "students": N_("Student template"),
}


def _template_names(turn: Turn) -> list[str]:
    """Return the templates this person can use: bills, customers or students."""
    kind = OrgKind(turn.org.kind)
    fitting = {
        "bills": "school_bills" if kind is OrgKind.SCHOOL else "bills",
        "customers": "customers" if kind is OrgKind.INVOICE else None,
        "students": "students" if kind is OrgKind.SCHOOL else None,
    }
    names = [name for name, sheet_type in fitting.items() if may_import(turn, sheet_type)]
    return names or ["bills"]


async def send_template(turn: Turn) -> Step:
    """Send the only template the role can use, or ask which one when there are several."""
    turn.require(Action.TEMPLATE_DOWNLOAD)
    names = _template_names(turn)

    if len(names) == 1:
        return _template_step(turn, names[0])
    buttons = tuple(
        button(tr(turn.language, TEMPLATE_TITLES[name]), Op.TEMPLATE, key=name) for name in names
    )
    return Step([Text(tr(turn.language, "Which template do you need?"), buttons)])


async def template_chosen(turn: Turn) -> Step:
    turn.require(Action.TEMPLATE_DOWNLOAD)
    callback = turn.inbound.callback
    assert callback is not None
    if callback.key not in _template_names(turn):
        return await send_template(turn)

    return _template_step(turn, callback.key)


def _template_step(turn: Turn, name: str) -> Step:
    content = services.build_template(turn.session, turn.org, name)
    caption = tr(turn.language, "Fill in this sheet and send it back here as a file.")
    prefix = "template" if name == "bills" else f"template-{name}"
    return Step([Document(f"{prefix}-{turn.org.slug}.xlsx", content, XLSX, caption)])
