"""Months a fee run may bill: past due months need an explicit override, far ones never."""

from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner
from sqlmodel import select

from billing.errors import UserError
from billing.school.actors import OPERATOR
from billing.school.fees import add_recurring_fee, run_recurring_fees
from bot.core import CallbackData, Op
from bot.flows.school.common import Key, month_index
from models import Invoice
from models.db import session_scope
from tagih.cli.main import cli
from tests.school.conftest import SLUG, School, organisation_of, seed_school, write
from tests.school.test_chat import CHANNELS, FINANCE, _chat

# 15 January 2027, 10:00 in Jakarta.
NOW = dt.datetime(2027, 1, 15, 3, 0, tzinfo=dt.UTC)


@pytest.fixture(params=CHANNELS)
def channel(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def school_with_fee(database: str) -> School:
    school = seed_school()
    with write() as session:
        add_recurring_fee(
            session,
            organisation_of(session, school),
            OPERATOR,
            component="SPP",
            amount=350000,
            day_of_month=10,
        )
    return school


def _invoice_numbers() -> list[str]:
    with session_scope() as session:
        return sorted(invoice.number for invoice in session.exec(select(Invoice)).all())


def _run(school: School, period: str, *, allow_past: bool = False, now: dt.datetime = NOW) -> int:
    with write() as session:
        organisation = organisation_of(session, school)
        result = run_recurring_fees(session, organisation, period, allow_past=allow_past, now=now)
    return len(result.issued)


@pytest.mark.parametrize("period", ["1999-01", "2027-01"])
def test_past_due_month_rejected(school_with_fee: School, period: str) -> None:
    with pytest.raises(UserError) as raised:
        _run(school_with_fee, period)

    assert raised.value.code == "school.period_past"
    assert period in raised.value.render("en")
    assert f"{period}-10" in raised.value.render("en")
    assert _invoice_numbers() == []


def test_past_due_month_allowed_explicitly(school_with_fee: School) -> None:
    issued = _run(school_with_fee, "1999-01", allow_past=True)

    assert issued == 3
    assert _invoice_numbers()[0] == "SPP-1999-01-1001"


def test_due_today_billed(school_with_fee: School) -> None:
    due_day = dt.datetime(2027, 1, 10, 3, 0, tzinfo=dt.UTC)  # 10 January, 10:00 in Jakarta

    assert _run(school_with_fee, "2027-01", now=due_day) == 3


@pytest.mark.parametrize("allow_past", [False, True])
def test_far_month_rejected(school_with_fee: School, allow_past: bool) -> None:
    assert _run(school_with_fee, "2029-01", allow_past=allow_past) == 3

    with pytest.raises(UserError) as raised:
        _run(school_with_fee, "2029-02", allow_past=allow_past)

    assert raised.value.code == "school.period_too_far"
    assert "2029-02" in raised.value.render("en")
    assert "2029-01" in raised.value.render("en")


def test_cli_past_month_needs_flag(school_with_fee: School) -> None:
    command = ["--lang", "en", "school", "fees", "run", "--period", "1999-01", "--org", SLUG]

    rejected = CliRunner().invoke(cli, command)
    allowed = CliRunner().invoke(cli, [*command, "--allow-past"])

    assert rejected.exit_code == 1
    assert "1999-01" in rejected.stderr
    assert "has already passed" in rejected.stderr
    assert "--allow-past" in rejected.stderr
    assert allowed.exit_code == 0, allowed.output
    assert "Invoices issued: 3." in allowed.output


async def test_chat_past_month_not_billed(school_with_fee: School, channel: str) -> None:
    chat = await _chat(channel, FINANCE)
    past = month_index(1999, 1)

    await chat._send(callback=CallbackData(Op.EXTENSION, Key.FEES_MONTH.value, past))
    assert "sudah lewat" in chat.text()
    assert not [title for title in chat.buttons() if title.startswith("Tagih ")]

    await chat._send(callback=CallbackData(Op.EXTENSION, Key.FEES_RUN.value, past))
    assert "Jatuh tempo 1999-01, 1999-01-10, sudah lewat" in chat.text()
    assert _invoice_numbers() == []


def test_cli_preview_warns_past_month(school_with_fee: School) -> None:
    command = ["--lang", "en", "school", "fees", "preview", "--period", "1999-01", "--org", SLUG]

    result = CliRunner().invoke(cli, command)

    assert result.exit_code == 0, result.output
    assert "New invoices: 3" in result.output
    assert "has already passed" in result.stderr
