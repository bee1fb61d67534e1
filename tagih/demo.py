"""The bill-to-paid story on a throwaway SQLite database, for `tagih demo`.

Every step uses the real parts: the sheet importer, the notice sender with the console
channel, the FastAPI app under uvicorn, and the bank simulator speaking SNAP over HTTP.
"""

from __future__ import annotations

import asyncio
import os
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TextIO

import uvicorn
from sqlalchemy import func
from sqlmodel import select

from billing.imports import check_sheet, import_sheet
from billing.orgs import create_organisation
from bot.channels.console import ConsoleChannel
from jobs.channels import ChannelRegistry
from jobs.sender import send_due_notices
from locales import format_rupiah
from models import (
    ChatIdentity,
    Invoice,
    InvoiceLine,
    NoticeKind,
    StaffRole,
    StaffUser,
    VirtualAccount,
)
from models.db import dispose_engines, session_scope, upgrade_to_head
from tagih.banksim.client import BankSimulator
from tagih.settings import PROJECT_ROOT, get_settings, reset_settings_cache

DEMO_SHEET = PROJECT_ROOT / "samples" / "demo-invoices.xlsx"
ORG_SLUG = "toko-sinar-jaya"
COMPANY_CODE = "88091"
ADMIN_PHONE = "+6281100000001"
FINANCE_PHONE = "+6281100000002"


@dataclass
class DemoSummary:
    invoices_issued: int = 0
    invoices_paid: int = 0
    payments_accepted: int = 0
    payments_rejected: int = 0
    receipts_sent: int = 0
    notices_sent: int = 0
    paid_invoice: str = ""
    paid_va: str = ""
    rejection_code: str = ""
    folder: str = ""


class DemoFailed(RuntimeError):
    """A step of the demo did not give the result the story needs."""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def _demo_database(folder: Path) -> Iterator[None]:
    """Point DATABASE_URL (and the dev bank key) at the demo folder for the duration."""
    saved = {name: os.environ.get(name) for name in ("DATABASE_URL", "SNAP_DEV_KEY_FILE")}
    os.environ["DATABASE_URL"] = f"sqlite:///{folder / 'tagih-demo.sqlite3'}"
    os.environ["SNAP_DEV_KEY_FILE"] = str(folder / "snap-dev-bank-key.pem")
    dispose_engines()
    reset_settings_cache()
    try:
        upgrade_to_head()
        yield
    finally:
        dispose_engines()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        reset_settings_cache()


@contextmanager
def _web_server(port: int) -> Iterator[str]:
    """Run the web app under uvicorn in a thread on 127.0.0.1 and yield its base URL."""
    from webhooks.app import create_app

    config = uvicorn.Config(
        create_app(get_settings()), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="demo-web", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise DemoFailed("the web app did not start within 15 seconds")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


class Demo:
    def __init__(self, out: TextIO, folder: Path):
        self.out = out
        self.folder = folder
        self.summary = DemoSummary(folder=str(folder))
        self.console = ConsoleChannel(stream=out, download_dir=folder / "console")
        self.registry = ChannelRegistry([self.console])

    def say(self, text: str = "") -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def step(self, number: int, title: str) -> None:
        self.say()
        self.say(f"== {number}. {title} ==")

    def run(self) -> DemoSummary:
        self.step(1, "A merchant joins")
        self.create_merchant()
        self.step(2, f"Finance uploads {DEMO_SHEET.name}")
        self.import_invoices()
        self.step(3, "What each customer receives (console channel)")
        self.deliver_notices()
        port = _free_port()
        self.step(4, f"The web app listens on 127.0.0.1:{port}")
        with _web_server(port) as base_url:
            bank = BankSimulator.from_settings(get_settings(), base_url=base_url)
            with bank:
                self.step(5, "The bank pays one VA over SNAP")
                invoice_number, va_number, amount = self.pick_invoice()
                self.pay(bank, invoice_number, va_number, amount)
                self.step(6, "The receipt and the staff notice go out")
                self.deliver_notices()
                self.step(7, "A second payment into the same VA")
                self.pay_again(bank, va_number, amount)
        self.step(8, "Summary")
        self.report()
        return self.summary

    def create_merchant(self) -> None:
        with session_scope(write=True) as session:
            organisation = create_organisation(
                session,
                slug=ORG_SLUG,
                kind="invoice",
                name="Toko Sinar Jaya",
                company_code=COMPANY_CODE,
                admin_phone=ADMIN_PHONE,
                admin_name="Rina (pemilik)",
            )
            session.add(
                StaffUser(
                    organisation_id=organisation.id,
                    name="Agus (keuangan)",
                    phone=FINANCE_PHONE,
                    role=StaffRole.FINANCE,
                )
            )
            self.link_console(session, ADMIN_PHONE)
            self.link_console(session, FINANCE_PHONE)
        self.say(f"Organisation {ORG_SLUG}, company code {COMPANY_CODE}, super admin and finance")

    def link_console(self, session, phone: str) -> None:  # type: ignore[no-untyped-def]
        """Record that this phone has chatted on the console, so notices reach it there."""
        known = session.exec(
            select(ChatIdentity).where(
                ChatIdentity.channel == "console", ChatIdentity.external_id == phone
            )
        ).first()
        if known is None:
            session.add(ChatIdentity(channel="console", external_id=phone, phone=phone))

    def import_invoices(self) -> None:
        content = DEMO_SHEET.read_bytes()
        with session_scope(write=True) as session:
            organisation = _organisation(session)
            preview = check_sheet(session, organisation, DEMO_SHEET.name, content)
            if not preview.ok:
                raise DemoFailed(f"the demo sheet has errors: {preview.to_json('en')['errors']}")
            for sheet_invoice in preview.invoices:
                if sheet_invoice.draft.phone:
                    self.link_console(session, sheet_invoice.draft.phone)
        with session_scope(write=True) as session:
            organisation = _organisation(session)
            result = import_sheet(session, organisation, DEMO_SHEET.name, content)
        if not result.ok:
            raise DemoFailed("the demo sheet did not import")
        self.summary.invoices_issued = len(result.invoices)
        for sheet_invoice in result.invoices:
            draft = sheet_invoice.draft
            self.say(
                f"{draft.number:<14} {draft.customer_name:<22} {format_rupiah(draft.total):>14}"
                f"  {len(draft.lines)} line(s)  VA {sheet_invoice.va_number}"
            )

    def deliver_notices(self) -> None:
        counts = asyncio.run(send_due_notices(registry=self.registry))
        self.summary.notices_sent += int(counts.get("sent", 0))
        self.say(f"(notice sender: {_counts_text(counts)})")

    def pick_invoice(self) -> tuple[str, str, int]:
        """Pick the invoice with the most lines, so the receipt shows a real table."""
        with session_scope() as session:
            rows = session.exec(
                select(Invoice.number, VirtualAccount.number, VirtualAccount.amount)
                .join(VirtualAccount, VirtualAccount.invoice_id == Invoice.id)
                .join(InvoiceLine, InvoiceLine.invoice_id == Invoice.id)
                .group_by(Invoice.id, Invoice.number, VirtualAccount.number, VirtualAccount.amount)
                .order_by(func.count(InvoiceLine.id).desc(), Invoice.id)
            ).all()
        invoice_number, va_number, amount = rows[0]
        return invoice_number, va_number, amount

    def pay(self, bank: BankSimulator, invoice_number: str, va_number: str, amount: int) -> None:
        inquiry = bank.inquiry(va_number, COMPANY_CODE)
        data = inquiry.body.get("virtualAccountData", {})
        self.say(
            f"inquiry {va_number}: {inquiry.response_code} {data.get('virtualAccountName', '')}"
            f" {data.get('totalAmount', {}).get('value', '')}"
        )
        payment = bank.pay(va_number, COMPANY_CODE, amount, request_id=None)
        self.say(f"payment of {format_rupiah(amount)}: {payment.response_code}")
        if not payment.accepted:
            raise DemoFailed(f"the payment was not accepted: {payment.response_code}")
        self.summary.payments_accepted += 1
        self.summary.paid_invoice = invoice_number
        self.summary.paid_va = va_number
        with session_scope() as session:
            invoice = session.exec(select(Invoice).where(Invoice.number == invoice_number)).one()
        self.say(f"invoice {invoice_number} is now {invoice.status}")

    def pay_again(self, bank: BankSimulator, va_number: str, amount: int) -> None:
        payment = bank.pay(va_number, COMPANY_CODE, amount)
        reason = payment.body.get("virtualAccountData", {}).get("paymentFlagReason", {})
        self.say(f"second payment: {payment.response_code} {reason.get('english', '')}")
        if payment.accepted:
            raise DemoFailed("a second payment into a paid VA was accepted")
        self.summary.payments_rejected += 1
        self.summary.rejection_code = payment.response_code

    def report(self) -> None:
        from models import Notice, NoticeStatus

        with session_scope() as session:
            self.summary.invoices_paid = len(
                session.exec(select(Invoice).where(Invoice.status == "paid")).all()
            )
            self.summary.receipts_sent = len(
                session.exec(
                    select(Notice).where(
                        Notice.kind == NoticeKind.RECEIPT, Notice.status == NoticeStatus.SENT
                    )
                ).all()
            )
        summary = self.summary
        self.say(f"invoices issued:    {summary.invoices_issued}")
        self.say(f"invoices paid:      {summary.invoices_paid} ({summary.paid_invoice})")
        self.say(f"payments rejected:  {summary.payments_rejected} ({summary.rejection_code})")
        self.say(f"receipts sent:      {summary.receipts_sent}")
        self.say(f"files and database: {summary.folder}")


def _organisation(session):  # type: ignore[no-untyped-def]
    from billing.orgs import get_organisation

    return get_organisation(session, ORG_SLUG)


def _counts_text(counts: dict) -> str:
    nonzero = {key: value for key, value in counts.items() if value}
    return ", ".join(f"{key} {value}" for key, value in nonzero.items()) or "nothing due"


def run_demo(out: TextIO, folder: Path | None = None) -> DemoSummary:
    """Run the whole story in `folder` (a new temporary folder by default)."""
    folder = folder or Path(tempfile.mkdtemp(prefix="tagih-demo-"))
    with _demo_database(folder):
        return Demo(out, folder).run()


def summary_json(summary: DemoSummary) -> dict:
    return asdict(summary)
