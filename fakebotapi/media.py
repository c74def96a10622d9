"""Builders for the media parts of Message objects (PhotoSize, Document, Voice, Sticker)."""

from __future__ import annotations

import struct
import zlib

from fakebotapi.state import JSON, StoredFile


def _tiny_png() -> bytes:
    """A valid 1x1 PNG, so a default ``send_photo()`` uploads a real image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


SAMPLE_PNG = _tiny_png()
SAMPLE_VOICE = b"OggS\x00\x02" + b"\x00" * 58
SAMPLE_STICKER = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 24


def image_size(data: bytes) -> tuple[int, int]:
    """Width and height from PNG/GIF/JPEG headers; a plausible default for anything else."""
    if data.startswith(b"\x89PNG") and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return int(width), int(height)
    if data.startswith(b"\xff\xd8"):
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                break
            marker = data[i + 1]
            length = struct.unpack(">H", data[i + 2 : i + 4])[0]
            if marker in (0xC0, 0xC1, 0xC2):
                height, width = struct.unpack(">HH", data[i + 5 : i + 9])
                return int(width), int(height)
            i += 2 + length
    return 1280, 720


def _ids(stored: StoredFile) -> JSON:
    return {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id}


def photo_sizes(stored: StoredFile) -> list[JSON]:
    """The ``photo`` array; one size (the original) is enough for ``message.photo[-1]``."""
    width, height = image_size(stored.content)
    return [{**_ids(stored), "file_size": stored.file_size, "width": width, "height": height}]


def document(stored: StoredFile) -> JSON:
    """A ``Document`` object."""
    doc = _ids(stored)
    if stored.file_name:
        doc["file_name"] = stored.file_name
    if stored.mime_type:
        doc["mime_type"] = stored.mime_type
    doc["file_size"] = stored.file_size
    return doc


def voice(stored: StoredFile, duration: int) -> JSON:
    """A ``Voice`` object."""
    return {
        **_ids(stored),
        "duration": duration,
        "mime_type": "audio/ogg",
        "file_size": stored.file_size,
    }


def sticker(stored: StoredFile, emoji: str) -> JSON:
    """A static ``Sticker`` object."""
    return {
        **_ids(stored),
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
        "emoji": emoji,
        "file_size": stored.file_size,
    }


def file_object(stored: StoredFile) -> JSON:
    """The ``File`` object getFile returns (PTB prefixes ``file_path`` with base_file_url)."""
    return {**_ids(stored), "file_size": stored.file_size, "file_path": stored.file_path}
