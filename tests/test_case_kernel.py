"""The case kernel (services.cases): who may, from which state, audit, round, notices."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

import pytest
from sqlalchemy import select

from domain.choice import Choice, rows
from infra.db import SessionFactory
from infra.models import AuditEntry, OutboxMessage, Staff
from services import cases
from services.access import load_actor
from services.errors import DomainError
from tests.factories import bind, make_org

ADMIN = 9100
OWNER = 9101


class S(StrEnum):
    OPEN = "open"
    ASKED = "asked"
    DONE = "done"


@dataclass
class Thing:
    id: int
    status: S
    staff_id: int
    note: str = ""


OWNS = cases.staff_of("owner", lambda c: c.staff_id, "not yours")
FLOW: cases.Workflow[Thing] = cases.Workflow(
    "thing",
    (
        cases.Transition(
            "ask",
            frozenset({S.OPEN, S.ASKED}),
            S.ASKED,
            cases.WORKING_GROUP.but_not(OWNS, "own"),
            "thing.ask",
            "closed",
            notices=(
                cases.Notice(
                    cases.owner(lambda step: step.case.staff_id),
                    lambda tr, step: f"Q{step.round}: {step.params['q']}",
                    "thing-q:{id}:{round}",
                    choices=lambda tr, step: rows([Choice("Answer", "thing.answer", (1,))]),
                ),
            ),
            bumps_round=True,
        ),
        cases.Transition(
            "poke",
            frozenset({S.OPEN, S.ASKED}),
            None,
            cases.SYSTEM,
            "thing.poke",
            "closed",
            notices=(cases.Notice(cases.group, lambda tr, s: "poke", "thing-p:{id}:{part}"),),
        ),
        cases.Transition(
            "answer",
            frozenset({S.ASKED}),
            S.OPEN,
            OWNS,
            "thing.answer",
            "no question",
            notices=(cases.Notice(cases.group, lambda tr, s: "answered", "thing-a:{id}:{chat}"),),
        ),
    ),
)


async def test_a_transition_checks_changes_audits_counts_rounds_and_tells(
    sessions: SessionFactory,
) -> None:
    org = await make_org(sessions)
    await bind(sessions, OWNER, org.staff_ids[0])
    env = cases.Env(admin_ids=frozenset({ADMIN}))
    now = dt.datetime.now(dt.UTC)
    thing = Thing(7, S.OPEN, org.staff_ids[0])
    async with sessions.begin() as s:
        admin = await load_actor(s, ADMIN, env.admin_ids)
        owner = await load_actor(s, OWNER, env.admin_ids)
        with pytest.raises(cases.Refused, match="working group"):
            cases.check(FLOW, "ask", thing, owner)
        owner_in_group = await load_actor(s, OWNER, frozenset({OWNER}))
        with pytest.raises(cases.Refused, match="own"):  # never on their own case
            cases.check(FLOW, "ask", thing, owner_in_group)
        with pytest.raises(DomainError, match="no question"):
            cases.check(FLOW, "answer", thing, owner)
        assert FLOW.allowed("ask", thing, admin) and not FLOW.allowed("answer", thing, owner)
        step = await cases.apply(
            s, FLOW, "ask", thing, actor=admin, at=now, env=env, changes={"note": "x"}, q="why?"
        )
        assert thing.status is S.ASKED and thing.note == "x" and step.round == 1
        await cases.apply(s, FLOW, "answer", thing, actor=owner, at=now, env=env)
        step = await cases.apply(s, FLOW, "ask", thing, actor=admin, at=now, env=env, q="more?")
        assert step.round == 2
        await cases.apply(
            s, FLOW, "poke", thing, actor=None, at=now, env=env, actor_label="publish", part=3
        )
        assert thing.status is S.ASKED
    async with sessions() as s:
        entries = list(await s.scalars(select(AuditEntry).order_by(AuditEntry.id)))
        assert [
            (e.action, e.detail["old"], e.detail["new"], e.detail["round"]) for e in entries
        ] == [
            ("thing.ask", "open", "asked", 1),
            ("thing.answer", "asked", "open", 1),
            ("thing.ask", "open", "asked", 2),
            ("thing.poke", "asked", "asked", 2),
        ]
        assert entries[-1].actor_label == "publish" and entries[-1].actor_telegram_id is None
        assert entries[1].actor_staff_id == org.staff_ids[0]
        sent = list(await s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
        assert [(m.chat_id, m.dedupe_key) for m in sent] == [
            (OWNER, "thing-q:7:1"),
            (ADMIN, f"thing-a:7:{ADMIN}"),
            (OWNER, "thing-q:7:2"),
            (ADMIN, "thing-p:7:3"),
        ]
        assert sent[0].payload["text"] == "Q1: why?"
        assert sent[0].payload["choices"] == [
            [{"label": "Answer", "action": "thing.answer", "args": [1]}]
        ]


async def test_recipients_are_the_linked_chats_of_active_staff_only(
    sessions: SessionFactory,
) -> None:
    org = await make_org(sessions)
    await bind(sessions, OWNER, org.staff_ids[0])
    await bind(sessions, OWNER + 1, org.staff_ids[1])
    async with sessions.begin() as s:
        gone = await s.get(Staff, org.staff_ids[1])
        assert gone is not None
        gone.active = False
    async with sessions() as s:
        found = await cases.accounts(s, [org.staff_ids[0], org.staff_ids[1], None])
        assert found == [cases.Recipient(OWNER, None)]
        assert await cases.accounts(s, []) == []
