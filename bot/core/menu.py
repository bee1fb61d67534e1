"""The main menu and the organisation chooser, built from the registered entries."""

from __future__ import annotations

from billing.permissions import Role
from bot.core.callbacks import CallbackData, Op
from bot.core.identity import Membership
from bot.core.registry import menu_entries
from bot.core.states import State
from bot.core.turn import Step, Turn
from bot.replies import Button, Text
from locales import N_, tr
from models import OrgKind

ROLE_NAMES = {
    Role.SUPER_ADMIN: N_("super admin"),
    Role.FINANCE: N_("finance"),
    Role.ADMIN: N_("admin"),
    Role.TEACHER: N_("teacher"),
    Role.PARENT: N_("parent"),
    Role.CUSTOMER: N_("customer"),
}


def role_name(role: Role, language: str) -> str:
    return tr(language, ROLE_NAMES[role])


def button(title: str, op: Op, *, key: str = "", value: int | None = None) -> Button:
    return Button(title, CallbackData(op, key, value).encode())


def menu_step(turn: Turn, intro: str | None = None) -> Step:
    """Show the menu of the chosen role, optionally after a line of text."""
    membership = turn.membership
    assert membership is not None
    entries = menu_entries(OrgKind(membership.organisation_kind), membership.role)
    buttons = [button(tr(turn.language, entry.title), Op.MENU, key=entry.key) for entry in entries]
    if len(turn.memberships) > 1:
        buttons.append(button(tr(turn.language, "Switch organisation"), Op.CHOOSE_ORG))
    heading = tr(
        turn.language,
        "{organisation} ({role}): what would you like to do?",
        organisation=membership.organisation_name,
        role=role_name(membership.role, turn.language),
    )
    text = f"{intro}\n\n{heading}" if intro else heading
    return Step([Text(text, tuple(buttons))])


def membership_title(membership: Membership, language: str) -> str:
    return f"{membership.organisation_name} ({role_name(membership.role, language)})"


def choose_organisation_step(turn: Turn) -> Step:
    buttons = [
        button(
            membership_title(membership, turn.language),
            Op.CHOOSE_ORG,
            key=membership.role.value,
            value=membership.organisation_id,
        )
        for membership in turn.memberships
    ]
    text = tr(
        turn.language, "You are registered with several organisations. Which one is this about?"
    )
    return Step([Text(text, tuple(buttons))], State.CHOOSE_ORG)
