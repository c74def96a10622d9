"""Domain errors carry a gettext msgid and parameters; the caller translates them for the user."""

from __future__ import annotations

from typing import Any

from bot.i18n import Translator


class DomainError(Exception):
    """A refused action, with a user-facing English msgid (marked with ``N_``) and parameters."""

    def __init__(self, message: str, **params: Any) -> None:
        super().__init__(message.format(**params) if params else message)
        self.message = message
        self.params = params

    def render(self, tr: Translator) -> str:
        text = tr._(self.message)
        return text.format(**self.params) if self.params else text
