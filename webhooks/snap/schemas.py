"""OpenAPI descriptions of the SNAP endpoints.

The routes read the raw bytes because the signature covers them, so FastAPI cannot infer
these schemas from parameters. They document the contract and drive the property tests.
"""

from __future__ import annotations

from typing import Any

_AMOUNT = {
    "type": "object",
    "required": ["value", "currency"],
    "properties": {
        "value": {"type": "string", "pattern": r"^\d{1,15}\.00$", "example": "350000.00"},
        "currency": {"type": "string", "enum": ["IDR"]},
    },
}
_IDENTITY = {
    "partnerServiceId": {"type": "string", "maxLength": 8, "example": "   88080"},
    "customerNo": {"type": "string", "maxLength": 20, "example": "00000000001"},
    "virtualAccountNo": {"type": "string", "maxLength": 28, "example": "   8808000000000001"},
}
_REASON = {
    "type": "object",
    "properties": {"english": {"type": "string"}, "indonesia": {"type": "string"}},
}

TOKEN_REQUEST = {
    "type": "object",
    "required": ["grantType"],
    "properties": {"grantType": {"type": "string", "enum": ["client_credentials"]}},
}
INQUIRY_REQUEST = {
    "type": "object",
    "required": [*_IDENTITY, "inquiryRequestId"],
    "properties": {
        **_IDENTITY,
        "inquiryRequestId": {"type": "string", "maxLength": 128},
        "trxDateInit": {"type": "string", "example": "2026-12-17T10:55:00+07:00"},
        "channelCode": {"type": "string"},
        "language": {"type": "string"},
        "amount": _AMOUNT,
        "additionalInfo": {"type": "object"},
    },
}
PAYMENT_REQUEST = {
    "type": "object",
    "required": [*_IDENTITY, "paymentRequestId", "paidAmount"],
    "properties": {
        **_IDENTITY,
        "paymentRequestId": {"type": "string", "maxLength": 128},
        "paidAmount": _AMOUNT,
        "totalAmount": _AMOUNT,
        "trxId": {"type": "string", "maxLength": 64},
        "trxDateTime": {"type": "string", "example": "2026-12-17T10:55:00+07:00"},
        "referenceNo": {"type": "string", "maxLength": 64},
        "flagAdvise": {"type": "string", "enum": ["Y", "N"]},
        "channelCode": {"type": "string"},
        "additionalInfo": {"type": "object"},
    },
}

_ANSWER = {
    "type": "object",
    "required": ["responseCode", "responseMessage"],
    "properties": {
        "responseCode": {"type": "string", "pattern": r"^\d{7}$"},
        "responseMessage": {"type": "string"},
        "virtualAccountData": {
            "type": "object",
            "properties": {
                **_IDENTITY,
                "inquiryStatus": {"type": "string"},
                "inquiryReason": _REASON,
                "paymentFlagStatus": {"type": "string"},
                "paymentFlagReason": _REASON,
            },
        },
        "accessToken": {"type": "string"},
        "tokenType": {"type": "string"},
        "expiresIn": {"type": "string"},
    },
}


def _header(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "header",
        "required": True,
        "schema": {"type": "string"},
        "description": description,
    }


TOKEN_HEADERS = [
    _header("X-TIMESTAMP", "Request time, e.g. 2026-12-17T10:55:00+07:00"),
    _header("X-CLIENT-KEY", "The bank's client id"),
    _header("X-SIGNATURE", "Base64 SHA256withRSA over clientId|X-TIMESTAMP"),
]
TRANSACTION_HEADERS = [
    _header("Authorization", "Bearer <access token>"),
    _header("X-TIMESTAMP", "Request time, e.g. 2026-12-17T10:55:00+07:00"),
    _header("X-PARTNER-ID", "The bank's partner id"),
    _header("X-EXTERNAL-ID", "Unique per partner per Asia/Jakarta day"),
    _header("CHANNEL-ID", "The bank's channel"),
    _header(
        "X-SIGNATURE",
        "HMAC-SHA512 of the request keyed with the client secret, in Base64 (or hex, as the "
        "bank connection is set up)",
    ),
]


def openapi_extra(body_schema: dict[str, Any], headers: list[dict[str, Any]]) -> dict[str, Any]:
    answers = {"content": {"application/json": {"schema": _ANSWER}}}
    return {
        "parameters": headers,
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": body_schema}},
        },
        "responses": {
            status: {"description": description, **answers}
            for status, description in (
                ("200", "Accepted"),
                ("400", "Missing or malformed field"),
                ("401", "Invalid token, signature or timestamp"),
                ("404", "Bill not found, paid, expired, or a different amount"),
                ("409", "X-EXTERNAL-ID already used today"),
                ("500", "General error: nothing was recorded, retry (the X-EXTERNAL-ID is free)"),
            )
        },
    }
