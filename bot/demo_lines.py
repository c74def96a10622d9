"""What the demo's simulated people type, in the language the demo runs in.

These are user input, not the bot's wording, so they stay out of the catalogs: a zh_Hant
user types Traditional (converted from the Simplified lines as a Taiwan reader would
write them), an English-speaking user types English. Names are people's names and are
typed as stored.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from services.templates import to_traditional


@dataclass(frozen=True)
class Lines:
    achievements: str
    problems: str
    measures: str
    superior_comment: str
    complaint: str
    rectification_record: str
    rectification: str
    appeal: str
    appeal_decision: str
    plan_goal: str
    plan_measures: str
    milestone_1: str
    milestone_2: str


_SIMPLIFIED = Lines(
    achievements="牵头完成季度应急值守和三次预案演练，信息报送零差错。",
    problems="夜间值守人手偏紧，个别演练评估报告提交偏晚。",
    measures="优化排班，演练结束后三个工作日内提交评估报告。",
    superior_comment="工作扎实，值守和演练组织得力，信息报送及时准确。",
    complaint="等了一个多小时才有人接待。",
    rectification_record="经核实，当日午间窗口仅一人值守。已调整排班，高峰时段增派一人，列入整改台账。",
    rectification="已调整窗口排班，高峰时段增派一名工作人员，并向您致歉。",
    appeal="本季度另承担了两次跨区增援任务，相关记录未纳入评估，请核实。",
    appeal_decision="经核实增援记录属实，按实际处置效果调整该项指标得分。",
    plan_goal="下季度值守差错为零，演练参与率100%。",
    plan_measures="每周复盘值守记录，每月参加一次专项演练。",
    milestone_1="完成值守制度学习",
    milestone_2="参加两次专项演练",
)

_ENGLISH = Lines(
    achievements="Led the quarter's emergency duty and three contingency drills; no reporting errors.",
    problems="Night duty is short-staffed; some drill reports were handed in late.",
    measures="Rework the duty roster; hand in drill reports within three working days.",
    superior_comment="Solid work: duty and drills well organised, reports on time and accurate.",
    complaint="I waited more than an hour before anyone saw me.",
    rectification_record="Checked: only one member of staff was at the window at midday. Roster changed, one more at peak hours; entered in the rectification log.",
    rectification="We have changed the window roster and added a member of staff at peak hours. We apologise.",
    appeal="This quarter I also took part in two cross-district relief missions that the evaluation left out; please check.",
    appeal_decision="The relief missions are confirmed; the indicator is rescored on the actual response.",
    plan_goal="No duty errors next quarter; take part in every drill.",
    plan_measures="Review the duty log weekly; join one special drill a month.",
    milestone_1="finish the duty-rules course",
    milestone_2="take part in two special drills",
)


def lines_for(locale: str) -> Lines:
    """The typed lines for ``locale`` (zh_Hans, zh_Hant or en)."""
    if locale == "en":
        return _ENGLISH
    if locale == "zh_Hant":
        return replace(
            _SIMPLIFIED,
            **{f.name: to_traditional(getattr(_SIMPLIFIED, f.name)) for f in fields(Lines)},
        )
    return _SIMPLIFIED
