"""Web survey benchmark: citizens answer the template's survey through ``jixiao web``.

``python -m bench.web [--citizens 2000] [--workers 1 2] [--database-url URL] [--bot-root DIR]``

The server is ``jixiao web --workers N`` (real uvicorn, a child process; its workers are
its children), on the database migrated by ``jixiao db upgrade``. Each citizen is one
cookie-keeping ``httpx.AsyncClient`` with its own address in ``X-Forwarded-For`` (the
server trusts 127.0.0.1, its default ``--forwarded-allow-ips``), so the per-address rate
limits see 2,000 people, not one; the limits themselves are the shipped ones. A citizen
opens their single-use link (GET: the "open" step), then answers each page: a POST with
the CSRF token and step read from the form, and the redirect followed (the "answer" step),
as a phone browser does. Every fifth gives a 差评 with a reason and says whether they
want an answer, the others a good rating and a tag; all at once (closed loop).

The floor, in the same run and with the same worker counts: Starlette under uvicorn
serving the survey's first page as a static file (``bench.web_floor``) to the same client
code, the same number of steps per citizen. Printed for both: citizens and HTTP responses
per second, p50/p99 of each step, the server's CPU (uvicorn and its workers, from
``/proc``) per step and this process's (the clients') CPU per step, then jixiao ÷ floor.
Every response is then read back: complete, channel "web", every answer as given.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import select

from bench import bureau, common
from bench.common import BotChild
from bench.survey import Given
from domain.enums import ResponseStatus
from infra.db import make_engine, make_sessions
from infra.models import SurveyAnswer, SurveyResponse
from services.surveys import LEVELS, REPLY, TAGS

_HIDDEN = re.compile(r'<input type="hidden" name="(csrf|step)" value="([^"]*)">')
_LEVEL = re.compile(r'name="level" value="(\d+)"')
_TAG = re.compile(r'name="tag" value="(\d+)"')
MAX_STEPS = 30  # a survey that never ends is a failure, not a hang


def _address(n: int) -> str:
    """A distinct client address for citizen ``n`` (10.0.0.1 onwards)."""
    n += 1
    return f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Phase:
    """One measured run: wall time, the latencies of each kind of step, both CPU figures."""

    name: str
    citizens: int = 0
    seconds: float = 0.0
    opened: list[float] = field(default_factory=list)
    answered: list[float] = field(default_factory=list)
    requests: int = 0
    server_cpu: float = 0.0
    harness_cpu: float = 0.0
    refused: list[str] = field(default_factory=list)

    @property
    def steps(self) -> int:
        return len(self.opened) + len(self.answered)

    def per_second(self, count: int) -> float:
        return count / self.seconds

    def cpu_ms(self, seconds: float) -> float:
        return seconds / max(self.steps, 1) * 1000


def pct(latencies: list[float], q: float) -> float:
    ordered = sorted(latencies)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else 0.0


class Refused(Exception):
    """A step not answered with the next page: a 500 or 429, a connection reset."""


class Visitor:
    """A phone browser: keeps its cookies and one connection; times each step."""

    def __init__(self, base: str, n: int, phase: Phase | None) -> None:
        self.client = httpx.AsyncClient(
            base_url=base,
            headers={"X-Forwarded-For": _address(n)},
            timeout=900,
            limits=httpx.Limits(max_connections=1),
        )
        self.phase = phase

    async def _timed(self, into: str, request: Callable[[], Awaitable[httpx.Response]]) -> str:
        started = time.perf_counter()
        try:
            response = await request()
        except httpx.TransportError as exc:  # a connection refused or reset under load
            raise Refused(type(exc).__name__) from None
        if self.phase is not None:
            getattr(self.phase, into).append(time.perf_counter() - started)
            self.phase.requests += 1 + len(response.history)
        if response.status_code != 200 or any(r.status_code != 303 for r in response.history):
            raise Refused(f"{response.request.method} {response.status_code}")
        return response.text

    async def open(self, path: str) -> str:
        return await self._timed("opened", lambda: self.client.get(path))

    async def submit(self, path: str, page: str, fields: dict[str, str | list[str]]) -> str:
        """POST the page's form (its CSRF token and step) with ``fields``; follow the redirect."""
        form = {**dict(_HIDDEN.findall(page)), **fields}
        return await self._timed(
            "answered", lambda: self.client.post(path, data=form, follow_redirects=True)
        )

    async def close(self) -> None:
        await self.client.aclose()


class Citizen:
    """One citizen's whole survey on the web, as ``bench.survey`` answers it in the chat."""

    def __init__(self, n: int, link_id: int) -> None:
        self.n, self.given = n, Given(link_id)
        self.bad = n % 5 == 4
        self.first_page = ""

    def _level(self, position: int) -> int:
        if position == 0:  # the overall level decides a 差评
            return 3 + self.n % 2 if self.bad else self.n % 3
        return (self.n + position) % 5

    async def run(self, visitor: Visitor, path: str) -> None:
        given = self.given
        page = self.first_page = await visitor.open(path)
        for _ in range(MAX_STEPS):
            step = dict(_HIDDEN.findall(page)).get("step")
            if _LEVEL.search(page) and step:
                level = self._level(len(given.levels))
                given.levels[step] = level
                page = await visitor.submit(path, page, {"level": str(level)})
            elif step == TAGS:
                tags = _TAG.findall(page)
                given.tag = self.n % len(tags)
                words = ""
                if self.bad:
                    words = given.reason = f"窗口无人，等候{self.n % 50 + 10}分钟"
                page = await visitor.submit(path, page, {"tag": [tags[given.tag]], "words": words})
            elif step == REPLY:
                given.wants_reply = self.n % 2 == 0
                page = await visitor.submit(path, page, {"reply": str(int(given.wants_reply))})
            else:
                return  # the ending: thanks, or the number and receipt of a 差评
        raise SystemExit(f"citizen {self.n}: no end after {MAX_STEPS} steps")


class Server:
    """``jixiao web`` or the floor under uvicorn, in a child process, ready when it answers."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: str, python: str) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.child = BotChild([*argv, "--port", str(self.port)], env, cwd, python)

    async def ready(self, probe: str) -> None:
        deadline = time.monotonic() + 120
        async with httpx.AsyncClient(base_url=self.base) as client:
            while time.monotonic() < deadline:
                if not self.child.alive():
                    raise SystemExit(f"the server ended:\n{self.child.tail()}")
                try:
                    await client.get(probe)
                    return
                except httpx.TransportError:
                    await asyncio.sleep(0.2)
        raise SystemExit(f"the server did not answer in 120 s:\n{self.child.tail()}")


class Bench:
    """The database, the links, the servers, and the phases measured on them."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.workdir = common.workdir("jixiao-bench-web-")
        self.root: Path = args.bot_root.resolve()
        venv = self.root / ".venv" / "bin" / "python"
        self.python = str(venv) if self.root != common.ROOT and venv.exists() else sys.executable
        self.database_url = common.async_url(
            args.database_url or f"sqlite:///{self.workdir}/bench.db"
        )
        self.page = Path(self.workdir) / "page.html"

    def env(self, root: Path) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("JIXIAO_")}
        env.update(
            JIXIAO_DATABASE_URL=self.database_url,
            JIXIAO_BOT_USERNAME="bench_bot",
            JIXIAO_BENCH_PAGE=str(self.page),
            PYTHONPATH=str(root),
        )
        return env

    def migrate(self) -> None:
        done = subprocess.run(
            [self.python, "-m", "bot.cli", "db", "upgrade"],
            env=self.env(self.root),
            cwd=self.workdir,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise SystemExit(f"migrating {self.database_url} failed:\n{done.stderr[-2000:]}")

    async def _measure(
        self, name: str, server: Server, run: Callable[[int, Phase], Awaitable[None]]
    ) -> Phase:
        phase = Phase(name, citizens=self.args.citizens)
        cpu, harness = server.child.cpu(), time.process_time()
        started = time.perf_counter()
        await asyncio.gather(*(run(n, phase) for n in range(self.args.citizens)))
        phase.seconds = time.perf_counter() - started
        phase.harness_cpu = time.process_time() - harness
        phase.server_cpu = server.child.cpu() - cpu
        return phase

    async def jixiao(
        self, workers: int, links: list[tuple[str, int]]
    ) -> tuple[Phase, list[Citizen]]:
        argv = ["-m", "bot.cli", "web", "--workers", str(workers)]
        server = Server(argv, self.env(self.root), self.workdir, self.python)
        citizens: list[Citizen] = []

        async def citizen(n: int, phase: Phase | None) -> None:
            payload, link_id = links[n]
            c = Citizen(n, link_id)
            if phase is not None:
                citizens.append(c)
            visitor = Visitor(server.base, n, phase)
            try:
                await c.run(visitor, f"/s/{payload.split('_', 1)[1]}")
            except Refused as exc:
                if phase is None:
                    raise
                phase.refused.append(str(exc))
                citizens.remove(c)
            finally:
                await visitor.close()
            if not self.page.exists():
                self.page.write_text(c.first_page, encoding="utf-8")

        try:
            await server.ready("/s/nosuchtoken0000")
            # warm every worker a little (uvicorn spreads connections among them)
            warm = links[self.args.citizens :]
            await asyncio.gather(*(citizen(self.args.citizens + i, None) for i in range(len(warm))))
            phase = await self._measure(f"jixiao, {workers} worker(s)", server, citizen)
            if phase.refused:
                log = server.child.log.read_text(errors="replace").splitlines()
                errors = [line for line in log if "Error" in line]
                print("jixiao's log ends with:\n" + "\n".join(errors[-3:]))
        except BaseException:
            print(server.child.tail())
            raise
        finally:
            await server.child.stop()
        return phase, citizens

    async def floor(self, workers: int, steps: int) -> Phase:
        argv = ["-m", "uvicorn", "bench.web_floor:app", "--workers", str(workers)]
        argv += ["--no-access-log", "--no-server-header", "--proxy-headers"]
        argv += ["--forwarded-allow-ips", "127.0.0.1"]
        # as `jixiao web` serves: a connection kept 75 s between a citizen's taps (at
        # uvicorn's default 5 s a crowd's connections close mid-reuse: ReadError)
        argv += ["--timeout-keep-alive", "75"]
        server = Server(argv, self.env(common.ROOT), self.workdir, sys.executable)

        async def citizen(n: int, phase: Phase | None) -> None:
            visitor = Visitor(server.base, n, phase)
            path = f"/s/floor{n}"
            try:
                page = await visitor.open(path)
                for _ in range(steps - 1):
                    page = await visitor.submit(path, page, {"level": "0"})
            except Refused as exc:
                if phase is None:
                    raise
                phase.refused.append(str(exc))
            finally:
                await visitor.close()

        try:
            await server.ready("/s/probe")
            await asyncio.gather(*(citizen(n, None) for n in range(2 * workers)))
            return await self._measure(f"floor, {workers} worker(s)", server, citizen)
        except BaseException:
            print(server.child.tail())
            raise
        finally:
            await server.child.stop()


async def check_stored(database_url: str, given: list[Given]) -> int:
    """Every citizen's response, read back: complete, from the web, holding what they gave."""
    engine = make_engine(database_url)
    async with make_sessions(engine)() as s:
        responses = {r.link_id: r for r in await s.scalars(select(SurveyResponse))}
        answers: dict[int, dict[str, str]] = {}
        for a in await s.scalars(select(SurveyAnswer)):
            answers.setdefault(a.response_id, {})[a.question] = a.level.value
    await engine.dispose()
    problems = []
    for g in given:
        r = responses.get(g.link_id)
        expected = {code: LEVELS[level].value for code, level in g.levels.items()}
        if r is None or r.status != ResponseStatus.COMPLETE:
            problems.append(f"link {g.link_id}: {r.status if r else 'no response'}")
        elif r.channel != "web":
            problems.append(f"link {g.link_id}: channel {r.channel!r}")
        elif answers.get(r.id) != expected:
            problems.append(f"link {g.link_id}: answers {answers.get(r.id)} != {expected}")
        elif (r.problems if g.reason else r.praise) != [g.tag]:
            problems.append(f"link {g.link_id}: tags {r.praise} {r.problems}, gave {g.tag}")
        elif g.reason and (r.problem_text != g.reason or r.wants_reply != g.wants_reply):
            problems.append(f"link {g.link_id}: {r.problem_text!r} {r.wants_reply}")
    if problems:
        raise SystemExit(
            f"{len(problems)} responses not stored as given:\n" + "\n".join(problems[:20])
        )
    return len(given)


def table(phases: list[Phase]) -> str:
    lines = [
        f"{'':<22}{'citizens/s':>11}{'HTTP/s':>9}{'open p50':>10}{'p99 ms':>10}"
        f"{'answer p50':>12}{'p99 ms':>10}{'server CPU ms/step':>20}{'client CPU ms/step':>20}"
    ]
    for p in phases:
        lines.append(
            f"{p.name:<22}{p.per_second(p.citizens):>11.1f}{p.per_second(p.requests):>9.0f}"
            f"{pct(p.opened, 0.5):>10.1f}{pct(p.opened, 0.99):>10.1f}"
            f"{pct(p.answered, 0.5):>12.1f}{pct(p.answered, 0.99):>10.1f}"
            f"{p.cpu_ms(p.server_cpu):>20.2f}{p.cpu_ms(p.harness_cpu):>20.2f}"
        )
    return "\n".join(lines)


def ratio_line(jx: Phase, floor: Phase, label: str) -> str:
    def r(a: float, b: float) -> str:
        return f"{a / b:.2f}x" if b else "-"

    return (
        f"{label:<22}{r(floor.seconds, jx.seconds):>11}{'':>9}"
        f"{r(pct(jx.opened, 0.5), pct(floor.opened, 0.5)):>10}"
        f"{r(pct(jx.opened, 0.99), pct(floor.opened, 0.99)):>10}"
        f"{r(pct(jx.answered, 0.5), pct(floor.answered, 0.5)):>12}"
        f"{r(pct(jx.answered, 0.99), pct(floor.answered, 0.99)):>10}"
        f"{r(jx.cpu_ms(jx.server_cpu), floor.cpu_ms(floor.server_cpu)):>20}"
    )


async def main(args: argparse.Namespace) -> None:
    bench = Bench(args)
    if any(w > 1 for w in args.workers) and bench.database_url.startswith("sqlite"):
        raise SystemExit("several workers need PostgreSQL (--database-url postgresql://…)")
    bench.migrate()
    engine = make_engine(bench.database_url)
    sessions = make_sessions(engine)
    await bureau.build(sessions)
    per_run = args.citizens + max(args.workers)
    links = list((await bureau.survey_payloads(sessions, per_run * len(args.workers))).items())
    await engine.dispose()
    phases: list[Phase] = []
    ratios: list[str] = []
    given: list[Given] = []
    bad = 0
    for i, workers in enumerate(args.workers):
        mine = links[i * per_run : (i + 1) * per_run][: args.citizens + workers]
        jx, citizens = await bench.jixiao(workers, mine)
        given += [c.given for c in citizens]
        bad += sum(c.bad for c in citizens)
        steps = round(jx.steps / args.citizens)
        floor = await bench.floor(workers, steps)
        phases += [floor, jx]
        ratios.append(ratio_line(jx, floor, f"jixiao ÷ floor, {workers}w"))
    if failed := [p for p in phases if p.refused]:
        print(table(phases))
        raise SystemExit(
            "; ".join(
                f"{p.name}: {len(p.refused)} of {p.citizens} citizens refused a step "
                f"({', '.join(sorted(set(p.refused)))})"
                for p in failed
            )
        )
    stored = await check_stored(bench.database_url, given)
    print(
        f"{args.citizens} citizens all at once per run, {steps} steps each "
        f"({bad} 差评 in all); {bench.database_url.split(':', 1)[0]}; shipped rate limits, "
        "one X-Forwarded-For address per citizen"
    )
    print(f"{stored} responses stored complete, channel web, every answer, tag and reason as given")
    print(table(phases))
    for line in ratios:
        print(line)
    print("(ratios: floor's wall time ÷ jixiao's, then jixiao's latency and server CPU ÷ floor's)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--citizens", type=int, default=2000)
    parser.add_argument(
        "--workers",
        type=int,
        nargs="+",
        help="uvicorn worker counts to measure (default: 1 2 on PostgreSQL, 1 on SQLite)",
    )
    parser.add_argument(
        "--database-url",
        help="postgresql://… or sqlite:///… (migrated here); default: a fresh SQLite file",
    )
    parser.add_argument(
        "--bot-root",
        type=Path,
        default=common.ROOT,
        help="run jixiao web from this checkout (to measure another branch with this harness)",
    )
    parsed = parser.parse_args()
    if parsed.workers is None:
        url = parsed.database_url or "sqlite"
        parsed.workers = [1] if url.startswith("sqlite") else [1, 2]
    asyncio.run(main(parsed))
