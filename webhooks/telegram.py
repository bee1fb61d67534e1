"""telegram webhook route; off when its settings are missing."""

from __future__ import annotations

from fastapi import FastAPI

from tagih.settings import Settings


def install(app: FastAPI, settings: Settings) -> None:
    """Add the telegram route when the channel is configured."""
