"""Moved to ``tests.drivers.forms``; kept for the tests of other flows that still import it."""

from tests.drivers.forms import WRITTEN, answer_until_summary, data_of, submit

__all__ = ["WRITTEN", "answer_until_summary", "data_of", "submit"]
