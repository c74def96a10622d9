"""``/q`` 查询处理结果: a web citizen opens their 差评's item with its number and receipt code,
reads the unit's reply once given, and rates the handling (as the chat's three buttons).

A wrong pair gets one message whether or not the number exists, and counts towards the
address's limit of wrong codes (``web.guard.Limits``); a right one is remembered for an hour
in a signed cookie, so the page can redirect after each POST without the code in a URL.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from domain.enums import RectificationStatus, Satisfaction
from domain.labels import SATISFACTION_LABELS
from infra.i18n import N_, Translator
from infra.models import Rectification
from services import rectification as rc
from services import rectification_view as rv
from services import surveys
from services.cases import Env
from services.errors import DomainError
from services.templates import localized
from web import identity
from web.forms import checked_form
from web.pages import redirect, render, translator
from web.state import WebState

WRONG = N_("We found nothing for this number and receipt code. Please check both and try again.")
PATH = "/q"


async def show(request: Request) -> Response:
    """The lookup form, or the item this browser opened in the last ten minutes."""
    state: WebState = request.app.state.web
    opened = state.signer.load(
        request.cookies.get(identity.QUERY), identity.QUERY, identity.QUERY_TTL
    )
    if isinstance(opened, int) and "new" not in request.query_params:
        return await _item(request, opened)
    return _form(request, translator(request))


def _form(
    request: Request, tr: Translator, *, error: str | None = None, status: int = 200, **typed: str
) -> Response:
    return render(request, "query.html", status, tr=tr, error=error, typed=typed, item=None)


async def lookup(request: Request) -> Response:
    """POST the number and the receipt code."""
    state: WebState = request.app.state.web
    form = await checked_form(request)
    tr = translator(request)
    where = request.client.host if request.client else "-"
    wait = state.limits.wrong_receipts.retry_after(where, state.monotonic())
    if wait is not None:
        return state.wrong_codes(request, wait)
    number = "".join(str(form.get("reference", "")).split()).lstrip("#№")
    code = str(form.get("receipt", ""))[:32]
    rect = None
    if number.isdigit() and len(number) <= 9 and code.strip():
        async with state.readers() as session:
            rect = await surveys.receipt_item(session, state.settings, int(number), code)
    if rect is None:
        state.limits.wrong_receipts.hit(where, state.monotonic())
        return _form(request, tr, error=tr._(WRONG), status=400, reference=number[:9])
    done = redirect(request, PATH)
    opened = state.signer.dump(rect.id, identity.QUERY)
    identity.set_cookie(request, done, identity.QUERY, opened, identity.QUERY_TTL, path=PATH)
    return done


async def rate(request: Request) -> Response:
    """POST 满意 / 基本满意 / 不满意 for the item this browser opened: ``rc.rate``, once."""
    state: WebState = request.app.state.web
    form = await checked_form(request)
    opened = state.signer.load(
        request.cookies.get(identity.QUERY), identity.QUERY, identity.QUERY_TTL
    )
    if not isinstance(opened, int):
        return redirect(request, PATH)
    level = rv.RATINGS.get(str(form.get("rating", "")))
    if level is None:
        return await _item(
            request, opened, error=translator(request)._(N_("Please use the buttons below."))
        )
    try:
        async with state.sessions.begin() as session:
            view = await rv.load(session, opened)
            # the receipt code proved who they are, as the keyed hash of their id does in the chat
            await rc.rate(
                session, opened, level, respondent_key=view.response.respondent_key,
                now=state.clock(), env=Env.of(state.settings),
            )  # fmt: skip
    except DomainError as exc:
        return await _item(request, opened, error=exc.plain(translator(request)), status=400)
    return redirect(request, PATH)


async def _item(
    request: Request, rect_id: int, *, error: str | None = None, status: int = 200
) -> Response:
    state: WebState = request.app.state.web
    tr = translator(request)
    async with state.readers() as session:
        rect = await session.get(Rectification, rect_id)
        if rect is None:
            return _form(request, tr)
        view = await rv.load(session, rect_id)
    return render(
        request, "query.html", status, tr=tr, error=error, typed={}, item=_shown(tr, view)
    )


def _shown(tr: Translator, view: rv.RectView) -> dict[str, Any]:
    """What the citizen reads of their item: never the unit's internal record."""
    rect = view.rect
    unit = localized(view.unit, tr.locale)
    lines = [tr.label(tr._("Number"), rect.id), tr.label(tr._("Unit"), unit)]
    lines.append(tr.label(tr._("Received"), tr.date(rv.received(view))))
    reply: str | None = rect.reply
    if reply is not None:
        state = tr._("{unit} has answered your review.").format(unit=unit)
    elif rect.status == RectificationStatus.OPEN:
        state = tr._("{unit} is handling it; its answer is due by the end of {date}.").format(
            unit=unit, date=tr.date(rect.deadline)
        )
    elif rect.status == RectificationStatus.UNDER_REVIEW:
        state = tr._("The working group is reviewing it; please come back later.")
    elif rect.status == RectificationStatus.EXCLUDED:
        state = tr._("After review by the working group, it was closed.")
    else:
        state = tr._("It has been handled and closed. Thank you for your feedback.")
    outcome = tr._(rv.OUTCOME_LABELS[rect.outcome]) if rect.outcome and reply else None
    rated = (
        tr._(SATISFACTION_LABELS[Satisfaction(rect.citizen_rating)])
        if rect.citizen_rating is not None
        else None
    )
    can_rate = (
        reply is not None
        and rated is None
        and rect.status in (RectificationStatus.ANSWERED, RectificationStatus.UNDER_REVIEW)
    )
    ratings = [(code, tr._(SATISFACTION_LABELS[level])) for code, level in rv.RATINGS.items()]
    return {
        "lines": lines,
        "state": state,
        "outcome": tr.label(tr._("Outcome"), outcome) if outcome else None,
        "reply": reply,
        "rated": tr._("Your rating of the handling: {rating}. Thank you!").format(rating=rated)
        if rated
        else None,
        "can_rate": can_rate,
        "ratings": ratings,
    }
