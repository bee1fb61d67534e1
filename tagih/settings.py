"""One settings object for every process, read from the environment and `.env`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from pydantic_settings.exceptions import SettingsError as PydanticSettingsError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SQLITE_PATH = PROJECT_ROOT / "var" / "tagih.sqlite3"


# Banks issue HMAC secrets of 32 characters or more. A shorter one in production is
# taken for a mistake (a placeholder or a truncated paste).
MIN_CLIENT_SECRET_LENGTH = 16


class SettingsError(RuntimeError):
    """Raised when a setting that the current environment needs is missing or invalid."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", env_file_encoding="utf-8")

    tagih_env: Literal["development", "production"] = "development"
    database_url: str = f"sqlite:///{DEFAULT_SQLITE_PATH}"
    # How long a SQLite write waits for another writer's lock before it fails.
    sqlite_busy_timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    public_base_url: str = "http://127.0.0.1:8000"
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8000, ge=1, le=65535)

    # Bank (SNAP). These form the default bank connection.
    snap_client_id: str = "tagih-dev-bank"
    snap_client_secret: SecretStr = SecretStr("dev-client-secret-change-me")
    snap_bank_public_key: str = ""  # PEM text or a path to a PEM file
    snap_bank_private_key: str = ""  # simulator only: PEM text or a path
    snap_path_prefix: str = "/snap"
    snap_timestamp_window_seconds: int = Field(default=300, ge=1, le=86400)
    snap_token_ttl_seconds: int = Field(default=900, ge=60, le=86400)
    # Threads that handle SNAP requests at once in one web process. More threads than
    # database connections only wait for the pool and fight over the interpreter lock.
    snap_worker_threads: int = Field(default=8, ge=1, le=64)
    snap_bank_base_url: str = ""  # the bank's API, for inquiry-status; empty means off
    # Tagih's own RSA private key (PEM text or a path), which signs Tagih's access-token
    # requests to the bank for inquiry-status calls. The bank is given its public half.
    snap_tagih_private_key: str = ""
    # Development only: where the generated bank key pair lives when the SNAP keys are unset.
    snap_dev_key_file: str = str(PROJECT_ROOT / "var" / "snap-dev-bank-key.pem")
    va_validity_days: int = 60

    # Telegram
    telegram_bot_token: SecretStr | None = None
    telegram_webhook_secret: SecretStr | None = None
    telegram_api_base_url: str = "https://api.telegram.org"
    # Seconds between attempts to reach the Bot API at start-up, doubled after each failure
    # up to the maximum. Until one succeeds, POST /telegram returns 503 so Telegram retries.
    telegram_init_retry_seconds: float = 2.0
    telegram_init_retry_max_seconds: float = 300.0

    # E-mail link codes in chat, counted over a rolling hour: code requests per chat and
    # codes per e-mail address, and wrong codes per chat across all its codes.
    chat_link_code_requests_per_hour: int = 3
    chat_link_code_failures_per_hour: int = 5

    # WhatsApp Cloud API
    whatsapp_phone_id: str | None = None
    whatsapp_token: SecretStr | None = None
    whatsapp_app_secret: SecretStr | None = None
    whatsapp_verify_token: SecretStr | None = None
    whatsapp_api_base_url: str = "https://graph.facebook.com"

    # E-mail
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = "Tagih <tagihan@example.com>"
    smtp_starttls: bool = True

    # SMS gateway
    sms_gateway_url: str | None = None
    sms_gateway_token: SecretStr | None = None
    sms_sender_id: str = "TAGIH"

    # Notices: the outbox sender
    notice_claim_seconds: int = 120  # a claimed row is taken back by another worker after this
    notice_max_attempts: int = 8  # transient failures per channel before the next channel
    notice_retry_base_seconds: float = 30.0
    notice_retry_max_seconds: float = 3600.0
    notice_send_concurrency: int = 20
    notice_send_timeout_seconds: float = 30.0
    # Days a notice waits for one of its channels to be switched on before it fails.
    notice_hold_days: int = Field(default=7, ge=0, le=90)
    # Messages per second per channel. WhatsApp Cloud API allows 80 per second per business
    # phone number by default, and the Telegram Bot API FAQ gives about 30 per second.
    # NOTE: the e-mail and SMS figures are conservative guesses; set the provider's own limit.
    notice_rate_limits: dict[str, float] = Field(
        default_factory=lambda: {
            "whatsapp": 80.0,
            "telegram": 30.0,
            "email": 10.0,
            "sms": 10.0,
            "console": 1000.0,
        }
    )
    # Approved WhatsApp templates per notice kind. The parameters each template receives are
    # listed in billing.notices.TEMPLATE_PARAMETERS.
    whatsapp_templates: dict[str, str] = Field(
        default_factory=lambda: {
            "invoice_issued": "tagih_invoice_issued",
            "reminder": "tagih_reminder",
            "receipt": "tagih_receipt",
            "invoice_voided": "tagih_invoice_voided",
            "staff_payment": "tagih_staff_payment",
            "news": "tagih_news",
            "digest": "tagih_digest",
            "link_code": "tagih_link_code",
            "fee_preview": "tagih_fee_preview",
        }
    )
    # Template language code on WhatsApp for each Tagih language.
    whatsapp_template_languages: dict[str, str] = Field(
        default_factory=lambda: {"id": "id", "en": "en"}
    )
    whatsapp_window_hours: int = 24
    # Bank named in the payment step for transfers from another bank (empty: "the VA's bank").
    va_bank_name: str = ""

    # Reminders and digests; organisations override these in their preferences.
    reminder_steps: list[int] = Field(default_factory=lambda: [-3, 0, 1, 7])  # days from due
    reminder_hour: int = 9  # local hour of the organisation
    reminder_catchup_days: int = 3  # a missed step older than this is skipped
    quiet_hours_start: int = 21  # no reminder, news or digest from this local hour ...
    quiet_hours_end: int = 7  # ... until this one
    digest_hour: int = 17
    worker_id: str | None = None  # default: host name and process id

    # Sheets
    sheet_max_file_bytes: int = Field(default=10 * 1024 * 1024)
    sheet_max_uncompressed_bytes: int = Field(default=50 * 1024 * 1024)
    sheet_max_compression_ratio: int = 100
    sheet_max_rows: int = 200_000
    sheet_max_columns: int = 200
    sheet_max_parse_seconds: float = 60.0
    # Largest amount one bill may carry, in rupiah: a guard against typed extra digits.
    sheet_max_invoice_amount: int = 10_000_000_000
    # Latest due date a sheet may give, in years after today. Dates such as 31/12/9999 are
    # "no due date" placeholders, and a VA cannot stay open that long. Ten years leaves room
    # for long instalment plans.
    sheet_max_due_years: int = Field(default=10, ge=1, le=100)

    @property
    def is_production(self) -> bool:
        return self.tagih_env == "production"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @field_validator("tagih_env", mode="before")
    @classmethod
    def _fold_environment(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("log_level", mode="before")
    @classmethod
    def _fold_log_level(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        schemes = ("sqlite:", "postgres://", "postgresql://", "postgresql+psycopg://")
        if not value.startswith(schemes):
            raise ValueError(
                "use sqlite:///PATH or postgresql://USER@HOST/DATABASE "
                "(SQLite and PostgreSQL are supported)"
            )
        return value

    @model_validator(mode="after")
    def _normalise(self) -> Settings:
        if self.database_url.startswith("postgres://"):
            self.database_url = "postgresql+psycopg://" + self.database_url[len("postgres://") :]
        elif self.database_url.startswith("postgresql://"):
            self.database_url = "postgresql+psycopg://" + self.database_url[len("postgresql://") :]
        prefix = self.snap_path_prefix.strip("/")
        self.snap_path_prefix = f"/{prefix}" if prefix else ""
        if "public_base_url" not in self.model_fields_set:
            host = "127.0.0.1" if self.http_host in ("0.0.0.0", "::", "") else self.http_host
            if ":" in host and not host.startswith("["):
                host = f"[{host}]"  # an IPv6 address in a URL needs brackets
            self.public_base_url = f"http://{host}:{self.http_port}"
        return self

    def check_production_secrets(self) -> None:
        """Raise SettingsError naming every secret that production needs and lacks."""
        if not self.is_production:
            return
        missing = []
        if "SNAP_CLIENT_SECRET" in _placeholders(self):
            missing.append("SNAP_CLIENT_SECRET")
        if not self.snap_bank_public_key:
            missing.append("SNAP_BANK_PUBLIC_KEY")
        if "database_url" not in self.model_fields_set:
            missing.append("DATABASE_URL")
        if self.telegram_bot_token and not self.telegram_webhook_secret:
            missing.append("TELEGRAM_WEBHOOK_SECRET")
        if self.whatsapp_token and not self.whatsapp_app_secret:
            missing.append("WHATSAPP_APP_SECRET")
        if self.whatsapp_token and not self.whatsapp_verify_token:
            missing.append("WHATSAPP_VERIFY_TOKEN")
        if self.snap_bank_base_url and not self.snap_tagih_private_key:
            missing.append("SNAP_TAGIH_PRIVATE_KEY")
        if missing:
            raise SettingsError(
                "TAGIH_ENV=production needs these settings, which are missing or still "
                "hold the development placeholder: "
                + ", ".join(missing)
                + ". Set them in the environment or in .env."
            )
        secret_length = len(self.snap_client_secret.get_secret_value().strip())
        if secret_length < MIN_CLIENT_SECRET_LENGTH:
            raise SettingsError(
                f"SNAP_CLIENT_SECRET is {secret_length} characters long without spaces, and "
                f"production needs at least {MIN_CLIENT_SECRET_LENGTH}. "
                "Set the HMAC secret the bank issued."
            )

    def check_tagih_private_key(self) -> None:
        """Raise SettingsError unless SNAP_TAGIH_PRIVATE_KEY, when set, is an RSA private key."""
        if self.snap_tagih_private_key:
            check_rsa_key("SNAP_TAGIH_PRIVATE_KEY", self.snap_tagih_private_key, private=True)

    def check_bank_public_key(self) -> None:
        """Raise SettingsError unless SNAP_BANK_PUBLIC_KEY, when set, is an RSA public key."""
        if self.snap_bank_public_key:
            check_rsa_key("SNAP_BANK_PUBLIC_KEY", self.snap_bank_public_key, private=False)


def _placeholders(settings: Settings) -> set[str]:
    found = set()
    if settings.snap_client_secret.get_secret_value() == "dev-client-secret-change-me":
        found.add("SNAP_CLIENT_SECRET")
    return found


def check_rsa_key(name: str, value: str, *, private: bool) -> str:
    """Return the PEM text of a key setting or option (PEM text or a path to a file).

    Raises SettingsError naming `name` unless it loads as the RSA key expected: SNAP signs
    access-token requests with SHA256withRSA, so every SNAP key must be an RSA key.
    """
    kind = "private" if private else "public"
    try:
        text = read_pem(value)
    except SettingsError as error:
        raise SettingsError(f"{name}: {error}") from error
    if not private and "PRIVATE KEY-----" in text:
        raise SettingsError(
            f"{name} contains a private key. Set the RSA public key "
            "(-----BEGIN PUBLIC KEY-----), never a private key."
        )
    try:
        if private:
            key: Any = serialization.load_pem_private_key(text.encode(), password=None)
        else:
            key = serialization.load_pem_public_key(text.encode())
    except (ValueError, TypeError, UnsupportedAlgorithm) as error:
        raise SettingsError(
            f"{name} is not a valid unencrypted PEM {kind} key ({error}). Set the RSA "
            f"{kind} key, as PEM text or a path to a PEM file."
        ) from error
    expected = rsa.RSAPrivateKey if private else rsa.RSAPublicKey
    if not isinstance(key, expected):
        raise SettingsError(f"{name} is not an RSA key. Set an RSA {kind} key.")
    return text


def read_pem(value: str) -> str:
    """Return PEM text from a setting that contains either the PEM itself or a path to it."""
    text = value.strip()
    if text.startswith("-----BEGIN"):
        return text.replace("\\n", "\n")
    path = Path(text).expanduser()
    if not path.is_file():
        raise SettingsError(
            f"The PEM file {path} does not exist. Set the PEM text itself or a valid path."
        )
    try:
        return path.read_text(encoding="ascii")
    except UnicodeDecodeError as error:
        raise SettingsError(
            f"The file {path} is not a PEM file (PEM is ASCII text starting with -----BEGIN). "
            "Convert a DER key with openssl, or set the path of the PEM file."
        ) from error


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Read the settings once; raise SettingsError naming each invalid variable and value."""
    try:
        return Settings()
    except PydanticSettingsError as error:
        # Raised for a list or dict setting whose value is not JSON.
        raise SettingsError(
            f"{error}. List and mapping settings take JSON, for example "
            'REMINDER_STEPS=[-3,0,1,7] or NOTICE_RATE_LIMITS={"sms":5}.'
        ) from error
    except ValidationError as error:
        problems = []
        for item in error.errors():
            name = "_".join(str(part) for part in item["loc"]).upper() or "a setting"
            problems.append(f"{name} is {item.get('input')!r}: {item['msg']}")
        raise SettingsError(
            "; ".join(problems) + ". Fix it in the environment or in .env."
        ) from error


def reset_settings_cache() -> None:
    """Forget the cached settings, so the next get_settings() reads the environment again."""
    get_settings.cache_clear()
