"""The sender: retries, rate limits, crashes mid-batch and two workers on one database."""

from __future__ import annotations

import asyncio
import datetime as dt
import multiprocessing
import os
import threading

import pytest
from sqlmodel import select

from bot.channels.base import Address, Delivery
from bot.channels.sms import JsonGatewayProvider, SmsChannel
from bot.replies import OutboundMessage
from jobs.channels import ChannelRegistry
from jobs.sender import Sender
from models import Notice, NoticeStatus
from models.db import session_scope
from models.types import utcnow
from tests.notices.fake_sms_server import FakeSmsServer
from tests.notices.helpers import (
    FakeClock,
    FakeSmsGateway,
    issue_bill,
    make_school,
    notice_attempts,
)

DUE = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=30)


class CrashAfterDelivery:
    """Passes deliveries to a provider and kills the process right after the Nth one.

    os._exit stops the worker between the provider's acceptance and the database write,
    the window in which a crash could cause a duplicate.
    """

    def __init__(self, inner, crash_on_call: int, *, idempotent: bool):  # type: ignore[no-untyped-def]
        self.inner = inner
        self.name = inner.name
        self.supports_idempotency_key = idempotent
        self.crash_on_call = crash_on_call
        self.calls = 0

    async def deliver(self, address: Address, message: OutboundMessage, **options) -> Delivery:  # type: ignore[no-untyped-def]
        delivery = await self.inner.deliver(address, message, **options)
        self.calls += 1
        if self.calls == self.crash_on_call:
            os._exit(CRASH_EXIT_CODE)
        return delivery

    async def aclose(self) -> None:
        await self.inner.aclose()


CRASH_EXIT_CODE = 70


def _sms_channel(url: str) -> SmsChannel:
    return SmsChannel(JsonGatewayProvider(url, "test-token", "TAGIH"))


def _crashing_worker(url: str, crash_on_call: int, idempotent: bool, now: dt.datetime) -> None:
    """Run in a separate process: send with worker id w1 until the crash."""
    channel = CrashAfterDelivery(_sms_channel(url), crash_on_call, idempotent=idempotent)
    sender = Sender(ChannelRegistry([channel]), worker_id="w1")
    _send_and_close(sender, now)


def _send_and_close(sender: Sender, now: dt.datetime) -> dict:
    """Run one send_due call, then close the channels' HTTP clients in the same loop."""

    async def run() -> dict:
        try:
            return await sender.send_due(now=now)
        finally:
            await sender.registry.aclose()

    return asyncio.run(run())


def _run_crashing_worker(url: str, crash_on_call: int, idempotent: bool, now: dt.datetime) -> int:
    process = multiprocessing.get_context("spawn").Process(
        target=_crashing_worker, args=(url, crash_on_call, idempotent, now)
    )
    process.start()
    process.join(timeout=60)
    assert process.exitcode is not None, "the crashing worker did not stop"
    return process.exitcode


def _bills(school, count: int, *, parent: int = 1) -> list[int]:  # type: ignore[no-untyped-def]
    return [
        issue_bill(school, parent=parent, student=2, number=f"B-{index:03d}", due=DUE)
        for index in range(count)
    ]


def _notices() -> list[Notice]:
    with session_scope() as session:
        return list(session.exec(select(Notice).order_by(Notice.id)).all())


async def test_sms_429_then_500_then_sent(database: str, clock: FakeClock) -> None:
    school = make_school()
    _bills(school, 1)
    gateway = FakeSmsGateway([(429, {"Retry-After": "120"}), (500, {})])
    sender = Sender(ChannelRegistry([gateway.channel()]), clock=clock, sleep=clock.sleep)
    start = utcnow()

    first = await sender.send_due(now=start)
    assert first["retry"] == 1
    notice = _notices()[0]
    assert notice.status == NoticeStatus.PENDING
    assert notice.next_attempt_at >= start + dt.timedelta(seconds=120)
    assert notice.last_error == "SMS gateway returned HTTP 429"

    early = await sender.send_due(now=start + dt.timedelta(seconds=119))
    assert early["handled"] == 0

    second = await sender.send_due(now=start + dt.timedelta(seconds=121))
    assert second["retry"] == 1
    assert clock.slept, "the rate limiter waits out the provider's Retry-After"
    assert max(clock.slept) == pytest.approx(120, abs=1)
    notice = _notices()[0]
    assert notice.last_error == "SMS gateway returned HTTP 500"
    # Second retry: exponential backoff of 60 s with half jitter, so 30 to 60 s.
    wait = (notice.next_attempt_at - (start + dt.timedelta(seconds=121))).total_seconds()
    assert 30 <= wait <= 60

    third = await sender.send_due(now=notice.next_attempt_at)
    assert third["sent"] == 1
    assert notice_attempts() == [
        ("whatsapp", "skipped"),
        ("sms", "retry"),
        ("sms", "retry"),
        ("sms", "sent"),
    ]
    assert len(gateway.accepted) == 1
    keys = {request["headers"]["idempotency-key"] for request in gateway.requests}
    assert len(keys) == 1
    assert _notices()[0].status == NoticeStatus.SENT


async def test_transient_errors_exhaust_then_fail(
    database: str, settings_env, clock: FakeClock
) -> None:
    settings_env(notice_max_attempts="2")
    school = make_school()
    _bills(school, 1)
    gateway = FakeSmsGateway([(503, {}), (503, {}), (503, {})])
    sender = Sender(ChannelRegistry([gateway.channel()]), clock=clock, sleep=clock.sleep)
    now = utcnow()
    assert (await sender.send_due(now=now))["retry"] == 1
    now += dt.timedelta(hours=2)
    assert (await sender.send_due(now=now))["failed"] == 1
    notice = _notices()[0]
    assert notice.status == NoticeStatus.FAILED
    assert notice.last_error == "SMS gateway returned HTTP 503"
    assert gateway.accepted == {}


async def test_rejected_number_is_permanent(database: str, clock: FakeClock) -> None:
    school = make_school()
    _bills(school, 1)
    gateway = FakeSmsGateway([(400, {})])
    sender = Sender(ChannelRegistry([gateway.channel()]), clock=clock, sleep=clock.sleep)
    result = await sender.send_due()
    assert result["failed"] == 1
    assert _notices()[0].last_error == "SMS gateway rejected the message: HTTP 400"


async def test_rate_limit_spaces_messages(database: str, settings_env, clock: FakeClock) -> None:
    settings_env(notice_rate_limits='{"sms": 4}')
    school = make_school()
    _bills(school, 9)
    gateway = FakeSmsGateway()
    sender = Sender(ChannelRegistry([gateway.channel()]), clock=clock, sleep=clock.sleep)
    started = clock.now
    result = await sender.send_due()
    assert result["sent"] == 9
    # 9 messages at 4 per second take 2 s, less the quarter second of burst the limiter
    # allows after an idle period.
    assert clock.now - started == pytest.approx(1.75, abs=0.01)
    assert all(wait <= 0.25 for wait in clock.slept)


def test_crash_mid_batch_resends_with_same_key(database: str, settings_env) -> None:
    settings_env(notice_send_concurrency="1", notice_rate_limits="{}")
    school = make_school()
    # The worker claims five rows at a time (five times the concurrency of one).
    _bills(school, 5)
    now = utcnow()
    with FakeSmsServer() as gateway:
        exit_code = _run_crashing_worker(gateway.url, 3, True, now)
        assert exit_code == CRASH_EXIT_CODE
        # Outcomes are recorded per batch, so the three rows that reached the gateway are
        # all still marked as in flight. The two after the crash were never marked.
        statuses = [notice.status for notice in _notices()]
        assert statuses == ["sending", "sending", "sending", "pending", "pending"]

        early = Sender(ChannelRegistry([_sms_channel(gateway.url)]), worker_id="w2")
        # The dead worker's claim still holds, so nothing is taken over yet.
        assert _send_and_close(early, now + dt.timedelta(seconds=60))["handled"] == 0

        survivor = Sender(ChannelRegistry([_sms_channel(gateway.url)]), worker_id="w2")
        result = _send_and_close(survivor, now + dt.timedelta(seconds=121))

    assert result["sent"] == 5
    assert [notice.status for notice in _notices()] == ["sent"] * 5
    # Eight requests reached the gateway, but each resend carried its notice's key, so
    # each of the five notices was accepted exactly once.
    assert gateway.requests == 8
    assert gateway.duplicates == 3
    assert len(gateway.accepted) == 5
    assert len({body["text"] for body in gateway.accepted.values()}) == 5


def test_crash_without_idempotency_never_resends(database: str, settings_env) -> None:
    settings_env(notice_send_concurrency="1", notice_rate_limits="{}")
    school = make_school()
    _bills(school, 4)
    now = utcnow()
    with FakeSmsServer() as gateway:
        assert _run_crashing_worker(gateway.url, 2, False, now) == CRASH_EXIT_CODE
        plain = CrashAfterDelivery(_sms_channel(gateway.url), 0, idempotent=False)
        survivor = Sender(ChannelRegistry([plain]), worker_id="w2")
        result = _send_and_close(survivor, now + dt.timedelta(seconds=121))

    assert result["unknown_outcome"] == 2
    assert result["sent"] == 2
    assert gateway.requests == 4
    assert len({body["text"] for body in gateway.accepted.values()}) == 4
    interrupted = _notices()[1]
    assert interrupted.status == NoticeStatus.SENT
    assert interrupted.last_error == "an interrupted attempt may have delivered it; not resent"
    assert ("sms", "unknown") in notice_attempts()


class SharedLog:
    """A provider seen by two workers: records which notice texts arrived, thread-safely."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.texts: list[str] = []


class LoggingChannel:
    name = "sms"

    def __init__(self, shared: SharedLog):
        self.shared = shared

    async def deliver(self, address: Address, message: OutboundMessage) -> Delivery:
        await asyncio.sleep(0)
        with self.shared.lock:
            self.shared.texts.append(message.text)
            count = len(self.shared.texts)
        return Delivery(provider_message_id=f"sms-{count}")


def test_two_workers_share_one_database(database: str, settings_env) -> None:
    settings_env(notice_send_concurrency="2", notice_rate_limits="{}")
    school = make_school()
    _bills(school, 40)
    shared = SharedLog()
    results: dict[str, dict] = {}

    def worker(worker_id: str) -> None:
        sender = Sender(ChannelRegistry([LoggingChannel(shared)]), worker_id=worker_id)
        results[worker_id] = asyncio.run(sender.send_due())

    threads = [threading.Thread(target=worker, args=(name,)) for name in ("w1", "w2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(shared.texts) == 40
    assert len(set(shared.texts)) == 40
    assert results["w1"].get("sent", 0) + results["w2"].get("sent", 0) == 40
    assert all(notice.status == NoticeStatus.SENT for notice in _notices())
    assert [status for _, status in notice_attempts()].count("sent") == 40
