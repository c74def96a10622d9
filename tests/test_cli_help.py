"""``jixiao`` explains itself in the operator's language, completely (issue 11, item 20)."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from bot.cli import _parser, cli_locale
from infra.i18n import Translator, catalog_path
from tests.drivers.cli import EXAMPLES, jixiao

# chat wording: what a person does in Telegram, never at a terminal
CHAT_WORDS = re.compile(r"\b(tap|button|send (it|the file|them) again|in this chat)\b", re.I)


def _parsers(parser: argparse.ArgumentParser) -> list[tuple[str, argparse.ArgumentParser]]:
    """Every parser of the CLI, by its command line."""
    found = [(parser.prog, parser)]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found += _parsers(sub)
    return found


@pytest.mark.nodb
@pytest.mark.parametrize("locale", ["zh_Hans", "zh_Hant", "en"])
def test_every_command_argument_and_option_says_what_it_is(locale: str) -> None:
    for prog, parser in _parsers(_parser(Translator(locale))):
        assert parser.description, prog
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                continue
            assert action.help, f"{prog}: {action.dest} has no help"


@pytest.mark.nodb
def test_run_help_names_the_settings_it_needs(tmp_path: Path) -> None:
    result = jixiao("run", "--help", cwd=tmp_path, LANG="en_GB.UTF-8")
    assert result.returncode == 0, result.stderr
    for needed in (
        "JIXIAO_BOT_TOKEN",
        ".env",
        ".env.example",
        "JIXIAO_WEBHOOK_URL",
        "JIXIAO_WEBHOOK_PORT",
        "JIXIAO_TELEGRAM_BASE_URL",
        "JIXIAO_DATABASE_URL",
    ):
        assert needed in result.stdout, (needed, result.stdout)
    assert "long polling" in result.stdout


@pytest.mark.nodb
def test_help_speaks_the_configured_or_the_terminal_language(tmp_path: Path) -> None:
    traditional = jixiao("cycle", "open", "--help", cwd=tmp_path, LANG="zh_TW.UTF-8")
    assert "評估週期" in traditional.stdout and "显示本帮助" not in traditional.stdout
    english = jixiao("cycle", "open", "--help", cwd=tmp_path, LANG="en_US.UTF-8")
    assert "show this help and exit" in english.stdout
    # the deployment's language wins over the terminal's, from the environment or .env
    configured = jixiao("--help", cwd=tmp_path, LANG="en_US.UTF-8", JIXIAO_LOCALE="zh_Hans")
    assert "显示本帮助并退出" in configured.stdout
    (tmp_path / ".env").write_text("JIXIAO_LOCALE=zh_Hant\n", encoding="utf-8")
    from_file = jixiao("--help", cwd=tmp_path, LANG="en_US.UTF-8")
    assert "顯示本說明並結束" in from_file.stdout
    assert cli_locale({"LANG": "C.UTF-8"}, tmp_path / "none") == "zh_Hans"
    assert cli_locale({"LANGUAGE": "en_GB:zh_CN"}, tmp_path / "none") == "en"


@pytest.mark.nodb
def test_version(tmp_path: Path) -> None:
    result = jixiao("--version", cwd=tmp_path)
    assert result.returncode == 0 and re.fullmatch(r"jixiao \S+\n", result.stdout), result.stdout


@pytest.mark.nodb
def test_no_chat_wording_in_what_only_the_cli_prints() -> None:
    """A message printed by the CLI alone (``bot/``) never asks to tap or send in a chat."""
    with catalog_path("en").open("rb") as f:
        catalog = read_po(f)
    cli_only = [
        m.id
        for m in catalog
        if m.id and m.locations and all(path.startswith("bot/") for path, _ in m.locations)
    ]
    assert cli_only
    assert not [mid for mid in cli_only if CHAT_WORDS.search(str(mid))]


async def test_refused_files_are_explained_for_the_terminal(db_url: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    lines = (EXAMPLES / "staff.csv").read_text(encoding="utf-8-sig").splitlines()
    bad.write_text("\n".join([*lines, lines[-1]]) + "\n", encoding="utf-8")
    result = jixiao("staff", "import", str(bad), cwd=tmp_path, JIXIAO_DATABASE_URL=db_url)
    assert result.returncode == 1 and "重新导入" in result.stderr and "发送" not in result.stderr
    pdf = tmp_path / "template.pdf"
    pdf.write_bytes(b"%PDF-1.4")
    refused = jixiao(
        "cycle", "open", "2026Q4", "--template", str(pdf), "--deadline", "2099-01-10",
        cwd=tmp_path, JIXIAO_DATABASE_URL=db_url,
    )  # fmt: skip
    assert refused.returncode == 1 and "发送" not in refused.stderr, refused.stderr
    assert ".xlsx" in refused.stderr
