"""What the chat can show: the lengths and counts every template check uses.

One place, so the indicator rules (``rules``) and the survey rules (``survey_rules``)
agree on what a code, a button or a message may hold.
"""

from __future__ import annotations

import re

MAX_TEMPLATE_NAME = 100
MAX_CODE = 16  # codes travel in callback data (64 bytes)
CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")  # indicator and survey question codes
MAX_SCALE_CODE = 20
MIN_LEVELS, MAX_LEVELS = 2, 10  # one tap per level; more than ten buttons is no longer a tap
MAX_LABEL, MAX_LABEL_EN = 20, 40  # a button's text
MAX_NAME, MAX_NAME_EN = 60, 120
MAX_DESCRIPTION, MAX_DESCRIPTION_EN = 500, 1000
MAX_UNIT = 64  # org_unit.name
MAX_GOAL, MAX_GOALS = 300, 20
# The citizen survey (四(二)4): a one-minute survey on a phone
MAX_QUESTIONS = 8
MAX_QUESTION, MAX_QUESTION_EN = 60, 120  # one message line on a phone; English runs longer
MAX_PROBLEMS = 10  # "what went wrong" choices, one button each (≤ MAX_LABEL)
MAX_WORKING_DAYS = 60  # the unit head's deadline to handle a bad review (整改)
