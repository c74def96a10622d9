"""A handler that fails: one ERROR log line with a reference, the same reference to the user.

The working group finds the traceback by the reference the user quotes (``E-7KQ2MD``).
The log says truthfully whether the update had committed anything: ``chat.uow`` rolls
back the failing transaction, and the inbox claim tells whether an earlier one committed.
"""

from __future__ import annotations

import logging
import secrets

from telegram import Update

from chat.context import JxContext
from infra.i18n import N_

log = logging.getLogger(__name__)

_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read out over the phone

SOMETHING_WENT_WRONG = N_(
    "Sorry, something went wrong on our side. What you already saved is kept; please try again in a moment."
)
REFERENCE = N_("If it happens again, tell the evaluation working group this reference: {ref}")


def new_reference() -> str:
    """A short code to find one failure in the log."""
    return "E-" + "".join(secrets.choice(_ALPHABET) for _ in range(6))


async def report_failure(
    update: object, context: JxContext, error: BaseException | None, where: str
) -> str:
    """Log ``error`` with its traceback and a reference, then tell the user once, politely."""
    ref = new_reference()
    update_id = update.update_id if isinstance(update, Update) else None
    committed = (
        "an earlier transaction of this update was committed; the failing one was rolled back"
        if context.inbox_claimed
        else "nothing was committed"
    )
    log.error("%s failed (ref %s, update %s): %s", where, ref, update_id, committed, exc_info=error)
    if isinstance(update, Update) and update.callback_query is not None:
        try:  # stop the button's spinner; the words follow as a message
            await update.callback_query.answer()
        except Exception:
            log.debug("could not answer the button of failure %s", ref, exc_info=True)
    if isinstance(update, Update) and update.effective_chat is not None:
        try:
            tr = await context.tr(update)
            text = tr._(SOMETHING_WENT_WRONG) + "\n" + tr._(REFERENCE).format(ref=ref)
            await update.effective_chat.send_message(text)
        except Exception:  # the error may be that Telegram or the database is unreachable
            log.debug("could not report failure %s to the user", ref, exc_info=True)
    return ref
