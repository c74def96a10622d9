"""Gettext glue: the user's locale from Telegram or their choice, and Babel formatting.

Catalogs are compiled from ``.po`` in memory at first use (and ``jixiao i18n compile``
writes ``.mo`` files for tools that want them), so a fresh checkout needs no build step.
"""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations

from domain.text import N_
from infra.config import SUPPORTED_LOCALES

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
DOMAIN = "messages"
LANGUAGE_NAMES = {"zh_Hans": "简体中文", "zh_Hant": "繁體中文", "en": "English"}


__all__ = ["N_", "Translator", "resolve_locale"]


def resolve_locale(language_code: str | None, default: str = "zh_Hans") -> str:
    """Map Telegram's IETF ``language_code`` to one of our catalogs."""
    if not language_code:
        return default
    code = language_code.lower().replace("_", "-")
    if code in ("zh-hant", "zh-tw", "zh-hk", "zh-mo") or code.startswith("zh-hant-"):
        return "zh_Hant"
    if code in ("zh", "zh-hans", "zh-cn", "zh-sg") or code.startswith("zh-hans-"):
        return "zh_Hans"
    if code == "en" or code.startswith("en-"):
        return "en"
    return default


def catalog_path(locale: str) -> Path:
    return LOCALES_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def translations(locale: str) -> NullTranslations:
    """The compiled catalog for ``locale`` (cached for the process)."""
    path = catalog_path(locale)
    if not path.exists():
        return NullTranslations()
    with path.open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    buf.seek(0)
    return Translations(buf, domain=DOMAIN)


def compile_catalogs() -> list[Path]:
    """Write ``.mo`` files beside the ``.po`` files (for tools; the bot does not need them)."""
    written = []
    for locale in SUPPORTED_LOCALES:
        po = catalog_path(locale)
        if not po.exists():
            continue
        with po.open("rb") as fh:
            catalog = read_po(fh, locale=locale)
        mo = po.with_suffix(".mo")
        with mo.open("wb") as out:
            write_mo(out, catalog, use_fuzzy=False)
        written.append(mo)
    return written


class Translator:
    """One user's language: gettext plus Babel formatting in the bureau's time zone."""

    def __init__(self, locale: str, tz: ZoneInfo | None = None) -> None:
        self.locale = locale if locale in SUPPORTED_LOCALES else "zh_Hans"
        self.tz = tz or ZoneInfo("Asia/Shanghai")
        self._t = translations(self.locale)
        self._babel = Locale.parse(self.locale)

    def _(self, message: str) -> str:
        return self._t.gettext(message)

    def gettext(self, message: str) -> str:
        return self._t.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self._t.ngettext(singular, plural, n)

    def date(self, value: dt.date | dt.datetime, fmt: str = "medium") -> str:
        if isinstance(value, dt.datetime):
            value = value.astimezone(self.tz).date()
        return format_date(value, format=fmt, locale=self._babel)

    def datetime(self, value: dt.datetime, fmt: str = "medium") -> str:
        return format_datetime(value, format=fmt, tzinfo=self.tz, locale=self._babel)

    def number(self, value: int | Decimal, fmt: str | None = None) -> str:
        return format_decimal(value, format=fmt, locale=self._babel)
