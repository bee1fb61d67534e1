"""B2B access tokens and X-EXTERNAL-ID bookkeeping, both kept in the database.

Nothing lives in process memory, so any number of web processes can share the work.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from billing.snap.signature import JAKARTA
from models import SnapAccessToken, SnapExternalId

MAX_EXTERNAL_ID_LENGTH = 64


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


def token_client_id(session: Session, token: str, *, now: dt.datetime) -> str | None:
    """Return the client id a bearer token was issued to, or None when unknown or expired."""
    if not token or len(token) > 512:
        return None
    row = session.exec(
        select(SnapAccessToken).where(SnapAccessToken.token_hash == hash_token(token))
    ).first()
    if row is None or row.expires_at <= now:
        return None
    return row.client_id


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
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(SnapExternalId)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["partner_id", "day", "external_id"])
        .returning(SnapExternalId.id)
    )
    return session.execute(statement).first() is not None
