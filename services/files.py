"""Files people send us and files we write: limits, text encodings, spreadsheet safety.

One place for all of it, so the roster import, the template loader, the bot and the
CLI refuse the same files for the same reasons (README, "Files and their limits"):

- **Limits.** A file is at most ``MAX_FILE_BYTES``; a workbook may unpack to at most
  ``MAX_XLSX_UNPACKED`` (a 43 KiB zip can hold 300,000 rows), checked from the zip's
  directory before a single row is parsed; a roster has at most ``MAX_ROSTER_ROWS``
  rows and a template sheet or table ``MAX_TEMPLATE_ROWS``, counted while streaming.
- **Encodings.** Chinese CSV files come in UTF-8, GB18030 (Excel on Simplified Chinese
  Windows) or Big5 (Traditional). Big5 bytes also decode as GB18030, into mojibake,
  so the choice between them looks at what each decoding reads as.
- **Formula injection.** A cell we write that begins with ``=``, ``+``, ``-`` or ``@``
  (or a tab or carriage return) is a formula to Excel when it opens a CSV: names,
  unit names and comments come from users, so every such cell is written as text.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
import zlib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

MIB = 1024 * 1024
MAX_FILE_BYTES = 2 * MIB  # a roster of thousands of people is well under 1 MB
MAX_XLSX_UNPACKED = 10 * MIB  # a 5,000-row roster workbook unpacks to about 3 MB
MAX_ROSTER_ROWS = 5_000  # non-blank rows, header included: a bureau is far smaller
MAX_TEMPLATE_ROWS = 1_000  # per sheet (or TOML table): a template has dozens
BLANK_ROWS_FACTOR = 10  # reading stops at row 10 × the limit, blank rows included

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")


# What zipfile and openpyxl raise on a damaged workbook (a fuzzed file in tests shows each):
# a bad file, reported as unreadable, rather than a bug of ours.
BROKEN_XLSX: tuple[type[Exception], ...] = (
    zipfile.BadZipFile,
    zlib.error,  # a corrupt deflate stream
    EOFError,
    SyntaxError,  # xml.etree.ElementTree.ParseError: XML that is not well-formed
    KeyError,  # a part the package names but lacks
    IndexError,
    ValueError,
    TypeError,  # an attribute of the wrong kind
    NotImplementedError,  # a feature openpyxl does not read
    OSError,
)


def read_limited(path: Path) -> bytes:
    """At most one byte more than ``MAX_FILE_BYTES`` of a file, so a huge one is never
    loaded whole; the loaders then refuse it as too large.
    """
    with path.open("rb") as f:
        return f.read(MAX_FILE_BYTES + 1)


def too_large(data: bytes) -> bool:
    return len(data) > MAX_FILE_BYTES


def xlsx_too_large(data: bytes) -> bool:
    """True if the workbook's members unpack to more than ``MAX_XLSX_UNPACKED`` bytes.

    The zip directory's sizes bound what unpacking yields (Python's zipfile stops at the
    declared size and checks the CRC), so this is checked before openpyxl sees the file.
    Not a zip at all: False, and the reader reports the file as unreadable.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return sum(info.file_size for info in archive.infolist()) > MAX_XLSX_UNPACKED
    except BROKEN_XLSX:
        return False


def mb(size: int) -> str:
    """A limit in MB for a message: ``2``, ``10``."""
    return f"{size / MIB:g}"


# --------------------------------------------------------------------------- encodings

_GB_COMMON = "gb2312"  # the 6,763 characters of everyday Simplified Chinese


def _is_cjk(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff" or "\u3000" <= ch <= "\u303f" or "\uff00" <= ch <= "\uffef"


def _share(text: str, good: Any) -> float:
    wide = [ch for ch in text if ord(ch) > 0x7F]
    return sum(1 for ch in wide if good(ch)) / len(wide) if wide else 1.0


def _gb_common(ch: str) -> bool:
    """Everyday Simplified Chinese; Big5 read as GB18030 gives kana, Greek and rare characters."""
    if not _is_cjk(ch):
        return False
    try:
        ch.encode(_GB_COMMON)
    except UnicodeEncodeError:
        return False
    return True


def _big5_common(ch: str) -> bool:
    """Big5's punctuation and 常用字 (lead bytes A1–C6); GB18030 read as Big5 scatters wider."""
    try:
        raw = ch.encode("cp950")
    except UnicodeEncodeError:
        return False
    return len(raw) == 2 and 0xA1 <= raw[0] <= 0xC6


def decode_text(data: bytes, expected: Iterable[str] = ()) -> str | None:
    """The text of a CSV: UTF-16 with BOM, UTF-8 (with or without), GB18030 or Big5, or None.

    UTF-8 is strict, so other bytes cannot pass as it. Between GB18030 and Big5 (cp950),
    a decoding in which one of ``expected`` (header words) appears wins; otherwise the
    one whose characters are more often everyday ones.
    """
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):  # Excel's "Unicode text"
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    candidates: list[tuple[str, Any]] = []
    for encoding, common in (("gb18030", _gb_common), ("cp950", _big5_common)):
        try:
            candidates.append((data.decode(encoding), common))
        except UnicodeDecodeError:
            continue
    if not candidates:
        return None
    if len(candidates) == 1:
        return candidates[0][0]
    words = [w for w in expected if any(ord(ch) > 0x7F for ch in w)]
    head = {text: text[:4000] for text, _ in candidates}
    named = [text for text, _ in candidates if any(w in head[text] for w in words)]
    if len(named) == 1:
        return named[0]
    return max(candidates, key=lambda c: _share(c[0], c[1]))[0]


# --------------------------------------------------------------------------- writing


def safe_cell(value: object) -> object:
    """A cell for a spreadsheet: text that Excel would run as a formula gets a leading ``'``.

    Plain numbers ("-5", "+3.5") stay as they are: they are read as numbers, not run.
    """
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        if not _PLAIN_NUMBER.match(value):
            return "'" + value
    return value


def csv_bytes(header: Sequence[object], rows: Iterable[Sequence[object]]) -> bytes:
    """A CSV with every cell made safe, in UTF-8 with BOM so Excel on Chinese Windows reads it."""
    out = io.StringIO()
    writer = csv.writer(out)
    for row in (header, *rows):
        writer.writerow([safe_cell(v) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def text_cell(cell: Any) -> None:
    """Keep an openpyxl cell's string a string: openpyxl stores ``"=…"`` as a formula, and
    Excel, once the cell is edited, reads ``+ - @`` as one; the quote prefix stops both.
    """
    value = cell.value
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        cell.data_type = "s"
        cell.quotePrefix = True
