"""An appeal upheld changes a result where the dispute is (五(四)3), never the total alone.

The working group sets a new value on one indicator — from one source (the appeal disputes
that source) or from all of them — and the person's result is computed again by the scoring
engine from the same answers with every adjustment of that result applied
(``scoring.Adjustment``). Total, dimensions, contributions, grade, bonus coefficient and the
weakest dimension therefore always agree, and the annual roll-up reads the adjusted total.

Ranks follow from the totals (五(三)): the whole cycle is re-ranked, so colleagues whose
place the new total passes move by one. Their score, grade and bonus do not change, so
they get no message (an appeal is the appellant's own matter); their stored rank is what
every later view shows, and the audit entry lists each rank that moved.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from domain.enums import Dimension, Source
from domain.template import Target
from infra.i18n import N_
from infra.models import Cycle, Result
from scoring import (
    Adjustment,
    ScoringOptions,
    SubjectScore,
    score_subject,
    to_dict,
    weakest_dimension,
)
from services.audit import audit
from services.errors import DomainError
from services.peer_view import ratee_view
from services.ratings import subject_of
from services.results import rerank, results_of, template_of

TOTAL = "total"


def source_of(target: str) -> Source | None:
    """The source an appeal disputes (``src:<source>``), else None: the indicator as a whole."""
    kind, _, ref = target.partition(":")
    try:
        return Source(ref) if kind == "src" else None
    except ValueError:
        return None


def current(breakdown: dict[str, Any], indicator: str, source: Source | None) -> Decimal | None:
    """The value an adjustment would replace: the source's mean, or the indicator's score."""
    for d in breakdown.get("dimensions") or []:
        for i in d.get("indicators") or []:
            if i.get("code") != indicator:
                continue
            if source is None:
                return Decimal(i["score"]) if i.get("score") is not None else None
            for s in i.get("sources") or []:
                if s.get("source") == source.value and s.get("mean") is not None:
                    return Decimal(s["mean"])
    return None


def adjustable(breakdown: dict[str, Any], target: str) -> list[str]:
    """The indicators an adjustment for this appeal may change, in breakdown order: the one
    disputed, those of the disputed dimension, those the disputed source rated, or (the
    total) every rated indicator."""
    kind, _, ref = target.partition(":")
    source = source_of(target)
    out = []
    for d in breakdown.get("dimensions") or []:
        if kind == "dim" and d.get("dimension") != ref:
            continue
        for i in d.get("indicators") or []:
            code = str(i.get("code"))
            if kind == "ind" and code != ref:
                continue
            if current(breakdown, code, source) is not None:
                out.append(code)
    return out


def in_force(breakdown: dict[str, Any]) -> list[Adjustment]:
    """The adjustments already made to this result, oldest first (entries from before
    adjustments had a place — a bare new total — cannot be applied again and are skipped)."""
    out = []
    for entry in breakdown.get("adjustments") or []:
        if isinstance(entry, dict) and entry.get("indicator") and entry.get("points"):
            source = Source(entry["source"]) if entry.get("source") else None
            out.append(Adjustment(str(entry["indicator"]), Decimal(entry["points"]), source))
    return out


def _peer_hidden(breakdown: dict[str, Any], change: Adjustment) -> bool:
    """Whether the value replaced holds colleagues' ratings of one indicator that the rated
    person is shown only as one combined figure (``services.peer_view``): then what they are
    told names the new value, not the old one."""
    if change.source not in (None, Source.PEER):
        return False
    seen = ratee_view(breakdown)
    return any(
        i.get("code") == change.indicator and i.get("peer_combined")
        for d in seen.get("dimensions") or []
        for i in d.get("indicators") or []
    )


def _figures(result: Result) -> dict[str, Any]:
    """What the audit keeps of a result before and after: total, grade, dimensions, ranks."""
    dims = {
        Dimension(d["dimension"]).value: d.get("score")
        for d in (result.breakdown or {}).get("dimensions") or []
    }
    return {
        "total": str(result.total),
        "grade": result.grade.value,
        "version": result.version,
        "dimensions": dims,
        "rank_in_unit": result.rank_in_unit,
        "rank_overall": result.rank_overall,
    }


async def adjust(
    session: AsyncSession,
    result: Result,
    *,
    change: Adjustment,
    reason: str,
    label: dict[str, str | None],
    actor_telegram_id: int | None,
    now: dt.datetime,
    tz: dt.tzinfo,
    options: ScoringOptions | None = None,
    by: str = "appeal",
) -> dict[str, Any]:
    """Apply ``change`` and compute the result again (version + 1, re-ranked, audited with the
    old and new figures and every rank that moved); returns the entry kept in the breakdown.

    ``label`` is the indicator's name as the template had it (``name``, ``name_en``), kept
    with the entry so the result message can say what changed without the template.
    """
    options = options or ScoringOptions()
    if not reason.strip():
        raise DomainError(N_("Please give the reason for the change."))
    old_value = current(result.breakdown or {}, change.indicator, change.source)
    if old_value is None:
        raise DomainError(N_("This part of the result has no score that could be changed."))
    cycle = await session.get(Cycle, result.cycle_id)
    assert cycle is not None
    subject = await subject_of(session, cycle, result.subject_key, tz=tz)
    if subject is None:
        raise DomainError(N_("This part of the result has no score that could be changed."))
    template, earlier = await template_of(session, cycle), in_force(result.breakdown or {})
    target = Target.UNIT if subject.is_unit else Target.PERSON

    def scored(adjustments: list[Adjustment]) -> SubjectScore:
        return score_subject(
            template,
            target=target,
            unit=subject.unit_name,
            ratings=subject.ratings,
            options=options,
            adjustments=adjustments,
        )

    try:
        score, base = scored([*earlier, change]), scored(earlier)
    except ValueError:  # the answers no longer hold what an adjustment names (or none count)
        raise DomainError(
            N_("This part of the result has no score that could be changed.")
        ) from None
    before, before_total = _figures(result), result.total
    ranks = {r.id: (r.rank_in_unit, r.rank_overall) for r in await results_of(session, cycle)}
    entry = {
        "at": now.isoformat(),
        "indicator": change.indicator,
        "name": label.get("name"),
        "name_en": label.get("name_en"),
        "source": change.source.value if change.source else None,
        "points": str(change.points),
        "old": str(old_value),
        "hide_old": _peer_hidden(result.breakdown or {}, change),
        "from": str(result.total),
        "to": str(score.total),
        "reason": reason.strip(),
        "by": by,
    }
    adjustments = [*((result.breakdown or {}).get("adjustments") or []), entry]
    result.breakdown = {**to_dict(score), "adjustments": adjustments}
    result.total, result.grade = score.total, score.grade
    result.weakest = weakest_dimension(score)
    if result.staff_id is not None:
        result.bonus_coefficient = options.bonus_coefficients[score.grade]
    result.version += 1
    await rerank(session, cycle)
    moved = {
        r.subject_key: {"from": list(ranks[r.id]), "to": [r.rank_in_unit, r.rank_overall]}
        for r in await results_of(session, cycle)
        if r.id != result.id and r.id in ranks and ranks[r.id] != (r.rank_in_unit, r.rank_overall)
    }
    await audit(
        session,
        "result.adjust",
        actor_telegram_id=actor_telegram_id,
        object_type="result",
        object_id=str(result.id),
        detail={
            "old": before,
            "new": _figures(result),
            "change": {k: entry[k] for k in ("indicator", "source", "old", "points")},
            "reason": reason.strip(),
            "ranks_moved": moved,
            # the answers scored without this change, if they no longer give the stored total
            # (a citizen response excluded after 申诉复核 since publishing, say)
            **({"rescored_before": str(base.total)} if base.total != before_total else {}),
        },
        at=now,
    )
    return entry
