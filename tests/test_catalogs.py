"""Every string marked in the source is translated in every catalog (zh_Hans, zh_Hant, en)."""

from __future__ import annotations

import pytest
from babel.messages.pofile import read_po

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
    import re

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
