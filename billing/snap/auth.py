"""B2B access tokens and X-EXTERNAL-ID bookkeeping, both kept in the database.

The database is the source of truth, so any number of web processes can share the work.
A process keeps token lookups and bank connections for a few seconds (CredentialCache),
and X-EXTERNAL-ID claims always go to the database.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from billing.snap.connections import Connection, find_connection
from billing.snap.signature import JAKARTA
from models import SnapAccessToken, SnapExternalId

MAX_EXTERNAL_ID_LENGTH = 64
MAX_TOKEN_LENGTH = 512
# Cache entries beyond this many are dropped, so random tokens cannot grow the cache.
MAX_CACHED_ENTRIES = 1024


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, *, client_id: str, now: dt.datetime, ttl_seconds: int) -> str:
    """Store a new bearer token (as its hash) and return the token itself."""
    session.exec(delete(SnapAccessToken).where(SnapAccessToken.expires_at < now))
    token = secrets.token_urlsafe(32)
    session.add(
        SnapAccessToken(
            token_hash=hash_token(token),
            client_id=client_id,
            expires_at=now + dt.timedelta(seconds=ttl_seconds),
            created_at=now,
        )
    )
    return token


def token_grant(session: Session, token_hash: str) -> tuple[str, dt.datetime] | None:
    """Return the client id and expiry of a token hash, or None when no token has it."""
    query = select(SnapAccessToken.client_id, SnapAccessToken.expires_at).where(
        SnapAccessToken.token_hash == token_hash
    )
    row = session.exec(query).first()
    return None if row is None else (row[0], row[1])


def token_client_id(session: Session, token: str, *, now: dt.datetime) -> str | None:
    """Return the client id a bearer token was issued to, or None when unknown or expired."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    grant = token_grant(session, hash_token(token))
    if grant is None or grant[1] <= now:
        return None
    return grant[0]


@dataclass
class CredentialCache:
    """Token lookups and bank connections of one web process, each kept for ttl_seconds.

    A token row never changes after it is issued (it is deleted only once expired), and a
    cached token is still checked against its own expiry, so caching it changes no response.
    A connection that is disabled or edited in the table takes effect here after at most
    ttl_seconds. Unknown tokens are not cached: a token issued by another process works at
    once. Token requests do not use this cache.
    """

    ttl_seconds: float = 5.0
    clock: Callable[[], float] = time.monotonic
    _tokens: dict[str, tuple[tuple[str, dt.datetime], float]] = field(default_factory=dict)
    _connections: dict[str, tuple[Connection | None, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def token_client_id(self, session: Session, token: str, *, now: dt.datetime) -> str | None:
        """Return the client id of a valid bearer token, like the module's token_client_id."""
        if not token or len(token) > MAX_TOKEN_LENGTH:
            return None
        key = hash_token(token)
        moment = self.clock()
        cached = self._tokens.get(key)
        if cached is not None and cached[1] > moment:
            grant = cached[0]
        else:
            found = token_grant(session, key)
            if found is None:
                return None
            grant = found
            self._store(self._tokens, key, (grant, moment + self.ttl_seconds))
        client_id, expires_at = grant
        return client_id if expires_at > now else None

    def connection(
        self, session: Session, client_id: str, default: Connection
    ) -> Connection | None:
        """Return the active connection of a client id, like find_connection."""
        moment = self.clock()
        cached = self._connections.get(client_id)
        if cached is not None and cached[1] > moment:
            return cached[0]
        connection = find_connection(session, client_id, default)
        self._store(self._connections, client_id, (connection, moment + self.ttl_seconds))
        return connection

    def clear(self) -> None:
        with self._lock:
            self._tokens.clear()
            self._connections.clear()

    def _store(self, entries: dict, key: str, value: tuple) -> None:  # type: ignore[type-arg]
        with self._lock:
            if len(entries) >= MAX_CACHED_ENTRIES:
                entries.clear()
            entries[key] = value


def jakarta_day(moment: dt.datetime) -> dt.date:
    return moment.astimezone(JAKARTA).date()


def claim_external_id(
    session: Session, *, partner_id: str, external_id: str, now: dt.datetime
) -> bool:
    """Record an X-EXTERNAL-ID for today (Asia/Jakarta); False when it was already used.

    The claim belongs to the caller's transaction: when that rolls back (a 5xx response), the
    id is free again so the bank can retry with it. A concurrent claim of the same id waits
    for the first transaction to end (on PostgreSQL the unique index blocks it).
    """
    values = {
        "partner_id": partner_id,
        "day": jakarta_day(now),
        "external_id": external_id,
        "created_at": now,
    }
    statement = _claim_statement(session.get_bind().dialect.name)
    return session.execute(statement, values).first() is not None


@functools.cache
def _claim_statement(dialect: str) -> Any:
    """Build the claim's INSERT … ON CONFLICT DO NOTHING once per dialect; values are bound."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = SnapExternalId.__table__  # type: ignore[attr-defined]
    return (
        insert(table)
        .on_conflict_do_nothing(index_elements=["partner_id", "day", "external_id"])
        .returning(table.c.id)
    )
