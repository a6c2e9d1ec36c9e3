"""`gridledger print archive|ledger|building-table|grid-map|door-plates …`: household archives,
ledgers, 楼盘表, the grid map and door plates as PDF from the command line.

Registered as `print` (desktop/cli/__init__.py); errors are ServiceErrors, which the main command
prints in Chinese with exit status 2."""

from __future__ import annotations

import argparse
import re
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any, NoReturn

from sqlalchemy import text

from desktop.cli.common import actor_for, key_choice, open_store
from desktop.kinds import choices_text, ledger_titles
from desktop.services.errors import NotFound, ServiceError


def _date(value: str | None, what: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ServiceError(f"{what}“{value}”的格式不对,应写成 YYYY-MM-DD,例如 2026-03-01") from None


class _Progress:
    """Progress on stderr: one updating line on a terminal, a line every few seconds otherwise."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.last = 0.0

    def __call__(self, done: int, total: int, text_: str) -> None:
        now = time.monotonic()
        final = done >= total
        if not final and now - self.last < (0.2 if self.tty else 2.0):
            return
        self.last = now
        if self.tty:
            print(f"\r{text_}\033[K", end="\n" if final else "", file=sys.stderr, flush=True)
        else:
            print(text_, file=sys.stderr, flush=True)


def _household_ids(store: Any, values: list[str]) -> list[str]:
    """Household ids from ids or 户号."""
    out = []
    with store.session() as s:
        conn = s.connection()
        for v in values:
            v = v.strip()
            row = conn.execute(text("SELECT id FROM household WHERE id = :v AND deleted_at IS NULL"), {"v": v}).first()
            if row is None:
                rows = conn.execute(text("SELECT id FROM household WHERE hh_no = :v AND deleted_at IS NULL"), {"v": v}).all()
                if len(rows) > 1:
                    raise ServiceError(f"户号 {v} 对应多个户,请改用户的编号(ID)")
                row = rows[0] if rows else None
            if row is None:
                raise NotFound(f"找不到户号或编号为 {v} 的户")
            out.append(row[0])
    return out


def _finish(result: Any, options: Any) -> None:
    for w in result.warnings:
        print(f"提示:{w}", file=sys.stderr)
    if options.split:
        folder = result.files[0].parent if result.files else ""
        print(f"已为 {result.households} 户生成 {len(result.files)} 个文件(共 {result.pages} 页),保存在 {folder}")
    else:
        print(f"已生成 {result.files[0]}(共 {result.pages} 页)")


def _guard(call: Any) -> Any:
    """Run a print; any failure becomes a Chinese ServiceError (no tracebacks on the command line)."""
    from desktop.db.engine import StorageError
    from desktop.db.failures import kind_of
    from desktop.printing import MissingGlyphs

    try:
        return call()
    except MissingGlyphs as exc:
        raise ServiceError(exc.message + "(命令行可加 --allow-missing 用“□”代替这些字继续打印)") from None
    except (ServiceError, StorageError, KeyboardInterrupt):
        raise
    except Exception as exc:  # ReportLab trouble: say what happened, no traceback
        if kind_of(exc) is not None:  # storage or file: desktop/cli/main.py says it in its words
            raise
        raise ServiceError(f"打印失败:{type(exc).__name__}: {exc}") from exc


def cmd_print_archive(args: argparse.Namespace) -> int:
    from desktop.printing import PrintOptions, households_for, print_archives

    if not args.out:
        raise ServiceError("请用 --out 指定输出的 PDF 文件(加 --split 时为文件夹)")
    store = open_store(args)
    try:
        actor = actor_for(store, args.user)
        if args.household:
            ids = households_for(store, actor, household_ids=_household_ids(store, args.household))
        elif args.grid:
            ids = households_for(store, actor, grid_code=args.grid)
        elif args.building:
            ids = households_for(store, actor, building=args.building)
        else:
            ids = households_for(store, actor, all_=True)
        options = PrintOptions(unmask=args.unmask, split=args.split, allow_missing=args.allow_missing,
                               font_path=args.font, processes=args.processes)
        result = _guard(lambda: print_archives(store, actor, ids, Path(args.out), options, progress=_Progress()))
    finally:
        store.close()
    _finish(result, options)
    return 0


def cmd_print_ledger(args: argparse.Namespace) -> int:
    from desktop.printing import PrintOptions, print_ledger

    if not args.out:
        raise ServiceError("请用 --out 指定输出的 PDF 文件")
    d0, d1 = _date(args.date_from, "起始日期"), _date(args.date_to, "截止日期")
    store = open_store(args)
    try:
        actor = actor_for(store, args.user)
        options = PrintOptions(unmask=args.unmask, allow_missing=args.allow_missing, font_path=args.font)
        result = _guard(lambda: print_ledger(
            store, actor, args.kind, grid_code=args.grid, date_from=d0, date_to=d1, out=Path(args.out),
            options=options, progress=_Progress(),
        ))
    finally:
        store.close()
    _finish(result, options)
    return 0


def _grid_id(store: Any, actor: Any, code: str) -> str:
    from desktop.printing.data import _grid_by_code

    with store.session() as s:
        return _grid_by_code(s.connection(), actor, code)[0]


def cmd_print_map(args: argparse.Namespace) -> int:
    """楼盘表 (--building), grid map (--grid) or door plates (either)."""
    from desktop.printing import PrintOptions
    from desktop.printing.data import parse_building
    from desktop.printing.maps import print_building_table, print_door_plates, print_grid_map

    if not args.out:
        raise ServiceError("请用 --out 指定输出的 PDF 文件")
    what = args.print_what
    building = getattr(args, "building", None)
    grid = getattr(args, "grid", None)
    if what == "building-table" and not building:
        raise ServiceError("请用 --building 指定楼栋,例如 --building 62010400100101/幸福家园/3")
    if what == "grid-map" and not grid:
        raise ServiceError("请用 --grid 指定网格代码")
    if what == "door-plates" and not (building or grid):
        raise ServiceError("请用 --grid(整个网格)或 --building(一个楼栋)指定要打印门牌的范围")
    store = open_store(args)
    try:
        actor = actor_for(store, args.user)
        options = PrintOptions(allow_missing=args.allow_missing, font_path=args.font)
        out = Path(args.out)
        if building:
            code, estate, b = parse_building(building)
            gid = _grid_id(store, actor, code)
            if what == "building-table":
                result = _guard(lambda: print_building_table(store, actor, gid, estate, b, out=out,
                                                             paper=args.paper, options=options))
            else:
                result = _guard(lambda: print_door_plates(store, actor, gid, out=out, estate=estate, building=b,
                                                          options=options))
        else:
            assert grid, "checked above: grid-map and door-plates without --building need --grid"
            gid = _grid_id(store, actor, grid)
            printer = print_grid_map if what == "grid-map" else print_door_plates
            result = _guard(lambda: printer(store, actor, gid, out=out, options=options))
    finally:
        store.close()
    _finish(result, options)
    return 0


def _no_subcommand(args: argparse.Namespace) -> int:
    raise ServiceError("请指定要打印的内容:gridledger print archive … 或 gridledger print ledger 种类 …")


class _Parser(argparse.ArgumentParser):
    """Argument errors in Chinese (exit status 2, no traceback)."""

    def error(self, message: str) -> NoReturn:
        m = re.match(r"argument (\S+): not allowed with argument (\S+)", message)
        if m:
            message = f"参数 {m.group(1)} 和 {m.group(2)} 不能同时使用"
        elif (m := re.match(r"argument (\S+): expected one argument", message)):
            message = f"参数 {m.group(1)} 后面需要一个值"
        elif (m := re.match(r"argument (\S+): invalid int value: (.*)", message)):
            message = f"参数 {m.group(1)} 应为整数,而不是 {m.group(2)}"
        elif (m := re.match(r"the following arguments are required: (.*)", message)):
            message = f"缺少参数:{m.group(1)}"
        elif (m := re.match(r"unrecognized arguments: (.*)", message)):
            message = f"无法识别的参数:{m.group(1)}"
        self.print_usage(sys.stderr)
        self.exit(2, f"错误:{message}\n")


def register(sub: Any, root: argparse.ArgumentParser | None = None) -> None:
    """Add the `print` command to the main parser's subcommands."""
    titles = ledger_titles(printable=True)

    p = sub.add_parser("print", help="打印户档案和台账(生成 PDF)")
    p.set_defaults(func=_no_subcommand)
    ps = p.add_subparsers(dest="print_what", metavar="{archive,ledger,building-table,grid-map,door-plates}",
                          parser_class=_Parser)

    a = ps.add_parser("archive", help="户档案:一户、一个楼栋、一个网格或全部")
    which = a.add_mutually_exclusive_group()
    which.add_argument("--household", action="append", metavar="ID或户号", help="户(可重复)")
    which.add_argument("--grid", metavar="网格代码", help="整个网格")
    which.add_argument("--building", metavar="网格代码/小区/楼栋", help="一个楼栋,例如 62010400100101/幸福家园/3")
    which.add_argument("--all", action="store_true", help="权限范围内的全部户")
    a.add_argument("--out", metavar="PATH", help="输出的 PDF 文件;加 --split 时为文件夹")
    a.add_argument("--split", action="store_true", help="每户一个文件(文件名:户号_户主姓名.pdf)")
    a.add_argument("--unmask", action="store_true", help="打印完整证件号码和电话(需管理员或督导权限,记入审计)")
    a.add_argument("--user", help="以该用户的身份和权限打印(默认:系统)")
    a.add_argument("--allow-missing", action="store_true", help="字库缺字时用“□”代替并注明,而不是拒绝打印")
    a.add_argument("--font", metavar="FONT", help="TrueType 中文字体文件(默认:环境变量 GRIDLEDGER_PDF_FONT 或自动查找)")
    a.add_argument("--processes", type=int, metavar="N", help="批量打印使用的进程数(默认:每个处理器核心一个)")
    a.set_defaults(func=_archive_entry)

    ledger = ps.add_parser("ledger", help=f"台账和花名册:{choices_text(titles)}")
    ledger.add_argument("kind", metavar="KIND", type=key_choice(titles), help=f"台账种类:{choices_text(titles)}")
    ledger.add_argument("--grid", metavar="网格代码", help="网格(默认:权限范围内的全部网格)")
    ledger.add_argument("--from", dest="date_from", metavar="YYYY-MM-DD", help="走访台账的起始日期(默认今年 1 月 1 日)")
    ledger.add_argument("--to", dest="date_to", metavar="YYYY-MM-DD", help="走访台账的截止日期(默认今天)")
    ledger.add_argument("--out", metavar="FILE", help="输出的 PDF 文件")
    ledger.add_argument("--unmask", action="store_true", help="打印完整证件号码和电话(需管理员或督导权限,记入审计)")
    ledger.add_argument("--user", help="以该用户的身份和权限打印(默认:系统)")
    ledger.add_argument("--allow-missing", action="store_true", help="字库缺字时用“□”代替并注明")
    ledger.add_argument("--font", metavar="FONT", help="TrueType 中文字体文件")
    ledger.set_defaults(func=cmd_print_ledger)

    for name, help_ in (("building-table", "楼盘表:一个楼栋,单元为列、楼层为行(A4 或 A3 横向)"),
                        ("grid-map", "网格一张图:整个网格,含图例(A3 横向)"),
                        ("door-plates", "门牌二维码:一个楼栋或整个网格,每页 12 张")):
        m = ps.add_parser(name, help=help_)
        if name != "grid-map":
            m.add_argument("--building", metavar="网格代码/小区/楼栋", help="一个楼栋,例如 62010400100101/幸福家园/3")
        if name != "building-table":
            m.add_argument("--grid", metavar="网格代码", help="整个网格")
        if name == "building-table":
            m.add_argument("--paper", choices=("A4", "A3"), default="A4", help="纸张(默认 A4)")
        m.add_argument("--out", metavar="FILE", help="输出的 PDF 文件")
        m.add_argument("--user", help="以该用户的身份和权限打印(默认:系统)")
        m.add_argument("--allow-missing", action="store_true", help="字库缺字时用“□”代替并注明")
        m.add_argument("--font", metavar="FONT", help="TrueType 中文字体文件")
        m.set_defaults(func=cmd_print_map)


def _archive_entry(args: argparse.Namespace) -> int:
    if not (args.household or args.grid or args.building or args.all):
        raise ServiceError("请选择要打印的户:--household、--grid、--building 或 --all 之一")
    return cmd_print_archive(args)
