"""Notice throughput against a rate-limited provider, and reminder selection at scale.

1. Issue 10,000 bills (one SMS notice each) and send them through a fake SMS gateway on
   127.0.0.1 that allows 80 messages per second and returns an injected 429 for 1% of
   requests. Reports the achieved rate, duplicates and drops.
2. On PostgreSQL, fill 1,000,000 invoices and time the selection of due reminders.

Environment: BENCH_NOTICES (default 10000), BENCH_INVOICES (default 1000000),
BENCH_POSTGRES_URL (default TEST_DATABASE_URL; part 2 is skipped without one).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import multiprocessing
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import col, func, select

RATE_LIMIT = 80.0
INJECTED_429_RATE = 0.01


def _use_database(url: str) -> None:
    from models.db import dispose_engines, upgrade_to_head
    from tagih.settings import reset_settings_cache

    dispose_engines()
    os.environ["DATABASE_URL"] = url
    reset_settings_cache()
    upgrade_to_head(url)


def _issue_bills(count: int) -> None:
    from billing.invoices import InvoiceDraft, LineDraft, issue_invoices
    from billing.orgs import create_organisation
    from models.db import session_scope

    due = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=30)
    with session_scope(write=True) as session:
        organisation = create_organisation(
            session,
            slug="bench-shop",
            kind="invoice",
            name="Toko Bench",
            company_code="7777",
            admin_phone="081200000001",
        )
        drafts = [
            InvoiceDraft(
                number=f"INV-{index:06d}",
                customer_name=f"Pelanggan {index}",
                due_date=due,
                lines=[LineDraft("Barang", 1, 150_000, 150_000)],
                # Made-up numbers in the 0812-9xxx-xxxx range, never contacted.
                phone=f"+628129{index:07d}",
            )
            for index in range(count)
        ]
        issue_invoices(session, organisation, drafts)


async def _send_all(gateway_url: str, expected: int) -> dict[str, float]:
    from bot.channels.sms import JsonGatewayProvider, SmsChannel
    from jobs.channels import ChannelRegistry
    from jobs.sender import Sender
    from models import Notice, NoticeStatus
    from models.db import session_scope
    from tagih.settings import get_settings

    settings = get_settings().model_copy(
        update={
            "notice_rate_limits": {"sms": RATE_LIMIT},
            "notice_retry_base_seconds": 0.2,
            "notice_retry_max_seconds": 2.0,
            "notice_send_concurrency": 8,
        }
    )
    channel = SmsChannel(JsonGatewayProvider(gateway_url, "bench-token", "TAGIH"))
    sender = Sender(ChannelRegistry([channel]), settings=settings, worker_id="bench")
    started = time.monotonic()
    outcomes: dict[str, float] = {}
    while True:
        result = await sender.send_due(limit=expected)
        for name, value in result.items():
            outcomes[name] = outcomes.get(name, 0) + value
        with session_scope() as session:
            open_rows = session.exec(
                select(func.count(Notice.id)).where(
                    col(Notice.status).in_([NoticeStatus.PENDING, NoticeStatus.SENDING])
                )
            ).one()
        if open_rows == 0:
            break
        if result["handled"] == 0:
            await asyncio.sleep(0.05)  # wait for retries to become due
    outcomes["elapsed"] = time.monotonic() - started
    await channel.aclose()
    return outcomes


def _gateway_stats(url: str) -> dict:
    return httpx.get(url).json()


def bench_throughput(count: int) -> None:
    from models import Notice, NoticeStatus
    from models.db import session_scope
    from tests.notices.fake_sms_server import serve_in_child

    with tempfile.TemporaryDirectory() as folder:
        url = os.environ.get("BENCH_SENDER_DATABASE_URL") or f"sqlite:///{Path(folder) / 'b.db'}"
        _use_database(url)
        queued = time.monotonic()
        _issue_bills(count)
        print(f"issued {count} bills with their notices in {time.monotonic() - queued:.1f} s")
        options = {"rate_limit": RATE_LIMIT, "injected_429_rate": INJECTED_429_RATE}
        parent, child = multiprocessing.get_context("spawn").Pipe()
        process = multiprocessing.get_context("spawn").Process(
            target=serve_in_child, args=(child, options)
        )
        process.start()
        try:
            gateway_url = parent.recv()
            cpu_started = time.process_time()
            outcomes = asyncio.run(_send_all(gateway_url, count))
            cpu = time.process_time() - cpu_started
            stats = _gateway_stats(gateway_url)
        finally:
            parent.close()
            process.join(timeout=10)
        with session_scope() as session:
            sent = session.exec(
                select(func.count(Notice.id)).where(Notice.status == NoticeStatus.SENT)
            ).one()
    rate = (stats["accepted"] - 1) / stats["window"] if stats["window"] else float("nan")
    print(f"database: {make_url(url).get_backend_name()}")
    print(
        f"provider: limit {RATE_LIMIT:.0f} msg/s, {stats['injected']} injected 429s, "
        f"{stats['throttled']} 429s for exceeding the limit, {stats['requests']} requests"
    )
    print(
        f"achieved: {rate:.1f} msg/s ({rate / RATE_LIMIT:.1%} of the limit), "
        f"{stats['accepted']} accepted in {stats['window']:.1f} s, "
        f"total {outcomes['elapsed']:.1f} s"
    )
    print(
        f"sender CPU: {cpu / count * 1000:.1f} ms per notice; "
        f"load average afterwards: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    print(f"duplicates at the provider: {stats['duplicates']}")
    print(f"drops: {count - stats['accepted']} (notices marked sent: {sent})")
    print(f"sender outcomes: { {k: v for k, v in outcomes.items() if k != 'elapsed'} }")


FILL_SQL = """
INSERT INTO organisation (slug, kind, name, company_code, timezone, language, va_sequence,
                          preferences, created_at)
VALUES ('bench-school', 'school', 'Sekolah Bench', '9999', 'Asia/Jakarta', 'id', 0, '{}', now());

INSERT INTO customer (organisation_id, name, phone, reminders_paused, created_at)
SELECT 1, 'Wali ' || n, '+62813' || lpad(n::text, 8, '0'), n % 50 = 0, now()
FROM generate_series(1, :customers) AS n;

INSERT INTO invoice (organisation_id, number, number_key, customer_id, description, due_date,
                     status, total, source_rows, created_at)
SELECT 1, 'SPP-' || n, 'spp-' || n, 1 + (n % :customers), 'SPP',
       DATE '2031-01-01' + (n % 365),
       CASE WHEN n % 10 < 6 THEN 'paid' WHEN n % 10 < 9 THEN 'issued' ELSE 'overdue' END,
       350000, '[]', TIMESTAMPTZ '2030-12-01 00:00+00'
FROM generate_series(1, :invoices) AS n;

INSERT INTO reminder_sent (invoice_id, step, created_at)
SELECT id, -3, now() FROM invoice WHERE id % 3 = 0;
"""


def bench_reminder_selection(base_url: str, invoices: int) -> None:
    from billing.reminders import select_due_reminders
    from models import Organisation
    from models.db import dispose_engines, session_scope

    base = make_url(base_url)
    name = f"tagih_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
    try:
        _use_database(url)
        filled = time.monotonic()
        engine = create_engine(url)
        with engine.begin() as connection:
            for statement in FILL_SQL.split(";\n"):
                if statement.strip():
                    connection.execute(
                        text(statement),
                        {"customers": max(1, invoices // 3), "invoices": invoices},
                    )
            connection.execute(text("ANALYZE"))
        engine.dispose()
        print(f"filled {invoices} invoices in {time.monotonic() - filled:.1f} s")
        # 2031-06-15 09:00 Asia/Jakarta: reminder hour, steps -3..+7 around mid-June.
        now = dt.datetime(2031, 6, 15, 2, 0, tzinfo=dt.UTC)
        timings = []
        for _ in range(5):
            with session_scope() as session:
                organisation = session.exec(select(Organisation)).one()
                started = time.perf_counter()
                due = select_due_reminders(session, organisation, now=now)
                timings.append(time.perf_counter() - started)
        print(
            f"select due reminders among {invoices} invoices: median "
            f"{statistics.median(timings) * 1000:.0f} ms, max {max(timings) * 1000:.0f} ms "
            f"({len(due)} reminders due)"
        )
    finally:
        dispose_engines()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    count = int(os.environ.get("BENCH_NOTICES", "10000"))
    invoices = int(os.environ.get("BENCH_INVOICES", "1000000"))
    bench_throughput(count)
    postgres = os.environ.get("BENCH_POSTGRES_URL") or os.environ.get("TEST_DATABASE_URL")
    if not postgres:
        print("reminder selection: skipped (set BENCH_POSTGRES_URL to a PostgreSQL server)")
        return
    bench_reminder_selection(postgres, invoices)


if __name__ == "__main__":
    main()
