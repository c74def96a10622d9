"""The result chart as people receive it: queued as a spec in their language, drawn as bars."""

from __future__ import annotations

import io

from PIL import Image
from sqlalchemy import select, update

from fakebotapi import FakeBotApi
from infra.db import SessionFactory
from infra.models import OutboxMessage, TelegramAccount
from tests.drivers import results as results_driver
from tests.factories import bind
from tests.test_results import ADMIN, _scored

# language, what the title's period and the total's line must read
EXPECTED = {
    "zh_Hans": ("2026年第四季度", "总分："),
    "zh_Hant": ("2026年第四季度", "總分："),
    "en": ("Q4 2026", "Total: "),
}


async def test_published_chart_is_titled_in_each_language(
    server: FakeBotApi, bot, sessions: SessionFactory, settings
) -> None:  # type: ignore[no-untyped-def]
    _cycle_id, members, chief = await _scored(sessions, settings, people=3)
    await bind(sessions, 9300, chief)
    users = {}
    for n, (staff_id, language) in enumerate(zip(members, EXPECTED, strict=False)):
        await bind(sessions, 9301 + n, staff_id)
        async with sessions.begin() as s:
            await s.execute(
                update(TelegramAccount)
                .where(TelegramAccount.telegram_id == 9301 + n)
                .values(language=language)
            )
        users[9301 + n] = (language, server.user(9301 + n))
    admin = server.user(ADMIN, language_code="zh-hans")
    await admin.send("/score 2026Q4")
    scored = await admin.expect_text("2026年第四季度")
    await results_driver.send_for_approval(admin, scored)
    leader = server.user(9300, language_code="zh-hans")
    await results_driver.approve(leader, await leader.expect_text("审定"))
    for chat_id, (language, user) in users.items():
        await user.wait_until(
            lambda u=user: any(m.kind == "photo" for m in u.messages), timeout=120
        )
        async with sessions() as s:
            rows = list(
                await s.scalars(
                    select(OutboxMessage).where(
                        OutboxMessage.chat_id == chat_id, OutboxMessage.method == "sendPhoto"
                    )
                )
            )
        specs = {str(row.dedupe_key).split(":")[0]: row.payload["render"] for row in rows}
        sent = len(specs)
        await user.wait_until(
            lambda u=user, n=sent: sum(m.kind == "photo" for m in u.messages) == n, timeout=120
        )
        for photo in (m for m in user.messages if m.kind == "photo"):
            assert photo.photo is not None
            image = Image.open(io.BytesIO(photo.photo))
            assert image.width == 800 and image.width > image.height  # landscape, not a square
        period, total = EXPECTED[language]
        if "unit-result" in specs:  # the unit head's grade distribution
            assert specs["unit-result"]["title"].endswith(f" · {period}")
        spec = specs["result"]
        assert spec["kind"] == "result" and spec["locale"] == language
        assert spec["title"].endswith(f" · {period}") and "2026Q4" not in spec["title"]
        assert spec["subtitle"].startswith(total) and spec["total"] in spec["subtitle"]
        assert spec["bands"] == ["90", "80", "60"]
        assert set(spec["scores"]) == {"performance", "ability", "attitude", "innovation"}
