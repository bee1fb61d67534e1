"""A fake of Meta's Graph API for the WhatsApp Cloud API, served on 127.0.0.1."""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from tests.fakes.servers import Call, ServerThread, read_form


class FakeGraphAPI:
    """Meta's Graph API for WhatsApp Cloud: messages, media upload, media URL and download.

    Every call is recorded in `calls`. Set `rate_limited` to the number of message sends
    that get Meta's rate-limit error, and `template_error` to a Graph API error body that
    every template message gets with HTTP 400 (a paused or rejected template).
    """

    def __init__(self, token: str, phone_id: str) -> None:
        self.token = token
        self.phone_id = phone_id
        self.calls: list[Call] = []
        self.media: dict[str, tuple[bytes, str]] = {}
        self.declared_sizes: dict[str, int] = {}
        self.rate_limited = 0
        self.template_error: dict[str, Any] | None = None
        self.counter = 0
        self.app = FastAPI()
        self.app.post("/{version}/{phone_id}/messages")(self._message)
        self.app.post("/{version}/{phone_id}/media")(self._upload)
        self.app.get("/download/{media_id}")(self._download)
        self.app.get("/{version}/{media_id}")(self._media_url)
        self.server = ServerThread(self.app)

    @property
    def url(self) -> str:
        return self.server.url

    def __enter__(self) -> FakeGraphAPI:
        self.server.__enter__()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.__exit__(*exc_info)

    def messages(self) -> list[dict[str, Any]]:
        """Return the bodies of the messages accepted, in order."""
        return [call.params for call in self.calls if call.method == "messages"]

    def texts(self) -> list[str]:
        found = []
        for message in self.messages():
            if message.get("type") == "text":
                found.append(message["text"]["body"])
            elif message.get("type") == "interactive":
                found.append(message["interactive"]["body"]["text"])
        return found

    def _authorised(self, request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {self.token}"

    async def _message(self, version: str, phone_id: str, request: Request) -> Response:
        if not self._authorised(request) or phone_id != self.phone_id:
            return JSONResponse({"error": {"message": "Invalid token", "code": 190}}, 401)
        body = json.loads(await request.body())
        if self.rate_limited > 0:
            self.rate_limited -= 1
            self.calls.append(Call("messages:limited", body))
            error = {
                "message": "(#130429) Rate limit hit",
                "type": "OAuthException",
                "code": 130429,
                "error_data": {"messaging_product": "whatsapp", "details": "Rate limit hit"},
                "fbtrace_id": "Az1",
            }
            return JSONResponse({"error": error}, 400)
        if body.get("type") == "template" and self.template_error is not None:
            self.calls.append(Call("messages:rejected", body))
            return JSONResponse(self.template_error, 400)
        if body.get("status") == "read":
            self.calls.append(Call("read", body))
            return JSONResponse({"success": True})
        self.calls.append(Call("messages", body))
        self.counter += 1
        return JSONResponse(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": body.get("to"), "wa_id": body.get("to")}],
                "messages": [{"id": f"wamid.OUT{self.counter}"}],
            }
        )

    async def _upload(self, version: str, phone_id: str, request: Request) -> Response:
        params, files = await read_form(request)
        self.counter += 1
        media_id = f"up{self.counter}"
        self.calls.append(Call("media", {**params, "id": media_id}, files))
        return JSONResponse({"id": media_id})

    async def _media_url(self, version: str, media_id: str, request: Request) -> Response:
        if media_id not in self.media:
            return JSONResponse({"error": {"message": "Unknown media", "code": 100}}, 400)
        content, mime_type = self.media[media_id]
        self.calls.append(Call("media_url", {"id": media_id}))
        return JSONResponse(
            {
                "messaging_product": "whatsapp",
                "url": f"{self.url}/download/{media_id}",
                "mime_type": mime_type,
                "sha256": "0" * 64,
                "file_size": self.declared_sizes.get(media_id, len(content)),
                "id": media_id,
            }
        )

    async def _download(self, media_id: str, request: Request) -> Response:
        self.calls.append(Call("download", {"id": media_id}))
        if not self._authorised(request) or media_id not in self.media:
            return Response(status_code=404)
        return Response(self.media[media_id][0], media_type="application/octet-stream")
