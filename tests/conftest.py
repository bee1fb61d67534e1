"""Shared fixtures: an offline guard, and a fresh migrated database per test.

Every test that takes `database` runs on SQLite, and again on PostgreSQL when
TEST_DATABASE_URL points to a server.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from models.db import dispose_engines, upgrade_to_head
from tagih.settings import reset_settings_cache

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
SAMPLES = Path(__file__).resolve().parent.parent.parent / "shared" / "samples" / "sheets"

# Settings a developer's .env or shell might set; tests start from defaults.
for name in list(os.environ):
    if name.startswith(("TELEGRAM_", "WHATSAPP_", "SMTP_", "SMS_", "SNAP_")) or name in (
        "DATABASE_URL",
        "TAGIH_ENV",
    ):
        del os.environ[name]


class OfflineError(RuntimeError):
    pass


def _is_local(address: object) -> bool:
    if isinstance(address, str | bytes):  # AF_UNIX paths
        return True
    host = address[0] if isinstance(address, tuple) else address
    if host in ("localhost", "", None):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _guarded_connect(self: socket.socket, address: object):  # type: ignore[no-untyped-def]
    if not _is_local(address):
        raise OfflineError(f"test tried to reach {address!r}; tests talk only to 127.0.0.1")
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: object):  # type: ignore[no-untyped-def]
    if not _is_local(address):
        raise OfflineError(f"test tried to reach {address!r}; tests talk only to 127.0.0.1")
    return _real_connect_ex(self, address)


socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]


def _use_database(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    dispose_engines()
    monkeypatch.setenv("DATABASE_URL", url)
    reset_settings_cache()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (migrating once is much faster)."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    upgrade_to_head(f"sqlite:///{path}")
    dispose_engines()
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, migrated once."""
    if not TEST_DATABASE_URL:
        pytest.skip("TEST_DATABASE_URL is not set")
    base = make_url(TEST_DATABASE_URL)
    if base.drivername in ("postgresql", "postgres"):
        base = base.set(drivername="postgresql+psycopg")
    name = f"tagih_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
    upgrade_to_head(url)
    yield url
    dispose_engines()
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        tables = connection.execute(
            text(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename <> 'alembic_version'"
            )
        ).scalars()
        names = ", ".join(f'"{table}"' for table in tables)
        if names:
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def database(
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    sqlite_template: Path,
) -> Iterator[str]:
    """Point DATABASE_URL at an empty, migrated database and return its URL."""
    if request.param == "sqlite":
        path = tmp_path / "tagih.sqlite3"
        shutil.copyfile(sqlite_template, path)
        url = f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("postgres_url")
        _truncate_postgres(url)
    _use_database(monkeypatch, url)
    yield url
    dispose_engines()
    reset_settings_cache()


@pytest.fixture
def sqlite_database(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sqlite_template: Path
) -> Iterator[str]:
    """Like `database`, on SQLite only, for tests whose subject is not the database."""
    path = tmp_path / "tagih.sqlite3"
    shutil.copyfile(sqlite_template, path)
    url = f"sqlite:///{path}"
    _use_database(monkeypatch, url)
    yield url
    dispose_engines()
    reset_settings_cache()


@pytest.fixture
def samples_dir() -> Path:
    if not SAMPLES.is_dir():
        pytest.skip(f"sample sheets not found at {SAMPLES}")
    return SAMPLES
