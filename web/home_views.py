"""``GET /``: the front door of the survey page, for whoever types the bare address.

A survey is opened by its code (``/s/<token>``), so the front door only says where the
codes are and leads to /q, where a citizen checks the result of a complaint.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from infra.i18n import N_
from services import survey_links
from services.templates import localized
from web.pages import render, translator
from web.state import WebState

SCAN = N_("To rate our service, please scan the code at the service window.")


async def show(request: Request) -> Response:
    state: WebState = request.app.state.web
    tr = translator(request)
    async with state.readers() as session:
        bureau = await survey_links.bureau_name(session)
    return render(
        request,
        "home.html",
        tr=tr,
        bureau=localized(bureau, tr.locale) if bureau else None,
        scan=tr._(SCAN),
    )
