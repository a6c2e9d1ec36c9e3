"""What a sync, a bundle or a reply did, in Chinese: one wording for the 同步 page, the laptop's
`gridledger sync` and the server's `import-bundle`."""

from __future__ import annotations

from typing import Any

from desktop import kinds
from desktop.kinds import label as kind_label

STATUS_LABELS = {
    "applied": "已应用", "merged": "已合并", "conflict": "有冲突(已记录,待网格长审核)",
    "duplicate": "重复(此前已收到)", "rejected": "被拒绝(已暂存待审核)",
    "deferred": "暂缓(在等同一记录更早的修改,或服务器上本机待审核的修改已满;下次同步时自动重传)",
}
KIND_ORDER = kinds.keys()


def kind_key(table: str) -> int:
    """Records listed in the order of the code (people before houses ...), unknown ones last."""
    return KIND_ORDER.index(table) if table in KIND_ORDER else len(KIND_ORDER)


def status_text(counts: dict[str, int]) -> str:
    """The server's answer per change, e.g. 已应用 12;有冲突(…) 1 ("无" when there was none)."""
    return ";".join(f"{STATUS_LABELS.get(k, k)} {v}" for k, v in sorted(counts.items())) or "无"


def kinds_text(counts: dict[str, int]) -> str:
    """Counts per kind of record, e.g. 人员 3、户 1."""
    return "、".join(f"{kind_label(t)} {n}" for t, n in sorted(counts.items(), key=lambda kv: kind_key(kv[0])))


def result_lines(result: dict[str, Any], *, per_kind: bool = True) -> list[str]:
    """One sync. `per_kind` names the kinds of record in the lines (the 同步 page shows a table
    beside them instead)."""
    pushed, pulled = result.get("pushed") or {}, result.get("pulled") or {}
    status = result.get("push_status") or {}
    detail = (lambda counts: f"({kinds_text(counts)})") if per_kind else (lambda counts: "")
    if pushed:
        lines = [f"已上传 {sum(pushed.values())} 条修改{detail(pushed)}:{status_text(status)}"]
    elif status:
        lines = [f"上传结果:{status_text(status)}"]
    else:
        lines = ["没有待上传的修改"]
    lines.append(f"已下载 {sum(pulled.values())} 条更新{detail(pulled)}" if pulled else "没有新的更新")
    if result.get("evicted"):
        lines.append(f"已从本机移除 {result['evicted']} 条不再属于您网格的记录(服务器上不受影响)")
    if result.get("blobs_up") or result.get("blobs_down"):
        lines.append(f"照片:上传 {result.get('blobs_up', 0)} 张,下载 {result.get('blobs_down', 0)} 张")
    if result.get("reenrolled"):
        if result.get("reenrol_reason") == "unregistered":
            lines.append("服务器上已没有本机的登记(例如服务器数据已重置),已重新登记为新设备(未丢失任何修改)")
        else:
            lines.append("本数据库文件是副本或备份,已重新登记为新设备(未丢失任何修改)")
    return lines


def reply_lines(res: dict[str, Any]) -> list[str]:
    """An imported reply bundle."""
    ack = res.get("acknowledged") or {}
    lines = [f"服务器已处理 {sum(ack.values())} 条修改:{status_text(ack)}"]
    if res.get("skipped"):
        lines.append("该回执包中的更新本机已经有了(重复导入不会改变任何数据)")
    else:
        pulled = res.get("pulled") or {}
        lines.append(f"已导入 {sum(pulled.values())} 条更新" + (f"({kinds_text(pulled)})" if pulled else ""))
    if res.get("blobs"):
        lines.append(f"已导入照片 {res['blobs']} 张")
    return lines
