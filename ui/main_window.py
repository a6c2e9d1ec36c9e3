"""Main window: sidebar of pages, a search box on every page, routing of 'open this record'."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, cast

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMenu,
    QMessageBox,
    QStackedWidget,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop import APP_TITLE, kinds
from desktop.policy import Ability, allows, role_label
from desktop.services.demo import demo_mark
from desktop.services.errors import ServiceError
from desktop.services.households import Households
from desktop.services.records import Records
from ui.context import AppContext
from ui.pages.base import Page
from ui.search_box import SearchBox


class MainWindow(QMainWindow):
    def __init__(self, ctx: AppContext, *, on_toggle_theme: Any = None) -> None:
        super().__init__()
        from ui.widgets.popups import install_wide_popups

        install_wide_popups()  # (once per application; ui.app installs it before the sign-in)
        self.ctx = ctx
        self.on_toggle_theme = on_toggle_theme
        role = role_label(ctx.actor.role)
        self.setWindowTitle(f"{APP_TITLE} — {ctx.actor.display_name or ctx.actor.username}({role})")
        self.resize(1360, 860)
        self.pages: dict[str, Page] = {}
        self._shown_params: dict[str, Any] = {}
        self._factories: dict[str, Callable[[], Page]] = {}
        self.sidebar = QListWidget()
        self.sidebar.setFixedWidth(168)
        self.sidebar.setIconSize(QSize(18, 18))
        self.sidebar.currentRowChanged.connect(self._sidebar_changed)
        # a click on the entry already selected (back from a household, say) shows its page too
        self.sidebar.itemClicked.connect(self._sidebar_clicked)
        self.history: list[tuple[str, dict[str, Any]]] = []  # pages shown before, for 返回 (Alt+←)
        self.stack = QStackedWidget()
        central = QWidget()
        outer = QVBoxLayout(central)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        # a demo street says so all the time: it must never pass for real residents
        self.demo_banner: QLabel | None = None
        mark = demo_mark(ctx.store)
        if mark:
            self.setWindowTitle(f"{self.windowTitle()} 【演示数据】")
            self.demo_banner = QLabel(f"  {mark}:本库中的人员、房屋、车辆和走访均为虚构,打印和导出的文件都标有“演示数据”。"
                                      "正式使用请在新的数据文件上加入社区服务器或新建社区。")
            self.demo_banner.setWordWrap(True)
            self.demo_banner.setStyleSheet("background: #fff3cd; color: #7a4b00; padding: 6px; font-weight: bold;")
            outer.addWidget(self.demo_banner)
        lay = QHBoxLayout()
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.sidebar)
        lay.addWidget(self.stack, 1)
        outer.addLayout(lay, 1)
        self.setCentralWidget(central)
        self.setProperty("gl_title", self.windowTitle())

        bar = QToolBar("搜索")
        bar.setMovable(False)
        self.search = SearchBox(ctx)
        self.search.install_shortcut(self)
        self.search.open_record.connect(self.open_record)
        self.search.door_plate.connect(self.open_door_plate)
        bar.addWidget(self.search)
        spacer = QWidget()
        spacer.setSizePolicy(spacer.sizePolicy().horizontalPolicy().Expanding, spacer.sizePolicy().verticalPolicy())
        bar.addWidget(spacer)
        self.user_label = QLabel(f"  {ctx.actor.display_name or ctx.actor.username} · {role}  ")
        bar.addWidget(self.user_label)
        # 切换用户 / 退出登录: the window closes and the application goes back to signing in (or ends)
        self.signed_out: str | None = None  # "switch" or "sign_out", read by ui.app after the window closed
        self.user_menu = QMenu(self)
        self.switch_action = self.user_menu.addAction("切换用户…", lambda: self.sign_out("switch"))
        self.sign_out_action = self.user_menu.addAction("退出登录", lambda: self.sign_out("sign_out"))
        user_button = QToolButton()
        user_button.setText("账户")
        user_button.setMenu(self.user_menu)
        user_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        bar.addWidget(user_button)
        self.back_action = QAction("← 返回 (Alt+←)", self)
        self.back_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Back))
        self.back_action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.back_action.triggered.connect(self.go_back)
        self.back_action.setEnabled(False)
        first = bar.actions()
        if first:
            bar.insertAction(first[0], self.back_action)
        else:
            bar.addAction(self.back_action)
        self.register_action = QAction("整户登记 (Ctrl+Shift+N)", self)
        self.register_action.setShortcut(QKeySequence("Ctrl+Shift+N"))
        self.register_action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.register_action.triggered.connect(self.register_household)
        bar.addAction(self.register_action)
        theme = QAction("切换深色/浅色", self)
        theme.triggered.connect(self._toggle_theme)
        bar.addAction(theme)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
        self.statusBar().showMessage("就绪")
        self._build_pages()
        from ui.idle_lock import IdleLock

        self.idle_lock = IdleLock(self, ctx)  # settings: security/idle_minutes (0 switches it off)

    # --- pages ---------------------------------------------------------------------------
    def _build_pages(self) -> None:
        from ui.pages.areas import AreasPage
        from ui.pages.home import HomePage
        from ui.pages.household import HouseholdPage
        from ui.pages.lists import ListPage
        from ui.pages.plan import PlanPage
        from ui.pages.settings import SettingsPage

        # a grid worker's day starts with the plan; the office's with the dashboard
        starts_with_plan = not allows(self.ctx.actor, Ability.SEE_ALL_PLANS)
        if starts_with_plan:
            self.add_page("plan", PlanPage(self.ctx))
        self.add_page("home", HomePage(self.ctx))
        if not starts_with_plan:
            self.add_page("plan", lambda: PlanPage(self.ctx), title=PlanPage.title)
        self.add_page("areas", lambda: AreasPage(self.ctx), title=AreasPage.title)
        self.add_page("gridmap", lambda: self._gridmap_page(), title="网格一张图")
        self.add_page("building", lambda: self._building_page(), in_sidebar=False)
        for entry in kinds.listed():
            self.add_page(entry.key, partial(ListPage, self.ctx, entry.key), title=entry.title)
        self.add_page("quality", lambda: self._quality_page(), title="数据质量")
        self.add_page("print", lambda: self._print_page(), title="打印")
        if allows(self.ctx.actor, Ability.READ_AUDIT):
            self.add_page("audit", lambda: self._audit_page(), title="审计")
        self.add_page("settings", lambda: SettingsPage(self.ctx), title=SettingsPage.title)
        self.add_page("sync", lambda: self._sync_page(), title="同步", before="settings")
        self.add_page("household", lambda: HouseholdPage(self.ctx), in_sidebar=False)
        self.show_page("plan" if starts_with_plan else "home")

    def add_page(
        self, key: str, page: Page | Callable[[], Page], *, title: str | None = None, in_sidebar: bool = True,
        before: str | None = None,
    ) -> None:
        """Printing and sync pages slot in here without reshaping the window.

        `page` may be a factory: the page is then built the first time it is shown, which keeps
        start-up fast."""
        if isinstance(page, Page):
            self._install(key, page)
            title = title or page.title
        else:
            self._factories[key] = page
        if in_sidebar:
            item = QListWidgetItem(title or key)
            item.setData(Qt.ItemDataRole.UserRole, key)
            row = self.sidebar.count()
            if before is not None:
                for i in range(self.sidebar.count()):
                    if self.sidebar.item(i).data(Qt.ItemDataRole.UserRole) == before:
                        row = i
                        break
            self.sidebar.insertItem(row, item)

    def _gridmap_page(self) -> Page:
        from ui.pages.gridmap import GridMapPage

        return GridMapPage(self.ctx)

    def _building_page(self) -> Page:
        from ui.pages.gridmap import BuildingTablePage

        return BuildingTablePage(self.ctx)

    def open_door_plate(self, token: str) -> None:
        """A scanned (or typed) door plate: the room's household, else its building's 楼盘表."""
        from desktop.services.floorplan import FloorPlans

        try:
            room = FloorPlans(self.ctx.store, self.ctx.actor).resolve(token)
        except ServiceError as exc:
            QMessageBox.warning(self, "门牌二维码", str(exc))
            return
        if room["household_id"]:
            self.open_record("household", room["household_id"])
            return
        self.show_page("building", grid_id=room["grid_id"], estate=room["estate"], building=room["building"])
        self.statusBar().showMessage(f"{room['text']} 还没有登记住户:在楼盘表中单击该户室可登记整户", 8000)

    def _audit_page(self) -> Page:
        from ui.pages.audit import AuditPage

        return AuditPage(self.ctx)

    def _sync_page(self) -> Page:
        from ui.pages.sync import SyncPage

        page = SyncPage(self.ctx)
        page.synced.connect(self.data_changed)  # pulled records: every page shows the new data
        return page

    def _quality_page(self) -> Page:
        from ui.pages.quality import QualityPage

        return QualityPage(self.ctx)

    def _print_page(self) -> Page:
        from ui.pages.printing import PrintPage

        return PrintPage(self.ctx)

    def register_household(self) -> None:
        """整户登记 from anywhere; on 地址与网格 it starts from the selected room, unit, building or 小区."""
        from ui.pages.areas import AreasPage

        current = self.current_page()
        if isinstance(current, AreasPage):
            current.register_household()
        else:
            cast(AreasPage, self.page("areas")).register_household(None, {})

    def import_excel(self, kind: str = "person") -> bool:
        from ui.forms.exchange import ImportWizard

        wizard = ImportWizard(self.ctx, kind, parent=self)
        done = wizard.exec() == ImportWizard.DialogCode.Accepted
        if wizard.written is not None:
            self.data_changed()
        return done

    def export_excel(self, kind: str = "person", grid_id: str | None = None) -> None:
        from ui.forms.exchange import ExportDialog

        ExportDialog(self.ctx, kind, grid_id=grid_id, parent=self).exec()

    def _install(self, key: str, page: Page) -> Page:
        self.pages[key] = page
        self.stack.addWidget(page)
        page.open_record.connect(self.open_record)
        page.open_field.connect(self.open_record_at)
        page.navigate.connect(lambda k, params: self.show_page(k, **params))
        page.status.connect(lambda msg: self.statusBar().showMessage(msg, 8000))
        return page

    def page(self, key: str) -> Page:
        """The page for `key`, built on first use."""
        if key not in self.pages:
            self._install(key, self._factories.pop(key)())
        return self.pages[key]

    def show_page(self, key: str, *, _back: bool = False, **params: Any) -> Page:
        page = self.page(key)
        current = self.current_key()
        if not _back and current is not None and (key, params) != (current, self._shown_params):
            self.history.append((current, dict(self._shown_params)))
            del self.history[:-30]  # the last 30 are plenty
        self._shown_params = dict(params)
        self.stack.setCurrentWidget(page)
        row = -1  # a page outside the sidebar (a household) leaves no entry selected
        for i in range(self.sidebar.count()):
            if self.sidebar.item(i).data(Qt.ItemDataRole.UserRole) == key:
                row = i
                break
        self.sidebar.blockSignals(True)
        self.sidebar.setCurrentRow(row)
        self.sidebar.blockSignals(False)
        self.back_action.setEnabled(bool(self.history))
        page.activate(**params)
        return page

    def _sidebar_clicked(self, item: QListWidgetItem) -> None:
        key = item.data(Qt.ItemDataRole.UserRole)
        if key != self.current_key():
            self.show_page(key)

    def current_key(self) -> str | None:
        current = self.stack.currentWidget()
        return next((k for k, p in self.pages.items() if p is current), None)

    def go_back(self) -> None:
        """返回 (Alt+←): the page shown before, with what it showed (a household, a list's filters)."""
        if not self.history:
            return
        key, params = self.history.pop()
        self.show_page(key, _back=True, **params)

    def _sidebar_changed(self, row: int) -> None:
        if row >= 0:
            self.show_page(self.sidebar.item(row).data(Qt.ItemDataRole.UserRole))

    def current_page(self) -> Page:
        return cast(Page, self.stack.currentWidget())  # every widget in the stack is a page

    # --- routing -------------------------------------------------------------------------
    def open_record(self, kind: str, record_id: str) -> None:
        from ui.forms.opener import open_record_dialog

        records = Records(self.ctx.store, self.ctx.actor)
        try:
            if kind in ("household",):
                self.show_page("household", household_id=record_id)
                return
            if kind == "person":
                person = records.get("person", record_id)
                if person["household_id"]:
                    self.show_page("household", household_id=person["household_id"], focus_person=record_id)
                    return
            if kind == "house":
                hh = Households(self.ctx.store, self.ctx.actor).household_of_house(record_id)
                if hh:
                    self.show_page("household", household_id=hh)
                    return
            if open_record_dialog(self, self.ctx, kind, record_id):
                self.data_changed()
        except Exception as exc:  # noqa: BLE001 - show any failure in Chinese, keep the window
            QMessageBox.warning(self, "无法打开", getattr(exc, "message", None) or str(exc))

    def open_record_at(self, kind: str, record_id: str, field: str) -> None:
        """The record's own form, with `field` focused (a household opens its page)."""
        from ui.forms.opener import open_record_dialog

        if kind == "household":
            self.show_page("household", household_id=record_id)
            return
        try:
            if open_record_dialog(self, self.ctx, kind, record_id, focus=field or None):
                self.data_changed()
        except Exception as exc:  # noqa: BLE001 - show any failure in Chinese, keep the window
            QMessageBox.warning(self, "无法打开", getattr(exc, "message", None) or str(exc))

    def data_changed(self) -> None:
        for page in self.pages.values():
            page.data_changed()

    def _toggle_theme(self) -> None:
        if self.on_toggle_theme:
            self.on_toggle_theme()

    def sign_out(self, how: str) -> bool:
        """切换用户 ("switch": back to the sign-in) or 退出登录 ("sign_out": the program ends). Typed
        drafts stay saved (drafts are per user); the window closes as it does on exit."""
        self.signed_out = how
        if not self.close():
            self.signed_out = None
            return False
        return True

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        from ui.workers import wait_all

        self.search.popup.hide()
        self.idle_lock.stop()
        sync = self.pages.get("sync")
        if sync is not None and getattr(sync, "job", None) is not None:
            from ui.pages.sync import SyncPage  # imported already: it made the page

            cast(SyncPage, sync).cancel()  # stops at the next step; what is done stays saved
        wait_all(5000)
        super().closeEvent(event)
