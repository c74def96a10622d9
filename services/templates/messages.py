"""What can be wrong with a template *file* (the rules of a template are in ``domain.template``).

English msgids marked with ``N_``; the caller translates them. ``{column}`` and
``{key}`` are the header or key as the file writes it; ``{value}`` is the cell.
"""

from __future__ import annotations

from domain.text import N_

# The file as a whole (the first three are the roster import's msgids, translated once)
EMPTY_FILE = N_("The file is empty.")
BAD_XLSX = N_("The file cannot be read as an .xlsx workbook.")
MISSING_COLUMN = N_("Missing required column {column}.")
OLD_XLS = N_("Old .xls workbooks cannot be read; save the file as .xlsx.")
UNKNOWN_FORMAT = N_("A template must be an .xlsx workbook or a .toml text file.")
BAD_TOML = N_("The file is not valid TOML: {error}")
BAD_TOML_ENCODING = N_("The TOML file is not UTF-8 text; save it as UTF-8.")
MISSING_SHEET = N_("The workbook has no sheet {sheet}.")
# Limits (services.files), the first two shared with the roster import
FILE_TOO_LARGE = N_("The file is larger than {max} MB.")
XLSX_TOO_LARGE = N_(
    "The workbook unpacks to more than {max} MB; save it again without pictures or extra sheets."
)
TOO_MANY_ROWS = N_("This part has more than {max} rows; a template has far fewer.")
DUPLICATE_COLUMN = N_("The column {column} appears more than once.")
UNKNOWN_KEY = N_("Unknown key {key}.")
BAD_TYPE = N_("The value of {key} has the wrong type.")
# One cell
REQUIRED = N_("{column} is empty; a value is required.")
BAD_NUMBER = N_("{value} in the column {column} is not a number.")
NUMBER_OUT_OF_RANGE = N_(
    "{value} in the column {column} is too large or has too many decimal places."
)
BAD_DIMENSION = N_("Unknown dimension {value}; use performance, ability, attitude or innovation.")
BAD_SOURCE = N_("Unknown evaluation source {value}; use self, superior, peer or citizen.")
BAD_TARGET = N_("Unknown target {value}; use person or unit.")
BAD_ITEM = N_(
    "Unknown item {value}; list the template name, the four dimensions and the four evaluation sources."
)
DUPLICATE_ITEM = N_("{value} is given more than once.")
SCALE_RESERVED = N_(
    "The scale code {value} is reserved for the 0–100 score scale; choose another code."
)
# The citizen survey (sheets 问卷 and 问卷设置, TOML [survey])
BAD_SATISFACTION = N_(
    "Unknown answer level {value}; use very_satisfied, satisfied, basic, dissatisfied or very_dissatisfied."
)
BAD_SURVEY_ITEM = N_(
    "Unknown item {value}; list the five answer levels, the rectification deadline and the problem choices."
)
BAD_WHOLE_NUMBER = N_("{value} in the column {column} is not a whole number.")
