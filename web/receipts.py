"""A 差评's receipt code for the minute after its survey ended, for a double tap alone.

The code is shown once, by the response to the answer that ended the survey, and only its
hash is stored. A double tap sends that answer twice and the browser shows the second
response, which finds the survey already ended: without this it would say 已提交 and the
code would be lost. So the code is kept in this worker's memory for a minute, and given
once more, then forgotten, to the same visitor sending the same last answer again. Never by
reopening the link (a GET): the next person at a shared device does not see it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

WINDOW: Final = 60.0  # seconds: a double tap, or a slow network's retry


@dataclass
class JustShown:
    """Receipt codes by response id, with the monotonic time they were shown."""

    codes: dict[int, tuple[str, float]] = field(default_factory=dict)

    def remember(self, response_id: int, code: str, now: float) -> None:
        self.codes = {k: v for k, v in self.codes.items() if now - v[1] <= WINDOW}
        self.codes[response_id] = (code, now)

    def take(self, response_id: int, now: float) -> str | None:
        """The code once more within the window, then never again."""
        found = self.codes.pop(response_id, None)
        return found[0] if found is not None and now - found[1] <= WINDOW else None
