"""The simulated bank's own API: SNAP inquiry-status (service 26), read from the ledger.

NOTE: a real bank authenticates this call with a B2B token that Tagih obtains with its own
key pair; the simulator checks only the HMAC-SHA512 signature keyed with the client secret
(the access-token part of the string to sign is empty).
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from billing.snap.codes import (
    RESPONSE_MESSAGES,
    SERVICE_INQUIRY_STATUS,
    Case,
    http_status,
    reason_json,
    response_code,
)
from billing.snap.messages import echo_identity
from billing.snap.signature import string_to_sign, verify_hmac
from tagih.banksim.ledger import Ledger

STATUS_PATH = "/v1.0/transfer-va/status"


def _answer(case: Case, data: dict) -> JSONResponse:
    return JSONResponse(
        {
            "responseCode": response_code(case, SERVICE_INQUIRY_STATUS),
            "responseMessage": RESPONSE_MESSAGES[case],
            "virtualAccountData": data,
        },
        status_code=http_status(case),
    )


def create_simulator_app(
    ledger: Ledger, *, client_secret: str, path_prefix: str = "/snap"
) -> FastAPI:
    app = FastAPI(title="Tagih bank simulator")

    @app.post(path_prefix + STATUS_PATH)
    async def inquiry_status(request: Request) -> JSONResponse:
        body = await request.body()
        message = string_to_sign(
            "POST", request.url.path, "", body, request.headers.get("x-timestamp", "")
        )
        if not verify_hmac(client_secret, message, request.headers.get("x-signature", "")):
            return _answer(Case.UNAUTHORIZED, {})
        try:
            data = (await request.json()) or {}
        except ValueError:
            return _answer(Case.INVALID_FIELD, {})
        if not isinstance(data, dict) or not isinstance(data.get("virtualAccountNo"), str):
            return _answer(Case.MISSING_FIELD, {})
        debit = ledger.paid_debit(data["virtualAccountNo"])
        if debit is None:
            return _answer(Case.NOT_FOUND, echo_identity(data))
        payload = debit.payload
        return _answer(
            Case.SUCCESS,
            {
                **echo_identity(payload),
                "paymentRequestId": payload["paymentRequestId"],
                "paidAmount": payload["paidAmount"],
                "trxDateTime": payload.get("trxDateTime"),
                "referenceNo": payload.get("referenceNo"),
                "paymentFlagStatus": "00",
                "paymentFlagReason": reason_json(Case.SUCCESS),
            },
        )

    return app
