"""The permission table walked on Telegram and WhatsApp, through the real webhooks.

Each person opens the menu, and every menu entry of a school is pressed by every role. The
roles the table allows get the entry's reply, and the others get the role refusal.
"""

from __future__ import annotations

import pytest

import bot.flows  # noqa: F401  (registers every flow's menu entries)
from billing.permissions import Role, is_allowed
from bot.core.callbacks import CallbackData, Op
from bot.core.registry import MenuEntry, menu_entries
from locales import tr
from models import OrgKind
from tests.chat.conftest import bot_api, chat, chat_app, graph_api  # noqa: F401
from tests.school.conftest import School, seed_school

PEOPLE = {
    Role.SUPER_ADMIN: "+6281200000001",
    Role.FINANCE: "+6281200000002",
    Role.ADMIN: "+6281200000003",
    Role.TEACHER: "+6281200000004",
    Role.PARENT: "+6281300000001",
}
REFUSAL = "tidak dapat melakukan ini"


def _school_entries() -> list[MenuEntry]:
    found: dict[str, MenuEntry] = {}
    for role in Role:
        for entry in menu_entries(OrgKind.SCHOOL, role):
            found[entry.key] = entry
    return sorted(found.values(), key=lambda entry: entry.key)


def _allowed(role: Role, entry: MenuEntry) -> bool:
    return entry.action is None or is_allowed(role, entry.action)


@pytest.fixture
def school(database: str) -> School:
    return seed_school()


@pytest.mark.parametrize("role", list(PEOPLE), ids=[str(role) for role in PEOPLE])
def test_menu_and_entries_follow_table(school: School, chat, role: Role) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    user = chat(PEOPLE[role])
    user.say("menu")
    entries = _school_entries()

    shown = set(user.options()) if chat.channel == "whatsapp" else set(user.buttons())
    expected = {tr("id", entry.title) for entry in entries if _allowed(role, entry)}
    assert expected <= shown
    assert not {tr("id", e.title) for e in entries if not _allowed(role, e)} & shown
    for entry in entries:
        before = len(user.texts())
        user.press(CallbackData(Op.MENU, entry.key).encode())
        answer = "\n".join(user.texts()[before:])
        if _allowed(role, entry):
            assert REFUSAL not in answer, f"{role} was refused {entry.key}"
        else:
            assert REFUSAL in answer, f"{role} was not refused {entry.key}: {answer!r}"


def _captions(user, channel: str) -> list[str]:  # type: ignore[no-untyped-def]
    """Return the captions of the pictures the bot sent to this user."""
    if channel == "telegram":
        calls = user.api.sent("sendPhoto")
        return [
            c.params.get("caption", "") for c in calls if int(c.params["chat_id"]) == user.user_id
        ]
    return [m["image"].get("caption", "") for m in user.mine() if m.get("type") == "image"]


def test_event_reaches_parent_calendar(school: School, chat) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    teacher = chat(PEOPLE[Role.TEACHER])
    teacher.say("menu")
    teacher.choose("Tambah kegiatan")
    teacher.say("Kunjungan museum")
    teacher.say("17/3/2027 07:30")
    teacher.choose("7A")
    teacher.choose("Kirim ke: 7A")
    assert "Kunjungan museum" in teacher.last_text()

    parent = chat(PEOPLE[Role.PARENT])
    parent.say("kalender")
    for _ in range(24):
        if "April 2027 ▶" in parent.options():
            break
        parent.choose(next(title for title in parent.options() if title.endswith("▶")))
    parent.choose("Unduh .ics")
    documents = parent.documents()
    march = _captions(parent, chat.channel)[-1]
    assert march.startswith("Kalender Maret 2027")
    assert "17 Maret 2027 07:30: Kunjungan museum (7A)" in march
    assert any(name.endswith(".ics") for name in documents)
    ics = next(content for name, content in documents.items() if name.endswith(".ics"))
    assert b"SUMMARY:Kunjungan museum" in ics
