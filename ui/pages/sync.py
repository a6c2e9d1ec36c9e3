"""同步: sync this laptop with the community server in one click (in the background, with progress
and cancel), carry changes in bundle files when there is no network, and, for supervisors and
community admins, review the conflicts the server recorded (ui/widgets/conflicts.py).

Every network or bundle task runs as one ui.workers Job on the thread pool; the job builds its own
SyncClient (which opens its own connections from the store's engine) and talks to the widgets only
through signals. One task at a time: the buttons that would start another are disabled meanwhile."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
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
    QVBoxLayout,
    QWidget,
)

from desktop.policy import Ability, allows
from desktop.services.lists import grid_choices
from desktop.sync import bundle_sync, replica
from desktop.sync.client import SyncClient
from desktop.sync.conflict_view import CHOICE_LABELS, local_time, record_caption
from desktop.sync.summary import kind_key as _kind_key
from desktop.sync.summary import kind_label, kinds_text, reply_lines, result_lines
from ui.context import AppContext
from ui.pages.base import Page
from ui.widgets.conflicts import ConflictReview
from ui.widgets.tables import cell, read_only_table, set_role
from ui.workers import Job, JobFailure, run_job

PROGRESS_KINDS = ("sync", "export", "import")  # jobs that show the progress bar (the others are quick)


def normalize_url(text: str) -> str:
    url = text.strip().rstrip("/")
    if url and "://" not in url:
        url = "http://" + url
    return url


def sync_client(job: Job, store: Any, url: str, username: str, password: str) -> SyncClient:
    """A client that reports its progress through the job and stops when the job is cancelled."""
    return SyncClient(store, url, username, password, cancel=job.cancel_event,
                      progress=lambda stage, done, total: job.report(done, total, stage))


class SyncPage(Page):
    title = "同步"
    # after a sync or an imported reply: other pages should show the new data
    synced = Signal()
    # each progress report of the running task, as shown: done, total, stage
    progressed = Signal(int, int, str)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.job: Job | None = None
        self.job_kind: str | None = None  # which task the running job is
        self.reviewer = allows(ctx.actor, Ability.REVIEW_CONFLICTS)
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
        self.result_table = read_only_table(["记录类别", "上传", "下载"])
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
        self.review: ConflictReview | None = None
        if self.reviewer:
            self.review = ConflictReview()
            self.review.refresh_requested.connect(self.refresh_conflicts)
            self.review.choice_made.connect(self.resolve)
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
            self.result_table.setItem(r, 0, cell(kind_label(t)))
            self.result_table.setItem(r, 1, cell(str(pushed.get(t, 0)), align_right=True))
            self.result_table.setItem(r, 2, cell(str(pulled.get(t, 0)), align_right=True))
        self.result_table.setVisible(bool(tables))


    # --- running jobs ------------------------------------------------------------------------------
    def _start(self, kind: str, fn: Callable[[Job], Any], on_done: Callable[[Any], None],
               on_error: Callable[[JobFailure], None]) -> Job | None:
        if self.job is not None:
            return None

        def done(result: Any) -> None:
            self._end()
            on_done(result)

        def failed(failure: JobFailure) -> None:
            self._end()
            on_error(failure)

        self.job_kind = kind
        self._busy(kind)
        self.job = run_job(lambda job: fn(job), with_job=True, on_done=done, on_error=failed,
                           on_progress=self._progress, pool=self.ctx.pool)
        return self.job

    def _end(self) -> None:
        kind, self.job, self.job_kind = self.job_kind, None, None
        if kind in PROGRESS_KINDS:
            self.stage.setText("")
        self._busy(None)

    def _busy(self, kind: str | None) -> None:
        idle = kind is None
        for b in (self.sync_button, self.export_button, self.import_button):
            b.setEnabled(idle)
        self.cancel_button.setEnabled(kind == "sync")
        self.progress.setVisible(kind in PROGRESS_KINDS)
        if kind is not None:
            self.progress.setRange(0, 0)
        if self.review is not None:
            self.review.set_busy(not idle)

    def _progress(self, done: int, total: int, stage: str) -> None:
        if total > 0:
            self.progress.setRange(0, total)
            self.progress.setValue(min(done, total))
            self.stage.setText(f"{stage}:{done} / {total}")
        else:
            self.progress.setRange(0, 0)
            self.stage.setText(f"{stage}:{done} 条" if done else f"{stage}…")
        self.progressed.emit(done, total, stage)

    def cancel(self) -> None:
        if self.job is not None and self.job_kind == "sync":
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
    def start_sync(self) -> Job | None:
        if self.job is not None:
            return None
        creds = self._credentials()
        if creds is None:
            return None
        url, user, password = creds
        self.url.setText(url)
        self.error.setVisible(False)
        store = self.ctx.store

        def run(job: Job) -> dict[str, Any]:
            with sync_client(job, store, url, user, password) as client:
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

    def _sync_failed(self, failure: JobFailure) -> None:
        self.refresh_status()
        self._fail(failure.message if failure.code == "cancelled" else f"同步未完成:{failure.message}")
        self.status.emit("同步未完成")
        if failure.code == "bad_credentials":
            self.password.setFocus()
            self.password.selectAll()

    # --- bundles -----------------------------------------------------------------------------------
    def _bundle_dir(self) -> str:
        return self.ctx.settings.value("sync/bundle_dir", str(Path.home()), type=str)

    def export_bundle(self, path: Path | None = None) -> Job | None:
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

        def run(job: Job) -> dict[str, Any]:
            job.report(0, 0, "正在写出同步包")
            return bundle_sync.export_bundle(store, out)

        def done(info: dict[str, Any]) -> None:
            self.refresh_status()
            set_role(self.bundle_state, "")
            self.bundle_state.setText(
                f"已写出同步包:{out}\n修改 {info['changes']} 条,照片 {info['blobs']} 张。"
                "请带到社区服务器导入,再把回执包带回本机点“导入回执包…”。")
            self.status.emit("同步包已导出")

        return self._start("export", run, done, lambda f: self._bundle_failed(f"未导出同步包:{f.message}"))

    def import_reply(self, path: Path | None = None) -> Job | None:
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

        def run(job: Job) -> dict[str, Any]:
            job.report(0, 0, "正在导入回执包")
            return bundle_sync.import_reply(store, src)

        def done(res: dict[str, Any]) -> None:
            self.refresh_status()
            set_role(self.bundle_state, "")
            self.bundle_state.setText("\n".join([f"已导入回执包:{src.name}", *reply_lines(res)]))
            self.status.emit("回执包已导入")
            self.synced.emit()

        return self._start("import", run, done, lambda f: self._bundle_failed(f"未导入回执包:{f.message}"))

    def _bundle_failed(self, message: str) -> None:
        self.refresh_status()
        set_role(self.bundle_state, "error")
        self.bundle_state.setText(message)

    # --- conflict review (fetch and resolve; the widget shows) -------------------------------------
    def _review_credentials(self) -> tuple[str, str, str] | None:
        url, user, password = normalize_url(self.url.text()), self.user.text().strip(), self.password.text()
        if not (url and user and password):
            if self.review is not None:
                self.review.say("请先在左侧填写服务器地址、用户名和密码", "error")
            return None
        return url, user, password

    def refresh_conflicts(self) -> Job | None:
        if self.review is None or self.job is not None:
            return None
        creds = self._review_credentials()
        if creds is None:
            return None
        url, user, password = creds
        store = self.ctx.store

        def run(job: Job) -> list[dict[str, Any]]:
            with sync_client(job, store, url, user, password) as client:
                return client.conflicts("open")

        review = self.review
        job = self._start("conflicts", run, self._show_conflicts, lambda f: review.failed(f.message))
        if job is not None:
            review.fetching()
        return job

    def _show_conflicts(self, conflicts: list[dict[str, Any]]) -> None:
        if self.review is not None:
            self.review.grids = {g["id"]: g["label"] for g in grid_choices(self.ctx.store, self.ctx.actor)}
            self.review.show_conflicts(conflicts)

    def current_conflict(self) -> dict[str, Any] | None:
        return self.review.current_conflict() if self.review is not None else None

    def resolve(self, choice: str) -> Job | None:
        review = self.review
        c = self.current_conflict()
        if review is None or c is None or self.job is not None:
            return None
        values: dict[str, Any] | None = None
        if choice == "custom":
            try:
                values = review.custom_values()
            except ValueError as exc:
                review.say(str(exc), "error")
                return None
        creds = self._review_credentials()
        if creds is None:
            return None
        url, user, password = creds
        store, conflict_id = self.ctx.store, int(c["id"])

        def run(job: Job) -> list[dict[str, Any]]:
            with sync_client(job, store, url, user, password) as client:
                client.resolve(conflict_id, choice, values)
                return client.conflicts("open")

        def done(conflicts: list[dict[str, Any]]) -> None:
            self._show_conflicts(conflicts)
            review.say(f"已处理:{CHOICE_LABELS[choice]}({kind_label(c.get('table') or '')} {record_caption(c)})。"
                       "请点“同步”,让本机和其他电脑都得到处理结果。")
            self.status.emit("冲突已处理,请同步")

        job = self._start("resolve", run, done, lambda f: review.failed(f.message))
        if job is not None:
            review.say("正在提交处理结果…")
        return job
