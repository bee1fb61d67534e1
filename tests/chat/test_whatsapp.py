"""The WhatsApp webhook end to end: real pywa against a fake Graph API."""

from __future__ import annotations

from tests.chat.conftest import BUDI, WA_VERIFY_TOKEN, World


def test_verify_handshake(world: World, whatsapp_app) -> None:  # type: ignore[no-untyped-def]
    good = {
        "hub.mode": "subscribe",
        "hub.verify_token": WA_VERIFY_TOKEN,
        "hub.challenge": "1158201444",
    }
    response = whatsapp_app.get("/whatsapp", params=good)

    assert response.status_code == 200
    assert response.text == "1158201444"
    bad = whatsapp_app.get("/whatsapp", params={**good, "hub.verify_token": "guess"})
    assert bad.status_code == 403


def test_my_bills(world: World, whatsapp) -> None:  # type: ignore[no-untyped-def]
    user = whatsapp(BUDI)

    assert user.say("berapa tagihan saya?") == 200
    assert "Total tagihan: Rp900.000 (3 tagihan)" in user.last_text()
