"""Chinese text on paper: line breaking with kinsoku, and the missing-glyph guard.

ReportLab's ``wordWrap='CJK'`` breaks anywhere and knows only part of the Chinese line-breaking
rules: its "cannot start a line" set lacks the full-width comma, colon, semicolon, closing
quotes and 》, and it moves at most one character, so "。”" at the end of a line still leaves
”” at the start of the next. :class:`CJKParagraph` breaks lines itself: closing punctuation
never starts a line, opening punctuation never ends one (characters move to the next line
rather than hang into a table border), and runs of digits and Latin letters (ID numbers,
plates, dates) stay whole when they fit on one line."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from xml.sax.saxutils import escape

from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import Paragraph
from reportlab.platypus.paragraph import (  # type: ignore[attr-defined]  # CJK line breaking: not in types-reportlab
    ParaLines,
    cjkU,
    makeCJKParaLine,
)

from desktop.printing.fonts import REPLACEMENT, FontChoice

# Characters that must not start a line (GB/T 15834 practice plus ReportLab's own list).
NO_START = frozenset(
    "!),.:;?]}%·’”…—―‖‥、。〃〉》」』】〕〗〙〛〞〟︰︱︳︴︵︶︸︺︼︾﹀﹂﹄﹏"
    "!%),.:;?]|}~¢°′″℃‰¨ˇ々〻ゝゞヽヾーァィゥェォッャュョヮヵヶぁぃぅぇぉっゃゅょゎ"
)
# Characters that must not end a line.
NO_END = frozenset("([{£¥‘“〈《「『【〔〖〘〚〝([{£¥$#@§")
_FUZZ = 1e-6
MAX_SHIFT = 8  # at most this many characters move to the next line to satisfy the rules


def _wordish(ch: str) -> bool:
    return ch.isascii() and (ch.isalnum() or ch in "-_./:@+*#")


def break_points(chars: Sequence[str], widths: Sequence[float], max_widths: Sequence[float],
                 hard: frozenset[int] = frozenset()) -> list[tuple[int, int]]:
    """Line ranges [start, end) for characters of the given widths.

    `hard` holds indices after which a line must end (explicit line breaks)."""
    n = len(chars)
    lines: list[tuple[int, int]] = []
    start = 0
    while start < n:
        limit = max_widths[min(len(lines), len(max_widths) - 1)]
        used = 0.0
        i = start
        while i < n:
            w = widths[i]
            if used + w > limit + _FUZZ and i > start:
                break
            used += w
            i += 1
            if (i - 1) in hard:
                break
        end = i
        if end < n and (end - 1) not in hard:
            end = _adjust(chars, start, end)
        lines.append((start, end))
        start = end
        # a space at the start of a continuation line is dropped
        while start < n and chars[start] == " " and (start - 1) not in hard:
            start += 1
    return lines


def _adjust(chars: Sequence[str], start: int, end: int) -> int:
    """Move the break left so that no line starts with closing or ends with opening punctuation."""
    b = end
    shift = 0
    while b - 1 > start and shift < MAX_SHIFT and (chars[b] in NO_START or chars[b - 1] in NO_END):
        b -= 1
        shift += 1
    if chars[b] in NO_START or chars[b - 1] in NO_END:
        # cannot satisfy the rules by moving characters down: let closing marks hang instead
        b = end
        while b < len(chars) and chars[b] in NO_START and b - end < 3:
            b += 1
        return b
    # keep a run of digits/Latin letters whole (it moves to the next line when it fits there)
    if b < len(chars) and _wordish(chars[b]) and _wordish(chars[b - 1]):
        k = b - 1
        while k > start and _wordish(chars[k - 1]):
            k -= 1
        if k > start and b - k < 40 and chars[k] not in NO_START and chars[k - 1] not in NO_END:
            b = k
    return b


class CJKParagraph(Paragraph):
    """A paragraph of Chinese text broken with :func:`break_points` (style wordWrap='CJK')."""

    def breakLinesCJK(self, maxWidths: Any) -> Any:  # noqa: N802 (ReportLab's name)
        if not isinstance(maxWidths, list | tuple):
            maxWidths = [maxWidths]
        if hasattr(self, "blPara") and getattr(self, "_splitpara", False):
            return self.blPara
        self.height = 0
        style = self.style
        frags = self.frags
        if not frags:
            return ParaLines(kind=0, fontSize=style.fontSize, fontName=style.fontName,
                             textColor=style.textColor, lines=[], ascent=style.fontSize,
                             descent=-0.2 * style.fontSize)
        units: list[cjkU] = []
        hard: set[int] = set()
        for f in frags:
            text = f.text if isinstance(f.text, str) else f.text.decode("utf8")
            if text:
                units.extend(cjkU(t, f, "utf8") for t in text)
            else:
                units.append(cjkU(text, f, "utf8"))
            if hasattr(f, "lineBreak"):
                hard.add(len(units) - 1)
        widths = [u.width for u in units]
        lines = []
        for k, (a, b) in enumerate(break_points(units, widths, maxWidths, frozenset(hard))):
            mw = maxWidths[min(k, len(maxWidths) - 1)]
            used = sum(widths[a:b])
            line_break = (b - 1) in hard
            lines.append(makeCJKParaLine(units[a:b], mw, used, mw - used, line_break, False))
        return ParaLines(kind=1, lines=lines)


def fits(text: str, font: str, size: float, width: float) -> bool:
    return "\n" not in text and stringWidth(text, font, size) <= width


def para(text: str, style) -> CJKParagraph:
    """A paragraph of plain text (escaped; newlines kept as line breaks)."""
    return CJKParagraph(escape(text).replace("\n", "<br/>"), style)


class Guard:
    """Checks every text that goes on paper against the font.

    Strict (the default): collects (who, field, character) for every character the font lacks;
    the caller raises MissingGlyphs before anything is drawn. With `allow`, such characters are
    replaced by □ and a note says which character it was."""

    def __init__(self, font: FontChoice, *, allow: bool = False) -> None:
        self.font = font
        self.allow = allow
        self.items: list[tuple[str, str, str]] = []
        self.notes: list[str] = []
        self._seen: set[tuple[str, str, str]] = set()

    def __call__(self, value: object, who: str, field: str) -> str:
        if value is None:
            return ""
        text = str(value)
        if text.isascii():
            return text
        missing = self.font.missing(text)
        if not missing:
            return text
        for ch in missing:
            key = (who, field, ch)
            if key not in self._seen:
                self._seen.add(key)
                self.items.append(key)
                if self.allow:
                    self.notes.append(
                        f"{self.printable(who)}的{field}中有字库缺少的字(U+{ord(ch):04X}),已印为“{REPLACEMENT}”"
                    )
        if not self.allow:
            return text
        return "".join(REPLACEMENT if ch in missing else ch for ch in text)

    def printable(self, text: str) -> str:
        """`text` with every character the font lacks replaced by □ (no check recorded)."""
        return "".join(ch if self.font.has(ch) else REPLACEMENT for ch in text)
