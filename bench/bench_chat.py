"""Chat latency: a posted "my bills" update until the reply reaches the platform's API.

A customer with 20 open bills sends "berapa tagihan saya?". Each run posts the update to
the Telegram (or WhatsApp) webhook of the web app under uvicorn on 127.0.0.1 and stops the
clock when the fake Bot API (or Graph API) on 127.0.0.1 receives the reply. The app, the
fake API and this client share one process, on a fresh SQLite file.

Environment: BENCH_CHAT_RUNS (default 300 per channel), BENCH_CHAT_WARMUP (default 20).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import socket
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

PHONE = "+6281299990000"
OPEN_BILLS = 20
BOT_TOKEN = "123456:BENCH-token"
SECRET = "bench-secret"
PHONE_ID = "106540352242922"
APP_SECRET = "bench-app-secret"


class Server:
    """An ASGI app under uvicorn in a background thread on a free 127.0.0.1 port."""

    def __init__(self, app: Any, *, lifespan: str = "off") -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan=lifespan
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Server:
        self.thread.start()
        while not self.server.started:
            time.sleep(0.01)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


class FakeAPIs:
    """Bot API and Graph API stand-ins that note when each reply arrives."""

    def __init__(self) -> None:
        self.arrived = threading.Event()
        self.app = FastAPI()
        self.app.post("/bot{token}/{method}")(self._bot)
        self.app.post("/{version}/{phone_id}/messages")(self._graph)

    async def _bot(self, token: str, method: str, request: Request) -> JSONResponse:
        if method == "getMe":
            me = {"id": 1, "is_bot": True, "first_name": "Tagih", "username": "tagih_bot"}
            return JSONResponse({"ok": True, "result": me})
        await request.body()
        self.arrived.set()
        chat = {"id": 5001, "type": "private"}
        message = {"message_id": 1, "date": int(time.time()), "chat": chat}
        return JSONResponse({"ok": True, "result": message})

    async def _graph(self, version: str, phone_id: str, request: Request) -> JSONResponse:
        body = json.loads(await request.body())
        self.arrived.set()
        return JSONResponse(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": body.get("to"), "wa_id": body.get("to")}],
                "messages": [{"id": "wamid.BENCH"}],
            }
        )


def _seed() -> None:
    from billing.invoices import InvoiceDraft, LineDraft, issue_invoices
    from billing.orgs import create_organisation
    from models import Customer
    from models.db import session_scope

    with session_scope(write=True) as session:
        organisation = create_organisation(
            session,
            slug="toko-bench",
            kind="invoice",
            name="Toko Bench",
            company_code="8808",
            admin_phone="+6281234500000",
        )
        session.add(
            Customer(organisation_id=organisation.id, name="Budi", phone=PHONE, language="id")
        )
        session.flush()
        drafts = [
            InvoiceDraft(
                number=f"INV-{index:03}",
                customer_name="Budi",
                due_date=dt.date(2031, 1, 15),
                lines=[LineDraft("Kopi Arabika 1 kg", 1, 150_000, 150_000)],
                phone=PHONE,
            )
            for index in range(OPEN_BILLS)
        ]
        issue_invoices(session, organisation, drafts)


def _telegram_update(update_id: int, user_id: int, text: str, contact: bool = False) -> dict:
    message: dict[str, Any] = {
        "message_id": update_id,
        "from": {"id": user_id, "is_bot": False, "first_name": "Budi", "language_code": "id"},
        "chat": {"id": user_id, "first_name": "Budi", "type": "private"},
        "date": 1764825600,
    }
    if contact:
        message["contact"] = {"phone_number": PHONE[1:], "first_name": "B", "user_id": user_id}
    else:
        message["text"] = text
    return {"update_id": update_id, "message": message}


def _whatsapp_update(message_id: str, text: str) -> bytes:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": PHONE_ID},
        "contacts": [{"profile": {"name": "Budi"}, "wa_id": PHONE[1:], "user_id": "ID.1"}],
        "messages": [
            {
                "from": PHONE[1:],
                "id": message_id,
                "timestamp": "1764825600",
                "type": "text",
                "text": {"body": text},
            }
        ],
    }
    update = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"value": value, "field": "messages"}]}],
    }
    return json.dumps(update).encode()


def _measure(fakes: FakeAPIs, post: Callable[[int], None], runs: int, warmup: int) -> list[float]:
    timings = []
    for index in range(warmup + runs):
        fakes.arrived.clear()
        started = time.perf_counter()
        post(index)
        if not fakes.arrived.wait(10):
            raise RuntimeError("the reply never reached the fake API")
        elapsed = (time.perf_counter() - started) * 1000
        if index >= warmup:
            timings.append(elapsed)
        # Wait for the rest of the replies of this update, so runs do not overlap.
        time.sleep(0.005)
    return timings


def _report(name: str, timings: list[float]) -> None:
    ordered = sorted(timings)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    print(
        f"{name}: runs={len(ordered)} median={statistics.median(ordered):.1f} ms "
        f"p99={p99:.1f} ms max={ordered[-1]:.1f} ms"
    )


def main() -> None:
    from models.db import dispose_engines, upgrade_to_head
    from tagih.settings import get_settings, reset_settings_cache
    from webhooks.app import create_app

    runs = int(os.environ.get("BENCH_CHAT_RUNS", "300"))
    warmup = int(os.environ.get("BENCH_CHAT_WARMUP", "20"))
    folder = Path(tempfile.mkdtemp(prefix="tagih-bench-chat-"))
    url = f"sqlite:///{folder / 'bench.sqlite3'}"
    fakes = FakeAPIs()
    with Server(fakes.app) as fake:
        os.environ.update(
            {
                "DATABASE_URL": url,
                "TELEGRAM_BOT_TOKEN": BOT_TOKEN,
                "TELEGRAM_WEBHOOK_SECRET": SECRET,
                "TELEGRAM_API_BASE_URL": fake.url,
                "WHATSAPP_PHONE_ID": PHONE_ID,
                "WHATSAPP_TOKEN": "bench-token",
                "WHATSAPP_APP_SECRET": APP_SECRET,
                "WHATSAPP_VERIFY_TOKEN": "bench-verify",
                "WHATSAPP_API_BASE_URL": fake.url,
            }
        )
        dispose_engines()
        reset_settings_cache()
        upgrade_to_head(url)
        _seed()
        with Server(create_app(get_settings()), lifespan="on") as app_server:
            with httpx.Client(base_url=app_server.url, timeout=30) as client:
                _run_telegram(client, fakes, runs, warmup)
                _run_whatsapp(client, fakes, runs, warmup)
    dispose_engines()
    print(f"{OPEN_BILLS} open bills, SQLite file, app and fakes in one process")


def _run_telegram(client: httpx.Client, fakes: FakeAPIs, runs: int, warmup: int) -> None:
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    user_id = 5001
    client.post("/telegram", json=_telegram_update(1, user_id, "", contact=True), headers=headers)

    def post(index: int) -> None:
        update = _telegram_update(1000 + index, user_id, "berapa tagihan saya?")
        client.post("/telegram", json=update, headers=headers)

    _report("telegram my bills", _measure(fakes, post, runs, warmup))


def _run_whatsapp(client: httpx.Client, fakes: FakeAPIs, runs: int, warmup: int) -> None:
    def post(index: int) -> None:
        body = _whatsapp_update(f"wamid.BENCH{index}", "berapa tagihan saya?")
        signature = "sha256=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
        headers = {"X-Hub-Signature-256": signature, "Content-Type": "application/json"}
        client.post("/whatsapp", content=body, headers=headers)

    _report("whatsapp my bills", _measure(fakes, post, runs, warmup))


if __name__ == "__main__":
    main()
