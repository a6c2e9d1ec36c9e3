"""How a conflict the server recorded reads to the reviewer (Qt-free, for the 同步 page's 冲突审核).

A conflict is the plain dict the server's conflict list returns (kind, table, row_id, fields, base,
server, client, record, change, winner, reason). This module turns it into text: the row of the
conflict list, and the detail (who changed what, the base / server / laptop value of each field as
a user reads it: code labels, 是/否, grid names, local times), and back: a value typed by the
reviewer into the stored form."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from desktop.domain.formatting import care_mark_labels
from desktop.kinds import code_fields
from desktop.kinds import field_label as label
from desktop.sync.protocol import FIELDS, check_value
from desktop.sync.summary import kind_label
from desktop.validation import code_table

CONFLICT_KINDS = {"field": "字段冲突", "delete_edit": "删除与修改冲突", "rejected": "被拒绝的修改"}
CHOICE_LABELS = {
    "server": "保留服务器值", "client": "保留本机值", "custom": "填写新值", "delete": "维持删除",
    "restore": "恢复记录", "apply": "采纳该修改", "discard": "放弃",
}
CHOICES = tuple(CHOICE_LABELS)  # the order of the buttons
# the fields that name a record in a list, per kind
CAPTION_FIELDS: dict[str, tuple[str, ...]] = {
    "person": ("name",), "household": ("hh_no",), "vehicle": ("plate_no",), "address": ("full_text",),
    "house": ("owner_name", "title_no"), "org_unit": ("name",), "grid_event": ("title",),
    "dispute": ("parties", "place"), "visit": ("visited_on", "visitor"), "visit_need": ("content",),
    "household_ledger": ("period",), "event_step": ("note", "actor"), "area": ("name",),
    "attachment": ("caption", "purpose"), "map_shape": ("estate", "building", "what"),
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
    code = code_fields(table).get(field)
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
    code = code_fields(table).get(field)
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


def who(side: dict[str, Any] | None) -> str:
    """Who made one side of a conflict, when, on which device."""
    side = side or {}
    by = side.get("by") or "(未知)"
    when = local_time(side.get("at"))
    device = f"(设备 {str(side['device'])[:8]})" if side.get("device") else ""
    # the server names the signed-in user; an author the laptop wrote instead is only its claim
    claim = f"(电脑上记为 {side['claimed_by']},未核实)" if side.get("claimed_by") else ""
    # the time is the laptop's own clock: shown, never trusted to order anything
    return f"{by}{claim}" + (f" 于 {when}(电脑时间)" if when else "") + device


def conflict_cells(conflict: dict[str, Any]) -> list[str]:
    """The conflict list's row: 类型, 记录类别, 记录, 字段, 时间."""
    table = conflict.get("table") or ""
    kind = conflict.get("kind") or ""
    fields = "、".join(field_label(table, f) for f in conflict.get("fields") or [])
    return [CONFLICT_KINDS.get(kind, kind), kind_label(table), record_caption(conflict), fields,
            local_time((conflict.get("client") or {}).get("at"))]


@dataclass
class ConflictDetail:
    """Everything the detail pane shows for one conflict."""

    title: str
    reason: str
    server_who: str
    client_who: str
    headers: list[str]
    rows: list[list[str]]
    choices: tuple[str, ...]  # the decisions offered, keys of CHOICE_LABELS
    # field → (label, the text a new value starts from): for 填写新值
    custom: dict[str, tuple[str, str]] = field(default_factory=dict)


def conflict_detail(c: dict[str, Any], grids: dict[str, str] | None = None) -> ConflictDetail:
    """The detail of a conflict: the values of each field on each side, and the choices."""
    table, kind = c.get("table") or "", c.get("kind") or ""
    fields = list(c.get("fields") or [])
    base = c.get("base") or {}
    server, client = c.get("server") or {}, c.get("client") or {}
    sv, cv = server.get("value") or {}, client.get("value") or {}
    record = c.get("record") or {}
    title = f"{kind_label(table)} · {record_caption(c)} · {CONFLICT_KINDS.get(kind, kind)}"
    reason = c.get("reason")
    sources = [DERIVED[(table, f)][0] for f in fields if (table, f) in DERIVED]
    derived = (f"\n该字段由“{label(table, sources[0])}”自动生成:请与“{label(table, sources[0])}”的冲突作同样的选择。"
               if sources else "")
    hint = KIND_HINTS.get(kind, "") + (f"\n服务器说明:{reason}" if reason else "") + derived
    custom: dict[str, tuple[str, str]] = {}
    if kind == "rejected":
        pairs = (c.get("change") or {}).get("fields") or {}
        rows = [[field_label(table, f),
                 show_value(table, f, (pairs.get(f) or [None, None])[0], grids),
                 show_value(table, f, (pairs.get(f) or [None, None])[1], grids),
                 show_value(table, f, record.get(f), grids) if record else "—"] for f in fields]
        return ConflictDetail(
            title, hint, "服务器现值:服务器上该记录现在的内容" if record else "服务器上没有该记录",
            f"被拒绝的修改:{who(client)}", ["字段", "修改前", "修改为", "服务器现值"], rows, ("apply", "discard"))
    winner = c.get("winner")

    def side(values: dict[str, Any], f: str) -> str:
        if f in values:
            return show_value(table, f, values[f], grids)
        if "deleted_at" in values and values.get("deleted_at"):
            return "(删除该记录)"
        return "—"

    rows = [[field_label(table, f), show_value(table, f, base.get(f), grids) if c.get("base") is not None else "—",
             side(sv, f), side(cv, f)] for f in fields]
    if kind == "field":
        choices: tuple[str, ...] = ("server", "client", "custom")
        winning = cv if winner == "client" else sv
        for f in fields:
            value = winning.get(f)
            custom[f] = (f"新的{field_label(table, f)}", "" if value is None else show_value(table, f, value, None))
    else:
        choices = ("delete", "restore")
    return ConflictDetail(
        title, hint, f"服务器值:{who(server)}" + ("(当前生效)" if winner == "server" else ""),
        f"本机值:{who(client)}" + ("(当前生效)" if winner == "client" else ""),
        ["字段", "原值", "服务器值", "本机值"], rows, choices, custom)


def parse_custom(c: dict[str, Any], typed: dict[str, str]) -> dict[str, Any]:
    """The values typed for 填写新值, in stored form; ValueError with a Chinese reason."""
    table = c.get("table") or ""
    return {f: parse_value(table, f, text) for f, text in typed.items()}
