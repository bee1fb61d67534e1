"""E-mail link codes: requests limited per chat and per address, guesses counted across codes."""

from __future__ import annotations

from sqlmodel import select

from bot.core.callbacks import CallbackData, Op
from models import Notice, NoticeKind
from models.db import session_scope
from tests.chat.conftest import RINA_EMAIL, World

LINK = CallbackData(Op.LINK_EMAIL).encode()
SENT_ID = "Jika alamat ini terdaftar"
LIMITED_ID = "Anda sudah terlalu sering meminta kode"
TOO_MANY_WRONG_ID = "Terlalu banyak kode salah"


def _codes() -> list[str]:
    with session_scope() as session:
        notices = session.exec(
            select(Notice).where(Notice.kind == NoticeKind.LINK_CODE).order_by(Notice.id)
        ).all()
    return [str(notice.payload["code"]) for notice in notices]


def _request(user, email: str) -> str:  # type: ignore[no-untyped-def]
    user.press(LINK)
    user.say(email)
    return str(user.last_text())


def test_requests_limited_per_chat(world: World, telegram) -> None:  # type: ignore[no-untyped-def]
    user = telegram(None, verified=False)

    replies = [_request(user, RINA_EMAIL) for _ in range(3)]
    limited = _request(user, RINA_EMAIL)

    assert all(SENT_ID in reply for reply in replies)
    assert LIMITED_ID in limited
    assert len(_codes()) == 3


def test_limit_reveals_no_address(world: World, telegram) -> None:  # type: ignore[no-untyped-def]
    unknown_first = telegram(None, verified=False)
    known_first = telegram(None, verified=False)

    for _ in range(3):
        _request(unknown_first, "nobody@example.com")
        _request(known_first, RINA_EMAIL)
    after_unknown = _request(unknown_first, RINA_EMAIL)
    after_known = _request(known_first, "nobody@example.com")

    assert LIMITED_ID in after_unknown
    assert after_unknown == after_known
    assert len(_codes()) == 3


def test_requests_limited_per_address(world: World, telegram) -> None:  # type: ignore[no-untyped-def]
    chats = [telegram(None, verified=False) for _ in range(4)]

    replies = [_request(user, RINA_EMAIL) for user in chats]
    unknown = _request(telegram(None, verified=False), "nobody@example.com")

    assert len(_codes()) == 3
    assert replies[3] == unknown, "a limited address gets the reply of an unknown one"


def test_failures_counted_across_codes(world: World, telegram) -> None:  # type: ignore[no-untyped-def]
    user = telegram(None, verified=False)
    _request(user, RINA_EMAIL)
    first = _codes()[-1]
    for guess in [guess for guess in ("000001", "000002", "000003", "000004") if guess != first][
        :3
    ]:
        user.say(guess)

    _request(user, RINA_EMAIL)
    second = _codes()[-1]
    wrong = [guess for guess in ("100001", "100002", "100003") if guess != second][:2]
    for guess in wrong:
        user.say(guess)
    after_guesses = user.last_text()
    user.say(second)

    assert TOO_MANY_WRONG_ID in after_guesses
    assert TOO_MANY_WRONG_ID in user.last_text()


def test_menu_word_is_no_guess(world: World, telegram) -> None:  # type: ignore[no-untyped-def]
    user = telegram(None, verified=False)
    _request(user, RINA_EMAIL)
    for _ in range(6):
        user.say("menu")
    user.press(LINK)
    user.say(RINA_EMAIL)
    user.say(_codes()[-1])

    assert len(_codes()) == 2
    assert "Toko Maju (pelanggan)" in user.last_text()
