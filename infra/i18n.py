"""Gettext glue: the user's locale from Telegram or their choice, and Babel formatting.

Catalogs are compiled from ``.po`` in memory at first use (and ``jixiao i18n compile``
writes ``.mo`` files for tools that want them), so a fresh checkout needs no build step.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable
from decimal import Decimal
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations

from domain.period import parse_period
from domain.text import N_
from infra.config import SUPPORTED_LOCALES

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
DOMAIN = "messages"
LANGUAGE_NAMES = {"zh_Hans": "简体中文", "zh_Hant": "繁體中文", "en": "English"}


__all__ = ["N_", "Translator", "resolve_locale"]

#: One date format per language (issue 11): 2027年1月10日 / 10 Jan 2027.
_DATE = {"zh": "y年M月d日", "en": "d MMM y"}
_QUARTER_WORDS = (N_("first"), N_("second"), N_("third"), N_("fourth"))
N_("{year} annual")
N_("{year} {quarter} quarter")


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

    def date(self, value: dt.date | dt.datetime, *, weekday: bool = False) -> str:
        """A day as the language writes it: 2027年1月10日（星期日） / Sun 10 Jan 2027."""
        if isinstance(value, dt.datetime):
            value = value.astimezone(self.tz).date()
        text = format_date(value, _DATE[self.lang], locale=self._babel)
        if not weekday:
            return text
        name = format_date(value, "EEEE" if self.lang != "en" else "EEE", locale=self._babel)
        return f"{text}（{name}）" if self.lang != "en" else f"{name} {text}"

    def datetime(self, value: dt.datetime, *, weekday: bool = True) -> str:
        """A moment that matters to the minute (deadlines): 2027年1月10日（星期日）23:59."""
        local = value.astimezone(self.tz)
        day, time = self.date(local, weekday=weekday), local.strftime("%H:%M")
        return f"{day}{time}" if self.lang != "en" else f"{day}, {time}"

    def period(self, value: object) -> str:
        """An evaluation period as people write it: 2026年第四季度 / 2026年度 / Q4 2026."""
        found = parse_period(str(value))
        if found is None:
            return str(value)
        if found.quarter is None:
            return self._("{year} annual").format(year=found.year)
        ordinal = self._(_QUARTER_WORDS[found.quarter - 1])
        return self._("{year} {quarter} quarter").format(year=found.year, quarter=ordinal)

    @property
    def lang(self) -> str:
        """The script family: ``en`` or ``zh`` (both Chinese catalogs punctuate alike)."""
        return "en" if self.locale == "en" else "zh"

    def join(self, items: Iterable[object]) -> str:
        """A list inside a sentence: 自评、同事互评 / self, peer."""
        return ("、" if self.lang == "zh" else ", ").join(str(i) for i in items)

    def label(self, name: str, value: object) -> str:
        """``name：value`` with the colon of the language."""
        return f"{name}：{value}" if self.lang == "zh" else f"{name}: {value}"

    def paren(self, text: object) -> str:
        """An aside in brackets: （城东服务窗口） / (East window); no space before in Chinese."""
        return f"（{text}）" if self.lang == "zh" else f" ({text})"

    def heading(self, text: object) -> str:
        """A bracketed heading: 【工作业绩】 / [Performance]."""
        return f"【{text}】" if self.lang == "zh" else f"[{text}] "

    def percent(self, value: int | Decimal) -> str:
        """A weight as people write it: 60%, 12.5% (no trailing zeros)."""
        number = Decimal(value).normalize()
        text = format(number, "f")
        return f"{text}%"

    def number(self, value: int | Decimal, fmt: str | None = None) -> str:
        return format_decimal(value, format=fmt, locale=self._babel)
