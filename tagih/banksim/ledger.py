"""The simulated bank's debits, kept in a small SQLite file of its own.

The simulator's status server reads it, as a real bank keeps its own record of payments
whether or not its notice reached Tagih.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tagih.settings import PROJECT_ROOT

DEFAULT_LEDGER = PROJECT_ROOT / "var" / "banksim-ledger.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS debit (
    id INTEGER PRIMARY KEY,
    virtual_account_no TEXT NOT NULL,
    company_code TEXT NOT NULL,
    payment_request_id TEXT NOT NULL UNIQUE,
    amount INTEGER NOT NULL,
    payload TEXT NOT NULL,
    response_code TEXT NOT NULL DEFAULT ''
)
"""


@dataclass
class Debit:
    virtual_account_no: str
    payment_request_id: str
    amount: int
    payload: dict[str, Any]
    response_code: str


class Ledger:
    def __init__(self, path: Path = DEFAULT_LEDGER):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        with self._connect() as connection:
            connection.execute(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, timeout=30)
        connection.execute("PRAGMA journal_mode=WAL")
        return connection

    def record(self, company_code: str, payload: dict[str, Any]) -> None:
        """Record a debit before its notice is sent, as a bank books the money first."""
        with self._connect() as connection:
            connection.execute(
                "INSERT OR IGNORE INTO debit (virtual_account_no, company_code, "
                "payment_request_id, amount, payload) VALUES (?, ?, ?, ?, ?)",
                (
                    payload["virtualAccountNo"].replace(" ", ""),
                    company_code,
                    payload["paymentRequestId"],
                    int(payload["paidAmount"]["value"].split(".")[0]),
                    json.dumps(payload),
                ),
            )

    def set_answer(self, payment_request_id: str, response_code: str) -> None:
        with self._connect() as connection:
            connection.execute(
                "UPDATE debit SET response_code = ? WHERE payment_request_id = ?",
                (response_code, payment_request_id),
            )

    def paid_debit(self, virtual_account_no: str) -> Debit | None:
        """Return the valid debit into a VA: accepted by Tagih, or without a response.

        A debit that Tagih rejected (a 4xx response) counts as reversed, as at a real bank.
        """
        with self._connect() as connection:
            row = connection.execute(
                "SELECT virtual_account_no, payment_request_id, amount, payload, response_code "
                "FROM debit WHERE virtual_account_no = ? AND response_code NOT LIKE '4%' "
                "ORDER BY response_code = '2002500' DESC, id DESC LIMIT 1",
                (virtual_account_no.replace(" ", ""),),
            ).fetchone()
        if row is None:
            return None
        return Debit(row[0], row[1], row[2], json.loads(row[3]), row[4])
