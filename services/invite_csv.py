"""The list of issued invite codes as a CSV file, the same from the bot and the CLI (二)."""

from __future__ import annotations

from infra.i18n import Translator
from services import files
from services.invites import IssuedInvite


def invites_csv(rows: list[IssuedInvite], bot_username: str, tr: Translator) -> bytes:
    """CSV with BOM so Excel on Chinese Windows opens it correctly; names made formula-safe."""
    return files.csv_bytes(
        ["employee_no", "name", "unit", "code", "link", "expires"],
        (
            [
                r.employee_no,
                r.name,
                r.unit,
                str(r.payload),
                r.link(bot_username),
                tr.date(r.expires_at),
            ]
            for r in rows
        ),
    )
