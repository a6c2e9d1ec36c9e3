"""Excel in and out: the import wizard (file → mapping → dry run → import) and the export dialog."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any, cast

from PySide6.QtCore import QDate
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.exchange import (
    ImportOptions,
    dry_run,
    export,
    field_choices,
    proposed_grid,
    read_sheet,
    run_import,
    suggest_mapping,
    write_template,
)
from desktop.kinds import import_labels, ledger_titles
from desktop.policy import Ability, allows
from desktop.services.lists import grid_choices
from ui.context import AppContext
from ui.workers import Job, JobFailure, run_job

STATUS_LABELS = {"imported": "新增", "updated": "更新", "skipped": "跳过", "rejected": "未通过", "ask": "需确认"}


class ImportWizard(QDialog):
    """Step 1 choose a file and what it holds; step 2 check the column mapping; step 3 read the
    dry-run report of every row; then import everything or only the valid rows."""

    def __init__(self, ctx: AppContext, kind: str = "person", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.sheet: Any = None
        self.report: Any = None
        self.job: Job | None = None
        self.loading: Job | None = None  # the file being read (off the GUI thread)
        self.written: Any = None
        self.setWindowTitle("从 Excel 导入")
        self.resize(1000, 680)
        self.steps = QStackedWidget()
        # step 1
        self.kind = QComboBox()
        for key, label in import_labels().items():
            self.kind.addItem(label, key)
        self.kind.setCurrentIndex(max(0, self.kind.findData(kind)))
        self.grid = QComboBox()
        self.grid.addItem("(按表中的“网格”列)", None)
        for g in grid_choices(ctx.store, ctx.actor):
            self.grid.addItem(g["label"], g["id"])
        if ctx.actor.grid_ids is not None and self.grid.count() > 1:
            self.grid.setCurrentIndex(1)
        self.on_existing = QComboBox()
        for key, label in (("ask", "逐项列出变化,确认后再更新"), ("update", "直接更新已有人员"), ("skip", "跳过已有人员")):
            self.on_existing.addItem(label, key)
        self.file_label = QLabel("尚未选择文件")
        choose = self.choose = QPushButton("选择文件…")
        choose.clicked.connect(self.choose_file)
        template = QPushButton("下载空白模板…")
        template.clicked.connect(self.save_template)
        step1 = QWidget()
        f1 = QFormLayout(step1)
        f1.addRow("导入内容", self.kind)
        f1.addRow("默认网格", self.grid)
        f1.addRow("已有人员", self.on_existing)
        row = QHBoxLayout()
        row.addWidget(choose)
        row.addWidget(template)
        row.addStretch(1)
        f1.addRow("文件(.xlsx / .xls / .csv)", row)
        f1.addRow("", self.file_label)
        # step 2
        self.mapping = QTableWidget(0, 3)
        self.mapping.setHorizontalHeaderLabels(["表中的列", "示例", "对应字段"])
        self.mapping.horizontalHeader().setStretchLastSection(True)
        step2 = QWidget()
        l2 = QVBoxLayout(step2)
        self.mapping_hint = QLabel("")
        self.mapping_hint.setProperty("role", "hint")
        l2.addWidget(self.mapping_hint)
        l2.addWidget(self.mapping, 1)
        # step 3
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        self.rows = QTableWidget(0, 3)
        self.rows.setHorizontalHeaderLabels(["行号", "结果", "说明"])
        self.rows.horizontalHeader().setStretchLastSection(True)
        self.rows.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.valid_only = QCheckBox("只导入通过校验的行(未通过的行可存为报告,改好后再导入)")
        self.confirm_all = QCheckBox("")
        self.confirm_all.setVisible(False)
        self.overwrite_newer = QCheckBox("")
        self.overwrite_newer.setVisible(False)
        save_report = QPushButton("保存报告(Excel)…")
        save_report.clicked.connect(self.save_report)
        step3 = QWidget()
        l3 = QVBoxLayout(step3)
        l3.addWidget(self.summary)
        l3.addWidget(self.rows, 1)
        l3.addWidget(self.confirm_all)
        l3.addWidget(self.overwrite_newer)
        r3 = QHBoxLayout()
        r3.addWidget(self.valid_only)
        r3.addStretch(1)
        r3.addWidget(save_report)
        l3.addLayout(r3)
        for w in (step1, step2, step3):
            self.steps.addWidget(w)
        # navigation
        self.back = QPushButton("上一步")
        self.back.clicked.connect(lambda: self.steps.setCurrentIndex(max(0, self.steps.currentIndex() - 1)))
        self.next = QPushButton("下一步")
        self.next.clicked.connect(self.go_next)
        self.cancel_button = QPushButton("取消")
        self.cancel_button.clicked.connect(self.cancel)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.message = QLabel("")
        self.message.setProperty("role", "error")
        self.message.setWordWrap(True)
        nav = QHBoxLayout()
        nav.addWidget(self.progress, 1)
        nav.addWidget(self.back)
        nav.addWidget(self.next)
        nav.addWidget(self.cancel_button)
        lay = QVBoxLayout(self)
        lay.addWidget(self.steps, 1)
        lay.addWidget(self.message)
        lay.addLayout(nav)
        self.steps.currentChanged.connect(self._step_changed)
        self._step_changed(0)

    # --- steps ---------------------------------------------------------------------------
    def _step_changed(self, index: int) -> None:
        self.back.setEnabled(index > 0 and self.job is None)
        self.next.setText({0: "下一步:核对列", 1: "下一步:试导入(不写入)", 2: "开始导入"}[index])
        self.message.setText("")

    def choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "选择 Excel 文件", str(Path.home()),
                                              "表格 (*.xlsx *.xls *.csv);;所有文件 (*)")
        if path:
            self.load_file(Path(path))

    def load_file(self, path: Path) -> Job:
        """Read `path` on a worker thread (a large file takes seconds); `self.sheet` is set when
        it is read, or the message says why it was not."""
        self.sheet = None
        self.message.setText("")
        self.file_label.setText(f"正在读取“{path.name}”……")
        self.choose.setEnabled(False)
        self.next.setEnabled(False)
        self.loading = run_job(read_sheet, path, on_done=lambda sheet: self._loaded(path, sheet),
                               on_error=self._load_failed, pool=self.ctx.pool)
        return self.loading

    def _loaded(self, path: Path, sheet: Any) -> None:
        self.loading = None
        self.choose.setEnabled(True)
        self.next.setEnabled(True)
        self.sheet = sheet
        self.file_label.setText(f"{path.name}:工作表“{sheet.sheet_name}”,表头在第 {sheet.header_row} 行,"
                                f"{len(sheet.rows)} 行数据")
        proposal = proposed_grid(self.ctx.store, self.ctx.actor, sheet)
        if proposal is not None and self.grid.findData(proposal[0]) >= 0:
            self.grid.setCurrentIndex(self.grid.findData(proposal[0]))
            self.file_label.setText(self.file_label.text() + f";标题写明了“{proposal[1]}”,已设为默认网格(可改)")
        self.fill_mapping()

    def _load_failed(self, failure: JobFailure) -> None:
        self.loading = None
        self.choose.setEnabled(True)
        self.next.setEnabled(True)
        self.file_label.setText("尚未选择文件")
        self.message.setText(failure.message)

    def fill_mapping(self) -> None:
        kind = self.kind.currentData()
        suggested = suggest_mapping(kind, self.sheet.headers)
        choices = field_choices(kind)
        self.mapping.clearContents()  # drops the previous file's combo boxes
        self.mapping.setRowCount(0)
        self.mapping.setRowCount(len(self.sheet.headers))
        self._mapped = (kind, id(self.sheet))
        matched = 0
        for i, header in enumerate(self.sheet.headers):
            self.mapping.setItem(i, 0, QTableWidgetItem(str(header)))
            raw = next((r[i] for r in self.sheet.rows[:20] if i < len(r) and r[i] not in (None, "")), "")
            sample = str(int(raw)) if isinstance(raw, float) and raw.is_integer() else str(raw)
            self.mapping.setItem(i, 1, QTableWidgetItem(sample))
            box = QComboBox()
            box.addItem("(不导入)", None)
            for key, label in choices:
                box.addItem(label, key)
            idx = box.findData(suggested.get(i))
            box.setCurrentIndex(idx if idx >= 0 else 0)
            matched += idx > 0
            self.mapping.setCellWidget(i, 2, box)
        self.mapping_hint.setText(f"已自动识别 {matched} / {len(self.sheet.headers)} 列;请核对,不需要的列选“不导入”。")

    def current_mapping(self) -> dict[int, str | None]:
        out: dict[int, str | None] = {}
        for i in range(self.mapping.rowCount()):
            box = self.mapping.cellWidget(i, 2)
            out[i] = box.currentData() if isinstance(box, QComboBox) else None
        return out

    def options(self) -> ImportOptions:
        confirmed: frozenset[int] = frozenset()
        if self.report is not None and not self.confirm_all.isHidden() and self.confirm_all.isChecked():
            confirmed = frozenset(r.row_no for r in self.report.rows if r.status == "ask")
        return ImportOptions(default_grid_id=self.grid.currentData(), on_existing=self.on_existing.currentData(),
                             valid_only=self.valid_only.isChecked(), confirmed=confirmed,
                             overwrite_newer=not self.overwrite_newer.isHidden() and self.overwrite_newer.isChecked())

    def go_next(self) -> None:
        step = self.steps.currentIndex()
        if step == 0:
            if self.sheet is None:
                self.message.setText("请先选择要导入的文件。")
                return
            if getattr(self, "_mapped", None) != (self.kind.currentData(), id(self.sheet)):
                self.fill_mapping()  # keep what the user fixed unless the kind or the file changed
            self.steps.setCurrentIndex(1)
        elif step == 1:
            self.start_dry_run()
        else:
            self.start_import()

    def _start(self, fn: Any, on_done: Any) -> Job:
        self.progress.setVisible(True)
        self.progress.setValue(0)
        self.next.setEnabled(False)
        self.back.setEnabled(False)

        def work(*args: Any, job: Job) -> Any:
            return fn(*args, progress=job.report, cancel=lambda: job.cancelled)

        self.job = run_job(work, self.ctx.store, self.ctx.actor, self.kind.currentData(), self.sheet,
                           self.current_mapping(), self.options(), with_job=True, on_done=on_done,
                           on_error=self._failed, on_progress=self._progress, pool=self.ctx.pool)
        return self.job

    def start_dry_run(self) -> Job:
        self.report = None  # a new check: nothing confirmed from an earlier one
        return self._start(dry_run, self._dry_done)

    def start_import(self) -> Job | None:
        if self.report is None:
            return None
        rejected = self.report.counts.get("rejected", 0)
        if rejected and not self.valid_only.isChecked():
            self.message.setText(f"有 {rejected} 行未通过校验:请勾选“只导入通过校验的行”,或改好文件后重新试导入。")
            return None
        return self._start(run_import, self._import_done)

    def _progress(self, done: int, total: int, text: str) -> None:
        self.progress.setMaximum(max(1, total))
        self.progress.setValue(done)

    def _idle(self) -> None:
        self.job = None
        self.progress.setVisible(False)
        self.next.setEnabled(True)
        self.back.setEnabled(self.steps.currentIndex() > 0)

    def _failed(self, failure: JobFailure) -> None:
        self._idle()
        self.message.setText(f"{failure.message}(数据库未作任何改动)")

    def _dry_done(self, report: Any) -> None:
        self._idle()
        self.report = report
        self.steps.setCurrentIndex(2)
        self.show_report(report, "试导入结果(尚未写入)")
        ask = report.counts.get("ask", 0)
        self.confirm_all.setText(f"同时更新 {ask} 行需确认的已登记记录(按上表逐项列出的变化)")
        self.confirm_all.setChecked(False)
        self.confirm_all.setVisible(bool(ask))
        newer = sum(1 for r in report.rows for c in r.changes if c.kept and not c.kept.startswith("文件中为空"))
        self.overwrite_newer.setText(f"用文件中的值覆盖 {newer} 处在本机后来改过的内容(默认保留本机的值)")
        self.overwrite_newer.setChecked(False)
        self.overwrite_newer.setVisible(bool(newer))

    def _import_done(self, report: Any) -> None:
        self._idle()
        self.written = report
        self.show_report(report, "导入完成")
        self.next.setEnabled(False)
        self.cancel_button.setText("关闭")

    def show_report(self, report: Any, title: str) -> None:
        c = report.counts
        skipped = c.get("skipped", 0) - c.get("ask", 0)
        self.summary.setText(
            (f"{report.notice}\n" if report.notice else "")
            + f"{title}:共 {report.total} 行 = 新增 {c.get('imported', 0)} + 更新 {c.get('updated', 0)} + "
            f"跳过 {skipped} + 未通过 {c.get('rejected', 0)}"
            + (f" + 需确认 {c['ask']}(未更新,请核对逐项变化)" if c.get("ask") else "")
            + (f";表尾 {len(report.footers)} 行(合计、制表人、说明等)已跳过,不算错误" if report.footers else "")
        )
        # rows with anything to say (a warning on an imported row too), then the skipped footers
        shown = [r for r in report.rows if r.status != "imported" or r.messages] or report.rows
        lines = [(str(r.row_no), STATUS_LABELS.get(r.status, r.status), r.detail) for r in shown[:2000]]
        lines += [(str(n), "表尾(已跳过)", text_) for n, text_ in report.footers]
        self.rows.setRowCount(len(lines))
        for i, line in enumerate(lines):
            for j, value in enumerate(line):
                self.rows.setItem(i, j, QTableWidgetItem(value))
        self.rows.resizeColumnsToContents()

    def save_report(self) -> None:
        report = self.written or self.report
        if report is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "保存导入报告", str(Path.home() / "导入报告.xlsx"), "Excel (*.xlsx)")
        if path:
            report.save_xlsx(Path(path))

    def save_template(self) -> None:
        kind = self.kind.currentData()
        path, _ = QFileDialog.getSaveFileName(self, "保存模板", str(Path.home() / f"{import_labels()[kind]}导入模板.xlsx"),
                                              "Excel (*.xlsx)")
        if path:
            write_template(kind, Path(path))

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()
            self.message.setText("正在取消……已写入的部分会整体撤销。")
            return
        if self.written is not None:
            self.accept()
        else:
            self.reject()


class ExportDialog(QDialog):
    """Export a standard ledger to .xlsx for a grid or everything in scope, in the background."""

    def __init__(self, ctx: AppContext, kind: str = "person", *, grid_id: str | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.job: Job | None = None
        self.rows_written: int | None = None
        self.setWindowTitle("导出 Excel 台账")
        self.kind = QComboBox()
        for key, label in ledger_titles(exportable=True).items():
            self.kind.addItem(label, key)
        self.kind.setCurrentIndex(max(0, self.kind.findData(kind)))
        self.grid = QComboBox()
        if ctx.actor.grid_ids is None:
            self.grid.addItem("全部网格", None)
        for g in grid_choices(ctx.store, ctx.actor):
            self.grid.addItem(g["label"], g["id"])
        if grid_id:
            self.grid.setCurrentIndex(max(0, self.grid.findData(grid_id)))
        self.date_from = QDateEdit(QDate(date.today().year, 1, 1))
        self.date_to = QDateEdit(QDate.currentDate())
        for d in (self.date_from, self.date_to):
            d.setCalendarPopup(True)
            d.setDisplayFormat("yyyy-MM-dd")
        self.unmask = QCheckBox("导出完整证件号码和电话(记入审计)")
        self.unmask.setEnabled(allows(ctx.actor, Ability.UNMASK_OUTPUT))
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.state = QLabel("")
        self.state.setWordWrap(True)
        form = QFormLayout()
        form.addRow("台账", self.kind)
        form.addRow("范围", self.grid)
        dates = QHBoxLayout()
        dates.addWidget(self.date_from)
        dates.addWidget(QLabel("至"))
        dates.addWidget(self.date_to)
        form.addRow("统计期(走访台账)", dates)
        form.addRow("", self.unmask)
        self.go = QPushButton("导出…")
        self.go.clicked.connect(self.choose_and_export)
        self.cancel_button = QPushButton("关闭")
        self.cancel_button.clicked.connect(self.cancel)
        buttons = QHBoxLayout()
        buttons.addWidget(self.progress, 1)
        buttons.addWidget(self.go)
        buttons.addWidget(self.cancel_button)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.state)
        lay.addLayout(buttons)

    def choose_and_export(self) -> None:
        label = self.kind.currentText()
        path, _ = QFileDialog.getSaveFileName(self, "导出到", str(Path.home() / f"{label}.xlsx"), "Excel (*.xlsx)")
        if path:
            self.start(Path(path))

    def start(self, out: Path) -> Job:
        self.progress.setVisible(True)
        self.go.setEnabled(False)
        self.cancel_button.setText("取消")
        kind = self.kind.currentData()
        dated = kind == "visit"

        def work(job: Job) -> int:
            return export(self.ctx.store, self.ctx.actor, kind, out, grid_id=self.grid.currentData(),
                          date_from=cast(date, self.date_from.date().toPython()) if dated else None,
                          date_to=cast(date, self.date_to.date().toPython()) if dated else None,
                          unmask=self.unmask.isChecked(), progress=job.report, cancel=lambda: job.cancelled)

        self.job = run_job(work, with_job=True, on_done=lambda n: self._done(n, out),
                           on_error=self._failed, on_progress=self._progress, pool=self.ctx.pool)
        return self.job

    def _progress(self, done: int, total: int, text: str) -> None:
        self.progress.setMaximum(max(1, total))
        self.progress.setValue(done)

    def _done(self, n: int, out: Path) -> None:
        self.job = None
        self.rows_written = n
        self.progress.setVisible(False)
        self.go.setEnabled(True)
        self.cancel_button.setText("关闭")
        self.state.setText(f"已导出 {n:,} 行到 {out}")

    def _failed(self, failure: JobFailure) -> None:
        self.job = None
        self.progress.setVisible(False)
        self.go.setEnabled(True)
        self.cancel_button.setText("关闭")
        self.state.setText(f"未导出:{failure.message}")

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()
            self.state.setText("正在取消……不会留下不完整的文件。")
            return
        self.accept() if self.rows_written is not None else self.reject()


def ask_yes(parent: QWidget, title: str, text: str) -> bool:
    return QMessageBox.question(parent, title, text) == QMessageBox.StandardButton.Yes


