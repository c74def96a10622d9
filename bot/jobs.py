"""Periodic work driven from the database, so a restart neither loses nor repeats any of it."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from telegram.ext import JobQueue

from bot.result_pushes import push_pending
from infra import inbox
from infra.container import Services
from infra.outage import DatabaseWatch, describe, is_outage
from services import appeals, cycles, notices, outbox, plans, rectification
from services.cases import Env
from services.invites import prune_attempts

log = logging.getLogger(__name__)

Job = Callable[[Services], Awaitable[object]]


async def run_reminders(services: Services) -> int:
    """Queue the reminders that are due now (by the injectable clock); the outbox sends them."""
    count = 0
    async with services.sessions.begin() as session:
        for cycle in await cycles.collecting(session):
            count += await notices.send_due_reminders(
                session,
                cycle,
                now=services.clock(),
                local=notices.Localization.of(services.settings),
            )
    if count:
        log.info("queued %d reminders", count)
        services.outbox_wake()
    return count


async def run_rectification_reminders(services: Services) -> int:
    """Tell unit heads, once per item, of bad reviews (差评) past their rectification deadline."""
    async with services.sessions.begin() as session:
        count = await rectification.remind_overdue(
            session, services.clock(), env=Env.of(services.settings)
        )
    if count:
        log.info("queued %d overdue rectification reminders", count)
        services.outbox_wake()
    return count


async def run_appeal_reminders(services: Services) -> int:
    """Remind the working group, once per appeal, of a decision due within 2 working days or late."""
    async with services.sessions.begin() as session:
        count = await appeals.remind_due(
            session,
            services.clock(),
            tz=services.settings.tz,
            env=Env.of(services.settings),
        )
    if count:
        log.info("queued %d appeal deadline reminders", count)
        services.outbox_wake()
    return count


async def run_plan_reminders(services: Services) -> int:
    """Remind authors of improvement-plan milestones due today, and once more when overdue."""
    async with services.sessions.begin() as session:
        count = await plans.remind_due(session, now=services.clock(), tz=services.settings.tz)
    if count:
        log.info("queued %d improvement-plan reminders", count)
        services.outbox_wake()
    return count


async def run_result_pushes(services: Services) -> int:
    """Tell the people of a published cycle their results, in short transactions
    (``services.result_push``): after a big publish, and after a crash in the middle of one."""
    return await push_pending(
        services.sessions,
        local=notices.Localization.of(services.settings),
        wake=services.outbox_wake,
    )


async def run_housekeeping(services: Services) -> None:
    """Forget what is no longer needed: finished inbox updates, outbox rows finished more
    than ``services.outbox.RETENTION`` ago, and old wrong-code attempts."""
    await inbox.prune(services.sessions)
    async with services.sessions.begin() as session:
        await prune_attempts(session, now=services.clock())
        pruned = await outbox.prune(session, services.clock())
    if pruned:
        log.info("pruned %d finished outbox messages", pruned)


# name, job, interval and first run, in seconds
PERIODIC: tuple[tuple[str, Job, int, int], ...] = (
    ("housekeeping", run_housekeeping, 3600, 60),
    ("reminders", run_reminders, 300, 5),
    ("result-pushes", run_result_pushes, 3, 1),  # one indexed look-up when nothing is pending
    ("plans", run_plan_reminders, 3600, 60),
    ("appeals", run_appeal_reminders, 1800, 30),
    ("rectification-reminders", run_rectification_reminders, 1800, 30),
)


def schedule(job_queue: JobQueue[Any], services: Services, watch: DatabaseWatch) -> None:
    """Run every periodic job on its interval; one that fails runs again at the next one."""
    for name, job, interval, first in PERIODIC:
        job_queue.run_repeating(
            _guarded(name, job, interval, services, watch),
            interval=interval,
            first=first,
            name=name,
        )


def _guarded(
    name: str, job: Job, interval: int, services: Services, watch: DatabaseWatch
) -> Callable[[object], Coroutine[Any, Any, None]]:
    async def run(_context: object) -> None:
        if not watch.up:
            log.info("%s skipped: the database is away; next run in %d s", name, interval)
            return
        try:
            await job(services)
        except Exception as exc:
            if not is_outage(exc):
                log.exception("%s failed; next run in %d s", name, interval)
                return
            watch.failed(exc)
            log.warning(
                "%s: database unavailable (%s); next run in %d s", name, describe(exc), interval
            )

    return run
