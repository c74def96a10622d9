"""HTTP plumbing: tornado routes, request decoding, dispatch with rate limits and fault injection.

This module also holds :class:`FakeBotApi`, the object tests and demos interact with.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from tornado.httpclient import AsyncHTTPClient
from tornado.httpserver import HTTPServer
from tornado.httputil import HTTPServerRequest
from tornado.iostream import StreamClosedError
from tornado.netutil import bind_sockets
from tornado.web import Application, RequestHandler

# Importing the method modules registers their implementations.
from fakebotapi import control, errors, messaging, settings
from fakebotapi.call import METHODS, Call, Params, Upload, lookup
from fakebotapi.errors import ApiError, bad_request
from fakebotapi.limits import DROP, FaultInjector, RateLimiter
from fakebotapi.sim import BotMessage, SimUser
from fakebotapi.state import JSON, BotState, Chat, Hub, LimitedCall, Stats
from fakebotapi.webhook import RetryPolicy, deliver_forever

__all__ = ["FakeBotApi"]
_ = (messaging, settings)
log = logging.getLogger(__name__)
MAX_BODY = 64 * 1024 * 1024


def _log_request(handler: RequestHandler) -> None:
    """Error answers are normal here (tests provoke them); keep tornado's access log quiet."""
    request = handler.request
    log.debug("%s %s -> %s", request.method, request.path, handler.get_status())


def _is_limited(method: str) -> bool:
    """send*/edit* are flood-limited; chat actions don't create messages, so they're exempt."""
    return method.startswith(("send", "edit")) and method != "sendChatAction"


def _decode_request(request: HTTPServerRequest) -> Params:
    """Query args + form/multipart body or a JSON body, plus uploaded file parts."""
    values: dict[str, Any] = {
        key: raw[-1].decode("utf-8", "replace") for key, raw in request.query_arguments.items()
    }
    content_type = request.headers.get("Content-Type", "")
    if content_type.startswith("application/json"):
        if request.body.strip():
            try:
                body = json.loads(request.body)
            except ValueError:
                raise bad_request("Bad Request: can't parse JSON object") from None
            if not isinstance(body, dict):
                raise bad_request("Bad Request: can't parse JSON object")
            values.update(body)
    else:
        for key, raw in request.body_arguments.items():
            values[key] = raw[-1].decode("utf-8", "replace")
    files = {
        name: Upload(parts[0].filename, parts[0].body, parts[0].content_type or None)
        for name, parts in request.files.items()
        if parts
    }
    return Params(values, files)


def _send_json(handler: RequestHandler, status: int, body: Any) -> None:
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Error"
    handler.set_status(status, reason=reason)
    handler.set_header("Content-Type", "application/json")
    with contextlib.suppress(StreamClosedError):
        handler.finish(json.dumps(body, ensure_ascii=False))


class _ApiHandler(RequestHandler):
    """``/bot<token>/<method>``; GET and POST behave the same, as on api.telegram.org."""

    def initialize(self, server: FakeBotApi) -> None:
        self.server = server
        self.closed = False

    def on_connection_close(self) -> None:
        self.closed = True
        self.server.hub.notify()  # lets a pending long poll give up

    async def get(self, token: str, name: str) -> None:
        status, body = await self.server._dispatch(token, name, self.request, lambda: self.closed)
        if status == DROP:  # an injected network failure: hang up without an answer
            self.closed = True
            self._finished = True  # nothing may be written on the closed connection
            self.request.connection.close()  # type: ignore[union-attr]
            return
        if not self.closed:
            _send_json(self, status, body)

    post = get

    def check_xsrf_cookie(self) -> None:
        """API clients never send XSRF tokens."""


class _FileHandler(RequestHandler):
    """``/file/bot<token>/<file_path>`` downloads."""

    def initialize(self, server: FakeBotApi) -> None:
        self.server = server

    def get(self, token: str, path: str) -> None:
        hub = self.server.hub
        if token not in hub.bots:
            _send_json(self, 401, ApiError(401, errors.UNAUTHORIZED).to_json())
            return
        stored = hub.files.by_path.get(path)
        if stored is None:
            _send_json(self, 404, ApiError(404, errors.NOT_FOUND).to_json())
            return
        self.set_header("Content-Type", stored.mime_type or "application/octet-stream")
        self.finish(stored.content)


class _NotFoundHandler(RequestHandler):
    def initialize(self, server: FakeBotApi) -> None:
        self.server = server

    def get(self, *_args: str) -> None:
        _send_json(self, 404, ApiError(404, errors.NOT_FOUND).to_json())

    post = get

    def check_xsrf_cookie(self) -> None:
        """API clients never send XSRF tokens."""


class FakeBotApi:
    """A fake Telegram Bot API server on the running asyncio loop.

    Point PTB at it with ``base_url=server.base_url`` and ``base_file_url=server.base_file_url``.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.hub = Hub()
        self._limiter = RateLimiter()
        self._faults = FaultInjector()
        self._users: dict[tuple[str, int], SimUser] = {}
        self._http: HTTPServer | None = None
        self._client: AsyncHTTPClient | None = None
        self._deliverers: dict[str, asyncio.Task[None]] = {}
        self.webhook_retry = RetryPolicy()  # how failed webhook deliveries are repeated
        self._inflight = 0
        self._app = Application(
            [
                (r"/bot([^/]+)/([^/]*)/?", _ApiHandler, {"server": self}),
                (r"/file/bot([^/]+)/(.+)", _FileHandler, {"server": self}),
                (r"/_sim/(-?\d+)/(\w+)", control.SimControlHandler, {"user": self.user}),
                (r"/.*", _NotFoundHandler, {"server": self}),
            ],
            log_function=_log_request,
        )

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Bind (port 0 picks a free port) and start serving on the current loop."""
        sockets = bind_sockets(self.port, address=self.host)
        self.port = sockets[0].getsockname()[1]
        self._http = HTTPServer(self._app, max_body_size=MAX_BODY)
        self._http.add_sockets(sockets)
        self._client = AsyncHTTPClient(force_instance=True)
        self.hub.stopping = False
        for bot in self.hub.bots.values():
            self._start_delivery(bot)

    async def stop(self) -> None:
        """Release pending long polls, stop webhook delivery and close all connections."""
        self.hub.stopping = True
        self.hub.notify()
        for task in self._deliverers.values():
            task.cancel()
        for task in self._deliverers.values():
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._deliverers.clear()
        if self._http is not None:
            self._http.stop()
            # Released long polls answer (empty) before their connections are closed.
            await self.hub.notifier.wait_for(lambda: self._inflight == 0, 1.0)
            await self._http.close_all_connections()
            self._http = None
        if self._client is not None:
            self._client.close()
            self._client = None

    async def __aenter__(self) -> FakeBotApi:
        await self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.stop()

    def _start_delivery(self, bot: BotState) -> None:
        if self._client is not None and bot.token not in self._deliverers:
            task = asyncio.create_task(
                deliver_forever(self.hub, bot, self._client, self.webhook_retry)
            )
            self._deliverers[bot.token] = task

    # -- addresses ----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """``http://host:port`` (wildcard binds are reached via loopback)."""
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """Pass to PTB as ``base_url``; PTB appends the token."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """Pass to PTB as ``base_file_url``; PTB appends the token."""
        return f"{self.url}/file/bot"

    # -- configuration ------------------------------------------------------------------------

    def add_bot(
        self, token: str, username: str = "jixiao_bot", first_name: str = "绩效助手"
    ) -> None:
        """Register a bot account; its id is the number before ``:`` in the token."""
        head, sep, tail = token.partition(":")
        if not (sep and head.isdigit() and tail):
            raise ValueError(f"malformed bot token {token!r}; expected '<digits>:<secret>'")
        bot = self.hub.bots.get(token)
        if bot is None:
            bot = self.hub.bots[token] = BotState(self.hub, token, username, first_name)
        bot.username, bot.first_name = username, first_name
        self._start_delivery(bot)

    def revoke_token(self, old: str, new: str) -> None:
        """BotFather's /revoke: the same bot, chats and users under a new token; the old
        token stops working at once (the secret after ``:`` changes, the id does not)."""
        if new.partition(":")[0] != old.partition(":")[0] or new in self.hub.bots:
            raise ValueError("the new token must keep the bot id and be unused")
        bot = self.hub.bots.pop(old)
        bot.token = new
        self.hub.bots[new] = bot
        if old in self._deliverers:
            self._deliverers[new] = self._deliverers.pop(old)
        for token, user_id in list(self._users):
            if token == old:
                self._users[(new, user_id)] = self._users.pop((token, user_id))

    def _bot(self, token: str | None) -> BotState:
        if token is None:
            if not self.hub.bots:
                raise ValueError("no bot registered; call add_bot() first")
            return next(iter(self.hub.bots.values()))
        try:
            return self.hub.bots[token]
        except KeyError:
            raise ValueError(f"unknown bot token {token!r}") from None

    def user(
        self,
        user_id: int = 1001,
        first_name: str = "张三",
        language_code: str | None = "zh-hans",
        username: str | None = None,
        last_name: str | None = None,
        token: str | None = None,
    ) -> SimUser:
        """The simulated user ``user_id`` of a bot (created on first call, then reused)."""
        bot = self._bot(token)
        key = (bot.token, user_id)
        if key not in self._users:
            user_json: JSON = {"id": user_id, "is_bot": False, "first_name": first_name}
            if last_name:
                user_json["last_name"] = last_name
            if username:
                user_json["username"] = username
            if language_code:
                user_json["language_code"] = language_code
            chat = bot.chats[user_id] = Chat(id=user_id, user=user_json)
            self._users[key] = SimUser(self.hub, bot, chat)
        return self._users[key]

    def set_rate_limits(
        self,
        global_per_second: float | None = None,
        per_chat_per_second: float | None = None,
        retry_after: int = 1,
    ) -> None:
        """Flood limits for send*/edit*; exceeding answers 429 with ``retry_after``."""
        self._limiter.global_per_second = global_per_second
        self._limiter.per_chat_per_second = per_chat_per_second
        self._limiter.retry_after = retry_after

    def fail_next(
        self,
        method: str,
        error_code: int,
        description: str,
        times: int = 1,
        retry_after: int | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` answer this error (429 gets retry_after)."""
        if error_code == 429 and retry_after is None:
            retry_after = 1
        self._faults.add(method, error_code, description, times, retry_after)

    def drop_next(self, method: str, times: int = 1) -> None:
        """Hang up on the next ``times`` calls of ``method`` unanswered, as a network failure."""
        self._faults.add(method, DROP, "connection dropped", times, None)

    def clear_faults(self, method: str | None = None) -> None:
        """Cancel what ``fail_next`` queued and was not used yet (for ``method``, or all)."""
        self._faults.clear(method)

    @property
    def stats(self) -> Stats:
        """Request counters (per method, 429s, other errors, total)."""
        return self.hub.stats

    @property
    def callback_query_ttl(self) -> float:
        """Seconds after a press during which answerCallbackQuery is accepted (default 15)."""
        return self.hub.callback_query_ttl

    @callback_query_ttl.setter
    def callback_query_ttl(self, seconds: float) -> None:
        self.hub.callback_query_ttl = seconds

    @property
    def strict_html_ampersand(self) -> bool:
        """Reject a bare ``&`` in HTML (default). Real Telegram keeps it as text."""
        return self.hub.strict_html_ampersand

    @strict_html_ampersand.setter
    def strict_html_ampersand(self, strict: bool) -> None:
        self.hub.strict_html_ampersand = strict

    # -- inspection ---------------------------------------------------------------------------

    def sent_messages(self, chat_id: int, token: str | None = None) -> list[BotMessage]:
        """Everything the bot sent to ``chat_id``, in order, in its current state."""
        chat = self._bot(token).chat(chat_id)
        return [BotMessage.from_stored(m) for m in chat.bot_messages()] if chat else []

    def commands(self, token: str | None = None) -> dict[tuple[str, str], list[JSON]]:
        """setMyCommands state keyed by (``scope_key(scope)``, language_code)."""
        return {key: list(value) for key, value in self._bot(token).commands.items()}

    def webhook(self, token: str | None = None) -> JSON | None:
        """The current webhook registration, or ``None`` while polling."""
        hook = self._bot(token).webhook
        return dataclasses.asdict(hook) if hook else None

    def pending_updates(self, token: str | None = None) -> list[JSON]:
        """Updates not yet confirmed by getUpdates (or not yet delivered to the webhook)."""
        return list(self._bot(token).updates)

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        """Wait until ``predicate()`` holds, re-checked on every server event."""
        if not await self.hub.notifier.wait_for(predicate, timeout):
            raise AssertionError(f"condition not met within {timeout}s")

    # -- dispatch -----------------------------------------------------------------------------

    def _journal(self, at: float, method: str, chat_id: int | None, retry: int | None) -> None:
        if self.hub.stats.journal is not None:
            self.hub.stats.journal.append(LimitedCall(at, method, chat_id, retry))

    async def _dispatch(
        self, token: str, name: str, request: HTTPServerRequest, closed: Callable[[], bool]
    ) -> tuple[int, JSON]:
        hub = self.hub
        canonical = lookup(name)
        hub.stats.total += 1
        hub.stats.requests[canonical or name] += 1
        self._inflight += 1
        try:
            bot = hub.bots.get(token)
            if bot is None:
                raise ApiError(401, errors.UNAUTHORIZED)
            if canonical is None:
                raise ApiError(404, errors.NOT_FOUND)
            params = _decode_request(request)
            fault = self._faults.take(canonical)
            if fault is not None and fault.error_code == DROP:
                hub.stats.errors += 1
                return DROP, {}
            if fault is not None:
                raise fault
            limited = _is_limited(canonical)
            chat_id = _chat_id(params) if limited else None
            now = asyncio.get_running_loop().time()
            if limited:
                try:
                    self._limiter.check(bot.id, chat_id, now)
                except ApiError as exc:
                    self._journal(now, canonical, chat_id, exc.retry_after)
                    raise
                self._journal(now, canonical, chat_id, None)
            result = await METHODS[canonical](Call(hub, bot, canonical, params, closed))
            if limited:
                self._limiter.record(bot.id, chat_id, now)
            return 200, {"ok": True, "result": result}
        except ApiError as exc:
            if exc.error_code == 429:
                hub.stats.rate_limited += 1
            else:
                hub.stats.errors += 1
            if exc.description.startswith(errors.CANT_PARSE) or (
                exc.description == errors.UNSUPPORTED_PARSE_MODE
            ):
                hub.stats.parse_errors.append(f"{canonical or name}: {exc.description}")
            return exc.error_code, exc.to_json()
        except Exception as exc:  # a bug here must not look like a network hang to the bot
            log.exception("FakeBotApi failed handling %s", name)
            hub.stats.errors += 1
            return 500, ApiError(500, f"Internal Server Error: {exc!r}").to_json()
        finally:
            self._inflight -= 1
            hub.notify()


def _chat_id(params: Params) -> int | None:
    try:
        return int(params.raw("chat_id"))
    except (TypeError, ValueError):
        return None
