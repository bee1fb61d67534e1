"""The engine, sessions and schema version for the configured database."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url
from sqlmodel import Session, create_engine

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

_engines: dict[tuple[str, bool], Engine] = {}
_lock = threading.Lock()


def _sqlite_engine(url: str, *, immediate: bool, busy_timeout: float) -> Engine:
    """Build a SQLite engine in WAL mode whose transactions start as the caller needs.

    pysqlite's own transaction handling is switched off so that a write transaction can
    start with BEGIN IMMEDIATE: it takes the write lock up front and waits (busy_timeout)
    instead of failing later when a reader tries to upgrade.
    """
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": busy_timeout})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):  # type: ignore[no-untyped-def]
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def get_engine(url: str | None = None, *, immediate: bool = False) -> Engine:
    """Return the shared engine for a URL (default: DATABASE_URL).

    immediate=True matters on SQLite only: its transactions take the write lock at BEGIN.
    """
    from tagih.settings import get_settings

    if url is None:
        url = get_settings().database_url
    is_sqlite = url.startswith("sqlite")
    key = (url, immediate and is_sqlite)
    with _lock:
        engine = _engines.get(key)
        if engine is None:
            if is_sqlite:
                # Read when the engine is made, so a caller that names the URL does not
                # read (and cache) the settings on every session.
                timeout = get_settings().sqlite_busy_timeout_seconds
                engine = _sqlite_engine(url, immediate=immediate, busy_timeout=timeout)
            else:
                # No pre-ping: it costs a round trip on every checkout. After the server
                # restarts, the first statement on a dead connection fails, SQLAlchemy then
                # discards every pooled connection, and that one request is retried by its
                # sender (a 5xx to the bank, the next tick of a job). Connections are
                # renewed after 30 minutes, before idle-connection timeouts close them.
                engine = create_engine(url, pool_size=10, max_overflow=20, pool_recycle=1800)
            _engines[key] = engine
    return engine


def dispose_engines() -> None:
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


@contextmanager
def session_scope(*, write: bool = False, url: str | None = None) -> Iterator[Session]:
    """Open a session that commits on success and rolls back on any exception.

    write=True starts the transaction with the database write lock held on SQLite; on
    PostgreSQL rows are locked by the queries themselves (SELECT ... FOR UPDATE).
    """
    engine = get_engine(url, immediate=write)
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def alembic_config(url: str | None = None) -> Config:
    if url is None:
        from tagih.settings import get_settings

        url = get_settings().database_url
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def current_revision(url: str | None = None) -> str | None:
    with get_engine(url).connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade_to_head(url: str | None = None) -> None:
    """Bring the database to the latest migration (a no-op when it is already there)."""
    if current_revision(url) == head_revision():
        return
    log.info("Upgrading the database schema to %s", head_revision())
    command.upgrade(alembic_config(url), "head")


def schema_is_current(url: str | None = None) -> bool:
    return current_revision(url) == head_revision()
