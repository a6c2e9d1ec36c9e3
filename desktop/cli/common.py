"""What every sub-command shares: opening the database as a user, passwords, kind arguments,
errors. Public: the core's, the app's and the server's registrations all use these."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from desktop import kinds
from desktop.paths import default_db_path


class CliError(Exception):
    """A mistake on the command line: one Chinese sentence, exit status 2."""


def password_for(args: argparse.Namespace, username: str) -> str:
    """The password of `username`: the first line on stdin (--password-stdin), else
    $GRIDLEDGER_PASSWORD, else a prompt. The first line is the password even when the variable
    is set, so what follows it on stdin (a --query-stdin query) never takes its place. The
    variable is for scripts that already keep it out of the shell history; typed as
    `GRIDLEDGER_PASSWORD=… gridledger …` it stays in that history."""
    import getpass

    if getattr(args, "password_stdin", False):
        cached = getattr(args, "_stdin_password", None)
        if cached is None:
            cached = sys.stdin.readline().rstrip("\n")
            args._stdin_password = cached
        return cached
    if os.environ.get("GRIDLEDGER_PASSWORD"):
        return os.environ["GRIDLEDGER_PASSWORD"]
    return getpass.getpass(f"用户 {username} 的密码:")


def stdin_lines(what: str) -> list[str]:
    """The non-empty lines of standard input, stripped: how personal data (ID numbers, names,
    search terms) reaches a command without showing in `ps` or the shell history. A password
    read with --password-stdin comes first and is not among them. `what` names the value
    ("检索词") for the messages."""
    wrong = f"标准输入不是 {sys.stdin.encoding or 'UTF-8'} 编码的文本,请转换编码后再输入{what}。"
    try:
        text = sys.stdin.read()
    except UnicodeDecodeError as exc:
        raise CliError(wrong) from exc
    if any("\udc80" <= c <= "\udcff" for c in text):  # bytes kept as surrogates (the C locale)
        raise CliError(wrong)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        raise CliError(f"标准输入中没有{what}:请每行输入一个{what}。")
    return lines


def db_path(args: argparse.Namespace) -> Path:
    return Path(args.db).expanduser() if getattr(args, "db", None) else default_db_path()


def open_store(args: argparse.Namespace, *, create: bool = False) -> Any:
    """Open the database; an encrypted one is unlocked with --user (or $GRIDLEDGER_USER) and
    that user's password."""
    from desktop.db.keys import is_encrypted
    from desktop.services.session import unlock
    from desktop.services.store import Store

    path = db_path(args)
    if is_encrypted(path):
        username = getattr(args, "user", None) or os.environ.get("GRIDLEDGER_USER")
        if not username:
            raise CliError("该数据库已加密:请用 --user 指定用户(或设置环境变量 GRIDLEDGER_USER)")
        store = Store.open(path, key=unlock(path, username, password_for(args, username)))
        # who unlocked is who acts: never the all-grids system actor behind a worker's password
        args.user = username
        return store
    return Store.open(path, create=create)


def actor_for(store: Any, username: str | None) -> Any:
    """The acting user (their role and grids), or the system actor when none is named."""
    from desktop.services.auth import actor_for as signed_actor
    from desktop.services.store import SYSTEM

    return signed_actor(store, username) if username else SYSTEM


def print_recovery_key(recovery_key: str) -> None:
    """The recovery key, shown once (it is not kept on the laptop): to be written down or printed
    and kept in the office safe."""
    print("恢复密钥(只显示这一次,请抄写或打印后锁在办公室保险柜里;忘记所有密码或密钥文件丢失时,"
          "凭它可以恢复本机数据库和备份):")
    print(f"    {recovery_key}")
    print("用法:gridledger keys recover --user 用户名(重建密钥文件),或 gridledger restore 备份文件 --recovery-key --yes。")


def print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def key_choice(titles: dict[str, str]) -> Any:
    """An argparse `type` for a kind or ledger key: the one spelling of desktop/kinds.py, or an
    old spelling (with a note on stderr naming the new one)."""

    def parse(text: str) -> str:
        key = kinds.canonical(text)
        if key not in titles:
            raise argparse.ArgumentTypeError(f"“{text}”不是可选的类型;可选:{kinds.choices_text(titles)}")
        note = kinds.alias_note(text)
        if note:
            print(note, file=sys.stderr)
        return key

    return parse
