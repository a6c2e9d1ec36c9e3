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
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from desktop.policy import Ability, allows
from desktop.services.lists import grid_choices
from desktop.sync import bundle_sync, replica, trust
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
    """The address as typed, with its scheme: a bare address is https, except this computer's own."""
    url = text.strip().rstrip("/")
    if url and "://" not in url:
        url = ("http://" if trust.is_loopback("http://" + url) else "https://") + url
    return url


def sync_client(job: Job, store: Any, url: str, username: str, password: str,
                fingerprint: str | None = None) -> SyncClient:
    """A client that reports its progress through the job and stops when the job is cancelled.
    Plain http to another computer only for the address the user accepted (insecure_accepted);
    `fingerprint`: the server certificate's, just confirmed by the user (pinned once it answers)."""
    return SyncClient(store, url, username, password, cancel=job.cancel_event,
                      progress=lambda stage, done, total: job.report(done, total, stage),
                      fingerprint=fingerprint, insecure=store.meta(trust.INSECURE_KEY) == url)


def fingerprint_lines(fp: str) -> str:
    """The 32 bytes in four lines of eight, easier to compare group by group."""
    groups = trust.format_fingerprint(fp).split(":")
    return "\n".join(":".join(groups[i : i + 8]) for i in range(0, len(groups), 8))


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
        self.url.setPlaceholderText("例如 https://192.168.1.10:8765")
        self.url.textChanged.connect(lambda _text: self.show_protection())
        # whether the connection is encrypted, and the pinned certificate (or the warning)
        self.protection = QLabel("")
        self.protection.setWordWrap(True)
        self.protection.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.trust_dialog: QMessageBox | None = None
        self.user = QLineEdit(ctx.actor.username)
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText("服务器上的密码(不会保存)")
        self.password.returnPressed.connect(self.start_sync)
        form = QFormLayout()
        form.addRow("服务器地址", self.url)
        form.addRow("", self.protection)
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
        # after a refused certificate: fetch the new fingerprint and compare it before re-pinning
        self.repin_button = QPushButton("重新核对指纹…")
        self.repin_button.setVisible(False)
        self.repin_button.clicked.connect(lambda: self.check_fingerprint(repin=True))
        buttons.addWidget(self.repin_button)
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
        # never synced: what to do, in one sentence, with the button that does it
        self.first_hint = QLabel("本机还没有同步过:填写社区管理员给您的服务器地址、用户名和密码,再点 开始同步;"
                                 "没有网络时可用下方的同步包。")
        self.first_hint.setWordWrap(True)
        self.first_button = QPushButton("开始同步")
        self.first_button.clicked.connect(self.start_first_sync)
        first_row = QHBoxLayout()
        first_row.addWidget(self.first_hint, 1)
        first_row.addWidget(self.first_button)
        self.first_box = QWidget()
        self.first_box.setLayout(first_row)
        left_lay.insertWidget(0, self.first_box)  # in the scrolling column: the review keeps its height
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

    def show_protection(self) -> None:
        url = normalize_url(self.url.text())
        if not url:
            self.protection.setText("")
            return
        if trust.is_protected(url):
            pinned = self.ctx.store.meta(trust.PIN_KEY)
            text = (f"加密连接(HTTPS)· 已核对的证书指纹 {trust.short_fingerprint(pinned)}" if pinned
                    else "加密连接(HTTPS)· 受信任机构签发的证书自动验证;否则同步时会显示服务器证书指纹,"
                         "请与社区办公室给出的逐段核对")
            role = "hint"
        elif trust.is_loopback(url):
            text, role = "未加密(本机地址,数据不经过网络)", "hint"
        else:
            text, role = ("未加密:登录密码和居民的个人信息会以明文经过网络,同一网络中的人可以看到。"
                          "请向社区办公室要 https:// 开头的地址。"), "error"
        self.protection.setText(text)
        set_role(self.protection, role)

    def refresh_status(self) -> None:
        self.show_protection()
        store = self.ctx.store
        total = replica.pending_count(store)
        kinds = replica.pending_by_kind(store)
        self.waiting.setText(f"待上传的修改:{total} 条" if total else "待上传的修改:无(本机的修改都已送到服务器)")
        self.waiting_kinds.setText(kinds_text(kinds))
        self.waiting_kinds.setVisible(bool(kinds))
        when = store.meta("sync_last_at")
        self.first_box.setVisible(not when)
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
        if kind in PROGRESS_KINDS or kind == "fingerprint":
            self.stage.setText("")
        self._busy(None)

    def _busy(self, kind: str | None) -> None:
        idle = kind is None
        for b in (self.sync_button, self.export_button, self.import_button):
            b.setEnabled(idle)
        self.cancel_button.setEnabled(kind == "sync")
        self.repin_button.setEnabled(idle)
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
        missing = ("请填写服务器地址,例如 https://192.168.1.10:8765" if not url else "请填写用户名" if not user
                   else "请输入您在服务器上的密码" if not password else None)
        if missing:
            self._fail(missing)
            return None
        return url, user, password

    def _fail(self, message: str) -> None:
        self.error.setText(message)
        self.error.setVisible(True)

    # --- sync ------------------------------------------------------------------------------------
    def start_first_sync(self) -> Job | None:
        """The never-synced hint's button: the first empty field gets the cursor, else it syncs."""
        for field, what in ((self.url, "服务器地址"), (self.user, "用户名"), (self.password, "密码")):
            if not field.text().strip():
                field.setFocus()
                self.error.setText(f"请先填写{what}(由社区管理员提供)。")
                self.error.setVisible(True)
                return None
        return self.start_sync()

    def start_sync(self) -> Job | None:
        """A sync; first, for a new https server, its certificate's fingerprint to compare (and pin),
        and for plain http to another computer, the user's explicit consent."""
        if self.job is not None or self._asking():
            return None
        creds = self._credentials()
        if creds is None:
            return None
        url, user, password = creds
        self.url.setText(url)
        self.error.setVisible(False)
        self.repin_button.setVisible(False)
        store = self.ctx.store
        if trust.needs_insecure(url) and store.meta(trust.INSECURE_KEY) != url:
            self._ask_insecure(url)
            return None
        if trust.is_protected(url) and not store.meta(trust.PIN_KEY):
            return self.check_fingerprint()
        return self._run_sync(url, user, password)

    def _asking(self) -> bool:
        return self.trust_dialog is not None and self.trust_dialog.isVisible()

    def _ask(self, title: str, text: str, accept: str, on_accept: Callable[[], object],
             on_reject: Callable[[], None], icon: QMessageBox.Icon = QMessageBox.Icon.Question) -> None:
        """A window-modal question, answered through the signal (the page keeps running)."""
        box = QMessageBox(icon, title, text, parent=self)
        yes = box.addButton(accept, QMessageBox.ButtonRole.AcceptRole)
        no = box.addButton("取消", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(no)
        box.setEscapeButton(no)
        box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        def answered(_result: int) -> None:
            self.trust_dialog = None
            self.sync_button.setEnabled(self.job is None)
            (on_accept if box.clickedButton() is yes else on_reject)()
            box.deleteLater()

        box.finished.connect(answered)
        self.trust_dialog = box
        self.sync_button.setEnabled(False)
        box.open()

    def _ask_insecure(self, url: str) -> None:
        store = self.ctx.store

        def accepted() -> None:
            store.set_meta(trust.INSECURE_KEY, url)  # asked once per address
            creds = self._credentials()
            if creds is not None and creds[0] == url:
                self._run_sync(*creds)

        self._ask("未加密的连接", f"{trust.insecure_warning(url)}\n\n仍要使用这个未加密的地址吗?", "仍然使用(不加密)",
                  accepted, lambda: self._fail("未同步:服务器地址未加密。请向社区办公室要 https:// 开头的地址。"),
                  QMessageBox.Icon.Warning)

    def check_fingerprint(self, repin: bool = False) -> Job | None:
        """Fetch the certificate the server presents and ask the user to compare its fingerprint
        with the office's before it is pinned (or, after a refusal, before it replaces the pin)."""
        if self.job is not None or self._asking():
            return None
        creds = self._credentials()
        if creds is None:
            return None
        url, user, password = creds
        self.error.setVisible(False)
        old = self.ctx.store.meta(trust.PIN_KEY) if repin else None

        def look(job: Job) -> tuple[str | None, bool]:
            fp = trust.fetch_fingerprint(url)
            # a first connection to a server whose certificate a trusted CA issued: verified as such
            return fp, not repin and fp is not None and trust.verified_by_ca(url)

        def fetched(answer: tuple[str | None, bool]) -> None:
            fp, by_ca = answer
            if fp is None or by_ca:  # an http address, or a CA's certificate: nothing to compare
                self._run_sync(url, user, password)
                return
            if old == fp:
                self._fail("服务器现在出示的证书与本机已核对过的相同,无需重新核对,可以直接同步。")
                return
            if old:
                text = ("服务器出示了一张新的证书。只有在社区办公室确认服务器证书确实更换过时才能继续;"
                        "否则可能有人在冒充服务器,请点“取消”并告知管理员。\n\n"
                        f"本机登记时核对过的指纹:\n{fingerprint_lines(old)}\n\n"
                        f"服务器现在出示的新指纹:\n{fingerprint_lines(fp)}\n\n"
                        "请把新指纹与办公室给出的逐段核对,完全一致才点“指纹一致,信任”。")
            else:
                text = (f"第一次连接服务器 {url}。为确认连接的确实是社区的服务器(而不是冒充者),"
                        "请把下面的证书指纹(SHA-256)与社区办公室给出的逐段核对:\n\n"
                        f"{fingerprint_lines(fp)}\n\n"
                        "完全一致才点“指纹一致,信任”;有任何不同请点“取消”,并告知社区办公室。")
            self._ask("核对服务器证书指纹", text, "指纹一致,信任",
                      lambda: self._run_sync(url, user, password, fp),
                      lambda: self._fail("未同步:服务器证书指纹未经确认。请向社区办公室核对指纹后再同步。"))

        job = self._start("fingerprint", look, fetched,
                          lambda f: self._fail(f"未能读取服务器证书:{f.message}"))
        if job is not None:
            self.stage.setText("正在读取服务器证书…")
        return job

    def _run_sync(self, url: str, user: str, password: str, fingerprint: str | None = None) -> Job | None:
        store = self.ctx.store

        def run(job: Job) -> dict[str, Any]:
            with sync_client(job, store, url, user, password, fingerprint) as client:
                result = client.run().as_dict()
            store.set_meta("sync_server_url", url)  # remembered once it worked
            return result

        job = self._start("sync", run, self._synced, self._sync_failed)
        if job is not None:
            self.stage.setText("正在连接服务器…")
        return job

    def _synced(self, result: dict[str, Any]) -> None:
        self.repin_button.setVisible(False)
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
        # a certificate other than the pinned one: compare the new one once the office confirmed it
        self.repin_button.setVisible(failure.code == "fingerprint_changed")
        self.status.emit("同步未完成")
        if failure.code == "bad_credentials":
            self.password.setFocus()
            self.password.selectAll()

    # --- bundles -----------------------------------------------------------------------------------
    def _bundle_dir(self) -> str:
        return str(self.ctx.settings.value("sync/bundle_dir", str(Path.home()), type=str))

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
