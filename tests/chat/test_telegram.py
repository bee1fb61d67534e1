"""The Telegram webhook end to end: real python-telegram-bot against a fake Bot API."""

from __future__ import annotations

from tests.chat.conftest import BUDI, World


def test_wrong_secret_rejected(world: World, telegram) -> None:  # type: ignore[no-untyped-def]
    user = telegram(BUDI, verified=False)

    assert user.post(user.update(text="halo"), secret="forged") == 403
    assert user.post(user.update(text="halo"), secret=None) == 403
    assert user.texts() == []


def test_contact_links_phone(world: World, telegram) -> None:  # type: ignore[no-untyped-def]
    user = telegram(BUDI, verified=False)

    assert user.say("halo") == 200
    first = [call for call in user.api.sent("sendMessage")][0]
    assert first.params["reply_markup"]["keyboard"][0][0]["request_contact"] is True
    assert user.share_contact() == 200
    assert "Tagihan saya" in user.buttons()


def test_someone_elses_contact_refused(world: World, telegram) -> None:  # type: ignore[no-untyped-def]
    user = telegram(BUDI, verified=False)

    assert user.share_contact(user_id=user.user_id + 1) == 200
    assert "bukan kontak orang lain" in user.texts()[0]
    user.say("berapa tagihan saya?")
    assert not any("Total tagihan" in text for text in user.texts())
