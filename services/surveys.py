"""Citizen satisfaction surveys (四(二)4): claim a link, answer, finish, feed the citizen source.

Respondents are pseudonymous (:class:`Respondent`): the key is an HMAC of the Telegram id,
or of ``web:<id>`` for the random id in a survey page's signed cookie, with a secret that is
configured or generated and stored on first start (``infra.secret_store``), never derived
from the bot token; enough for the abuse limits and the rule of one counted response per
person, unit and day, whatever the link. The raw Telegram id is stored only when the citizen
asks for a reply in the chat, and erased once the reply is queued (services.rectification);
a web citizen reads the reply on the page with the item's number and a receipt code.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from decimal import Decimal
from html import escape
from typing import Any, Final, Literal

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.enums import (
    CycleKind,
    CyclePhase,
    RectificationStatus,
    ResponseStatus,
    Satisfaction,
)
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
    TemplateVersion,
)
from services import survey_rows
from services.cases import Env
from services.cycles import touch_periods_of
from services.errors import DomainError
from services.rectification import open_for_response
from services.survey_rows import AnswerRow, ResponseRow
from services.templates import localized
from services.templates.stored import template_of, template_with_digest

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


def _pseudonym(key: bytes, subject: int | str) -> str:
    return hmac.new(key, str(subject).encode(), hashlib.sha256).hexdigest()


Channel = Literal["telegram", "web"]


@dataclass(frozen=True)
class Respondent:
    """Who answers, as the rules need them: a pseudonymous ``key`` (the limits and the one
    response per unit and day), the front end (``channel``, counted apart in the statistics)
    and, in the chat only, the Telegram id (for a reply there, and to recognise staff)."""

    key: str
    channel: Channel
    telegram_id: int | None = None


def telegram_respondent(settings: Settings, telegram_id: int) -> Respondent:
    return Respondent(respondent_key(settings, telegram_id), "telegram", telegram_id)


def web_respondent(settings: Settings, web_id: str) -> Respondent:
    """A survey page's visitor, known by the random id of their signed cookie.

    Staff are not known on the web (nothing ties a browser to a Telegram account), so the
    rule that staff cannot rate their own unit applies in the chat only.
    """
    return Respondent(_pseudonym(settings.hmac_key, f"web:{web_id}"), "web")


# A web 差评's receipt code: short enough to copy from a phone screen, from an alphabet
# without look-alikes (no 0/O, 1/I/L, 2/Z, 5/S, 8/B); with the item's number it opens the
# unit's reply on the page. Only its hash is stored.
RECEIPT_ALPHABET: Final = "34679ACDEFGHJKMNPQRTUVWXY"
RECEIPT_LENGTH: Final = 8


def new_receipt() -> str:
    return "".join(secrets.choice(RECEIPT_ALPHABET) for _ in range(RECEIPT_LENGTH))


def normalize_receipt(text: str) -> str:
    """What the citizen typed, as issued: upper case, without spaces or dashes."""
    return "".join(text.split()).replace("-", "").upper()


def receipt_hash(settings: Settings, code: str) -> str:
    """Keyed, so a copy of the database cannot try the ~10¹¹ codes offline."""
    return _pseudonym(settings.hmac_key, f"receipt:{normalize_receipt(code)}")


@dataclass
class SurveyView:
    """A response with what is needed to show its next step: mapped objects (``load_view``),
    or plain rows that ``save_tap`` writes back (``load_tap``, a citizen's tap in the chat)."""

    response: SurveyResponse | ResponseRow
    spec: SurveySpec
    unit: str
    staff: str | None
    answers: dict[str, SurveyAnswer | AnswerRow]
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


async def load_view(session: AsyncSession, response_id: int, *, fresh: bool = False) -> SurveyView:
    """The response and all a step shows of it, in one query: its answers (a row each),
    unit, staff, link and template digest joined to it. A citizen's tap reads this once, so
    one round trip instead of six (issue 12); the rectification only exists once complete."""
    rows = (
        await session.execute(
            select(
                SurveyResponse,
                OrgUnit.name,
                Staff.name,
                SurveyLink.reference,
                TemplateVersion.digest,
                SurveyAnswer,
            )
            .select_from(survey_rows.JOINED)  # the join a tap reads as plain rows
            .where(SurveyResponse.id == response_id)
            # fresh: the rows as stored now, over any copy this session holds (a tap wrote
            # them as plain rows: ``save_tap``)
            .execution_options(populate_existing=fresh)
        )
    ).all()
    if not rows:
        raise DomainError(N_("This survey link is not valid or no longer in use."))
    response, unit, staff, reference, digest, _answer = rows[0]
    answers: dict[str, SurveyAnswer | AnswerRow] = {
        row[5].question: row[5] for row in rows if row[5] is not None
    }
    return await _view(session, response, answers, unit, staff, reference, digest)


async def load_tap(session: AsyncSession, response_id: int) -> SurveyView:
    """As ``load_view``, as plain rows (``services.survey_rows``): what a tap in the chat
    reads; its changes are written by ``save_tap``. One Core query, no mapped objects."""
    got = await survey_rows.read(session, response_id)
    if got is None:
        raise DomainError(N_("This survey link is not valid or no longer in use."))
    return await _view(
        session,
        got.response,
        dict(got.answers),
        got.unit,
        got.staff,
        got.reference,
        got.digest,
    )


async def save_tap(session: AsyncSession, view: SurveyView) -> None:
    """Write the changes of a view read by ``load_tap`` (mapped objects flush themselves)."""
    if isinstance(view.response, ResponseRow):
        rows = [a for a in view.answers.values() if isinstance(a, AnswerRow)]
        await survey_rows.save(session, view.response, rows)


async def _view(
    session: AsyncSession,
    response: SurveyResponse | ResponseRow,
    answers: dict[str, SurveyAnswer | AnswerRow],
    unit: str | None,
    staff: str | None,
    reference: str | None,
    digest: str | None,
) -> SurveyView:
    template = (
        await template_with_digest(session, response.template_id, digest)
        if response.template_id is not None and digest is not None
        else None
    )
    rect = (
        await session.scalar(
            select(Rectification.id).where(Rectification.response_id == response.id)
        )
        if response.status == ResponseStatus.COMPLETE
        else None  # opened by ``finish``, in the transaction that completes the response
    )
    return SurveyView(
        response,
        survey_of(template) if template else DEFAULT_SURVEY,
        unit or "",
        staff,
        answers,
        reference=reference,
        rectification_id=rect,
    )


async def _mine(session: AsyncSession, link: SurveyLink, key: str) -> SurveyResponse | None:
    """This respondent's response to a single-use link they claimed."""
    return await session.scalar(
        select(SurveyResponse).where(
            SurveyResponse.link_id == link.id, SurveyResponse.respondent_key == key
        )
    )


async def _today(
    session: AsyncSession, link: SurveyLink, key: str, day: dt.date
) -> SurveyResponse | None:
    """This respondent's response of ``day`` about the link's unit, whatever the link: the
    one counted response per person, unit and day."""
    return await session.scalar(
        select(SurveyResponse)
        .where(
            SurveyResponse.respondent_key == key,
            SurveyResponse.unit_id == link.unit_id,
            SurveyResponse.day == day,
        )
        .order_by(SurveyResponse.id)
        .limit(1)
    )


async def begin(
    session: AsyncSession,
    payload: StartPayload,
    *,
    respondent: Respondent,
    settings: Settings,
    now: dt.datetime,
    locale: str,
) -> tuple[SurveyResponse, bool]:
    """Claim or resume the response of this link for this person; (response, resumed).

    Refuses, storing nothing: an unknown or revoked link, a single-use link someone else
    claimed, a second response about the same unit the same day (whatever the link, so
    it is never counted), staff rating their own unit (when known: in the chat), too many
    surveys.
    """
    link = await session.scalar(
        select(SurveyLink).where(SurveyLink.token_hash == payload.token_hash)
    )
    if link is None or link.revoked_at is not None:
        raise DomainError(N_("This survey link is not valid or no longer in use."))
    key = respondent.key
    account = (
        await session.get(TelegramAccount, respondent.telegram_id)
        if respondent.telegram_id is not None
        else None
    )
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
        mine = await _mine(session, link, key)
        if mine is None or mine.status == ResponseStatus.COMPLETE:
            raise DomainError(N_("You have already completed this survey. Thank you!"))
        return mine, True
    day = now.astimezone(settings.tz).date()
    # One counted response per person, unit and day, whatever the link (一事一評 links too):
    # otherwise one account with a stack of single-use codes rates a unit thirty times.
    today = await _today(session, link, key, day)
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
        channel=respondent.channel,
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
        given: dict[str, Any] = {
            "response_id": view.response.id,
            "question": question,
            "indicator": indicator,
            "level": satisfaction,
            "points": view.spec.points_for(satisfaction),
            "answered_at": now,
        }
        if isinstance(view.response, ResponseRow):  # a tap's rows: ``save_tap`` inserts it
            view.answers[question] = AnswerRow(**given)
        else:
            mapped = SurveyAnswer(**given)
            session.add(mapped)
            view.answers[question] = mapped
    else:
        existing.level, existing.points, existing.answered_at = (
            satisfaction,
            view.spec.points_for(satisfaction),
            now,
        )
        if isinstance(existing, AnswerRow):
            existing.changed = True
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
    respondent: Respondent,
    now: dt.datetime,
    settings: Settings,
) -> str | None:
    """Complete the response; a 差评 (by the overall level) opens a rectification item for
    the unit head, whose number the citizen is given (``view.rectification_id``).

    On the web a 差评 also gets a receipt code, returned once (only its hash is kept): with
    the number it shows the unit's reply on the page and lets the citizen rate it.
    """
    _check(view, respondent.key)
    response = view.response
    if not isinstance(response, SurveyResponse):  # a tap's rows: see conversations.survey
        raise TypeError("finish takes a view of mapped objects (load_view), not plain rows")
    receipt: str | None = None
    if view.bad:
        response.wants_reply = bool(wants_reply)
        response.reply_chat_id = respondent.telegram_id if wants_reply else None
        if respondent.channel == "web":
            receipt = new_receipt()
            response.receipt_hash = receipt_hash(settings, receipt)
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
    return receipt


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


@dataclass
class Peek:
    """What a survey page shows before anything is stored: the link (None: unknown, revoked,
    or a single-use link someone else took, all answered alike with 404) and this person's
    own response from it or about its unit today, if any (resumed, or already complete)."""

    link: SurveyLink | None
    mine: SurveyResponse | None = None


async def peek(
    session: AsyncSession,
    payload: StartPayload,
    *,
    respondent: Respondent,
    settings: Settings,
    now: dt.datetime,
) -> Peek:
    """Read-only: a page is shown on GET without claiming the link (a link preview or a
    crawler must not use up a single-use code); ``begin`` claims it on the first answer."""
    link = await session.scalar(
        select(SurveyLink).where(SurveyLink.token_hash == payload.token_hash)
    )
    if link is None or link.revoked_at is not None:
        return Peek(None)
    key = respondent.key
    if link.single_use and link.claimed_by is not None:
        if link.claimed_by != key:
            return Peek(None)
        mine = await _mine(session, link, key)
        return Peek(link, mine)
    day = now.astimezone(settings.tz).date()
    today = await _today(session, link, key, day)
    return Peek(link, today)


_MOBILE = re.compile(r"1[3-9]\d{9}")
_LANDLINE = re.compile(r"0\d{9,11}")  # area code (2–3 digits after the 0) and 7–8 digits


def parse_phone(text: str) -> str:
    """A mainland mobile (13800138000) or landline (010-12345678) number, digits only; the
    separators people type (spaces, dashes, brackets, a +86 prefix) are dropped."""
    digits = re.sub(r"[\s\-()（）]", "", text.strip())
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    if not (_MOBILE.fullmatch(digits) or _LANDLINE.fullmatch(digits)):
        raise DomainError(
            N_(
                "This does not look like a phone number. Please enter a mobile number (11 digits) or a landline with its area code."
            )
        )
    return digits


async def leave_phone(
    session: AsyncSession, response_id: int, phone: str, *, respondent: Respondent
) -> None:
    """A web citizen's number for a return call (回访) about their 差评, kept until the item
    is closed and shown to the unit head alone."""
    response = await session.get(SurveyResponse, response_id)
    if response is None or not hmac.compare_digest(response.respondent_key, respondent.key):
        raise DomainError(N_("This survey is not yours."))
    rect = await session.scalar(
        select(Rectification).where(Rectification.response_id == response.id)
    )
    if rect is None or rect.status not in (RectificationStatus.OPEN, RectificationStatus.ANSWERED):
        raise DomainError(N_("This can no longer be changed. Thank you all the same."))
    response.callback_phone = parse_phone(phone)


async def receipt_item(
    session: AsyncSession, settings: Settings, rect_id: int, code: str
) -> Rectification | None:
    """The item a web citizen proves with its number and receipt code; None for any wrong
    pair, alike whether the number exists or not."""
    rect = await session.get(Rectification, rect_id) if 0 < rect_id < 2**31 else None
    response = await session.get(SurveyResponse, rect.response_id) if rect else None
    expected = response.receipt_hash if response is not None else None
    given = receipt_hash(settings, code)
    if expected is None or not hmac.compare_digest(expected, given):
        return None
    return rect
