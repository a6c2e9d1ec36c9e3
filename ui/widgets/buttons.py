"""The OK / cancel row every dialog has, with Chinese labels."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QDialogButtonBox

Std = QDialogButtonBox.StandardButton


def dialog_buttons(on_ok: Callable[[], object], on_cancel: Callable[[], object], ok_text: str = "确定",
                   cancel_text: str = "取消", *, ok: Std = Std.Ok, cancel: Std = Std.Cancel,
                   shortcut: str | None = None) -> QDialogButtonBox:
    """A button box whose `ok` button (labelled `ok_text`, optionally with a shortcut) calls
    `on_ok` and whose `cancel` button calls `on_cancel`. `box.button(ok)` is the OK button."""
    box = QDialogButtonBox(ok | cancel)
    box.button(ok).setText(ok_text)
    if shortcut:
        box.button(ok).setShortcut(shortcut)
    box.button(cancel).setText(cancel_text)
    box.accepted.connect(on_ok)
    box.rejected.connect(on_cancel)
    return box
