"""What a person can dispute in their result (``appeal.target``: ``total``, ``dim:<dimension>``,
``ind:<indicator>``, ``src:<source>`` — a source only where it counted) and how it is shown:
the appellant sees their peer source as ``services.peer_view`` allows, the working group all."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from domain.enums import Dimension, Source
from domain.labels import DIMENSION_LABELS, GRADE_LABELS, SOURCE_LABELS
from domain.numbers import plain_number
from domain.template import Template
from domain.text import html_format
from infra.i18n import Translator
from infra.models import Cycle, OrgUnit, Result, TemplateVersion
from services.peer_view import PEER_DETAIL_MIN, ratee_view
from services.templates import localized

TOTAL: Final = "total"
TARGET_MAX: Final = 32  # appeal.target is String(32)


def _dimensions(breakdown: dict[str, Any]) -> list[dict[str, Any]]:
    dims = breakdown.get("dimensions") or []
    return [d for d in dims if isinstance(d, dict) and d.get("dimension") in set(Dimension)]


def _indicators(breakdown: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(dimension, indicator dict) in breakdown order."""
    return [
        (str(d["dimension"]), i)
        for d in _dimensions(breakdown)
        for i in d.get("indicators") or []
        if isinstance(i, dict) and isinstance(i.get("code"), str)
    ]


def sources(breakdown: dict[str, Any]) -> list[Source]:
    """The sources that counted (a score is stored; a peer source dropped for anonymity has
    none, or a note says so), in the regulation's order."""
    present: set[str] = set()
    for _dim, indicator in _indicators(breakdown):
        for s in indicator.get("sources") or []:
            if isinstance(s, dict) and s.get("mean") is not None:
                present.add(str(s.get("source")))
    for s in breakdown.get("sources_summary") or []:
        if isinstance(s, dict) and s.get("score") is not None:
            present.add(str(s.get("source")))
    for note in breakdown.get("notes") or []:
        if isinstance(note, dict) and note.get("kind") == "peer_dropped":
            if (note.get("params") or {}).get("scope", "person") == "person":
                present.discard(Source.PEER.value)
    return [s for s in Source if s.value in present]


def targets(breakdown: dict[str, Any]) -> list[str]:
    """Everything a person may dispute in this result, as ``appeal.target`` values."""
    out = [TOTAL]
    out += [f"dim:{d['dimension']}" for d in _dimensions(breakdown)]
    out += [
        f"ind:{i['code']}" for _d, i in _indicators(breakdown) if len(i["code"]) <= TARGET_MAX - 4
    ]
    out += [f"src:{s.value}" for s in sources(breakdown)]
    return list(dict.fromkeys(out))


IndicatorNames = dict[str, tuple[str, str | None]]
Levels = list[list[str | None]]  # [label, English label, points]: JSON, kept in a position


async def _template(session: AsyncSession, result: Result) -> tuple[Template | None, str | None]:
    """The cycle's template and the result's unit name (which picks a unit's own set)."""
    cycle = await session.get(Cycle, result.cycle_id)
    version = await session.get(TemplateVersion, cycle.template_id) if cycle else None
    unit = await session.get(OrgUnit, result.unit_id)
    if version is None:
        return None, None
    try:
        return Template.from_dict(version.content), unit.name if unit else None
    except (KeyError, ValueError, TypeError):
        return None, None


async def indicator_names(session: AsyncSession, result: Result) -> IndicatorNames:
    """Indicator code → (name, English name) from the cycle's template, for the result's unit."""
    template, unit = await _template(session, result)
    if template is None:
        return {}
    names: IndicatorNames = {i.code: (i.name, i.name_en) for i in template.indicators}
    names.update({i.code: (i.name, i.name_en) for i in template.indicator_set(unit)})
    return names


async def levels_of(session: AsyncSession, result: Result, code: str) -> Levels:
    """The levels of the indicator's scale as (label, English label, points), best first;
    empty for a 0–100 score: what the working group may set on appeal besides a number."""
    template, unit = await _template(session, result)
    if template is None:
        return []
    indicator = next((i for i in template.indicator_set(unit) if i.code == code), None)
    scale = template.scales.get(indicator.scale) if indicator else None
    return [[v.label, v.label_en, str(v.points)] for v in scale.levels] if scale else []


def num(value: Decimal | str | None) -> str:
    if value is None:
        return "—"
    try:
        return format(Decimal(value).quantize(Decimal("0.01")), "f")
    except (InvalidOperation, ValueError):
        return "—"


def indicator_label(code: str, names: IndicatorNames, locale: str) -> str:
    name, english = names.get(code, (code, None))
    label = localized(name, locale, english)
    return code if label == code else f"{code} {label}"


def target_label(tr: Translator, target: str, names: IndicatorNames) -> str:
    """What is disputed, in words (plain text: escape it for HTML)."""
    kind, _, ref = target.partition(":")
    try:
        if kind == "dim":
            return tr._(DIMENSION_LABELS[Dimension(ref)])
        if kind == "src":
            return tr._(SOURCE_LABELS[Source(ref)])
    except ValueError:
        return target
    if kind == "ind":
        return tr._("Indicator {indicator}").format(
            indicator=indicator_label(ref, names, tr.locale)
        )
    return tr._("The total score")


def adjusted_label(tr: Translator, entry: dict[str, Any]) -> str:
    """What an appeal decision changed (an entry of ``breakdown["adjustments"]``), in words to
    sit inside a sentence: 指标“P01 应急预案编制”, with the source in brackets when one was."""
    code = str(entry.get("indicator") or "")
    names: IndicatorNames = {code: (str(entry.get("name") or code), entry.get("name_en"))}
    label = tr._("indicator {indicator}").format(indicator=indicator_label(code, names, tr.locale))
    try:
        source = Source(entry["source"]) if entry.get("source") else None
    except ValueError:
        source = None
    return label + tr.paren(tr._(SOURCE_LABELS[source])) if source else label


def hides_old(entry: dict[str, Any]) -> bool:
    """Colleagues' ratings of one indicator are not told to the appellant where they see
    only one combined figure (below five peers, ``services.peer_view``): the old value is
    left out then (``hide_old``, set when adjusting); the new value is the working group's."""
    return bool(entry.get("hide_old"))


def adjustment_line(tr: Translator, entry: dict[str, Any]) -> str:
    """The line a result carries after an appeal changed it: where, from what to what, why."""
    if not entry.get("indicator"):  # from before adjustments had a place: the total alone
        return html_format(
            tr._("Changed after an appeal from {old} to {new}: {reason}"),
            old=num(entry.get("from")),
            new=num(entry.get("to")),
            reason=str(entry.get("reason") or ""),
        )
    if hides_old(entry):
        return html_format(
            tr._(
                "Changed on appeal: {what} set to {new} (total {before} → {after}). Reason: {reason}"
            ),
            what=adjusted_label(tr, entry),
            new=num(entry.get("points")),
            before=num(entry.get("from")),
            after=num(entry.get("to")),
            reason=str(entry.get("reason") or ""),
        )
    return html_format(
        tr._(
            "Changed on appeal: {what} from {old} to {new} (total {before} → {after}). Reason: {reason}"
        ),
        what=adjusted_label(tr, entry),
        old=num(entry.get("old")),
        new=num(entry.get("points")),
        before=num(entry.get("from")),
        after=num(entry.get("to")),
        reason=str(entry.get("reason") or ""),
    )


def target_detail(
    tr: Translator, result: Result, target: str, names: IndicatorNames, *, full: bool = False
) -> list[str]:
    """The part of the breakdown that is disputed, as HTML lines; never a rater or a count.

    The appellant sees their peer source as ``services.peer_view`` allows (one combined
    figure below five peers); ``full`` is for the working group deciding the case.
    """
    b = (result.breakdown or {}) if full else ratee_view(result.breakdown or {})
    combined = b.get("peer_combined") or {}
    kind, _, ref = target.partition(":")
    lines: list[str] = []

    def dimension(d: dict[str, Any]) -> dict[str, Any]:
        label = tr._(DIMENSION_LABELS[Dimension(d["dimension"])])
        return {"dimension": label, **_figures(d)}

    def indicator(i: dict[str, Any]) -> dict[str, Any]:
        return {"indicator": indicator_label(i["code"], names, tr.locale), **_figures(i)}

    if kind == TOTAL:
        total, grade = num(result.total), tr._(GRADE_LABELS[result.grade])
        lines.append(html_format(tr._("Total: {total} · Grade: {grade}"), total=total, grade=grade))
        for d in _dimensions(b):
            msg = tr._("• {dimension}: {score} × {weight}% = {contribution}")
            lines.append(html_format(msg, **dimension(d)))
    elif kind == "dim":
        for d in (d for d in _dimensions(b) if d["dimension"] == ref):
            msg = tr._(
                "{dimension}: {score} (weight {weight}%, {contribution} points of the total)"
            )
            lines.append(html_format(msg, **dimension(d)))
            for i in d.get("indicators") or []:
                msg = (
                    tr._(
                        "• {indicator}: with colleagues' ratings, shown only as one combined figure (weight {weight}%)"
                    )
                    if i.get("peer_combined")
                    else tr._("• {indicator}: {score} (weight {weight}%)")
                )
                lines.append(html_format(msg, **indicator(i)))
    elif kind == "ind":
        for dim, i in (x for x in _indicators(b) if x[1]["code"] == ref):
            msg = (
                tr._(
                    "{indicator} ({dimension}): weight {weight}%, {contribution} points of the total from the other sources"
                )
                if i.get("peer_combined")
                else tr._(
                    "{indicator} ({dimension}): {score} (weight {weight}%, {contribution} points of the total)"
                )
            )
            label = tr._(DIMENSION_LABELS[Dimension(dim)])
            lines.append(html_format(msg, **indicator(i), dimension=label))
            lines += [_source_line(tr, s) for s in i.get("sources") or []]
            if i.get("peer_combined"):
                lines.append(_combined_line(tr, combined))
            break
    elif kind == "src":
        try:
            source = Source(ref)
        except ValueError:
            return lines
        summary = next((s for s in b.get("sources_summary") or [] if _of(s, ref, "score")), None)
        if summary is not None:
            score = num(summary.get("score"))
            label = tr._(SOURCE_LABELS[source])
            lines.append(html_format(tr._("{source}: {score}"), source=label, score=score))
        elif source is Source.PEER and combined:
            lines.append(_combined_line(tr, combined))
        else:
            lines.append(tr._(SOURCE_LABELS[source]))
        for _dim, i in _indicators(b):
            for s in (s for s in i.get("sources") or [] if _of(s, ref, "mean")):
                shown = {"score": num(s.get("mean")), "weight": plain_number(s.get("weight", "—"))}
                msg = tr._("• {indicator}: {score} (weight {weight}%)")
                lines.append(html_format(msg, **{**indicator(i), **shown}))
    return lines


def _of(s: Any, source: str, figure: str) -> bool:
    """Whether ``s`` is a figure of ``source`` that was stored (not dropped)."""
    return isinstance(s, dict) and s.get("source") == source and s.get(figure) is not None


def _figures(part: dict[str, Any]) -> dict[str, Any]:
    """A dimension's or an indicator's score, weight and contribution, as shown."""
    score, contribution = num(part.get("score")), num(part.get("contribution"))
    return {
        "score": score,
        "weight": plain_number(part.get("weight", "—")),
        "contribution": contribution,
    }


def _combined_line(tr: Translator, combined: dict[str, Any]) -> str:
    """The peer source as the appellant sees it below five peers: one figure, all indicators."""
    return html_format(
        tr._(
            "  – {source}: {mean} for all indicators together ({contribution} points of the total); fewer than {minimum} colleagues rated you, so it is not shown per indicator"
        ),
        source=tr._(SOURCE_LABELS[Source.PEER]),
        mean=num(combined.get("mean")),
        contribution=num(combined.get("contribution")),
        minimum=PEER_DETAIL_MIN,
    )


def _source_line(tr: Translator, s: dict[str, Any]) -> str:
    try:
        label = tr._(SOURCE_LABELS[Source(str(s.get("source")))])
    except ValueError:
        label = str(s.get("source"))
    msg = tr._("  – {source}: {score} (weight {weight}%)")
    return html_format(
        msg, source=label, score=num(s.get("mean")), weight=plain_number(s.get("weight", "—"))
    )
