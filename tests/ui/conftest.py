"""GUI tests run offscreen (set before any Qt import) on their own database and settings."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

os.environ["QT_QPA_PLATFORM"] = "offscreen"

import pytest  # noqa: E402


@pytest.fixture
def ui_ctx(store, admin):
    from ui.context import AppContext

    return AppContext(store, admin)


@pytest.fixture(autouse=True)
def _no_jobs_left(qapp):
    _delete_leftover_windows(qapp)
    yield
    from ui.workers import wait_all

    assert wait_all(10000), "a background job was still running at the end of the test"


def _delete_leftover_windows(qapp) -> None:
    """Earlier tests' windows are gone before a test starts. pytest-qt closes what a test
    registered and asks Qt to delete it later, but no event loop runs between tests, and windows
    the code under test opened itself stay alive: thousands of hidden widgets by the end of the
    run, which every restyle (the app applies its theme at start) walked through, 36 s a time."""
    from PySide6.QtCore import QEvent
    from PySide6.QtWidgets import QApplication

    for widget in QApplication.topLevelWidgets():
        if widget.parent() is None and not widget.isVisible():
            widget.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)


def type_text(qtbot, widget, text: str) -> None:
    """Type like a user, Chinese included (QTest.keyClicks only knows ASCII keys)."""
    from PySide6.QtCore import QEvent, Qt
    from PySide6.QtGui import QKeyEvent
    from PySide6.QtWidgets import QApplication

    for ch in text:
        if ch.isascii():
            qtbot.keyClicks(widget, ch)
        else:
            QApplication.sendEvent(widget, QKeyEvent(QEvent.Type.KeyPress, Qt.Key.Key_unknown, Qt.KeyboardModifier.NoModifier, ch))
            QApplication.sendEvent(widget, QKeyEvent(QEvent.Type.KeyRelease, Qt.Key.Key_unknown, Qt.KeyboardModifier.NoModifier, ch))


# --- dialogs answered by the test ---------------------------------------------------------------

@dataclass
class Asked:
    """A dialog the code under test showed: which kind, its title and text (and the choices offered)."""

    kind: str  # question, information, warning, critical, save_file, open_file, open_files, directory, text, item
    title: str
    text: str
    options: list[str] = field(default_factory=list)


class Answers:
    """Scripts the answers to the next message boxes, file and input dialogs, and records what was
    asked. A dialog nobody scripted fails the test (it gets "No" / "Cancel" meanwhile), and so does
    an answer that was scripted but never asked for.

        answers.question(yes=True)          # the next QMessageBox.question → Yes (False → No)
        answers.information() / warning() / critical()   # a notice is expected (→ OK)
        answers.save_file(path) / open_file(path) / open_files([p, q]) / directory(path)  (None → cancel)
        answers.text("理由") / text(None)    # QInputDialog.getText (None → cancel)
        answers.item("第二项") / item(1) / item(lambda options: options[0]) / item(None)
        answers.asked                        # every Asked, in order
        answers.texts("warning")             # the texts of one kind, to assert on the wording
    """

    def __init__(self) -> None:
        self.asked: list[Asked] = []
        self.unexpected: list[Asked] = []
        self._script: dict[str, list[Any]] = {}

    # --- scripting
    def _add(self, kind: str, answer: Any, times: int) -> Answers:
        self._script.setdefault(kind, []).extend([answer] * times)
        return self

    def question(self, yes: bool = True, *, times: int = 1) -> Answers:
        return self._add("question", yes, times)

    def information(self, *, times: int = 1) -> Answers:
        return self._add("information", None, times)

    def warning(self, *, times: int = 1) -> Answers:
        return self._add("warning", None, times)

    def critical(self, *, times: int = 1) -> Answers:
        return self._add("critical", None, times)

    def save_file(self, path: Any) -> Answers:
        return self._add("save_file", path, 1)

    def open_file(self, path: Any) -> Answers:
        return self._add("open_file", path, 1)

    def open_files(self, paths: list[Any] | None) -> Answers:
        return self._add("open_files", paths, 1)

    def directory(self, path: Any) -> Answers:
        return self._add("directory", path, 1)

    def text(self, value: str | None) -> Answers:
        return self._add("text", value, 1)

    def item(self, choice: Any) -> Answers:
        return self._add("item", choice, 1)

    # --- reading
    def texts(self, kind: str | None = None) -> list[str]:
        return [a.text for a in self.asked if kind is None or a.kind == kind]

    def titles(self, kind: str | None = None) -> list[str]:
        return [a.title for a in self.asked if kind is None or a.kind == kind]

    def unused(self) -> dict[str, list[Any]]:
        return {k: v for k, v in self._script.items() if v}

    # --- answering (the patched dialogs call this)
    _NONE = object()

    def _next(self, kind: str, title: Any, text: Any, options: list[str] | None = None) -> Any:
        asked = Asked(kind, str(title), str(text), list(options or []))
        self.asked.append(asked)
        queue = self._script.get(kind)
        if not queue:
            self.unexpected.append(asked)
            return self._NONE
        return queue.pop(0)


def _arg(args: tuple, kwargs: dict, index: int, name: str, default: Any = "") -> Any:
    return args[index] if len(args) > index else kwargs.get(name, default)


@pytest.fixture(autouse=True)
def answers(monkeypatch):
    from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox

    a = Answers()
    yes, no, ok = QMessageBox.StandardButton.Yes, QMessageBox.StandardButton.No, QMessageBox.StandardButton.Ok

    def question(*args: Any, **kwargs: Any) -> Any:
        got = a._next("question", _arg(args, kwargs, 1, "title"), _arg(args, kwargs, 2, "text"))
        return yes if got is True else no

    def notice(kind: str):
        def show(*args: Any, **kwargs: Any) -> Any:
            a._next(kind, _arg(args, kwargs, 1, "title"), _arg(args, kwargs, 2, "text"))
            return ok
        return staticmethod(show)

    def file_dialog(kind: str, many: bool = False):
        def ask(*args: Any, **kwargs: Any) -> Any:
            got = a._next(kind, _arg(args, kwargs, 1, "caption"), _arg(args, kwargs, 2, "dir"))
            if many:
                return ([str(p) for p in got] if got not in (None, Answers._NONE) else []), ""
            path = "" if got in (None, Answers._NONE) else str(got)
            return path if kind == "directory" else (path, "")
        return staticmethod(ask)

    def get_text(*args: Any, **kwargs: Any) -> Any:
        got = a._next("text", _arg(args, kwargs, 1, "title"), _arg(args, kwargs, 2, "label"))
        return ("", False) if got in (None, Answers._NONE) else (got, True)

    def get_item(*args: Any, **kwargs: Any) -> Any:
        items = [str(i) for i in _arg(args, kwargs, 3, "items", [])]
        got = a._next("item", _arg(args, kwargs, 1, "title"), _arg(args, kwargs, 2, "label"), items)
        if got in (None, Answers._NONE):
            return "", False
        if callable(got):
            got = got(items)
        return (items[got] if isinstance(got, int) else got), True

    monkeypatch.setattr(QMessageBox, "question", staticmethod(question))
    for kind in ("information", "warning", "critical"):
        monkeypatch.setattr(QMessageBox, kind, notice(kind))
    monkeypatch.setattr(QFileDialog, "getSaveFileName", file_dialog("save_file"))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", file_dialog("open_file"))
    monkeypatch.setattr(QFileDialog, "getOpenFileNames", file_dialog("open_files", many=True))
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", file_dialog("directory"))
    monkeypatch.setattr(QInputDialog, "getText", staticmethod(get_text))
    monkeypatch.setattr(QInputDialog, "getItem", staticmethod(get_item))
    yield a
    shown = "; ".join(f"{x.kind}「{x.title}」{x.text}" for x in a.unexpected)
    assert not a.unexpected, f"a dialog nobody scripted was shown: {shown}"
    assert not a.unused(), f"answers scripted but never asked for: {a.unused()}"
