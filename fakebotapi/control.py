"""A tiny HTTP control surface for manual demos of the standalone server (curl-friendly).

``/_sim/<user_id>/send?text=/start``, ``/_sim/<user_id>/press?button=OK`` (or ``data=...``),
``/_sim/<user_id>/messages``: acts as that user of the first registered bot.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from tornado.web import RequestHandler

from fakebotapi.sim import SimUser


class SimControlHandler(RequestHandler):
    """Drive a :class:`~fakebotapi.sim.SimUser` over HTTP."""

    def initialize(self, user: Callable[[int], SimUser]) -> None:
        """``user``: the server's ``user`` (passed in: the server module imports this one)."""
        self.user = user

    def check_xsrf_cookie(self) -> None:
        """curl sends no XSRF token."""

    async def get(self, user_id: str, action: str) -> None:
        user = self.user(int(user_id))
        result: Any
        try:
            if action == "send":
                result = {"update_id": await user.send(self.get_argument("text"))}
            elif action == "press":
                button = self.get_argument("button", None)
                if button is not None:
                    result = {"callback_query_id": await user.press_button(button)}
                else:
                    result = {"callback_query_id": await user.press(self.get_argument("data"))}
            elif action == "messages":
                result = [
                    {
                        "message_id": m.message_id,
                        "text": m.text,
                        "buttons": m.button_texts(),
                        "edited": m.edited,
                        "deleted": m.deleted,
                    }
                    for m in user.messages
                ]
            else:
                self.set_status(404)
                result = {"error": f"unknown action {action!r}"}
        except AssertionError as exc:
            self.set_status(400)
            result = {"error": str(exc)}
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(result, ensure_ascii=False))

    post = get
