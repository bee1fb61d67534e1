"""SNAP bank endpoints: access token, VA inquiry, VA payment."""

from __future__ import annotations

from fastapi import FastAPI

from tagih.settings import Settings


def install(app: FastAPI, settings: Settings) -> None:
    """Add the SNAP routes under the configured path prefix."""
