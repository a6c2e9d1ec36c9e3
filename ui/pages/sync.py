"""同步: sync this laptop with the community server in one click (in the background, with progress
and cancel), carry changes in bundle files when there is no network, and, for supervisors and
community admins, review the conflicts the server recorded.

Every network or bundle task runs as one SyncJob on the thread pool; the job builds its own
SyncClient (which opens its own connections from the store's engine) and talks to the widgets only
through signals. One task at a time: the buttons that would start another are disabled meanwhile."""

from __future__ import annotations

import contextlib
import json
import threading
import traceback
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QRunnable, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QAbstractScrollArea,
    QFileDialog,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.domain.formatting import care_mark_labels
from desktop.services.errors import ServiceError
from desktop.services.fields import CODE_FIELDS, label
from desktop.sync import bundle_sync, replica
from desktop.sync.bundle_sync import BundleRefused
from desktop.sync.client import SyncClient, SyncError
from desktop.sync.protocol import FIELDS, check_value
from desktop.sync.summary import kind_key as _kind_key
from desktop.sync.summary import kind_label, kinds_text, reply_lines, result_lines
from desktop.validation import code_table
from ui.context import AppContext
from ui.forms.record_form import grid_choices
from ui.pages.base import Page

REVIEW_ROLES = frozenset({"supervisor", "community_admin"})
PROGRESS_KINDS = ("sync", "export", "import")  # jobs that show the progress bar (the others are quick)

CONFLICT_KINDS = {"field": "字段冲突", "delete_edit": "删除与修改冲突", "rejected": "被拒绝的修改"}
CHOICE_LABELS = {
    "server": "保留服务器值", "client": "保留本机值", "custom": "填写新值", "delete": "维持删除",
    "restore": "恢复记录", "apply": "采纳该修改", "discard": "放弃",
}
# the fields that name a record in a list, per kind
CAPTION_FIELDS: dict[str, tuple[str, ...]] = {
    "person": ("name",), "household": ("hh_no",), "vehicle": ("plate_no",), "address": ("full_text",),
    "house": ("owner_name", "title_no"), "org_unit": ("name",), "grid_event": ("title",),
    "dispute": ("parties", "place"), "visit": ("visited_on", "visitor"), "visit_need": ("content",),
    "household_ledger": ("period",), "event_step": ("note", "actor"), "area": ("name",),
    "attachment": ("caption", "purpose"),
}
KIND_HINTS = {
    "field": "两台电脑都改了这个字段:后同步上来的“本机值”已生效,先到的“服务器值”保留在此,请决定以哪个为准。",
    "delete_edit": "一处删除了该记录,另一处修改了它:请决定维持删除,还是恢复记录(连同修改)。",
    "rejected": "服务器没有接受这条修改,它被暂存在这里:可以采纳(以您的权限写入),或者放弃。",
}
# search columns the laptop derives from another field; they travel (and clash) on their own
DERIVED = {
    ("person", "name_py"): ("name", "姓名拼音"), ("person", "name_initials"): ("name", "姓名首字母"),
    ("person", "cert_no_rev"): ("cert_no", "证件号码(检索用)"), ("person", "phone_rev"): ("phone", "联系电话(检索用)"),
}
EMPTY = "(空)"


# --- plain helpers (no widgets) ------------------------------------------------------------------

def normalize_url(text: str) -> str:
    url = text.strip().rstrip("/")
    if url and "://" not in url:
        url = "http://" + url
    return url


def local_time(text: str | None) -> str:
    """A UTC time stamp from sync or the server, shown in the laptop's time zone."""
    if not text:
        return ""
    raw = str(text).strip().replace("T", " ").removesuffix("Z")
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        return str(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


def field_label(table: str, field: str) -> str:
    derived = DERIVED.get((table, field))
    return derived[1] if derived else label(table, field)


def show_value(table: str, field: str, value: Any, grids: dict[str, str] | None = None) -> str:
    """A stored value as a user reads it: code labels, 是/否, grid names, local times."""
    if value is None or value == "":
        return EMPTY
    code = CODE_FIELDS.get(table, {}).get(field)
    if code:
        return code_table(code).label(str(value))
    if field in ("marks", "derived_marks"):
        return care_mark_labels(str(value)) or EMPTY
    if field == "grid_id" and grids:
        return grids.get(str(value), str(value))
    col = FIELDS.get(table, {}).get(field)
    if col is not None and col.kind == "bool":
        return "是" if value else "否"
    if field == "deleted_at" or (col is not None and col.kind == "datetime"):
        return local_time(str(value))
    return str(value)


def record_caption(conflict: dict[str, Any]) -> str:
    """A readable name for the record of a conflict: its name, plate, household number…"""
    table = conflict.get("table") or ""
    record = conflict.get("record") or {}
    change = conflict.get("change") or {}
    proposed = {f: pair[1] for f, pair in (change.get("fields") or {}).items()
                if isinstance(pair, list) and len(pair) == 2}
    parts = []
    for f in CAPTION_FIELDS.get(table, ("name",)):
        value = record.get(f) if record.get(f) not in (None, "") else proposed.get(f)
        if value not in (None, ""):
            parts.append(str(value)[:40])
    caption = " ".join(parts) or f"编号 {str(conflict.get('row_id') or '')[:8]}"
    if record.get("deleted_at"):
        caption += "(已删除)"
    return caption


def parse_value(table: str, field: str, text: str) -> Any:
    """A typed value for a field from what the reviewer typed; ValueError with a Chinese reason."""
    text = text.strip()
    name = field_label(table, field)
    if text in ("", EMPTY):
        return None
    code = CODE_FIELDS.get(table, {}).get(field)
    if code:
        found = code_table(code).code_for(text)
        if found is None:
            raise ValueError(f"“{name}”没有“{text}”这一项")
        return found
    col = FIELDS.get(table, {}).get(field)
    kind = col.kind if col is not None else "text"
    value: Any = text
    try:
        if kind == "int":
            value = int(text)
        elif kind == "float":
            value = float(text)
        elif kind == "bool":
            if text not in ("是", "否", "1", "0"):
                raise ValueError
            value = 1 if text in ("是", "1") else 0
        elif kind == "date":
            value = date.fromisoformat(text.replace("/", "-")).isoformat()
    except ValueError:
        raise ValueError(f"“{name}”的值格式不正确:{text}") from None
    problem = check_value(table, field, value) if col is not None else None
    if problem:
        raise ValueError(f"“{name}”的值格式不正确:{text}")
    return value


# --- the background job ------------------------------------------------------------------------

class SyncSignals(QObject):
    progress = Signal(str, int, int)  # stage, done, total
    finished = Signal(object)
    failed = Signal(str, str)  # Chinese message, code


class SyncJob(QRunnable):
    """Runs `fn(job)` on a pool thread; `fn` builds its own client (job.client(...)), reports
    progress through job.report and stops when job.cancel_event is set. Failures become a Chinese
    message: a SyncError or a refused bundle as it is, anything else as a bug report line."""

    def __init__(self, kind: str, fn: Callable[[SyncJob], Any]) -> None:
        super().__init__()
        self.kind = kind
        self.fn = fn
        self.signals = SyncSignals()
        self.cancel_event = threading.Event()
        self.on_done: Callable[[Any], None] | None = None
        self.on_error: Callable[[str, str], None] | None = None
        self.setAutoDelete(False)

    def cancel(self) -> None:
        self.cancel_event.set()

    def report(self, stage: str, done: int, total: int) -> None:
        self._emit("progress", stage, done, total)

    def client(self, store: Any, url: str, username: str, password: str) -> SyncClient:
        return SyncClient(store, url, username, password, progress=self.report, cancel=self.cancel_event)

    def _emit(self, name: str, *args: Any) -> None:
        # RuntimeError: the page is gone (window closed while the job ran): nobody to tell
        with contextlib.suppress(RuntimeError):
            getattr(self.signals, name).emit(*args)

    def run(self) -> None:
        try:
            result = self.fn(self)
        except SyncError as exc:
            self._emit("failed", str(exc), exc.code)
        except BundleRefused as exc:
            self._emit("failed", str(exc), "bundle")
        except ServiceError as exc:
            self._emit("failed", exc.message, "service")
        except OSError as exc:
            self._emit("failed", f"无法读写文件:{exc.strerror or exc}", "file")
        except Exception as exc:  # a bug: keep the window alive and say what happened
            traceback.print_exc()
            self._emit("failed", f"操作失败:{exc}", "bug")
        else:
            self._emit("finished", result)


# jobs still running, so none is freed while its thread runs (dropped when its answer arrives)
_live: set[SyncJob] = set()


def _set_role(widget: QLabel, role: str) -> None:
    widget.setProperty("role", role)
    widget.style().unpolish(widget)
    widget.style().polish(widget)


def _table(columns: list[str]) -> QTableWidget:
    t = QTableWidget(0, len(columns))
    t.setHorizontalHeaderLabels(columns)
    t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    t.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    t.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    t.verticalHeader().setVisible(False)
    t.horizontalHeader().setStretchLastSection(True)
    t.setWordWrap(True)
    return t


def _cell(text: str, *, tip: str | None = None, align_right: bool = False) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setToolTip(tip if tip is not None else text)
    if align_right:
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return item


class SyncPage(Page):
    title = "同步"
    # after a sync or an imported reply: other pages should show the new data
    synced = Signal()

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.job: SyncJob | None = None
        self.conflicts: list[dict[str, Any]] = []
        self.reviewer = ctx.actor.role in REVIEW_ROLES
        self._grids: dict[str, str] | None = None
        heading = QLabel("同步")
        heading.setProperty("role", "page-title")

        # --- connection
        self.url = QLineEdit(ctx.store.meta("sync_server_url") or "")
        self.url.setPlaceholderText("例如 http://192.168.1.10:8765")
        self.user = QLineEdit(ctx.actor.username)
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText("服务器上的密码(不会保存)")
        self.password.returnPressed.connect(self.start_sync)
        form = QFormLayout()
        form.addRow("服务器地址", self.url)
        form.addRow("用户名", self.user)
        form.addRow("密码", self.password)
        self.sync_button = QPushButton("同步")
        self.sync_button.setDefault(True)
        self.sync_button.clicked.connect(self.start_sync)
        self.cancel_button = QPushButton("取消")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        buttons = QHBoxLayout()
        buttons.addWidget(self.sync_button)
        buttons.addWidget(self.cancel_button)
        buttons.addStretch(1)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.stage = QLabel("")
        self.stage.setProperty("role", "hint")
        self.error = QLabel("")
        self.error.setProperty("role", "error")
        self.error.setWordWrap(True)
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error.setVisible(False)
        conn_box = QGroupBox("连接服务器")
        conn_lay = QVBoxLayout(conn_box)
        conn_lay.addLayout(form)
        conn_lay.addLayout(buttons)
        conn_lay.addWidget(self.progress)
        conn_lay.addWidget(self.stage)
        conn_lay.addWidget(self.error)

        # --- this laptop
        self.last = QLabel("")
        self.last.setWordWrap(True)
        self.waiting = QLabel("")
        self.waiting.setWordWrap(True)
        self.waiting.setStyleSheet("font-weight: bold;")
        self.waiting_kinds = QLabel("")
        self.waiting_kinds.setProperty("role", "hint")
        self.waiting_kinds.setWordWrap(True)
        self.result = QLabel("")
        self.result.setWordWrap(True)
        self.result_table = _table(["记录类别", "上传", "下载"])
        self.result_table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.result_table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        # as tall as its rows (whatever the theme's row height), scrolling beyond about seven
        self.result_table.setSizeAdjustPolicy(QAbstractScrollArea.SizeAdjustPolicy.AdjustToContents)
        self.result_table.setMaximumHeight(250)
        state_box = QGroupBox("本机状态")
        state_lay = QVBoxLayout(state_box)
        state_lay.addWidget(self.waiting)
        state_lay.addWidget(self.waiting_kinds)
        state_lay.addWidget(self.last)
        state_lay.addWidget(self.result)
        state_lay.addWidget(self.result_table)

        # --- bundles
        self.export_button = QPushButton("导出同步包…")
        self.export_button.clicked.connect(lambda: self.export_bundle())
        self.import_button = QPushButton("导入回执包…")
        self.import_button.clicked.connect(lambda: self.import_reply())
        hint = QLabel("没有网络时:把待上传的修改导出为同步包,用 U 盘带到社区服务器导入,再把服务器给出的回执包带回本机导入。"
                      "需先联网同步过一次。")
        hint.setProperty("role", "hint")
        hint.setWordWrap(True)
        self.bundle_state = QLabel("")
        self.bundle_state.setWordWrap(True)
        self.bundle_state.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        bundle_buttons = QHBoxLayout()
        bundle_buttons.addWidget(self.export_button)
        bundle_buttons.addWidget(self.import_button)
        bundle_buttons.addStretch(1)
        bundle_box = QGroupBox("同步包(无网络时)")
        bundle_lay = QVBoxLayout(bundle_box)
        bundle_lay.addWidget(hint)
        bundle_lay.addLayout(bundle_buttons)
        bundle_lay.addWidget(self.bundle_state)

        left = QWidget()
        left_lay = QVBoxLayout(left)
        left_lay.setContentsMargins(0, 0, 0, 0)
        left_lay.addWidget(conn_box)
        left_lay.addWidget(state_box)
        left_lay.addWidget(bundle_box)
        left_lay.addStretch(1)

        # the left column scrolls rather than forcing a taller window on a small laptop screen
        left_scroll = QScrollArea()
        left_scroll.setWidgetResizable(True)
        left_scroll.setFrameShape(QFrame.Shape.NoFrame)
        left_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        left_scroll.setWidget(left)
        lay = QVBoxLayout(self)
        lay.addWidget(heading)
        self.review: QGroupBox | None = None
        if self.reviewer:
            self.review = self._build_review()
            split = QSplitter(Qt.Orientation.Horizontal)
            split.setChildrenCollapsible(False)
            split.addWidget(left_scroll)
            split.addWidget(self.review)
            split.setStretchFactor(0, 2)
            split.setStretchFactor(1, 3)
            split.setSizes([460, 700])
            lay.addWidget(split, 1)
        else:
            left_scroll.setMaximumWidth(660)
            row = QHBoxLayout()
            row.addWidget(left_scroll, 1)
            row.addStretch(0)
            lay.addLayout(row, 1)
        self.refresh_status()

    # --- conflict review widgets -----------------------------------------------------------------
    def _build_review(self) -> QGroupBox:
        box = QGroupBox("冲突审核")
        self.refresh_button = QPushButton("刷新")
        self.refresh_button.clicked.connect(self.refresh_conflicts)
        self.review_count = QLabel("点“刷新”从服务器取回待处理的冲突(使用上方的服务器地址和密码)")
        self.review_count.setProperty("role", "hint")
        self.review_count.setWordWrap(True)
        bar = QHBoxLayout()
        bar.addWidget(self.refresh_button)
        bar.addWidget(self.review_count, 1)
        self.conflict_table = _table(["类型", "记录类别", "记录", "字段", "时间"])
        header = self.conflict_table.horizontalHeader()
        header.setStretchLastSection(False)
        for i in range(5):
            header.setSectionResizeMode(i, QHeaderView.ResizeMode.Stretch if i == 2 else
                                        QHeaderView.ResizeMode.ResizeToContents)
        self.conflict_table.currentCellChanged.connect(lambda row, *_: self._show_conflict(row))

        self.detail_title = QLabel("")
        self.detail_title.setStyleSheet("font-weight: bold;")
        self.detail_title.setWordWrap(True)
        self.detail_reason = QLabel("")
        self.detail_reason.setProperty("role", "hint")
        self.detail_reason.setWordWrap(True)
        self.server_who = QLabel("")
        self.server_who.setWordWrap(True)
        self.client_who = QLabel("")
        self.client_who.setWordWrap(True)
        self.values_table = _table(["字段", "原值", "服务器值", "本机值"])
        self.values_table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        for i in range(4):
            self.values_table.horizontalHeader().setSectionResizeMode(i, QHeaderView.ResizeMode.Stretch)
        self.values_table.setMinimumHeight(90)
        self.custom_form = QFormLayout()
        self.custom_box = QWidget()
        self.custom_box.setLayout(self.custom_form)
        self.custom_edits: dict[str, QLineEdit] = {}
        self.choice_buttons: dict[str, QPushButton] = {}
        choices = QHBoxLayout()
        for choice in ("server", "client", "custom", "delete", "restore", "apply", "discard"):
            b = QPushButton(CHOICE_LABELS[choice])
            b.clicked.connect(lambda _=False, c=choice: self.resolve(c))
            b.setVisible(False)
            self.choice_buttons[choice] = b
            choices.addWidget(b)
        choices.addStretch(1)
        self.review_state = QLabel("")
        self.review_state.setProperty("role", "hint")
        self.review_state.setWordWrap(True)
        self.review_state.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.detail = QWidget()
        d = QVBoxLayout(self.detail)
        d.setContentsMargins(0, 0, 0, 0)
        for w in (self.detail_title, self.detail_reason, self.server_who, self.client_who):
            d.addWidget(w)
        d.addWidget(self.values_table, 1)
        d.addWidget(self.custom_box)
        d.addLayout(choices)
        self.detail.setVisible(False)

        split = QSplitter(Qt.Orientation.Vertical)
        split.setChildrenCollapsible(False)
        split.addWidget(self.conflict_table)
        split.addWidget(self.detail)
        split.setSizes([260, 360])
        lay = QVBoxLayout(box)
        lay.addLayout(bar)
        lay.addWidget(split, 1)
        lay.addWidget(self.review_state)
        return box

    # --- what this laptop holds ------------------------------------------------------------------
    def activate(self, **params: Any) -> None:
        if self.job is None:
            self.refresh_status()

    def data_changed(self) -> None:
        if self.job is None and self.isVisible():  # otherwise activate() refreshes when shown
            self.refresh_status()

    def refresh_status(self) -> None:
        store = self.ctx.store
        total = replica.pending_count(store)
        kinds = replica.pending_by_kind(store)
        self.waiting.setText(f"待上传的修改:{total} 条" if total else "待上传的修改:无(本机的修改都已送到服务器)")
        self.waiting_kinds.setText(kinds_text(kinds))
        self.waiting_kinds.setVisible(bool(kinds))
        when = store.meta("sync_last_at")
        self.last.setText(f"上次同步:{local_time(when)}" if when else "上次同步:本机还没有与服务器同步过")
        raw = store.meta("sync_last_result")
        try:
            last = json.loads(raw) if raw else None
        except ValueError:
            last = None
        self._show_result(last if isinstance(last, dict) else None)

    def _show_result(self, result: dict[str, Any] | None) -> None:
        if result is None:
            self.result.setText("")
            self.result.setVisible(False)
            self.result_table.setVisible(False)
            return
        text = "\n".join(result_lines(result, per_kind=False))
        if result.get("seconds") is not None:
            text += f"\n用时 {result['seconds']} 秒"
        self.result.setText(text)
        self.result.setVisible(True)
        pushed, pulled = result.get("pushed") or {}, result.get("pulled") or {}
        tables = sorted(set(pushed) | set(pulled), key=_kind_key)
        self.result_table.setRowCount(len(tables))
        for r, t in enumerate(tables):
            self.result_table.setItem(r, 0, _cell(kind_label(t)))
            self.result_table.setItem(r, 1, _cell(str(pushed.get(t, 0)), align_right=True))
            self.result_table.setItem(r, 2, _cell(str(pulled.get(t, 0)), align_right=True))
        self.result_table.setVisible(bool(tables))

    # --- running jobs ------------------------------------------------------------------------------
    def _start(self, kind: str, fn: Callable[[SyncJob], Any], on_done: Callable[[Any], None],
               on_error: Callable[[str, str], None]) -> SyncJob | None:
        if self.job is not None:
            return None
        job = SyncJob(kind, fn)
        job.on_done, job.on_error = on_done, on_error
        job.signals.progress.connect(self._progress)
        job.signals.finished.connect(self._job_finished)
        job.signals.failed.connect(self._job_failed)
        self.job = job
        _live.add(job)
        self._busy(kind)
        self.ctx.pool.start(job)
        return job

    def _end(self) -> SyncJob | None:
        job, self.job = self.job, None
        if job is not None:
            _live.discard(job)
            if job.kind in PROGRESS_KINDS:
                self.stage.setText("")
        self._busy(None)
        return job

    def _job_finished(self, result: Any) -> None:
        job = self._end()
        if job is not None and job.on_done is not None:
            job.on_done(result)

    def _job_failed(self, message: str, code: str) -> None:
        job = self._end()
        if job is not None and job.on_error is not None:
            job.on_error(message, code)

    def _busy(self, kind: str | None) -> None:
        idle = kind is None
        for b in (self.sync_button, self.export_button, self.import_button):
            b.setEnabled(idle)
        self.cancel_button.setEnabled(kind == "sync")
        self.progress.setVisible(kind in PROGRESS_KINDS)
        if kind is not None:
            self.progress.setRange(0, 0)
        if self.review is not None:
            self.refresh_button.setEnabled(idle)
            for b in self.choice_buttons.values():
                b.setEnabled(idle)

    def _progress(self, stage: str, done: int, total: int) -> None:
        if total > 0:
            self.progress.setRange(0, total)
            self.progress.setValue(min(done, total))
            self.stage.setText(f"{stage}:{done} / {total}")
        else:
            self.progress.setRange(0, 0)
            self.stage.setText(f"{stage}:{done} 条" if done else f"{stage}…")

    def cancel(self) -> None:
        if self.job is not None and self.job.kind == "sync":
            self.job.cancel()
            self.cancel_button.setEnabled(False)
            self.stage.setText("正在取消…(已完成的部分会保存)")

    def _credentials(self) -> tuple[str, str, str] | None:
        url = normalize_url(self.url.text())
        user = self.user.text().strip()
        password = self.password.text()
        missing = ("请填写服务器地址,例如 http://192.168.1.10:8765" if not url else "请填写用户名" if not user
                   else "请输入您在服务器上的密码" if not password else None)
        if missing:
            self._fail(missing)
            return None
        return url, user, password

    def _fail(self, message: str) -> None:
        self.error.setText(message)
        self.error.setVisible(True)

    # --- sync ------------------------------------------------------------------------------------
    def start_sync(self) -> SyncJob | None:
        if self.job is not None:
            return None
        creds = self._credentials()
        if creds is None:
            return None
        url, user, password = creds
        self.url.setText(url)
        self.error.setVisible(False)
        store = self.ctx.store

        def run(job: SyncJob) -> dict[str, Any]:
            with job.client(store, url, user, password) as client:
                result = client.run().as_dict()
            store.set_meta("sync_server_url", url)  # remembered once it worked
            return result

        job = self._start("sync", run, self._synced, self._sync_failed)
        if job is not None:
            self.stage.setText("正在连接服务器…")
        return job

    def _synced(self, result: dict[str, Any]) -> None:
        self.refresh_status()
        self._show_result(result)  # this very run, even if the stored copy is older
        status = result.get("push_status") or {}
        notes = []
        if status.get("conflict"):
            notes.append(f"{status['conflict']} 条修改与别处的修改冲突:已按后到者生效,并记录待网格长审核。")
        if status.get("rejected"):
            notes.append(f"{status['rejected']} 条修改被服务器拒绝(例如不在您的网格),已暂存待审核。")
        self.stage.setText("同步完成。" + "".join(notes))
        self.status.emit("同步完成")
        self.synced.emit()
        if self.review is not None:
            self.refresh_conflicts()

    def _sync_failed(self, message: str, code: str) -> None:
        self.refresh_status()
        self._fail(message if code == "cancelled" else f"同步未完成:{message}")
        self.status.emit("同步未完成")
        if code == "bad_credentials":
            self.password.setFocus()
            self.password.selectAll()

    # --- bundles -----------------------------------------------------------------------------------
    def _bundle_dir(self) -> str:
        return self.ctx.settings.value("sync/bundle_dir", str(Path.home()), type=str)

    def export_bundle(self, path: Path | None = None) -> SyncJob | None:
        if self.job is not None:
            return None
        if path is None:
            name = f"{self.user.text().strip() or self.ctx.actor.username}-{date.today():%m%d}.glb"
            chosen, _ = QFileDialog.getSaveFileName(self, "导出同步包", str(Path(self._bundle_dir()) / name),
                                                    "同步包 (*.glb)")
            if not chosen:
                return None
            path = Path(chosen)
        self.ctx.settings.setValue("sync/bundle_dir", str(path.parent))
        store = self.ctx.store
        out = path

        def run(job: SyncJob) -> dict[str, Any]:
            job.report("正在写出同步包", 0, 0)
            return bundle_sync.export_bundle(store, out)

        def done(info: dict[str, Any]) -> None:
            self.refresh_status()
            _set_role(self.bundle_state, "")
            self.bundle_state.setText(
                f"已写出同步包:{out}\n修改 {info['changes']} 条,照片 {info['blobs']} 张。"
                "请带到社区服务器导入,再把回执包带回本机点“导入回执包…”。")
            self.status.emit("同步包已导出")

        return self._start("export", run, done, lambda m, c: self._bundle_failed(f"未导出同步包:{m}"))

    def import_reply(self, path: Path | None = None) -> SyncJob | None:
        if self.job is not None:
            return None
        if path is None:
            chosen, _ = QFileDialog.getOpenFileName(self, "导入回执包", self._bundle_dir(), "同步包 (*.glb);;所有文件 (*)")
            if not chosen:
                return None
            path = Path(chosen)
        self.ctx.settings.setValue("sync/bundle_dir", str(path.parent))
        store = self.ctx.store
        src = path

        def run(job: SyncJob) -> dict[str, Any]:
            job.report("正在导入回执包", 0, 0)
            return bundle_sync.import_reply(store, src)

        def done(res: dict[str, Any]) -> None:
            self.refresh_status()
            _set_role(self.bundle_state, "")
            self.bundle_state.setText("\n".join([f"已导入回执包:{src.name}", *reply_lines(res)]))
            self.status.emit("回执包已导入")
            self.synced.emit()

        return self._start("import", run, done, lambda m, c: self._bundle_failed(f"未导入回执包:{m}"))

    def _bundle_failed(self, message: str) -> None:
        self.refresh_status()
        _set_role(self.bundle_state, "error")
        self.bundle_state.setText(message)

    # --- conflict review ---------------------------------------------------------------------------
    def _review_say(self, text: str, role: str = "hint") -> None:
        _set_role(self.review_state, role)
        self.review_state.setText(text)

    def _review_credentials(self) -> tuple[str, str, str] | None:
        url, user, password = normalize_url(self.url.text()), self.user.text().strip(), self.password.text()
        if not (url and user and password):
            self._review_say("请先在左侧填写服务器地址、用户名和密码", "error")
            return None
        return url, user, password

    def refresh_conflicts(self) -> SyncJob | None:
        if self.review is None or self.job is not None:
            return None
        creds = self._review_credentials()
        if creds is None:
            return None
        url, user, password = creds
        store = self.ctx.store

        def run(job: SyncJob) -> list[dict[str, Any]]:
            with job.client(store, url, user, password) as client:
                return client.conflicts("open")

        job = self._start("conflicts", run, self._show_conflicts, self._review_failed)
        if job is not None:
            self._review_say("")
            self.review_count.setText("正在从服务器取回冲突…")
        return job

    def _review_failed(self, message: str, code: str) -> None:
        self._review_say(message, "error")
        if not self.conflicts:
            self.review_count.setText("")

    def _show_conflicts(self, conflicts: list[dict[str, Any]]) -> None:
        keep = self.current_conflict()
        self.conflicts = list(conflicts)
        n = len(self.conflicts)
        self.review_count.setText(f"待处理的冲突:{n} 条" if n else "没有待处理的冲突")
        t = self.conflict_table
        t.blockSignals(True)
        t.setRowCount(n)
        select = -1
        for r, c in enumerate(self.conflicts):
            table = c.get("table") or ""
            fields = "、".join(field_label(table, f) for f in c.get("fields") or [])
            when = local_time((c.get("client") or {}).get("at"))
            cells = [CONFLICT_KINDS.get(c.get("kind"), c.get("kind") or ""), kind_label(table), record_caption(c),
                     fields, when]
            for col, text in enumerate(cells):
                t.setItem(r, col, _cell(text))
            if keep is not None and c.get("id") == keep.get("id"):
                select = r
        t.blockSignals(False)
        if n:
            t.selectRow(select if select >= 0 else 0)
            self._show_conflict(t.currentRow())
        else:
            self._show_conflict(-1)

    def current_conflict(self) -> dict[str, Any] | None:
        if self.review is None:
            return None
        row = self.conflict_table.currentRow()
        return self.conflicts[row] if 0 <= row < len(self.conflicts) else None

    def _grid_names(self) -> dict[str, str]:
        if self._grids is None:
            self._grids = dict(grid_choices(self.ctx))
        return self._grids

    def _who(self, side: dict[str, Any] | None) -> str:
        side = side or {}
        by = side.get("by") or "(未知)"
        when = local_time(side.get("at"))
        device = f"(设备 {str(side['device'])[:8]})" if side.get("device") else ""
        return f"{by}" + (f" 于 {when}" if when else "") + device

    def _show_conflict(self, row: int) -> None:
        c = self.conflicts[row] if 0 <= row < len(self.conflicts) else None
        self.detail.setVisible(c is not None)
        for b in self.choice_buttons.values():
            b.setVisible(False)
        while self.custom_form.rowCount():
            self.custom_form.removeRow(0)
        self.custom_edits = {}
        if c is None:
            return
        table, kind = c.get("table") or "", c.get("kind")
        fields = list(c.get("fields") or [])
        grids = self._grid_names()
        base = c.get("base") or {}
        server, client = c.get("server") or {}, c.get("client") or {}
        sv, cv = server.get("value") or {}, client.get("value") or {}
        record = c.get("record") or {}
        self.detail_title.setText(f"{kind_label(table)} · {record_caption(c)} · {CONFLICT_KINDS.get(kind, kind)}")
        reason = c.get("reason")
        sources = [DERIVED[(table, f)][0] for f in fields if (table, f) in DERIVED]
        derived = (f"\n该字段由“{label(table, sources[0])}”自动生成:请与“{label(table, sources[0])}”的冲突作同样的选择。"
                   if sources else "")
        self.detail_reason.setText(KIND_HINTS.get(kind, "") + (f"\n服务器说明:{reason}" if reason else "") + derived)
        if kind == "rejected":
            change = c.get("change") or {}
            pairs = change.get("fields") or {}
            self.server_who.setText("服务器现值:服务器上该记录现在的内容" if record else "服务器上没有该记录")
            self.client_who.setText(f"被拒绝的修改:{self._who(client)}")
            headers = ["字段", "修改前", "修改为", "服务器现值"]
            rows = [[field_label(table, f),
                     show_value(table, f, (pairs.get(f) or [None, None])[0], grids),
                     show_value(table, f, (pairs.get(f) or [None, None])[1], grids),
                     show_value(table, f, record.get(f), grids) if record else "—"] for f in fields]
            shown = ("apply", "discard")
        else:
            winner = c.get("winner")
            self.server_who.setText(f"服务器值:{self._who(server)}" + ("(当前生效)" if winner == "server" else ""))
            self.client_who.setText(f"本机值:{self._who(client)}" + ("(当前生效)" if winner == "client" else ""))
            headers = ["字段", "原值", "服务器值", "本机值"]

            def side(values: dict[str, Any], f: str) -> str:
                if f in values:
                    return show_value(table, f, values[f], grids)
                if "deleted_at" in values and values.get("deleted_at"):
                    return "(删除该记录)"
                return "—"

            rows = [[field_label(table, f), show_value(table, f, base.get(f), grids) if c.get("base") is not None else "—",
                     side(sv, f), side(cv, f)] for f in fields]
            if kind == "field":
                shown = ("server", "client", "custom")
                for f in fields:
                    edit = QLineEdit()
                    winning = cv if winner == "client" else sv
                    value = winning.get(f)
                    edit.setText("" if value is None else show_value(table, f, value, None))
                    edit.setPlaceholderText("留空表示清空该字段")
                    self.custom_edits[f] = edit
                    self.custom_form.addRow(f"新的{field_label(table, f)}", edit)
            else:
                shown = ("delete", "restore")
        self.values_table.setHorizontalHeaderLabels(headers)
        self.values_table.setRowCount(len(rows))
        for r, cells in enumerate(rows):
            for col, text in enumerate(cells):
                self.values_table.setItem(r, col, _cell(text))
        self.custom_box.setVisible(bool(self.custom_edits))
        for choice in shown:
            self.choice_buttons[choice].setVisible(True)

    def resolve(self, choice: str) -> SyncJob | None:
        c = self.current_conflict()
        if c is None or self.job is not None:
            return None
        values: dict[str, Any] | None = None
        if choice == "custom":
            table = c.get("table") or ""
            try:
                values = {f: parse_value(table, f, e.text()) for f, e in self.custom_edits.items()}
            except ValueError as exc:
                self._review_say(str(exc), "error")
                return None
        creds = self._review_credentials()
        if creds is None:
            return None
        url, user, password = creds
        store, conflict_id = self.ctx.store, int(c["id"])

        def run(job: SyncJob) -> list[dict[str, Any]]:
            with job.client(store, url, user, password) as client:
                client.resolve(conflict_id, choice, values)
                return client.conflicts("open")

        def done(conflicts: list[dict[str, Any]]) -> None:
            self._show_conflicts(conflicts)
            self._review_say(f"已处理:{CHOICE_LABELS[choice]}({kind_label(c.get('table') or '')} {record_caption(c)})。"
                             "请点“同步”,让本机和其他电脑都得到处理结果。")
            self.status.emit("冲突已处理,请同步")

        job = self._start("resolve", run, done, self._review_failed)
        if job is not None:
            self._review_say("正在提交处理结果…")
        return job
