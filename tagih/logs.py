"""Logging set-up, done once when a process starts (never at import time)."""

from __future__ import annotations

import hashlib
import logging

_configured = False


def configure_logging(level: str = "INFO") -> None:
    global _configured
    if _configured:
        return
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    # Client libraries log request URLs, and a Telegram bot token is part of every Bot API URL.
    noisy_loggers = (
        "httpx",
        "httpcore",
        "telegram",
        "pywa",
        "apscheduler",
        "aiosmtpd",
        "alembic",
        "fontTools",
    )
    for noisy in noisy_loggers:
        logging.getLogger(noisy).setLevel(logging.WARNING)
    _configured = True


def short_hash(value: str | int) -> str:
    """Return an 8-character tag that lets one person or update be followed through the logs."""
    return hashlib.sha256(str(value).encode()).hexdigest()[:8]
