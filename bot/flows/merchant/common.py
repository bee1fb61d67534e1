"""What the staff flows share: sheet types by permission, the staff name, listings."""

from __future__ import annotations

from billing.permissions import Action, is_allowed
from bot.core.callbacks import Op
from bot.core.menu import button
from bot.core.turn import Step, Turn
from bot.replies import Button, Text
from locales import tr
from models import OrgKind

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_LISTED = 30
INVOICE_ONLY = frozenset({OrgKind.INVOICE})
SCHOOL_ONLY = frozenset({OrgKind.SCHOOL})

# The actions a role needs to import each sheet type, by billing.sheets SheetType value.
SHEET_ACTIONS: dict[str, tuple[Action, ...]] = {
    "bills": (Action.BILLS_UPLOAD,),
    "school_bills": (Action.BILLS_UPLOAD,),
    "customers": (Action.CUSTOMER_MANAGE,),
    "students": (Action.STUDENT_MANAGE, Action.PARENT_MANAGE),
}
REGISTRATION_TYPES = frozenset({"customers", "students"})
UPLOAD_ACTIONS = frozenset({Action.BILLS_UPLOAD, Action.CUSTOMER_MANAGE, Action.STUDENT_MANAGE})


def staff_name(turn: Turn) -> str:
    return turn.identity.phone or turn.identity.email or turn.identity.external_id


def may_import(turn: Turn, sheet_type: str | None) -> bool:
    assert turn.membership is not None
    actions = SHEET_ACTIONS.get(sheet_type or "")
    return actions is not None and all(
        is_allowed(turn.membership.role, action) for action in actions
    )


def importable_types(turn: Turn) -> frozenset[str]:
    """Return the sheet types this person's role may import."""
    return frozenset(name for name in SHEET_ACTIONS if may_import(turn, name))


def require_import(turn: Turn, sheet_type: str) -> None:
    """Raise PermissionDenied unless the role may import sheets of this type."""
    for action in SHEET_ACTIONS.get(sheet_type, (Action.BILLS_UPLOAD,)):
        turn.require(action)


def listing_step(turn: Turn, heading: str, items: list[str], add: Button) -> Step:
    """List the first MAX_LISTED items under a heading, with an add button and the menu."""
    lines = [heading] + [f"• {item}" for item in items[:MAX_LISTED]]
    if len(items) > MAX_LISTED:
        lines.append(tr(turn.language, "…and {count} more.", count=len(items) - MAX_LISTED))
    buttons = (add, button(tr(turn.language, "Menu"), Op.HOME))
    return Step([Text("\n".join(lines), buttons)])
