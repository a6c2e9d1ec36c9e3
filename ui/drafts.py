"""Draft autosave: what a form holds is written to disk as the user types, so a crash or a dead
battery loses nothing; on the next start the drafts are offered back."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from desktop.paths import data_dir


def drafts_dir() -> Path:
    path = data_dir() / "drafts"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _file(key: str) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in key)
    return drafts_dir() / f"{safe}.json"


def save_draft(key: str, meta: dict[str, Any], values: dict[str, Any]) -> None:
    """Atomic write (temp file + rename): a crash mid-write never leaves a broken draft."""
    target = _file(key)
    tmp = target.with_suffix(".tmp")
    payload = {"key": key, "saved_at": time.strftime("%Y-%m-%d %H:%M:%S"), "meta": meta, "values": values}
    tmp.write_text(json.dumps(payload, ensure_ascii=False, default=str), encoding="utf-8")
    os.replace(tmp, target)


def remove_draft(key: str) -> None:
    _file(key).unlink(missing_ok=True)


def list_drafts(username: str | None = None) -> list[dict[str, Any]]:
    out = []
    for path in sorted(drafts_dir().glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if username is None or data.get("meta", {}).get("user") == username:
            out.append(data)
    return out


def offer_drafts(window: Any, ctx: Any) -> int:
    """Ask about each unsaved draft of the signed-in user; reopen the ones they want back."""
    from PySide6.QtWidgets import QMessageBox

    from ui.forms.dialogs import reopen_draft

    reopened = 0
    for draft in list_drafts(ctx.actor.username):
        meta = draft.get("meta", {})
        answer = QMessageBox.question(
            window, "恢复未保存的内容",
            f"发现 {draft.get('saved_at')} 未保存的{meta.get('title', '表单')}。\n是否恢复继续填写?\n"
            "(选“否”将丢弃这份草稿)",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        )
        if answer == QMessageBox.StandardButton.Yes:
            reopen_draft(window, ctx, draft)
            reopened += 1
        else:
            remove_draft(draft["key"])
    return reopened
