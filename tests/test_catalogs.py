"""Every string marked in the source is translated in every catalog (zh_Hans, zh_Hant, en)."""

from __future__ import annotations

import re

import pytest
from babel.messages.pofile import read_po

from fakebotapi.errors import ApiError
from fakebotapi.html_markup import parse_html
from infra.config import SUPPORTED_LOCALES
from infra.i18n import Translator, catalog_path, resolve_locale
from infra.i18n_tools import extract

pytestmark = pytest.mark.nodb


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_catalog_is_complete(locale: str) -> None:
    with catalog_path(locale).open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    missing = []
    for message in extract():
        if not message.id:
            continue
        entry = catalog.get(message.id)
        strings = entry.string if entry is not None else None
        values = strings if isinstance(strings, tuple | list) else [strings]
        if entry is None or entry.fuzzy or not all(values):
            missing.append(message.id if isinstance(message.id, str) else message.id[0])
    assert not missing, f"{locale}: {len(missing)} untranslated, e.g. {missing[:5]}"


@pytest.mark.parametrize(
    ("code", "locale"),
    [
        ("zh-hans", "zh_Hans"),
        ("zh-CN", "zh_Hans"),
        ("zh-sg", "zh_Hans"),
        ("zh", "zh_Hans"),
        ("zh-hant", "zh_Hant"),
        ("zh-TW", "zh_Hant"),
        ("zh-hk", "zh_Hant"),
        ("zh-mo", "zh_Hant"),
        ("en", "en"),
        ("en-GB", "en"),
        ("ru", "zh_Hans"),
        (None, "zh_Hans"),
    ],
)
def test_language_code_mapping(code: str | None, locale: str) -> None:
    assert resolve_locale(code) == locale


def test_placeholders_survive_translation() -> None:
    """A translation that drops or renames a {placeholder} would crash .format() at run time."""
    for locale in SUPPORTED_LOCALES:
        with catalog_path(locale).open("rb") as fh:
            catalog = read_po(fh, locale=locale)
        for entry in catalog:
            if not entry.id or not entry.string:
                continue
            ids = entry.id if isinstance(entry.id, tuple) else (entry.id,)
            strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
            wanted = set(re.findall(r"\{(\w+)\}", ids[-1]))
            for s in strings:
                assert set(re.findall(r"\{(\w+)\}", s)) <= wanted | set(
                    re.findall(r"\{(\w+)\}", ids[0])
                ), (locale, entry.id)


def test_translator_formats_in_locale() -> None:
    assert Translator("en").number(1234) == "1,234"


ANGLE = re.compile(r"<[^<>]*>")


def _entries(locale: str) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    """(msgids, msgstrs) of every translated entry of ``locale``'s catalog."""
    with catalog_path(locale).open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    out = []
    for entry in catalog:
        if not entry.id or not entry.string:
            continue
        ids = entry.id if isinstance(entry.id, tuple) else (entry.id,)
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        out.append((tuple(ids), tuple(s for s in strings if s)))
    return out


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_translations_use_only_their_source_tags(locale: str) -> None:
    """A ``<…>`` in a translation is one of its msgid's tags, never a raw ``<工号>``: Telegram
    refuses an HTML message with an unknown tag, and the user reads a generic error."""
    wrong = []
    for ids, strings in _entries(locale):
        allowed = {m.group(0) for i in ids for m in ANGLE.finditer(i)}
        for s in strings:
            wrong += [(ids[0], m.group(0)) for m in ANGLE.finditer(s) if m.group(0) not in allowed]
    assert not wrong, f"{locale}: {wrong[:5]}"


class _Harmless(dict[str, object]):
    """Fills any ``{placeholder}`` with a value that is itself valid HTML."""

    def __missing__(self, key: str) -> object:
        return "1"


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_every_string_passes_the_servers_html_check(locale: str) -> None:
    """Every msgid and msgstr, placeholders filled, is what the fake Bot API server (and
    Telegram) accepts as HTML. The rule is that *every* catalog string is HTML-safe, plain-text
    ones (CLI, alerts) included: a string cannot know where it will be shown, and the few that
    need ``<``, ``>`` or ``&`` as text write ``&lt;`` (plain-text callers unescape)."""
    refused = []
    for ids, strings in _entries(locale):
        for s in (*ids, *strings):
            filled = s.format_map(_Harmless())
            try:
                parse_html(filled)
            except ApiError as exc:
                refused.append((ids[0], s, exc.description))
    assert not refused, f"{locale}: {len(refused)} refused, e.g. {refused[:3]}"
