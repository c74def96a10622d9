"""Bad input in files and templates gets a listed problem, never a crash (a fixed-seed fuzz).

Hostile numbers (1e308, NaN, inf, -0, huge exponents, 5,000 digits), wrong types and
damaged bytes go into the TOML and workbook template loaders and the roster import;
each file must load or be refused with problems that render in all three languages.
"""

from __future__ import annotations

import io
import random
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from openpyxl import load_workbook

from domain.template import TemplateInvalid
from infra.i18n import Translator
from services.staff_import import RosterInvalid, parse_roster
from services.templates import load_template, render_problem

pytestmark = pytest.mark.nodb

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SEED = 20261206
LOCALES = ("zh_Hans", "zh_Hant", "en")
HOSTILE = [
    "1e308",
    "-1e308",
    "1e999999999",
    "1e-999999999",
    "nan",
    "inf",
    "-inf",
    "-0",
    "-0.0",
    "9" * 5000,
    "0x" + "f" * 64,
    "1_000",
    '"abc"',
    '"1e308"',
    '"NaN"',
    '"40%%"',
    '""',
    "true",
    "[]",
    "[1e308]",
    "{}",
    "1979-05-27",
    "12:00:00",
    "\"=cmd|' /C calc'!A0\"",
    '"\\u0000"',
]
XLSX_HOSTILE: list[object] = [
    1e308,
    -1e308,
    float("inf"),
    float("nan"),
    -0.0,
    "1e308",
    "1e999999999",
    "NaN",
    "-0",
    "9" * 5000,
    "=1+2",
    "@SUM(A1)",
    "\u200b",
    "x" * 40_000,
    True,
    "",
    " ",
    "４０％",
]


_PLACEHOLDER = re.compile(r"\{[a-z_]+\}")  # a parameter the message failed to fill


def _renders(problems: list[str]) -> None:
    for line in problems:
        assert line and "Traceback" not in line and not _PLACEHOLDER.search(line), line


def _check_template(data: bytes, filename: str) -> None:
    try:
        load_template(data, filename)
    except TemplateInvalid as exc:
        assert exc.problems
        for locale in LOCALES:
            _renders([render_problem(p, Translator(locale)) for p in exc.problems])


def _check_roster(data: bytes, filename: str) -> None:
    try:
        parse_roster(data, filename)
    except RosterInvalid as exc:
        assert exc.errors
        for locale in LOCALES:
            _renders([e.render(Translator(locale)) for e in exc.errors])


_TOML_VALUE = re.compile(r"(?m)^(\s*[\w\"]+\s*=\s*)(.+)$")


def test_hostile_toml_values_are_listed_never_raised() -> None:
    rng = random.Random(SEED)
    source = (EXAMPLES / "template.toml").read_text(encoding="utf-8")
    spots = list(_TOML_VALUE.finditer(source))
    for _ in range(400):
        text = source
        for spot in sorted(rng.sample(spots, rng.randint(1, 3)), key=lambda m: -m.start()):
            text = text[: spot.start(2)] + rng.choice(HOSTILE) + text[spot.end(2) :]
        _check_template(text.encode("utf-8"), "template.toml")
    with pytest.raises(TemplateInvalid):  # the case, named
        load_template(source.replace("performance = 60", "performance = 1e308").encode(), "t.toml")


def _hostile_workbook(
    data: bytes, rng: random.Random, cells: int, sheets: Callable[[list], list]
) -> bytes:  # type: ignore[type-arg]
    wb = load_workbook(io.BytesIO(data))
    for _ in range(cells):
        ws = rng.choice(sheets(wb.worksheets))
        row = rng.randint(1, max(2, ws.max_row))
        col = rng.randint(1, max(1, ws.max_column))
        ws.cell(row=row, column=col).value = rng.choice(XLSX_HOSTILE)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _damaged(data: bytes, rng: random.Random) -> bytes:
    """Bytes flipped inside the zip's members (the zip itself stays readable) or in it."""
    if rng.random() < 0.5:
        raw = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            raw[rng.randrange(len(raw))] = rng.randrange(256)
        return bytes(raw)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            body = bytearray(src.read(info.filename))
            if body and rng.random() < 0.4:
                for _ in range(rng.randint(1, 4)):
                    body[rng.randrange(len(body))] = rng.randrange(256)
            dst.writestr(info.filename, bytes(body))
    return out.getvalue()


def test_hostile_template_workbooks_are_listed_never_raised() -> None:
    rng = random.Random(SEED)
    data = (EXAMPLES / "template.xlsx").read_bytes()
    for _ in range(40):
        _check_template(
            _hostile_workbook(data, rng, rng.randint(1, 4), lambda s: s), "template.xlsx"
        )
    for _ in range(200):
        _check_template(_damaged(data, rng), "template.xlsx")


def test_hostile_rosters_are_listed_never_raised() -> None:
    rng = random.Random(SEED)
    data = (EXAMPLES / "staff.xlsx").read_bytes()
    for _ in range(40):
        _check_roster(_hostile_workbook(data, rng, rng.randint(1, 4), lambda s: s[:1]), "s.xlsx")
    for _ in range(200):
        _check_roster(_damaged(data, rng), "staff.xlsx")
    lines = (EXAMPLES / "staff.csv").read_text(encoding="utf-8-sig").splitlines()
    for _ in range(200):
        rows = [line.split(",") for line in lines]
        for _ in range(rng.randint(1, 4)):
            row = rng.choice(rows)
            row[rng.randrange(len(row))] = str(rng.choice(XLSX_HOSTILE))
        text = "\n".join(",".join(r) for r in rows)
        if rng.random() < 0.2:
            text = text.replace(",", ',"', 1)  # a stray quote swallows the rest
        encoding = rng.choice(["utf-8", "utf-8-sig", "gb18030", "utf-16"])
        _check_roster(text.encode(encoding, errors="replace"), "staff.csv")
