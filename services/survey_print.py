"""What survey codes print as, in the reader's language: slips for codes handed out one per
service (一事一评), a poster for a code that hangs at a service window.

The chat (/links) and the CLI (``jixiao survey links``) print through here, so a slip or
poster reads the same wherever it was made. The pictures are drawn by ``services.qr``.
"""

from __future__ import annotations

from collections.abc import Sequence

from infra.i18n import N_, Translator
from services.qr import PAPER_PX, PosterText, qr_poster, qr_sheet
from services.survey_links import IssuedLink
from services.templates import localized

PAPERS = tuple(PAPER_PX)  # A4, A5

PROMPT = N_("Please scan to rate our service")
# no app is named: the code opens the survey page or Telegram, as configured
INSTRUCTION = N_("Scan with your phone to rate us: about 1 minute, no name or phone number needed")
SLIP_PROMPT = N_("Scan with your phone to rate our service")
SINGLE_USE = N_("Single-use code: valid for one rating")
REUSABLE = N_("Reusable code: everyone may rate, once a day")
SERIAL = N_("No. {serial}")


def target(tr: Translator, link: IssuedLink) -> str:
    """Who is rated: the unit (in the reader's script), or the unit and the person (a
    personal name is never converted)."""
    unit = localized(link.unit, tr.locale)
    return f"{unit} · {link.staff}" if link.staff else unit


def caption(tr: Translator, link: IssuedLink) -> str:
    """A slip's heading: who is rated and, on a code for one case (一事一评), the case."""
    who = target(tr, link)
    return f"{who} · {localized(link.reference, tr.locale)}" if link.reference else who


def use_note(tr: Translator, link: IssuedLink) -> str:
    """Whether the code is single-use, and its label (a window, a counter), in one line."""
    use = tr._(SINGLE_USE if link.single_use else REUSABLE)
    return f"{use} · {link.label}" if link.label else use


def slips_pdf(
    tr: Translator,
    issued: Sequence[IssuedLink],
    bot_username: str,
    *,
    public_url: str | None = None,
) -> bytes:
    """A4 sheets of slips (3 × 4 a page) to cut out; each slip carries its unit, the prompt,
    whether it is single-use, its label and its serial inside the cut line. The codes open
    the survey page when ``public_url`` is set, else the bot (``survey_links.citizen_url``)."""
    first = issued[0]
    return qr_sheet(
        [(link.link(bot_username, public_url), caption(tr, link), link.serial) for link in issued],
        title=tr._("Satisfaction survey QR codes: {target}").format(target=target(tr, first)),
        prompt=tr._(SLIP_PROMPT),
        note=use_note(tr, first),
        serial_format=tr._(SERIAL),
    )


def poster_text(tr: Translator, link: IssuedLink) -> PosterText:
    """The words of a window poster: the unit and the window (the link's label) on top,
    the prompt, one line of instructions, whether the code is single-use, the serial."""
    return PosterText(
        heading=tr._(PROMPT),
        unit=target(tr, link),
        window=localized(link.label, tr.locale),
        instruction=tr._(INSTRUCTION),
        use=tr._(SINGLE_USE if link.single_use else REUSABLE),
        serial=tr._(SERIAL).format(serial=link.serial),
    )


def poster_pdf(
    tr: Translator,
    link: IssuedLink,
    bot_username: str,
    *,
    paper: str = "A4",
    public_url: str | None = None,
) -> bytes:
    """One code as a window poster on ``paper`` (A4 or A5), opening the survey page when
    ``public_url`` is set, else the bot."""
    return qr_poster(link.link(bot_username, public_url), poster_text(tr, link), paper=paper)
