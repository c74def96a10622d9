"""``/s/<token>``: the survey, one step per page, as the chat asks it (``conversations.survey``).

GET shows where this visitor is (nothing is stored: a link preview must not use up a code);
each answer is a POST stored in one transaction, then a redirect to GET (Post/Redirect/Get),
so a reload never answers twice and an abandoned survey resumes at its next step. The first
answer claims the link through ``services.surveys.begin``, under the same rules as the chat.

The answer that ends the survey is the exception: its own response shows the thanks and a
差评's receipt code, which exists nowhere else (only its hash is kept, no cookie holds it;
``web.receipts`` keeps it a minute for a double tap's second request). On a shared device
(a counter pad) the next person who opens the link sees only that it was submitted, with
the number: never the code, nor the phone field.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from domain.enums import ResponseStatus
from domain.labels import SATISFACTION_LABELS
from domain.payload import StartPayload, deep_link, parse_web_token
from domain.template import DEFAULT_SURVEY, survey_of
from infra.i18n import N_, Translator
from infra.models import OrgUnit, Staff, SurveyLink, SurveyResponse
from services import surveys
from services.errors import DomainError
from services.templates import localized
from web import identity
from web.forms import checked_form
from web.pages import message, redirect, render, translator
from web.state import WebState

NOT_FOUND_TITLE = N_("Page not found")
NOT_FOUND = N_("This survey link is not valid or no longer in use.")
TITLE = N_("Citizen satisfaction survey")


def payload_of(token: str) -> StartPayload:
    """The survey payload of ``/s/<token>`` (the part of the chat's ``sv_<token>`` after the
    prefix, as every printed link carries it); 404 if it cannot be one. A token is never
    read with its prefix: a bare token may itself begin with ``sv_``."""
    parsed = parse_web_token(token)
    if parsed is None:
        raise HTTPException(404)
    return parsed


@dataclass
class Page:
    """What every step of the survey shows: the unit, and who or what it is about."""

    unit: str
    staff: str | None
    reference: str | None
    telegram: str | None


async def _page(
    state: WebState, session: Any, link: SurveyLink, payload: StartPayload, locale: str
) -> Page:
    """The unit as the page's language writes it (繁體 converted, as the chat does)."""
    unit = await session.get(OrgUnit, link.unit_id)
    staff = await session.get(Staff, link.staff_id) if link.staff_id else None
    username = (state.settings.bot_username or "").lstrip("@")
    return Page(
        localized(unit.name, locale) if unit else "",
        staff.name if staff else None,
        link.reference,
        deep_link(username, payload) if username else None,
    )


def _greeting(page: Page, tr: Translator) -> list[str]:
    """One short line under the unit's name: who served, and for what (the unit is the
    heading). Anything longer pushes the answers below the fold of a phone."""
    parts = []
    if page.staff:
        parts.append(tr._("Staff member: {name}").format(name=localized(page.staff, tr.locale)))
    if page.reference:
        parts.append(tr.label(tr._("Service"), localized(page.reference, tr.locale)))
    return [" · ".join(parts)] if parts else []


def _levels(tr: Translator) -> list[tuple[int, str]]:
    """The five levels, best first; each button's mark is drawn by CSS, not an emoji face
    that a phone without an emoji font shows as an empty box."""
    return [(n, tr._(SATISFACTION_LABELS[level])) for n, level in enumerate(surveys.LEVELS)]


async def show(request: Request) -> Response:
    """GET: the step this visitor is at (or the first), or their ending."""
    return await _show(request)


async def _show(
    request: Request, *, error: str | None = None, status: int = 200, form: Any = None
) -> Response:
    state: WebState = request.app.state.web
    token = request.path_params["token"]
    payload = payload_of(token)
    tr = translator(request)
    respondent = surveys.web_respondent(state.settings, identity.visitor(request))
    async with state.readers() as session:
        peek = await surveys.peek(
            session, payload, respondent=respondent, settings=state.settings, now=state.clock()
        )
        if peek.link is None:
            raise HTTPException(404)
        page = await _page(state, session, peek.link, payload, tr.locale)
        if peek.mine is None:
            _id, template = await surveys.current_template(session)
            spec = survey_of(template) if template else DEFAULT_SURVEY
            return _question(request, tr, page, spec, 0, error=error, status=status)
        view = await surveys.load_view(session, peek.mine.id)
    page.telegram = None  # begun here, so the chat would only refuse: no link to it
    if view.response.status == ResponseStatus.COMPLETE:
        return _ending(request, tr, page, view, peek.link, error=error)
    step = view.next_step()
    codes = [surveys.OVERALL, *(q.code for q in view.spec.questions)]
    if step in codes:
        return _question(
            request, tr, page, view.spec, codes.index(step), error=error, status=status
        )
    if step == surveys.TAGS:
        return _tags(request, tr, page, view, error=error, status=status, form=form)
    return render(
        request,
        "reply.html",
        status,
        tr=tr,
        page=page,
        greeting=[],
        error=error,
        step=surveys.REPLY,
    )


def _question(
    request: Request,
    tr: Translator,
    page: Page,
    spec: Any,
    index: int,
    *,
    error: str | None,
    status: int,
) -> Response:
    total = 1 + len(spec.questions)
    if index == 0:
        code, text = surveys.OVERALL, tr._("Overall, are you satisfied with this service?")
    else:
        question = spec.questions[index - 1]
        code, text = question.code, localized(question.text, tr.locale, question.text_en)
    return render(
        request,
        "question.html",
        status,
        tr=tr,
        page=page,
        greeting=_greeting(page, tr) if index == 0 else [],
        progress=f"{index + 1}/{total}",
        question=text,
        step=code,
        levels=_levels(tr),
        error=error,
    )


def _tags(
    request: Request,
    tr: Translator,
    page: Page,
    view: surveys.SurveyView,
    *,
    error: str | None,
    status: int,
    form: Any,
) -> Response:
    labels, english = view.spec.tags(view.bad)
    chosen = set(view.tags)
    if form is not None:  # a refused answer: show what was sent, not what is stored
        chosen = {int(x) for x in form.getlist("tag") if str(x).isdigit()}
    tags = [
        (n, localized(label, tr.locale, english[n] if n < len(english) else None), n in chosen)
        for n, label in enumerate(labels)
    ]
    if view.bad:
        text = tr._("We are sorry the service fell short. What went wrong?")
        hint = tr._("Choose all that apply, or write what happened (one of the two is required).")
    else:
        text = tr._("What went well? Choose any that apply.")
        hint = tr._(
            "Anything else you would like to tell us? (optional, at most {limit} characters)"
        ).format(limit=surveys.MAX_COMMENT)
    return render(
        request,
        "tags.html",
        status,
        tr=tr,
        page=page,
        greeting=[],
        question=text,
        hint=hint,
        tags=tags,
        words=(form.get("words") if form is not None else "") or "",
        limit=surveys.MAX_COMMENT,
        bad=view.bad,
        error=error,
        step=surveys.TAGS,
    )


def _ending(
    request: Request,
    tr: Translator,
    page: Page,
    view: surveys.SurveyView,
    link: SurveyLink,
    *,
    error: str | None = None,
) -> Response:
    """A finished survey reopened: that it is done, and a 差评's number to follow it on /q;
    never its receipt code, which was shown once when it ended (``_finished``)."""
    unit = localized(page.unit, tr.locale)
    if view.response.link_id != link.id:
        text = tr._(
            "You have already rated {unit} today; one rating per person, unit and day is counted. Thank you!"
        ).format(unit=unit)
    elif view.rectification_id is not None:
        text = tr._(
            "Your comments were submitted (No. {ref}). Follow them under “Check the result of a complaint” with this number and the receipt code you were given."
        ).format(ref=view.rectification_id)
    else:
        text = tr._("You have already completed this survey. Thank you!")
    title = N_("Submitted") if view.rectification_id is not None else N_("Thank you")
    response = message(request, 400 if error else 200, title, text, error=error)
    state: WebState = request.app.state.web
    state.just_shown.take(view.response.id, state.monotonic())  # reopened: never again
    response.delete_cookie(identity.RECEIPT, path=request.url.path)  # set by older versions
    return _private(response)


def _finished(
    request: Request,
    tr: Translator,
    page: Page,
    view: surveys.SurveyView,
    receipt: str | None,
    *,
    error: str | None = None,
    status: int = 200,
) -> Response:
    """The page right after the survey ends, as the response to its last answer (or to the
    phone number left on it): the thanks, and for a 差评 its number, the receipt code when
    this very answer made it, and the phone field until a number is left."""
    if not view.bad:
        return _private(
            message(
                request,
                200,
                N_("Thank you"),
                tr._("Thank you for your rating! It helps us serve you better."),
            )
        )
    unit = localized(page.unit, tr.locale)
    return _private(
        render(
            request,
            "done.html",
            status,
            tr=tr,
            page=page,
            greeting=[],
            error=error,
            passed=tr._(
                "Your comments have been passed to {unit} to verify and handle (No. {ref}). Thank you for your feedback."
            ).format(unit=unit, ref=view.rectification_id or "—"),
            reference=view.rectification_id,
            receipt=receipt,
            phone_saved=view.response.callback_phone is not None,
            step="phone",
        )
    )


def _private(response: Response) -> Response:
    """Kept by no cache and no back button: the next person on the device must ask again."""
    response.headers["Cache-Control"] = "no-store"
    return response


async def answer(request: Request) -> Response:
    """POST: one answer, stored in one transaction; then back to GET for the next step."""
    state: WebState = request.app.state.web
    token = request.path_params["token"]
    payload = payload_of(token)
    form = await checked_form(request)
    step = str(form.get("step", ""))
    tr = translator(request)
    respondent = surveys.web_respondent(state.settings, identity.visitor(request))
    now = state.clock()
    receipt: str | None = None
    peek: surveys.Peek | None = None
    claiming = False  # a refusal of the claim itself is an ending, not a step to redo
    try:
        async with state.sessions.begin() as session:
            peek = await surveys.peek(
                session, payload, respondent=respondent, settings=state.settings, now=now
            )
            if peek.link is None:
                raise HTTPException(404)
            if peek.mine is None:
                if step != surveys.OVERALL:
                    return redirect(request, request.url.path)
                wait = state.limits.surveys.hit(_address(request), state.monotonic())
                if wait is not None:
                    return state.too_many(request, wait)
                claiming = True
                response, _resumed = await surveys.begin(
                    session,
                    payload,
                    respondent=respondent,
                    settings=state.settings,
                    now=now,
                    locale=tr.locale,
                )
                mine: SurveyResponse = response
                claiming = False
            else:
                mine = peek.mine
            view = await surveys.load_view(session, mine.id)
            if step == "phone" and mine.status == ResponseStatus.COMPLETE and view.bad:
                return await _phone(request, session, state, peek.link, view, payload, form)
            if mine.status == ResponseStatus.COMPLETE and step == surveys.REPLY:
                again = state.just_shown.take(mine.id, state.monotonic())
                if again is not None:  # a double tap's second request: the code once more
                    page = await _page(state, session, peek.link, payload, tr.locale)
                    return _finished(request, tr, page, view, again)
            if mine.status == ResponseStatus.COMPLETE or step != view.next_step():
                return redirect(request, request.url.path)  # an old page: show where it is
            receipt = await _apply(session, state, view, step, form, respondent, now)
            page = await _page(state, session, peek.link, payload, tr.locale)
    except IntegrityError:  # a double tap: the other request stored it; show where it is
        return redirect(request, request.url.path)
    except DomainError as exc:
        if claiming:
            return message(request, 200, TITLE, exc.plain(tr))
        return await _show(request, error=exc.plain(tr), status=400, form=form)
    if view.response.status == ResponseStatus.COMPLETE:
        if receipt is not None:
            state.just_shown.remember(view.response.id, receipt, state.monotonic())
        return _finished(request, tr, page, view, receipt)  # no redirect: shown this once
    return redirect(request, request.url.path)


async def _phone(
    request: Request,
    session: Any,
    state: WebState,
    link: SurveyLink,
    view: surveys.SurveyView,
    payload: StartPayload,
    form: Any,
) -> Response:
    """The number for a return call, left on the page that ended the survey; that page
    again, with the number saved or why not (without the receipt code: shown once)."""
    tr = translator(request)
    page = await _page(state, session, link, payload, tr.locale)
    page.telegram = None
    respondent = surveys.web_respondent(state.settings, identity.visitor(request))
    state.just_shown.take(view.response.id, state.monotonic())  # the citizen went on
    try:  # a refused number is refused before anything changes
        await surveys.leave_phone(
            session, view.response.id, str(form.get("phone", "")), respondent=respondent
        )
    except DomainError as exc:
        return _finished(request, tr, page, view, None, error=exc.plain(tr), status=400)
    return _finished(request, tr, page, view, None)


async def _apply(
    session: Any,
    state: WebState,
    view: surveys.SurveyView,
    step: str,
    form: Any,
    respondent: surveys.Respondent,
    now: dt.datetime,
) -> str | None:
    """One step's answer, then the end of the survey if nothing is left to ask; the
    receipt code of a 差评 that ended here."""
    key = respondent.key
    if step == surveys.TAGS:
        chosen = {int(x) for x in form.getlist("tag") if str(x).isdigit()}
        for index in sorted(set(view.tags) ^ chosen):
            surveys.toggle_tag(view, index, key=key)
        surveys.finish_tags(view, str(form.get("words", "")), key=key)
    elif step == surveys.REPLY:
        wanted = str(form.get("reply", ""))
        if wanted not in ("0", "1"):
            raise DomainError(N_("Please use the buttons below."))
        return await surveys.finish(
            session, view, wants_reply=wanted == "1", respondent=respondent, now=now,
            settings=state.settings,
        )  # fmt: skip
    else:
        level = str(form.get("level", ""))
        if not level.isdigit():
            raise DomainError(N_("Please use the buttons below."))
        await surveys.answer(session, view, step, int(level), key=key, now=now)
    if view.next_step() == surveys.DONE:
        return await surveys.finish(
            session, view, wants_reply=None, respondent=respondent, now=now,
            settings=state.settings,
        )  # fmt: skip
    return None


def _address(request: Request) -> str:
    return request.client.host if request.client else "-"
