"""Run an ASGI app under a real uvicorn server on 127.0.0.1, and record the calls it gets."""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerThread:
    """A uvicorn server on a free 127.0.0.1 port, in a background thread.

    `lifespan` is uvicorn's setting: "auto" runs the app's start-up and shut-down handlers
    when it has them, "on" requires them to succeed, and "off" skips them.
    """

    def __init__(self, app: FastAPI, *, lifespan: str = "auto") -> None:
        self.port = free_port()
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            access_log=False,
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
                raise RuntimeError("the test server did not start within 10 seconds")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@dataclass
class Call:
    """One request a fake server received: the API method, its parameters and its files."""

    method: str
    params: dict[str, Any]
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    at: float = field(default_factory=time.perf_counter)


async def read_form(request: Request) -> tuple[dict[str, Any], dict[str, tuple[str, bytes]]]:
    """Read a JSON or form body into parameters and uploaded files (name, content).

    Form values that contain JSON are decoded, as the Bot API and Graph API clients send
    nested objects as JSON text inside multipart forms.
    """
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
