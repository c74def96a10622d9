"""Survey links: the QR codes that open the citizen survey for a unit or person.

A code opens the survey page (``<JIXIAO_PUBLIC_URL>/s/<token>``) when a public address is
configured, so that citizens without Telegram can answer, else the ``t.me`` deep link;
``citizen_url`` is the one place that chooses.

A link's payload is ``sv_<token>`` (the project's one ``/start`` format, 96 random
bits); only the token's SHA-256 is stored, so the clear link exists only in what is
printed or handed out at creation. Single-use links (一事一评) are for one service
event; reusable ones hang at a service window. A revoked link stops working. Every
link has a short serial (its id, zero-padded) printed under its code, by which it
can be revoked.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.enums import UnitKind
from domain.payload import (
    WEB_SURVEY_PATH,
    PayloadKind,
    StartPayload,
    deep_link,
    new_payload,
    parse_payload,
    parse_web_token,
    web_link,
)
from infra.i18n import N_
from infra.models import OrgUnit, Staff, SurveyLink, SurveyResponse
from services.access import Actor
from services.audit import audit
from services.errors import DomainError

MAX_COUNT = 500
MAX_LABEL = 64  # survey_link.label is String(64)
MAX_REFERENCE = 64  # survey_link.reference is String(64)
_SERIAL_RE = re.compile(r"^(?:no\.?\s*|#)?(\d{1,12})$", re.IGNORECASE)


def citizen_url(public_url: str | None, payload: StartPayload, bot_username: str) -> str:
    """What a survey code prints and encodes: the survey page when ``public_url``
    (``Settings.public_url``) is set, else the ``t.me`` link that opens the bot."""
    return web_link(public_url, payload) if public_url else deep_link(bot_username, payload)


def serial(link_id: int) -> str:
    """The short number printed under a code and used to revoke it: ``000123``."""
    return f"{link_id:06d}"


@dataclass(frozen=True)
class IssuedLink:
    """A link as created: the only moment its clear payload exists."""

    link_id: int
    payload: StartPayload
    unit: str
    staff: str | None
    single_use: bool
    label: str = ""
    reference: str | None = None  # 一事一评: the service or case number it is for

    @property
    def serial(self) -> str:
        return serial(self.link_id)

    def link(self, bot_username: str, public_url: str | None = None) -> str:
        """The address its code encodes (see ``citizen_url``)."""
        return citizen_url(public_url, self.payload, bot_username)


@dataclass(frozen=True)
class LinkView:
    """A stored link for the admin view (no payload: it is not kept)."""

    link_id: int
    unit_id: int
    staff_id: int | None
    staff: str | None
    single_use: bool
    label: str
    created_at: dt.datetime
    created_by: str
    revoked_at: dt.datetime | None
    claimed_at: dt.datetime | None
    responses: int
    reference: str | None = None

    @property
    def serial(self) -> str:
        return serial(self.link_id)

    @property
    def active(self) -> bool:
        """Still opens the survey: not revoked, and (single use) not yet claimed."""
        return self.revoked_at is None and not (self.single_use and self.claimed_at is not None)


def can_manage(actor: Actor, unit_id: int) -> bool:
    """Working-group admins manage every unit's links; a unit head those of the units they head."""
    return actor.is_admin or unit_id in actor.headed_unit_ids


async def unit_by_name(session: AsyncSession, unit_name: str) -> OrgUnit:
    """The active unit of that name, or a DomainError."""
    unit = await session.scalar(select(OrgUnit).where(OrgUnit.name == unit_name.strip()))
    if unit is None or not unit.active:
        raise DomainError(N_("No active unit named {unit}."), unit=unit_name)
    return unit


async def create_links(
    session: AsyncSession,
    *,
    unit_name: str,
    staff_employee_no: str | None,
    count: int,
    single_use: bool,
    label: str = "",
    reference: str = "",
    actor_label: str,
    actor_telegram_id: int | None = None,
    now: dt.datetime,
) -> list[IssuedLink]:
    """``count`` fresh links for a unit, or for one active staff member of that unit.

    ``reference`` (一事一评): the service (事项) or case number (办件编号) a single-use link
    is handed out for; the unit is shown it with the rating.
    """
    if not 1 <= count <= MAX_COUNT:
        raise DomainError(N_("The number of links must be between 1 and {max}."), max=MAX_COUNT)
    label = label.strip()
    if len(label) > MAX_LABEL:
        raise DomainError(N_("The label may be at most {max} characters."), max=MAX_LABEL)
    reference = " ".join(reference.split())
    if reference and not single_use:
        raise DomainError(
            N_("A service or case number belongs on single-use codes only (一事一评).")
        )
    if len(reference) > MAX_REFERENCE:
        raise DomainError(
            N_("The service or case number may be at most {max} characters."), max=MAX_REFERENCE
        )
    unit = await unit_by_name(session, unit_name)
    staff: Staff | None = None
    if staff_employee_no:
        staff = await session.scalar(
            select(Staff).where(Staff.employee_no == staff_employee_no.strip())
        )
        if staff is None:
            raise DomainError(
                N_("No staff member with employee number {employee_no}."),
                employee_no=staff_employee_no,
            )
        if not staff.active or staff.unit_id != unit.id:
            raise DomainError(
                N_("{name} ({employee_no}) is not an active member of {unit}."),
                name=staff.name,
                employee_no=staff.employee_no,
                unit=unit.name,
            )
    payloads = [new_payload(PayloadKind.SURVEY) for _ in range(count)]
    rows = [
        SurveyLink(
            token_hash=payload.token_hash,
            unit_id=unit.id,
            staff_id=staff.id if staff else None,
            single_use=single_use,
            label=label,
            reference=reference or None,
            created_at=now,
            created_by=actor_label[:64],
        )
        for payload in payloads
    ]
    session.add_all(rows)
    await session.flush()
    await audit(
        session,
        "survey_link.create",
        actor_label=actor_label,
        actor_telegram_id=actor_telegram_id,
        object_type="org_unit",
        object_id=str(unit.id),
        detail={
            "count": count,
            "single_use": single_use,
            "staff_id": staff.id if staff else None,
            "label": label,
            "reference": reference or None,
            "link_ids": [rows[0].id, rows[-1].id],
        },
        at=now,
    )
    return [
        IssuedLink(
            row.id,
            payload,
            unit.name,
            staff.name if staff else None,
            single_use,
            label,
            reference or None,
        )
        for row, payload in zip(rows, payloads, strict=True)
    ]


async def resolve(session: AsyncSession, payload: StartPayload) -> SurveyLink | None:
    """The stored link of a ``sv_`` payload (revoked or claimed ones too), or None."""
    if payload.kind is not PayloadKind.SURVEY:
        return None
    return await session.scalar(
        select(SurveyLink).where(SurveyLink.token_hash == payload.token_hash)
    )


async def find(session: AsyncSession, ref: int | str | StartPayload) -> SurveyLink | None:
    """A link by id, serial (``000123``, ``No. 123``), payload (``sv_…``), full ``t.me`` link
    or survey page address (``…/s/<token>``)."""
    if isinstance(ref, StartPayload):
        return await resolve(session, ref)
    if isinstance(ref, int):
        return await session.get(SurveyLink, ref)
    text = ref.strip()
    if "start=" in text:
        text = text.split("start=", 1)[1].split("&", 1)[0]
    match = _SERIAL_RE.match(text)
    if match is not None:
        return await session.get(SurveyLink, int(match.group(1)))
    if WEB_SURVEY_PATH in text:
        token = text.rsplit(WEB_SURVEY_PATH, 1)[1].split("?", 1)[0].split("#", 1)[0]
        payload = parse_web_token(token)
        return await resolve(session, payload) if payload is not None else None
    payload = parse_payload(text)
    return await resolve(session, payload) if payload is not None else None


async def revoke(
    session: AsyncSession,
    link_id_or_payload: int | str | StartPayload,
    *,
    actor_label: str,
    actor_telegram_id: int | None = None,
    now: dt.datetime,
) -> SurveyLink:
    """Stop a link from opening the survey; answers already given stay."""
    link = await find(session, link_id_or_payload)
    if link is None:
        raise DomainError(N_("No survey link {serial}."), serial=str(link_id_or_payload))
    if link.revoked_at is not None:
        raise DomainError(N_("Survey link {serial} was already revoked."), serial=serial(link.id))
    link.revoked_at = now
    await audit(
        session,
        "survey_link.revoke",
        actor_label=actor_label,
        actor_telegram_id=actor_telegram_id,
        object_type="survey_link",
        object_id=str(link.id),
        detail={"unit_id": link.unit_id, "staff_id": link.staff_id},
        at=now,
    )
    return link


async def links_of_unit(session: AsyncSession, unit_id: int) -> list[LinkView]:
    """Every link of a unit, newest first, with how many responses each brought."""
    responses = (
        select(SurveyResponse.link_id, func.count().label("n"))
        .group_by(SurveyResponse.link_id)
        .subquery()
    )
    rows = (
        await session.execute(
            select(SurveyLink, Staff.name, func.coalesce(responses.c.n, 0))
            .outerjoin(Staff, Staff.id == SurveyLink.staff_id)
            .outerjoin(responses, responses.c.link_id == SurveyLink.id)
            .where(SurveyLink.unit_id == unit_id)
            .order_by(SurveyLink.id.desc())
        )
    ).all()
    return [
        LinkView(
            link_id=link.id,
            unit_id=link.unit_id,
            staff_id=link.staff_id,
            staff=staff_name,
            single_use=link.single_use,
            label=link.label,
            created_at=link.created_at,
            created_by=link.created_by,
            revoked_at=link.revoked_at,
            claimed_at=link.claimed_at,
            reference=link.reference,
            responses=int(n),
        )
        for link, staff_name, n in rows
    ]


async def bureau_name(session: AsyncSession) -> str | None:
    """The bureau's name for the survey page's front door: its top unit of kind 局, if any."""
    name = await session.scalar(
        select(OrgUnit.name)
        .where(OrgUnit.kind == UnitKind.BUREAU, OrgUnit.parent_id.is_(None), OrgUnit.active)
        .order_by(OrgUnit.sort_order, OrgUnit.id)
        .limit(1)
    )
    return str(name) if name else None
