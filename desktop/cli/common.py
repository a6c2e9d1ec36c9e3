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
    """The password of `username`: $GRIDLEDGER_PASSWORD, a line on stdin, or a prompt."""
    import getpass

    if os.environ.get("GRIDLEDGER_PASSWORD"):
        return os.environ["GRIDLEDGER_PASSWORD"]
    if getattr(args, "password_stdin", False):
        cached = getattr(args, "_stdin_password", None)
        if cached is None:
            cached = sys.stdin.readline().rstrip("\n")
            args._stdin_password = cached
        return cached
    return getpass.getpass(f"用户 {username} 的密码:")


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
