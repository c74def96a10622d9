"""Stored template versions, parsed once per process.

A version never changes once stored and its digest names its content (``TemplateVersion``),
so the parsed ``Template`` is kept by digest: a form step or a citizen's tap reads the
digest, not the whole template, and does not parse it again (issue 12). Keyed by digest,
not id, so a process that meets several databases (the tests) never mixes them up.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.template import Template
from infra.models import TemplateVersion

_PARSED: dict[str, Template] = {}
_KEPT = 16  # a handful of versions a year; past this the cache starts again


async def template_of(
    session: AsyncSession, version_id: int, digest: str | None = None
) -> Template | None:
    """The stored template version ``version_id``, parsed; None if there is no such version.

    ``digest``: the version's digest, when the caller read it with its own rows (one
    statement fewer)."""
    if digest is None:
        digest = await session.scalar(
            select(TemplateVersion.digest).where(TemplateVersion.id == version_id)
        )
    if digest is None:
        return None
    return await template_with_digest(session, version_id, digest)


async def template_with_digest(session: AsyncSession, version_id: int, digest: str) -> Template:
    """Version ``version_id`` whose digest the caller read already (joined to its own row):
    no query at all once this process has parsed it."""
    template = _PARSED.get(digest)
    if template is None:
        content = await session.scalar(
            select(TemplateVersion.content).where(TemplateVersion.id == version_id)
        )
        template = Template.from_dict(content or {})
        if len(_PARSED) >= _KEPT:
            _PARSED.clear()
        _PARSED[digest] = template
    return template
