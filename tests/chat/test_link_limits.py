"""E-mail link codes: requests limited per chat and per address, guesses counted across codes."""

from __future__ import annotations

import threading
import uuid
from typing import Any

from sqlmodel import col, func, select

from bot.core.callbacks import CallbackData, Op
from bot.core.identity import (
    LINK_CODE_WINDOW,
    LinkCodeRequest,
    get_or_create_identity,
    issue_link_code,
)
from models import ChatIdentity, LinkCode, Notice, NoticeKind
from models.db import session_scope
from models.types import utcnow
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


# --- concurrent requests ----------------------------------------------------------------

RACE_LIMIT = 3


def _new_chat() -> int:
    with session_scope(write=True) as session:
        identity = get_or_create_identity(
            session, channel="telegram", external_id=f"race-{uuid.uuid4().hex[:12]}"
        )
        return identity.id or 0


def _issue(identity_id: int, email: str) -> LinkCodeRequest:
    with session_scope(write=True) as session:
        identity = session.get(ChatIdentity, identity_id)
        assert identity is not None
        return issue_link_code(session, identity, email, max_requests=RACE_LIMIT)


def _race(requests: list[tuple[int, str]]) -> list[LinkCodeRequest]:
    """Issue the requests from one thread each, all released at once by a barrier."""
    barrier = threading.Barrier(len(requests))
    outcomes: dict[int, LinkCodeRequest] = {}
    errors: list[BaseException] = []

    def run(index: int, identity_id: int, email: str) -> None:
        try:
            barrier.wait(timeout=10)
            outcomes[index] = _issue(identity_id, email)
        except BaseException as error:  # reported by the assert below
            errors.append(error)

    threads = [
        threading.Thread(target=run, args=(index, identity_id, email))
        for index, (identity_id, email) in enumerate(requests)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    return [outcomes[index] for index in range(len(requests))]


def _stored_in_window(condition: Any) -> int:
    since = utcnow() - LINK_CODE_WINDOW
    with session_scope() as session:
        query = (
            select(func.count())
            .select_from(LinkCode)
            .where(condition, col(LinkCode.created_at) >= since)
        )
        return int(session.exec(query).one())


def test_same_chat_race_keeps_limit(world: World) -> None:
    chat = _new_chat()
    for _ in range(RACE_LIMIT - 1):
        assert _issue(chat, RINA_EMAIL) is LinkCodeRequest.QUEUED

    outcomes = _race([(chat, RINA_EMAIL), (chat, RINA_EMAIL)])

    assert sorted(outcome.value for outcome in outcomes) == ["limited", "queued"]
    assert _stored_in_window(LinkCode.chat_identity_id == chat) == RACE_LIMIT
    assert len(_codes()) == RACE_LIMIT


def test_same_address_race_keeps_limit(world: World) -> None:
    for _ in range(RACE_LIMIT - 1):
        assert _issue(_new_chat(), RINA_EMAIL) is LinkCodeRequest.QUEUED

    outcomes = _race([(_new_chat(), RINA_EMAIL), (_new_chat(), RINA_EMAIL)])

    assert sorted(outcome.value for outcome in outcomes) == ["email_limited", "queued"]
    assert len(_codes()) == RACE_LIMIT
    queued = (LinkCode.email == RINA_EMAIL) & col(LinkCode.used_at).is_(None)
    assert _stored_in_window(queued) == RACE_LIMIT
