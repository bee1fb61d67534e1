"""Database tables, the engine and sessions, and migrations. Knows nothing but the database."""

from models.billing import (
    BatchStatus,
    ImportBatch,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    VAStatus,
    VirtualAccount,
)
from models.chat import ChatIdentity, ConversationState, LinkCode, ProcessedUpdate
from models.notices import (
    JobRun,
    Notice,
    NoticeAttempt,
    NoticeKind,
    NoticeStatus,
    ReminderSent,
)
from models.org import Customer, Organisation, OrgKind, Product, StaffRole, StaffUser
from models.payments import (
    BankConnection,
    Payment,
    SnapAccessToken,
    SnapExternalId,
    SnapRequestLog,
)
from models.school import (
    CalendarEvent,
    NewsPost,
    RecurringFee,
    Student,
    StudentGuardian,
)

__all__ = [
    "BankConnection",
    "BatchStatus",
    "CalendarEvent",
    "ChatIdentity",
    "ConversationState",
    "Customer",
    "ImportBatch",
    "Invoice",
    "InvoiceLine",
    "InvoiceStatus",
    "JobRun",
    "LinkCode",
    "NewsPost",
    "Notice",
    "NoticeAttempt",
    "NoticeKind",
    "NoticeStatus",
    "OrgKind",
    "Organisation",
    "Payment",
    "ProcessedUpdate",
    "Product",
    "RecurringFee",
    "ReminderSent",
    "SnapAccessToken",
    "SnapExternalId",
    "SnapRequestLog",
    "StaffRole",
    "StaffUser",
    "Student",
    "StudentGuardian",
    "VAStatus",
    "VirtualAccount",
]
