"""``jixiao audit``: the audit log read back in the operator's language, refusals included."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import select

from infra.db import SessionFactory
from infra.models import Staff
from services.audit import audit
from tests.drivers.cli import jixiao
from tests.factories import make_org


def _at(day: int, hour: int) -> dt.datetime:
    return dt.datetime(2026, 12, day, hour, tzinfo=dt.UTC)


async def _logged(sessions: SessionFactory) -> None:
    """A publication, a refusal, a CLI action on a person and an action with no label yet."""
    await make_org(sessions)
    async with sessions.begin() as s:
        chief = await s.scalar(select(Staff).where(Staff.employee_no == "L001"))
        member = await s.scalar(select(Staff).where(Staff.employee_no == "A002"))
        assert chief is not None and member is not None
        await audit(s, "cycle.publish", actor_staff_id=chief.id, object_type="cycle",
                    object_id="2026Q4", detail={"results": 6}, at=_at(1, 10))  # fmt: skip
        await audit(s, "access.denied", actor_telegram_id=555, actor_label="telegram",
                    detail={"action": "staff.import"}, at=_at(2, 9))  # fmt: skip
        await audit(s, "account.unbind", actor_label="cli", object_type="staff",
                    object_id=str(member.id), at=_at(3, 2))  # fmt: skip
        await audit(s, "console.open", actor_staff_id=chief.id, at=_at(4, 1))


async def test_the_log_reads_as_sentences_in_order(
    db_url: str, sessions: SessionFactory, tmp_path: Path
) -> None:
    await _logged(sessions)
    result = jixiao("audit", cwd=tmp_path, JIXIAO_DATABASE_URL=db_url)  # no bot token needed
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 4
    publish, refused, unbind, unknown = lines
    assert publish.startswith("2026年12月1日18:00")  # bureau time (Asia/Shanghai)
    assert "王建国（L001）" in publish and "发布评估结果" in publish
    assert "评估周期 2026年第四季度" in publish and "results=6" in publish
    assert "Telegram 用户 555" in refused and "已拒绝：导入人员名册" in refused
    assert "命令行" in unbind and "解除 Telegram 账号绑定" in unbind
    assert "工作人员 张伟（A002）" in unbind
    assert "console.open" in unknown  # a code with no words yet is shown as it is stored


async def test_filters_since_actor_and_limit(
    db_url: str, sessions: SessionFactory, tmp_path: Path
) -> None:
    await _logged(sessions)

    def audit_lines(*args: str, **env: str) -> list[str]:
        result = jixiao("audit", *args, cwd=tmp_path, JIXIAO_DATABASE_URL=db_url, **env)
        assert result.returncode == 0, result.stderr
        return result.stdout.splitlines()

    since = audit_lines("--since", "2026-12-02")  # from midnight in Beijing: 1 Dec 16:00 UTC
    assert len(since) == 3 and "已拒绝" in since[0]
    by_chief = audit_lines("--actor", "L001")
    assert len(by_chief) == 2 and "发布评估结果" in by_chief[0]
    assert audit_lines("--limit", "1") == audit_lines()[-1:]  # the newest
    english = audit_lines("--actor", "L001", "--limit", "2", JIXIAO_LOCALE="en")
    assert "Published the results" in english[0] and "Evaluation cycle Q4 2026" in english[0]
    assert audit_lines("--since", "2027-01-01") == ["审计日志中没有符合条件的记录。"]


async def test_bad_filters_are_one_polite_line(
    db_url: str, sessions: SessionFactory, tmp_path: Path
) -> None:
    await _logged(sessions)
    for args, said in (
        (("--actor", "Z999"), "没有工号为 Z999 的工作人员。"),
        (("--since", "12/02/2026"), "--since：应为 YYYY-MM-DD 格式的日期"),
        (("--limit", "0"), "--limit：请给出条数"),
    ):
        result = jixiao("audit", *args, cwd=tmp_path, JIXIAO_DATABASE_URL=db_url)
        assert result.returncode == 1, result.stderr
        assert result.stderr.strip().splitlines() == [result.stderr.strip()]
        assert said in result.stderr and "Traceback" not in result.stderr


async def test_a_citizen_is_shown_by_a_short_pseudonym_never_the_key(
    db_url: str, sessions: SessionFactory, tmp_path: Path
) -> None:
    key = "3f9a1c7be2d04a6f" * 3 + "0123456789"  # as ``audit_actor`` stores: citizen:<key[:56]>
    other = "77aa" * 14
    async with sessions.begin() as s:
        await audit(s, "access.denied", actor_label=f"citizen:{key}",
                    detail={"action": "admin"}, at=_at(5, 9))  # fmt: skip
        await audit(s, "access.denied", actor_label=f"citizen:{key}",
                    detail={"action": "report"}, at=_at(5, 10))  # fmt: skip
        await audit(s, "access.denied", actor_label=f"citizen:{other}",
                    detail={"action": "admin"}, at=_at(5, 11))  # fmt: skip

    def audit_lines(**env: str) -> list[str]:
        result = jixiao("audit", cwd=tmp_path, JIXIAO_DATABASE_URL=db_url, **env)
        assert result.returncode == 0, result.stderr
        return result.stdout.splitlines()

    first, again, someone_else = audit_lines()
    assert "群众 3f9a1c7b" in first and "已拒绝：使用工作小组工作台" in first
    assert "群众 3f9a1c7b" in again  # stable: the same citizen reads the same
    assert "群众 77aa77aa" in someone_else
    for text in (first, again, someone_else):
        assert key not in text and other not in text and "citizen:" not in text
        assert "3f9a1c7be" not in text  # no more of the key than the pseudonym
    assert "群眾 3f9a1c7b" in audit_lines(JIXIAO_LOCALE="zh_Hant")[0]
    assert "citizen 3f9a1c7b" in audit_lines(JIXIAO_LOCALE="en")[0]
