"""What an import did (or, for a dry run, would do) with every row of the file."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from desktop.exchange.fields import IMPORT_KINDS
from desktop.exchange.xlsxout import Col, Workbook, width_for

STATUSES = ("imported", "updated", "skipped", "rejected", "ask")
STATUS_LABELS = {"imported": "新增", "updated": "更新", "skipped": "跳过", "rejected": "错误", "ask": "需确认"}
ON_EXISTING = ("update", "skip", "ask")


@dataclass
class ImportOptions:
    """`default_grid_id`: grid for rows without a 网格 column value; `on_existing`: what to do with
    a row whose record is already registered (same ID number, plate, 户号...): "update" it,
    "skip" it, or "ask" (reported as 需确认, not written); `valid_only`: write the valid rows even
    when others are rejected (otherwise one rejected row keeps the whole file out)."""

    default_grid_id: str | None = None
    on_existing: str = "update"  # update | skip | ask
    valid_only: bool = False


class RowResult:
    """One data row of the file: its 1-based row number in the file, what happened to it
    ("imported" | "updated" | "skipped" | "rejected" | "ask"), Chinese messages (the reasons
    for a rejection, or notes such as a 15-digit ID number upgraded), and `values`: the row's
    original cells by column header."""

    __slots__ = ("row_no", "status", "messages", "raw", "headers", "columns", "record_id")

    def __init__(self, row_no: int, raw: list[Any], headers: list[str]) -> None:
        self.row_no = row_no
        self.status = "imported"
        self.messages: list[str] = []
        self.raw = raw
        self.headers = headers
        self.columns: list[int] = []  # indexes of the columns a problem was found in
        self.record_id: str | None = None

    @property
    def values(self) -> dict[str, Any]:
        return {h: self.raw[i] if i < len(self.raw) else None for i, h in enumerate(self.headers)}

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    def to_dict(self) -> dict[str, Any]:
        return {
            "row_no": self.row_no, "status": self.status, "status_label": self.status_label,
            "messages": list(self.messages), "record_id": self.record_id,
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
        what = IMPORT_KINDS.get(self.kind, self.kind)
        head = "检查结果" if self.dry_run else ("已导入" if self.written else "未导入")
        text = (f"{head}({what}):共 {self.total} 行,新增 {c['imported']},更新 {c['updated']},"
                f"跳过 {c['skipped']}" + (f"(其中需确认 {c['ask']})" if c["ask"] else "")
                + f",错误 {c['rejected']}")
        return text + (f"。{self.message}" if self.message else "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "kind_label": IMPORT_KINDS.get(self.kind, self.kind), "file": self.file_name,
            "total": self.total, "counts": dict(self.counts), "written": self.written, "dry_run": self.dry_run,
            "message": self.message, "summary": self.summary(), "seconds": self.seconds,
            "unused_columns": list(self.unused_columns), "created": dict(self.created),
            "rows": [r.to_dict() for r in self.rows],
        }

    def save_xlsx(self, path: str | Path) -> Path:
        """The rows to fix (rejected and 需确认) with their original values and a 错误原因 column,
        ready to be corrected and imported again; a second sheet lists every row's result."""
        p = Path(path)
        wb = Workbook(p)
        fix = [r for r in self.rows if r.status in ("rejected", "ask")]
        headers = list(self.headers)
        samples = [[r.raw[i] if i < len(r.raw) else None for r in fix[:50]] for i in range(len(headers))]
        cols = [Col(h, width_for(h, samples[i]), "raw") for i, h in enumerate(headers)]
        cols += [Col("错误原因", 60, "text"), Col("原行号", 8, "int")]
        name = self.file_name or "导入文件"
        sheet = wb.sheet("需修正的行", cols, title=f"导入问题清单:{name}(共 {len(fix)} 行需修正,改正后可直接重新导入)")
        note_col = len(headers)
        for r in fix:
            values = [r.raw[i] if i < len(r.raw) else None for i in range(len(headers))]
            values += ["；".join(r.messages), r.row_no]
            sheet.write_raw(values, bad=set(r.columns), note_col=note_col)
        sheet.autofilter()
        all_rows = wb.sheet("全部结果", [Col("原行号", 8, "int"), Col("结果", 8), Col("说明", 80)],
                            title=self.summary())
        for r in self.rows:
            all_rows.write([r.row_no, r.status_label, "；".join(r.messages)])
        all_rows.autofilter()
        wb.close()
        return p
