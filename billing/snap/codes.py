"""SNAP response codes and the bilingual reasons sent with them.

A code is 7 characters: the HTTP status (3 digits), the service code (2) and the case (2).
"""

from __future__ import annotations

from enum import StrEnum

from locales import N_, tr

SERVICE_TOKEN = "73"
SERVICE_INQUIRY = "24"
SERVICE_PAYMENT = "25"
SERVICE_INQUIRY_STATUS = "26"


class Case(StrEnum):
    """The outcome of a SNAP request, independent of the service that produced it."""

    SUCCESS = "success"
    INVALID_FIELD = "invalid_field"
    MISSING_FIELD = "missing_field"
    UNAUTHORIZED = "unauthorized"
    INVALID_TOKEN = "invalid_token"
    NOT_FOUND = "not_found"
    INVALID_AMOUNT = "invalid_amount"
    ALREADY_PAID = "already_paid"
    INCONSISTENT = "inconsistent"
    EXPIRED = "expired"
    CONFLICT = "conflict"
    GENERAL_ERROR = "general_error"


# HTTP status and case code of each outcome; the service code goes between them.
_CODE_PARTS: dict[Case, tuple[int, str]] = {
    Case.SUCCESS: (200, "00"),
    Case.INVALID_FIELD: (400, "01"),
    Case.MISSING_FIELD: (400, "02"),
    Case.UNAUTHORIZED: (401, "00"),
    Case.INVALID_TOKEN: (401, "01"),
    Case.NOT_FOUND: (404, "12"),
    Case.INVALID_AMOUNT: (404, "13"),
    Case.ALREADY_PAID: (404, "14"),
    Case.INCONSISTENT: (404, "18"),
    Case.EXPIRED: (404, "19"),
    Case.CONFLICT: (409, "00"),
    Case.GENERAL_ERROR: (500, "00"),
}

# responseMessage texts as SNAP names them.
RESPONSE_MESSAGES: dict[Case, str] = {
    Case.SUCCESS: "Successful",
    Case.INVALID_FIELD: "Invalid Field Format",
    Case.MISSING_FIELD: "Invalid Mandatory Field",
    Case.UNAUTHORIZED: "Unauthorized",
    Case.INVALID_TOKEN: "Invalid Token (B2B)",
    Case.NOT_FOUND: "Invalid Bill/Virtual Account",
    Case.INVALID_AMOUNT: "Invalid Amount",
    Case.ALREADY_PAID: "Paid Bill",
    Case.INCONSISTENT: "Inconsistent Request",
    Case.EXPIRED: "Invalid Bill/Virtual Account Expired",
    Case.CONFLICT: "Conflict",
    Case.GENERAL_ERROR: "General Error",
}


# The bank shows the reason to the payer; SNAP carries it in English and Indonesian.
REASONS: dict[Case, str] = {
    Case.SUCCESS: N_("Success"),
    Case.INVALID_FIELD: N_("Invalid field format"),
    Case.MISSING_FIELD: N_("A mandatory field is missing"),
    Case.UNAUTHORIZED: N_("Unauthorized request"),
    Case.INVALID_TOKEN: N_("Invalid or expired access token"),
    Case.NOT_FOUND: N_("Bill not found"),
    Case.INVALID_AMOUNT: N_("The amount does not match the bill"),
    Case.ALREADY_PAID: N_("The bill is already paid"),
    Case.INCONSISTENT: N_("The request id was already used with different data"),
    Case.EXPIRED: N_("The bill has expired or was cancelled"),
    Case.CONFLICT: N_("The external id was already used today"),
    Case.GENERAL_ERROR: N_("Temporary error, please try again"),
}


def reason_json(case: Case) -> dict[str, str]:
    """Return the inquiryReason / paymentFlagReason object for an outcome."""
    return {"english": tr("en", REASONS[case]), "indonesia": tr("id", REASONS[case])}


def response_code(case: Case, service: str) -> str:
    status, case_code = _CODE_PARTS[case]
    return f"{status}{service}{case_code}"


def http_status(case: Case) -> int:
    return _CODE_PARTS[case][0]
