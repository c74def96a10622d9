"""Running the bot: migrations, recovery, polling, outbox sender, clean shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from bot.app import build_application, on_startup
from bot.config import Settings
from bot.context import JxApplication
from bot.db import SessionFactory, make_engine, make_readers, make_sessions, upgrade
from bot.dispatch import UpdateDispatcher
from bot.jobs import (
    run_appeal_reminders,
    run_housekeeping,
    run_plan_reminders,
    run_rectification_reminders,
    run_reminders,
)
from bot.models.types import utcnow
from bot.polling import poll
from bot.secret_store import with_survey_key
from bot.services import Clock, Services

log = logging.getLogger(__name__)


async def serve(
    settings: Settings,
    *,
    stop: asyncio.Event | None = None,
    clock: Clock = utcnow,
    migrate: bool | None = None,
    poll_timeout: int = 30,
    handle_signals: bool = False,
) -> None:
    """Run until ``stop`` is set (or SIGINT/SIGTERM when ``handle_signals``)."""
    stop = stop or asyncio.Event()
    if handle_signals:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
    engine = make_engine(settings.database_url)
    read_engine = (
        make_engine(settings.database_url, readonly=True)
        if engine.dialect.name == "sqlite"
        else engine
    )
    if migrate if migrate is not None else engine.dialect.name == "sqlite":
        await upgrade(engine)
    sessions = make_sessions(engine)
    settings = await with_survey_key(sessions, settings)
    services = Services(
        settings=settings, sessions=sessions, readers=make_readers(read_engine), clock=clock
    )
    application = build_application(services)
    sender_task: asyncio.Task[None] | None = None
    try:
        async with application:
            services.bot_username = application.bot.username
            await application.start()
            await on_startup(application)
            dispatcher = UpdateDispatcher(application, sessions)
            await dispatcher.recover()
            sender_task = _start_sender(application, services, stop)
            application.job_queue.run_repeating(  # type: ignore[union-attr]
                lambda _ctx: run_housekeeping(services),
                interval=3600,
                first=60,
                name="housekeeping",
            )
            application.job_queue.run_repeating(  # type: ignore[union-attr]
                lambda _ctx: run_reminders(services), interval=300, first=5, name="reminders"
            )
            application.job_queue.run_repeating(  # type: ignore[union-attr]
                lambda _ctx: run_plan_reminders(services), interval=3600, first=60, name="plans"
            )
            application.job_queue.run_repeating(  # type: ignore[union-attr]
                lambda _ctx: run_appeal_reminders(services), interval=1800, first=30, name="appeals"
            )
            application.job_queue.run_repeating(  # type: ignore[union-attr]
                lambda _ctx: run_rectification_reminders(services),
                interval=1800,
                first=30,
                name="rectification-reminders",
            )
            log.info("jixiao is running as @%s", services.bot_username)
            if settings.webhook_url:
                await _run_webhook(application, settings, sessions, dispatcher, stop)
            else:
                await application.bot.delete_webhook()
                poller = asyncio.create_task(
                    poll(application.bot, sessions, dispatcher, stop, timeout=poll_timeout)
                )
                await stop.wait()
                poller.cancel()  # a cancelled getUpdates leaves its batch unconfirmed: safe
                with contextlib.suppress(asyncio.CancelledError):
                    await poller
            await dispatcher.wait_idle()
            if sender_task is not None:
                # stop is set: the sender finishes and records what is in flight, then returns
                await asyncio.wait_for(sender_task, 30)
                sender_task = None
            await application.stop()
    finally:
        if sender_task is not None:
            sender_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender_task
        await engine.dispose()
        if read_engine is not engine:
            await read_engine.dispose()


async def _run_webhook(
    application: JxApplication,
    settings: Settings,
    sessions: SessionFactory,
    dispatcher: UpdateDispatcher,
    stop: asyncio.Event,
) -> None:
    from telegram import Update

    from bot.webhook import start_webhook_server, webhook_secret

    server = start_webhook_server(settings, sessions, dispatcher)
    try:
        await application.bot.set_webhook(
            settings.webhook_url or "",
            secret_token=webhook_secret(settings),
            allowed_updates=Update.ALL_TYPES,
        )
        await stop.wait()
    finally:
        server.stop()


def _start_sender(
    application: object, services: Services, stop: asyncio.Event
) -> asyncio.Task[None]:
    from bot.outbox_sender import OutboxSender
    from bot.renderers import register_renderers

    register_renderers()
    sender = OutboxSender(application.bot, services.sessions, clock=services.clock)  # type: ignore[attr-defined]
    services.outbox_wake = sender.wake
    return asyncio.create_task(sender.run(stop), name="outbox-sender")
