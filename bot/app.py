"""The composition root: builds the real ``telegram.ext.Application`` with every flow wired in."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import AIORateLimiter, ApplicationBuilder, ContextTypes

from chat.bot_http import BotRequest
from chat.context import JxApplication, JxContext
from chat.focus import FlowHandler
from chat.persistence import DatabasePersistence
from chat.replies import RetryingRateLimiter
from chat.resume import set_home
from conversations import (
    admin,
    annual,
    appeal,
    console,
    cycle_admin,
    export,
    fallback,
    form,
    help,
    home,
    invite,
    language,
    plan,
    rectification,
    report,
    result_review,
    results,
    staff_import,
    staff_number,
    start,
    survey,
    survey_admin,
    template_upload,
)
from conversations.menus import set_default_commands
from infra.container import Services

log = logging.getLogger(__name__)


def build_application(services: Services) -> JxApplication:
    """No Updater: ``chat.polling`` / the webhook store updates durably before they are handled."""
    settings = services.settings
    application = (
        ApplicationBuilder()
        .application_class(JxApplication, kwargs={"services": services})
        .token(settings.require_token())
        .base_url(settings.telegram_base_url)
        .base_file_url(settings.telegram_file_base_url)
        .updater(None)
        .request(BotRequest(connection_pool_size=256))  # PTB's own pool size; a cheaper probe
        # the long poll too: PTB gives getUpdates a client of its own, by default httpx's
        # whole path, which was a tenth of the bot's CPU at 160 updates a second (issue 12)
        .get_updates_request(BotRequest(connection_pool_size=1))
        .persistence(DatabasePersistence(services.sessions, self_writing=FlowHandler.live))
        .context_types(ContextTypes(context=JxContext))
        # Replies are not throttled overall (that is the outbox's job); 429s are retried,
        # and so are 5xx and network errors while an update is handled (chat.replies).
        .rate_limiter(RetryingRateLimiter(AIORateLimiter(overall_max_rate=0, max_retries=3)))
        .build()
    )
    assert isinstance(application, JxApplication)
    register_handlers(application)
    return application


FLOW_MODULES = (
    invite,
    survey,
    language,
    appeal,  # before the file uploads: evidence files at its EVIDENCE step are its own
    template_upload,
    staff_import,
    form,
    survey_admin,
    rectification,
    result_review,
    plan,
    staff_number,
)
"""Every ``chat.flow.Flow`` module, in the order their handlers are tried."""


def register_handlers(application: JxApplication) -> None:
    """Order matters: flows first (they own their states), then global commands, then catch-alls."""

    for flow_module in FLOW_MODULES:
        application.add_handler(flow_module.build_handler(), group=0)
    for module in (
        start,
        home,
        help,
        admin,
        console,
        cycle_admin,
        survey_admin,
        rectification,
        results,
    ):
        for handler in module.build_handlers():
            application.add_handler(handler, group=0)
    application.add_handlers(annual.build_handlers(), group=0)
    application.add_handlers(report.build_handlers(), group=0)
    application.add_handlers(export.build_handlers(), group=0)
    for handler in fallback.build_handlers():
        application.add_handler(handler, group=0)
    application.add_error_handler(fallback.on_error)
    set_home(home.show_home)


async def on_startup(application: JxApplication) -> None:
    """Default command menus; a failure is logged and never stops the bot."""
    await set_default_commands(application)


__all__ = ["Update", "build_application", "on_startup"]
