"""Printing: household archives (户档案), ledgers and rosters as PDF; previews for the app.

The UI's 打印 page is written against exactly these names. Nothing here imports Qt. The names
are loaded on first use, so that worker processes (which import only the layout modules of this
package) start without the database layer."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "LEDGER_KINDS": "desktop.reports.kinds",
    "MissingGlyphs": "desktop.reports.common",
    "PrintCancelled": "desktop.reports.common",
    "PrintOptions": "desktop.reports.common",
    "PrintResult": "desktop.reports.common",
    "check_glyphs": "desktop.reports.check",
    "font_info": "desktop.reports.fonts",
    "households_for": "desktop.reports.data",
    "print_archives": "desktop.reports.batch",
    "print_ledger": "desktop.reports.ledgers",
    "render_pages": "desktop.reports.preview",
}

__all__ = [
    "LEDGER_KINDS",
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
    from desktop.reports.batch import print_archives
    from desktop.reports.check import check_glyphs
    from desktop.reports.common import MissingGlyphs, PrintCancelled, PrintOptions, PrintResult
    from desktop.reports.data import households_for
    from desktop.reports.fonts import font_info
    from desktop.reports.kinds import LEDGER_KINDS
    from desktop.reports.ledgers import print_ledger
    from desktop.reports.preview import render_pages


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'desktop.reports' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
