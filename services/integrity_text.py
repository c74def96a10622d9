"""The integrity signals (``scoring.integrity``) as lines people read, with names.

Shown to the working group with the scored results and to the leadership group in the
approval request, never to a rated person: both audiences judge whether a grade stands,
so both see who the signals are about. Apart from ``services.results`` (which finds the
signals) because this is wording, and shared by the chat and the pushed request.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.text import N_, html_format
from infra.i18n import Translator
from infra.models import Staff
from scoring import Signal

SHOWN = 15  # signals listed; the rest are counted

SIGNAL_TEXT = {
    "mutual_top_peer": N_("Gave each other top peer scores: {who}"),
    "straight_lining": N_("The same answer on every item of a form: {who}"),
    "self_above_others": N_("Self-assessment far above the superior's and peers': {who}"),
    "repeated_bad_reviews": N_("Many negative ratings from one citizen account ({who})"),
}


async def staff_names(session: AsyncSession) -> dict[int, str]:
    return {int(i): n for i, n in (await session.execute(select(Staff.id, Staff.name))).all()}


def signal_lines(
    signals: Sequence[Signal], names: Mapping[int, str], tr: Translator, *, heading: str
) -> list[str]:
    """``heading`` then one bullet per signal naming the people (citizens stay anonymous)."""
    if not signals:
        return []

    def who(keys: tuple[str, ...]) -> str:
        return tr.join(
            names.get(int(k[2:]), k) if k.startswith("p:") else tr._("anonymous citizen")
            for k in keys
        )

    lines: list[str] = ["", heading]
    for sig in signals[:SHOWN]:
        people = sig.raters if sig.kind != "self_above_others" else sig.ratees
        lines.append(
            "• " + html_format(tr._(SIGNAL_TEXT.get(sig.kind, sig.kind)), who=who(tuple(people)))
        )
    if len(signals) > SHOWN:
        lines.append(html_format(tr._("… and {count} more."), count=len(signals) - SHOWN))
    return lines
