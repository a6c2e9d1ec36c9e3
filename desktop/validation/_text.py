"""Small text helpers shared by the checkers (internal)."""

from __future__ import annotations

# Characters that are invisible but often pasted from web pages or Word documents.
_INVISIBLE = frozenset("\u200b\u200c\u200d\u2060\ufeff\u00ad")


def to_halfwidth(text: str) -> str:
    """Full-width ASCII variants (U+FF01–U+FF5E) and the ideographic space to ASCII."""
    out = []
    for ch in text:
        cp = ord(ch)
        if 0xFF01 <= cp <= 0xFF5E:
            out.append(chr(cp - 0xFEE0))
        elif ch == "\u3000":
            out.append(" ")
        else:
            out.append(ch)
    return "".join(out)


def drop_spaces(text: str) -> str:
    """Remove every whitespace character (any Unicode space) and invisible characters."""
    return "".join(ch for ch in text if not ch.isspace() and ch not in _INVISIBLE)


def as_text(raw: object) -> str:
    """The raw value as a string (``None`` becomes an empty string)."""
    if raw is None:
        return ""
    return raw if isinstance(raw, str) else str(raw)


def show_char(ch: str) -> str:
    """Quote a character for a message; make invisible ones visible."""
    if ch.isprintable() and not ch.isspace():
        return f"“{ch}”"
    return f"“U+{ord(ch):04X}”"
