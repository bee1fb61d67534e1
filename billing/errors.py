"""Errors a user can see: each carries a code and a translatable message."""

from __future__ import annotations

from typing import Any

from locales import Msg


class UserError(Exception):
    """Bad input from a person. The message names the value and the fix."""

    def __init__(self, code: str, message: str, /, **params: Any):
        self.code = code
        self.msg = Msg(message, params)
        super().__init__(f"{code}: {message.format(**params) if params else message}")

    def render(self, language: str | None) -> str:
        return self.msg.render(language)


class NotFound(UserError):
    pass


class PermissionDenied(UserError):
    pass
