"""Printing: household archives (户档案), ledgers and rosters as PDF; previews for the app.

The UI's 打印 page is written against exactly these names. Nothing here imports Qt. The names
are loaded on first use, so that worker processes (which import only the layout modules of this
package) start without the database layer."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "MissingGlyphs": "desktop.printing.common",
    "PrintCancelled": "desktop.printing.common",
    "PrintOptions": "desktop.printing.common",
    "PrintResult": "desktop.printing.common",
    "check_glyphs": "desktop.printing.check",
    "font_info": "desktop.printing.fonts",
    "households_for": "desktop.printing.data",
    "print_archives": "desktop.printing.batch",
    "print_ledger": "desktop.printing.ledgers",
    "render_pages": "desktop.printing.preview",
}

__all__ = [
    "MissingGlyphs",
    "PrintCancelled",
    "PrintOptions",
    "PrintResult",
    "check_glyphs",
    "font_info",
    "households_for",
    "print_archives",
    "print_ledger",
    "render_pages",
]

if TYPE_CHECKING:
    from desktop.printing.batch import print_archives
    from desktop.printing.check import check_glyphs
    from desktop.printing.common import MissingGlyphs, PrintCancelled, PrintOptions, PrintResult
    from desktop.printing.data import households_for
    from desktop.printing.fonts import font_info
    from desktop.printing.ledgers import print_ledger
    from desktop.printing.preview import render_pages


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'desktop.printing' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
