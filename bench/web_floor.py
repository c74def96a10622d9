"""The floor of ``bench.web``: Starlette under uvicorn serving one static survey page.

``GET /s/<token>`` answers the page saved in ``JIXIAO_BENCH_PAGE`` (the survey's first
page as jixiao rendered it, so the bytes are the same); ``POST /s/<token>`` reads the form
and redirects back (303), as the real page does after an answer. No database, no
templates, no cookies checked: what is left is the framework, uvicorn and the client.
"""

from __future__ import annotations

import os
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

PAGE = Path(os.environ.get("JIXIAO_BENCH_PAGE", "/dev/null")).read_text(encoding="utf-8")


async def show(request: Request) -> Response:
    return HTMLResponse(PAGE)


async def answer(request: Request) -> Response:
    await request.form()
    return RedirectResponse(request.url.path, status_code=303)


app = Starlette(
    routes=[
        Route("/s/{token}", show, methods=["GET"]),
        Route("/s/{token}", answer, methods=["POST"]),
    ]
)
