"""Template texts in the reader's script and language.

Templates are written once, in Simplified Chinese (the bureau's working script),
with optional English columns. zh_Hant readers get an OpenCC conversion with the
``s2tw`` config: character-level conversion to the standard forms Taiwan and Hong
Kong readers both read without pause (為, 群眾, 著, 考核), and *no* phrase
rewriting, because ``s2twp`` turns mainland administrative terms into Taiwanese
ones (信息→資訊, 发布→釋出, 运行→執行) and would change an approved indicator's
wording; plain ``s2t`` yields OpenCC's etymological forms (爲, 羣衆, 考覈) that
look wrong to everyone. English readers get the English text, else the Chinese.

The catalogs' zh_Hant is written in Taiwan's vocabulary (計畫, 傳送, 儲存, 訊息), so the
one spelling s2tw leaves in the mainland form, 計劃, becomes 計畫 here too; words stay.
Everything organisational (unit names, job titles, template and indicator texts) goes
through ``localized`` at render time; people's names never do: a name is shown as stored.
"""

from __future__ import annotations

from functools import cache, lru_cache
from typing import Any

from domain.template import Indicator, Level, SurveyQuestion, SurveySpec

OPENCC_CONFIG = "s2tw"
#: Same word, Taiwan's standard spelling (教育部): keeps 績效改進計畫 one spelling everywhere.
TAIWAN_SPELLINGS = (("計劃", "計畫"),)


@cache
def _converter() -> Any:
    import opencc  # loads dictionaries once per process

    return opencc.OpenCC(OPENCC_CONFIG)


@lru_cache(maxsize=4096)
def to_traditional(text: str) -> str:
    """Simplified -> Traditional Chinese; the same few hundred texts are shown all day."""
    if not text:
        return text
    converted = str(_converter().convert(text))
    for mainland, taiwan in TAIWAN_SPELLINGS:
        converted = converted.replace(mainland, taiwan)
    return converted


def localized(text: str, locale: str, english: str | None = None) -> str:
    """A template text (Simplified Chinese) for ``locale``: zh_Hans, zh_Hant or en."""
    if locale == "en":
        return english or text
    if locale == "zh_Hant":
        return to_traditional(text)
    return text


def indicator_name(indicator: Indicator, locale: str) -> str:
    return localized(indicator.name, locale, indicator.name_en)


def indicator_description(indicator: Indicator, locale: str) -> str:
    return localized(indicator.description, locale, indicator.description_en)


def level_label(level: Level, locale: str) -> str:
    return localized(level.label, locale, level.label_en)


def question_text(question: SurveyQuestion, locale: str) -> str:
    return localized(question.text, locale, question.text_en)


def problem_labels(survey: SurveySpec, locale: str) -> tuple[str, ...]:
    """The "what went wrong" choices after a bad review, in ``locale``, in order."""
    english = survey.problems_en or (None,) * len(survey.problems)
    return tuple(
        localized(text, locale, en) for text, en in zip(survey.problems, english, strict=False)
    )
