"""Who may do what: the one table every chat action and command checks."""

from __future__ import annotations

from enum import StrEnum

from billing.errors import PermissionDenied
from locales import N_


class Role(StrEnum):
    SUPER_ADMIN = "super_admin"
    FINANCE = "finance"
    ADMIN = "admin"
    TEACHER = "teacher"
    PARENT = "parent"
    CUSTOMER = "customer"


class Action(StrEnum):
    # Billing
    TEMPLATE_DOWNLOAD = "template_download"
    BILLS_UPLOAD = "bills_upload"
    INVOICE_LOOKUP = "invoice_lookup"
    INVOICE_VOID = "invoice_void"
    REPORT_DOWNLOAD = "report_download"
    PRODUCT_MANAGE = "product_manage"
    RECURRING_FEE_MANAGE = "recurring_fee_manage"
    RECONCILE = "reconcile"
    # People
    CUSTOMER_MANAGE = "customer_manage"
    STUDENT_MANAGE = "student_manage"
    PARENT_MANAGE = "parent_manage"
    STAFF_MANAGE = "staff_manage"
    SETTINGS_MANAGE = "settings_manage"
    # School news and calendar (teachers: their own classes only)
    NEWS_POST = "news_post"
    CALENDAR_EDIT = "calendar_edit"
    CALENDAR_READ_SCHOOL = "calendar_read_school"
    # Payers
    MY_BILLS = "my_bills"
    PAYMENT_HISTORY = "payment_history"
    RECEIPT_DOWNLOAD = "receipt_download"
    NEWS_READ = "news_read"
    CALENDAR_READ = "calendar_read"


_FINANCE = {
    Action.TEMPLATE_DOWNLOAD,
    Action.BILLS_UPLOAD,
    Action.INVOICE_LOOKUP,
    Action.INVOICE_VOID,
    Action.REPORT_DOWNLOAD,
    Action.PRODUCT_MANAGE,
    Action.RECURRING_FEE_MANAGE,
    Action.RECONCILE,
}
_ADMIN = {
    Action.TEMPLATE_DOWNLOAD,
    Action.INVOICE_LOOKUP,
    Action.CUSTOMER_MANAGE,
    Action.STUDENT_MANAGE,
    Action.PARENT_MANAGE,
    Action.NEWS_POST,
    Action.CALENDAR_EDIT,
    Action.CALENDAR_READ_SCHOOL,
}
_TEACHER = {Action.NEWS_POST, Action.CALENDAR_EDIT, Action.CALENDAR_READ_SCHOOL}
_PAYER = {
    Action.MY_BILLS,
    Action.PAYMENT_HISTORY,
    Action.RECEIPT_DOWNLOAD,
    Action.NEWS_READ,
    Action.CALENDAR_READ,
}

PERMISSIONS: dict[Role, frozenset[Action]] = {
    Role.SUPER_ADMIN: frozenset(_FINANCE | _ADMIN | {Action.STAFF_MANAGE, Action.SETTINGS_MANAGE}),
    Role.FINANCE: frozenset(_FINANCE),
    Role.ADMIN: frozenset(_ADMIN),
    Role.TEACHER: frozenset(_TEACHER),
    Role.PARENT: frozenset(_PAYER),
    Role.CUSTOMER: frozenset(_PAYER - {Action.NEWS_READ, Action.CALENDAR_READ}),
}

# Actions that teachers may take only for the classes assigned to them.
CLASS_SCOPED_FOR_TEACHERS = frozenset({Action.NEWS_POST, Action.CALENDAR_EDIT})


def is_allowed(role: Role | str, action: Action) -> bool:
    return action in PERMISSIONS.get(Role(role), frozenset())


def require(
    role: Role | str,
    action: Action,
    *,
    classes: list[str] | None = None,
    allowed_classes: list[str] | None = None,
) -> None:
    """Raise PermissionDenied unless the role may take the action (on these classes).

    classes=None asks only whether the role may take the action at all (to show a menu
    entry). A list, empty for the whole school, is checked against a teacher's own classes.
    """
    if not is_allowed(role, action):
        raise PermissionDenied(
            "permission.denied",
            N_("Your role ({role}) cannot do this. Ask your organisation's super admin."),
            role=str(role),
        )
    if classes is not None and Role(role) is Role.TEACHER and action in CLASS_SCOPED_FOR_TEACHERS:
        outside = sorted(set(classes or []) - set(allowed_classes or []))
        if not classes or outside:
            raise PermissionDenied(
                "permission.class_scope",
                N_(
                    "Teachers can post only to their own classes ({allowed}). "
                    "Not allowed: {classes}."
                ),
                allowed=", ".join(allowed_classes or []) or "-",
                classes=", ".join(outside) or "-",
            )
