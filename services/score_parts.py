"""Scoring a large cycle on every core: worker processes read and score a chunk of subjects
each, and the caller's transaction inserts the rows they send back.

Why: the exact engine and the reading of the answers each cost about 0.4 ms of CPU per
person, so a bureau of 10,000 took some 8 s on one core, and in the bot every chat waited
for it. Workers read the committed answers in their own read transactions: on SQLite the
scoring transaction has changed none of them (it holds the write lock, so nobody else has
either); on PostgreSQL each statement of the scoring transaction sees the newest committed
answers too (READ COMMITTED), and a change committed meanwhile marks the results stale
(``services.cycles.touch``), as it always did.
"""

from __future__ import annotations

import asyncio
import gc
import os
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from domain.template import Target, Template
from infra import child_process
from infra.db import make_engine, make_readers
from infra.models import Cycle
from scoring import NothingToScore, ScoringOptions, score_subject, to_dict, weakest_dimension
from services.ratings import Roster, Subject, subjects_for

PARALLEL_FROM = 2_000  # subjects: below this a worker's start-up (~1 s) costs more than it saves
MAX_WORKERS = 4
# Scoring in the bot is background work: a chat's answer goes first.
NICENESS = 5

Row = dict[str, Any]  # a ``result`` row but for the cycle and the timestamps


@dataclass(frozen=True)
class Scored:
    """One chunk's rows (in roster order) and how many subjects had nothing to score."""

    rows: list[Row]
    unscored: int


def score_chunk(template: Template, subjects: Sequence[Subject], options: ScoringOptions) -> Scored:
    """Score ``subjects``: pure, the same in this process and in a worker."""
    rows: list[Row] = []
    unscored = 0
    with gc_paused():
        for subject in subjects:
            try:
                score = score_subject(
                    template,
                    target=Target.UNIT if subject.is_unit else Target.PERSON,
                    unit=subject.unit_name,
                    ratings=subject.ratings,
                    options=options,
                )
            except NothingToScore:
                unscored += 1  # no submitted answer at all: no score, rather than a score of 0
                continue
            rows.append(
                {
                    "subject_key": subject.key,
                    "staff_id": subject.staff_id,
                    "unit_id": subject.unit_id,
                    "total": score.total,
                    "grade": score.grade,
                    "bonus_coefficient": None
                    if subject.is_unit
                    else options.bonus_coefficients[score.grade],
                    "weakest": weakest_dimension(score),
                    "breakdown": to_dict(score),
                }
            )
    return Scored(rows, unscored)


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while scoring: a chunk allocates hundreds of thousands
    of short-lived objects, none in cycles, and each collection would walk them all."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def workers_for(session: AsyncSession, subjects: int, asked: int | None) -> int:
    """How many worker processes to score ``subjects`` with (0: in this process)."""
    url = _url_of(session)
    if url is None or url.database in (None, "", ":memory:"):
        return 0  # a database a worker cannot open
    if asked is not None:
        return asked
    cores = os.cpu_count() or 1
    return min(cores, MAX_WORKERS) if cores > 1 and subjects >= PARALLEL_FROM else 0


def _url_of(session: AsyncSession) -> URL | None:
    bind = session.bind
    if bind is None:
        return None
    return bind.url if isinstance(bind, AsyncEngine) else bind.engine.url


async def in_workers(
    session: AsyncSession,
    cycle: Cycle,
    template: Template,
    roster: Roster,
    options: ScoringOptions,
    *,
    workers: int,
    size: int,
) -> AsyncIterator[Scored]:
    """Each chunk of ``roster`` scored by a worker, in roster order, at most ``workers`` + 1
    chunks in flight (bounded memory); the event loop stays free meanwhile."""
    bound = _url_of(session)
    assert bound is not None
    url = bound.render_as_string(hide_password=False)
    loop = asyncio.get_running_loop()
    chunks = [roster.keys[i : i + size] for i in range(0, len(roster.keys), size)]
    executor = child_process.pool(workers, niceness=NICENESS)
    try:
        pending: list[asyncio.Future[Scored]] = []
        for keys in chunks:
            pending.append(
                loop.run_in_executor(
                    executor, _work, url, cycle.id, template, _part(roster, keys), options
                )
            )
            if len(pending) > workers:
                yield await pending.pop(0)
        for future in pending:
            yield await future
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


def _part(roster: Roster, keys: list[str]) -> Roster:
    """The roster cut to ``keys``: what a worker needs, and no more to send it."""
    people = {int(k[2:]): roster.people[int(k[2:])] for k in keys if k.startswith("p:")}
    return replace(roster, keys=keys, people=people)


def _work(
    url: str, cycle_id: int, template: Template, roster: Roster, options: ScoringOptions
) -> Scored:
    """In a worker: read the chunk's ratings and score them."""
    with gc_paused():
        return asyncio.run(_read_and_score(url, cycle_id, template, roster, options))


async def _read_and_score(
    url: str, cycle_id: int, template: Template, roster: Roster, options: ScoringOptions
) -> Scored:
    engine = make_engine(url, readonly=make_url(url).get_backend_name() == "sqlite")
    try:
        async with make_readers(engine)() as session:
            cycle = await session.get(Cycle, cycle_id)
            assert cycle is not None
            subjects = await subjects_for(session, cycle, roster, roster.keys)
    finally:
        await engine.dispose()
    return score_chunk(template, subjects, options)
