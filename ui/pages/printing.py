"""打印: household archives (one, a building, a grid, everything) and ledgers, with a preview of
the first pages, progress and cancel, save to a file and send to a printer."""

from __future__ import annotations

import os
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

from PySide6.QtCore import QDate, QEvent, QObject, QSize, Qt
from PySide6.QtGui import QImage, QPainter, QPixmap
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QFileDialog,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from desktop.kinds import canonical, ledger_titles
from desktop.policy import Ability, allows, denial
from desktop.printing import (
    MissingGlyphs,
    PrintOptions,
    font_info,
    households_for,
    print_archives,
    print_ledger,
    render_pages,
)
from desktop.services.errors import ServiceError
from desktop.services.lists import grid_choices
from desktop.services.records import Records
from ui.context import AppContext
from ui.pages.base import Page
from ui.workers import Job, JobFailure, run_job

PREVIEW_PREFIX = "gridledger-preview-"
_preview_dir: Path | None = None


def preview_dir() -> Path:
    """A private folder for this run's preview PDFs (they hold names and addresses): removed when
    the app quits, and a crashed run's folder is removed at the next start."""
    global _preview_dir
    if _preview_dir is None or not _preview_dir.exists():
        import shutil
        import time

        from PySide6.QtCore import QCoreApplication

        for stale in Path(tempfile.gettempdir()).glob(PREVIEW_PREFIX + "*"):
            try:
                if stale.is_dir() and time.time() - stale.stat().st_mtime > 12 * 3600:
                    shutil.rmtree(stale, ignore_errors=True)
            except OSError:
                pass
        _preview_dir = Path(tempfile.mkdtemp(prefix=PREVIEW_PREFIX))  # mode 0700
        app = QCoreApplication.instance()
        if app is not None:
            folder = _preview_dir
            app.aboutToQuit.connect(lambda: shutil.rmtree(folder, ignore_errors=True))
    return _preview_dir


def _grid_code(ctx: AppContext, grid_id: str | None) -> str | None:
    if not grid_id:
        return None
    return next((g["code"] for g in grid_choices(ctx.store, ctx.actor) if g["id"] == grid_id), None)


class ChoicesScroll(QScrollArea):
    """The choices' column: scrolls up and down on a short screen, but is never narrower than the
    choices themselves (at 1024×768 it was cut at two fifths of the page, 范围 and the buttons
    half hidden, beside an empty preview)."""

    def __init__(self) -> None:
        super().__init__()
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        hint = super().minimumSizeHint()
        inner = self.widget()
        if inner is not None:
            need = inner.minimumSizeHint().width() + self.verticalScrollBar().sizeHint().width() + 2 * self.frameWidth()
            hint.setWidth(max(hint.width(), need))
        return hint

    def sizeHint(self) -> QSize:  # noqa: N802
        hint = super().sizeHint()
        hint.setWidth(max(hint.width(), self.minimumSizeHint().width()))
        return hint

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        # the choices were laid out anew (another theme, another font): the page's layout asks
        # this column's size again (a scroll area does not pass its content's change on by itself)
        if watched is self.widget() and event.type() == QEvent.Type.LayoutRequest:
            self.updateGeometry()
        return super().eventFilter(watched, event)


class PrintPage(Page):
    title = "打印"

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.job: Job | None = None
        self.household_ids: list[str] = []
        self.last_pdf: Path | None = None
        heading = QLabel("打印")
        heading.setProperty("role", "page-title")
        # what
        self.kind_archive = QRadioButton("户档案")
        self.kind_ledger = QRadioButton("台账")
        self.kind_archive.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.kind_archive)
        group.addButton(self.kind_ledger)
        self.scope = QComboBox()
        self.scope.addItem("当前选中的户", "selection")
        self.scope.addItem("整个网格", "grid")
        self.scope.addItem("一栋楼", "building")
        if ctx.actor.grid_ids is None:
            self.scope.addItem("全部", "all")
        self.selection_label = QLabel("(尚未选择户:在户页面点“打印”,或选择网格)")
        self.selection_label.setProperty("role", "hint")
        self.selection_label.setMinimumHeight(self.selection_label.sizeHint().height())  # same height, empty or not
        self.grid = QComboBox()
        for g in grid_choices(ctx.store, ctx.actor):
            self.grid.addItem(g["label"], g["id"])
        self.estate = QLineEdit()
        self.estate.setPlaceholderText("小区")
        self.building = QLineEdit()
        self.building.setPlaceholderText("楼栋")
        self.ledger_kind = QComboBox()
        for key, label in ledger_titles(printable=True).items():
            self.ledger_kind.addItem(label, key)
        self.date_from = QDateEdit(QDate(date.today().year, 1, 1))
        self.date_to = QDateEdit(QDate.currentDate())
        for d in (self.date_from, self.date_to):
            d.setCalendarPopup(True)
            d.setDisplayFormat("yyyy-MM-dd")
        self.split = QCheckBox("每户一个文件(存到文件夹)")
        self.unmask = QCheckBox("打印完整证件号码和电话")
        self.unmask.setEnabled(allows(ctx.actor, Ability.UNMASK_OUTPUT))
        self.unmask.setToolTip("每次打印都会记入审计" if allows(ctx.actor, Ability.UNMASK_OUTPUT)
                               else denial(Ability.UNMASK_OUTPUT, act="打印完整号码"))
        form = QFormLayout()
        kinds = QHBoxLayout()
        kinds.addWidget(self.kind_archive)
        kinds.addWidget(self.kind_ledger)
        kinds.addStretch(1)
        form.addRow("打印内容", kinds)
        form.addRow("范围", self.scope)
        form.addRow("", self.selection_label)
        form.addRow("网格", self.grid)
        bld = QHBoxLayout()
        bld.addWidget(self.estate)
        bld.addWidget(self.building)
        form.addRow("楼栋", bld)
        form.addRow("台账种类", self.ledger_kind)
        dates = QHBoxLayout()
        dates.addWidget(self.date_from)
        dates.addWidget(QLabel("至"))
        dates.addWidget(self.date_to)
        dates.addStretch(1)
        form.addRow("统计期", dates)
        form.addRow("", self.split)
        form.addRow("", self.unmask)
        info = font_info(str(ctx.settings.value("print/font", "", type=str)) or None)
        self.font_label = QLabel(f"字体:{info.get('name')}" + (f"  ⚠ {info['warning']}" if info.get("warning") else "(已嵌入)"))
        self.font_label.setProperty("role", "warning" if info.get("warning") else "hint")
        self.font_label.setWordWrap(True)
        form.addRow("", self.font_label)
        # actions
        self.preview_button = QPushButton("生成并预览")
        self.preview_button.clicked.connect(lambda: self.start(save_to=None))
        self.save_button = QPushButton("保存为 PDF…")
        self.save_button.clicked.connect(self.save_as)
        self.printer_button = QPushButton("发送到打印机…")
        self.printer_button.clicked.connect(self.send_to_printer)
        self.printer_button.setEnabled(False)
        self.cancel_button = QPushButton("取消")
        self.cancel_button.clicked.connect(self.cancel)
        self.cancel_button.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.state = QLabel("")
        self.state.setWordWrap(True)
        buttons = QHBoxLayout()
        for b in (self.preview_button, self.save_button, self.printer_button, self.cancel_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        left = QVBoxLayout()
        box = QGroupBox("选择")
        box.setLayout(form)
        left.addWidget(box)
        left.addLayout(buttons)
        left.addWidget(self.progress)
        left.addWidget(self.state)
        left.addStretch(1)
        self.pages_box = QVBoxLayout()
        holder = QWidget()
        holder.setLayout(self.pages_box)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(holder)
        left_holder = QWidget()
        left_holder.setLayout(left)
        left_scroll = ChoicesScroll()  # the choices scroll on a short screen instead of pushing off it
        left_scroll.setWidget(left_holder)
        body = QHBoxLayout()
        body.addWidget(left_scroll)  # as wide as the choices need; the preview takes the rest
        body.addWidget(scroll, 1)
        lay = QVBoxLayout(self)
        lay.addWidget(heading)
        lay.addLayout(body, 1)
        for w in (self.kind_archive, self.kind_ledger):
            w.toggled.connect(self._update_enabled)
        self.scope.currentIndexChanged.connect(self._update_enabled)
        policy = self.progress.sizePolicy()  # shown or not, the progress bar keeps its place
        policy.setRetainSizeWhenHidden(True)
        self.progress.setSizePolicy(policy)
        self._update_enabled()

    # --- state ---------------------------------------------------------------------------
    def activate(self, **params: Any) -> None:
        if params.get("household_ids"):
            self.household_ids = list(params["household_ids"])
            self.kind_archive.setChecked(True)
            self.scope.setCurrentIndex(self.scope.findData("selection"))
            self.selection_label.setText(self._selection_text())
        if params.get("ledger"):
            self.kind_ledger.setChecked(True)
            idx = self.ledger_kind.findData(canonical(params["ledger"]))
            if idx >= 0:
                self.ledger_kind.setCurrentIndex(idx)
        if params.get("grid_id"):
            idx = self.grid.findData(params["grid_id"])
            if idx >= 0:
                self.grid.setCurrentIndex(idx)
        self._update_enabled()

    def _update_enabled(self) -> None:
        archive = self.kind_archive.isChecked()
        scope = self.scope.currentData()
        self.scope.setEnabled(archive)
        self.split.setEnabled(archive)
        self.ledger_kind.setEnabled(not archive)
        self.date_from.setEnabled(not archive)
        self.date_to.setEnabled(not archive)
        self.grid.setEnabled(not archive or scope in ("grid", "building"))
        self.estate.setEnabled(archive and scope == "building")
        self.building.setEnabled(archive and scope == "building")
        # the line stays (a form row that comes and goes moves everything below it): its text says
        # what the scope holds, or nothing
        self.selection_label.setEnabled(archive and scope == "selection")
        self.selection_label.setText(self._selection_text() if archive and scope == "selection" else " ")

    def _selection_text(self) -> str:
        if self.household_ids:
            return f"已选择 {len(self.household_ids)} 户"
        return "(尚未选择户:在户页面点“打印”,或选择网格)"

    def options(self) -> PrintOptions:
        font = str(self.ctx.settings.value("print/font", "", type=str)) or None
        return PrintOptions(unmask=self.unmask.isChecked(), split=self.split.isChecked() and self.kind_archive.isChecked(),
                            font_path=font)

    def proposed_name(self) -> str:
        """A file name that says what is in it: 户档案_户号 for one household, _网格 or _楼栋 for more."""
        scope = self.scope.currentData()
        what = "户档案" if self.kind_archive.isChecked() else (self.ledger_kind.currentText() or "台账")
        part = ""
        if scope == "selection" and len(self.household_ids) == 1:
            try:
                part = Records(self.ctx.store, self.ctx.actor).get("household", self.household_ids[0]).get("hh_no") or ""
            except ServiceError:
                part = ""
        elif scope == "selection" and self.household_ids:
            part = f"{len(self.household_ids)}户"
        elif scope == "building":
            part = f"{self.estate.text().strip()}{self.building.text().strip()}栋"
        elif scope == "grid" or not self.kind_archive.isChecked():
            part = (self.grid.currentText().split() or [""])[-1]
        name = f"{what}_{part}" if part else what
        return "".join(c for c in name if c not in '\\/:*?"<>|') + ".pdf"

    def target_households(self) -> list[str]:
        scope = self.scope.currentData()
        if scope == "selection":
            return list(self.household_ids)
        if scope == "grid":
            return households_for(self.ctx.store, self.ctx.actor, grid_code=_grid_code(self.ctx, self.grid.currentData()))
        if scope == "building":
            building = f"{_grid_code(self.ctx, self.grid.currentData())}/{self.estate.text().strip()}/{self.building.text().strip()}"
            return households_for(self.ctx.store, self.ctx.actor, building=building)
        return households_for(self.ctx.store, self.ctx.actor, all_=True)

    # --- running -------------------------------------------------------------------------
    def save_as(self) -> None:
        if self.options().split:
            folder = QFileDialog.getExistingDirectory(self, "保存到文件夹")
            if folder:
                self.start(save_to=Path(folder))
            return
        path, _ = QFileDialog.getSaveFileName(self, "保存为 PDF", str(Path.home() / self.proposed_name()),
                                              "PDF 文件 (*.pdf)")
        if path:
            self.start(save_to=Path(path))

    def start(self, save_to: Path | None, *, allow_missing: bool = False) -> Job | None:
        options = self.options()
        options.allow_missing = allow_missing
        if save_to is None:
            options.split = False
            for old in preview_dir().glob("*.pdf"):  # only the newest preview is kept (for printing)
                old.unlink(missing_ok=True)
            fd, tmp = tempfile.mkstemp(suffix=".pdf", prefix="preview-", dir=preview_dir())
            os.close(fd)
            out = Path(tmp)
        else:
            out = save_to
        try:
            if self.kind_archive.isChecked():
                ids = self.target_households()
                if not ids:
                    self.state.setText("没有可打印的户:请先选择户、网格或楼栋。")
                    return None
                args: tuple = (print_archives, self.ctx.store, self.ctx.actor, ids, out, options)
            else:
                grid_code = _grid_code(self.ctx, self.grid.currentData())
                args = (self._ledger, self.ctx.store, self.ctx.actor, self.ledger_kind.currentData(), grid_code,
                        self.date_from.date().toPython(), self.date_to.date().toPython(), out, options)
        except ServiceError as exc:
            self.state.setText(exc.message)
            return None
        self._busy(True)
        self.state.setText("正在生成…")
        self.job = run_job(self._run, *args, with_job=True, on_done=lambda r: self._done(r, out, save_to is None),
                           on_error=lambda m: self._failed(m, save_to), on_progress=self._progress, pool=self.ctx.pool)
        return self.job

    @staticmethod
    def _ledger(store: Any, actor: Any, kind: str, grid_code: str | None, d_from: date, d_to: date, out: Path,
                options: PrintOptions, **kw: Any) -> Any:
        return print_ledger(store, actor, kind, grid_code=grid_code, date_from=d_from, date_to=d_to, out=out,
                            options=options, **kw)

    @staticmethod
    def _run(fn: Any, *args: Any, job: Job) -> Any:
        try:
            return fn(*args, progress=job.report, cancel=lambda: job.cancelled)
        except MissingGlyphs as exc:
            return exc

    def _progress(self, done: int, total: int, text: str) -> None:
        self.progress.setMaximum(max(total, 1))
        self.progress.setValue(done)
        self.state.setText(text or f"{done} / {total}")

    def _busy(self, on: bool) -> None:
        self.progress.setVisible(on)
        self.progress.setValue(0)
        self.cancel_button.setEnabled(on)
        for b in (self.preview_button, self.save_button):
            b.setEnabled(not on)

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()
            self.state.setText("正在取消…")

    def _failed(self, failure: JobFailure, save_to: Path | None) -> None:
        self._busy(False)
        self.job = None
        self.state.setText(f"未生成:{failure.message}")

    def _done(self, result: Any, out: Path, preview: bool) -> None:
        self._busy(False)
        self.job = None
        if isinstance(result, MissingGlyphs):
            lines = "\n".join(f"{who} · {field}:“{ch}”" for who, field, ch in result.items[:20])
            answer = QMessageBox.question(
                self, "字体缺字", f"{result.message}\n\n{lines}\n\n仍然打印吗?缺少的字将以“□”标出,并在页面上注明。")
            if answer == QMessageBox.StandardButton.Yes:
                self.start(None if preview else out, allow_missing=True)
            else:
                self.state.setText("已取消:请换用包含这些字的字体(设置中指定字体文件)后再打印。")
            return
        warnings = ";".join(result.warnings) if result.warnings else ""
        where = "预览" if preview else "、".join(str(f) for f in result.files[:3]) + ("……" if len(result.files) > 3 else "")
        self.state.setText(f"已生成 {result.households or ''}{'户,' if result.households else ''}共 {result.pages} 页:{where}"
                           + (f"\n⚠ {warnings}" if warnings else ""))
        pdf = result.files[0] if result.files else None
        self.last_pdf = pdf
        self.printer_button.setEnabled(pdf is not None)
        if pdf is not None:
            self.show_preview(pdf)
        self.status.emit("打印文件已生成")

    def show_preview(self, pdf: Path) -> None:
        while self.pages_box.count():
            item = self.pages_box.takeAt(0)
            w = item.widget() if item is not None else None
            if w is not None:
                w.deleteLater()
        for png in render_pages(pdf, 0, 3, 70):
            label = QLabel()
            pix = QPixmap()
            pix.loadFromData(png)
            label.setPixmap(pix)
            label.setAlignment(Qt.AlignmentFlag.AlignHCenter)
            self.pages_box.addWidget(label)

    def send_to_printer(self) -> None:
        if self.last_pdf is None:
            return
        from PySide6.QtPrintSupport import QPrintDialog, QPrinter

        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        dialog = QPrintDialog(printer, self)
        if dialog.exec() != QPrintDialog.DialogCode.Accepted:
            return
        self.print_pdf(self.last_pdf, printer)

    @staticmethod
    def print_pdf(pdf: Path, printer: Any) -> int:
        """Paint each page (rendered at the printer's resolution, capped at 300 dpi) onto the printer."""
        dpi = min(300, printer.resolution())
        painter = QPainter(printer)
        pages = 0
        try:
            first = True
            start = 0
            while True:
                batch = render_pages(pdf, start, 4, dpi)
                if not batch:
                    break
                for png in batch:
                    if not first:
                        printer.newPage()
                    first = False
                    image = QImage.fromData(png)
                    rect = painter.viewport()
                    size = image.size()
                    size.scale(rect.size(), Qt.AspectRatioMode.KeepAspectRatio)
                    painter.setViewport(rect.x(), rect.y(), size.width(), size.height())
                    painter.setWindow(image.rect())
                    painter.drawImage(0, 0, image)
                    painter.setViewport(rect)
                    pages += 1
                start += len(batch)
        finally:
            painter.end()
        return pages
