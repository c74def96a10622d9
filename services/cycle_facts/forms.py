"""Who had which forms and who filled them in (五(二)), and the raw answers of submitted forms.

Peer forms are counted, never listed one by one with their rater, and their answers carry
only a pseudonym (``pseudonyms``): no row joins a peer rater's name to a rated person.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.enums import AssignmentStatus, Source
from domain.template import Template
from infra.models import Answer, Assignment, Cycle, Staff
from services.cycle_facts.model import Participation, PersonParticipation, RawAnswer, Unit
from services.cycle_facts.pseudonyms import peer_numbers
from services.forms import COMMENT_KEY, WRITTEN_KEYS


async def load_forms(
    session: AsyncSession, cycle: Cycle, units: Mapping[int, Unit], template: Template
) -> tuple[tuple[Participation, ...], tuple[PersonParticipation, ...], tuple[RawAnswer, ...]]:
    people = {s.id: s for s in await session.scalars(select(Staff))}
    forms = list(
        await session.scalars(
            select(Assignment).where(Assignment.cycle_id == cycle.id, Assignment.active.is_(True))
        )
    )
    assigned: Counter[tuple[int, Source]] = Counter()
    submitted: Counter[tuple[int, Source]] = Counter()
    on_time: Counter[tuple[int, Source]] = Counter()
    proxied: Counter[tuple[int, Source]] = Counter()
    for form in forms:
        key = (form.rater_staff_id, form.source)
        assigned[key] += 1
        if form.status == AssignmentStatus.SUBMITTED:
            submitted[key] += 1
            on_time[key] += form.submitted_at is not None and form.submitted_at <= cycle.deadline
            proxied[key] += form.proxy_staff_id is not None
    raters = sorted({f.rater_staff_id for f in forms}, key=lambda i: people[i].employee_no)
    order = {u: n for n, u in enumerate(units)}
    raters.sort(key=lambda i: order.get(people[i].unit_id, 0))
    per_person = tuple(
        PersonParticipation(
            staff_id=i,
            employee_no=people[i].employee_no,
            name=people[i].name,
            unit_id=people[i].unit_id,
            unit=units[people[i].unit_id].name,
            assigned={s: assigned[i, s] for s in Source if assigned[i, s]},
            submitted={s: submitted[i, s] for s in Source if assigned[i, s]},
            proxied={s: proxied[i, s] for s in Source if assigned[i, s]},
        )
        for i in raters
    )
    per_unit = []
    for unit in units.values():
        mine = [p for p in raters if people[p].unit_id == unit.id]
        for source in Source:
            n = sum(assigned[p, source] for p in mine)
            if n:
                per_unit.append(
                    Participation(
                        unit_id=unit.id,
                        unit=unit.name,
                        source=source,
                        assigned=n,
                        submitted=sum(submitted[p, source] for p in mine),
                        on_time=sum(on_time[p, source] for p in mine),
                    )
                )
    return (
        tuple(per_unit),
        per_person,
        await _answers(session, cycle, forms, people, units, template),
    )


async def _answers(
    session: AsyncSession,
    cycle: Cycle,
    forms: list[Assignment],
    people: Mapping[int, Staff],
    units: Mapping[int, Unit],
    template: Template,
) -> tuple[RawAnswer, ...]:
    done = {f.id: f for f in forms if f.status == AssignmentStatus.SUBMITTED}
    if not done:
        return ()
    numbers = peer_numbers(
        cycle.peer_seed,
        cycle.id,
        ((f.rater_staff_id, f.ratee_key) for f in done.values() if f.source == Source.PEER),
    )
    rows = await session.execute(  # a join, not IN (ids): see services.ratings
        select(Answer.assignment_id, Answer.item, Answer.points, Answer.level, Answer.text)
        .join(Assignment, Assignment.id == Answer.assignment_id)
        .where(
            Assignment.cycle_id == cycle.id,
            Assignment.active.is_(True),
            Assignment.status == AssignmentStatus.SUBMITTED,
        )
    )
    out = []
    for assignment_id, item, points, level, text in rows:
        form = done[assignment_id]
        if form.ratee_staff_id is not None:
            ratee = people[form.ratee_staff_id]
            ratee_name, unit = ratee.name, units[ratee.unit_id].name
        else:
            unit = ratee_name = units[form.ratee_unit_id or 0].name
        ratee_unit = unit
        peer = form.source == Source.PEER
        out.append(
            RawAnswer(
                source=form.source,
                ratee_key=form.ratee_key,
                ratee=ratee_name,
                unit=unit,
                rater=None if peer else people[form.rater_staff_id].name,
                peer_no=numbers[form.rater_staff_id, form.ratee_key] if peer else None,
                item=item,
                points=None if points is None else Decimal(str(points)),
                level=level,
                level_label=_level(template, ratee_unit, item, level),
                text=text,
            )
        )
    unit_order = {u.name: n for n, u in enumerate(units.values())}
    sources = list(Source)
    # indicators in the template's order, then the written parts and the comment
    items = {code: n for n, code in enumerate(_item_order(template))}
    # ordered by what is shown, never by a form's id (which follows the order of assignment)
    out.sort(
        key=lambda a: (
            unit_order.get(a.unit, 0),
            a.ratee,
            a.ratee_key,
            sources.index(a.source),
            a.peer_no or 0,
            a.rater or "",
            items.get(a.item, len(items)),
            a.item,
        )
    )
    return tuple(out)


def _level(
    template: Template, unit: str, code: str, level: int | None
) -> tuple[str, str | None] | None:
    """The label of a level answer, from the scale of the indicator the unit is rated by."""
    if level is None:
        return None
    indicator = next((i for i in template.indicator_set(unit) if i.code == code), None)
    scale = template.scales.get(indicator.scale) if indicator else None
    if scale is None or not 0 <= level < len(scale.levels):
        return None
    return scale.levels[level].label, scale.levels[level].label_en


def _item_order(template: Template) -> list[str]:
    codes = [i.code for i in template.indicators]
    codes += [i.code for items in template.unit_overrides.values() for i in items]
    return [*dict.fromkeys(codes), *WRITTEN_KEYS.values(), COMMENT_KEY]
