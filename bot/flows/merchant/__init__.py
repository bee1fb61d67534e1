"""Staff flows: template, sheet upload and preview, lookup, report, void, products, customers.

Each module holds one concept; `register()` puts their handlers into bot.core.registry.
"""

from __future__ import annotations

from billing.permissions import Action
from bot.core import registry
from bot.core.callbacks import Op
from bot.core.states import State
from bot.flows.merchant.batches import cancel_preview, send_batch, settle_conflict
from bot.flows.merchant.common import INVOICE_ONLY, SCHOOL_ONLY, UPLOAD_ACTIONS
from bot.flows.merchant.customers import (
    ask_customer_name,
    list_customers,
    take_customer_contact,
    take_customer_name,
)
from bot.flows.merchant.lookup import ask_invoice_number, show_invoice
from bot.flows.merchant.products import (
    ask_product_name,
    list_products,
    take_product_name,
    take_product_price,
)
from bot.flows.merchant.report import ask_report_range, report_for_button, report_for_text
from bot.flows.merchant.templates import send_template, template_chosen
from bot.flows.merchant.upload import ask_upload, receive_sheet
from bot.flows.merchant.void import ask_void_number, confirm_void, void_aborted, void_confirmed
from locales import N_


def register() -> None:
    entries = [
        ("template", N_("Get a template"), send_template, Action.TEMPLATE_DOWNLOAD, 10),
        ("upload", N_("Upload a bill sheet"), ask_upload, Action.BILLS_UPLOAD, 20),
        ("lookup", N_("Look up an invoice"), ask_invoice_number, Action.INVOICE_LOOKUP, 30),
        ("report", N_("Download the report"), ask_report_range, Action.REPORT_DOWNLOAD, 40),
        ("void", N_("Void an invoice"), ask_void_number, Action.INVOICE_VOID, 50),
    ]
    for key, title, handler, action, order in entries:
        registry.register_menu_entry(key, title, handler, action=action, order=order)
    kind_entries = [
        (
            "upload_customers",
            N_("Upload a customer sheet"),
            ask_upload,
            Action.CUSTOMER_MANAGE,
            INVOICE_ONLY,
            21,
        ),
        (
            "upload_students",
            N_("Upload a student sheet"),
            ask_upload,
            Action.STUDENT_MANAGE,
            SCHOOL_ONLY,
            21,
        ),
        ("products", N_("Products"), list_products, Action.PRODUCT_MANAGE, INVOICE_ONLY, 60),
        ("customers", N_("Customers"), list_customers, Action.CUSTOMER_MANAGE, INVOICE_ONLY, 70),
    ]
    for key, title, handler, action, kinds, order in kind_entries:
        registry.register_menu_entry(key, title, handler, action=action, kinds=kinds, order=order)
    # Files sent in the states of other flow modules go to those modules' handlers first.
    registry.register_document_handler(
        receive_sheet, action=UPLOAD_ACTIONS, states=[str(state) for state in State]
    )
    ops = {
        Op.TEMPLATE: template_chosen,
        Op.PREVIEW_SEND_ALL: send_batch,
        Op.PREVIEW_SEND_VALID: send_batch,
        Op.PREVIEW_CANCEL: cancel_preview,
        Op.REPLACE_PREVIEW: settle_conflict,
        Op.KEEP_PREVIEW: settle_conflict,
        Op.REPORT_RANGE: report_for_button,
        Op.VOID_CONFIRM: void_confirmed,
        Op.VOID_ABORT: void_aborted,
        Op.ADD_PRODUCT: ask_product_name,
        Op.ADD_CUSTOMER: ask_customer_name,
    }
    for op, handler in ops.items():
        registry.register_op(op, handler)
    states = {
        State.AWAIT_INVOICE_NUMBER: show_invoice,
        State.AWAIT_REPORT_RANGE: report_for_text,
        State.AWAIT_VOID_NUMBER: confirm_void,
        State.AWAIT_PRODUCT_NAME: take_product_name,
        State.AWAIT_PRODUCT_PRICE: take_product_price,
        State.AWAIT_CUSTOMER_NAME: take_customer_name,
        State.AWAIT_CUSTOMER_CONTACT: take_customer_contact,
    }
    for state, handler in states.items():
        registry.register_state_handler(state, handler)
