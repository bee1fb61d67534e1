"""The worker process: APScheduler jobs and the outbox sender.

Only `tagih worker` schedules, and the web process never runs jobs. Several workers may
run. All of them send the outbox (rows are claimed), but only the one holding a PostgreSQL
advisory lock runs the scheduled jobs. Each scheduled run also inserts a JobRun row whose
run key (job name plus time slot) is unique, so a duplicate trigger does nothing twice.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib
import logging
import signal
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from apscheduler.events import EVENT_JOB_ERROR, JobExecutionEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from billing.digest import queue_daily_digests
from billing.reminders import queue_due_reminders
from billing.school.fees import queue_fee_previews, run_due_recurring_fees
from jobs.housekeeping import expire_virtual_accounts, mark_overdue
from jobs.sender import send_due_notices
from models import JobRun, Organisation
from models.db import get_engine, session_scope
from models.types import utcnow

log = logging.getLogger(__name__)

# Arbitrary constant shared by every worker: the key of the scheduler's advisory lock.
SCHEDULER_LOCK_KEY = 0x7461676968  # "tagih"

JobFunction = Callable[[dt.datetime], Awaitable[dict[str, Any]]]


async def run_send_notices(now: dt.datetime) -> dict[str, Any]:
    return await send_due_notices(now=now)


def _for_each_organisation(
    step: Callable[..., int], now: dt.datetime, write_label: str
) -> dict[str, Any]:
    total = 0
    with session_scope() as session:
        organisation_ids = list(session.exec(select(Organisation.id)).all())
    for organisation_id in organisation_ids:
        with session_scope(write=True) as session:
            organisation = session.get(Organisation, organisation_id)
            assert organisation is not None
            total += step(session, organisation, now=now)
    return {write_label: total}


async def run_reminders(now: dt.datetime) -> dict[str, Any]:
    return await asyncio.to_thread(_for_each_organisation, queue_due_reminders, now, "queued")


async def run_digest(now: dt.datetime) -> dict[str, Any]:
    return await asyncio.to_thread(_for_each_organisation, queue_daily_digests, now, "queued")


def _preview_and_bill_fees(now: dt.datetime) -> dict[str, Any]:
    # Previews first, so that with a lead time of zero days a month is billed in the same run.
    result = _for_each_organisation(queue_fee_previews, now, "previews")
    result.update(_for_each_organisation(run_due_recurring_fees, now, "issued"))
    return result


async def run_recurring_fees(now: dt.datetime) -> dict[str, Any]:
    """Queue the monthly fee previews to finance staff and bill the months that are due."""
    return await asyncio.to_thread(_preview_and_bill_fees, now)


def _in_write_session(step: Callable[..., int], now: dt.datetime, label: str) -> dict[str, Any]:
    with session_scope(write=True) as session:
        return {label: step(session, now=now)}


async def run_overdue(now: dt.datetime) -> dict[str, Any]:
    return await asyncio.to_thread(_in_write_session, mark_overdue, now, "marked")


async def run_va_expiry(now: dt.datetime) -> dict[str, Any]:
    return await asyncio.to_thread(_in_write_session, expire_virtual_accounts, now, "expired")


async def run_payment_status(now: dt.datetime) -> dict[str, Any]:
    """Ask the bank about payments still pending, when jobs.payment_status is installed."""
    try:
        module = importlib.import_module("jobs.payment_status")
    except ImportError:
        return {"skipped": "jobs.payment_status is not installed"}
    return await module.check_pending_payments(now)


@dataclass(frozen=True)
class JobSpec:
    function: JobFunction
    trigger: str  # "interval" or "cron"
    trigger_args: dict[str, Any]
    slot_minutes: int  # minutes per run key, or 0 for no run key (the job is safe to repeat)
    scheduled_only_by_leader: bool = True


JOBS: dict[str, JobSpec] = {
    "send-notices": JobSpec(run_send_notices, "interval", {"seconds": 5}, 0, False),
    "reminders": JobSpec(run_reminders, "cron", {"minute": "*/15"}, 15),
    "digest": JobSpec(run_digest, "cron", {"minute": "*/15"}, 15),
    "recurring-fees": JobSpec(run_recurring_fees, "cron", {"minute": "*/15"}, 15),
    "overdue": JobSpec(run_overdue, "cron", {"minute": 5}, 60),
    "va-expiry": JobSpec(run_va_expiry, "cron", {"minute": "*/10"}, 10),
    "payment-status": JobSpec(run_payment_status, "interval", {"minutes": 5}, 5),
}


def run_key(name: str, now: dt.datetime, slot_minutes: int) -> str:
    """Return the unique key of a job's run in the time slot that contains `now`."""
    moment = now.astimezone(dt.UTC)
    minutes = (moment.hour * 60 + moment.minute) // slot_minutes * slot_minutes
    slot = dt.datetime.combine(moment.date(), dt.time(minutes // 60, minutes % 60))
    return f"{name}:{slot:%Y-%m-%dT%H:%M}Z"


def claim_run(name: str, key: str, now: dt.datetime) -> int | None:
    """Insert the JobRun for a key; None when another trigger already ran it."""
    try:
        with session_scope(write=True) as session:
            job_run = JobRun(run_key=key, job=name, started_at=now)
            session.add(job_run)
            session.flush()
            return job_run.id
    except IntegrityError:
        return None


def finish_run(job_run_id: int, result: dict[str, Any]) -> None:
    with session_scope(write=True) as session:
        job_run = session.get(JobRun, job_run_id)
        if job_run is not None:
            job_run.finished_at = utcnow()
            job_run.result = {key: str(value) for key, value in result.items()}
            session.add(job_run)


async def run_job(
    name: str, *, now: dt.datetime | None = None, key: str | None = None
) -> dict[str, Any]:
    """Run one job once at `now`; a run key already used returns {"skipped": ...}.

    Without a key, a job with a time slot uses the key of the slot that contains `now`.
    Operators pass manual_run_key(...) so that a run by hand always happens.
    """
    spec = JOBS[name]
    moment = now or utcnow()
    job_run_id = None
    if key is not None or spec.slot_minutes:
        key = key or run_key(name, moment, spec.slot_minutes)
        job_run_id = claim_run(name, key, moment)
        if job_run_id is None:
            log.info("Job %s already ran for %s; skipped", name, key)
            return {"skipped": f"already ran for {key}"}
    result = await spec.function(moment)
    if job_run_id is not None:
        finish_run(job_run_id, result)
    return result


def manual_run_key(name: str, now: dt.datetime) -> str:
    return f"{name}:manual:{now:%Y-%m-%dT%H:%M:%S}:{uuid.uuid4().hex[:8]}"


class SchedulerLock:
    """Holds the PostgreSQL advisory lock that makes one worker the scheduler.

    On SQLite, a single-machine set-up, every worker counts as the scheduler and the run
    keys keep duplicate triggers from doing anything twice.
    """

    def __init__(self) -> None:
        self.connection: Connection | None = None

    def held(self) -> bool:
        engine = get_engine()
        if engine.dialect.name != "postgresql":
            return True
        try:
            if self.connection is not None:
                self.connection.execute(text("SELECT 1"))
                return True
            connection = engine.connect()
            acquired = connection.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": SCHEDULER_LOCK_KEY}
            ).scalar()
            connection.commit()
            if acquired:
                self.connection = connection
                log.info("This worker has acquired the scheduler lock")
                return True
            connection.close()
            return False
        except Exception:
            log.exception("Checking the scheduler lock failed; assuming another worker has it")
            self.release()
            return False

    def release(self) -> None:
        """Give up the lock by dropping its connection, so the pool never keeps it held."""
        if self.connection is not None:
            try:
                self.connection.invalidate()
                self.connection.close()
            except Exception:
                log.exception("Closing the scheduler lock connection failed")
            self.connection = None


async def _scheduled(name: str, lock: SchedulerLock) -> None:
    spec = JOBS[name]
    if spec.scheduled_only_by_leader and not await asyncio.to_thread(lock.held):
        return
    result = await run_job(name)
    # The sender runs every few seconds, so a run that did nothing is logged at DEBUG only.
    idle = all(value in (0, "0") for value in result.values())
    log.log(logging.DEBUG if idle else logging.INFO, "Job %s finished: %s", name, result)


def _log_job_error(event: JobExecutionEvent) -> None:
    log.error("Job %s failed", event.job_id, exc_info=event.exception)


def build_scheduler(lock: SchedulerLock) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone="UTC")
    for name, spec in JOBS.items():
        scheduler.add_job(
            _scheduled,
            spec.trigger,
            args=[name, lock],
            id=name,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=60,
            **spec.trigger_args,
        )
    scheduler.add_listener(_log_job_error, EVENT_JOB_ERROR)
    return scheduler


async def run_worker(stop: asyncio.Event | None = None) -> None:
    """Run the scheduler until SIGINT or SIGTERM (or until `stop` is set)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signal_number, stop.set)
        except (NotImplementedError, RuntimeError):
            pass
    lock = SchedulerLock()
    scheduler = build_scheduler(lock)
    scheduler.start()
    log.info("Worker started with jobs: %s", ", ".join(JOBS))
    try:
        await stop.wait()
    finally:
        scheduler.shutdown(wait=False)
        await asyncio.to_thread(lock.release)
        log.info("Worker stopped")
