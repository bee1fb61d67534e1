"""Fixtures for the bank side: an organisation with open bills, the app, and the simulator."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlmodel import select

from billing.invoices import InvoiceDraft, LineDraft, issue_invoices
from billing.orgs import create_organisation
from models import Organisation, StaffRole, StaffUser
from models.db import session_scope
from models.types import utcnow
from tagih.banksim.client import BankSimulator
from tagih.settings import get_settings, reset_settings_cache
from tests.fakes.servers import ServerThread
from tests.fakes.servers import free_port as free_port  # bank tests import it from here
from webhooks.app import create_app

COMPANY_CODE = "88080"


@dataclass
class OpenBill:
    invoice_id: int
    number: str
    va_number: str
    amount: int


@pytest.fixture(scope="session")
def dev_key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("snap") / "dev-bank-key.pem"


@pytest.fixture(autouse=True)
def _snap_dev_key(monkeypatch: pytest.MonkeyPatch, dev_key_file: Path) -> Iterator[None]:
    monkeypatch.setenv("SNAP_DEV_KEY_FILE", str(dev_key_file))
    reset_settings_cache()
    yield
    reset_settings_cache()


def make_bills(count: int, *, amount: int = 350_000, slug: str = "toko-maju") -> list[OpenBill]:
    """Create a merchant (once) with `count` new open bills, committed."""
    with session_scope(write=True) as session:
        organisation = session.exec(select(Organisation).where(Organisation.slug == slug)).first()
        if organisation is None:
            organisation = create_organisation(
                session,
                slug=slug,
                kind="invoice",
                name="Toko Maju Jaya",
                company_code=COMPANY_CODE,
                admin_phone="081234567890",
                admin_name="Sari",
            )
            session.add(
                StaffUser(
                    organisation_id=organisation.id,
                    name="Budi Finance",
                    phone="+6281298765432",
                    role=StaffRole.FINANCE,
                )
            )
        start = organisation.va_sequence
        drafts = [
            InvoiceDraft(
                number=f"INV-{start + index + 1:05d}",
                customer_name=f"Pelanggan {start + index + 1}",
                due_date=utcnow().date() + dt.timedelta(days=14),
                lines=[LineDraft("Kopi bubuk 1 kg", 1, amount, amount)],
                phone=f"+62812000{start + index + 1:05d}",
            )
            for index in range(count)
        ]
        issued = issue_invoices(session, organisation, drafts)
        return [
            OpenBill(item.invoice.id, item.invoice.number, item.virtual_account.number, amount)
            for item in issued
        ]


@pytest.fixture
def app(database: str) -> FastAPI:
    return create_app(get_settings())


@pytest.fixture
def server(app: FastAPI) -> Iterator[ServerThread]:
    with ServerThread(app) as running:
        yield running


@pytest.fixture
def bank(server: ServerThread) -> Iterator[BankSimulator]:
    with BankSimulator.from_settings(get_settings(), base_url=server.url) as simulator:
        yield simulator
