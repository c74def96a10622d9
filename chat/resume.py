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
    """Show the prompt of the chat's current flow, or the home screen if it is in none.

    Drafts the chat left in other flows stay where they are: the user goes back to them.
    """
    context = JxContext.from_update(update, application)
    if update.effective_user is None or update.effective_chat is None:
        return
    async with application.services.reads() as session:
        current = await Flow.current(session, update)
    if current is not None:
        await Flow.registry[current].show(update, context, edit=False)
    elif _home is not None:
        await _home(update, context)
