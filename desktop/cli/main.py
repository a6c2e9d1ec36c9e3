"""Assembling the `gridledger` parser from the registrations of the entry-point group
``gridledger.commands``, and running the chosen command.

A registration is ``register(sub, root)``: it adds its sub-commands to `sub` (argparse's
sub-parsers) and may set `root`'s default (the desktop app makes `gui` the default). The core's
registrations come first, then the others by name. A registration that cannot be loaded (a part
not installed) is left out and logged; the others still work.

Every failure is caught here, once: a CliError, a ServiceError, and any storage or file failure
(desktop.db.failures: a damaged, read-only, locked or missing file, a full disk, an odd path)
becomes one Chinese sentence “错误:…” on stderr and exit status 2; anything else (a bug) one
sentence naming the log file and exit status 1. Tracebacks go to the rotating log file
(desktop.paths.start_log_file), never to the terminal. Ctrl-C exits 130 with “已取消。”.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any

from desktop import APP_TITLE, __version__, disable_core_dumps, private_files
from desktop.cli.common import CliError, db_path
from desktop.paths import ENV_DB, start_log_file
from desktop.services.errors import ServiceError
from desktop.services.failures import unexpected, user_message

GROUP = "gridledger.commands"
CORE = ("core", "print", "exchange", "sync")  # the core's own registrations, in this order
log = logging.getLogger(__name__)


def registrations() -> list[EntryPoint]:
    eps = list(entry_points(group=GROUP))
    return sorted(eps, key=lambda ep: (CORE.index(ep.name) if ep.name in CORE else len(CORE), ep.name))


def build_parser(extra: Sequence[Callable[[Any, argparse.ArgumentParser], None]] = ()) -> argparse.ArgumentParser:
    """The whole command line. `extra` registrations (tests) are added after the installed ones."""
    p = argparse.ArgumentParser(prog="gridledger", description=f"{APP_TITLE}:一标三实与入户走访台账")
    p.add_argument("--version", action="version", version=f"gridledger {__version__}")
    p.add_argument("--db", help=f"数据库文件(默认:环境变量 {ENV_DB} 或用户数据目录)")
    sub = p.add_subparsers(dest="command")
    for ep in registrations():
        try:
            register = ep.load()
        except ImportError:  # that part is not installed (e.g. the desktop app's bundle has no server)
            # to the log file when one is set up, never to the user's terminal
            log.info("command registration %s (%s) left out", ep.name, ep.value, exc_info=True)
            continue
        register(sub, p)
    for register in extra:
        register(sub, p)
    return p


def _no_command(args: argparse.Namespace) -> int:
    raise CliError("请指定要执行的命令(gridledger --help 列出全部命令)")


def main(argv: Sequence[str] | None = None) -> int:
    private_files()  # 0600 files in 0700 folders (POSIX): residents' data and keys
    disable_core_dumps()  # before anything holds a key or a record
    start_log_file()
    parser = build_parser()
    args = parser.parse_args(argv)
    from desktop.services.diagnostics import basics

    # the command's name and the versions; the database, when one is opened, logs its own line
    log.info("gridledger %s start-up: %s", args.command or "gui", json.dumps(basics(), sort_keys=True))
    if args.db:
        os.environ.setdefault(ENV_DB, args.db)
    func = getattr(args, "func", _no_command)
    try:
        with _database_use(args):
            return int(func(args) or 0)
    except KeyboardInterrupt:
        print("已取消。", file=sys.stderr)
        return 130
    except CliError as exc:
        print(f"错误:{exc}", file=sys.stderr)
        return 2
    except EOFError:  # a prompt (a password) on a closed stdin
        print("错误:没有读到需要的输入(标准输入已关闭),操作没有执行。请在终端中运行,或用 --password-stdin "
              "从标准输入提供密码。", file=sys.stderr)
        return 2
    except Exception as exc:  # the one place: storage and file failures become one sentence
        message = user_message(exc, _db_of(args))
        if message is None:  # a bug: its traceback goes to the log file, never to the terminal
            log.error("gridledger %s failed", args.command, exc_info=exc)
            print(f"错误:{unexpected(exc)}", file=sys.stderr)
            return 1
        if not isinstance(exc, ServiceError):
            log.warning("gridledger %s: %s", args.command, message, exc_info=exc)
        print(f"错误:{message}", file=sys.stderr)
        return 2


# Commands that write the local database hold its lock for their run (docs/design/STORAGE.md
# § One writer process): encrypting or restoring never replaces the file under them. The others
# only finish or undo what an interrupted conversion left, when nobody holds the lock.
# `sync` is not among them: it holds its own lock per round (desktop/sync/lock.py; a `sync --every`
# running all day must not keep the app from starting), which encrypt and restore also respect.
WRITING = frozenset({"init", "demo", "reindex", "backup", "restore", "encrypt", "keys", "users", "purge",
                     "import"})
NO_DATABASE = frozenset({None, "validate", "template", "serve", "server", "gui"})
DOING = {"encrypt": "加密", "restore": "恢复备份", "backup": "备份", "import": "导入"}


@contextlib.contextmanager
def _database_use(args: argparse.Namespace) -> Iterator[None]:
    from desktop.services.session import start_using, stop_using, tidy_if_free

    command = getattr(args, "command", None)
    if command in NO_DATABASE:
        yield
        return
    path = db_path(args)
    reading = (command not in WRITING or (command == "backup" and getattr(args, "list", False))
               or (command == "keys" and getattr(args, "keys_command", None) == "status"))
    program = f"gridledger {command} 命令"
    if reading:
        tidy_if_free(path, program)
        yield
        return
    start_using(path, program, doing=DOING.get(str(command), "本次操作"))
    try:
        yield
    finally:
        stop_using(path)


def _db_of(args: argparse.Namespace) -> Path | None:
    try:
        return db_path(args)
    except Exception:  # the default path's folder cannot be made: name none
        return None


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
