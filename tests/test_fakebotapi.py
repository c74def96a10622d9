"""FakeBotApi driven by the real python-telegram-bot client (Bot and Application)."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    KeyboardButton,
    MenuButtonCommands,
    MessageEntity,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.error import (
    BadRequest,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    RetryAfter,
)
from telegram.ext import ApplicationBuilder, CallbackQueryHandler, CommandHandler, ContextTypes
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.web import Application as TornadoApp
from tornado.web import RequestHandler

from fakebotapi import FakeBotApi, SimUser, scope_key

pytestmark = pytest.mark.nodb

TOKEN = "123456:TEST-token_abc"
REPO_ROOT = Path(__file__).resolve().parents[1]


def keyboard(*rows: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(text, callback_data=data) for text, data in row] for row in rows]
    )


@pytest.fixture
async def server() -> AsyncIterator[FakeBotApi]:
    api = FakeBotApi()
    api.add_bot(TOKEN, username="jixiao_bot", first_name="绩效助手")
    await api.start()
    try:
        yield api
    finally:
        await api.stop()


@pytest.fixture
async def bot(server: FakeBotApi) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=server.base_url, base_file_url=server.base_file_url) as b:
        yield b


@pytest.fixture
def user(server: FakeBotApi) -> SimUser:
    return server.user(user_id=1001, first_name="张三", language_code="zh-hans")


# -- basics --------------------------------------------------------------------------------------


async def test_get_me(bot: Bot, server: FakeBotApi) -> None:
    me = await bot.get_me()
    assert (me.id, me.username, me.first_name, me.is_bot) == (
        123456,
        "jixiao_bot",
        "绩效助手",
        True,
    )
    assert server.base_url.endswith("/bot") and server.base_file_url.endswith("/file/bot")
    assert server.stats.requests["getMe"] == 2  # Bot.initialize() calls getMe too


async def test_unknown_token_and_unknown_method(server: FakeBotApi, bot: Bot) -> None:
    with pytest.raises(InvalidToken, match="rejected by the server"):
        async with Bot("999:nope", base_url=server.base_url):
            pass
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("noSuchMethod")
    async with httpx.AsyncClient() as http:
        resp = await http.post(f"{server.base_url}{TOKEN}/noSuchMethod")
        assert resp.status_code == 404
        assert resp.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
        resp = await http.post(f"{server.base_url}999:nope/getMe")
        assert resp.status_code == 401
        assert resp.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}


async def test_encodings_and_case_insensitive_methods(server: FakeBotApi, user: SimUser) -> None:
    base = f"{server.base_url}{TOKEN}"
    async with httpx.AsyncClient() as http:
        assert (await http.get(f"{base}/GETME")).json()["result"]["id"] == 123456
        by_query = await http.get(f"{base}/sendMessage", params={"chat_id": user.id, "text": "q"})
        by_json = await http.post(
            f"{base}/sendmessage",
            json={
                "chat_id": user.id,
                "text": "j",
                "reply_markup": {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]},
            },
        )
        by_form = await http.post(
            f"{base}/sendMessage",
            data={
                "chat_id": str(user.id),
                "text": "f",
                "reply_markup": json.dumps(
                    {"inline_keyboard": [[{"text": "B", "url": "https://x.y"}]]}
                ),
            },
        )
    assert [r.json()["result"]["text"] for r in (by_query, by_json, by_form)] == ["q", "j", "f"]
    ids = [m.message_id for m in user.messages]
    assert ids == sorted(ids) and len(set(ids)) == 3
    assert user.messages[1].button_data() == ["a"]
    assert user.messages[2].buttons[0][0].url == "https://x.y"


# -- updates ------------------------------------------------------------------------------------


async def test_updates_offset_limit_and_negative_offset(bot: Bot, user: SimUser) -> None:
    ids = [await user.send(f"m{i}") for i in range(4)]
    updates = await bot.get_updates()
    assert [u.update_id for u in updates] == ids
    assert (await bot.get_updates(limit=2))[-1].update_id == ids[1]
    # Confirming with offset N drops everything below N.
    assert [u.message.text for u in await bot.get_updates(offset=ids[2])] == ["m2", "m3"]
    assert [u.message.text for u in await bot.get_updates()] == ["m2", "m3"]
    # A negative offset keeps only the last |N| updates.
    assert [u.message.text for u in await bot.get_updates(offset=-1)] == ["m3"]
    assert [u.message.text for u in await bot.get_updates()] == ["m3"]
    assert await bot.get_updates(offset=ids[3] + 1) == ()


async def test_message_shape_and_command_entity(bot: Bot, user: SimUser) -> None:
    await user.send("/start 邀请码")
    (update,) = await bot.get_updates()
    msg = update.message
    assert msg.text == "/start 邀请码" and msg.chat.type == "private" and msg.chat.id == 1001
    assert msg.from_user.language_code == "zh-hans" and not msg.from_user.is_bot
    assert msg.entities[0].type == "bot_command" and (
        msg.entities[0].offset,
        msg.entities[0].length,
    ) == (0, 6)
    assert msg.date.year >= 2024
    sent = await bot.send_message(user.id, "hi")
    assert sent.message_id == msg.message_id + 1  # one counter per chat, shared by both sides


async def test_long_poll_returns_as_soon_as_an_update_arrives(
    bot: Bot, user: SimUser, server: FakeBotApi
) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await server.wait_until(lambda: server.stats.requests["getUpdates"] == 1)  # poll is parked
    await user.send("wake up")
    updates = await poll
    assert [u.message.text for u in updates] == ["wake up"]
    assert loop.time() - started < 2


async def test_long_poll_times_out_empty(bot: Bot) -> None:
    assert await bot.get_updates(timeout=0.2) == ()


async def test_application_echo_roundtrip_via_long_polling(
    server: FakeBotApi, user: SimUser
) -> None:
    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        await update.message.reply_text("echo: " + " ".join(context.args or []))

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer("收到")
        await query.edit_message_text(f"你选了 {query.data}")

    async def menu(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        await update.message.reply_text("选择", reply_markup=keyboard([("甲", "a"), ("乙", "b")]))

    app = (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(server.base_url)
        .base_file_url(server.base_file_url)
        .build()
    )
    app.add_handler(CommandHandler("echo", echo))
    app.add_handler(CommandHandler("menu", menu))
    app.add_handler(CallbackQueryHandler(pressed))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=1)
        try:
            await user.send("/echo 你好 世界")
            assert (await user.expect()).text == "echo: 你好 世界"
            await user.send("/menu")
            shown = await user.expect()
            assert shown.button_texts() == ["甲", "乙"]
            await user.press_button("乙")
            edited = await user.expect()
            assert edited.edited and edited.text == "你选了 b" and edited.buttons == []
            assert user.callback_answers[0]["text"] == "收到"
            # PTB confirmed everything it handled via the next getUpdates offset.
            await server.wait_until(lambda: not server.pending_updates())
        finally:
            await app.updater.stop()
            await app.stop()
    assert server.stats.requests["getUpdates"] >= 2


# -- keyboards, callbacks, edits ----------------------------------------------------------------


async def test_press_answer_and_edit(bot: Bot, user: SimUser, server: FakeBotApi) -> None:
    sent = await bot.send_message(
        user.id, "确认吗？", reply_markup=keyboard([("确认", "yes"), ("取消", "no")])
    )
    shown = await user.expect()
    assert shown.message_id == sent.message_id and shown.button_data() == ["yes", "no"]

    query_id = await user.press_button("确认")
    (update,) = await bot.get_updates()
    query = update.callback_query
    assert (query.id, query.data, query.message.message_id) == (query_id, "yes", sent.message_id)
    assert query.from_user.id == user.id
    assert await bot.answer_callback_query(query.id, text="好的", show_alert=True)
    assert user.callback_answers == [
        {"callback_query_id": query_id, "text": "好的", "show_alert": True}
    ]
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query(query.id)

    new_markup = keyboard([("完成", "done")])
    edited = await bot.edit_message_text(
        "已确认", user.id, sent.message_id, reply_markup=new_markup
    )
    assert edited.text == "已确认" and edited.edit_date is not None
    event = await user.expect()
    assert event.edited and event.text == "已确认" and event.button_texts() == ["完成"]
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_text("已确认", user.id, sent.message_id, reply_markup=new_markup)
    await bot.edit_message_reply_markup(user.id, sent.message_id)  # removes the keyboard
    assert (await user.expect()).buttons == []
    assert server.sent_messages(user.id)[0].text == "已确认"


async def test_press_sends_forged_data_and_lists_buttons_on_miss(bot: Bot, user: SimUser) -> None:
    sent = await bot.send_message(user.id, "x", reply_markup=keyboard([("A", "a")]))
    await user.press("forged:999", message=sent.message_id)
    (update,) = await bot.get_updates()
    assert update.callback_query.data == "forged:999"
    with pytest.raises(AssertionError, match=r"available buttons: \['A'\]"):
        await user.press_button("B")


async def test_callback_query_ttl(bot: Bot, user: SimUser, server: FakeBotApi) -> None:
    await bot.send_message(user.id, "x", reply_markup=keyboard([("A", "a")]))
    server.callback_query_ttl = 0
    query_id = await user.press("a")
    with pytest.raises(BadRequest, match="Query is too old and response timeout expired"):
        await bot.answer_callback_query(query_id)
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query("12345")


async def test_reply_keyboard_and_removal(bot: Bot, user: SimUser) -> None:
    markup = ReplyKeyboardMarkup([[KeyboardButton("是"), "否"]], resize_keyboard=True)
    sent = await bot.send_message(user.id, "选吧", reply_markup=markup)
    assert sent.reply_markup is None  # only inline keyboards come back on the Message
    assert user.reply_keyboard == [["是", "否"]]
    await bot.send_message(user.id, "好", reply_markup=ReplyKeyboardRemove())
    assert user.reply_keyboard is None


async def test_delete_and_chat_action(bot: Bot, user: SimUser) -> None:
    sent = await bot.send_message(user.id, "temp")
    assert await bot.delete_message(user.id, sent.message_id)
    assert user.messages[0].deleted
    with pytest.raises(BadRequest, match="Message to delete not found"):
        await bot.delete_message(user.id, sent.message_id)
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("x", user.id, sent.message_id)
    assert await bot.send_chat_action(user.id, "typing")
    assert user.last_action == "typing"


# -- Telegram's error answers --------------------------------------------------------------------


async def test_length_limits_count_utf16_after_html(bot: Bot, user: SimUser) -> None:
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(user.id, "x" * 4097)
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(user.id, "😀" * 2049)  # 4098 UTF-16 code units
    await bot.send_message(user.id, "<b>" + "x" * 4096 + "</b>", parse_mode="HTML")
    await bot.send_message(user.id, "😀" * 2048)
    with pytest.raises(BadRequest, match="Message caption is too long"):
        await bot.send_photo(user.id, b"img", caption="c" * 1025)
    with pytest.raises(BadRequest, match="Message text is empty"):
        await bot.send_message(user.id, "   ")


async def test_button_data_invalid(bot: Bot, user: SimUser) -> None:
    with pytest.raises(BadRequest, match="Button_data_invalid"):
        await bot.send_message(user.id, "x", reply_markup=keyboard([("A", "x" * 65)]))
    with pytest.raises(BadRequest, match="Button_data_invalid"):
        await bot.send_message(user.id, "x", reply_markup=keyboard([("A", "汉" * 22)]))  # 66 bytes
    await bot.send_message(user.id, "x", reply_markup=keyboard([("A", "x" * 64)]))


async def test_chat_not_found(bot: Bot, user: SimUser) -> None:
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(424242, "hello")


@pytest.mark.parametrize(
    ("text", "mode", "detail"),
    [
        ("<b>unclosed", "HTML", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<div>x</div>", "HTML", 'Unsupported start tag "div"'),
        ("1 < 2", "HTML", "Unsupported start tag"),
        ("A & B", "HTML", 'Unescaped "&"'),
        ("<b>x</i>", "HTML", 'expected "</b>", found "</i>"'),
    ],
)
@pytest.mark.malformed_markup
async def test_cant_parse_entities(
    bot: Bot, user: SimUser, text: str, mode: str, detail: str
) -> None:
    with pytest.raises(BadRequest) as info:
        await bot.send_message(user.id, text, parse_mode=mode)
    # PTB lower-cases everything after the first letter of "Bad Request: ..." descriptions.
    assert info.value.message.startswith("Can't parse entities: ")
    assert detail.lower() in info.value.message.lower()


async def test_valid_markup_produces_entities(bot: Bot, user: SimUser) -> None:
    html = await bot.send_message(
        user.id, "<b>张</b> &lt;三&gt; <a href='https://e.x'>链接</a>", parse_mode="HTML"
    )
    assert html.text == "张 <三> 链接"
    assert [(e.type, e.offset, e.length) for e in html.entities] == [
        ("bold", 0, 1),
        ("text_link", 6, 2),
    ]
    plain = await bot.send_message(
        user.id, "<b>张</b>", entities=[MessageEntity(MessageEntity.BOLD, 0, 1)]
    )
    assert plain.text == "<b>张</b>" and [e.type for e in plain.entities] == ["bold"]


@pytest.mark.parametrize("mode", ["Markdown", "MarkdownV2", "markdownv2"])
@pytest.mark.malformed_markup
async def test_markdown_is_refused_as_unsupported(
    bot: Bot, user: SimUser, server: FakeBotApi, mode: str
) -> None:
    """The bot sends HTML or plain text only; Markdown gets a 400 and counts as malformed."""
    sent = await bot.send_message(user.id, "plain")
    server.stats.reset()
    with pytest.raises(BadRequest, match=r"(?i)unsupported parse_mode"):
        await bot.send_message(user.id, "*粗* 1\\.5", parse_mode=mode)
    with pytest.raises(BadRequest, match=r"(?i)unsupported parse_mode"):
        await bot.edit_message_text("*粗*", user.id, sent.message_id, parse_mode=mode)
    assert len(server.stats.parse_errors) == 2


async def test_blocked_user_forbidden(bot: Bot, user: SimUser) -> None:
    sent = await bot.send_message(user.id, "hi")
    user.block()
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(user.id, "still there?")
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.edit_message_text("edit", user.id, sent.message_id)
    (update,) = await bot.get_updates()
    assert update.my_chat_member.new_chat_member.status == "kicked"
    user.unblock()
    await bot.send_message(user.id, "welcome back")


async def test_rate_limits_answer_429_with_retry_after(
    bot: Bot, user: SimUser, server: FakeBotApi
) -> None:
    server.stats.reset()
    server.set_rate_limits(per_chat_per_second=2, retry_after=7)
    await bot.send_message(user.id, "1")
    await bot.send_message(user.id, "2")
    with pytest.raises(RetryAfter) as info:
        await bot.send_message(user.id, "3")
    assert "Retry in 7 seconds" in str(info.value)  # built from parameters.retry_after
    other = server.user(user_id=1002, first_name="李四")
    await bot.send_message(other.id, "other chats are not affected")
    server.set_rate_limits(global_per_second=1)
    with pytest.raises(RetryAfter):
        await bot.send_message(other.id, "global budget used up")
    server.set_rate_limits()
    await bot.send_message(other.id, "unlimited again")
    assert server.stats.rate_limited == 2
    assert server.stats.requests["sendMessage"] == 6


async def test_fail_next(bot: Bot, user: SimUser, server: FakeBotApi) -> None:
    server.stats.reset()
    server.fail_next("sendmessage", 429, "Too Many Requests: retry after 3", retry_after=3)
    server.fail_next("sendMessage", 400, "Bad Request: chat not found", times=2)
    with pytest.raises(RetryAfter):
        await bot.send_message(user.id, "a")
    for _ in range(2):
        with pytest.raises(BadRequest, match="Chat not found"):
            await bot.send_message(user.id, "a")
    await bot.send_message(user.id, "ok now")
    assert server.stats.rate_limited == 1 and server.stats.errors == 2 and server.stats.total == 4


async def test_get_updates_conflicts_with_webhook(bot: Bot) -> None:
    await bot.set_webhook("http://127.0.0.1:9/hook")
    with pytest.raises(Conflict, match="can't use getUpdates method while webhook is active"):
        await bot.get_updates()
    await bot.delete_webhook()
    assert await bot.get_updates() == ()


# -- files ---------------------------------------------------------------------------------------


async def test_user_document_get_file_download(bot: Bot, user: SimUser) -> None:
    content = bytes(range(256)) * 10
    await user.send_document("绩效表.xlsx", content, caption="我的表")
    (update,) = await bot.get_updates()
    doc = update.message.document
    assert doc.file_name == "绩效表.xlsx" and doc.file_size == len(content)
    assert update.message.caption == "我的表"
    tg_file = await bot.get_file(doc.file_id)
    assert tg_file.file_unique_id == doc.file_unique_id and tg_file.file_size == len(content)
    assert bytes(await tg_file.download_as_bytearray()) == content
    with pytest.raises(BadRequest, match="Invalid file_id"):
        await bot.get_file("nope")


async def test_user_photo_and_voice_and_sticker(bot: Bot, user: SimUser) -> None:
    await user.send_photo(caption="看图")
    await user.send_voice()
    await user.send_sticker()
    photo_update, voice_update, sticker_update = await bot.get_updates()
    photo = photo_update.message.photo[-1]
    assert (photo.width, photo.height) == (1, 1)
    data = await (await bot.get_file(photo.file_id)).download_as_bytearray()
    assert bytes(data).startswith(b"\x89PNG")
    assert voice_update.message.voice.mime_type == "audio/ogg"
    assert sticker_update.message.sticker.emoji == "👍"


async def test_bot_send_photo_and_document_uploads(bot: Bot, user: SimUser) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 8 + (640).to_bytes(4, "big") + (480).to_bytes(4, "big")
    sent = await bot.send_photo(user.id, png, caption="<b>图</b>", parse_mode="HTML")
    assert sent.photo[-1].width == 640 and sent.caption == "图"
    shown = user.messages[-1]
    assert shown.kind == "photo" and shown.photo == png and shown.text == "图"
    again = await bot.send_photo(user.id, sent.photo[-1].file_id)  # resend by file_id
    assert user.messages[-1].photo == png and again.photo[-1].file_id == sent.photo[-1].file_id
    doc = await bot.send_document(user.id, InputFile(b"a,b\n1,2\n", filename="导出.csv"))
    assert doc.document.file_name == "导出.csv"
    shown_doc = user.messages[-1]
    assert shown_doc.kind == "document" and shown_doc.document == b"a,b\n1,2\n"
    assert shown_doc.document_filename == "导出.csv"
    edited = await bot.edit_message_caption(user.id, doc.message_id, caption="新说明")
    assert edited.caption == "新说明"
    with pytest.raises(BadRequest, match="There is no text in the message to edit"):
        await bot.edit_message_text("x", user.id, doc.message_id)
    with pytest.raises(BadRequest, match="Wrong file identifier"):
        await bot.send_photo(user.id, "not-a-file-id")


# -- settings ------------------------------------------------------------------------------------


async def test_set_my_commands_scope_and_language(
    bot: Bot, user: SimUser, server: FakeBotApi
) -> None:
    scope = BotCommandScopeChat(user.id)
    cmds = [BotCommand("start", "开始"), BotCommand("review", "评分")]
    assert await bot.set_my_commands(cmds, scope=scope, language_code="zh")
    await bot.set_my_commands([BotCommand("start", "Start")])
    stored = server.commands()
    assert stored[(scope_key({"type": "chat", "chat_id": user.id}), "zh")] == [
        {"command": "start", "description": "开始"},
        {"command": "review", "description": "评分"},
    ]
    assert stored[(scope_key(None), "")] == [{"command": "start", "description": "Start"}]
    assert [c.command for c in await bot.get_my_commands(scope=scope, language_code="zh")] == [
        "start",
        "review",
    ]
    assert await bot.get_my_commands(scope=scope) == ()
    await bot.delete_my_commands(scope=scope, language_code="zh")
    assert len(server.commands()) == 1
    with pytest.raises(BadRequest, match="Bot_command_invalid"):
        await bot.set_my_commands([BotCommand("Bad-Command", "x")])
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.set_my_commands(cmds, scope=BotCommandScopeChat(777))


async def test_webhook_redelivers_until_accepted_and_keeps_the_order(
    bot: Bot, user: SimUser, server: FakeBotApi
) -> None:
    """As Telegram: a refused update is POSTed again (more than a few times) and the
    ones behind it wait; nothing is dropped while the receiver is down."""
    received: list[int] = []
    refusals = [6]

    class Hook(RequestHandler):
        def post(self) -> None:
            if refusals[0]:
                refusals[0] -= 1
                self.set_status(503)
                return
            received.append(json.loads(self.request.body)["update_id"])

    sockets = bind_sockets(0, "127.0.0.1")
    receiver = HTTPServer(TornadoApp([(r"/hook", Hook)]))
    receiver.add_sockets(sockets)
    try:
        assert await bot.set_webhook(f"http://127.0.0.1:{sockets[0].getsockname()[1]}/hook")
        first = await user.send("one")
        second = await user.send("two")
        await server.wait_until(lambda: len(received) == 2, 120)
        assert received == [first, second]
        assert server.hub.stats.webhook_posts[first] == 7
        assert server.hub.stats.webhook_posts[second] == 1
        assert "503" in ((await bot.get_webhook_info()).last_error_message or "")
    finally:
        receiver.stop()
        await receiver.close_all_connections()


async def test_menu_button_and_misc(bot: Bot, user: SimUser) -> None:
    assert await bot.set_chat_menu_button(user.id, MenuButtonCommands())
    assert (await bot.get_chat_menu_button(user.id)).type == "commands"
    chat = await bot.get_chat(user.id)
    assert chat.first_name == "张三" and chat.type == "private"
    assert await bot.close() and await bot.log_out()


async def test_webhook_delivery(bot: Bot, user: SimUser, server: FakeBotApi) -> None:
    received: list[tuple[dict[str, object], str | None]] = []
    got = asyncio.Event()
    fail_first = [True]

    class Hook(RequestHandler):
        def post(self) -> None:
            if fail_first[0]:  # the server must retry
                fail_first[0] = False
                self.set_status(500)
                return
            received.append(
                (
                    json.loads(self.request.body),
                    self.request.headers.get("X-Telegram-Bot-Api-Secret-Token"),
                )
            )
            got.set()

    sockets = bind_sockets(0, "127.0.0.1")
    receiver = HTTPServer(TornadoApp([(r"/hook", Hook)]))
    receiver.add_sockets(sockets)
    url = f"http://127.0.0.1:{sockets[0].getsockname()[1]}/hook"
    try:
        assert await bot.set_webhook(url, secret_token="s3cret-token")
        assert server.webhook()["url"] == url  # type: ignore[index]
        update_id = await user.send("via webhook")
        await asyncio.wait_for(got.wait(), 60)
        body, secret = received[0]
        assert body["update_id"] == update_id and body["message"]["text"] == "via webhook"  # type: ignore[index]
        assert secret == "s3cret-token"
        info = await bot.get_webhook_info()
        assert info.url == url and info.last_error_message is not None
        await server.wait_until(lambda: not server.pending_updates())
        assert (await bot.get_webhook_info()).pending_update_count == 0
        assert await bot.delete_webhook()
        assert server.webhook() is None
    finally:
        receiver.stop()
        await receiver.close_all_connections()


# -- SimUser waiting helpers ---------------------------------------------------------------------


async def test_expect_times_out_with_history_and_expect_text(bot: Bot, user: SimUser) -> None:
    await user.send("/hello")
    with pytest.raises(AssertionError, match=r"(?s)no new bot message.*/hello"):
        await user.expect(timeout=0.05)
    await bot.send_message(user.id, "第一条")
    await bot.send_message(user.id, "第二条 目标")
    assert (await user.expect_text("目标")).text == "第二条 目标"
    await bot.send_message(user.id, "noise")
    user.drain()
    with pytest.raises(AssertionError, match="got instead"):
        await user.expect_text("never", timeout=0.05)


async def test_wait_until_wakes_on_server_activity(bot: Bot, user: SimUser) -> None:
    async def later() -> None:
        await bot.send_message(user.id, "a")
        await bot.send_message(user.id, "b")

    task = asyncio.create_task(later())
    await user.wait_until(lambda: len(user.messages) == 2, timeout=60)
    await task
    with pytest.raises(AssertionError, match="condition not met"):
        await user.wait_until(lambda: False, timeout=0.05)


async def test_standalone_cli() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "fakebotapi",
        "--port",
        "0",
        "--token",
        "123:abc",
        stdout=asyncio.subprocess.PIPE,
        cwd=REPO_ROOT,
    )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 120)).decode().strip()
        assert line.startswith("base_url=http://127.0.0.1:")
        base_url = line.removeprefix("base_url=")
        async with Bot("123:abc", base_url=base_url) as cli_bot:
            assert (await cli_bot.get_me()).username == "jixiao_bot"
    finally:
        proc.send_signal(2)
        assert await asyncio.wait_for(proc.wait(), 120) == 0
