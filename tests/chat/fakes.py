"""Fake Telegram Bot API and Meta Graph API servers on 127.0.0.1 that record every call."""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerThread:
    """Run an ASGI app under uvicorn in a background thread."""

    def __init__(self, app: FastAPI, *, lifespan: str = "off") -> None:
        self.port = free_port()
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan=lifespan,
            ws="none",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("fake server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    at: float = field(default_factory=time.perf_counter)


async def _form(request: Request) -> tuple[dict[str, Any], dict[str, tuple[str, bytes]]]:
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/json"):
        return json.loads(await request.body() or b"{}"), {}
    params: dict[str, Any] = {}
    files: dict[str, tuple[str, bytes]] = {}
    async with request.form() as form:
        for key, value in form.multi_items():
            if hasattr(value, "read"):
                files[key] = (value.filename or "", await value.read())
                continue
            try:
                params[key] = json.loads(value)
            except ValueError:
                params[key] = value
    return params, files


class FakeBotAPI:
    """The Telegram Bot API: getMe, send*, answerCallbackQuery, getFile and file downloads."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.calls: list[Call] = []
        self.files: dict[str, bytes] = {}
        # The file_path that getFile returns for a file id, when not a document's default.
        self.file_paths: dict[str, str] = {}
        self.flood: list[tuple[str, int]] = []  # (method, retry_after), each returned once
        self.broken: list[str] = []  # methods that fail once each with a server error
        self.message_id = 100
        self.app = FastAPI()
        self.app.post("/bot{token}/{method}")(self._call)
        self.app.get("/file/bot{token}/{path:path}")(self._file)
        self.server = ServerThread(self.app)

    @property
    def url(self) -> str:
        return self.server.url

    def sent(self, method: str | None = None) -> list[Call]:
        methods = ("sendMessage", "sendDocument", "sendPhoto") if method is None else (method,)
        return [call for call in self.calls if call.method in methods]

    def texts(self) -> list[str]:
        return [str(call.params.get("text", "")) for call in self.sent("sendMessage")]

    async def _call(self, token: str, method: str, request: Request) -> Response:
        if token != self.token:
            return JSONResponse(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, 401
            )
        params, files = await _form(request)
        for index, (flood_method, retry_after) in enumerate(self.flood):
            if flood_method == method:
                del self.flood[index]
                self.calls.append(Call(f"{method}:flooded", params, files))
                body = {
                    "ok": False,
                    "error_code": 429,
                    "description": f"Too Many Requests: retry after {retry_after}",
                    "parameters": {"retry_after": retry_after},
                }
                return JSONResponse(body, 429)
        if method in self.broken:
            self.broken.remove(method)
            self.calls.append(Call(f"{method}:broken", params, files))
            body = {"ok": False, "error_code": 500, "description": "Internal Server Error"}
            return JSONResponse(body, 500)
        self.calls.append(Call(method, params, files))
        return JSONResponse({"ok": True, "result": self._result(method, params)})

    def _result(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return {
                "id": 777000111,
                "is_bot": True,
                "first_name": "Tagih",
                "username": "tagih_bot",
            }
        if method == "getFile":
            file_id = str(params["file_id"])
            content = self.files.get(file_id, b"")
            return {
                "file_id": file_id,
                "file_unique_id": f"u-{file_id}",
                "file_size": len(content),
                "file_path": self._file_path(file_id),
            }
        if method.startswith("send"):
            self.message_id += 1
            chat = {"id": int(params["chat_id"]), "type": "private", "first_name": "x"}
            return {"message_id": self.message_id, "date": int(time.time()), "chat": chat}
        return True

    def _file_path(self, file_id: str) -> str:
        return self.file_paths.get(file_id, f"documents/{file_id}.xlsx")

    async def _file(self, token: str, path: str) -> Response:
        file_id = next((key for key in self.files if self._file_path(key) == path), "")
        if token != self.token or file_id not in self.files:
            return Response(status_code=404)
        return Response(self.files[file_id], media_type="application/octet-stream")


class FakeGraphAPI:
    """Meta's Graph API for WhatsApp Cloud: messages, media upload, media URL and download."""

    def __init__(self, token: str, phone_id: str) -> None:
        self.token = token
        self.phone_id = phone_id
        self.calls: list[Call] = []
        self.media: dict[str, tuple[bytes, str]] = {}
        self.declared_sizes: dict[str, int] = {}
        self.rate_limited = 0  # how many message sends still get a rate-limit error
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

    def messages(self) -> list[dict[str, Any]]:
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
        params, files = await _form(request)
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
