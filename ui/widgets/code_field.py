"""Fields filled by typing a few keys.

`ChoiceField`: a line edit whose popup lists the choices that fit what was typed — the text, its
full pinyin or its pinyin initials (`xf` → 幸福小区); the first fit is preselected, so Tab or Enter
takes it, and Escape keeps exactly what was typed (a new 小区, a new 楼栋).

`CodeField`: the same over a code table, strict: the table's common entries come first (配偶, 子,
女, 父亲, 母亲 …), `mq` gives 母亲, and leaving the field settles on the best fit. It replaces a combo
box that needed dozens of Down presses at the door."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QStringListModel, Qt, Signal
from PySide6.QtGui import QFocusEvent, QKeyEvent
from PySide6.QtWidgets import QAbstractItemView, QCompleter, QLineEdit, QWidget

from desktop.services.pinyin import text_pinyin
from desktop.validation import code_table
from ui.widgets.popups import fit_popup


class ChoiceField(QLineEdit):
    def __init__(self, choices: list[str] | None = None, *, provider: Callable[[], list[str]] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._entries: list[tuple[str, str, str, str]] = []  # value, label, full pinyin, initials
        self._labels: dict[str, str] = {}
        self.provider = provider
        self._model = QStringListModel(self)
        self.completer_ = QCompleter(self._model, self)
        self.completer_.setWidget(self)
        self.completer_.setCompletionMode(QCompleter.CompletionMode.UnfilteredPopupCompletion)
        self.completer_.setMaxVisibleItems(10)
        self.completer_.activated.connect(self._picked)
        self._popup().installEventFilter(self)  # after the completer's: sees keys first
        self.textEdited.connect(self._filter)
        if choices:
            self.set_choices([(c, c) for c in choices])

    def set_choices(self, items: list[tuple[str, str]]) -> None:
        """(value, label) pairs, in the order they are offered."""
        self._entries = [(v, lbl, *text_pinyin(lbl)) for v, lbl in items]
        self._labels = {lbl: v for v, lbl, _f, _i in reversed(self._entries)}

    def choices(self) -> list[str]:
        return [lbl for _v, lbl, _f, _i in self._entries]

    # --- matching ------------------------------------------------------------------------------
    def matches(self, text: str) -> list[str]:
        """Labels that fit what was typed, best first: the same label, a label starting with it,
        pinyin initials or full pinyin starting with it, a label containing it; in offered order."""
        key = text.strip().casefold()
        if not key:
            return self.choices()
        ranked: list[tuple[int, int, str]] = []
        for pos, (value, label, full, initials) in enumerate(self._entries):
            folded = label.casefold()
            if folded == key or value == key:
                rank = 0
            elif folded.startswith(key):
                rank = 1
            elif initials.startswith(key) or full.startswith(key):
                rank = 2
            elif key in folded:
                rank = 3
            else:
                continue
            ranked.append((rank, pos, label))
        return [label for _r, _p, label in sorted(ranked)]

    def _popup(self) -> QAbstractItemView:
        popup = self.completer_.popup()  # a QCompleter makes its list view when first asked
        assert popup is not None
        return popup

    def _filter(self, text: str) -> None:
        found = self.matches(text)
        self._model.setStringList(found)
        if found and text.strip():
            self._open()
            self._popup().setCurrentIndex(self._model.index(0, 0))
        else:
            self._popup().hide()

    def _open(self) -> None:
        """The list of what fits, below the field and as wide as its longest entry (the field
        itself is often narrower: 与户主关系 in 整户登记 is 110 pixels)."""
        fit_popup(self._popup(), self, self.completer_.maxVisibleItems())
        self.completer_.complete()

    def _picked(self, label: str) -> None:
        self.set_label(label)

    def set_label(self, label: str) -> None:
        self.setText(label)

    def known(self) -> bool:
        return self.text().strip() in self._labels

    # --- keys and focus ----------------------------------------------------------------------
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        """Tab in the open list takes the highlighted entry (then moves on, as Tab does)."""
        if watched is self._popup() and event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent) \
                and event.key() in (Qt.Key.Key_Tab, Qt.Key.Key_Backtab):
            current = self._popup().currentIndex()
            if current.isValid():
                self.set_label(str(current.data()))
        return super().eventFilter(watched, event)

    def focusInEvent(self, event: QFocusEvent) -> None:  # noqa: N802
        if self.provider is not None:
            self.set_choices([(c, c) for c in self.provider()])
        super().focusInEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Down and not self._popup().isVisible() and self._entries:
            self._model.setStringList(self.matches("" if self.known() else self.text()))
            self._open()
            self._popup().setCurrentIndex(self._model.index(0, 0))
            return
        super().keyPressEvent(event)


class CodeField(ChoiceField):
    code_changed = Signal(object)

    def __init__(self, table: str, *, placeholder: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent=parent)
        t = code_table(table)
        self.set_choices(t.common_first())
        self._code: str | None = None
        self.setPlaceholderText(placeholder or f"{t.title}(可输拼音首字母)")
        self.editingFinished.connect(self.resolve)

    def resolve(self) -> None:
        """Settle what was typed on the best fit (an empty field is no code; text that fits nothing
        stays, and `unknown()` says so for the form's message)."""
        text = self.text().strip()
        if not text:
            self._set(None)
        elif text in self._labels:
            self._set(self._labels[text])
        else:
            found = self.matches(text)
            if found:
                self.set_label(found[0])
            else:
                self._set(None)

    def set_label(self, label: str) -> None:
        self.setText(label)
        self._set(self._labels.get(label))

    def set_code(self, code: str | None) -> None:
        label = next((lbl for c, lbl, _f, _i in self._entries if c == code), "")
        self.setText(label)
        self._set(code if label else None)

    def _set(self, code: str | None) -> None:
        if code != self._code:
            self._code = code
            self.code_changed.emit(code)

    def code(self) -> str | None:
        text = self.text().strip()
        return self._labels.get(text) if text else None

    def unknown(self) -> bool:
        """Something typed that is no entry of the table."""
        return bool(self.text().strip()) and self.code() is None

    def focusOutEvent(self, event: QFocusEvent) -> None:  # noqa: N802
        super().focusOutEvent(event)
        if not self._popup().isVisible():
            self.resolve()
