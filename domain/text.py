"""Marker for user-facing strings defined outside ``bot`` (extracted by ``bot.i18n_tools``)."""

from __future__ import annotations


def N_(message: str) -> str:
    """Mark ``message`` for translation without translating it here (pure code has no locale)."""
    return message
