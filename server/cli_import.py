"""`gridledger server import FILE --kind KIND --user NAME [--grid CODE] [--dry-run]`: an Excel or
CSV ledger straight into the server's database, for a new community server's first data.

Nothing here knows a rule of its own. The server's data within the user's grids is pulled into a
working copy (a laptop database in a temporary folder, exactly as a first sync fills a laptop);
the laptop's import (desktop/cli/exchange.py: reading, column mapping, row checks, report) runs on
that copy as the user; the changes it recorded in the copy's sync outbox are then merged on the
server as one push from a device of their own (server/merge.py, one transaction), so the server
keeps change rows for them and every laptop pulls the imported records on its next sync. A file
with a wrong row changes nothing, as on a laptop; --dry-run only reports."""

from __future__ import annotations

import argparse
import functools
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from desktop.cli.common import CliError


def register(ss: Any, open_store: Callable[[argparse.Namespace], Any]) -> None:
    """The `server import` sub-command; `open_store` opens the server database of `--database`
    (server/cli.py's, with its message when it cannot)."""
    from desktop.cli.exchange import add_import_options

    p = ss.add_parser("import", help="把 Excel 或 CSV 台账直接导入服务器(与电脑上的导入同样检查),各电脑同步时取回")
    add_import_options(p)
    p.add_argument("--user", required=True,
                   help="以该服务器用户的身份和权限导入(例如社区管理员),导入的记录记在其名下")
    p.set_defaults(func=functools.partial(cmd_server_import, open_store=open_store))


def cmd_server_import(args: argparse.Namespace, *, open_store: Callable[[argparse.Namespace], Any]) -> int:
    from desktop.cli.exchange import (
        EXIT_REJECTED,
        EXIT_UNREADABLE,
        import_sheet,
        print_report,
        read_import_file,
    )

    sheet = read_import_file(args)
    if sheet is None:
        return EXIT_UNREADABLE
    store = open_store(args)
    try:
        user, scope = _user(store, args.user)
        with tempfile.TemporaryDirectory(prefix="gridledger-import-") as tmp:
            copy = _working_copy(store, user, scope, Path(tmp) / "copy.db")
            try:
                from desktop.services.auth import actor_for

                report = import_sheet(copy, actor_for(copy, user.username), sheet, args)
                counts = _merge(store, user, scope, copy, args) if report.written else None
            finally:
                copy.close()
    finally:
        store.close()
    status = print_report(report, args)
    if counts is None:
        return status
    from desktop.sync.summary import status_text

    refused = sum(n for k, n in counts.items() if k not in ("applied", "merged", "duplicate"))
    if not args.json:
        print(f"服务器已记录 {sum(counts.values())} 条修改({status_text(counts)}),各电脑下次同步时取回")
    if refused:
        print(f"错误:服务器有 {refused} 条修改未直接采用(见 gridledger server audit 与冲突审核),"
              "请网格长在冲突审核中处理。", file=sys.stderr)
        return EXIT_REJECTED
    return status


def _user(store: Any, username: str) -> tuple[Any, Any]:
    from sqlalchemy import select

    from server.models import ServerUser
    from server.store import scope_for

    with store.session() as s:
        user = s.scalar(select(ServerUser).where(ServerUser.username == username))
        if user is None or not user.active:
            raise CliError(f"服务器上没有启用的用户“{username}”:请先用 gridledger server add-user 添加,"
                           "或用 --user 指定一位社区管理员。")
        return user, scope_for(s, user)


def _working_copy(store: Any, user: Any, scope: Any, path: Path) -> Any:
    """A laptop database holding what `user` sees on the server, as after a first sync."""
    import orjson

    from desktop.services.store import Store
    from desktop.sync import replica
    from desktop.sync.protocol import PULL_PAGE
    from server import service

    copy = Store.open(path, create=True)
    try:
        replica.set_local_user(copy, {"username": user.username, "display_name": user.display_name,
                                      "role": user.role,
                                      "grids": sorted(scope.grids) if scope.grids is not None else None}, None)
        replica.mark_local_only(copy)
        cursor = 0
        while True:
            page = orjson.loads(service.pull(store, scope, cursor, PULL_PAGE))
            replica.apply_page(copy, page, initial=True)
            cursor = int(page["cursor"])
            if not page["more"]:
                break
        replica.rebuild_search_if_dirty(copy)
    except BaseException:
        copy.close()
        raise
    return copy


def _merge(store: Any, user: Any, scope: Any, copy: Any, args: argparse.Namespace) -> dict[str, int]:
    """The copy's outbox, merged on the server as one push of a device of its own (one
    transaction: all of it or, on a failure, none)."""
    from desktop.sync import replica
    from desktop.sync.bundle_file import box_public, new_box_key, new_signing_key, signing_public
    from desktop.sync.protocol import Change
    from server import service
    from server.service import Caller

    changes: list[Change] = []
    after = 0
    while batch := replica.read_batch(copy, after=after, limit=5000, max_bytes=64 * 1024 * 1024):
        changes += batch
        after = batch[-1]["seq"]
    name = f"服务器导入 {Path(args.file).name}"[:128]
    dev = service.enrol(store, user, copy.meta("file_id") or os.urandom(16).hex(), name,
                        signing_public(new_signing_key()).hex(), box_public(new_box_key()).hex(), None)
    # the server takes any JSON object as a change (and checks it): these are the laptop's own
    reply = service.push(store, Caller(user, dev, scope), cast("list[dict[str, Any]]", changes))
    counts: dict[str, int] = {}
    for r in reply["results"]:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    with store.transaction() as s:
        service.audit(s, user.username, "import_file", dev.id, file=Path(args.file).name, kind=args.kind,
                      changes=len(changes), counts=counts)
    return counts
