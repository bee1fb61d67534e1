"""Typed button payloads: an operation from a fixed list, an optional key and value.

Payloads are compact JSON so that they fit Telegram's 64-byte callback_data and WhatsApp's
button and row ids, and decoding rejects anything that is not one of our own payloads.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum

TELEGRAM_CALLBACK_MAX_BYTES = 64


class Op(StrEnum):
    """The operation of a button. Sent chats keep these values, so they must never change."""

    MENU = "m"  # open the menu entry named by key
    HOME = "h"
    CHOOSE_ORG = "o"  # value: organisation id, key: role
    LANGUAGE = "l"  # key: id or en
    PREVIEW_SEND_ALL = "pa"  # value: batch id
    PREVIEW_SEND_VALID = "pv"
    PREVIEW_CANCEL = "pc"
    REPLACE_PREVIEW = "rp"  # value: new batch id, key: old batch id
    KEEP_PREVIEW = "kp"  # value: new batch id, key: old batch id
    VOID_CONFIRM = "vc"  # value: invoice id
    VOID_ABORT = "va"
    REPORT_RANGE = "rr"  # key: this_month, last_month, last_30_days
    RECEIPT = "rc"  # value: invoice id
    CHILD = "ch"  # value: student id
    LINK_EMAIL = "le"
    ADD_PRODUCT = "ap"
    ADD_CUSTOMER = "ac"
    REMINDERS = "rm"  # key: pause or resume
    TEMPLATE = "tp"  # key: bills, customers or students
    EXTENSION = "x"  # key: a handler registered by another flow module


@dataclass(frozen=True)
class CallbackData:
    op: Op
    key: str = ""
    value: int | None = None

    def encode(self) -> str:
        body: dict[str, str | int] = {"o": self.op.value}
        if self.key:
            body["k"] = self.key
        if self.value is not None:
            body["v"] = self.value
        encoded = json.dumps(body, separators=(",", ":"), ensure_ascii=True)
        if len(encoded.encode()) > TELEGRAM_CALLBACK_MAX_BYTES:
            raise ValueError(f"callback payload of {len(encoded)} bytes exceeds 64: {encoded}")
        return encoded


def decode_callback(payload: str | None) -> CallbackData | None:
    """Parse a button payload, or return None for any payload that encode() did not build."""
    if not payload or len(payload) > 256:
        return None
    try:
        body = json.loads(payload)
        op = Op(body["o"])
    except (ValueError, KeyError, TypeError):
        return None
    key = body.get("k", "")
    value = body.get("v")
    if not isinstance(key, str) or not (value is None or type(value) is int):
        return None
    return CallbackData(op, key, value)
