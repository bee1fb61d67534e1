"""Conversation states. Values are stored in the database, so never renumber or rename them."""

from __future__ import annotations

from enum import StrEnum


class State(StrEnum):
    IDLE = "idle"
    AWAIT_CONTACT = "await_contact"
    AWAIT_EMAIL = "await_email"
    AWAIT_LINK_CODE = "await_link_code"
    CHOOSE_ORG = "choose_org"
    AWAIT_UPLOAD = "await_upload"
    PREVIEW = "preview"
    PREVIEW_CONFLICT = "preview_conflict"
    AWAIT_INVOICE_NUMBER = "await_invoice_number"
    AWAIT_VOID_NUMBER = "await_void_number"
    CONFIRM_VOID = "confirm_void"
    AWAIT_REPORT_RANGE = "await_report_range"
    AWAIT_PRODUCT_NAME = "await_product_name"
    AWAIT_PRODUCT_PRICE = "await_product_price"
    AWAIT_CUSTOMER_NAME = "await_customer_name"
    AWAIT_CUSTOMER_CONTACT = "await_customer_contact"
    AWAIT_RECEIPT_NUMBER = "await_receipt_number"
