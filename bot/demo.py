"""``jixiao demo``: a whole quarterly cycle, simulated end to end, with no token and no network.

A temporary SQLite database and the project's fake Bot API server on loopback; the
real bot; simulated staff, leaders, the working group and citizens who tap and type
in their chats. It prints the chats as a transcript, then the final result table, and
writes one person's result chart (a PNG with Chinese labels) to the output folder.
The simulated people act through the same buttons and messages a person would.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import tempfile
import unicodedata
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from bot.runner import serve
from conversations import (
    appeal as appeal_flow,
)
from conversations import (
    cycle_admin as cycle_admin_flow,
)
from conversations import (
    form_view as form_view_flow,
)
from conversations import (
    invite as invite_flow,
)
from conversations import (
    plan as plan_flow,
)
from conversations import (
    rectification as rectification_flow,
)
from conversations import (
    result_review as result_review_flow,
)
from conversations import (
    results as results_flow,
)
from conversations import (
    survey as survey_flow,
)
from conversations import (
    template_upload as template_upload_flow,
)
from domain.enums import AssignmentStatus
from domain.labels import GRADE_LABELS
from fakebotapi import BotMessage, FakeBotApi, SimUser
from infra.config import Settings
from infra.db import make_engine, make_sessions, upgrade
from infra.i18n import Translator
from infra.models import Assignment, Cycle, OrgUnit, Result, Staff, TelegramAccount
from services import forms, invites, survey_links
from services.staff_import import apply_import, parse_roster

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "100000:DEMO-token"
WAIT = 60.0


class Person:
    """A simulated person: everything they send and receive goes into the transcript."""

    def __init__(self, name: str, user: SimUser, out: Callable[[str], None]) -> None:
        self.name = name
        self.user = user
        self.out = out

    async def say(self, text: str) -> None:
        self.out(f"  【{self.name}】 {text}")
        await self.user.send(text)

    async def send_file(self, filename: str, data: bytes) -> None:
        self.out(f"  【{self.name}】 📎 {filename}")
        await self.user.send_document(filename, data)

    async def see(self, contains: str | None = None, *, button: str | None = None) -> BotMessage:
        """The next message (printing everything on the way) that has ``contains`` in its text
        or a button whose data starts with ``button``: pushed messages may arrive in between."""
        while True:
            msg = await self.user.expect(WAIT)
            self._show(msg)
            if button is not None and not any(
                d and d.startswith(button) for d in msg.button_data()
            ):
                continue
            if contains is None or contains in (msg.text or ""):
                return msg

    def _show(self, msg: BotMessage) -> None:
        body = (
            "[图片]"
            if msg.kind == "photo"
            else (f"[文件 {msg.document_filename}]" if msg.kind == "document" else "")
        )
        text = re.sub(r"</?[a-z]+>", "", msg.text or "")
        lines = [line for line in text.splitlines() if line.strip()][:14]
        head = f"  绩效助手 → {self.name}{'（更新）' if msg.edited else ''}：{body}"
        self.out(head + ("" if not lines else " " + lines[0]))
        for line in lines[1:]:
            self.out(f"      {line}")
        if msg.buttons:
            self.out("      " + " ".join(f"[{t}]" for t in msg.button_texts()[:8]))

    async def tap(self, msg: BotMessage, data_prefix: str, *, index: int = 0) -> None:
        choices = [
            (t, d)
            for t, d in zip(msg.button_texts(), msg.button_data(), strict=True)
            if d and d.startswith(data_prefix)
        ]
        label, data = choices[index]
        self.out(f"  【{self.name}】 点击「{label}」")
        await self.user.press(data, msg)


def _section(out: Callable[[str], None], title: str) -> None:
    out("")
    out(f"━━━━ {title} ━━━━")


async def run_demo(out_dir: Path, out: Callable[[str], None] = print) -> int:
    """The whole cycle on a throw-away database, removed afterwards (only the chart stays)."""
    with tempfile.TemporaryDirectory(prefix="jixiao-demo-") as workdir:
        return await _run_demo(Path(workdir), out_dir, out)


async def _run_demo(workdir: Path, out_dir: Path, out: Callable[[str], None]) -> int:
    out_dir.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - once, before anything runs
    url = f"sqlite+aiosqlite:///{workdir}/demo.db"
    engine = make_engine(url)
    await upgrade(engine)
    sessions = make_sessions(engine)
    server = FakeBotApi()
    await server.start()
    server.add_bot(token=TOKEN, username="jixiao_demo_bot", first_name="绩效助手")
    settings = Settings(
        _env_file=None,
        bot_token=TOKEN,
        bot_username="jixiao_demo_bot",
        database_url=url,  # type: ignore[call-arg]
        telegram_base_url=server.base_url,
        admin_ids="",
    )
    stop = asyncio.Event()
    bot_task = asyncio.create_task(serve(settings, stop=stop, migrate=False, poll_timeout=1))
    try:
        return await _script(sessions, server, settings, out_dir, out)
    finally:
        stop.set()
        await asyncio.wait_for(bot_task, 60)
        await server.stop()
        await engine.dispose()


async def _script(sessions, server: FakeBotApi, settings: Settings, out_dir: Path, out) -> int:  # type: ignore[no-untyped-def]
    now = dt.datetime.now(dt.UTC)
    ids = iter(range(810_001, 820_000))

    def person(name: str, lang: str = "zh-hans") -> Person:
        return Person(name, server.user(next(ids), first_name=name, language_code=lang), out)

    _section(out, "一、导入人员，发放邀请码，绑定账号")
    roster = parse_roster((ROOT / "examples" / "staff.csv").read_bytes(), "staff.csv")
    async with sessions.begin() as s:
        plan = await apply_import(s, roster, actor_label="demo", now=now)
    out(f"  （工作小组导入花名册：{plan.people_in_file} 人，{plan.units_in_file} 个单位）")
    async with sessions.begin() as s:
        issued = await invites.issue_for_unbound(
            s, now=now, ttl=dt.timedelta(days=14), actor_label="demo"
        )
    codes = {i.employee_no: str(i.payload) for i in issued}
    names = {i.employee_no: i.name for i in issued}
    featured = {
        no: person(names[no]) for no in ("YJ001", "YJ007", "YJ010", "YJ011", "YJ012", "YJ013")
    }
    for no, who in featured.items():
        await who.say(f"/start {codes[no]}")
        prompt = await who.see(button=invite_flow.ITS_ME.head)
        await who.tap(prompt, invite_flow.ITS_ME.head)
        await who.see("绑定成功")
    async with sessions.begin() as s:  # everyone else links their account off-screen
        for i in issued:
            if i.employee_no not in featured:
                account = TelegramAccount(
                    telegram_id=next(ids), staff_id=i.staff_id, language="zh_Hans", bound_at=now
                )
                s.add(account)
                server.user(account.telegram_id, language_code="zh-hans")
    admin, leader, head, deputy, me, weak = (
        featured[k] for k in ("YJ007", "YJ001", "YJ010", "YJ011", "YJ012", "YJ013")
    )

    _section(out, "二、工作小组开启季度评估，领导小组审定指标体系")
    await admin.send_file("template.toml", (ROOT / "examples" / "template.toml").read_bytes())
    choose = await admin.see(button=template_upload_flow.PICK_PERIOD.head)
    await admin.tap(choose, template_upload_flow.PICK_PERIOD.head)
    deadline = await admin.see(button=template_upload_flow.PICK_DEADLINE.head)
    await admin.tap(deadline, template_upload_flow.PICK_DEADLINE.head)
    confirm = await admin.see(button=template_upload_flow.OPEN.head)
    await admin.tap(confirm, template_upload_flow.OPEN.head)
    await admin.see()
    request = await leader.see(button=cycle_admin_flow.APPROVE.head)
    await leader.tap(request, cycle_admin_flow.APPROVE.head)
    await leader.see()
    await me.see("已开始")

    _section(out, "三、自评（孙浩）、上级评估（徐丽）、同事互评")
    await me.say("/self")
    msg = await me.see(button=form_view_flow.SCORE.head)
    while any(d and d.startswith(form_view_flow.SCORE.head) for d in msg.button_data()):
        await me.tap(msg, form_view_flow.SCORE.head, index=1)
        msg = await me.see()
    for text in (
        "牵头完成季度应急值守和三次预案演练，信息报送零差错。",
        "夜间值守人手偏紧，个别演练评估报告提交偏晚。",
        "优化排班，演练结束后三个工作日内提交评估报告。",
    ):
        await me.say(text)
        msg = await me.see()
    await me.tap(msg, form_view_flow.SUBMIT.head)
    msg = await me.see(button=form_view_flow.YES_SUBMIT.head)
    await me.tap(msg, form_view_flow.YES_SUBMIT.head)
    await me.see("已提交")
    await deputy.say("/review")
    listing = await deputy.see(button=form_view_flow.OPEN.head)
    async with sessions() as s:
        mine_id = await s.scalar(select(Staff.id).where(Staff.employee_no == "YJ012"))
        review = await s.scalar(
            select(Assignment).where(
                Assignment.ratee_staff_id == mine_id, Assignment.source == "superior"
            )
        )
    assert review is not None
    await deputy.user.press(form_view_flow.OPEN.data(review.id), listing)
    out(f"  【{deputy.name}】 点击「孙浩」")
    msg = await deputy.see(button=form_view_flow.SCORE.head)
    while any(d and d.startswith(form_view_flow.SCORE.head) for d in msg.button_data()):
        await deputy.tap(msg, form_view_flow.SCORE.head, index=0)
        msg = await deputy.see()
    await deputy.say("工作扎实，值守和演练组织得力，信息报送及时准确。")
    msg = await deputy.see(button=form_view_flow.SUBMIT.head)
    await deputy.tap(msg, form_view_flow.SUBMIT.head)
    msg = await deputy.see(button=form_view_flow.YES_SUBMIT.head)
    await deputy.tap(msg, form_view_flow.YES_SUBMIT.head)
    await deputy.see("已提交")
    out("  （其余人员的自评、上级评估和同事互评在各自手机上完成，此处从略）")
    async with sessions() as s:
        weak_id = await s.scalar(select(Staff.id).where(Staff.employee_no == "YJ013"))
        cycle = await s.scalar(select(Cycle))
    assert cycle is not None
    await _fill_the_rest(sessions, cycle.id, weak_id=int(weak_id or 0))

    _section(out, "四、服务对象扫码评价；差评整改")
    async with sessions.begin() as s:
        links = await survey_links.create_links(
            s,
            unit_name="应急指挥中心",
            staff_employee_no=None,
            count=2,
            single_use=True,
            actor_label="demo",
            now=now,
        )
        links += await survey_links.create_links(  # 一事一评: a code for one case
            s,
            unit_name="应急指挥中心",
            staff_employee_no=None,
            count=1,
            single_use=True,
            reference="危化品经营许可证延续 2026-0815",
            actor_label="demo",
            now=now,
        )
    for n, (link, level, lang) in enumerate(
        zip(links, (0, 1, 4), ("zh-hans", "zh-hant", "zh-hans"), strict=True)
    ):
        citizen = person(f"市民{n + 1}", lang)
        await citizen.say(f"/start {link.payload}")
        msg = await citizen.see(button=survey_flow.RATE.head)
        while any(d and d.startswith(survey_flow.RATE.head) for d in msg.button_data()):
            await citizen.tap(msg, survey_flow.RATE.head, index=level)
            msg = await citizen.see()
        await citizen.tap(msg, survey_flow.TOGGLE.head, index=0)  # what went well, or wrong
        msg = await citizen.see(button=survey_flow.NEXT.head)
        if level < 3:
            await citizen.tap(msg, survey_flow.NEXT.head)
            await citizen.see()
            continue
        await citizen.say("等了一个多小时才有人接待。")
        msg = await citizen.see(button=survey_flow.WANTS_REPLY.head)
        await citizen.tap(msg, survey_flow.WANTS_REPLY.head, index=0)
        await citizen.see()
        notice = await head.see(button=rectification_flow.OPEN.head)
        await head.tap(notice, rectification_flow.OPEN.head)
        item = await head.see(button=rectification_flow.ANSWER.head)
        await head.tap(item, rectification_flow.ANSWER.head)
        outcome = await head.see(button=rectification_flow.OUTCOME.head)
        await head.tap(outcome, rectification_flow.OUTCOME.head, index=0)  # 立行立改
        await head.see()
        await head.say(
            "经核实，当日午间窗口仅一人值守。已调整排班，高峰时段增派一人，列入整改台账。"
        )
        await head.see()
        await head.say("已调整窗口排班，高峰时段增派一名工作人员，并向您致歉。")
        await head.see()
        reply = await citizen.see(button=rectification_flow.RATE.head)
        await citizen.tap(reply, rectification_flow.RATE.head, index=0)
        await citizen.see()

    _section(out, "五、截止收集，计算成绩，领导小组审定，推送结果")
    await admin.say("/cycle")
    view = await admin.see(button=cycle_admin_flow.CLOSE.head)
    await admin.tap(view, cycle_admin_flow.CLOSE.data(cycle.id))
    confirm = await admin.see(button=cycle_admin_flow.CLOSE_CONFIRMED.head)
    await admin.tap(confirm, cycle_admin_flow.CLOSE_CONFIRMED.head)
    await admin.see()
    await admin.say(f"/score {cycle.period}")
    scored = await admin.see(button=results_flow.SEND.head)
    await admin.tap(scored, results_flow.SEND.head)
    await admin.see()
    request = await leader.see(button=result_review_flow.APPROVE.head)
    await leader.tap(request, result_review_flow.APPROVE.head)
    await leader.see()
    result_msg = await me.see(button=results_flow.WHY.head)
    chart = next(m for m in me.user.messages if m.kind == "photo")
    if chart.photo:
        (out_dir / "result-chart.png").write_bytes(chart.photo)
        out(f"  （孙浩的结果图已保存：{out_dir / 'result-chart.png'}）")
    await me.tap(result_msg, results_flow.WHY.head)
    await me.see("构成")

    _section(out, "六、申诉与调整")
    await me.tap(result_msg, appeal_flow.NEW.head)
    picker = await me.see(button=appeal_flow.PICK.head)
    await me.tap(picker, appeal_flow.PICK.head)
    await me.see()
    await me.say("本季度另承担了两次跨区增援任务，相关记录未纳入评估，请核实。")
    done = await me.see(button=appeal_flow.FILE.head)
    await me.tap(done, appeal_flow.FILE.head)
    await me.see()
    notice = await admin.see(button=appeal_flow.OPEN.head)
    await admin.tap(notice, appeal_flow.OPEN.head)
    case = await admin.see(button=appeal_flow.ADJUST.head)
    await admin.tap(case, appeal_flow.ADJUST.head)
    await admin.see()
    async with sessions() as s:
        current = await s.scalar(select(Result.total).where(Result.staff_id == mine_id))
    new_total = min(Decimal(100), Decimal(current or 0) + Decimal("2.50"))
    await admin.say(str(new_total))
    await admin.see()
    await admin.say("经核实增援记录属实，工作业绩加计2.5分。")
    await admin.see()
    await me.see("更新")

    _section(out, "七、不合格人员制定绩效改进计划，上级审批")
    weak_result = await weak.see(button=plan_flow.FOR_RESULT.head)
    await weak.tap(weak_result, plan_flow.FOR_RESULT.head)
    await weak.see()
    first = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    second = (dt.date.today() + dt.timedelta(days=60)).isoformat()
    for text in (
        "下季度值守差错为零，演练参与率100%。",
        "每周复盘值守记录，每月参加一次专项演练。",
        "周杰",
        f"{first} 完成值守制度学习\n{second} 参加两次专项演练",
    ):
        await weak.say(text)
        msg = await weak.see()
    if not any(d and d.startswith(plan_flow.CONFIRM.head) for d in msg.button_data()):
        msg = await weak.see(button=plan_flow.CONFIRM.head)
    await weak.tap(msg, plan_flow.CONFIRM.head)
    summary = await weak.see(button=plan_flow.SUBMIT.head)
    await weak.tap(summary, plan_flow.SUBMIT.head)
    await weak.see()
    request = await deputy.see(button=plan_flow.APPROVE.head)
    await deputy.tap(request, plan_flow.APPROVE.head)
    await deputy.see()
    await weak.see("批准")

    _section(out, "八、评估结果（按总分排序）")
    async with sessions() as s:
        rows = (
            await s.execute(
                select(Result, Staff.name, OrgUnit.name)
                .join(OrgUnit, OrgUnit.id == Result.unit_id)
                .outerjoin(Staff, Staff.id == Result.staff_id)
                .order_by(Result.total.desc())
            )
        ).all()
    tr = Translator("zh_Hans")
    table = [
        (
            str(result.rank_overall if result.staff_id else "—"),
            name or "〔单位〕",
            unit,
            str(result.total),
            tr._(GRADE_LABELS[result.grade]),
        )
        for result, name, unit in rows
    ]
    widths = [max(_width(row[i]) for row in [_HEADER, *table]) + 2 for i in range(3)]
    for row in [_HEADER, *table]:
        cells = "".join(_pad(cell, width) for cell, width in zip(row, widths, strict=False))
        out(f"  {cells}{' ' * (8 - _width(row[3]))}{row[3]}  {row[4]}")
    return 0


_HEADER = ("排名", "姓名", "所在单位", "总分", "等级")


def _width(text: str) -> int:
    """Columns a terminal gives ``text``: Chinese characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


async def _fill_the_rest(sessions, cycle_id: int, *, weak_id: int) -> None:  # type: ignore[no-untyped-def]
    """Everyone not shown answers off-screen, through the same form service as the chat."""
    now = dt.datetime.now(dt.UTC)
    async with sessions() as s:
        todo = list(
            await s.scalars(
                select(Assignment).where(
                    Assignment.cycle_id == cycle_id,
                    Assignment.active.is_(True),
                    Assignment.status == AssignmentStatus.OPEN,
                )
            )
        )
    for n, a in enumerate(todo):
        async with sessions.begin() as s:
            form = await forms.load_form(s, a.id)
            for k, item in enumerate(form.items):
                if item.indicator is not None:
                    scale = form.template.scales[item.indicator.scale]
                    if a.ratee_staff_id == weak_id:
                        value = len(scale.levels) - 1 if scale.levels else 45
                    else:
                        value = (n + k) % 3 if scale.levels else 75 + (n + k) % 20
                    await forms.save_score(
                        s, form, item.key, value, staff_id=a.rater_staff_id, now=now
                    )
                else:
                    await forms.save_text(
                        s,
                        form,
                        item.key,
                        "按计划完成各项工作。",
                        staff_id=a.rater_staff_id,
                        now=now,
                    )
            await forms.submit(s, form, staff_id=a.rater_staff_id, now=now)
