"""Superior review and a full peer round; peer raters stay anonymous to the rated."""

from __future__ import annotations

from sqlalchemy import select

from domain.enums import AssignmentStatus, Source
from fakebotapi import FakeBotApi
from infra.db import SessionFactory
from infra.models import Assignment, Staff
from tests.factories import bind, make_org, open_cycle
from tests.forms_driver import answer_until_summary, data_of, submit


async def _complete_list(user, kind: str) -> int:  # type: ignore[no-untyped-def]
    """Open /<kind>, then rate everyone on the list; returns how many forms were submitted."""
    await user.send(f"/{kind}")
    listing = await user.expect()
    done = 0
    while data_of(listing, "fm1:p:"):
        pending = [
            d
            for d, t in zip(listing.button_data(), listing.button_texts(), strict=True)
            if d and d.startswith("fm1:p:") and t.startswith("▫")
        ]
        if not pending:
            break
        await user.press(pending[0], listing)
        summary = await answer_until_summary(user, await user.expect())
        await submit(user, summary)
        await user.expect_text("已提交")
        done += 1
        listing = await user.expect()
    return done


async def test_superior_reviews_each_subordinate(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    org = await make_org(sessions, people=3)
    await open_cycle(sessions)
    await bind(sessions, 4001, org.head_id)
    head = server.user(4001, language_code="zh-hans")
    assert await _complete_list(head, "review") == 3
    async with sessions() as s:
        rows = list(
            await s.scalars(
                select(Assignment).where(
                    Assignment.rater_staff_id == org.head_id, Assignment.source == Source.SUPERIOR
                )
            )
        )
    assert len(rows) == 3 and all(r.status == AssignmentStatus.SUBMITTED for r in rows)
    assert {r.ratee_staff_id for r in rows} == set(org.staff_ids)


async def test_nobody_reviews_someone_not_assigned(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    org = await make_org(sessions, people=3)
    await open_cycle(sessions)
    await bind(sessions, 4002, org.staff_ids[0])
    clerk = server.user(4002, language_code="zh-hans")
    await clerk.send("/review")
    await clerk.expect_text("没有")  # nothing to review
    async with sessions() as s:
        theirs = await s.scalar(
            select(Assignment).where(
                Assignment.source == Source.SUPERIOR, Assignment.rater_staff_id == org.head_id
            )
        )
    assert theirs is not None
    await clerk.send("/peer")
    listing = await clerk.expect()
    await clerk.press(f"fm1:p:{theirs.id}", listing)
    await clerk.expect()
    async with sessions() as s:
        assert (await s.get(Assignment, theirs.id)).status == AssignmentStatus.OPEN  # type: ignore[union-attr]


async def test_peer_round_completes_and_raters_stay_anonymous(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    org = await make_org(sessions, people=4)  # a unit of five: the head and four staff
    await open_cycle(sessions, peer_count=2)
    members = [org.head_id, *org.staff_ids]
    users = {}
    for n, staff_id in enumerate(members):
        await bind(sessions, 4100 + n, staff_id)
        users[staff_id] = server.user(
            4100 + n, first_name=f"U{n}", username=f"rater_{n}", language_code="zh-hans"
        )
    for staff_id in members:
        assert await _complete_list(users[staff_id], "peer") == 2
    async with sessions() as s:
        peers = list(await s.scalars(select(Assignment).where(Assignment.source == Source.PEER)))
        names = dict((await s.execute(select(Staff.id, Staff.name))).all())
    assert len(peers) == 10 and all(p.status == AssignmentStatus.SUBMITTED for p in peers)
    # everyone opens their home screen once more, then: nothing sent to a rated person names a rater
    for staff_id in members:
        await users[staff_id].send("/start")
        await users[staff_id].expect_text("张" if False else "")
    for ratee in members:
        raters = {p.rater_staff_id for p in peers if p.ratee_staff_id == ratee}
        rates = {p.ratee_staff_id for p in peers if p.rater_staff_id == ratee}
        assert raters.isdisjoint(rates)  # peer_count=2 in a unit of 5 keeps the two sets apart
        seen = "\n".join(
            (m.text or "") + " ".join(m.button_texts()) + " ".join(d or "" for d in m.button_data())
            for m in server.sent_messages(users[ratee].id)
        )
        for rater in raters:
            assert names[rater] not in seen
            assert f"rater_{members.index(rater)}" not in seen
            assert str(users[rater].id) not in seen


async def test_unit_head_assesses_the_unit_and_the_leader_reviews_it(
    server: FakeBotApi, bot, sessions: SessionFactory
) -> None:
    org = await make_org(sessions, people=2)
    await open_cycle(sessions)
    await bind(sessions, 4201, org.head_id)
    head = server.user(4201, language_code="zh-hans")
    await head.send("/self")
    listing = await head.expect()
    assert len(data_of(listing, "fm1:p:")) == 2  # their own and the unit's
    unit_pick = next(
        d for d, t in zip(listing.button_data(), listing.button_texts(), strict=True) if "单位" in t
    )
    await head.press(unit_pick, listing)
    summary = await answer_until_summary(head, await head.expect())
    await submit(head, summary)
    await head.expect_text("已提交")
    async with sessions() as s:
        unit_forms = list(
            await s.scalars(select(Assignment).where(Assignment.ratee_unit_id == org.unit_id))
        )
        chief = await s.scalar(select(Staff.id).where(Staff.employee_no == "L001"))
    assert {(a.source, a.rater_staff_id) for a in unit_forms} == {
        (Source.SELF, org.head_id),
        (Source.SUPERIOR, chief),
    }
    assert (
        next(a for a in unit_forms if a.source == Source.SELF).status == AssignmentStatus.SUBMITTED
    )
