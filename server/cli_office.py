"""The office's server commands: `gridledger server conflicts|resolve|devices|revoke-device|
backup|restore` (the use cases: server.office). Registered by server/cli.py."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from desktop.cli.common import CliError
from desktop.policy import role_label

CONFLICT_KINDS = {"field": "字段冲突", "delete_edit": "删除与修改冲突", "rejected": "暂存待审"}
DEVICE_STATES = {"active": "在用", "disabled": "已停用", "revoked": "已吊销"}


def _short(value: Any, limit: int = 40) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
    return text if len(text) <= limit else text[: limit - 1] + "…"


def print_users(users: list[dict[str, Any]], *, as_json: bool = False) -> None:
    if as_json:
        print(json.dumps(users, ensure_ascii=False, indent=2))
        return
    for u in users:
        areas = "、".join(f"{a['code']} {a['name']}" for a in u["areas"]) or "(全部网格)"
        state = "" if u["active"] else "  [已停用]"
        print(f"{u['username']:<12} {u['display_name']:<8} {role_label(u['role']):<8} {areas}{state}")


def _print_conflicts(rows: list[dict[str, Any]]) -> None:
    from desktop import kinds

    if not rows:
        print("没有符合条件的冲突。")
        return
    for c in rows:
        grid = f"{c['grid']['code']} {c['grid']['name']}" if c["grid"] else (c["grid_id"] or "全社区")
        fields = "、".join(kinds.field_label(c["table"], f) for f in (c["fields"] or []))
        print(f"#{c['id']:<5} {CONFLICT_KINDS.get(c['kind'], c['kind'])}  {c['kind_label']}  网格 {grid}  "
              f"字段 {fields}  [{c['status']}]")
        srv, lap = c["server"], c["client"]
        if c["kind"] != "rejected":
            print(f"       服务器:{_short(srv['value'])}({srv['by'] or '?'} {str(srv['at'] or '')[:19]})")
        print(f"       电脑:  {_short(lap['value'] if c['kind'] != 'rejected' else (c['change'] or {}).get('fields'))}"
              f"({lap['by'] or '?'} {str(lap['at'] or '')[:19]})")
        if c["reason"]:
            print(f"       说明:{c['reason']}")


def _print_devices(rows: list[dict[str, Any]]) -> None:
    if not rows:
        print("还没有电脑登记过。")
        return
    for d in rows:
        unsent = "未上报" if d["unsent_changes"] is None else str(d["unsent_changes"])
        to_pull = "?" if d["to_pull"] is None else str(d["to_pull"])
        print(f"{d['id'][:8]}  {d['username']}({d['display_name']})  {d['name'] or '(未命名)'}  "
              f"{DEVICE_STATES[d['state']]}")
        print(f"          最近同步 {d['last_sync'] or '从未'}  最近上传 {d['last_push'] or '从未'}  "
              f"数据库结构版本 {d['schema_version'] if d['schema_version'] is not None else '?'}  "
              f"待上传 {unsent}  其后服务器新提交 {to_pull}  暂存待审 {d['set_aside']}")


def cmd_office(args: argparse.Namespace) -> int:
    from server import office
    from server.service import ApiError

    url = args.office_database(args)
    try:
        if args.server_command == "restore":
            return _restore(args, url)
        if args.server_command == "backup":
            return _backup(args, url)
        _existing(url)
        store = args.office_open(args)
        try:
            if args.server_command == "conflicts":
                rows = office.conflicts(store, kind=args.kind, grid=args.grid, status=args.status)
                if args.json:
                    print(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
                else:
                    _print_conflicts(rows)
            elif args.server_command == "resolve":
                result = office.resolve(store, args.id, keep=args.keep, value=args.value)
                outcome = result.get("result") or {}
                print(f"冲突 {args.id} 已处理" + (f":记录已更新(版本 {outcome['version']}),各电脑下次同步时收到。"
                                                  if outcome.get("version") else ":记录保持原样。"))
            elif args.server_command == "devices":
                rows = office.devices(store)
                if args.json:
                    print(json.dumps(rows, ensure_ascii=False, indent=2))
                else:
                    _print_devices(rows)
            elif args.server_command == "revoke-device":
                dev = office.revoke_device(store, args.id)
                if dev["already"]:
                    print(f"设备 {dev['id'][:8]}({dev['username']} 的 {dev['name'] or '电脑'})早已吊销。")
                else:
                    print(f"已吊销设备 {dev['id'][:8]}({dev['username']} 的 {dev['name'] or '电脑'}):"
                          "它的登录凭据从现在起被拒绝;该用户如需继续同步,要在电脑上重新登记。")
        finally:
            store.close()
    except ApiError as exc:
        raise CliError(exc.message) from exc
    return 0


def _existing(url: str) -> None:
    """The office's commands work on the server's database: a missing SQLite file is a wrong
    address, never a new empty database."""
    from server.schema import sqlite_path

    path = sqlite_path(url)
    if path is not None and not path.is_file():
        raise CliError(f"找不到服务器数据库 {path}:请用 --database 或环境变量 GRIDLEDGER_SERVER_DB 指定正确的数据库。")


def _backup(args: argparse.Namespace, url: str) -> int:
    from server import office
    from server.store import ServerStore

    _existing(url)
    try:
        store = ServerStore(url, create=False)  # read only: a backup never upgrades the schema
    except Exception as exc:
        raise CliError(f"无法打开服务器数据库 {args.office_shown(url)}:{exc}。") from exc
    try:
        target = office.backup(store, Path(args.out) if args.out else None)
    finally:
        store.close()
    print(f"已备份服务器数据库到 {target}(已检查可用)。恢复:gridledger server restore {target}")
    return 0


def _restore(args: argparse.Namespace, url: str) -> int:
    from server import office

    _shown = args.office_shown
    source = Path(args.file)
    if not args.yes:
        office.check_backup(source, sqlite=url.startswith("sqlite"))
        raise CliError(f"恢复会用 {source} 替换服务器数据库 {_shown(url)} 的全部内容:确认无误后加上 --yes 再运行。数据库未改动。")
    safety = office.restore(url, source)
    print(f"已从 {source} 恢复服务器数据库 {_shown(url)}。"
          + (f"恢复前的数据库已另存为 {safety}。" if safety else "")
          + "各电脑下次同步时会自动对齐;恢复点之后上传的修改会由电脑重新上传。", file=sys.stdout)
    return 0


def register(ss: Any, *, open_store: Callable[[argparse.Namespace], Any],
             database: Callable[[argparse.Namespace], str], shown: Callable[[str], str]) -> None:
    """Add the office's commands to `gridledger server`; server/cli.py hands over how it finds,
    opens and prints the database (`--database`, GRIDLEDGER_SERVER_DB)."""
    helpers = {"office_open": open_store, "office_database": database, "office_shown": shown}
    c = ss.add_parser("conflicts", help="列出同步冲突")
    c.add_argument("--kind", help="数据种类(如 person、人员、vehicle)")
    c.add_argument("--grid", help="网格代码或编号")
    c.add_argument("--status", choices=["open", "resolved", "all"], default="open", help="默认只列未处理的")
    c.add_argument("--json", action="store_true", help="以 JSON 输出")
    c.set_defaults(func=cmd_office, **helpers)
    r = ss.add_parser("resolve", help="处理一条同步冲突")
    r.add_argument("id", type=int, help="冲突编号(见 gridledger server conflicts)")
    how = r.add_mutually_exclusive_group(required=True)
    how.add_argument("--keep", choices=["server", "laptop"], help="保留服务器上的或网格员电脑上的内容")
    how.add_argument("--value", help="字段冲突:填写新值(多个字段时写 字段=值)")
    r.set_defaults(func=cmd_office, **helpers)
    d = ss.add_parser("devices", help="列出登记的电脑:谁、何时同步、数据库结构版本、待上传")
    d.add_argument("--json", action="store_true", help="以 JSON 输出")
    d.set_defaults(func=cmd_office, **helpers)
    v = ss.add_parser("revoke-device", help="吊销一台电脑(其登录凭据立即失效)")
    v.add_argument("id", help="设备编号(至少前 8 位,见 gridledger server devices)")
    v.set_defaults(func=cmd_office, **helpers)
    b = ss.add_parser("backup", help="在线备份服务器数据库(SQLite 在线复制;PostgreSQL 用 pg_dump)")
    b.add_argument("--out", help="备份文件(默认:SQLite 为数据库旁的 backups 文件夹,PostgreSQL 为当前文件夹)")
    b.set_defaults(func=cmd_office, **helpers)
    o = ss.add_parser("restore", help="从备份恢复服务器数据库(须先停止服务器)")
    o.add_argument("file", help="备份文件")
    o.add_argument("--yes", action="store_true", help="确认替换服务器数据库的全部内容")
    o.set_defaults(func=cmd_office, **helpers)
