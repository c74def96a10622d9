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
import shutil
import sys
import tempfile
import unicodedata
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from bot.cli_errors import CliFailure
from bot.demo_lines import lines_for
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
from domain.enums import AssignmentStatus, Grade
from domain.labels import GRADE_LABELS
from fakebotapi import BotMessage, FakeBotApi, SimUser
from infra.config import Settings
from infra.db import make_engine, make_sessions, upgrade
from infra.i18n import Translator
from infra.models import Assignment, Cycle, OrgUnit, Result, Staff, TelegramAccount
from services import forms, invites, survey_links
from services.staff_import import apply_import, parse_roster
from services.templates import localized

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "100000:DEMO-token"
KEPT_DATABASE = "jixiao.db"  # the name ``--keep`` gives the database in its folder
DEMO_UNIT = "应急指挥中心"  # the unit the kept demo's survey links are printed for
WEB_PORT = 8080  # ``jixiao web``'s default, said in the printed commands
WAIT = 60.0
OnMessage = Callable[[str, BotMessage], None] | None


class Transcript:
    """Everything the featured people see, printed in the one order the bot sent it.

    Each person waits on their own chat, but a message pushed to someone else meanwhile
    (a notice, an approval request) is printed where it was sent, not when its reader
    next looks: before every action and after every wait, all chats' new messages are
    printed in the fake server's global order. Messages are printed whole.
    """

    def __init__(self, tr: Translator, out: Callable[[str], None], on_message: OnMessage) -> None:
        self.tr = tr
        self.out = out
        self.on_message = on_message
        self.people: list[Person] = []
        self.bot_name = tr._("Performance assistant")

    def flush(self) -> None:
        pending = [
            (msg.seq, n, person, msg)
            for person in self.people
            for n, msg in enumerate(person.user.events(person.printed))
        ]
        for _seq, _n, person, msg in sorted(pending, key=lambda p: (p[0], p[1])):
            person.printed += 1
            self._show(person, msg)

    def _show(self, person: Person, msg: BotMessage) -> None:
        tr = self.tr
        if self.on_message is not None:
            self.on_message(person.name, msg)
        if msg.kind == "photo":
            body = tr._("[picture]")
        elif msg.kind == "document":
            body = tr._("[file {name}]").format(name=msg.document_filename)
        else:
            body = ""
        lines = (msg.text or "").strip("\n").splitlines()
        if body:
            lines = [body, *lines]
        who = f"{self.bot_name} → {person.name}"
        if msg.edited:
            who += tr.paren(tr._("edited"))
        self.out("  " + tr.label(who, lines[0] if lines else ""))
        for line in lines[1:]:
            self.out(f"      {line}".rstrip())
        for row in msg.buttons:
            self.out("      " + " ".join(f"[{b.text}]" for b in row))


class Person:
    """A simulated person: what they send is printed as they send it."""

    def __init__(self, name: str, user: SimUser, transcript: Transcript) -> None:
        self.name = name
        self.user = user
        self.transcript = transcript
        self.printed = 0  # how many of this chat's bot events the transcript has printed
        transcript.people.append(self)

    def _act(self, what: str) -> None:
        self.transcript.flush()
        self.transcript.out("  " + self.transcript.tr.heading(self.name) + what)

    async def say(self, text: str) -> None:
        self._act(text)
        await self.user.send(text)

    async def send_file(self, filename: str, data: bytes) -> None:
        self._act(f"📎 {filename}")
        await self.user.send_document(filename, data)

    async def see(self, contains: str | None = None, *, button: str | None = None) -> BotMessage:
        """The next message here that has ``contains`` in its text or a button whose data
        starts with ``button``; anything else that arrives on the way is printed too."""
        while True:
            msg = await self.user.expect(WAIT)
            self.transcript.flush()
            if button is not None and not any(
                d and d.startswith(button) for d in msg.button_data()
            ):
                continue
            if contains is None or contains in (msg.text or ""):
                return msg

    async def tap(self, msg: BotMessage, data_prefix: str, *, index: int = 0) -> None:
        choices = [
            (t, d)
            for t, d in zip(msg.button_texts(), msg.button_data(), strict=True)
            if d and d.startswith(data_prefix)
        ]
        label, data = choices[index]
        self._act(self.transcript.tr._("taps “{label}”").format(label=label))
        await self.user.press(data, msg)

    def tapped(self, label: str) -> None:
        """Print a tap the script makes through a button's codec (the data names a record)."""
        self._act(self.transcript.tr._("taps “{label}”").format(label=label))


def _section(out: Callable[[str], None], title: str) -> None:
    out("")
    out(f"━━━━ {title} ━━━━")


def expected(tr: Translator, msgid: str) -> str:
    """The longest fixed part of a bot message in the demo's language, to wait for it by
    what it says whatever the wording of the day (tags and placeholders left out)."""
    text = re.sub(r"</?[a-z]+>", "", tr._(msgid))
    return max(re.split(r"\{[^}]*\}", text), key=len)


async def run_demo(
    out_dir: Path,
    out: Callable[[str], None] = print,
    *,
    language: str = "zh_Hans",
    on_message: OnMessage = None,
    keep: Path | None = None,
) -> int:
    """The whole cycle on a throw-away database, removed afterwards (only the chart stays).

    ``language`` is everyone's Telegram language; ``on_message`` sees every message the
    featured people receive (the tests read them). ``keep``: a folder (an absolute path)
    where the database stays instead, so the offline commands can be tried on a published cycle.
    """
    if keep is not None:
        return await _run_kept(keep, out_dir, out, language, on_message)
    with tempfile.TemporaryDirectory(prefix="jixiao-demo-") as workdir:
        return await _run_demo(Path(workdir) / "demo.db", out_dir, out, language, on_message)


async def _run_kept(
    keep: Path, out_dir: Path, out: Callable[[str], None], language: str, on_message: OnMessage
) -> int:
    """The demo on ``keep/jixiao.db``, then how to point the CLI at it."""
    tr = Translator(language)
    database = keep / KEPT_DATABASE
    if database.exists():
        raise CliFailure(
            tr._(
                "{path} already exists: give --keep an empty or new folder, the demo does not overwrite a database."
            ).format(path=database)
        )
    keep.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - once, before anything runs
    status = await _run_demo(database, out_dir, out, language, on_message)
    # the served database's lock: nothing serves the kept copy now, and a stale file puzzles
    database.with_name(database.name + ".lock").unlink(missing_ok=True)
    out("")
    out(
        tr._("The demo's database is kept in {path}. To try the other commands on it:").format(
            path=database
        )
    )
    period = await _published_period(database)
    out(f"  export JIXIAO_DATABASE_URL=sqlite:///{database}")
    jixiao = _command()
    out(f"  {jixiao} cycle status")
    out(f"  {jixiao} export {period} --out {period}.xlsx")
    out(f"  {jixiao} report {period} --out {period}.pdf")
    out(f"  {jixiao} audit")
    out(tr._("The citizens' survey page: links that open it, then the page on this computer:"))
    out(f"  export JIXIAO_PUBLIC_URL=http://127.0.0.1:{WEB_PORT}")
    out(f"  {jixiao} survey links --unit {DEMO_UNIT} --count 3 --out qr")
    out(f"  {jixiao} web --port {WEB_PORT}")
    return status


def _command() -> str:
    """``jixiao`` as the reader can type it: bare when it is on PATH, else the path of the one
    running (``.venv/bin/jixiao`` as the README installs it, which a shell does not find)."""
    if shutil.which("jixiao"):
        return "jixiao"
    running = Path(sys.argv[0])
    beside = Path(sys.executable).with_name("jixiao")  # ``python -m bot.cli`` in a venv
    for script in (running, beside):
        if script.name == "jixiao" and script.is_file():
            return str(script.resolve())
    return "jixiao"


async def _published_period(database: Path) -> str:
    """The period code of the cycle the demo published, as the commands above take it."""
    engine = make_engine(f"sqlite+aiosqlite:///{database}")
    try:
        async with make_sessions(engine)() as session:
            period = await session.scalar(select(Cycle.period).order_by(Cycle.id.desc()).limit(1))
    finally:
        await engine.dispose()
    return period or "PERIOD"


async def _run_demo(
    database: Path,
    out_dir: Path,
    out: Callable[[str], None],
    language: str,
    on_message: OnMessage,
) -> int:
    out_dir.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - once, before anything runs
    url = f"sqlite+aiosqlite:///{database}"
    engine = make_engine(url)
    await upgrade(engine)
    sessions = make_sessions(engine)
    server = FakeBotApi()
    await server.start()
    tr = Translator(language)
    server.add_bot(
        token=TOKEN, username="jixiao_demo_bot", first_name=tr._("Performance assistant")
    )
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
        transcript = Transcript(tr, out, on_message)
        result = await _script(sessions, server, transcript, out_dir)
        transcript.flush()
        return result
    finally:
        stop.set()
        await asyncio.wait_for(bot_task, 60)
        await server.stop()
        await engine.dispose()


async def _script(sessions, server: FakeBotApi, transcript: Transcript, out_dir: Path) -> int:  # type: ignore[no-untyped-def]
    now = dt.datetime.now(dt.UTC)
    ids = iter(range(810_001, 820_000))
    tr, out = transcript.tr, transcript.out
    said = lines_for(tr.locale)
    lang = {"zh_Hans": "zh-hans", "zh_Hant": "zh-hant"}.get(tr.locale, "en")

    def person(name: str) -> Person:
        return Person(name, server.user(next(ids), first_name=name, language_code=lang), transcript)

    def note(text: str) -> None:
        transcript.flush()
        out("  " + tr.paren(text).strip())

    _section(out, tr._("1. Import the roster, issue invitation codes, link accounts"))
    roster = parse_roster((ROOT / "examples" / "staff.csv").read_bytes(), "staff.csv")
    async with sessions.begin() as s:
        plan = await apply_import(s, roster, actor_label="demo", now=now)
    note(
        tr._("The working group imports the roster: {people} people, {units} units").format(
            people=plan.people_in_file, units=plan.units_in_file
        )
    )
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
        await who.see(expected(tr, "Linked. Welcome, {name}!"))
        await who.see(expected(tr, "<b>Your tasks</b>"))  # the home screen follows
    async with sessions.begin() as s:  # everyone else links their account off-screen
        for i in issued:
            if i.employee_no not in featured:
                account = TelegramAccount(
                    telegram_id=next(ids), staff_id=i.staff_id, language=tr.locale, bound_at=now
                )
                s.add(account)
                server.user(account.telegram_id, language_code=lang)
    admin, leader, head, deputy, me, weak = (
        featured[k] for k in ("YJ007", "YJ001", "YJ010", "YJ011", "YJ012", "YJ013")
    )

    _section(
        out, tr._("2. The working group opens the quarter; the leadership approves the indicators")
    )
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
    await me.see(
        expected(
            tr,
            "The {period} performance evaluation has started. Please finish by {deadline}: {tasks}. Send /start to begin.",
        )
    )

    _section(
        out,
        tr._("3. Self-assessment ({name}), superior review ({superior}), peer reviews").format(
            name=me.name, superior=deputy.name
        ),
    )
    submitted = expected(tr, "Submitted. Thank you!")
    await me.say("/self")
    msg = await me.see(button=form_view_flow.SCORE.head)
    while any(d and d.startswith(form_view_flow.SCORE.head) for d in msg.button_data()):
        await me.tap(msg, form_view_flow.SCORE.head, index=1)
        msg = await me.see()
    for text in (said.achievements, said.problems, said.measures):
        await me.say(text)
        msg = await me.see()
    await me.tap(msg, form_view_flow.SUBMIT.head)
    msg = await me.see(button=form_view_flow.YES_SUBMIT.head)
    await me.tap(msg, form_view_flow.YES_SUBMIT.head)
    await me.see(submitted)
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
    deputy.tapped(me.name)
    await deputy.user.press(form_view_flow.OPEN.data(review.id), listing)
    msg = await deputy.see(button=form_view_flow.SCORE.head)
    while any(d and d.startswith(form_view_flow.SCORE.head) for d in msg.button_data()):
        await deputy.tap(msg, form_view_flow.SCORE.head, index=0)
        msg = await deputy.see()
    await deputy.say(said.superior_comment)
    msg = await deputy.see(button=form_view_flow.SUBMIT.head)
    await deputy.tap(msg, form_view_flow.SUBMIT.head)
    msg = await deputy.see(button=form_view_flow.YES_SUBMIT.head)
    await deputy.tap(msg, form_view_flow.YES_SUBMIT.head)
    await deputy.see(submitted)
    note(
        tr._(
            "Everyone else's self-assessments, superior reviews and peer reviews are done on their own phones and not shown here"
        )
    )
    async with sessions() as s:
        weak_id = await s.scalar(select(Staff.id).where(Staff.employee_no == "YJ013"))
        cycle = await s.scalar(select(Cycle))
    assert cycle is not None
    await _fill_the_rest(sessions, cycle.id, weak_id=int(weak_id or 0))

    _section(out, tr._("4. Citizens rate a service by QR code; a negative rating is rectified"))
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
    for n, (link, level) in enumerate(zip(links, (0, 1, 4), strict=True)):
        citizen = person(tr._("Citizen {n}").format(n=n + 1))
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
        await citizen.say(said.complaint)
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
        await head.say(said.rectification_record)
        await head.see()
        await head.say(said.rectification)
        await head.see()
        reply = await citizen.see(button=rectification_flow.RATE.head)
        await citizen.tap(reply, rectification_flow.RATE.head, index=0)
        await citizen.see()

    _section(
        out,
        tr._("5. Collection closes, scores are computed, the leadership approves, results go out"),
    )
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
        note(
            tr._("{name}'s result chart is saved as {path}").format(
                name=me.name, path=out_dir / "result-chart.png"
            )
        )
    await me.tap(result_msg, results_flow.WHY.head)
    await me.see(expected(tr, "<b>How your total of {total} is made</b>"))

    _section(out, tr._("6. An appeal and an adjustment"))
    await me.tap(result_msg, appeal_flow.NEW.head)
    picker = await me.see(button=appeal_flow.PICK.head)
    await me.tap(picker, appeal_flow.PICK.head, index=1)  # 工作业绩 (the total comes first)
    await me.see()
    await me.say(said.appeal)
    done = await me.see(button=appeal_flow.FILE.head)
    await me.tap(done, appeal_flow.FILE.head)
    await me.see()
    notice = await admin.see(button=appeal_flow.OPEN.head)
    await admin.tap(notice, appeal_flow.OPEN.head)
    case = await admin.see(button=appeal_flow.ADJUST.head)
    await admin.tap(case, appeal_flow.ADJUST.head)
    where = await admin.see(button=appeal_flow.AT.head)  # the indicator of 工作业绩 to change
    code = "P03"  # 突发事件应急处置效果
    offered = [d for d in where.button_data() if d and d.startswith(appeal_flow.AT.head)]
    at = next(n for n, d in enumerate(offered) if d.endswith(f":{code}"))
    await admin.tap(where, appeal_flow.AT.head, index=at)
    await admin.see()
    async with sessions() as s:
        breakdown = await s.scalar(select(Result.breakdown).where(Result.staff_id == mine_id))
    current = next(
        i["score"] for d in breakdown["dimensions"] for i in d["indicators"] if i["code"] == code
    )
    await admin.say("95" if Decimal(current) != 95 else "100")
    await admin.see()
    await admin.say(said.appeal_decision)
    await admin.see()
    await me.see(expected(tr, "<b>Your {period} result has been updated after your appeal.</b>"))

    _section(
        out,
        tr._(
            "7. A person graded {grade} makes an improvement plan; the superior approves it"
        ).format(grade=tr._(GRADE_LABELS[Grade.FAIL])),
    )
    weak_result = await weak.see(button=plan_flow.FOR_RESULT.head)
    await weak.tap(weak_result, plan_flow.FOR_RESULT.head)
    await weak.see()
    first = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    second = (dt.date.today() + dt.timedelta(days=60)).isoformat()
    for text in (
        said.plan_goal,
        said.plan_measures,
        "周杰",
        f"{first} {said.milestone_1}\n{second} {said.milestone_2}",
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
    await weak.see(
        expected(
            tr,
            "Your improvement plan ({subject}, {period}) has been approved. You will be reminded of each milestone; report your progress with /plan.",
        )
    )
    transcript.flush()

    _section(out, tr._("8. The results, by total score"))
    async with sessions() as s:
        rows = (
            await s.execute(
                select(Result, Staff.name, OrgUnit.name)
                .join(OrgUnit, OrgUnit.id == Result.unit_id)
                .outerjoin(Staff, Staff.id == Result.staff_id)
                .order_by(Result.total.desc())
            )
        ).all()
    header = (tr._("Rank"), tr._("Name"), tr._("Unit"), tr._("Total"), tr._("Grade"))
    table = [
        (
            str(result.rank_overall if result.staff_id else "—"),
            name or tr._(" (unit)").strip(),
            localized(unit, tr.locale),
            str(result.total),
            tr._(GRADE_LABELS[result.grade]),
        )
        for result, name, unit in rows
    ]
    for line in aligned([header, *table], right=(3,)):
        out("  " + line)
    return 0


def aligned(rows: list[tuple[str, ...]], *, right: tuple[int, ...] = ()) -> list[str]:
    """A table as terminal lines, columns padded by display width (a Chinese character
    takes two columns), the columns in ``right`` aligned right."""
    widths = [max(_width(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [
            (" " * (w - _width(c)) + c) if i in right else (c + " " * (w - _width(c)))
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    return lines


def _width(text: str) -> int:
    """Columns a terminal gives ``text``: Chinese characters and full-width forms take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


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
