"""Running the bot: migrations, recovery, polling, outbox sender, clean shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import signal
import sys
from collections.abc import AsyncIterator, Callable

import uvloop
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Update

from bot.app import build_application, on_startup
from bot.jobs import schedule
from bot.supervisor import BackgroundTaskFailed, supervise
from chat.context import JxApplication
from chat.dispatch import UpdateDispatcher
from chat.outbox_sender import OutboxSender
from chat.polling import poll
from chat.renderers import register_renderers
from chat.shards import (
    ALIVE,
    ALIVE_INTERVAL,
    READY,
    WAKE,
    Dispatcher,
    ShardRouter,
    ShardWorker,
    WorkerFailed,
    owned_by,
)
from chat.webhook import start_webhook_server, webhook_secret
from infra.config import Settings
from infra.container import Clock, Services
from infra.db import SessionFactory, make_engine, make_readers, make_sessions, upgrade
from infra.i18n import Translator
from infra.instance_lock import (
    EXIT_ALREADY_SERVING,
    AlreadyServing,
    InstanceLockLost,
    exit_now,
    instance_lock,
)
from infra.models.types import utcnow
from infra.outage import EXIT_DATABASE_OUTAGE, DatabaseOutage, DatabaseWatch
from infra.secret_store import with_survey_key
from services.notices import Localization

log = logging.getLogger(__name__)

SENDER_STOP_TIMEOUT = 30  # seconds the outbox sender gets to record what it has in flight


def run(settings: Settings, tr: Translator, *, workers: int = 1) -> int:
    """``jixiao run``: serve until SIGINT/SIGTERM; the exit status (see the README's table).

    ``workers``: processes that handle updates, each its share of the chats (``chat.shards``).
    """
    try:
        # uvloop: the event loop's own work (a wake-up per database reply from aiosqlite's
        # thread, a callback per socket event) costs about a tenth of the CPU per update less
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(serve(settings, handle_signals=True, workers=workers))
    except AlreadyServing as exc:
        print(
            tr._("Another jixiao process is already serving this database (pid {pid}).").format(
                pid=exc.pid if exc.pid is not None else "?"
            ),
            file=sys.stderr,
        )
        return EXIT_ALREADY_SERVING
    except DatabaseOutage:
        return EXIT_DATABASE_OUTAGE  # logged by the watch, with the limit
    except BackgroundTaskFailed:
        return 1  # logged by the supervisor, with the traceback
    return 0


async def serve(
    settings: Settings,
    *,
    stop: asyncio.Event | None = None,
    clock: Clock = utcnow,
    migrate: bool | None = None,
    poll_timeout: int = 30,
    handle_signals: bool = False,
    workers: int = 1,
) -> None:
    """Run until ``stop`` is set (or SIGINT/SIGTERM when ``handle_signals``).

    Only the holder of the database's instance lock serves; on PostgreSQL a second process
    waits here as a hot standby (``infra.instance_lock``). A process that owns its signals
    (``handle_signals``) exits the moment it loses the lock; an embedded one stops and raises.
    """
    stop = stop or asyncio.Event()
    if handle_signals:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
    async with open_engines(settings) as (engine, read_engine):
        await _hold_lock_and_serve(
            settings,
            stop,
            engine,
            read_engine,
            clock,
            migrate,
            poll_timeout,
            handle_signals,
            workers,
        )


def settle_heap() -> None:
    """Put what starting built (the application, SQLAlchemy's mappings, the catalogs) out of
    the garbage collector's sight: a full collection took ~90 ms of CPU scanning it, a pause
    in every chat, several times a minute under load (issue 12)."""
    gc.collect()
    gc.freeze()


@contextlib.asynccontextmanager
async def open_engines(settings: Settings) -> AsyncIterator[tuple[AsyncEngine, AsyncEngine]]:
    """The writing engine and the reading one (on SQLite its own connections; else the same)."""
    engine = make_engine(settings.database_url)
    read_engine = (
        make_engine(settings.database_url, readonly=True)
        if engine.dialect.name == "sqlite"
        else engine
    )
    try:
        yield engine, read_engine
    finally:
        await engine.dispose()
        if read_engine is not engine:
            await read_engine.dispose()


async def _hold_lock_and_serve(
    settings: Settings,
    stop: asyncio.Event,
    engine: AsyncEngine,
    read_engine: AsyncEngine,
    clock: Clock,
    migrate: bool | None,
    poll_timeout: int,
    handle_signals: bool,
    workers: int,
) -> None:
    watch = DatabaseWatch(engine, settings.db_outage_limit)
    # past the limit: DatabaseOutage, the process exits 75; a standby then waits on the lock
    await watch.wait_reachable(stop)
    lock = instance_lock(settings.database_url)
    lock.on_suspect = watch.check  # a lost lock connection may be an outage, not a rival
    lock.on_hold = watch.hold  # our own old lock session still holds it: wait, not serve
    if not await lock.acquire(stop, exit_now if handle_signals else stop.set):
        return  # stopped while standing by
    watch.gate = lock.reacquire  # after an outage, work resumes only under the lock
    try:
        await _serve(
            settings,
            stop,
            engine,
            read_engine,
            watch,
            clock,
            migrate,
            poll_timeout,
            workers,
            own_process=handle_signals,
        )
    finally:
        await lock.release()
    if lock.lost:
        raise InstanceLockLost("another process may be serving this database now")


async def _serve(
    settings: Settings,
    stop: asyncio.Event,
    engine: AsyncEngine,
    read_engine: AsyncEngine,
    watch: DatabaseWatch,
    clock: Clock,
    migrate: bool | None,
    poll_timeout: int,
    workers: int,
    *,
    own_process: bool,
) -> None:
    """Serve while holding the instance lock: recovery, intake, the outbox sender, the jobs,
    and the worker processes that handle their share of the chats (``chat.shards``)."""
    sender_task: asyncio.Task[None] | None = None
    shards = [ShardWorker(index, workers) for index in range(1, workers)]
    wake: list[Callable[[], None]] = [lambda: None]  # the sender's, once it runs
    try:
        for shard in shards:  # first: they import the bot's stack while this process migrates
            await shard.spawn()
        if migrate if migrate is not None else engine.dialect.name == "sqlite":
            await upgrade(engine)
        for shard in shards:  # each recovers its own chats, then says it is ready
            await shard.start(settings, wake=lambda: wake[0](), stop=stop)
        sessions = make_sessions(engine)
        settings = await with_survey_key(sessions, settings)
        services = Services(
            settings=settings, sessions=sessions, readers=make_readers(read_engine), clock=clock
        )
        application = build_application(services)
        async with application:
            services.bot_username = application.bot.username
            await application.start()
            await on_startup(application)
            dispatcher = UpdateDispatcher(application, sessions, watch=watch)
            await dispatcher.recover(owned_by(0, workers))
            if own_process:  # not inside another program (the demo, the tests): its heap
                settle_heap()
            target: Dispatcher = ShardRouter(dispatcher, shards) if shards else dispatcher
            sender_task = _start_sender(application, services, stop, watch)
            wake[0] = services.outbox_wake
            schedule(application.job_queue, services, watch)  # type: ignore[arg-type]
            log.info(
                "jixiao is running as @%s%s",
                services.bot_username,
                f" with {workers} processes handling updates" if shards else "",
            )
            if settings.webhook_url:
                intake = asyncio.create_task(
                    _run_webhook(application, settings, sessions, target, stop, watch),
                    name="webhook",
                )
            else:
                await application.bot.delete_webhook()
                intake = asyncio.create_task(
                    poll(application.bot, sessions, target, stop, watch, timeout=poll_timeout),
                    name="poller",
                )
            watcher = asyncio.create_task(watch.run(stop), name="database-watch")
            exits = [asyncio.create_task(s.wait(), name=f"worker {s.index}") for s in shards]
            failure: BaseException | None = None
            try:
                await supervise(stop, intake, sender_task, watcher, *exits)
            except BaseException as exc:  # a task died: stop the rest, then exit non-zero
                failure = exc
            stop.set()
            watch.close()  # work held for the database gives up: it is stored
            watcher.cancel()
            intake.cancel()  # a cancelled getUpdates leaves its batch unconfirmed: safe
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await intake
            # the workers finish what they were handed while this process finishes its own
            stopping = asyncio.gather(*(shard.stop() for shard in shards))
            if failure is None:
                await dispatcher.wait_idle()
                # stop is set: the sender finishes and records what is in flight, then returns
                try:
                    await asyncio.wait_for(sender_task, SENDER_STOP_TIMEOUT)
                except TimeoutError:  # wait_for cancelled it: shut down all the same
                    log.warning(
                        "the outbox sender did not finish within %d s; messages it had in "
                        "flight are sent again at the next start",
                        SENDER_STOP_TIMEOUT,
                    )
                sender_task = None
            await stopping
            await application.stop()
            if failure is not None:
                raise failure
    except WorkerFailed as exc:
        log.critical("%s: exiting so the supervisor restarts jixiao", exc)
        raise BackgroundTaskFailed(str(exc)) from exc
    finally:
        for shard in shards:
            shard.kill()  # a no-op unless we are failing: they have exited
        if sender_task is not None:
            sender_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):  # supervise logged it
                await sender_task


async def serve_shard(
    index: int, count: int, reader: asyncio.StreamReader, out: asyncio.WriteTransport
) -> None:
    """A worker's life (``bot.shard_worker``): read the settings, recover this shard's chats,
    say ``ready``, then handle forwarded updates until EOF or a signal. It takes no lock: it
    lives only as long as its parent, which holds it (``chat.shards``)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    settings = Settings.model_validate_json(await reader.readline())
    async with open_engines(settings) as (engine, read_engine):
        watch = DatabaseWatch(engine, settings.db_outage_limit)
        await watch.wait_reachable(stop)
        sessions = make_sessions(engine)
        settings = await with_survey_key(sessions, settings)
        services = Services(
            settings=settings,
            sessions=sessions,
            readers=make_readers(read_engine),
            outbox_wake=lambda: out.write(WAKE),
        )
        application = build_application(services)
        async with application:
            services.bot_username = application.bot.username
            await application.start()
            failure: BaseException | None = None
            try:
                dispatcher = UpdateDispatcher(application, sessions, watch=watch)
                await dispatcher.recover(owned_by(index, count))
                settle_heap()
                out.write(READY)
                log.info("worker %d is handling its chats", index)
                tasks = [
                    asyncio.create_task(_forwarded(reader, dispatcher, stop), name="intake"),
                    asyncio.create_task(watch.run(stop), name="database-watch"),
                    asyncio.create_task(_alive(out), name="alive"),
                ]
                try:
                    await supervise(stop, *tasks)
                except BaseException as exc:  # logged by supervise
                    failure = exc
                stop.set()
                watch.close()
                for task in tasks:
                    task.cancel()
                await dispatcher.wait_idle()
            finally:
                await application.stop()
            if failure is not None:
                raise failure


async def _forwarded(
    reader: asyncio.StreamReader, dispatcher: UpdateDispatcher, stop: asyncio.Event
) -> None:
    """A worker's intake: the updates its parent stored, until the parent closes the pipe
    (its way of saying "stop")."""
    while line := await reader.readline():
        dispatcher.submit(json.loads(line))
    stop.set()


async def _alive(out: asyncio.WriteTransport) -> None:
    while True:
        out.write(ALIVE)
        await asyncio.sleep(ALIVE_INTERVAL)


async def _run_webhook(
    application: JxApplication,
    settings: Settings,
    sessions: SessionFactory,
    dispatcher: Dispatcher,
    stop: asyncio.Event,
    watch: DatabaseWatch,
) -> None:
    server = start_webhook_server(settings, sessions, dispatcher, watch)
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
    application: object, services: Services, stop: asyncio.Event, watch: DatabaseWatch
) -> asyncio.Task[None]:
    register_renderers()
    sender = OutboxSender(
        application.bot,  # type: ignore[attr-defined]
        services.sessions,
        clock=services.clock,
        admin_ids=services.settings.admin_id_set,
        local=Localization.of(services.settings),
        watch=watch,
    )
    services.outbox_wake = sender.wake
    return asyncio.create_task(sender.run(stop), name="outbox-sender")
