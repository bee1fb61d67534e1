"""The outbox sender: claims due notices, delivers them, and records every attempt.

Guarantees:

- Two workers never send the same row. A worker claims rows by setting claimed_by and
  claimed_until in one transaction: SELECT ... FOR UPDATE SKIP LOCKED on PostgreSQL, and
  on SQLite a write transaction that takes the database lock at BEGIN IMMEDIATE.
- A sent row is not sent again on the same channel. Before calling a provider the row is
  marked "sending" and committed. A row found "sending" with an expired claim was
  interrupted mid-send. Channels whose provider drops a repeated idempotency key resend
  with the same key. For the others the outcome is unknown, and the row is marked sent
  without resending, because it was probably delivered and a duplicate bill does more
  harm than a rare missing one.
- Transient failures retry with exponential backoff and jitter, never sooner than the
  provider's retry_after. After notice_max_attempts on one channel, or on a permanent
  failure, the notice moves to its next channel. With none left it is marked failed.
- A notice that is no longer true when planned (a paid bill, an expired link code: see
  billing.notices.check_still_true) is cancelled, not sent. A link code notice loses its
  plain code once it is sent, cancelled or failed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import random
import socket
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, func, text, update
from sqlmodel import Session, col, select

from billing.notices import (
    NoticeObsolete,
    check_still_true,
    drop_link_code,
    next_channel,
    notice_expires_at,
    preload_for_rendering,
    render_notice,
)
from billing.reminders import quiet_hours_end
from bot.channels.base import Address, Delivery, DeliveryError, OutboundChannel
from bot.replies import OutboundMessage
from jobs.channels import ChannelRegistry, build_registry
from models import ChatIdentity, Notice, NoticeAttempt, NoticeKind, NoticeStatus, Organisation
from models.db import get_engine, session_scope
from models.types import UTCDateTime, utcnow
from tagih.settings import Settings, get_settings

log = logging.getLogger(__name__)

CHANNEL_OFF = "channel is off (no settings)"
# How often a notice that waits for a channel to be switched on is planned again.
HOLD_RETRY = dt.timedelta(hours=1)
# Statuses after which a notice is never sent again.
FINAL_STATUSES = frozenset(
    {
        NoticeStatus.SENT,
        NoticeStatus.DELIVERED,
        NoticeStatus.READ,
        NoticeStatus.FAILED,
        NoticeStatus.CANCELLED,
    }
)
# Kinds that wait for the end of quiet hours. Bills, receipts and codes go out at once.
QUIET_KINDS = frozenset(
    {NoticeKind.REMINDER, NoticeKind.NEWS, NoticeKind.DIGEST, NoticeKind.FEE_PREVIEW}
)


Outcome = Delivery | DeliveryError | TimeoutError

_MARK_SENDING = text(
    "UPDATE notice SET status = 'sending', channel = :channel, attempts = attempts + 1, "
    "claimed_until = :until WHERE id = :notice_id AND claimed_by = :worker"
).bindparams(bindparam("until", type_=UTCDateTime()))


class RateLimiter:
    """Spaces calls to one provider at `rate` per second and pauses after a retry_after.

    NOTE: the limit is per worker process. Workers that send in parallel together reach
    a multiple of notice_rate_limits, so set each worker's share when running several.
    """

    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ):
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.clock = clock
        self.sleep = sleep
        self.next_slot = 0.0
        self.paused_until = 0.0
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:
            now = self.clock()
            # Slots missed while idle are not saved up beyond a quarter second of burst.
            slot = max(self.next_slot, self.paused_until, now - 0.25)
            self.next_slot = slot + self.interval
            if slot > now:
                await self.sleep(slot - now)

    def pause(self, seconds: float) -> None:
        self.paused_until = max(self.paused_until, self.clock() + seconds)


@dataclass
class Plan:
    """The next step for one claimed notice: a message to deliver, or a decision to record."""

    channel: str | None = None
    address: Address | None = None
    message: OutboundMessage | None = None
    resend_key: str | None = None
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (channel, reason)
    decision: str | None = None  # deferred, held, cancelled, unknown_outcome, no_channel
    until: dt.datetime | None = None
    reason: str = ""

    def off_channels(self) -> list[str]:
        """Return the skipped channels that settings could switch on."""
        return [channel for channel, reason in self.skipped if reason == CHANNEL_OFF]

    def unavailable_reasons(self, registry: ChannelRegistry) -> list[str]:
        """Return why skipped channels cannot be switched on here (console in production)."""
        reasons = (registry.unavailable_reason(channel) for channel, _ in self.skipped)
        return [reason for reason in reasons if reason]


def _unreachable(
    notice: Notice,
    plan: Plan,
    now: dt.datetime,
    settings: Settings,
    *,
    expires_at: dt.datetime | None,
    unavailable: list[str],
) -> Plan:
    """Decide about a notice that no channel can deliver now: hold it, or fail it.

    A channel that is off only lacks settings, which an operator may add. So while one of
    the recipient's channels is off, the notice waits and is planned again every hour, for
    notice_hold_days after it was queued, and never past `expires_at` (a link code's end).
    A channel that no setting can switch on here (`unavailable`, the reasons why) is never
    waited for. A recipient with no address on any channel that is on fails at once.
    """
    off = plan.off_channels()
    held_until = notice.created_at + dt.timedelta(days=settings.notice_hold_days)
    if expires_at is not None:
        held_until = min(held_until, expires_at)
    note = f" ({'; '.join(unavailable)})" if unavailable else ""
    if off and now < held_until:
        plan.decision = "held"
        plan.until = min(now + HOLD_RETRY, held_until)
        plan.reason = "waiting for a channel to be switched on: " + ", ".join(off) + note
        return plan
    plan.decision = "no_channel"
    plan.reason = "no channel could reach the recipient"
    if off:
        plan.reason += f" within {settings.notice_hold_days} days (off: {', '.join(off)})"
    plan.reason += note
    return plan


def accepts_idempotency_key(adapter: OutboundChannel) -> bool:
    """Tell whether an adapter's deliver() takes an idempotency_key keyword.

    supports_idempotency_key means the provider also drops a second message with the same
    key, which makes a resend after a crash safe. accepts_idempotency_key alone (e-mail)
    only labels the message, through its Message-ID.
    """
    return bool(
        getattr(adapter, "supports_idempotency_key", False)
        or getattr(adapter, "accepts_idempotency_key", False)
    )


def idempotency_key(notice: Notice, channel: str) -> str:
    return f"tagih-notice-{notice.id}-{channel}"


def backoff_seconds(
    attempt: int, settings: Settings, rng: random.Random, retry_after: float | None
) -> float:
    """Return the wait before retry number `attempt` (1-based): exponential, half jittered."""
    ceiling = min(
        settings.notice_retry_max_seconds, settings.notice_retry_base_seconds * 2 ** (attempt - 1)
    )
    delay = ceiling / 2 + rng.uniform(0, ceiling / 2)
    return max(delay, retry_after or 0.0)


def resolve_address(
    session: Session, notice: Notice, channel: str, now: dt.datetime, settings: Settings
) -> Address | None:
    """Find where the recipient is reached on a channel, or None when they are not."""
    if channel == "email":
        return Address("email", notice.recipient_email) if notice.recipient_email else None
    if channel == "sms":
        return Address("sms", notice.recipient_phone) if notice.recipient_phone else None
    identity = _chat_identity(session, notice, channel)
    if channel == "whatsapp":
        if identity is None:
            if not notice.recipient_phone:
                return None
            return Address("whatsapp", notice.recipient_phone.lstrip("+"), window_open=False)
        window_start = now - dt.timedelta(hours=settings.whatsapp_window_hours)
        last = identity.last_inbound_at
        return Address(
            "whatsapp", identity.external_id, window_open=last is not None and last >= window_start
        )
    if identity is None:
        return None
    return Address(channel, identity.external_id)


def _chat_identity(session: Session, notice: Notice, channel: str) -> ChatIdentity | None:
    for value, column in (
        (notice.recipient_phone, ChatIdentity.phone),
        (notice.recipient_email, ChatIdentity.email),
    ):
        if not value:
            continue
        identity = session.exec(
            select(ChatIdentity)
            .where(ChatIdentity.channel == channel, column == value)
            .order_by(col(ChatIdentity.last_inbound_at).desc())
        ).first()
        if identity is not None:
            return identity
    return None


def remaining_channels(notice: Notice) -> list[str]:
    """Return the notice's current channel and the ones after it, in order."""
    if notice.channel in notice.channels:
        return notice.channels[notice.channels.index(notice.channel) :]
    return list(notice.channels)


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Sender:
    """Delivers due notices through a channel registry, with per-channel rate limits."""

    def __init__(
        self,
        registry: ChannelRegistry,
        *,
        settings: Settings | None = None,
        worker_id: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        rng: random.Random | None = None,
    ):
        self.registry = registry
        self.settings = settings or get_settings()
        self.worker_id = worker_id or self.settings.worker_id or default_worker_id()
        self.rng = rng or random.Random()
        self.limiters = {
            name: RateLimiter(rate, clock=clock, sleep=sleep)
            for name, rate in self.settings.notice_rate_limits.items()
        }

    # --- claiming ---

    def claim(self, *, now: dt.datetime, limit: int) -> list[int]:
        """Claim up to `limit` due rows for this worker and return their ids."""
        claimable = (
            col(Notice.status).in_([NoticeStatus.PENDING, NoticeStatus.SENDING])
            & (Notice.next_attempt_at <= now)
            & (col(Notice.claimed_until).is_(None) | (Notice.claimed_until < now))
        )
        until = now + dt.timedelta(seconds=self.settings.notice_claim_seconds)
        with session_scope(write=True) as session:
            query = (
                select(Notice.id)
                .where(claimable)
                .order_by(Notice.next_attempt_at, Notice.id)
                .limit(limit)
            )
            if session.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            ids = list(session.exec(query).all())
            if not ids:
                return []
            claimed = session.execute(
                update(Notice)
                .where(col(Notice.id).in_(ids), claimable)
                .values(claimed_by=self.worker_id, claimed_until=until)
                .returning(Notice.id)
                .execution_options(synchronize_session=False)
            )
            return sorted(claimed.scalars().all())

    # --- sending ---

    async def send_due(self, *, now: dt.datetime | None = None, limit: int = 1000) -> dict:
        """Send due notices in batches until none is due or `limit` were handled.

        Each batch is planned in one read transaction and delivered concurrently within
        the rate limits. Every message is marked "sending" in its own short transaction
        right before its provider call, and the batch's outcomes are recorded together.
        """
        totals: dict[str, int] = {}
        held_on: Counter[str] = Counter()
        handled = 0
        batch_size = max(1, self.settings.notice_send_concurrency * 5)
        while handled < limit:
            moment = now or utcnow()
            ids = self.claim(now=moment, limit=min(batch_size, limit - handled))
            if not ids:
                break
            for outcome in await self.send_batch(ids, now=now, held_on=held_on):
                totals[outcome] = totals.get(outcome, 0) + 1
            handled += len(ids)
        totals["handled"] = handled
        if totals.get("held"):
            log.warning(
                "%s notices wait for a channel that is off (no settings), by channel: %s. "
                "They are tried again every hour for up to %s days",
                totals["held"],
                ", ".join(f"{channel} {count}" for channel, count in sorted(held_on.items())),
                self.settings.notice_hold_days,
            )
        return totals

    async def send_batch(
        self,
        ids: list[int],
        *,
        now: dt.datetime | None = None,
        held_on: Counter[str] | None = None,
    ) -> list[str]:
        """Deliver claimed notices; returns one outcome name per notice.

        `held_on`, when given, counts the held notices by each channel they wait for.
        """
        moment = now or utcnow()
        plans = self.plan_batch(ids, moment)
        if held_on is not None:
            for plan in plans.values():
                if plan.decision == "held":
                    held_on.update(plan.off_channels())
        semaphore = asyncio.Semaphore(self.settings.notice_send_concurrency)

        async def deliver_one(notice_id: int) -> tuple[int, Outcome | None]:
            plan = plans[notice_id]
            async with semaphore:
                limiter = self.limiters.get(plan.channel or "")
                if limiter is not None:
                    await limiter.acquire()
                # The marker is committed right before the call, so after a crash only the
                # rows that were really in flight have an unknown outcome.
                if not self.mark_sending(notice_id, plan, now or utcnow()):
                    return notice_id, None
                return notice_id, await self.deliver(plan, notice_id, limiter)

        to_send = [notice_id for notice_id, plan in plans.items() if not plan.decision]
        delivered = await asyncio.gather(*(deliver_one(notice_id) for notice_id in to_send))
        outcomes = {notice_id: outcome for notice_id, outcome in delivered if outcome}
        return self.record_batch(plans, outcomes, now or utcnow())

    def plan_batch(self, ids: list[int], now: dt.datetime) -> dict[int, Plan]:
        """Plan every notice that is still claimed by this worker."""
        with session_scope() as session:
            notices = session.exec(
                select(Notice)
                .where(col(Notice.id).in_(ids), Notice.claimed_by == self.worker_id)
                .order_by(Notice.id)
            ).all()
            preload_for_rendering(session, notices)
            return {notice.id: self.plan(session, notice, now) for notice in notices}  # type: ignore[misc]

    def plan(self, session: Session, notice: Notice, now: dt.datetime) -> Plan:
        """Decide what to do with a claimed notice, without changing it.

        An interrupted send that cannot be repeated safely is settled first. Then a notice
        that is no longer true is cancelled, before quiet hours or channels are considered.
        """
        plan = Plan()
        resend_key = None
        if notice.status == NoticeStatus.SENDING:
            adapter = self.registry.get(notice.channel or "")
            if adapter is None or not getattr(adapter, "supports_idempotency_key", False):
                return Plan(
                    decision="unknown_outcome",
                    reason="an interrupted attempt may have delivered it; not resent",
                )
            resend_key = idempotency_key(notice, notice.channel or "")
        try:
            check_still_true(session, notice, now=now)
        except NoticeObsolete as obsolete:
            return Plan(decision="cancelled", reason=str(obsolete))
        if notice.kind in QUIET_KINDS:
            organisation = session.get(Organisation, notice.organisation_id)
            timezone = organisation.timezone if organisation else "Asia/Jakarta"
            until = quiet_hours_end(now, timezone)
            if until is not None:
                return Plan(decision="deferred", until=until)
        chosen = None
        for channel in remaining_channels(notice):
            adapter = self.registry.get(channel)
            if adapter is None:
                unavailable = self.registry.unavailable_reason(channel)
                plan.skipped.append((channel, unavailable or CHANNEL_OFF))
                continue
            address = resolve_address(session, notice, channel, now, self.settings)
            if address is None:
                plan.skipped.append((channel, "recipient has no address on this channel"))
                continue
            chosen = channel
            break
        if chosen is None:
            return _unreachable(
                notice,
                plan,
                now,
                self.settings,
                expires_at=notice_expires_at(session, notice),
                unavailable=plan.unavailable_reasons(self.registry),
            )
        channel = chosen
        try:
            plan.message = render_notice(session, notice, channel)
        except NoticeObsolete as obsolete:
            return Plan(decision="cancelled", reason=str(obsolete))
        plan.channel = channel
        plan.address = address
        if accepts_idempotency_key(adapter):
            plan.resend_key = resend_key or idempotency_key(notice, channel)
        return plan

    def mark_sending(self, notice_id: int, plan: Plan, now: dt.datetime) -> bool:
        """Commit the in-flight marker before calling the provider, extending the claim.

        Returns False when another worker took the claim over, so the notice is not sent.
        """
        until = now + dt.timedelta(seconds=self.settings.notice_claim_seconds)
        # Plain SQL on a bare connection: this runs once per message, and the ORM
        # statement costs several times more to build than the database takes to run it.
        with get_engine(immediate=True).begin() as connection:
            statement = _MARK_SENDING.bindparams(
                channel=plan.channel,
                until=until,
                notice_id=notice_id,
                worker=self.worker_id,
            )
            return bool(connection.execute(statement).rowcount)

    async def deliver(self, plan: Plan, notice_id: int, limiter: RateLimiter | None) -> Outcome:
        """Call the channel adapter, turning every failure into an outcome to record."""
        assert plan.channel and plan.address and plan.message
        adapter = self.registry.get(plan.channel)
        assert adapter is not None
        kwargs = {"idempotency_key": plan.resend_key} if plan.resend_key else {}
        try:
            return await asyncio.wait_for(
                adapter.deliver(plan.address, plan.message, **kwargs),
                timeout=self.settings.notice_send_timeout_seconds,
            )
        except DeliveryError as error:
            if error.retry_after and limiter is not None:
                limiter.pause(error.retry_after)
            return error
        except TimeoutError as error:
            return error
        except Exception as error:  # an adapter bug must not stop the batch
            log.exception("Channel %s raised on notice %s", plan.channel, notice_id)
            return DeliveryError(f"adapter error: {type(error).__name__}", permanent=False)

    # --- recording ---

    def record_batch(
        self,
        plans: dict[int, Plan],
        outcomes: dict[int, Outcome],
        now: dt.datetime,
    ) -> list[str]:
        """Record decisions and delivery outcomes of a batch in one transaction."""
        if not plans:
            return []
        results: list[str] = []
        with session_scope(write=True) as session:
            query = select(Notice).where(col(Notice.id).in_(list(plans))).order_by(Notice.id)
            if session.get_bind().dialect.name == "postgresql":
                query = query.with_for_update()
            for notice in session.exec(query).all():
                assert notice.id is not None
                plan = plans[notice.id]
                if plan.decision is not None:
                    results.append(self._apply_decision(session, notice, plan, now))
                elif notice.id in outcomes:
                    self._write_skips(session, notice.id, plan, now)
                    outcome = outcomes[notice.id]
                    results.append(self._apply_outcome(session, notice, plan, outcome, now))
                else:
                    results.append("lost_claim")
                if notice.status in FINAL_STATUSES:
                    drop_link_code(notice)
                session.add(notice)
        return results

    def _write_skips(self, session: Session, notice_id: int, plan: Plan, now: dt.datetime) -> None:
        for channel, reason in plan.skipped:
            session.add(
                NoticeAttempt(
                    notice_id=notice_id,
                    channel=channel,
                    status="skipped",
                    error=reason,
                    created_at=now,
                )
            )

    def _release(self, notice: Notice) -> None:
        notice.claimed_by = None
        notice.claimed_until = None

    def _apply_decision(
        self, session: Session, notice: Notice, plan: Plan, now: dt.datetime
    ) -> str:
        if notice.claimed_by != self.worker_id:
            return "lost_claim"
        if plan.decision != "held":
            # A held notice is planned again every hour, and its skips would pile up.
            self._write_skips(session, notice.id, plan, now)  # type: ignore[arg-type]
        self._release(notice)
        if plan.decision == "deferred":
            assert plan.until is not None
            notice.next_attempt_at = plan.until
        elif plan.decision == "held":
            assert plan.until is not None
            notice.next_attempt_at = plan.until
            notice.last_error = plan.reason
        elif plan.decision == "cancelled":
            notice.status = NoticeStatus.CANCELLED
            notice.last_error = plan.reason
            log.info("Notice %s cancelled: %s", notice.id, plan.reason)
        elif plan.decision == "unknown_outcome":
            log.warning("Notice %s was interrupted mid-send; marked sent", notice.id)
            session.add(
                NoticeAttempt(
                    notice_id=notice.id,
                    channel=notice.channel or "",
                    status="unknown",
                    error=plan.reason,
                    created_at=now,
                )
            )
            notice.status = NoticeStatus.SENT
            notice.sent_at = now
            notice.last_error = plan.reason
        else:
            notice.status = NoticeStatus.FAILED
            notice.last_error = plan.reason
            log.info("Notice %s failed: %s", notice.id, plan.reason)
        return str(plan.decision)

    def _apply_outcome(
        self,
        session: Session,
        notice: Notice,
        plan: Plan,
        outcome: Outcome,
        now: dt.datetime,
    ) -> str:
        channel = plan.channel or ""
        if notice.claimed_by != self.worker_id:
            log.warning("Notice %s: claim lost while sending on %s", notice.id, channel)
        self._release(notice)
        if isinstance(outcome, Delivery):
            return self._record_sent(session, notice, channel, outcome, now)
        if isinstance(outcome, TimeoutError):
            return self._record_timeout(session, notice, plan, now)
        return self._record_failure(session, notice, channel, outcome, now)

    def _record_sent(
        self, session: Session, notice: Notice, channel: str, delivery: Delivery, now: dt.datetime
    ) -> str:
        session.add(
            NoticeAttempt(
                notice_id=notice.id,
                channel=channel,
                status="sent",
                provider_message_id=delivery.provider_message_id,
                created_at=now,
            )
        )
        notice.status = NoticeStatus.SENT
        notice.provider_message_id = delivery.provider_message_id
        notice.sent_at = now
        notice.last_error = None
        return "sent"

    def _record_timeout(
        self, session: Session, notice: Notice, plan: Plan, now: dt.datetime
    ) -> str:
        if plan.resend_key:
            error = DeliveryError("provider timed out", permanent=False)
            return self._record_failure(session, notice, plan.channel or "", error, now)
        session.add(
            NoticeAttempt(
                notice_id=notice.id,
                channel=plan.channel or "",
                status="unknown",
                error="provider timed out; it may have delivered the message",
                created_at=now,
            )
        )
        notice.status = NoticeStatus.SENT
        notice.sent_at = now
        notice.last_error = "provider timed out; not resent to avoid a duplicate"
        return "unknown_outcome"

    def _record_failure(
        self,
        session: Session,
        notice: Notice,
        channel: str,
        error: DeliveryError,
        now: dt.datetime,
    ) -> str:
        failures = session.exec(
            select(func.count(NoticeAttempt.id)).where(
                NoticeAttempt.notice_id == notice.id,
                NoticeAttempt.channel == channel,
                NoticeAttempt.status == "retry",
            )
        ).one()
        session.add(
            NoticeAttempt(
                notice_id=notice.id,
                channel=channel,
                status="failed" if error.permanent else "retry",
                error=error.reason,
                created_at=now,
            )
        )
        notice.last_error = error.reason
        if not error.permanent:
            retries = failures + 1
            if retries < self.settings.notice_max_attempts:
                delay = backoff_seconds(retries, self.settings, self.rng, error.retry_after)
                notice.status = NoticeStatus.PENDING
                notice.next_attempt_at = now + dt.timedelta(seconds=delay)
                log.info(
                    "Notice %s: %s failed (%s); retry %s in %.1f s",
                    notice.id,
                    channel,
                    error.reason,
                    retries,
                    delay,
                )
                return "retry"
            log.info("Notice %s: %s still failing after %s tries", notice.id, channel, retries)
        following = next_channel(notice)
        if following is None:
            notice.status = NoticeStatus.FAILED
            log.info("Notice %s failed on %s: %s", notice.id, channel, error.reason)
            return "failed"
        log.info(
            "Notice %s: %s failed (%s); trying %s", notice.id, channel, error.reason, following
        )
        notice.status = NoticeStatus.PENDING
        notice.channel = following
        notice.next_attempt_at = now
        return "fallback"


_default_sender: Sender | None = None


def default_sender() -> Sender:
    """Return the process's sender, built once from settings (its rate limits persist)."""
    global _default_sender
    if _default_sender is None:
        _default_sender = Sender(build_registry())
    return _default_sender


async def send_due_notices(
    *,
    now: dt.datetime | None = None,
    limit: int = 1000,
    registry: ChannelRegistry | None = None,
    sender: Sender | None = None,
) -> dict:
    """Send due outbox rows and return counts per outcome (sent, retry, fallback, ...)."""
    if sender is None:
        sender = Sender(registry) if registry is not None else default_sender()
    return await sender.send_due(now=now, limit=limit)


def send_due_notices_sync(**kwargs: Any) -> dict:
    """Run send_due_notices to completion, for the CLI and the demo."""
    return asyncio.run(send_due_notices(**kwargs))
