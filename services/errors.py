"""Domain errors carry a gettext msgid and parameters; the caller translates them for the user."""

from __future__ import annotations

import datetime as dt
from typing import Any

from domain.text import Html, html_format
from infra.i18n import Translator


class DomainError(Exception):
    """A refused action, with a user-facing English msgid (marked with ``N_``) and parameters.

    Parameters are plain values (a name with ``<`` stays ``<``); ``render`` escapes them for
    an HTML message, ``plain`` does not (a callback alert or the CLI shows text as it is).
    A ``period`` parameter is the stored code ("2026Q4") and dates are dates: both are written
    as the reader's language writes them at render time.
    """

    def __init__(self, message: str, **params: Any) -> None:
        super().__init__(message.format(**params) if params else message)
        self.message = message
        self.params = params

    def localized(self, tr: Translator, *, codes: bool = False) -> dict[str, Any]:
        """The parameters as the reader writes them (a period as 2026年第四季度); ``codes``
        adds the code a command takes (2026年第四季度（2026Q4）), for the command line."""
        params = {
            key: tr.datetime(v)
            if isinstance(v, dt.datetime)
            else tr.date(v)
            if isinstance(v, dt.date)
            else v
            for key, v in self.params.items()
        }
        if "period" in params:
            code = params["period"]
            shown = tr.period(code)
            params["period"] = f"{shown}{tr.paren(code)}" if codes and shown != str(code) else shown
        return params

    def render(self, tr: Translator) -> Html:
        """The refusal as HTML, every parameter escaped once."""
        return html_format(tr._(self.message), **self.localized(tr))

    def plain(self, tr: Translator, *, codes: bool = False) -> str:
        """The refusal as plain text, for callback alerts and (with ``codes``) the command line."""
        text = tr._(self.message)
        return text.format(**self.localized(tr, codes=codes)) if self.params else text
