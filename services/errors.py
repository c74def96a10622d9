"""Domain errors carry a gettext msgid and parameters; the caller translates them for the user."""

from __future__ import annotations

from typing import Any

from domain.text import Html, html_format
from infra.i18n import Translator


class DomainError(Exception):
    """A refused action, with a user-facing English msgid (marked with ``N_``) and parameters.

    Parameters are plain values (a name with ``<`` stays ``<``); ``render`` escapes them for
    an HTML message, ``plain`` does not (a callback alert or the CLI shows text as it is).
    """

    def __init__(self, message: str, **params: Any) -> None:
        super().__init__(message.format(**params) if params else message)
        self.message = message
        self.params = params

    def render(self, tr: Translator) -> Html:
        """The refusal as HTML, every parameter escaped once."""
        return html_format(tr._(self.message), **self.params)

    def plain(self, tr: Translator) -> str:
        """The refusal as plain text, for callback alerts and the command line."""
        text = tr._(self.message)
        return text.format(**self.params) if self.params else text
