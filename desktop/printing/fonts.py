"""The CJK font printouts use: found once per process, embedded as a TrueType subset.

Lookup order (docs/design/STACK.md § PDF): a font file set in the settings (`PrintOptions.font_path` or the
environment variable ``GRIDLEDGER_PDF_FONT``), a font shipped with the installer
(``resources/fonts``), the system's fonts (Windows, Linux incl. ``fc-list``, macOS), and only
then ReportLab's built-in ``STSong-Light`` CID font, which is never embedded (a visible warning
goes back to the caller and onto every page footer).

A candidate must load as TrueType (ReportLab cannot embed PostScript/CFF outlines such as Noto
CJK) and must contain digits, Latin letters and common Chinese characters (Droid Sans Fallback
silently lacks the digits)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ENV_FONT = "GRIDLEDGER_PDF_FONT"
CID_FALLBACK = "STSong-Light"
# Printed instead of a character the font lacks (only with allow_missing).
REPLACEMENT = "□"
# Every usable font must draw these (digits and Latin letters: Droid Sans Fallback has none).
REQUIRED = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz户档案网格第页共姓名号码"

WINDOWS_FONTS = ("msyh.ttc", "msyh.ttf", "simsun.ttc", "simhei.ttf", "simkai.ttf", "simfang.ttf")
LINUX_FONTS = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/wqy-microhei/wqy-microhei.ttc",
    "/usr/share/fonts/wenquanyi/wqy-microhei/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/wqy-zenhei/wqy-zenhei.ttc",
    "/usr/share/fonts/wenquanyi/wqy-zenhei/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/usr/share/fonts/truetype/arphic/ukai.ttc",
    "/usr/share/fonts/arphic-uming/uming.ttc",
    "/usr/share/fonts/truetype/arphic-gbsn00lp/gbsn00lp.ttf",
)
MAC_FONTS = (
    "/System/Library/Fonts/STHeiti Light.ttc",
    "/System/Library/Fonts/STHeiti Medium.ttc",
    "/Library/Fonts/Arial Unicode.ttf",
    "/System/Library/Fonts/Supplemental/Arial Unicode.ttf",
    "/System/Library/Fonts/Hiragino Sans GB.ttc",
)
FONT_SUFFIXES = (".ttf", ".ttc", ".otf")


@dataclass
class FontChoice:
    """The font a printout uses. `name` is the name registered with ReportLab."""

    name: str
    display: str
    path: str | None
    embedded: bool
    warning: str | None = None
    _cmap: frozenset[int] | dict[int, int] | None = field(default=None, repr=False)

    def has(self, ch: str) -> bool:
        """Whether the font can draw `ch` (spaces and control characters always count as present)."""
        if ch.isspace() or ord(ch) < 32:
            return True
        if self._cmap is not None:
            return ord(ch) in self._cmap
        # the built-in CID font covers Adobe-GB1 (GBK); anything outside is not drawn
        try:
            ch.encode("gbk")
        except UnicodeEncodeError:
            return False
        return True

    def missing(self, text: str) -> list[str]:
        return [ch for ch in dict.fromkeys(text) if not self.has(ch)]

    def info(self) -> dict:
        return {"name": self.display, "path": self.path, "embedded": self.embedded, "warning": self.warning}


_lock = threading.Lock()
_cache: dict[str | None, FontChoice] = {}
_registered: dict[tuple[str, int], FontChoice] = {}


def system_candidates() -> list[str]:
    """Known font files of this platform, in order of preference (existing files only)."""
    out: list[str] = []
    if sys.platform.startswith("win"):
        root = Path(os.environ.get("WINDIR", "C:/Windows")) / "Fonts"
        out += [str(root / n) for n in WINDOWS_FONTS]
        local = os.environ.get("LOCALAPPDATA")
        if local:
            out += [str(Path(local) / "Microsoft/Windows/Fonts" / n) for n in WINDOWS_FONTS]
    elif sys.platform == "darwin":
        out += list(MAC_FONTS)
    else:
        out += list(LINUX_FONTS)
    return [p for p in out if Path(p).is_file()]


def fontconfig_candidates() -> list[str]:
    """Chinese fonts fontconfig knows about (Linux desktops: UOS, Kylin...), best match first."""
    match, listing = shutil.which("fc-match"), shutil.which("fc-list")
    if sys.platform.startswith("win"):
        return []
    cmds = []
    if match:
        cmds.append([match, "-f", "%{file}\n", ":lang=zh-cn"])
    if listing:
        cmds.append([listing, "-f", "%{file}\n", ":lang=zh-cn"])
    found: list[str] = []
    for cmd in cmds:
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=10, check=False)
        except (OSError, subprocess.SubprocessError):
            continue
        for line in done.stdout.splitlines():
            line = line.strip()
            if line.lower().endswith(FONT_SUFFIXES) and line not in found:
                found.append(line)
    return found[:40]


def shipped_candidates() -> list[str]:
    from desktop.paths import resources_dir

    folder = resources_dir() / "fonts"
    if not folder.is_dir():
        return []
    return sorted(str(p) for p in folder.iterdir() if p.suffix.lower() in FONT_SUFFIXES)


def _load(path: str) -> FontChoice:
    """Register one TrueType font file (index 0 of a collection); raise ValueError with a reason."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFError, TTFont

    key = (str(Path(path).resolve()), 0)
    if key in _registered:
        return _registered[key]
    if not Path(path).is_file():
        raise ValueError("文件不存在")
    name = f"GLCJK{len(_registered) + 1}"
    try:
        font = TTFont(name, path, subfontIndex=0)
    except TTFError as exc:
        reason = str(exc)
        if "postscript" in reason.lower():
            raise ValueError("该字体是 PostScript(CFF)轮廓,无法嵌入 PDF") from None
        raise ValueError(f"无法读取({reason})") from None
    except Exception as exc:  # a broken file: any parser error means "not usable"
        raise ValueError(f"无法读取({exc})") from None
    cmap = font.face.charToGlyph
    lacking = [ch for ch in REQUIRED if ord(ch) not in cmap]
    if lacking:
        raise ValueError("缺少常用字符(" + "".join(lacking[:12]) + "),不适合打印")
    pdfmetrics.registerFont(font)
    family = font.face.familyName
    display = family.decode("utf-8", "replace") if isinstance(family, bytes) else str(family)
    choice = FontChoice(name, display or Path(path).stem, str(path), True, None, cmap)
    _registered[key] = choice
    return choice


def _cid_fallback(warnings: list[str]) -> FontChoice:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    if CID_FALLBACK not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CID_FALLBACK))
    warning = (
        "未找到可嵌入的中文字体,已改用内置字体 STSong-Light(不嵌入 PDF:不同电脑上显示效果可能不同,"
        "部分阅读器可能无法显示)。请安装文泉驿微米黑等 TrueType 中文字体,或在设置中指定字体文件。"
    )
    return FontChoice(CID_FALLBACK, CID_FALLBACK, None, False, " ".join([*warnings, warning]), None)


def resolve_font(font_path: str | None = None, *, sources: list[Callable[[], list[str]]] | None = None) -> FontChoice:
    """The font to print with (registered with ReportLab once per process and cached)."""
    explicit = font_path or os.environ.get(ENV_FONT) or None
    cache_key = explicit if sources is None else None
    with _lock:
        if cache_key in _cache and sources is None:
            return _cache[cache_key]
        warnings: list[str] = []
        choice: FontChoice | None = None
        if explicit:
            try:
                choice = _load(explicit)
            except ValueError as exc:
                warnings.append(f"设置的字体文件 {explicit} 无法使用:{exc}。")
        if choice is None:
            tried: set[str] = set()
            for source in sources if sources is not None else [shipped_candidates, system_candidates, fontconfig_candidates]:
                for path in source():
                    if path in tried:
                        continue
                    tried.add(path)
                    try:
                        choice = _load(path)
                        break
                    except ValueError:
                        continue
                if choice is not None:
                    break
        if choice is None:
            choice = _cid_fallback(warnings)
        elif warnings:
            choice = FontChoice(choice.name, choice.display, choice.path, True,
                                " ".join(warnings) + f"已改用 {choice.display}。", choice._cmap)
        if sources is None:
            _cache[cache_key] = choice
        return choice


def font_info(font_path: str | None = None) -> dict:
    """{"name", "path", "embedded", "warning"} of the font printouts use now."""
    return resolve_font(font_path).info()


def font_for(path: str | None) -> FontChoice:
    """Exactly the font at `path` (None: the built-in CID font), registered once per process.

    Worker processes use this to print with the font the main process chose."""
    with _lock:
        if path is None:
            return _cid_fallback([])
        return _load(path)
