"""Re-prompt a chat whose answer was stored but whose reply died with the process."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from telegram import Update

from chat.context import JxApplication, JxContext
from chat.flow import Flow

HomeScreen = Callable[[Update, JxContext], Awaitable[None]]
_home: HomeScreen | None = None


def set_home(screen: HomeScreen) -> None:
    """The composition root (``bot.app``) registers what a chat with no open flow is shown."""
    global _home
    _home = screen


async def resume_chat(application: JxApplication, update: Update) -> None:
    """Show the prompt of the chat's open flow, or the home screen if none is open."""
    context = JxContext.from_update(update, application)
    user = update.effective_user
    if user is None:
        return
    async with application.services.reads() as session:
        open_flows = await Flow.active(session, user.id)
    if open_flows:
        await Flow.registry[open_flows[0].flow].show(update, context, edit=False)
    elif _home is not None:
        await _home(update, context)
