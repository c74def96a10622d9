"""Citizen satisfaction surveys (四(二)4): claim a link, answer, finish, feed the citizen source.

Respondents are pseudonymous: the key is an HMAC of the Telegram id with a secret that is
configured or generated and stored on first start (``infra.secret_store``), never derived
from the bot token; enough for the abuse limits and the rule of one counted response per
person, unit and day, whatever the link. The raw id is stored only when the citizen asks
for a reply, and erased once the reply is queued (services.rectification).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass
from decimal import Decimal
from html import escape

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.enums import CycleKind, CyclePhase, ResponseStatus, Satisfaction
from domain.payload import StartPayload
from domain.template import DEFAULT_SURVEY, SurveySpec, Template, survey_of
from domain.template.survey import OVERALL as SURVEY_OVERALL
from domain.text import N_
from infra.config import Settings
from infra.models import (
    Cycle,
    OrgUnit,
    Rectification,
    Staff,
    SurveyAnswer,
    SurveyLink,
    SurveyResponse,
    TelegramAccount,
)
from services.cases import Env
from services.cycles import touch_periods_of
from services.errors import DomainError
from services.rectification import open_for_response
from services.templates import localized
from services.templates.stored import template_of

LEVELS = list(Satisfaction)
MAX_COMMENT = 500
MAX_PER_HOUR = 10
OVERALL = SURVEY_OVERALL  # the first step: the overall level, stored as an answer
TAGS = "tags"  # what went well (and a comment), or what went wrong (the reason of a 差评)
REPLY = "reply"
DONE = "done"


def daily_dedupe_key(unit_id: int, day: dt.date) -> str:
    """The key the database keeps unique per respondent: one response per unit and day."""
    return f"u:{unit_id}@{day.isoformat()}"


def respondent_key(settings: Settings, telegram_id: int) -> str:
    """The pseudonym of a Telegram user: stable, not reversible without the secret."""
    return _pseudonym(settings.hmac_key, telegram_id)


def respondent_keys(settings: Settings, telegram_id: int) -> tuple[str, ...]:
    """The pseudonym, then any the user had before the key was stored (to recognise old
    buttons only; nothing new is signed with them)."""
    return tuple(_pseudonym(key, telegram_id) for key in settings.hmac_keys)


def _pseudonym(key: bytes, telegram_id: int) -> str:
    return hmac.new(key, str(telegram_id).encode(), hashlib.sha256).hexdigest()


@dataclass
class SurveyView:
    """A response with what is needed to show its next step."""

    response: SurveyResponse
    spec: SurveySpec
    unit: str
    staff: str | None
    answers: dict[str, SurveyAnswer]
    reference: str | None = None  # the link's service reference (一事一评)
    rectification_id: int | None = None  # set by ``finish`` when a 差评 opened an item

    @property
    def bad(self) -> bool:
        """A 差评: decided by the overall level alone, as the standard does."""
        overall = self.response.overall
        return overall is not None and overall.is_bad

    @property
    def tags(self) -> list[int]:
        """The tags chosen for the overall level: problems after a 差评, praise otherwise."""
        r = self.response
        return list((r.problems if self.bad else r.praise) or [])

    def next_step(self) -> str:
        """Overall level, the questions, the tags (with a comment, or the reason of a 差评),
        then for a 差评 whether to reply."""
        if OVERALL not in self.answers:
            return OVERALL
        for q in self.spec.questions:
            if q.code not in self.answers:
                return q.code
        r = self.response
        if (r.problem_text if self.bad else r.comment) is None:
            return TAGS
        if self.bad and r.wants_reply is None:
            return REPLY
        return DONE


async def current_template(session: AsyncSession) -> tuple[int | None, Template | None]:
    """The template of the collecting quarter, else of the latest cycle, else none (default survey)."""
    cycle = await session.scalar(
        select(Cycle).where(Cycle.kind == CycleKind.QUARTER, Cycle.phase == CyclePhase.COLLECTING)
    ) or await session.scalar(select(Cycle).order_by(Cycle.id.desc()))
    if cycle is None:
        return None, None
    template = await template_of(session, cycle.template_id)
    return (cycle.template_id, template) if template else (None, None)


async def load_view(session: AsyncSession, response_id: int) -> SurveyView:
    response = await session.get(SurveyResponse, response_id)
    if response is None:
        raise DomainError(N_("This survey link is not valid or no longer in use."))
    template = await template_of(session, response.template_id) if response.template_id else None
    spec = survey_of(template) if template else DEFAULT_SURVEY
    unit = await session.get(OrgUnit, response.unit_id)
    staff = await session.get(Staff, response.staff_id) if response.staff_id else None
    answers = {
        a.question: a
        for a in await session.scalars(
            select(SurveyAnswer).where(SurveyAnswer.response_id == response.id)
        )
    }
    link = await session.get(SurveyLink, response.link_id)
    rect = await session.scalar(
        select(Rectification.id).where(Rectification.response_id == response.id)
    )
    return SurveyView(
        response,
        spec,
        unit.name if unit else "",
        staff.name if staff else None,
        answers,
        reference=link.reference if link else None,
        rectification_id=rect,
    )


async def begin(
    session: AsyncSession,
    payload: StartPayload,
    *,
    telegram_id: int,
    settings: Settings,
    now: dt.datetime,
    locale: str,
) -> tuple[SurveyResponse, bool]:
    """Claim or resume the response of this link for this person; (response, resumed).

    Refuses, storing nothing: an unknown or revoked link, a single-use link someone else
    claimed, a second response about the same unit the same day (whatever the link, so
    it is never counted), staff rating their own unit, too many surveys.
    """
    link = await session.scalar(
        select(SurveyLink).where(SurveyLink.token_hash == payload.token_hash)
    )
    if link is None or link.revoked_at is not None:
        raise DomainError(N_("This survey link is not valid or no longer in use."))
    key = respondent_key(settings, telegram_id)
    account = await session.get(TelegramAccount, telegram_id)
    if account is not None and account.staff_id is not None:
        staff = await session.get(Staff, account.staff_id)
        if staff is not None and staff.active and staff.unit_id == link.unit_id:
            raise DomainError(
                N_("Staff cannot rate their own unit. This survey is for the people we serve.")
            )
    target = f"s:{link.staff_id}" if link.staff_id else f"u:{link.unit_id}"
    if link.single_use and link.claimed_by is not None:
        if link.claimed_by != key:
            raise DomainError(
                N_(
                    "This survey link has already been used. Each link is for one service; thank you all the same."
                )
            )
        mine = await session.scalar(
            select(SurveyResponse).where(
                SurveyResponse.link_id == link.id, SurveyResponse.respondent_key == key
            )
        )
        if mine is None or mine.status == ResponseStatus.COMPLETE:
            raise DomainError(N_("You have already completed this survey. Thank you!"))
        return mine, True
    day = now.astimezone(settings.tz).date()
    # One counted response per person, unit and day, whatever the link (一事一評 links too):
    # otherwise one account with a stack of single-use codes rates a unit thirty times.
    today = await session.scalar(
        select(SurveyResponse)
        .where(
            SurveyResponse.respondent_key == key,
            SurveyResponse.unit_id == link.unit_id,
            SurveyResponse.day == day,
        )
        .order_by(SurveyResponse.id)
        .limit(1)
    )
    if today is not None:
        if today.status == ResponseStatus.COMPLETE:
            unit = await session.get(OrgUnit, link.unit_id)
            raise DomainError(
                N_(
                    "You have already rated {unit} today; one rating per person, unit and day is counted. Thank you!"
                ),
                unit=escape(localized(unit.name, locale), quote=False) if unit else "",
            )
        return today, True  # finish the one already started (a single-use link stays free)
    recent = await session.scalar(
        select(func.count())
        .select_from(SurveyResponse)
        .where(
            SurveyResponse.respondent_key == key,
            SurveyResponse.started_at > now - dt.timedelta(hours=1),
        )
    )
    if (recent or 0) >= MAX_PER_HOUR:
        raise DomainError(N_("You have sent many surveys in a short time. Please try again later."))
    template_id, _template = await current_template(session)
    dedupe = daily_dedupe_key(link.unit_id, day)
    response = SurveyResponse(
        link_id=link.id,
        unit_id=link.unit_id,
        staff_id=link.staff_id,
        target_key=target,
        respondent_key=key,
        dedupe_key=dedupe,
        day=day,
        template_id=template_id,
        locale=locale,
        started_at=now,
        problems=[],
    )
    if link.single_use:
        # claim only if still free: two people scanning one code at once get one response
        claimed = await session.execute(
            update(SurveyLink)
            .where(SurveyLink.id == link.id, SurveyLink.claimed_by.is_(None))
            .values(claimed_by=key, claimed_at=now)
        )
        if not claimed.rowcount:  # type: ignore[attr-defined]
            raise DomainError(
                N_(
                    "This survey link has already been used. Each link is for one service; thank you all the same."
                )
            )
    session.add(response)
    await session.flush()
    return response, False


def _check(view: SurveyView, key: str) -> None:
    if view.response.respondent_key != key:
        raise DomainError(N_("This survey is not yours."))
    if view.response.status == ResponseStatus.COMPLETE:
        raise DomainError(N_("You have already completed this survey. Thank you!"))


async def answer(
    session: AsyncSession,
    view: SurveyView,
    question: str,
    level: int,
    *,
    key: str,
    now: dt.datetime,
) -> None:
    """The level of the overall question (which decides a 差评) or of one question."""
    _check(view, key)
    spec_q = view.spec.question(question)
    if question == OVERALL:
        indicator = view.spec.overall_indicator
    elif spec_q is not None:
        indicator = spec_q.indicator
    else:
        raise DomainError(N_("This button has expired. Here is where you are now."))
    if not 0 <= level < len(LEVELS):
        raise DomainError(N_("This button has expired. Here is where you are now."))
    satisfaction = LEVELS[level]
    if question == OVERALL:
        view.response.overall = satisfaction
    existing = view.answers.get(question)
    if existing is None:
        existing = SurveyAnswer(
            response_id=view.response.id,
            question=question,
            indicator=indicator,
            level=satisfaction,
            points=view.spec.points_for(satisfaction),
            answered_at=now,
        )
        session.add(existing)
        view.answers[question] = existing
    else:
        existing.level, existing.points, existing.answered_at = (
            satisfaction,
            view.spec.points_for(satisfaction),
            now,
        )
    view.response.cursor = view.next_step()


REASON_REQUIRED = N_(
    "Please tell us what went wrong: choose at least one of the reasons, or type it here."
)


def _clean(text: str) -> str:
    text = text.strip()
    if len(text) > MAX_COMMENT:
        raise DomainError(
            N_(
                "Your text has {length} characters; at most {limit} are allowed. Please shorten it and send it again."
            ),
            length=len(text),
            limit=MAX_COMMENT,
        )
    return text


def toggle_tag(view: SurveyView, index: int, *, key: str) -> None:
    """Tick or untick one tag of those offered for the overall level (several may apply)."""
    _check(view, key)
    labels, _en = view.spec.tags(view.bad)
    if not 0 <= index < len(labels):
        raise DomainError(N_("This button has expired. Here is where you are now."))
    chosen = view.tags
    chosen.remove(index) if index in chosen else chosen.append(index)
    if view.bad:
        view.response.problems = sorted(chosen)
    else:
        view.response.praise = sorted(chosen)


def finish_tags(view: SurveyView, text: str | None, *, key: str) -> None:
    """Close the tag step: ``text`` is the citizen's own words (None: "完成" was tapped).

    A 差评 must carry a reason, chosen or written; otherwise the words are a comment and
    everything is optional.
    """
    _check(view, key)
    words = _clean(text or "")
    if view.bad:
        if not words and not view.tags:
            raise DomainError(REASON_REQUIRED)
        view.response.problem_text = words
    else:
        view.response.comment = words
    view.response.cursor = view.next_step()


async def finish(
    session: AsyncSession,
    view: SurveyView,
    *,
    wants_reply: bool | None,
    telegram_id: int,
    key: str,
    now: dt.datetime,
    settings: Settings,
) -> None:
    """Complete the response; a 差评 (by the overall level) opens a rectification item for
    the unit head, whose number the citizen is given (``view.rectification_id``)."""
    _check(view, key)
    response = view.response
    if view.bad:
        response.wants_reply = bool(wants_reply)
        response.reply_chat_id = telegram_id if wants_reply else None
    if view.next_step() != DONE:
        raise DomainError(N_("Some questions are still unanswered."))
    response.status = ResponseStatus.COMPLETE
    response.completed_at = now
    response.cursor = DONE
    await touch_periods_of(session, now, settings.tz)  # a new citizen rating for scoring
    if view.bad:
        rect = await open_for_response(
            session,
            response,
            now=now,
            working_days=view.spec.rectification_working_days,
            env=Env.of(settings),
        )
        view.rectification_id = rect.id


async def citizen_points(
    session: AsyncSession, *, start: dt.datetime, end: dt.datetime
) -> dict[str, dict[str, list[Decimal]]]:
    """Points per target ("u:<unit>"/"s:<staff>") and indicator from complete, counted responses
    that arrived in [start, end): the citizen source of scoring (excluded 差评 do not count)."""
    rows = await session.execute(
        select(SurveyResponse.target_key, SurveyAnswer.indicator, SurveyAnswer.points)
        .join(SurveyAnswer, SurveyAnswer.response_id == SurveyResponse.id)
        .where(
            SurveyResponse.status == ResponseStatus.COMPLETE,
            SurveyResponse.excluded.is_(False),
            SurveyResponse.completed_at >= start,
            SurveyResponse.completed_at < end,
        )
    )
    out: dict[str, dict[str, list[Decimal]]] = {}
    for target, indicator, points in rows:
        out.setdefault(target, {}).setdefault(indicator, []).append(points)
    return out
