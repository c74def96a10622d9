"""Catalog maintenance: extract every marked string and merge it into the three catalogs.

``python -m infra.i18n_tools`` (or ``jixiao i18n update``) after adding strings, then
translate the new entries. Keywords: ``_``, ``N_`` and ``ngettext``.
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from infra.config import SUPPORTED_LOCALES
from infra.i18n import catalog_path

ROOT = Path(__file__).resolve().parent.parent
SOURCE_DIRS = ("bot", "infra", "chat", "conversations", "services", "domain", "scoring", "web")
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}


def extract() -> Catalog:
    """Every user-facing string in the source, with where it is used."""
    catalog = Catalog(project="jixiao", charset="utf-8")
    for folder in SOURCE_DIRS:
        path = ROOT / folder
        if not path.exists():
            continue
        for filename, lineno, message, comments, context in extract_from_dir(
            str(path), method_map=[("**.py", "python")], keywords=KEYWORDS
        ):
            catalog.add(
                message,
                None,
                [(f"{folder}/{filename}", lineno)],
                auto_comments=comments,
                context=context,
            )
    return catalog


def update() -> None:
    template = extract()
    for locale in SUPPORTED_LOCALES:
        path = catalog_path(locale)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            with path.open("rb") as fh:
                catalog = read_po(fh, locale=locale)
        else:
            catalog = Catalog(locale=locale, project="jixiao", charset="utf-8")
        template.creation_date = catalog.creation_date  # no date churn when nothing changed
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        with path.open("wb") as fh:
            write_po(fh, catalog, width=100, sort_output=False, omit_header=False)


if __name__ == "__main__":
    update()
