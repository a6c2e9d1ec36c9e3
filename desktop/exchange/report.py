"""What an import did (or, for a dry run, would do) with every row of the file."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from desktop.exchange.xlsxout import Col, Workbook, width_for
from desktop.kinds import label as kind_label

STATUSES = ("imported", "updated", "skipped", "rejected", "ask")
STATUS_LABELS = {"imported": "新增", "updated": "更新", "skipped": "跳过", "rejected": "未通过", "ask": "需确认"}
ON_EXISTING = ("update", "skip", "ask")


@dataclass
class ImportOptions:
    """`default_grid_id`: grid for rows without a 网格 column value; `on_existing`: what to do with
    a row whose record is already registered (same ID number, plate, 户号...): "ask" (the
    default: reported as 需确认 with what would change, field by field, and not written), "update"
    it, or "skip" it; `confirmed`: file row numbers of 需确认 rows the user confirmed (updated
    although `on_existing` is "ask"); `overwrite_newer`: also replace a field that was changed in
    the app after the file was last saved (otherwise the app's value is kept and the row says so);
    `valid_only`: write the valid rows even when others are rejected (otherwise one rejected row
    keeps the whole file out). An import never replaces a filled-in value with an empty one."""

    default_grid_id: str | None = None
    on_existing: str = "ask"  # ask | update | skip
    valid_only: bool = False
    confirmed: frozenset[int] = frozenset()
    overwrite_newer: bool = False


@dataclass
class FieldChange:
    """One field of a registered record that the row would change (or changed): its Chinese
    label and the old and new values as shown to the user (ID and phone numbers masked as on
    screen), and `kept`: why the old value stays (edited in the app after the file was saved)."""

    label: str
    old: str
    new: str
    kept: str = ""

    def text(self) -> str:
        line = f"{self.label}: {self.old or '(空)'} → {self.new or '(空)'}"
        return f"{line}(未更新:{self.kept})" if self.kept else line


class RowResult:
    """One data row of the file: its 1-based row number in the file, what happened to it
    ("imported" | "updated" | "skipped" | "rejected" | "ask"), Chinese messages (the reasons
    for a rejection, or notes such as a 15-digit ID number upgraded), and `values`: the row's
    original cells by column header."""

    __slots__ = ("row_no", "status", "messages", "raw", "headers", "columns", "record_id", "changes")

    def __init__(self, row_no: int, raw: list[Any], headers: list[str]) -> None:
        self.row_no = row_no
        self.status = "imported"
        self.messages: list[str] = []
        self.raw = raw
        self.headers = headers
        self.columns: list[int] = []  # indexes of the columns a problem was found in
        self.record_id: str | None = None
        self.changes: list[FieldChange] = []  # a registered record: what the row changes, per field

    @property
    def values(self) -> dict[str, Any]:
        return {h: self.raw[i] if i < len(self.raw) else None for i, h in enumerate(self.headers)}

    @property
    def detail(self) -> str:
        """The messages and, for a registered record, what changes field by field."""
        return "；".join([*self.messages, *(c.text() for c in self.changes)])

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    def to_dict(self) -> dict[str, Any]:
        return {
            "row_no": self.row_no, "status": self.status, "status_label": self.status_label,
            "messages": list(self.messages), "record_id": self.record_id,
            "changes": [{"field": c.label, "old": c.old, "new": c.new, "kept": c.kept} for c in self.changes],
            "columns": [self.headers[c] for c in self.columns if c < len(self.headers)],
            "values": {k: _plain(v) for k, v in self.values.items() if v is not None},
        }

    def __repr__(self) -> str:
        return f"RowResult(row_no={self.row_no}, status={self.status!r}, messages={self.messages!r})"


def _plain(v: Any) -> Any:
    if isinstance(v, datetime | date):
        return v.isoformat()
    return v


@dataclass
class ImportReport:
    """Every row's result. `counts` has "imported", "updated", "skipped", "rejected" - they add up
    to `total` - and "ask": how many of the skipped rows wait for a decision (需确认).
    `written` is True once the rows went into the database (never for a dry run)."""

    kind: str
    rows: list[RowResult]
    headers: list[str] = field(default_factory=list)
    mapping: dict[int, str | None] = field(default_factory=dict)
    written: bool = False
    dry_run: bool = True
    message: str = ""
    file_name: str = ""
    seconds: float = 0.0
    unused_columns: list[str] = field(default_factory=list)
    created: dict[str, int] = field(default_factory=dict)  # households, addresses, houses made on the way
    counts: dict[str, int] = field(default_factory=dict)
    notice: str = ""  # what the file is, said once (a masked export of the app)
    footers: list[tuple[int, str]] = field(default_factory=list)  # 表尾 rows skipped (合计, 制表人 …)

    def __post_init__(self) -> None:
        self.tally()

    def tally(self) -> dict[str, int]:
        counts = dict.fromkeys(STATUSES, 0)
        for r in self.rows:
            counts[r.status] += 1
        counts["skipped"] += counts["ask"]
        self.counts = counts
        return counts

    @property
    def total(self) -> int:
        return len(self.rows)

    @property
    def ok(self) -> bool:
        return self.counts.get("rejected", 0) == 0

    def rows_with(self, status: str) -> list[RowResult]:
        return [r for r in self.rows if r.status == status]

    def summary(self) -> str:
        c = self.counts
        what = kind_label(self.kind)
        head = "检查结果" if self.dry_run else ("已导入" if self.written else "未导入")
        text = (f"{head}({what}):共 {self.total} 行,新增 {c['imported']},更新 {c['updated']},"
                f"跳过 {c['skipped']}" + (f"(其中需确认 {c['ask']})" if c["ask"] else "")
                + f",未通过 {c['rejected']}"
                + (f";另有表尾 {len(self.footers)} 行(合计、制表人、说明等)已跳过,不计入未通过" if self.footers else ""))
        return (f"{self.notice}\n" if self.notice else "") + text + (f"。{self.message}" if self.message else "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "kind_label": kind_label(self.kind), "file": self.file_name,
            "total": self.total, "counts": dict(self.counts), "written": self.written, "dry_run": self.dry_run,
            "message": self.message, "notice": self.notice, "summary": self.summary(), "seconds": self.seconds,
            "unused_columns": list(self.unused_columns), "created": dict(self.created),
            "footers": [{"row_no": n, "text": t} for n, t in self.footers],
            "rows": [r.to_dict() for r in self.rows],
        }

    def save_xlsx(self, path: str | Path) -> Path:
        """The rows to fix (rejected and 需确认) with their original values and a 未通过原因 column,
        ready to be corrected and imported again; a second sheet lists every row's result."""
        p = Path(path)
        wb = Workbook(p)
        fix = [r for r in self.rows if r.status in ("rejected", "ask")]
        headers = list(self.headers)
        samples = [[r.raw[i] if i < len(r.raw) else None for r in fix[:50]] for i in range(len(headers))]
        cols = [Col(h, width_for(h, samples[i]), "raw") for i, h in enumerate(headers)]
        cols += [Col("未通过原因", 60, "text"), Col("原行号", 8, "int")]
        name = self.file_name or "导入文件"
        sheet = wb.sheet("需修正的行", cols, title=f"导入问题清单:{name}(共 {len(fix)} 行需修正,改正后可直接重新导入)")
        note_col = len(headers)
        for r in fix:
            values = [r.raw[i] if i < len(r.raw) else None for i in range(len(headers))]
            values += [r.detail, r.row_no]
            sheet.write_raw(values, bad=set(r.columns), note_col=note_col)
        sheet.autofilter()
        all_rows = wb.sheet("全部结果", [Col("原行号", 8, "int"), Col("结果", 8), Col("说明", 80)],
                            title=self.summary())
        for r in self.rows:
            all_rows.write([r.row_no, r.status_label, r.detail])
        all_rows.autofilter()
        changed = [r for r in self.rows if r.changes]
        if changed:
            state = {"updated": "已更新" if self.written else "将更新", "ask": "需确认"}
            detail = wb.sheet("逐项变化", [Col("原行号", 8, "int"), Col("结果", 8), Col("字段", 14),
                                           Col("原值", 24), Col("新值", 24), Col("处理", 40)],
                              title="已登记记录的逐项变化(证件号码和电话已脱敏)")
            for r in changed:
                for c in r.changes:
                    what = f"未更新:{c.kept}" if c.kept else state.get(r.status, r.status_label)
                    detail.write([r.row_no, r.status_label, c.label, c.old, c.new, what])
            detail.autofilter()
        wb.close()
        return p
