"""`gridledger serve` and `gridledger server add-user|set-grids|disable-user|import-bundle|...`."""

from __future__ import annotations

import argparse
import gc
import getpass
import json
import os
import sys
from pathlib import Path
from typing import Any

from desktop.cli.common import CliError
from desktop.policy import ROLES, Role
from server import cli_import

DEFAULT_DB = "sqlite:///gridledger-server.db"


def _database(args: argparse.Namespace) -> str:
    return args.database or os.environ.get("GRIDLEDGER_SERVER_DB") or DEFAULT_DB


def _shown(url: str) -> str:
    """The database address as it may be printed: without its password."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url if "@" not in url else "(无法识别的数据库地址)"


def _open(args: argparse.Namespace) -> Any:
    from server.store import ServerStore

    try:
        return ServerStore(_database(args))
    except Exception as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise CliError(f"无法打开服务器数据库 {_shown(_database(args))}:{reason}。"
                       "请检查数据库地址、数据库服务是否在运行以及访问权限。") from exc


def _first_syncs(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        n = -1
    if not 0 <= n <= 10_000:
        raise argparse.ArgumentTypeError(f"“{value}”不是 0 到 10000 之间的整数(0 表示不限)")
    return n


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from server.app import ConfigError, Settings, create_app
    from server.secret_key import read_secret_file

    try:
        secret = read_secret_file(args.secret_file) if args.secret_file else None
        settings = Settings.load(_database(args), secret=secret, development=args.dev, host=args.host,
                                 source=f"密钥文件 {args.secret_file} " if args.secret_file else None,
                                 first_syncs=args.first_syncs)
    except ConfigError as exc:
        raise CliError(str(exc)) from exc
    store = _open(args)
    app = create_app(settings, store)
    print(f"网格台账同步服务器:http://{args.host}:{args.port}{'/api/v1/docs'}(数据库 {_shown(_database(args))})",
          file=sys.stderr, flush=True)
    if settings.development:
        print("开发模式:使用公开的开发密钥,只能从本机访问;正式使用请去掉 --dev 并用 --secret-file 提供随机密钥。",
              file=sys.stderr, flush=True)
    # Everything loaded so far lives as long as the process: out of the garbage collector's sight,
    # a collection no longer walks it (a first push of a street allocates millions of objects,
    # and each full collection walked the whole app again: a third of the time of reading a page).
    gc.collect()
    gc.freeze()
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", workers=1)
    return 0


def _read_password(args: argparse.Namespace, username: str) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass(f"为 {username} 设置密码:")
    if getpass.getpass("再输入一次:") != first:

        raise CliError("两次输入的密码不一致")
    return first


def _split(value: str | None) -> list[str]:
    return [v for v in (value or "").replace(",", ",").split(",") if v.strip()]


def cmd_server(args: argparse.Namespace) -> int:
    from server import service
    from server.service import ApiError

    store = _open(args)
    try:
        if args.server_command == "add-user":
            service.add_user(store, args.username, _read_password(args, args.username), args.role,
                             display_name=args.name, areas=_split(args.grids))
            print(f"已添加用户 {args.username}({args.role})")
        elif args.server_command == "set-grids":
            ids = service.set_areas(store, args.username, _split(args.grids))
            print(f"已设置 {args.username} 的网格:{len(ids)} 个")
        elif args.server_command == "disable-user":
            service.set_active(store, args.username, False)
            print(f"已停用用户 {args.username}(其设备也已停用)")
        elif args.server_command == "enable-user":
            service.set_active(store, args.username, True)
            print(f"已启用用户 {args.username}")
        elif args.server_command == "set-password":
            service.set_password(store, args.username, _read_password(args, args.username))
            print(f"已修改 {args.username} 的密码")
        elif args.server_command == "list-users":
            print(json.dumps(service.list_users(store), ensure_ascii=False, indent=2))
        elif args.server_command == "audit":
            from server.store import Scope

            rows = service.list_audit(store, Scope("admin", Role.SUPERVISOR, None), actor=args.actor,
                                      action=args.action, limit=args.limit)
            for r in rows:
                print(f"{r['at'][:19]}  {r['actor']:<12} {r['action']:<16} {(r['summary'] or ''):<24} "
                      f"{r['entity'] or ''} {r['entity_id'] or ''}  设备 {(r['device_id'] or '')[:8]}"
                      + service.audit_claims(r))
        elif args.server_command == "stats":
            print(json.dumps(service.stats(store), ensure_ascii=False, indent=2))
        elif args.server_command == "import-bundle":
            from server.bundle_import import import_bundle

            reply = Path(args.reply) if args.reply else Path(args.file).with_name(Path(args.file).stem + "-回执.glb")
            summary = import_bundle(store, Path(args.file), reply)
            for line in summary["lines"]:
                print(line)
            print(f"回执包:{reply}(请带回网格员电脑,用 gridledger sync --bundle-in 导入)")
    except ApiError as exc:
        raise CliError(exc.message) from exc
    finally:
        store.close()
    return 0


def register(sub: Any, root: argparse.ArgumentParser | None = None) -> None:
    s = sub.add_parser("serve", help="运行社区同步服务器")
    s.add_argument("--database", help=f"数据库地址(默认 {DEFAULT_DB};PostgreSQL:postgresql+psycopg://...)")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8765)
    s.add_argument("--secret-file", help="令牌签名密钥文件(或环境变量 GRIDLEDGER_SECRET)")
    s.add_argument("--dev", action="store_true", help="开发模式:使用公开的开发密钥,只能监听本机地址")
    s.add_argument("--first-syncs", type=_first_syncs, default=8, metavar="N",  # server.admission.DEFAULT_LIMIT
                   help="同时进行首次同步的电脑最多 N 台(默认 8;0 表示不限),其余的稍后自动重试")
    s.set_defaults(func=cmd_serve)

    a = sub.add_parser("server", help="服务器管理:用户、网格、同步包")
    a.add_argument("--database", help=f"服务器数据库地址(默认 {DEFAULT_DB})")
    ss = a.add_subparsers(dest="server_command", required=True)
    u = ss.add_parser("add-user", help="添加用户")
    u.add_argument("username")
    u.add_argument("--role", required=True, choices=list(ROLES),
                   help="角色:" + "、".join(f"{c}({n})" for c, n in ROLES.items()))
    u.add_argument("--name", help="姓名")
    u.add_argument("--grids", help="网格(网格员)或社区(管理员、网格长)的代码或编号,逗号分隔")
    u.add_argument("--password-stdin", action="store_true")
    g = ss.add_parser("set-grids", help="设置用户负责的网格")
    g.add_argument("username")
    g.add_argument("grids", help="网格代码或编号,逗号分隔")
    for name, helptext in (("disable-user", "停用用户"), ("enable-user", "启用用户")):
        d = ss.add_parser(name, help=helptext)
        d.add_argument("username")
    pw = ss.add_parser("set-password", help="修改用户密码")
    pw.add_argument("username")
    pw.add_argument("--password-stdin", action="store_true")
    ss.add_parser("list-users", help="列出用户")
    cli_import.register(ss, _open)  # server import: a ledger file straight into the server (server/cli_import.py)
    ss.add_parser("stats", help="服务器数据统计")
    au = ss.add_parser("audit", help="审计记录(服务器与各台电脑同步上来的)")
    au.add_argument("--actor")
    au.add_argument("--action", help="例如 reveal、print、export、purge")
    au.add_argument("--limit", type=int, default=200)
    b = ss.add_parser("import-bundle", help="导入网格员的同步包,并写出回执包")
    b.add_argument("file")
    b.add_argument("--reply", help="回执包路径(默认与同步包同目录)")
    a.set_defaults(func=cmd_server)
