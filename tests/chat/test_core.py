"""Pieces of the conversation core: payloads, link codes, voiding, splitting and the menu hook."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
from pathlib import Path

import pytest
from sqlmodel import select

from billing.errors import NotFound, UserError
from billing.invoices_void import void_invoice
from billing.orgs import get_organisation
from billing.permissions import Action
from bot.channels.console import ConsoleChannel, ConsoleSession
from bot.channels.telegram import split_text
from bot.channels.whatsapp import keyboards, shorten
from bot.core import Step, Turn, registry
from bot.core.callbacks import CallbackData, Op, decode_callback
from bot.core.identity import (
    LinkCodeRequest,
    check_link_code,
    get_or_create_identity,
    issue_link_code,
)
from bot.replies import Button, Text
from models import LinkCode, Notice, NoticeKind, OrgKind
from models.db import session_scope
from tests.chat.conftest import PARENT, RINA_EMAIL, World


def test_callback_round_trip() -> None:
    data = CallbackData(Op.RECEIPT, value=12345)

    assert decode_callback(data.encode()) == data
    assert decode_callback(CallbackData(Op.LANGUAGE, key="en").encode()) == CallbackData(
        Op.LANGUAGE, "en"
    )


@pytest.mark.parametrize(
    "payload",
    [
        "",
        "void:INV-001",
        "[1,2]",
        '{"o":"zz"}',
        '{"o":"rc","v":"12"}',
        '{"o":"rc","v":true}',
        '{"o":"m","k":3}',
        "x" * 300,
    ],
)
def test_callback_rejects_foreign(payload: str) -> None:
    assert decode_callback(payload) is None


def test_callback_too_long_for_telegram() -> None:
    with pytest.raises(ValueError, match="exceeds 64"):
        CallbackData(Op.EXTENSION, key="k" * 60).encode()


def test_split_text_keeps_everything() -> None:
    text = "\n".join(f"• INV-{index:04} Rp150.000" for index in range(600)) + "\n" + "z" * 5000

    pieces = split_text(text, 4096)

    assert all(len(piece) <= 4096 for piece in pieces)
    assert "".join(pieces).replace("\n", "") == text.replace("\n", "")


def test_whatsapp_keyboards_fit_limits() -> None:
    few = keyboards([Button("Kirim semua", "a"), Button("Batal", "b")])
    many = keyboards(
        [Button(f"Pilihan nomor {index} yang panjang sekali", str(index)) for index in range(23)]
    )

    assert len(few) == 1 and isinstance(few[0], list)
    assert len(many) == 3
    assert [len(item.sections[0].rows) for item in many] == [10, 10, 3]  # type: ignore[union-attr]
    row = many[0].sections[0].rows[0]  # type: ignore[union-attr]
    assert len(row.title) == 24
    assert row.description == "Pilihan nomor 0 yang panjang sekali"
    assert shorten("Toko Maju (pelanggan) besar", 20) == "Toko Maju (pelangga…"


def test_link_code_hashed_and_expires(world: World) -> None:
    with session_scope(write=True) as session:
        identity = get_or_create_identity(session, channel="telegram", external_id="42")
        outcome = issue_link_code(session, identity, RINA_EMAIL, max_requests=3)
        assert outcome is LinkCodeRequest.QUEUED
        link = session.exec(select(LinkCode)).one()
        link.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    with session_scope(write=True) as session:
        identity = get_or_create_identity(session, channel="telegram", external_id="42")
        code = str(session.exec(select(Notice)).all()[-1].payload["code"])
        assert len(session.exec(select(LinkCode)).one().code_hash) == 64
        assert check_link_code(session, identity, code, max_failures=5) is None


def test_link_code_unknown_email_queues_nothing(world: World) -> None:
    with session_scope(write=True) as session:
        identity = get_or_create_identity(session, channel="telegram", external_id="43")
        outcome = issue_link_code(session, identity, "nobody@example.com", max_requests=3)
        assert outcome is LinkCodeRequest.UNREGISTERED
        assert session.exec(select(Notice).where(Notice.kind == NoticeKind.LINK_CODE)).all() == []
        request = session.exec(select(LinkCode)).one()
        assert request.email == ""
        assert request.used_at is not None


def test_void_invoice_rules(world: World) -> None:
    with session_scope(write=True) as session:
        organisation = get_organisation(session, "toko-maju")
        with pytest.raises(NotFound):
            void_invoice(session, organisation, "INV-404", reason="typo", actor="cli")
        with pytest.raises(UserError, match="paid"):
            void_invoice(session, organisation, "INV-PAID-1", reason="typo", actor="cli")
        invoice = void_invoice(
            session, organisation, " inv-001 ", reason="wrong amount", actor="cli"
        )
        assert invoice.number == "INV-001"
        assert invoice.void_reason == "wrong amount"
        with pytest.raises(UserError, match="void"):
            void_invoice(session, organisation, "INV-001", reason="again", actor="cli")


async def _school_news(turn: Turn) -> Step:
    turn.require(Action.NEWS_READ)
    return Step([Text(f"News of {turn.org.name}")])


def test_menu_hook_for_schools(world: World, tmp_path: Path) -> None:
    registry.register_menu_entry(
        "test_news", "Menu", _school_news, action=Action.NEWS_READ, kinds={OrgKind.SCHOOL}, order=5
    )
    try:
        stream = io.StringIO()
        session = ConsoleSession(PARENT, ConsoleChannel(stream, download_dir=tmp_path))
        asyncio.run(session.send("menu"))
        menu = stream.getvalue()
        asyncio.run(session.send("1"))
    finally:
        registry.unregister_menu_entry("test_news")

    assert "  1) Menu" in menu
    assert "News of SD Harapan" in stream.getvalue()
