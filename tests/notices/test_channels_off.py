"""Channels that are off: the console in development and production, and the hold warning."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from sqlmodel import select

from bot.channels.console import ConsoleChannel
from jobs.channels import CONSOLE_UNAVAILABLE, ChannelRegistry, build_registry
from jobs.sender import Sender, send_due_notices
from models import Notice, NoticeKind, NoticeStatus
from models.db import session_scope
from models.types import utcnow
from tagih.settings import Settings
from tests.notices.helpers import issue_bill, link_chat, make_school

DUE = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=30)
ANI = "+6281200000011"
BUDI = "+6281200000022"


def _bill_notice() -> Notice:
    with session_scope() as session:
        query = select(Notice).where(Notice.kind == NoticeKind.INVOICE_ISSUED)
        return session.exec(query).one()


def test_console_on_in_development() -> None:
    registry = build_registry(Settings())
    assert isinstance(registry.get("console"), ConsoleChannel)
    assert registry.unavailable_reason("console") is None
    assert build_registry(Settings(), console=False).get("console") is None


def test_console_never_on_in_production(caplog: pytest.LogCaptureFixture) -> None:
    production = Settings(tagih_env="production")
    assert build_registry(production).get("console") is None
    with caplog.at_level(logging.WARNING):
        registry = build_registry(production, console=True)
    assert registry.get("console") is None
    assert registry.unavailable_reason("console") == CONSOLE_UNAVAILABLE
    assert "never on in production" in caplog.text


async def test_worker_prints_console_notice(database: str, capsys) -> None:  # type: ignore[no-untyped-def]
    school = make_school()
    link_chat(BUDI, "console", BUDI)
    issue_bill(school, parent=1, student=2, number="B-1", due=DUE)
    # The registry the worker builds from settings, here with no provider configured.
    result = await send_due_notices(registry=build_registry())
    assert result["sent"] == 1
    printed = capsys.readouterr().out
    assert f"--- to {BUDI} ---" in printed
    assert "SD Harapan: tagihan B-1" in printed
    assert _bill_notice().channel == "console"


async def test_production_hold_names_console(database: str, capsys) -> None:  # type: ignore[no-untyped-def]
    school = make_school()
    link_chat(BUDI, "console", BUDI)
    issue_bill(school, parent=1, student=2, number="B-1", due=DUE)
    production = Settings(tagih_env="production")
    sender = Sender(build_registry(production), settings=production)
    result = await sender.send_due()
    assert result["held"] == 1
    notice = _bill_notice()
    assert notice.status == NoticeStatus.PENDING
    assert notice.last_error == (
        "waiting for a channel to be switched on: whatsapp, sms "
        "(console is never on in production)"
    )
    assert capsys.readouterr().out == ""


async def test_console_only_notice_fails_in_production(database: str) -> None:
    school = make_school(preferences={"notice_channels": {"default": ["console"]}})
    link_chat(BUDI, "console", BUDI)
    issue_bill(school, parent=1, student=2, number="B-1", due=DUE)
    production = Settings(tagih_env="production")
    result = await Sender(build_registry(production), settings=production).send_due()
    # No setting can switch the console on, so waiting a week would not help.
    assert result["no_channel"] == 1
    notice = _bill_notice()
    assert notice.status == NoticeStatus.FAILED
    assert notice.last_error == (
        "no channel could reach the recipient (console is never on in production)"
    )


async def test_hold_warning_counts_each_channel(
    database: str, caplog: pytest.LogCaptureFixture
) -> None:
    school = make_school()
    link_chat(ANI, "console", ANI)
    issue_bill(school, parent=0, student=0, number="A-1", due=DUE)
    issue_bill(school, parent=1, student=2, number="B-1", due=DUE)
    with caplog.at_level(logging.INFO):
        result = await Sender(ChannelRegistry([])).send_due(now=utcnow())
    assert result["held"] == 2
    warnings = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 1
    message = warnings[0].getMessage()
    assert message.startswith("2 notices wait for a channel that is off (no settings)")
    assert "by channel: console 1, email 1, sms 2, whatsapp 2." in message
    for record in caplog.records:
        text = record.getMessage()
        for personal in (ANI, BUDI, "6281200000", "ani@example.com", "Ani", "Budi", "Citra"):
            assert personal not in text, text
