"""The web app starts and serves requests without a chat platform, and rejects bodies that
are not updates with 400 instead of an unhandled exception."""

from __future__ import annotations

import json
import logging
import time

import httpx
import pytest

from tagih.settings import reset_settings_cache
from tests.chat.conftest import (
    BOT_TOKEN,
    BUDI,
    WEBHOOK_SECRET,
    World,
    serve_app,
    sign,
    telegram_env,
)
from tests.chat.fakes import FakeBotAPI, free_port

SECRET_HEADERS = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}
UPDATE = {
    "update_id": 910000001,
    "message": {
        "message_id": 1,
        "date": 1764825600,
        "chat": {"id": 55501, "type": "private"},
        "from": {"id": 55501, "is_bot": False, "first_name": "Budi", "language_code": "id"},
        "text": "halo",
    },
}


def _unreachable_telegram(monkeypatch: pytest.MonkeyPatch) -> None:
    # Nothing listens on a free port, so every Bot API call fails with a NetworkError.
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", WEBHOOK_SECRET)
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("TELEGRAM_INIT_RETRY_SECONDS", "0.05")
    monkeypatch.setenv("TELEGRAM_INIT_RETRY_MAX_SECONDS", "0.1")
    reset_settings_cache()


def _wait_until(condition, seconds: float = 10) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_app_starts_without_telegram(
    world: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _unreachable_telegram(monkeypatch)

    with caplog.at_level(logging.WARNING, logger="webhooks.telegram"):
        with serve_app() as client:
            health = client.get("/health")
            snap = client.post("/snap/v1.0/access-token/b2b", json={})
            update = client.post("/telegram", json=UPDATE, headers=SECRET_HEADERS)
            forged = client.post("/telegram", json=UPDATE, headers={})
            initialiser = client.app.state.telegram_initialiser  # type: ignore[attr-defined]
            assert _wait_until(lambda: "attempt 2" in caplog.text), caplog.text

    assert health.status_code == 200
    assert snap.status_code < 500
    assert update.status_code == 503
    assert update.headers["Retry-After"] == "30"
    assert forged.status_code == 403
    assert not initialiser.ready
    assert "NetworkError" in caplog.text
    assert BOT_TOKEN not in caplog.text


def test_telegram_ready_after_retry(
    world: World, bot_api: FakeBotAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    telegram_env(monkeypatch, bot_api)
    monkeypatch.setenv("TELEGRAM_INIT_RETRY_SECONDS", "0.05")
    reset_settings_cache()
    bot_api.broken.append("getMe")

    with serve_app() as client:
        initialiser = client.app.state.telegram_initialiser  # type: ignore[attr-defined]
        assert _wait_until(lambda: initialiser.ready)
        status = client.post("/telegram", json=UPDATE, headers=SECRET_HEADERS).status_code

    methods = [call.method for call in bot_api.calls]
    assert methods[:2] == ["getMe:broken", "getMe"]
    assert status == 200
    assert bot_api.texts(), "the update was answered once the bot was initialised"


@pytest.mark.parametrize(
    "body",
    [
        [1],
        {"update_id": "abc", "message": 123},
        {"update_id": 5, "message": 123},
        {"update_id": 5, "message": {"text": "no date or chat"}},
        {"message": {}},
    ],
)
def test_telegram_body_not_update(world: World, telegram_app: httpx.Client, body) -> None:  # type: ignore[no-untyped-def]
    response = telegram_app.post("/telegram", json=body, headers=SECRET_HEADERS)

    assert response.status_code == 400


@pytest.mark.parametrize(
    "body",
    [
        {"object": "whatsapp_business_account", "entry": []},
        {"object": "whatsapp_business_account"},
        {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": []}]},
        {"entry": [{"changes": [{"value": {}}]}]},
        {"entry": [{"changes": [{"field": "messages", "value": 1}]}]},
        [1],
        "text",
    ],
)
def test_whatsapp_body_not_update(world: World, whatsapp_app: httpx.Client, body) -> None:  # type: ignore[no-untyped-def]
    content = json.dumps(body).encode()
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": sign(content)}

    response = whatsapp_app.post("/whatsapp", content=content, headers=headers)

    assert response.status_code == 400


def test_whatsapp_forged_bad_body(world: World, whatsapp_app: httpx.Client) -> None:
    content = json.dumps({"entry": []}).encode()
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": "sha256=00"}

    response = whatsapp_app.post("/whatsapp", content=content, headers=headers)

    assert response.status_code == 403


def test_whatsapp_still_answers(world: World, whatsapp) -> None:  # type: ignore[no-untyped-def]
    user = whatsapp(BUDI)

    assert user.say("berapa tagihan saya?") == 200

    assert user.texts()
