"""`gridledger sync`: one-shot or scheduled sync with a server, or through bundle files (registered as `sync`)."""

from __future__ import annotations

import argparse
import contextlib
import getpass
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

from desktop.cli.common import CliError, open_store, password_for, print_recovery_key


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin or getattr(args, "_stdin_password", None) is not None:
        pw = password_for(args, args.user)  # the same line that unlocked an encrypted file
    else:
        pw = getpass.getpass(f"用户 {args.user} 的密码:")
    if not pw:
        raise CliError("未输入密码")
    return pw


def _progress(quiet: bool) -> Any:
    last = [0.0]

    def show(stage: str, done: int, total: int) -> None:
        if quiet:
            return
        now = time.monotonic()
        if now - last[0] < 0.5 and done != total:
            return
        last[0] = now
        text = f"{stage} {done}/{total}" if total else f"{stage} {done}"
        print(f"\r{text:<40}", end="", file=sys.stderr, flush=True)

    return show


def _remove_new_laptop(path: Path) -> None:
    from desktop.db.keys import keyring_path
    from desktop.sync.lock import lock_path

    for p in (path, keyring_path(path), Path(str(path) + "-wal"), Path(str(path) + "-shm"),
              lock_path(Path(os.path.realpath(path)))):
        p.unlink(missing_ok=True)


def cmd_sync(args: argparse.Namespace) -> int:
    from desktop.paths import default_db_path
    from desktop.sync import bundle_sync
    from desktop.sync.lock import SyncLocked, holding

    path = Path(args.db).expanduser() if args.db else default_db_path()
    if args.bundle_out or args.bundle_in:
        from desktop.db.lock import refuse_while_replacing

        refuse_while_replacing(path, "同步")
        store = open_store(args)
        try:
            return _bundle(args, store)
        except bundle_sync.BundleRefused as exc:
            raise CliError(str(exc)) from exc
        finally:
            store.close()
    if not args.server or not args.user:
        raise CliError("请用 --server 和 --user 指定服务器地址和用户,或用 --bundle-out / --bundle-in")
    _check_trust(args)  # before any file is created or any password asked for
    path.parent.mkdir(parents=True, exist_ok=True)
    # the sync lock from before a new laptop file is made until the first sync ends: a second
    # `gridledger sync` of the same file meanwhile neither creates, encrypts nor enrols it
    first = contextlib.ExitStack()
    try:
        try:
            first.enter_context(holding(path))
        except SyncLocked as exc:
            print(f"同步失败:{exc}", file=sys.stderr)
            return 3
        from desktop.db.lock import refuse_while_replacing

        refuse_while_replacing(path, "同步")  # an encryption or restore elsewhere would rename over it
        return _sync(args, path, first)
    finally:
        first.close()


def _check_trust(args: argparse.Namespace) -> None:
    from desktop.sync import trust

    if "://" not in args.server:
        raise CliError(f"服务器地址 {args.server} 缺少开头的 https:// 或 http://:"
                       "请照社区办公室给出的地址完整填写,例如 https://192.168.1.10:8765")
    if args.fingerprint:
        try:
            args.fingerprint = trust.normalise_fingerprint(args.fingerprint)
        except ValueError as exc:
            raise CliError(str(exc)) from exc
        if not trust.is_protected(args.server):
            raise CliError(f"--fingerprint 只用于加密地址(https://),而 {args.server} 是未加密地址:"
                           "请改用服务器的 https:// 地址。")
    if trust.needs_insecure(args.server):
        if not args.insecure:
            raise CliError(trust.insecure_warning(args.server))
        print(f"警告:连接未加密,登录密码和居民的个人信息会以明文经过网络({args.server})。", file=sys.stderr)


def _bundle(args: argparse.Namespace, store: Any) -> int:
    from desktop.sync import bundle_sync

    if args.bundle_out:
        info = bundle_sync.export_bundle(store, Path(args.bundle_out))
        print(f"已写出同步包:{args.bundle_out}(修改 {info['changes']} 条,照片 {info['blobs']} 张)")
        print("请带到社区用 gridledger server import-bundle 导入,再把回执包带回用 --bundle-in 导入。")
        return 0
    res = bundle_sync.import_reply(store, Path(args.bundle_in))
    from desktop.sync.summary import reply_lines

    for line in reply_lines(res):
        print(line)
    return 0


def _sync(args: argparse.Namespace, path: Path, first: contextlib.ExitStack) -> int:
    from desktop.sync.client import SyncClient, SyncError

    new_laptop = not path.exists() and not args.no_encrypt
    store = open_store(args, create=True)
    try:
        password = _password(args)
        if new_laptop:
            # a new laptop is encrypted before anything arrives (nothing personal is ever written
            # to it in the clear); the local user's role and grids come from the server's answer
            from desktop.policy import Role
            from desktop.services.auth import hash_password
            from desktop.services.session import LocalDatabase, encrypt
            from desktop.sync.replica import set_local_user

            set_local_user(store, {"username": args.user, "role": Role.GRID_WORKER.value, "grids": []}, hash_password(password))
            store.close()
            done = encrypt(path, args.user, password, sync_held=True)  # this command holds the sync lock
            for p in (done.backup, Path(f"{done.backup}.keys")):  # the backup of an empty file
                p.unlink(missing_ok=True)
            store, _ = LocalDatabase(path).open(args.user, password)
            print(f"本机数据库已加密({path.name};解锁密码即 {args.user} 的密码)")
            print_recovery_key(done.recovery_key)
        while True:
            cancel = threading.Event()
            client = SyncClient(store, args.server, args.user, password, progress=_progress(args.quiet), cancel=cancel,
                                fingerprint=args.fingerprint, insecure=args.insecure)
            try:
                result = client.run().as_dict()
            except SyncError as exc:
                if not args.quiet:
                    print(file=sys.stderr)
                print(f"同步失败:{exc}", file=sys.stderr)
                if new_laptop and not store.meta("sync_device_id"):
                    # never enrolled: the password was not confirmed by the server and nothing
                    # arrived, so the new file is removed (a mistyped password is not locked in)
                    store.close()
                    _remove_new_laptop(path)
                    print(f"新建的本机数据库 {path.name} 已删除(其中还没有任何数据),核对后重新同步即可。", file=sys.stderr)
                    return 3
                if not args.every:
                    return 3
                result = None
            finally:
                client.close()
                first.close()  # later rounds of --every take the lock each time, not in between
            new_laptop = False
            if result is not None:
                if not args.quiet:
                    print(file=sys.stderr)
                if args.json:
                    print(json.dumps(result, ensure_ascii=False))
                else:
                    from desktop.sync.summary import result_lines

                    for line in result_lines(result):
                        print(line)
            if not args.every:
                return 0
            time.sleep(args.every * 60)
    finally:
        store.close()


def register(sub: Any, root: argparse.ArgumentParser | None = None) -> None:
    p = sub.add_parser("sync", help="与社区服务器同步(或通过同步包文件)")
    p.add_argument("--server", help="服务器地址,例如 https://192.168.1.10:8765")
    p.add_argument("--fingerprint", metavar="HEX",
                   help="服务器证书的 SHA-256 指纹(社区办公室给出;冒号可有可无,不分大小写):"
                        "首次登记时预先提供,或在服务器证书更换后重新核对")
    p.add_argument("--insecure", action="store_true",
                   help="允许未加密的 http:// 地址(密码和个人信息会以明文经过网络;仅限临时使用)")
    p.add_argument("--user", help="服务器上的用户名")
    p.add_argument("--password-stdin", action="store_true", help="从标准输入读取密码")
    p.add_argument("--every", type=float, metavar="MINUTES", help="每隔若干分钟自动同步一次(不退出)")
    p.add_argument("--bundle-out", metavar="FILE", help="把待上传的修改写成同步包(无网络时用 U 盘带到社区)")
    p.add_argument("--bundle-in", metavar="FILE", help="导入社区服务器给出的回执包")
    p.add_argument("--json", action="store_true")
    p.add_argument("--quiet", action="store_true", help="不显示进度")
    p.add_argument("--no-encrypt", action="store_true", help="新建的本机数据库不加密(默认加密)")
    p.set_defaults(func=cmd_sync)
