"""A survey response as plain rows, for a citizen's tap in the chat: read in one Core query,
changed as plain attributes, written back by :func:`save` as one UPDATE of the columns that
changed and one INSERT of the new answers.

Why not the ORM: loading the response and its answers as mapped objects, then flushing the
unit of work at commit, was a fifth of the bot's CPU per tap (issue 12), and a citizen taps
seven or eight times a survey. The rules stay in ``services.surveys``, which reads and sets
the same attribute names on these rows as on the mapped classes; finishing a survey (once
per citizen: the rectification item, the cycles made stale) still loads the mapped objects.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.enums import ResponseStatus, Satisfaction
from infra.direct_sql import Direct
from infra.models import OrgUnit, Staff, SurveyAnswer, SurveyLink, SurveyResponse, TemplateVersion


@dataclass
class ResponseRow:
    """The columns of ``survey_response``, as the mapped class names and types them."""

    id: int
    link_id: int
    unit_id: int
    staff_id: int | None
    target_key: str
    respondent_key: str
    dedupe_key: str
    day: dt.date
    template_id: int | None
    locale: str
    status: ResponseStatus
    cursor: str
    overall: Satisfaction | None
    comment: str | None
    problems: list[Any]
    praise: list[Any]
    problem_text: str | None
    wants_reply: bool | None
    reply_chat_id: int | None
    started_at: dt.datetime
    completed_at: dt.datetime | None
    excluded: bool
    channel: str
    receipt_hash: str | None
    callback_phone: str | None
    loaded: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def changes(self) -> dict[str, Any]:
        """The columns set to another value since they were read (or last saved)."""
        return {
            name: getattr(self, name)
            for name in COLUMNS
            if getattr(self, name) != self.loaded.get(name)
        }


@dataclass
class AnswerRow:
    """One question's level, known by its response and question (unique together)."""

    response_id: int
    question: str
    indicator: str
    level: Satisfaction
    points: Decimal
    answered_at: dt.datetime
    stored: bool = False  # read from the database, or inserted by ``save``
    changed: bool = False  # stored, then given another level


COLUMNS = tuple(f.name for f in dataclasses.fields(ResponseRow) if f.name != "loaded")

_RESPONSE: Table = SurveyResponse.__table__  # type: ignore[assignment]
_ANSWER: Table = SurveyAnswer.__table__  # type: ignore[assignment]
_UNIT: Table = OrgUnit.__table__  # type: ignore[assignment]
_STAFF: Table = Staff.__table__  # type: ignore[assignment]
_LINK: Table = SurveyLink.__table__  # type: ignore[assignment]
_VERSION: Table = TemplateVersion.__table__  # type: ignore[assignment]
_ANSWER_COLUMNS = ("question", "indicator", "level", "points", "answered_at")

# A response with what a step shows of it: one row per answer (or one with no answer).
# ``services.surveys.load_view`` reads the same join as mapped objects.
JOINED = (
    _RESPONSE.outerjoin(_UNIT, _UNIT.c.id == _RESPONSE.c.unit_id)
    .outerjoin(_STAFF, _STAFF.c.id == _RESPONSE.c.staff_id)
    .outerjoin(_LINK, _LINK.c.id == _RESPONSE.c.link_id)
    .outerjoin(_VERSION, _VERSION.c.id == _RESPONSE.c.template_id)
    .outerjoin(_ANSWER, _ANSWER.c.response_id == _RESPONSE.c.id)
)

# built once, compiled once per dialect (and set of columns), sent as the driver's own SQL
_READ = Direct(
    select(
        *(_RESPONSE.c[name] for name in COLUMNS),
        _UNIT.c.name.label("unit_name"),
        _STAFF.c.name.label("staff_name"),
        _LINK.c.reference,
        _VERSION.c.digest,
        *(_ANSWER.c[name].label(f"answer_{name}") for name in _ANSWER_COLUMNS),
    )
    .select_from(JOINED)
    .where(_RESPONSE.c.id == bindparam("rid"))
)
_UPDATE = Direct(update(_RESPONSE).where(_RESPONSE.c.id == bindparam("row_id")))  # SET: params
_INSERT = Direct(insert(_ANSWER))
_UPDATE_ANSWER = Direct(
    update(_ANSWER).where(
        _ANSWER.c.response_id == bindparam("of_response"),
        _ANSWER.c.question == bindparam("of_question"),
    )
)


@dataclass(frozen=True)
class Read:
    """What one query gives of a response: the row, its answers and what is shown with it."""

    response: ResponseRow
    answers: dict[str, AnswerRow]
    unit: str | None
    staff: str | None
    reference: str | None
    digest: str | None


async def read(session: AsyncSession, response_id: int) -> Read | None:
    """The response with its answers, unit, staff, link and template digest; None if none."""
    rows = (await _READ.execute(session, {"rid": response_id})).rows
    if not rows:
        return None
    n = len(COLUMNS)
    first = rows[0]
    values = dict(zip(COLUMNS, first[:n], strict=True))
    response = ResponseRow(**values, loaded=_copied(values))
    answers = {}
    for row in rows:
        a = dict(zip(_ANSWER_COLUMNS, row[n + 4 :], strict=True))
        if a["question"] is not None:
            answers[a["question"]] = AnswerRow(response_id=response.id, **a, stored=True)
    return Read(response, answers, first[n], first[n + 1], first[n + 2], first[n + 3])


def _copied(values: dict[str, Any]) -> dict[str, Any]:
    """The values as read, lists copied: a list changed in place is still seen as changed."""
    return {k: list(v) if isinstance(v, list) else v for k, v in values.items()}


async def save(session: AsyncSession, response: ResponseRow, answers: list[AnswerRow]) -> None:
    """Write what changed: the response's changed columns, the new answers, the answers
    given another level. Nothing changed, nothing sent."""
    new = [a for a in answers if not a.stored]
    if new:
        await _INSERT.execute_many(session, [_answer_values(a) for a in new])
        for a in new:
            a.stored = True
    for a in answers:
        if a.changed:
            values = _answer_values(a)
            del values["response_id"], values["question"]
            await _UPDATE_ANSWER.execute(
                session, {"of_response": a.response_id, "of_question": a.question, **values}
            )
            a.changed = False
    changed = response.changes()
    if changed:
        await _UPDATE.execute(session, {"row_id": response.id, **changed})
        response.loaded.update(_copied(changed))


def _answer_values(a: AnswerRow) -> dict[str, Any]:
    return {name: getattr(a, name) for name in ("response_id", *_ANSWER_COLUMNS)}
