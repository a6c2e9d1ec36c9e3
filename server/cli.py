"""`gridledger serve` and `gridledger server add-user|set-grids|disable-user|import-bundle|...`."""

from __future__ import annotations

import argparse
import gc
import getpass
import json
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any

from desktop.cli.common import CliError
from desktop.policy import ROLES, Role
from server import cli_import, cli_tls
from server.cli_tls import add_serve_options, serve_tls

DEFAULT_DB = "sqlite:///gridledger-server.db"
GRACE_SECONDS = 60  # on SIGTERM, how long requests in flight may still take


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


def _open(args: argparse.Namespace, application_name: str = "gridledger") -> Any:
    from server.schema import SchemaError
    from server.store import ServerStore

    try:
        return ServerStore(_database(args), application_name=application_name)
    except SchemaError as exc:
        raise CliError(str(exc)) from exc
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
    from server.logs import configure
    from server.running import SERVE_APPLICATION, hold_serving

    try:
        restore_logging = configure(log_file=args.log_file)
    except OSError as exc:
        raise CliError(f"无法写入日志文件 {args.log_file}:{exc.strerror or exc}") from exc
    log = logging.getLogger("server")
    try:
        tls = serve_tls(args)  # checked before anything is opened or started
        store = _open(args, SERVE_APPLICATION)
        serving = hold_serving(_database(args))  # `server restore` refuses while this is held
        app = create_app(settings, store)
        from desktop.services.diagnostics import environment

        log.info("server start-up: %s", json.dumps(
            {**environment(), "database": _shown(_database(args)), "development": settings.development,
             "tls": bool(tls)}, ensure_ascii=False, sort_keys=True))
        # (through the log: every line on stderr is one JSON object, for whatever collects them)
        log.info("网格台账同步服务器:%s://%s:%s/api/v1/docs(数据库 %s)", "https" if tls else "http", args.host,
                 args.port, _shown(_database(args)))
        if settings.development:
            log.warning("开发模式:使用公开的开发密钥,只能从本机访问;正式使用请去掉 --dev 并用 --secret-file 提供随机密钥。")
        # Everything loaded so far lives as long as the process: out of the garbage collector's sight,
        # a collection no longer walks it (a first push of a street allocates millions of objects,
        # and each full collection walked the whole app again: a third of the time of reading a page).
        gc.collect()
        gc.freeze()
        # and a collection every 100,000 new objects rather than 700: a push page of 2000 changes
        # makes a few hundred thousand (its decoded body, the merged records), a tenth of its time
        # went to collections that found nothing to free
        gc.set_threshold(100_000, 20, 10)
        # SIGTERM or Ctrl+C: stop accepting, let the requests in flight (a push is one transaction)
        # finish for up to GRACE_SECONDS, then exit 0. uvicorn handles the signal while it serves and
        # raises it again once stopped: our handler then only marks the stop (no exit by the signal),
        # and a signal that comes while the server is still starting stops it as soon as it is up.
        # log_config None: uvicorn's own lines go through the JSON handlers too (its access log is off:
        # RequestLog writes one line per request, with the route's template instead of the raw path)
        server = uvicorn.Server(uvicorn.Config(app, host=args.host, port=args.port, log_level="info", log_config=None,
                                               access_log=False, workers=1,
                                               timeout_graceful_shutdown=GRACE_SECONDS, **tls))

        def stop(signum: int, frame: Any) -> None:
            server.should_exit = True

        previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            server.run()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        store.close()
        if serving is not None:
            serving.close()
        log.info("网格台账同步服务器已停止。")
    finally:
        restore_logging()
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
            from server.cli_office import print_users

            print_users(service.list_users(store), as_json=args.json)
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
    add_serve_options(s)
    s.add_argument("--log-file", help="同时把日志写入该文件(每行一个 JSON,轮换保留 5 个、每个 2 MB;默认只写到标准错误)")
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
    lu = ss.add_parser("list-users", help="列出用户(含负责的网格代码和名称)")
    lu.add_argument("--json", action="store_true", help="以 JSON 输出")
    cli_import.register(ss, _open)  # server import: a ledger file straight into the server (server/cli_import.py)
    ss.add_parser("stats", help="服务器数据统计")
    au = ss.add_parser("audit", help="审计记录(服务器与各台电脑同步上来的)")
    au.add_argument("--actor")
    au.add_argument("--action", help="例如 reveal、print、export、purge")
    au.add_argument("--limit", type=int, default=200)
    b = ss.add_parser("import-bundle", help="导入网格员的同步包,并写出回执包")
    b.add_argument("file")
    b.add_argument("--reply", help="回执包路径(默认与同步包同目录)")
    cli_tls.register(ss)
    a.set_defaults(func=cmd_server)
    from server import cli_office

    cli_office.register(ss, open_store=_open, database=_database, shown=_shown)
