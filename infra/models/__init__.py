"""ORM models; importing this package registers every table on ``Base.metadata``."""

from infra.models.accounts import CodeAttempt, Invite, TelegramAccount
from infra.models.base import Base
from infra.models.calendar import OfficialCalendar
from infra.models.evaluation import Answer, Assignment, Cycle, TemplateVersion
from infra.models.infra import (
    AppSecret,
    AuditEntry,
    ConversationFocus,
    ConversationState,
    InboxUpdate,
    OutboxMessage,
    PersistedData,
)
from infra.models.org import OrgUnit, RoleGrant, Staff
from infra.models.results import Appeal, ImprovementPlan, PlanMilestone, Result, ResultReview
from infra.models.survey import Rectification, SurveyAnswer, SurveyLink, SurveyResponse

__all__ = [
    "Answer",
    "AppSecret",
    "Appeal",
    "Assignment",
    "AuditEntry",
    "Base",
    "CodeAttempt",
    "ConversationFocus",
    "ConversationState",
    "Cycle",
    "ImprovementPlan",
    "InboxUpdate",
    "Invite",
    "OfficialCalendar",
    "OrgUnit",
    "OutboxMessage",
    "PersistedData",
    "PlanMilestone",
    "Rectification",
    "Result",
    "ResultReview",
    "RoleGrant",
    "Staff",
    "SurveyAnswer",
    "SurveyLink",
    "SurveyResponse",
    "TelegramAccount",
    "TemplateVersion",
]
