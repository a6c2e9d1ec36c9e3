"""Options, results and errors of printing; temporary files; progress and cancel helpers."""

from __future__ import annotations

import contextlib
import os
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from desktop.policy import Ability
from desktop.services.errors import ServiceError, require
from desktop.services.store import Actor

Progress = Callable[[int, int, str], None]
Cancel = Callable[[], bool] | threading.Event | None


@dataclass
class PrintOptions:
    unmask: bool = False  # full ID numbers and phones (only for actors who may reveal)
    split: bool = False  # one file per household into a folder
    allow_missing: bool = False  # print characters the font lacks as □ (with a note) instead of refusing
    font_path: str | None = None  # a TrueType font chosen in the settings
    processes: int | None = None  # worker processes for batches (None: one per core)


@dataclass
class PrintResult:
    files: list[Path]
    pages: int
    households: int
    warnings: list[str] = field(default_factory=list)


class MissingGlyphs(ServiceError):
    """Some text contains characters the chosen font cannot draw; nothing was printed.

    `items`: (who/where, field label, character). Print again with allow_missing to print them
    as □ with a note, or choose a font that has them."""

    def __init__(self, items: list[tuple[str, str, str]], font_name: str) -> None:
        self.items = list(items)
        self.font_name = font_name
        shown = ";".join(f"{who}的{fld}:“{ch}”(U+{ord(ch):04X})" for who, fld, ch in self.items[:8])
        more = f" 等共 {len(self.items)} 处" if len(self.items) > 8 else ""
        super().__init__(
            f"打印字体“{font_name}”中没有以下文字,直接打印会成为空白:{shown}{more}。"
            "可以在设置中换用包含这些字的字体,或确认后用“□”代替这些字继续打印(并在档案中注明)。"
        )


class PrintCancelled(ServiceError):
    """The user cancelled: no file was written (temporary files were removed)."""

    def __init__(self) -> None:
        super().__init__("已取消打印,没有生成任何文件。")


def check_unmask(actor: Actor, options: PrintOptions) -> None:
    if options.unmask:
        require(actor, Ability.UNMASK_OUTPUT, act="打印完整证件号码和联系电话(未脱敏的材料)")


def cancel_check(cancel: Cancel) -> Callable[[], bool]:
    if cancel is None:
        return lambda: False
    if isinstance(cancel, threading.Event) or hasattr(cancel, "is_set"):
        return cancel.is_set
    return cancel


_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]+')
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}


def safe_stem(text: str, fallback: str = "户档案") -> str:
    """A file name part that works on Windows, macOS and Linux."""
    s = _UNSAFE.sub("_", text).strip(" ._")
    s = re.sub(r"\s+", " ", s)
    if not s or s.upper().split(".")[0] in _RESERVED:
        s = fallback
    return s[:80]


class TempFiles:
    """Temporary files in the target folder, renamed into place only when everything worked."""

    def __init__(self) -> None:
        self.token = uuid.uuid4().hex[:10]
        self.paths: list[Path] = []
        self._n = 0

    def new(self, folder: Path) -> Path:
        self._n += 1
        p = folder / f".~gridledger-{self.token}-{self._n}.pdf.part"
        self.paths.append(p)
        return p

    def remove_all(self) -> None:
        for p in self.paths:
            with contextlib.suppress(OSError):
                p.unlink(missing_ok=True)
        self.paths.clear()


def replace_into(temp: Path, final: Path) -> None:
    try:
        os.replace(temp, final)
    except OSError as exc:
        raise ServiceError(f"无法写入 {final}:{exc.strerror or exc}(文件可能正被其他程序打开)") from exc


def out_file(out: Path | str) -> Path:
    path = Path(out).expanduser()
    if path.is_dir():
        raise ServiceError(f"{path} 是一个文件夹:请给出 PDF 文件名,或选择“每户一个文件”")
    if path.suffix.lower() != ".pdf":
        path = path.with_name(path.name + ".pdf")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ServiceError(f"无法创建文件夹 {path.parent}:{exc.strerror or exc}") from exc
    return path


def out_folder(out: Path | str) -> Path:
    path = Path(out).expanduser()
    if path.exists() and not path.is_dir():
        raise ServiceError(f"{path} 已存在且不是文件夹:每户一个文件时请选择一个文件夹")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ServiceError(f"无法创建文件夹 {path}:{exc.strerror or exc}") from exc
    return path


def actor_label(actor: Actor) -> str:
    return actor.display_name or actor.username


def audit_detail(**kw: Any) -> dict[str, Any]:
    """Audit detail without personal values: ids, counts, codes and flags only."""
    return {k: v for k, v in kw.items() if v is not None}
