"""首次使用向导: the only way the app makes a database. Shown when the laptop has no database (or
one nobody can sign in to), and from the sign-in dialog of such a database:

- 加入社区服务器: address, user, password; the server's certificate fingerprint is shown to compare
  (or "未加密连接" for http); the first sync runs with progress and cancel, into a database
  encrypted with the user's password before anything arrives;
- 新建社区: the community from the division table (省 → 市 → 区县, then 街道 and 社区 typed, with
  search) or its 12-digit code; its grids (editable); the first administrator;
- 从备份恢复: a backup file (and its keyring), the password of one of its users;
- 体验演示数据: the synthetic demo street.

Every step can be cancelled and leaves no database behind (desktop.services.first_run builds the
file beside the final one). On success `store` and `actor` are the signed-in session, and `after`
says what the main window offers next ("import" for a new community)."""

from __future__ import annotations

import logging
from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QCompleter,
    QDialog,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop import APP_TITLE
from desktop.services import first_run
from desktop.services.errors import ServiceError
from desktop.services.failures import user_message
from desktop.services.session import LocalDatabase
from desktop.services.store import Actor, Store
from desktop.sync import trust
from desktop.sync.client import SyncError
from desktop.sync.join import check_address, join_server
from desktop.validation import regions
from ui.workers import Job, JobFailure, run_job

log = logging.getLogger(__name__)

CHOICES = (
    ("join", "加入社区服务器", "社区已有同步服务器:用社区管理员给您的地址、用户名和密码,把您负责的网格下载到本机。"),
    ("create", "新建社区", "本社区第一次使用网格台账:选择社区、划分网格、设置社区管理员。"),
    ("restore", "从备份恢复", "换了电脑或重装系统:用以前的备份文件(及其密钥文件)恢复全部数据。"),
    ("demo", "体验演示数据", "先看看怎么用:生成一个虚构的演示街道(人员均为合成,不是真实居民)。"),
)


def _hint(text: str) -> QLabel:
    label = QLabel(text)
    label.setProperty("role", "hint")
    label.setWordWrap(True)
    return label


def _error_label() -> QLabel:
    label = QLabel("")
    label.setProperty("role", "error")
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def _password_field(placeholder: str = "密码") -> QLineEdit:
    field = QLineEdit()
    field.setEchoMode(QLineEdit.EchoMode.Password)
    field.setPlaceholderText(placeholder)
    return field


def failure_text(exc: BaseException, path: Path | None = None) -> str:
    """One Chinese sentence for what stopped a first-run step (the trace goes to the log)."""
    from desktop.services.failures import unexpected

    if isinstance(exc, SyncError):
        return str(exc)
    message = user_message(exc, path)
    log.warning("first run: %s", message, exc_info=exc)
    return message or unexpected(exc)


def guarded(fn: Any, path: Path) -> Any:
    """`fn` for a job: a storage or file failure arrives as its one sentence (a ServiceError),
    never as a bug report; a sync failure keeps its code (cancelled, bad_credentials…)."""

    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (ServiceError, SyncError):
            raise
        except Exception as exc:
            raise ServiceError(failure_text(exc, path)) from exc

    return run


class FirstRunDialog(QDialog):
    """The assistant; `exec()` Accepted means `store` and `actor` are signed in."""

    def __init__(self, db_path: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.db_path = Path(db_path)
        self.store: Store | None = None
        self.actor: Actor | None = None
        self.after: str | None = None  # what to offer once the main window is up ("import")
        self.job: Job | None = None
        self._cancellable = False
        self.setWindowTitle(f"{APP_TITLE} · 首次使用向导")
        self.resize(900, 640)
        self.stack = QStackedWidget()
        self.pages: dict[str, QWidget] = {}
        self._add("choose", self._choose_page())
        self._add("join", self._join_page())
        self._add("create", self._create_page())
        self._add("admin", self._admin_page())
        self._add("restore", self._restore_page())
        self._add("demo", self._demo_page())
        for key, page in self.pages.items():  # a sentence about what was wrong goes once it is being fixed
            if key in self.errors:
                for edit in page.findChildren(QLineEdit):
                    edit.textEdited.connect(lambda _t, k=key: self.errors[k].setText(""))
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.stage = _hint("")
        self.back_button = QPushButton("上一步")
        self.back_button.clicked.connect(self.back)
        self.next_button = QPushButton("下一步")
        self.next_button.setDefault(True)
        self.next_button.clicked.connect(self.next)
        self.cancel_button = QPushButton("退出")
        self.cancel_button.clicked.connect(self.cancel)
        for button in (self.back_button, self.next_button, self.cancel_button):
            button.setMinimumWidth(130)
            button.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        buttons = QHBoxLayout()
        buttons.addWidget(self.progress, 1)
        buttons.addStretch(1)
        buttons.addWidget(self.back_button)
        buttons.addWidget(self.next_button)
        buttons.addWidget(self.cancel_button)
        lay = QVBoxLayout(self)
        lay.addWidget(self.stack, 1)
        lay.addWidget(self.stage)
        lay.addLayout(buttons)
        self.show_step("choose")

    def _add(self, key: str, page: QWidget) -> None:
        self.pages[key] = page
        self.stack.addWidget(page)

    # --- navigation -----------------------------------------------------------------------------
    @property
    def step(self) -> str:
        current = self.stack.currentWidget()
        return next(k for k, w in self.pages.items() if w is current)

    NEXT_TEXT = {"join": "加入并同步", "create": "下一步", "admin": "创建社区", "restore": "恢复",
                 "demo": "生成演示数据"}

    def show_step(self, key: str) -> None:
        self.stack.setCurrentWidget(self.pages[key])
        self.back_button.setVisible(key != "choose")
        self.next_button.setVisible(key != "choose")
        self.next_button.setText(self.NEXT_TEXT.get(key, "下一步"))
        self.cancel_button.setText("退出" if key == "choose" else "取消")
        self.stage.setText("")

    def back(self) -> None:
        if self.job is not None:
            return
        self.show_step("create" if self.step == "admin" else "choose")

    def next(self) -> None:
        if self.job is not None:
            return
        {"join": self.start_join, "create": self.to_admin, "admin": self.start_create,
         "restore": self.start_restore, "demo": self.start_demo}[self.step]()

    def cancel(self) -> None:
        """Cancel the running step (nothing is kept), else leave the assistant."""
        if self.job is not None:
            if self._cancellable:
                self.job.cancel()
                self.stage.setText("正在取消…(已下载的内容不会保留)")
                self.cancel_button.setEnabled(False)
            return  # the other steps take seconds and end by themselves
        self.reject()

    def reject(self) -> None:
        if self.job is not None:  # closing the window while a step runs cancels it first
            self.cancel()
            return
        super().reject()

    def _busy(self, job: Job | None, text: str = "", *, cancellable: bool = False) -> None:
        """A step runs (`job`) or none does. Only the first sync can stop halfway; the other steps
        take seconds and cannot be stopped once started (the button waits for them)."""
        self.job = job
        self._cancellable = cancellable
        running = job is not None
        self.progress.setVisible(running)
        self.progress.setRange(0, 0)
        self.next_button.setEnabled(not running)
        self.back_button.setEnabled(not running)
        self.cancel_button.setEnabled(not running or cancellable)
        self.cancel_button.setText("取消" if running or self.step != "choose" else "退出")
        if (page := self.stack.currentWidget()) is not None:
            page.setEnabled(not running)
        self.stage.setText(text)

    def _progress(self, done: int, total: int, text: str) -> None:
        if total:
            self.progress.setRange(0, total)
            self.progress.setValue(min(done, total))
        else:
            self.progress.setRange(0, 0)
        self.stage.setText(f"{text} {done}/{total}" if total else text)

    def _signed_in(self, username: str, password: str) -> None:
        """The new database is complete: sign in to it as the main window expects."""
        try:
            self.store, self.actor = LocalDatabase(self.db_path).open(username, password)
        except Exception as exc:  # the file was made, yet cannot be opened: say why, stay
            self._busy(None)
            self._current_error().setText(failure_text(exc, self.db_path))
            return
        self._busy(None)
        self.accept()

    def _current_error(self) -> QLabel:
        return self.errors[self.step]

    def _failed(self, failure: JobFailure) -> None:
        self._busy(None)
        text = failure.message
        if failure.code == "cancelled":
            text = "已取消,本机没有留下任何文件。可以重新开始,或选择其他方式。"
        self._current_error().setText(text)

    # --- choose -------------------------------------------------------------------------------------
    def _choose_page(self) -> QWidget:
        self.errors: dict[str, QLabel] = {}
        page = QWidget()
        lay = QVBoxLayout(page)
        title = QLabel("欢迎使用网格台账")
        title.setProperty("role", "page-title")
        lay.addWidget(title)
        lay.addWidget(_hint("这台电脑上还没有台账数据。请选择开始的方式:"))
        self.choice_buttons: dict[str, QPushButton] = {}
        for key, text, explain in CHOICES:
            btn = QPushButton(text)
            btn.setMinimumHeight(44)
            btn.setFixedWidth(170)
            btn.clicked.connect(lambda _=False, k=key: self.show_step(k))
            self.choice_buttons[key] = btn
            row = QHBoxLayout()
            row.addWidget(btn)
            row.addWidget(_hint(explain), 1)
            lay.addLayout(row)
        lay.addStretch(1)
        return page

    # --- join ---------------------------------------------------------------------------------------
    def _join_page(self) -> QWidget:
        page = QWidget()
        lay = QVBoxLayout(page)
        title = QLabel("加入社区服务器")
        title.setProperty("role", "page-title")
        lay.addWidget(title)
        lay.addWidget(_hint("填写社区管理员给您的服务器地址、用户名和密码。第一次同步会下载您负责的网格的全部数据;"
                            "本机数据库用您的密码加密。"))
        self.join_url = QLineEdit()
        self.join_url.setPlaceholderText("例如 https://sync.example.cn 或 http://192.168.1.10:8000")
        self.join_url.editingFinished.connect(self.check_server)
        self.join_user = QLineEdit()
        self.join_user.setPlaceholderText("服务器上的用户名,例如 wgy001")
        self.join_password = _password_field("服务器上的密码")
        form = QFormLayout()
        form.addRow("服务器地址", self.join_url)
        form.addRow("用户名", self.join_user)
        form.addRow("密码", self.join_password)
        lay.addLayout(form)
        self.check_button = QPushButton("检查服务器证书")
        self.check_button.clicked.connect(self.check_server)
        self.fingerprint = QLabel("")
        self.fingerprint.setWordWrap(True)
        self.fingerprint.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.fingerprint_ok = QCheckBox("我已与社区管理员核对,指纹一致")
        self.fingerprint_ok.setVisible(False)
        box = QGroupBox("服务器证书")
        blay = QVBoxLayout(box)
        blay.addWidget(self.check_button, 0, Qt.AlignmentFlag.AlignLeft)
        blay.addWidget(self.fingerprint)
        blay.addWidget(self.fingerprint_ok)
        lay.addWidget(box)
        self.errors["join"] = _error_label()
        lay.addWidget(self.errors["join"])
        lay.addStretch(1)
        self._checked: tuple[str, str | None] | None = None  # (address, fingerprint) shown
        return page

    def check_server(self) -> None:
        """Show the certificate fingerprint of an https address (to compare with the one the
        community admin has), or say that an http address is not encrypted."""
        self.errors["join"].setText("")
        try:
            url = check_address(self.join_url.text())
        except SyncError as exc:
            if self.join_url.text().strip():
                self.errors["join"].setText(str(exc))
            return
        if self._checked is not None and self._checked[0] == url:
            return
        self._checked = None
        self.fingerprint_ok.setChecked(False)
        if not trust.is_protected(url):
            self._checked = (url, None)
            remote = trust.needs_insecure(url)
            self.fingerprint_ok.setText("我已了解风险,仍使用未加密连接")
            self.fingerprint_ok.setVisible(remote)  # plain http to this computer itself needs no consent
            self.fingerprint.setProperty("role", "error")
            self.fingerprint.setText("⚠ 未加密连接(http):密码和居民信息会以明文经过网络,可被他人看到。"
                                     "请向社区管理员要 https 地址;确需临时使用时才勾选下面一项。")
            self._restyle(self.fingerprint)
            return
        self.fingerprint_ok.setText("我已与社区管理员核对,指纹一致")
        self.fingerprint.setProperty("role", "")
        self._restyle(self.fingerprint)
        self.fingerprint.setText("正在读取服务器证书…")
        self.check_button.setEnabled(False)

        def shown(fp: str | None) -> None:
            self.check_button.setEnabled(True)
            self._checked = (url, fp)
            self.fingerprint.setText("服务器证书指纹(SHA-256),请与社区管理员提供的核对:\n"
                                     + trust.format_fingerprint(fp or ""))
            self.fingerprint_ok.setVisible(True)

        def failed(failure: JobFailure) -> None:
            self.check_button.setEnabled(True)
            self.fingerprint.setText("")
            self.errors["join"].setText(f"无法连接服务器 {url} 读取证书:请检查地址和网络后重试。")

        run_job(trust.fetch_fingerprint, url, on_done=shown, on_error=failed)

    @staticmethod
    def _restyle(widget: QWidget) -> None:
        widget.style().unpolish(widget)
        widget.style().polish(widget)

    def start_join(self) -> None:
        error = self.errors["join"]
        error.setText("")
        try:
            url = check_address(self.join_url.text())
        except SyncError as exc:
            error.setText(str(exc))
            self.join_url.setFocus()
            return
        username, password = self.join_user.text().strip(), self.join_password.text()
        if not username or not password:
            error.setText("请填写您在社区服务器上的用户名和密码(由社区管理员分配)。")
            (self.join_user if not username else self.join_password).setFocus()
            return
        if self._checked is None or self._checked[0] != url:
            self.check_server()
            if self._checked is None:
                error.setText("正在读取服务器证书,请核对指纹后再点 加入并同步。")
                return
        fingerprint = self._checked[1]
        if fingerprint and not self.fingerprint_ok.isChecked():
            error.setText("请先与社区管理员核对服务器证书指纹,一致后勾选“指纹一致”,再点 加入并同步。")
            return
        insecure = trust.needs_insecure(url)
        if insecure and not self.fingerprint_ok.isChecked():
            error.setText("这是未加密的 http 地址:请改用社区管理员给的 https 地址,或勾选“仍使用未加密连接”后再点 加入并同步。")
            return

        def work(job: Job) -> Any:
            return join_server(self.db_path, url, username, password, fingerprint=fingerprint, insecure=insecure,
                               progress=lambda stage, done, total: job.report(done, total, stage),
                               cancel=job.cancel_event)

        self._busy(run_job(guarded(work, self.db_path), with_job=True, on_done=lambda _r: self._signed_in(username, password),
                           on_error=self._failed, on_progress=self._progress), "正在连接服务器…",
                   cancellable=True)

    # --- create: community and grids ------------------------------------------------------------------
    def _create_page(self) -> QWidget:
        page = QWidget()
        lay = QVBoxLayout(page)
        title = QLabel("新建社区 · 第 1 步:社区和网格")
        title.setProperty("role", "page-title")
        lay.addWidget(title)
        self.province = QComboBox()
        self.prefecture = QComboBox()
        self.county = QComboBox()
        for combo in (self.province, self.prefecture, self.county):
            combo.setMinimumWidth(150)
        self.province.addItem("(省)", None)
        for code, name in regions.children(None):
            self.province.addItem(name, code)
        self.province.currentIndexChanged.connect(lambda _i: self._fill(self.prefecture, self.province.currentData(), "(市)"))
        self.prefecture.currentIndexChanged.connect(lambda _i: self._fill(self.county, self.prefecture.currentData(), "(区县)"))
        self.county.currentIndexChanged.connect(lambda _i: self._code_from_parts())
        self.county_search = QLineEdit()
        self.county_search.setPlaceholderText("搜索区县,例如 西固 或 620104")
        names = [f"{name}  {code}" for code, name in regions.counties()]
        completer = QCompleter(names, self)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.activated.connect(self._county_chosen)
        self.county_search.setCompleter(completer)
        picks = QHBoxLayout()
        for combo in (self.province, self.prefecture, self.county):
            picks.addWidget(combo)
        picks.addWidget(self.county_search, 1)
        self.street_no = QLineEdit()
        self.street_no.setPlaceholderText("3 位,例如 001")
        self.street_no.setMaxLength(3)
        self.street_name = QLineEdit()
        self.street_name.setPlaceholderText("例如 福利路街道")
        self.community_no = QLineEdit()
        self.community_no.setPlaceholderText("3 位,例如 001")
        self.community_no.setMaxLength(3)
        self.community_name = QLineEdit()
        self.community_name.setPlaceholderText("例如 兰化22街区社区")
        for field in (self.street_no, self.community_no):
            field.textEdited.connect(lambda _t: self._code_from_parts())
        self.community_code = QLineEdit()
        self.community_code.setPlaceholderText("12 位统计用区划代码,可直接填写")
        self.community_code.setMaxLength(12)
        self.community_code.textEdited.connect(self._parts_from_code)
        self.county_label = _hint("")
        street_row = QHBoxLayout()
        street_row.addWidget(self.street_no)
        street_row.addWidget(self.street_name, 2)
        community_row = QHBoxLayout()
        community_row.addWidget(self.community_no)
        community_row.addWidget(self.community_name, 2)
        form = QFormLayout()
        form.addRow("省 / 市 / 区县", picks)
        form.addRow("街道(乡镇)", street_row)
        form.addRow("社区(村)", community_row)
        form.addRow("社区代码", self.community_code)
        form.addRow("", self.county_label)
        lay.addLayout(form)
        self.grid_count = QSpinBox()
        self.grid_count.setRange(1, first_run.MAX_GRIDS)
        self.grid_count.setValue(3)
        self.grid_count.valueChanged.connect(lambda _v: self._fill_grids())
        self.grid_table = QTableWidget(0, 2)
        self.grid_table.setHorizontalHeaderLabels(["网格代码", "网格名称"])
        self.grid_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.grid_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.grid_table.verticalHeader().setVisible(False)
        grids = QGroupBox("网格(代码为社区代码加两位序号;名称可修改)")
        glay = QVBoxLayout(grids)
        row = QHBoxLayout()
        row.addWidget(QLabel("网格数量"))
        row.addWidget(self.grid_count)
        row.addStretch(1)
        glay.addLayout(row)
        glay.addWidget(self.grid_table)
        lay.addWidget(grids, 1)
        self.errors["create"] = _error_label()
        lay.addWidget(self.errors["create"])
        return page

    def _fill(self, combo: QComboBox, parent: str | None, placeholder: str, select: str | None = None) -> None:
        combo.blockSignals(True)
        combo.clear()
        combo.addItem(placeholder, None)
        for code, name in regions.children(parent) if parent else []:
            combo.addItem(name, code)
        if select is not None:
            combo.setCurrentIndex(max(0, combo.findData(select)))
        combo.blockSignals(False)
        if combo is self.prefecture:
            self._fill(self.county, self.prefecture.currentData(), "(区县)")
        else:
            self._code_from_parts()

    def _select_county(self, county: str) -> None:
        province, prefecture = county[:2] + "0000", county[:4] + "00"
        self.province.blockSignals(True)
        self.province.setCurrentIndex(max(0, self.province.findData(province)))
        self.province.blockSignals(False)
        self.prefecture.blockSignals(True)
        self._fill(self.prefecture, province, "(市)", select=prefecture)
        self.prefecture.blockSignals(False)
        self._fill(self.county, prefecture, "(区县)", select=county)

    def _county_chosen(self, text: str) -> None:
        code = text.split()[-1]
        self._select_county(code)
        self.county_search.clear()

    def _code_from_parts(self) -> None:
        county = self.county.currentData()
        if not county:
            return
        code = f"{county}{self.street_no.text().strip()}{self.community_no.text().strip()}"
        self.community_code.setText(code)
        self._code_changed(code)

    def _parts_from_code(self, text: str) -> None:
        code = text.strip()
        if len(code) >= 6 and code[:6].isdigit() and regions.region(code[:6]) is not None \
                and self.county.currentData() != code[:6]:
            self._select_county(code[:6])
            self.community_code.setText(code)
        self.street_no.setText(code[6:9])
        self.community_no.setText(code[9:12])
        self._code_changed(code)

    def _code_changed(self, code: str) -> None:
        name = regions.region_name(code[:6]) if len(code) >= 6 else None
        self.county_label.setText(f"所在区县:{name}" if name else "")
        if len(code) == 12 and code.isdigit():
            self._fill_grids()

    def _fill_grids(self) -> None:
        """Rows for the grid count: codes by the rule, names kept where the user changed them."""
        code = self.community_code.text().strip()
        names = [item.text() if (item := self.grid_table.item(r, 1)) else ""
                 for r in range(self.grid_table.rowCount())]
        plans = first_run.suggested_grids(code, self.grid_count.value())
        self.grid_table.setRowCount(len(plans))
        for r, g in enumerate(plans):
            self.grid_table.setItem(r, 0, QTableWidgetItem(g.code))
            self.grid_table.setItem(r, 1, QTableWidgetItem(names[r] if r < len(names) and names[r] else g.name))

    def community_plan(self) -> first_run.CommunityPlan:
        grids = []
        for r in range(self.grid_table.rowCount()):
            code, name = self.grid_table.item(r, 0), self.grid_table.item(r, 1)
            grids.append(first_run.GridPlan(code.text() if code else "", name.text() if name else ""))
        return first_run.CommunityPlan(self.community_code.text().strip(), self.community_name.text().strip(),
                                       self.street_name.text().strip(), tuple(grids))

    def to_admin(self) -> None:
        issues = first_run.check_community(self.community_plan())
        if issues:
            self.errors["create"].setText(issues[0].message + (f"(另有 {len(issues) - 1} 处)" if len(issues) > 1 else ""))
            return
        self.errors["create"].setText("")
        self.show_step("admin")

    # --- create: the first administrator --------------------------------------------------------------
    def _admin_page(self) -> QWidget:
        page = QWidget()
        lay = QVBoxLayout(page)
        title = QLabel("新建社区 · 第 2 步:社区管理员")
        title.setProperty("role", "page-title")
        lay.addWidget(title)
        lay.addWidget(_hint("社区管理员管理网格员账号、区域和服务器。本机数据库从第一个字节起用此密码加密:"
                            "请牢记,忘记后只能从备份恢复。"))
        self.admin_name = QLineEdit()
        self.admin_name.setPlaceholderText("例如 张丽")
        self.admin_user = QLineEdit()
        self.admin_user.setPlaceholderText("英文字母或数字,例如 zhangli")
        self.admin_password = _password_field("至少 8 位")
        self.admin_password.textChanged.connect(self._strength)
        self.admin_password2 = _password_field("再输入一次")
        self.strength = QProgressBar()
        self.strength.setRange(0, 4)
        self.strength.setValue(0)
        self.strength.setTextVisible(False)
        self.strength.setFixedSize(220, 10)
        self.strength_word = QLabel("")
        strength_row = QHBoxLayout()
        strength_row.addWidget(self.strength)
        strength_row.addWidget(self.strength_word)
        strength_row.addStretch(1)
        form = QFormLayout()
        form.addRow("姓名", self.admin_name)
        form.addRow("用户名", self.admin_user)
        form.addRow("密码", self.admin_password)
        form.addRow("密码强度", strength_row)
        form.addRow("确认密码", self.admin_password2)
        lay.addLayout(form)
        self.errors["admin"] = _error_label()
        lay.addWidget(self.errors["admin"])
        lay.addStretch(1)
        return page

    def _strength(self, text: str) -> None:
        score, word = first_run.password_strength(text)
        self.strength.setValue(score)
        self.strength_word.setText(word if text else "")

    def start_create(self) -> None:
        error = self.errors["admin"]
        if self.admin_password.text() != self.admin_password2.text():
            error.setText("两次输入的密码不一致:请重新输入确认密码。")
            self.admin_password2.selectAll()
            self.admin_password2.setFocus()
            return
        admin = first_run.AdminPlan(self.admin_user.text().strip(), self.admin_name.text().strip(),
                                    self.admin_password.text())
        issues = first_run.check_admin(admin)
        if issues:
            error.setText(issues[0].message)
            return
        error.setText("")
        plan = self.community_plan()

        def done(_path: Any) -> None:
            self.after = "start"
            self._signed_in(admin.username, admin.password)

        self._busy(run_job(guarded(first_run.create_community, self.db_path), self.db_path, plan, admin, on_done=done,
                           on_error=self._failed), "正在建立并加密本机数据库…")

    # --- restore ------------------------------------------------------------------------------------
    def _restore_page(self) -> QWidget:
        page = QWidget()
        lay = QVBoxLayout(page)
        title = QLabel("从备份恢复")
        title.setProperty("role", "page-title")
        lay.addWidget(title)
        lay.addWidget(_hint("选择以前的备份文件(.db,通常在原电脑数据文件夹的 backups 中)。加密的备份旁边有随它保存的"
                            "密钥文件(备份名加 .keys),会自动使用;没有时请选择原电脑上的密钥文件。恢复后用备份中的用户和"
                            "密码登录;密码对应的密钥丢失时,填写加密时打印的恢复密钥。"))
        self.backup_file = QLineEdit()
        self.backup_file.setPlaceholderText("备份文件")
        self.keyring_file = QLineEdit()
        self.keyring_file.setPlaceholderText("密钥文件(加密的备份需要)")
        self.pick_backup = pick_backup = QPushButton("选择…")
        pick_backup.clicked.connect(lambda: self._pick(self.backup_file, "选择备份文件", "数据库备份 (*.db);;所有文件 (*)"))
        pick_keys = QPushButton("选择…")
        pick_keys.clicked.connect(lambda: self._pick(self.keyring_file, "选择密钥文件", "密钥文件 (*.keys);;所有文件 (*)"))
        self.restore_user = QLineEdit()
        self.restore_user.setPlaceholderText("备份中的用户名")
        self.restore_password = _password_field()
        self.recovery_key = QLineEdit()
        self.recovery_key.setPlaceholderText("可不填:加密时打印的恢复密钥,如 ABCDE-FGHJK-…")
        form = QFormLayout()
        for label, field, button in (("备份文件", self.backup_file, pick_backup), ("密钥文件", self.keyring_file, pick_keys)):
            row = QHBoxLayout()
            row.addWidget(field, 1)
            row.addWidget(button)
            form.addRow(label, row)
        form.addRow("用户名", self.restore_user)
        form.addRow("密码", self.restore_password)
        form.addRow("恢复密钥", self.recovery_key)
        lay.addLayout(form)
        self.errors["restore"] = _error_label()
        lay.addWidget(self.errors["restore"])
        lay.addStretch(1)
        return page

    def _pick(self, field: QLineEdit, caption: str, filters: str) -> None:
        path, _ = QFileDialog.getOpenFileName(self, caption, field.text(), filters)
        if path:
            field.setText(path)

    def start_restore(self) -> None:
        error = self.errors["restore"]
        backup = self.backup_file.text().strip()
        if not backup:
            error.setText("请先选择备份文件(点 选择…)。")
            return
        username, password = self.restore_user.text().strip(), self.restore_password.text()
        if not username or not password:
            error.setText("请填写备份中一位用户的用户名和密码。")
            return
        keys = self.keyring_file.text().strip()
        error.setText("")
        work = partial(first_run.restore_first, keyring_file=Path(keys) if keys else None,
                       recovery_key=self.recovery_key.text().strip() or None)
        self._busy(run_job(guarded(work, self.db_path), self.db_path, Path(backup), username, password,
                           on_done=lambda _r: self._signed_in(username, password), on_error=self._failed),
                   "正在检查并恢复备份…")

    # --- demo ---------------------------------------------------------------------------------------
    def _demo_page(self) -> QWidget:
        page = QWidget()
        lay = QVBoxLayout(page)
        title = QLabel("体验演示数据")
        title.setProperty("role", "page-title")
        lay.addWidget(title)
        lay.addWidget(_hint("将生成一个虚构的街道:约 300 户、近千人,以及房屋、车辆、走访和事件。姓名、证件号、电话均为程序合成,"
                            "不是真实居民。窗口顶部和每份打印、导出的文件都会标明“演示数据”。\n"
                            "演示数据不能与真实数据混用:正式使用时请在新的电脑或新的数据文件上选择 加入社区服务器 或 新建社区。"))
        self.demo_households = QSpinBox()
        self.demo_households.setRange(10, 5000)
        self.demo_households.setValue(300)
        form = QFormLayout()
        form.addRow("户数", self.demo_households)
        lay.addLayout(form)
        lay.addWidget(_hint("生成后以演示用户 admin(社区管理员)登录;其他演示用户:wgz001(网格长)、wgy001…(网格员),密码均为 demo1234。"))
        self.errors["demo"] = _error_label()
        lay.addWidget(self.errors["demo"])
        lay.addStretch(1)
        return page

    def start_demo(self) -> None:
        from desktop.services.demo import DEMO_PASSWORD

        self.errors["demo"].setText("")
        households = self.demo_households.value()

        def work(job: Job) -> Any:
            return first_run.make_demo(self.db_path, households=households, cancel=job.cancel_event,
                                       progress=lambda table, rows: job.report(0, 0, f"正在写入演示数据:{table} {rows} 行…"))

        self._busy(run_job(guarded(work, self.db_path), with_job=True,
                           on_done=lambda _r: self._signed_in("admin", DEMO_PASSWORD), on_error=self._failed,
                           on_progress=self._progress),
                   "正在生成演示数据…", cancellable=True)

