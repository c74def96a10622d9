"""The strings the templates show, marked here so the catalogs carry them (``_`` in a
template looks up the same msgid)."""

from __future__ import annotations

from infra.i18n import N_

WORDS = (
    N_("Citizen satisfaction survey"),
    N_("Language"),
    N_("Rate with Telegram"),
    N_("Check the result of a complaint"),
    N_("Done"),
    N_("In your own words"),
    N_("Yes, please reply"),
    N_("No, thank you"),
    N_(
        "Would you like to hear how we handled it? You will be given a number and a receipt code to read the answer on this page."
    ),
    N_("Number"),
    N_("Receipt code"),
    N_(
        "Please write both down or take a screenshot: with them you can read the answer under “Check the result of a complaint”."
    ),
    N_(
        "Would you like a return call? Leave a phone number (optional). It is kept only until the item is closed, and only the head of the unit sees it."
    ),
    N_("Phone number"),
    N_("Send"),
    N_("Thank you. We will call you back."),
    N_("Enter the number and the receipt code you were given after your review."),
    N_("Look up"),
    N_("Look up another"),
    N_("Are you satisfied with how it was handled?"),
    N_("Reply of the unit"),
)
