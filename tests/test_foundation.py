"""The foundation: migrations, settings, translations and money formatting."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from babel.messages.extract import extract_from_dir
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlmodel import SQLModel

import models  # noqa: F401
from jobs.payment_status import BankAuthError, tagih_private_key
from locales import EXTRACT_KEYWORDS, LANGUAGES, format_rupiah, load_catalog, tr
from models.db import get_engine
from tagih.settings import Settings, SettingsError, get_settings

ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def test_migration_matches_models(sqlite_database: str) -> None:
    with get_engine(sqlite_database).connect() as connection:
        context = MigrationContext.configure(connection)
        differences = compare_metadata(context, SQLModel.metadata)
    assert differences == [], "models changed without a migration: run `make migration`"


def _extracted_messages() -> dict[str, str]:
    found: dict[str, str] = {}
    for folder in ("billing", "bot", "webhooks", "jobs", "tagih", "models"):
        for filename, lineno, message, _comments, _context in extract_from_dir(
            ROOT / folder, keywords=EXTRACT_KEYWORDS, comment_tags=()
        ):
            for text in message if isinstance(message, tuple) else (message,):
                if text:
                    found[text] = f"{folder}/{filename}:{lineno}"
    return found


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_translated(language: str) -> None:
    catalog = load_catalog(language)
    assert catalog is not None
    missing = []
    for text, where in _extracted_messages().items():
        entry = catalog.get(text)
        if entry is None or not entry.string or entry.fuzzy:
            missing.append(f"{where}: {text!r}")
    assert missing == [], f"messages without a {language} translation:\n" + "\n".join(missing)


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_keep_placeholders(language: str) -> None:
    catalog = load_catalog(language)
    wrong = []
    for entry in catalog:
        if not entry.id or not entry.string:
            continue
        ids = entry.id if isinstance(entry.id, tuple) else (entry.id,)
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        expected = set(PLACEHOLDER.findall(ids[-1])) - {"count"}
        for string in strings:
            if set(PLACEHOLDER.findall(string)) - {"count"} != expected:
                wrong.append(f"{ids[0]!r} -> {string!r}")
    assert wrong == []


def test_translation_indonesian() -> None:
    text = tr("id", "The kind {kind} is invalid: use invoice or school.", kind="shop")
    assert text == "Jenis shop tidak valid: gunakan invoice atau school."


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        (0, "Rp0"),
        (500, "Rp500"),
        (75000, "Rp75.000"),
        (1500000, "Rp1.500.000"),
        (1234567890, "Rp1.234.567.890"),
        (-25000, "-Rp25.000"),
    ],
)
def test_format_rupiah(amount: int, expected: str) -> None:
    assert format_rupiah(amount) == expected


def test_production_requires_secrets() -> None:
    settings = Settings(tagih_env="production", _env_file=None)
    with pytest.raises(SettingsError) as raised:
        settings.check_production_secrets()
    assert "SNAP_CLIENT_SECRET" in str(raised.value)
    assert "SNAP_BANK_PUBLIC_KEY" in str(raised.value)
    assert "DATABASE_URL" in str(raised.value)


def test_development_starts_without_secrets() -> None:
    Settings(tagih_env="development", _env_file=None).check_production_secrets()


def _key_files(folder: Path) -> tuple[Path, Path]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = folder / "bank-private.pem"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public = folder / "bank-public.pem"
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private, public


def _production(**values: str) -> Settings:
    return Settings(
        tagih_env="production",
        database_url="postgresql://tagih@127.0.0.1/tagih",
        _env_file=None,
        **values,
    )


def test_production_rejects_short_secret(tmp_path: Path) -> None:
    _, public = _key_files(tmp_path)
    settings = _production(snap_client_secret="x", snap_bank_public_key=str(public))
    with pytest.raises(SettingsError, match="SNAP_CLIENT_SECRET is 1 characters long"):
        settings.check_production_secrets()
    spaces = _production(snap_client_secret=" " * 20, snap_bank_public_key=str(public))
    with pytest.raises(SettingsError, match="is 0 characters long without spaces"):
        spaces.check_production_secrets()
    _production(
        snap_client_secret="s" * 32, snap_bank_public_key=str(public)
    ).check_production_secrets()


def test_bank_key_must_be_public_rsa(tmp_path: Path) -> None:
    private, public = _key_files(tmp_path)
    Settings(snap_bank_public_key=str(public), _env_file=None).check_bank_public_key()
    Settings(snap_bank_public_key=public.read_text(), _env_file=None).check_bank_public_key()
    cases = {
        str(private): "contains a private key",
        str(tmp_path / "missing.pem"): "SNAP_BANK_PUBLIC_KEY: The PEM file",
        "-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----": (
            "not a valid unencrypted PEM public key"
        ),
    }
    for value, message in cases.items():
        with pytest.raises(SettingsError, match=message):
            Settings(snap_bank_public_key=value, _env_file=None).check_bank_public_key()


def test_tagih_key_needed_for_status_checks(tmp_path: Path) -> None:
    private, public = _key_files(tmp_path)
    settings = _production(
        snap_client_secret="s" * 32,
        snap_bank_public_key=str(public),
        snap_bank_base_url="http://127.0.0.1:9/bank",
    )
    with pytest.raises(SettingsError, match="SNAP_TAGIH_PRIVATE_KEY"):
        settings.check_production_secrets()
    with_key = settings.model_copy(update={"snap_tagih_private_key": str(private)})
    with_key.check_production_secrets()
    with_key.check_tagih_private_key()
    assert tagih_private_key(with_key) == private.read_text()
    with pytest.raises(SettingsError, match="not a valid unencrypted PEM private key"):
        Settings(snap_tagih_private_key=str(public), _env_file=None).check_tagih_private_key()
    with pytest.raises(BankAuthError, match="SNAP_TAGIH_PRIVATE_KEY is not set"):
        tagih_private_key(settings)


def test_environment_name_folded_or_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAGIH_ENV", " Production ")
    assert Settings(_env_file=None).is_production
    monkeypatch.setenv("TAGIH_ENV", "prod")
    get_settings.cache_clear()
    try:
        with pytest.raises(SettingsError, match="TAGIH_ENV is 'prod'"):
            get_settings()
    finally:
        monkeypatch.delenv("TAGIH_ENV")
        get_settings.cache_clear()


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("LOG_LEVEL", "LOUD", "LOG_LEVEL is 'LOUD'"),
        ("HTTP_PORT", "99999", "HTTP_PORT is '99999'"),
        ("SNAP_TIMESTAMP_WINDOW_SECONDS", "-5", "SNAP_TIMESTAMP_WINDOW_SECONDS is '-5'"),
        ("DATABASE_URL", "mysql://tagih@127.0.0.1/tagih", "SQLite and PostgreSQL are supported"),
        ("REMINDER_STEPS", "1,2", "List and mapping settings take JSON"),
        ("NOTICE_RATE_LIMITS", "notjson", "List and mapping settings take JSON"),
    ],
)
def test_invalid_setting_named(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        with pytest.raises(SettingsError, match=re.escape(message)):
            get_settings()
    finally:
        monkeypatch.delenv(name)
        get_settings.cache_clear()


def test_binary_key_file_named(tmp_path: Path) -> None:
    binary = tmp_path / "bank.der"
    binary.write_bytes(bytes(range(256)))
    settings = Settings(snap_bank_public_key=str(binary), _env_file=None)
    with pytest.raises(SettingsError, match="SNAP_BANK_PUBLIC_KEY: The file .* is not a PEM"):
        settings.check_bank_public_key()


def test_public_base_url_follows_http_port() -> None:
    settings = Settings(http_host="0.0.0.0", http_port=18000, _env_file=None)
    assert settings.public_base_url == "http://127.0.0.1:18000"
    ipv6 = Settings(http_host="::1", http_port=18000, _env_file=None)
    assert ipv6.public_base_url == "http://[::1]:18000"
    assert Settings(log_level="debug", _env_file=None).log_level == "DEBUG"
    given = Settings(public_base_url="https://tagih.example.com", _env_file=None)
    assert given.public_base_url == "https://tagih.example.com"


def test_offline_guard_blocks_other_hosts() -> None:
    with socket.socket() as sock, pytest.raises(RuntimeError, match="only to 127.0.0.1"):
        sock.connect(("192.0.2.1", 80))


def test_indonesian_plural_counts_stay_indonesian() -> None:
    from locales import trn

    for count in (1, 3):
        text = trn(
            "id",
            "Total owed: {total} ({count} bill)",
            "Total owed: {total} ({count} bills)",
            count,
            total="Rp1",
        )
        assert text == f"Total tagihan: Rp1 ({count} tagihan)"
