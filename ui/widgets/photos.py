"""Photo strip: thumbnails of one record's photos, adding from files, viewing and removing.

Adding runs on the thread pool (decoding and shrinking a large photo takes a moment); the
thumbnails are small and are read synchronously."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import shiboken6
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QContextMenuEvent, QCursor, QKeyEvent, QMouseEvent, QPixmap, QResizeEvent
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QMenu,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from desktop.services.errors import ServiceError
from desktop.services.photos import PURPOSES, Photos, default_purpose
from ui.context import AppContext
from ui.workers import Job, JobFailure, run_job

THUMB_VIEW = 112  # logical pixels of the thumbnail box (stored thumbnails are up to 200 px)
IMAGE_SUFFIXES = ("jpg", "jpeg", "png", "bmp", "gif", "webp", "tif", "tiff")
IMAGE_FILTER = (
    "图片文件 ("
    + " ".join(f"*.{s} *.{s.upper()}" for s in IMAGE_SUFFIXES)
    + ");;所有文件 (*)"
)
LAST_DIR_KEY = "photos/last_dir"


def pixmap_from(data: bytes) -> QPixmap:
    pm = QPixmap()
    pm.loadFromData(data)
    return pm


def _fit(pm: QPixmap, size: QSize, dpr: float) -> QPixmap:
    """Scale down (never up) to fit `size` logical pixels, sharp on high-DPI screens."""
    if pm.isNull():
        return pm
    target = QSize(int(size.width() * dpr), int(size.height() * dpr))
    if pm.width() > target.width() or pm.height() > target.height():
        pm = pm.scaled(target, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
    pm.setDevicePixelRatio(dpr)
    return pm


def _tooltip(meta: dict[str, Any]) -> str:
    lines = [meta["purpose_label"]]
    if meta.get("caption"):
        lines.append(meta["caption"])
    lines.append(f"{meta['width']}×{meta['height']},{meta['byte_size'] / 1024:.0f} KB")
    created: datetime | None = meta.get("created_at")
    if created is not None:
        local = created.replace(tzinfo=UTC).astimezone()
        lines.append(f"{local:%Y-%m-%d %H:%M} {meta.get('created_by') or ''}".rstrip())
    lines.append("单击查看大图,右键可删除")
    return "\n".join(lines)


class PhotoThumb(QLabel):
    """One thumbnail: click (or Enter) opens it, context menu (or Delete) removes it."""

    activated = Signal(str)
    remove_requested = Signal(str)

    def __init__(self, meta: dict[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.meta = meta
        self.setObjectName("photoThumb")
        self.setFixedSize(THUMB_VIEW + 8, THUMB_VIEW + 8)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setCursor(QCursor(Qt.CursorShape.PointingHandCursor))
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setToolTip(_tooltip(meta))
        self.setAccessibleName(f"照片:{meta['purpose_label']}")
        pm = pixmap_from(meta["thumb"])
        if pm.isNull():
            self.setText("无法显示")
        else:
            self.setPixmap(_fit(pm, QSize(THUMB_VIEW, THUMB_VIEW), self.devicePixelRatioF()))

    @property
    def attachment_id(self) -> str:
        return self.meta["id"]

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.rect().contains(event.position().toPoint()):
            self.activated.emit(self.attachment_id)
        super().mouseReleaseEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space):
            self.activated.emit(self.attachment_id)
        elif event.key() == Qt.Key.Key_Delete:
            self.remove_requested.emit(self.attachment_id)
        else:
            super().keyPressEvent(event)

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        menu = QMenu(self)
        view = menu.addAction("查看大图")
        remove = menu.addAction("删除照片")
        chosen = menu.exec(event.globalPos())
        if chosen is view:
            self.activated.emit(self.attachment_id)
        elif chosen is remove:
            self.remove_requested.emit(self.attachment_id)


class PhotoViewer(QDialog):
    """The stored photo, scaled to fit the window (never enlarged beyond its own size)."""

    def __init__(self, data: bytes, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self._pixmap = pixmap_from(data)
        self.image = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        self.image.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.image.setMinimumSize(160, 120)
        if self._pixmap.isNull():
            self.image.setText("无法显示该照片")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.button(QDialogButtonBox.StandardButton.Close).setText("关闭")
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.image, 1)
        layout.addWidget(buttons)
        self.resize(self._initial_size())

    def _initial_size(self) -> QSize:
        want = self._pixmap.size() + QSize(40, 80) if not self._pixmap.isNull() else QSize(400, 300)
        screen = self.screen() or QApplication.primaryScreen()
        if screen is not None:
            avail = screen.availableGeometry().size() * 0.85
            want = want.boundedTo(avail)
        return want.expandedTo(QSize(320, 240))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if not self._pixmap.isNull():
            dpr = self.devicePixelRatioF()
            src = QPixmap(self._pixmap)
            src.setDevicePixelRatio(1.0)
            self.image.setPixmap(_fit(src, self.image.size(), dpr))


class PhotoStrip(QWidget):
    """Photos of one record. `set_owner` switches records; `changed` fires after add/remove."""

    changed = Signal()

    def __init__(
        self, ctx: AppContext, owner_kind: str, owner_id: str | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.owner_kind = owner_kind
        self.owner_id: str | None = None
        self._items: list[dict[str, Any]] = []
        self._thumbs: list[PhotoThumb] = []
        self._pending = 0
        self._viewer: PhotoViewer | None = None

        self.add_button = QPushButton("添加照片…")
        self.add_button.setToolTip("从文件选择照片,保存时会自动缩小并去除拍摄位置等信息")
        self.add_button.clicked.connect(self.choose_files)
        self.hint = QLabel()
        self.hint.setObjectName("photoHint")
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.add_button)
        top.addWidget(self.hint, 1)

        self._row_widget = QWidget()
        self._row = QHBoxLayout(self._row_widget)
        self._row.setContentsMargins(0, 0, 0, 0)
        self._row.setSpacing(6)
        self._row.addStretch(1)
        self._scroll = QScrollArea()
        self._scroll.setWidget(self._row_widget)
        self._scroll.setWidgetResizable(True)
        self._scroll.setFrameShape(QFrame.Shape.NoFrame)
        self._scroll.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._scroll.setFixedHeight(THUMB_VIEW + 8 + self._scroll.horizontalScrollBar().sizeHint().height() + 4)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self._scroll)
        self.set_owner(owner_kind, owner_id)

    # --- public API -----------------------------------------------------------------------
    def set_owner(self, kind: str, owner_id: str | None) -> None:
        if kind not in PURPOSES:
            raise ValueError(f"photos are not supported for {kind!r}")
        self.owner_kind = kind
        self.owner_id = owner_id
        self.reload()

    def photos(self) -> list[dict[str, Any]]:
        """Metadata (and thumbnail bytes) of the photos shown."""
        return list(self._items)

    def thumbs(self) -> list[PhotoThumb]:
        return list(self._thumbs)

    def reload(self) -> None:
        self._clear()
        self._items = []
        if self.owner_id is None:
            self._set_hint("保存记录后即可添加照片")
            self._update_button()
            return
        try:
            self._items = self._service().list_for(self.owner_kind, self.owner_id)
        except ServiceError as exc:
            self._set_hint(exc.message)
            self._update_button(allowed=False)
            return
        for meta in self._items:
            thumb = PhotoThumb(meta, self._row_widget)
            thumb.activated.connect(self.open_photo)
            thumb.remove_requested.connect(self.remove_photo)
            self._row.insertWidget(self._row.count() - 1, thumb)
            self._thumbs.append(thumb)
        self._set_hint(f"共 {len(self._items)} 张照片" if self._items else "暂无照片")
        self._update_button()

    def choose_files(self) -> None:
        """The "添加照片…" button: pick image files, then say what they show."""
        if self.owner_id is None:
            return
        start = str(self.ctx.settings.value(LAST_DIR_KEY, "") or Path.home())
        paths, _ = QFileDialog.getOpenFileNames(self, "选择照片", start, IMAGE_FILTER)
        if not paths:
            return
        self.ctx.settings.setValue(LAST_DIR_KEY, str(Path(paths[0]).parent))
        purpose = self.ask_purpose()
        if purpose is None:
            return
        self.add_files(paths, purpose)

    def ask_purpose(self) -> str | None:
        """What the photo shows; skipped when the record kind has one purpose only."""
        options = PURPOSES[self.owner_kind]
        if len(options) == 1:
            return next(iter(options))
        labels = list(options.values())
        label, ok = QInputDialog.getItem(self, "照片用途", "这张照片是:", labels, 0, False)
        if not ok:
            return None
        return next(k for k, v in options.items() if v == label)

    def add_file(self, path: str | Path, purpose: str | None = None) -> Job | None:
        """Attach one file in the background (no dialog); `changed` fires when it is stored."""
        return self.add_files([path], purpose)

    def add_files(self, paths: Sequence[str | Path], purpose: str | None = None) -> Job | None:
        if self.owner_id is None or not paths:
            return None
        kind, owner_id = self.owner_kind, self.owner_id
        purpose = purpose or default_purpose(kind)
        service = self._service()

        def attach_all() -> tuple[list[dict[str, Any]], list[str]]:
            done: list[dict[str, Any]] = []
            errors: list[str] = []
            for p in paths:
                try:
                    done.append(service.attach(kind, owner_id, p, purpose=purpose))
                except ServiceError as exc:
                    errors.append(exc.message)
            return done, errors

        self._pending += 1
        self._update_button()
        return run_job(
            attach_all, on_done=self._added, on_error=self._add_failed, pool=self.ctx.pool,
        )

    def open_photo(self, attachment_id: str) -> PhotoViewer | None:
        """Show the stored photo in a window, scaled to fit."""
        meta = next((m for m in self._items if m["id"] == attachment_id), None)
        try:
            data = self._service().full(attachment_id)
        except ServiceError as exc:
            self._error("查看照片", exc.message)
            return None
        title = meta["purpose_label"] if meta else "照片"
        if meta and meta.get("caption"):
            title += f" - {meta['caption']}"
        if self._viewer is not None and shiboken6.isValid(self._viewer):
            self._viewer.close()
        self._viewer = PhotoViewer(data, title, self)
        self._viewer.open()
        return self._viewer

    def remove_photo(self, attachment_id: str, *, confirm: bool = True) -> bool:
        if confirm:
            answer = QMessageBox.question(
                self, "删除照片", "确定删除这张照片吗?",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                QMessageBox.StandardButton.No,
            )
            if answer != QMessageBox.StandardButton.Yes:
                return False
        try:
            self._service().remove(attachment_id)
        except ServiceError as exc:
            self._error("删除照片", exc.message)
            return False
        self.reload()
        self.changed.emit()
        return True

    # --- internals ------------------------------------------------------------------------
    def _service(self) -> Photos:
        return Photos(self.ctx.store, self.ctx.actor)

    def _added(self, result: tuple[list[dict[str, Any]], list[str]]) -> None:
        if not shiboken6.isValid(self):  # the widget went away while the job ran
            return
        self._pending -= 1
        done, errors = result
        self.reload()
        if any(m.get("duplicate") for m in done):
            self._set_hint(self.hint.text() + "(所选照片此前已添加过,未重复保存)")
        if done:
            self.changed.emit()
        if errors:
            self._error("添加照片", "\n".join(errors))

    def _add_failed(self, failure: JobFailure) -> None:
        if not shiboken6.isValid(self):
            return
        self._pending -= 1
        self._update_button()
        self._error("添加照片", failure.message)

    def _clear(self) -> None:
        for thumb in self._thumbs:
            self._row.removeWidget(thumb)
            thumb.deleteLater()
        self._thumbs = []

    def _set_hint(self, text: str) -> None:
        self.hint.setText(text)

    def _update_button(self, *, allowed: bool = True) -> None:
        busy = self._pending > 0
        self.add_button.setEnabled(allowed and self.owner_id is not None and not busy)
        self.add_button.setText("正在添加…" if busy else "添加照片…")

    def _error(self, title: str, message: str) -> None:
        QMessageBox.warning(self, title, message)
