"""`tagih jobs` and `tagih worker`: scheduled jobs, by hand or on the scheduler."""

from __future__ import annotations

import asyncio
import datetime as dt

import click

from jobs.scheduler import JOBS
from tagih.cli.common import print_json


def parse_moment(value: str | None) -> dt.datetime | None:
    """Read an ISO 8601 time, taking a time without a zone as Asia/Jakarta wall time."""
    if value is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError as error:
        raise click.BadParameter(
            f"{value!r} is not a valid time. Write it as 2031-01-15T09:00 or "
            "2031-01-15T09:00+07:00."
        ) from error
    if moment.tzinfo is None:
        from zoneinfo import ZoneInfo

        moment = moment.replace(tzinfo=ZoneInfo("Asia/Jakarta"))
    return moment.astimezone(dt.UTC)


@click.group("jobs")
def jobs_group() -> None:
    """Scheduled jobs: reminders, digests, overdue marking, VA expiry, outbox sending.

    `--at` runs a job as of that time for real: a future time marks invoices
    overdue and closes VAs that would have expired by then.
    """


@jobs_group.command("run")
@click.argument(
    "name",
    type=click.Choice(list(JOBS)),
)
@click.option(
    "--at",
    "at",
    default=None,
    help="Run as if the time were this (ISO 8601; no zone means Asia/Jakarta). Default: now.",
)
def run(name: str, at: str | None) -> None:
    """Run one job once and print its result as JSON."""
    from jobs.scheduler import manual_run_key, run_job
    from models.types import utcnow

    moment = parse_moment(at) or utcnow()
    result = asyncio.run(run_job(name, now=moment, key=manual_run_key(name, moment)))
    print_json({"job": name, "at": moment.isoformat(), "result": result})


@click.command("worker")
def worker() -> None:
    """Run the worker: send notices and run the scheduled jobs until stopped."""
    from jobs.scheduler import run_worker

    asyncio.run(run_worker())


COMMANDS = [jobs_group, worker]
