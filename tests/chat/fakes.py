"""Fake Telegram Bot API and Meta Graph API servers on 127.0.0.1 that record every call.

The Graph API fake and the server plumbing live in tests.fakes, shared with other folders.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from tests.fakes.graph_api import FakeGraphAPI as FakeGraphAPI
from tests.fakes.servers import Call, ServerThread, read_form
from tests.fakes.servers import free_port as free_port


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
        params, files = await read_form(request)
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
