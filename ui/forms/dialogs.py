"""Record dialogs: create and edit any kind through the services, with inline errors, duplicate
warnings and draft autosave (nothing typed is ever lost)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any, cast

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from desktop import kinds
from desktop.kinds import label as kind_label
from desktop.services.errors import DuplicateRecord, ServiceError, ValidationFailed
from desktop.services.records import Records
from desktop.validation import check_id_number
from ui.context import AppContext
from ui.drafts import remove_draft, save_draft
from ui.forms.guard import CancelOnClose
from ui.forms.record_form import FORM_DEFAULTS, RecordForm
from ui.widgets.buttons import Std, dialog_buttons


class RecordDialog(CancelOnClose, QDialog):
    saved = Signal(dict)
    open_existing = Signal(str, str)

    def __init__(self, ctx: AppContext, kind: str, record_id: str | None = None, *,
                 preset: dict[str, Any] | None = None, values: dict[str, Any] | None = None,
                 fields: list[str] | None = None, title: str | None = None, draft_key: str | None = None,
                 focus: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.kind = kind
        self.record_id = record_id
        self.preset = dict(preset or {})
        self.records = Records(ctx.store, ctx.actor)
        self.record: dict[str, Any] | None = None
        self.result_record: dict[str, Any] | None = None
        label = kind_label(kind)
        self.setWindowTitle(title or (f"编辑{label}" if record_id else f"新建{label}"))
        self.form = RecordForm(ctx, kind, fields)
        if record_id:
            self.record = self.records.get(kind, record_id)
            self.form.set_values(self.record)
        else:
            defaults = {**FORM_DEFAULTS.get(kind, {}), **self.preset}
            self.form.set_values({k: v for k, v in defaults.items() if k in self.form.widgets})
        if values:  # a restored draft: typed values on top
            self.form.set_values(values, as_initial=False)
        self.message = QLabel("")
        self.message.setProperty("role", "error")
        self.message.setWordWrap(True)
        self.message.hide()
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.form)
        buttons = dialog_buttons(self.save, self.cancel, "保存 (Ctrl+S)", "取消", ok=Std.Save, shortcut="Ctrl+S")
        self.buttons = buttons
        self.main_layout = lay = QVBoxLayout(self)
        self.extra_top = QVBoxLayout()
        lay.addLayout(self.extra_top)
        lay.addWidget(scroll, 1)
        lay.addWidget(self.message)
        lay.addWidget(buttons)
        self.resize(900 if kind == "person" else 760, 640 if kind in ("person", "house", "dispute") else 460)
        # draft autosave
        self.draft_key = draft_key or f"{ctx.actor.username}-{kind}-{record_id or 'new'}-{uuid.uuid4().hex[:8]}"
        self._draft_timer = QTimer(self)
        self._draft_timer.setSingleShot(True)
        self._draft_timer.setInterval(600)
        self._draft_timer.timeout.connect(self.save_draft)
        self.form.changed.connect(self._draft_timer.start)
        self.form.changed.connect(self._live_check)
        self.focus_field = focus if focus in self.form.widgets else None
        if self.focus_field:  # the 数据质量 queue opens a record at the field to fix
            widget = self.form.widgets[self.focus_field]
            scroll.ensureWidgetVisible(widget)
            QTimer.singleShot(0, widget.setFocus)

    # --- drafts --------------------------------------------------------------------------
    def draft_meta(self) -> dict[str, Any]:
        return {"user": self.ctx.actor.username, "kind": self.kind, "record_id": self.record_id,
                "preset": self.preset, "title": self.windowTitle(), "dialog": type(self).__name__}

    def save_draft(self) -> None:
        """Keep what was typed; a form holding nothing the user typed (only its defaults, or an
        edit put back as it was) keeps no draft, and an earlier one of it goes."""
        if not self.is_dirty():
            remove_draft(self.draft_key)
            return
        values = self.form.changed_values() if self.record_id else self.form.values()
        save_draft(self.draft_key, self.draft_meta(), values, secret=self.ctx.draft_secret)

    def is_dirty(self) -> bool:
        return bool(self.form.changed_values())

    def cancel(self) -> None:
        if self.is_dirty():
            answer = QMessageBox.question(self, "放弃修改", "已填写的内容还没有保存,确定放弃吗?")
            if answer != QMessageBox.StandardButton.Yes:
                return
        self._draft_timer.stop()
        remove_draft(self.draft_key)
        self.reject()

    # --- as-you-type checks --------------------------------------------------------------
    def _live_check(self) -> None:
        values = self.form.values()
        entry = kinds.find(self.kind)
        for name, checker in (entry.live_checks if entry else {}).items():
            if name not in values:
                continue
            text = (values[name] or "").strip()
            if not text:
                self.form.set_error(name, None)
                continue
            result = checker(text)
            self.form.set_error(name, ";".join(e.message for e in result.errors) or None)

    # --- saving --------------------------------------------------------------------------
    def payload(self) -> dict[str, Any]:
        if self.record_id:
            return self.form.changed_values()
        return {**self.preset, **self.form.values()}

    def save(self, *, allow_duplicate: bool = False) -> bool:
        if self.record_id and not self.payload():
            self.message.hide()
            self._finish(self.record or {})
            return True

        def write() -> dict[str, Any]:
            if self.record_id:
                return self.records.update(self.kind, self.record_id, self.payload(),
                                           expected_version=(self.record or {}).get("version"),
                                           allow_duplicate=allow_duplicate)
            return self.records.create(self.kind, self.payload(), allow_duplicate=allow_duplicate)

        return self.save_with(write)

    def place_errors(self, exc: ValidationFailed) -> list[str]:
        """Show each message beside its field; return those that belong to no field here."""
        return self.form.show_validation(exc)

    def save_with(self, write: Any, verb: str = "保存") -> bool:
        """Run one service call; on failure keep everything typed and say why, beside the fields."""
        self.message.hide()
        self.form.clear_errors()
        try:
            rec = write()
        except ValidationFailed as exc:
            unplaced = self.place_errors(exc)
            self.show_message(f"未{verb}:" + (";".join(unplaced) if unplaced else f"请按红字提示修改后再{verb}。"))
            return False
        except DuplicateRecord as exc:
            return self._duplicate(exc)
        except ServiceError as exc:
            self.show_message(f"未{verb}:{exc.message}")
            return False
        self._finish(rec)
        return True

    def _duplicate(self, exc: DuplicateRecord) -> bool:
        box = QMessageBox(self)
        box.setWindowTitle("可能重复登记")
        box.setText(exc.message)
        open_btn = box.addButton("打开已有记录", QMessageBox.ButtonRole.AcceptRole)
        keep_btn = box.addButton("仍然保存", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton("返回修改", QMessageBox.ButtonRole.RejectRole)
        box.exec()
        if box.clickedButton() is open_btn:
            self.save_draft()
            self.open_existing.emit(self.kind, exc.existing["id"])
            self.show_message("已打开已有记录;本表单内容已保存为草稿。")
            return False
        if box.clickedButton() is keep_btn:
            return self.save(allow_duplicate=True)
        self.show_message(exc.message)
        return False

    def show_message(self, text: str, role: str = "error") -> None:
        """A sentence under the form: red (role error) unless said otherwise (ok: green)."""
        if self.message.property("role") != role:
            self.message.setProperty("role", role)
            self.message.style().unpolish(self.message)
            self.message.style().polish(self.message)
        self.message.setText(text)
        self.message.show()

    def _finish(self, rec: dict[str, Any]) -> None:
        self._draft_timer.stop()
        remove_draft(self.draft_key)
        self.result_record = rec
        self.saved.emit(rec)
        self.accept()


class PersonDialog(RecordDialog):
    """Typing the ID number fills birth date, gender, age and native region at once."""

    def __init__(self, ctx: AppContext, record_id: str | None = None, **kw: Any) -> None:
        super().__init__(ctx, "person", record_id, **kw)
        edit = cast(QLineEdit, self.form.widgets["cert_no"])  # the form's text fields are line edits
        edit.textEdited.connect(self._id_typed)
        cast(QLineEdit, self.form.widgets["native_region"]).textChanged.connect(self._region_hint)
        self._region_hint(self.form.values().get("native_region") or "")
        if record_id and self.record and self.record.get("cert_no"):
            self._id_typed(self.record["cert_no"], fill=False)
        try:
            from ui.widgets.photos import PhotoStrip

            if record_id:
                self.extra_top.addWidget(PhotoStrip(ctx, "person", record_id))
        except ImportError:  # photos arrive with their own module
            pass

    def _finish(self, rec: dict[str, Any]) -> None:
        old_phone = (self.record or {}).get("phone")
        if self.record_id and rec.get("phone") != old_phone:
            self._household_phone_follows(old_phone)
        super()._finish(rec)

    def _household_phone_follows(self, old_phone: str | None) -> None:
        """A head's new phone: the household's 联系电话 follows if the worker says so."""
        from desktop.services.households import Households

        households = Households(self.ctx.store, self.ctx.actor)
        try:
            change = households.phone_follows_head(self.record_id or "", old_phone)
            if change is None:
                return
            was = f"(原为 {change['old']})" if change["old"] else "(原为空)"
            if QMessageBox.question(self, "本户联系电话", f"户主的联系电话已改为 {change['new']}。\n"
                                    f"本户的联系电话{was}也改为 {change['new']} 吗?") == QMessageBox.StandardButton.Yes:
                households.update("household", change["household_id"], {"phone": change["new"]})
        except ServiceError as exc:  # the person is saved; the household's phone stays as it was
            QMessageBox.warning(self, "本户联系电话未改", exc.message)

    def _region_hint(self, code: str) -> None:
        from desktop.validation import region_name

        code = (code or "").strip()
        name = region_name(code) if len(code) == 6 and code.isdigit() else None
        self.form.set_hint("native_region", name or ("请填写 6 位行政区划代码" if code else None))

    def _id_typed(self, text: str, fill: bool = True) -> None:
        cert_type = self.form.values().get("cert_type") or "111"
        raw = text.strip()
        if not raw or cert_type not in ("111", "553"):
            self.form.set_error("cert_no", None)
            self.form.set_hint("cert_no", None)
            return
        digits = sum(c.isalnum() for c in raw)
        result = check_id_number(raw)
        if digits < 15 and not any(e.code.endswith(("char", "chars")) for e in result.errors):
            self.form.set_error("cert_no", None)
            self.form.set_hint("cert_no", f"已输入 {digits} 位,居民身份证号码为 18 位")
            return
        if result.errors:
            self.form.set_error("cert_no", ";".join(e.message for e in result.errors))
            self.form.set_hint("cert_no", None)
            return
        self.form.set_error("cert_no", None)
        d = result.details
        parts = [f"出生日期 {d.get('birth_date')}", d.get("gender_label") or "", f"{d.get('age')} 岁"]
        if d.get("region_name"):
            parts.append(f"籍贯 {d['region_name']}")
        hint = " · ".join(p for p in parts if p)
        if result.warnings:
            hint += "\n" + ";".join(w.message for w in result.warnings)
        self.form.set_hint("cert_no", hint)
        if fill:
            updates = {"birth_date": d.get("birth_date"), "gender": d.get("gender")}
            if d.get("kind") == "resident" and not self.form.values().get("native_region"):
                updates["native_region"] = d.get("region_code")
            self.form.set_values(updates, as_initial=False)
            self._region_hint(self.form.values().get("native_region") or "")


class VehicleDialog(RecordDialog):
    def __init__(self, ctx: AppContext, record_id: str | None = None, **kw: Any) -> None:
        super().__init__(ctx, "vehicle", record_id, **kw)
        if record_id:
            try:
                from ui.widgets.photos import PhotoStrip

                self.extra_top.addWidget(PhotoStrip(ctx, "vehicle", record_id))
            except ImportError:
                pass
        hint = QLabel("请拍摄或选择“车牌与车主合影”照片(保存后可添加)。" if not record_id else "")
        hint.setProperty("role", "hint")
        self.extra_top.addWidget(hint)
        # 车主: one of the household's members (a vehicle of no household keeps the owner it has)
        self.owner = QComboBox()
        self.owner.addItem("(未指定)", None)
        known = {**self.preset, **(self.record or {})}
        household_id = known.get("household_id")
        if household_id:
            from desktop.services.households import Households

            try:
                for m in Households(ctx.store, ctx.actor).view(household_id)["members"]:
                    self.owner.addItem(m["name"], m["id"])
            except ServiceError:
                pass
        owner = known.get("owner_person_id")
        if owner and self.owner.findData(owner) < 0:
            self.owner.addItem("(其他户的人员)", owner)
        self.owner.setCurrentIndex(max(0, self.owner.findData(owner)))
        row = QHBoxLayout()
        caption = QLabel("车主")
        caption.setBuddy(self.owner)
        row.addWidget(caption)
        row.addWidget(self.owner, 1)
        self.extra_top.addLayout(row)

    def payload(self) -> dict[str, Any]:
        out = super().payload()
        owner = self.owner.currentData()
        if not self.record_id or owner != (self.record or {}).get("owner_person_id"):
            out["owner_person_id"] = owner
        return out


class HouseDialog(RecordDialog):
    """Edit a house; a new house is registered together with its standard address."""

    def __init__(self, ctx: AppContext, record_id: str | None = None, **kw: Any) -> None:
        super().__init__(ctx, "house", record_id, **kw)
        self.address_form: RecordForm | None = None
        if record_id:
            try:
                from ui.widgets.photos import PhotoStrip

                self.extra_top.addWidget(PhotoStrip(ctx, "house", record_id))
            except ImportError:
                pass
        else:
            self.address_form = RecordForm(ctx, "address", ["estate", "building", "unit", "room"])
            self.address_form.changed.connect(self._draft_timer.start)
            caption = QLabel("房屋地址")
            caption.setProperty("role", "card-title")
            self.extra_top.addWidget(caption)
            self.extra_top.addWidget(self.address_form)

    def save(self, *, allow_duplicate: bool = False) -> bool:
        if self.record_id or self.address_form is None:
            return super().save(allow_duplicate=allow_duplicate)
        address_form = self.address_form
        from desktop.services.households import Households

        def write() -> dict[str, Any]:
            values = self.payload()
            return Households(self.ctx.store, self.ctx.actor).register_house(
                grid_id=values.pop("grid_id", None), address=address_form.values(), house=values)

        self.address_form.clear_errors()
        return self.save_with(write)

    def place_errors(self, exc: ValidationFailed) -> list[str]:
        in_house = self.form.show_validation(exc)
        in_address = self.address_form.show_validation(exc) if self.address_form else in_house
        return [m for m in in_house if m in in_address]  # placed in neither form


class ReportEventDialog(RecordDialog):
    """A new grid event goes in through the workflow service, which writes the 上报 step."""

    def __init__(self, ctx: AppContext, record_id: str | None = None, **kw: Any) -> None:
        super().__init__(ctx, "grid_event", None, title="上报网格事件", **kw)

    def save(self, *, allow_duplicate: bool = False) -> bool:
        from desktop.services.events import Events

        return self.save_with(lambda: Events(self.ctx.store, self.ctx.actor).report(self.payload()), "上报")


def today_iso() -> str:
    return date.today().isoformat()
