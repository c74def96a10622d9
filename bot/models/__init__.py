"""ORM models; importing this package registers every table on ``Base.metadata``."""

from bot.models.accounts import CodeAttempt, Invite, TelegramAccount
from bot.models.base import Base
from bot.models.evaluation import Answer, Assignment, Cycle, TemplateVersion
from bot.models.infra import (
    AppSecret,
    AuditEntry,
    ConversationState,
    InboxUpdate,
    OutboxMessage,
    PersistedData,
)
from bot.models.org import OrgUnit, RoleGrant, Staff
from bot.models.results import Appeal, ImprovementPlan, PlanMilestone, Result, ResultReview
from bot.models.survey import Rectification, SurveyAnswer, SurveyLink, SurveyResponse

__all__ = [
    "Answer",
    "AppSecret",
    "Appeal",
    "Assignment",
    "AuditEntry",
    "Base",
    "CodeAttempt",
    "ConversationState",
    "Cycle",
    "ImprovementPlan",
    "InboxUpdate",
    "Invite",
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
