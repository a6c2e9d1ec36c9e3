"""Formula-shaped text kept inert (the OWASP rule for spreadsheet exports, "CSV injection").

A text cell that starts with =, +, -, @, a tab or a carriage return becomes a formula as soon as
someone edits the cell, pastes it or saves the sheet as CSV, and a formula can open links or run
commands (=HYPERLINK, DDE). Every .xlsx the app writes (ledgers, the import report, templates)
puts an apostrophe before such a text; an import takes an apostrophe before one of those
characters away again, so a re-imported value is the original text.

Numbers written as text - a phone "+86 138 0000 0000", "-12.5", "+86-931-1234567" - cannot call
anything and stay as they are; numbers in number cells are never touched."""

from __future__ import annotations

import re

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBERISH = re.compile(r"[+-]?[0-9][0-9 ().\-]*\Z")


def inert(text: str) -> str:
    """`text` as it may go into a cell: with an apostrophe in front when it is formula-shaped."""
    if text[:1] in FORMULA_START and text and not _NUMBERISH.match(text):
        return "'" + text
    return text


def original(text: str) -> str:
    """What an import reads from a cell `inert` wrote: the apostrophe before a formula character
    taken away."""
    if text[:1] == "'" and text[1:2] in FORMULA_START and len(text) > 1:
        return text[1:]
    return text
