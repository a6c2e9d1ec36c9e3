"""`gridledger import`, `gridledger export` and `gridledger template` (registered as `exchange`)."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

from desktop.cli.common import actor_for, key_choice, open_store
from desktop.kinds import choices_text, import_labels, ledger_titles

EXIT_OK, EXIT_REJECTED, EXIT_UNREADABLE = 0, 3, 2


def register(sub: Any, root: argparse.ArgumentParser | None = None) -> None:
    imports, exports = import_labels(), ledger_titles(exportable=True)
    im = sub.add_parser("import", help="从 Excel(.xlsx/.xls)或 CSV 导入" + "、".join(imports.values()),
                        description=f"导入类型:{choices_text(imports)}")
    add_import_options(im)
    im.add_argument("--user", help="以该用户的身份和权限导入")
    im.set_defaults(func=cmd_import)

    ex = sub.add_parser("export", help="导出台账到 Excel", description=f"台账:{choices_text(exports)}")
    ex.add_argument("kind", type=key_choice(exports), metavar="KIND", help=f"台账类型:{choices_text(exports)}")
    ex.add_argument("--out", required=True, help="保存的 .xlsx 文件")
    ex.add_argument("--grid", help="网格或社区代码(默认:有权查看的全部网格)")
    ex.add_argument("--from", dest="date_from", help="起始日期 YYYY-MM-DD(走访台账、户情台账)")
    ex.add_argument("--to", dest="date_to", help="截止日期 YYYY-MM-DD")
    ex.add_argument("--unmask", action="store_true", help="导出完整证件号码和电话(仅社区管理员、督导)")
    ex.add_argument("--user", help="以该用户的身份和权限导出")
    ex.set_defaults(func=cmd_export)

    tp = sub.add_parser("template", help="生成空白导入模板(.xlsx)")
    tp.add_argument("kind", type=key_choice(imports), metavar="KIND", help=f"类型:{choices_text(imports)}")
    tp.add_argument("--out", required=True, help="保存的 .xlsx 文件")
    tp.set_defaults(func=cmd_template)


def add_import_options(im: argparse.ArgumentParser) -> None:
    """The file and options of an import (also `gridledger server import`)."""
    imports = import_labels()
    im.add_argument("file", metavar="FILE", help="要导入的 .xlsx、.xls 或 .csv 文件")
    im.add_argument("--kind", required=True, type=key_choice(imports), help=f"导入的类型:{choices_text(imports)}")
    im.add_argument("--grid", help="默认网格(网格代码):用于没有填写网格的行")
    im.add_argument("--dry-run", action="store_true", help="只检查,不写入数据库")
    im.add_argument("--report", help="把逐行结果保存为 .json 或 .xlsx(.xlsx 含需修正的行和未通过原因)")
    im.add_argument("--valid-only", action="store_true", help="未通过校验的行跳过,只导入通过校验的行")
    im.add_argument("--on-existing", choices=["ask", "update", "skip"], default="ask",
                    help="已登记的记录:ask 逐项列出变化、标记为需确认而不更新(默认)、update 更新、skip 跳过")
    im.add_argument("--confirm", metavar="ROWS", default="",
                    help="确认更新的行号(试导入中“需确认”的行),如 5,8,12-20")
    im.add_argument("--overwrite-newer", action="store_true",
                    help="在本机于文件保存之后修改过的字段,也用文件中的值覆盖(默认保留本机的值)")
    im.add_argument("--json", action="store_true", help="以 JSON 输出汇总")


def _store_actor(args: argparse.Namespace) -> tuple[Any, Any]:
    store = open_store(args)
    try:
        return store, actor_for(store, args.user)
    except Exception:
        store.close()
        raise


def _area(store: Any, code: str) -> Any:
    from sqlalchemy import select

    from desktop.models import Area
    from desktop.services.errors import ServiceError

    with store.session() as s:
        area = s.scalars(select(Area).where(Area.code == code, Area.deleted_at.is_(None))).first()
        if area is None:
            raise ServiceError(f"找不到代码为 {code} 的网格或社区")
        return area.id, area.level, area.name


def cmd_import(args: argparse.Namespace) -> int:
    sheet = read_import_file(args)
    if sheet is None:
        return EXIT_UNREADABLE
    store, actor = _store_actor(args)
    try:
        report = import_sheet(store, actor, sheet, args)
    finally:
        store.close()
    return print_report(report, args)


def read_import_file(args: argparse.Namespace) -> Any:
    """The sheet of `args.file`, or None after saying on stderr why it cannot be read."""
    from desktop.exchange.sheet import read_sheet
    from desktop.services.errors import ServiceError

    try:
        return read_sheet(args.file, kind=args.kind)
    except ServiceError as exc:
        print(f"错误:{exc.message}", file=sys.stderr)
        return None


def import_sheet(store: Any, actor: Any, sheet: Any, args: argparse.Namespace) -> Any:
    """Check (`--dry-run`) or import `sheet` into `store` as `actor`, with the options of `args`:
    the laptop's import, and `gridledger server import` on its working copy of the server's data."""
    from desktop.exchange.fields import suggest_mapping
    from desktop.exchange.importer import dry_run, proposed_grid, run_import
    from desktop.exchange.report import ImportOptions
    from desktop.services.errors import ServiceError

    grid_id = None
    if args.grid:
        grid_id, level, name = _area(store, args.grid)
        if level != "grid":
            raise ServiceError(f"“{name}”不是网格:--grid 请填写网格代码")
    proposal = None if args.grid else proposed_grid(store, actor, sheet)
    if proposal is not None:
        grid_id = proposal[0]
        if not args.json:
            print(f"标题写明了“{proposal[1]}”:没有填写网格的行归入该网格(可用 --grid 另选)")
    mapping = suggest_mapping(args.kind, sheet.headers)
    options = ImportOptions(default_grid_id=grid_id, on_existing=args.on_existing, valid_only=args.valid_only,
                            confirmed=_rows(args.confirm), overwrite_newer=args.overwrite_newer)
    if not args.json:
        print_sheet(args.file, args.kind, sheet, mapping)
    run = dry_run if args.dry_run else run_import
    return run(store, actor, args.kind, sheet, mapping, options)


def print_sheet(file: str, kind: str, sheet: Any, mapping: dict[int, str | None]) -> None:
    """What was read from the file and which column goes where (also `gridledger server import`)."""
    from desktop.exchange.fields import field_label

    used = [f"{sheet.headers[i]}→{field_label(kind, k)}" for i, k in mapping.items() if k]
    print(f"读取 {Path(file).name}:工作表“{sheet.sheet_name or '-'}”,第 {sheet.header_row} 行为表头,"
          f"数据 {len(sheet.rows)} 行")
    print("列对应:" + ("、".join(used) or "(没有识别出任何列)"))


def print_report(report: Any, args: argparse.Namespace) -> int:
    """The import's report (summary, rows to fix, --report file), and the exit status; the same
    for the laptop's import and `gridledger server import`."""
    if args.report:
        out = Path(args.report)
        if out.suffix.lower() == ".xlsx":
            report.save_xlsx(out)
        else:
            out.write_text(json.dumps(report.to_dict(), ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    if args.json:
        data = report.to_dict()
        data.pop("rows")
        print(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    else:
        print(report.summary())
        for n, text_ in report.footers:
            print(f"  第 {n} 行 表尾,已跳过:{text_}")
        if report.unused_columns:
            print("未使用的列:" + "、".join(report.unused_columns))
        shown = 0
        for r in report.rows:
            if r.status in ("rejected", "ask") and shown < 20:
                print(f"  第 {r.row_no} 行[{r.status_label}]:{r.detail}")
                shown += 1
        rest = report.counts["rejected"] + report.counts["ask"] - shown
        if rest > 0:
            print(f"  ……另有 {rest} 行,详见 --report 保存的报告")
        for r in report.rows:
            if r.status == "updated" and r.changes and shown < 40:
                print(f"  第 {r.row_no} 行[{r.status_label}]:{r.detail}")
                shown += 1
        if report.counts["ask"]:
            print("需确认的行未更新:核对上面逐项列出的变化后,用 --confirm 行号 确认,或 --on-existing update 全部更新")
        if args.report:
            print(f"报告已保存:{args.report}")
    return EXIT_REJECTED if report.counts["rejected"] else EXIT_OK


def _rows(text: str) -> frozenset[int]:
    """"5,8,12-20" -> the row numbers."""
    from desktop.services.errors import ServiceError

    out: set[int] = set()
    for part in (text or "").replace("，", ",").split(","):
        part = part.strip()
        if not part:
            continue
        a, _, b = part.partition("-")
        try:
            lo, hi = int(a), int(b or a)
        except ValueError:
            raise ServiceError(f"--confirm 中的“{part}”不是行号:请写成 5,8,12-20 的形式") from None
        if lo > hi or lo < 1 or hi - lo > 1_000_000:
            raise ServiceError(f"--confirm 中的“{part}”不是有效的行号范围:请写成 5,8,12-20 的形式")
        out.update(range(lo, hi + 1))
    return frozenset(out)


def _date(value: str | None, what: str) -> date | None:
    from desktop.services.errors import ServiceError

    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ServiceError(f"{what}“{value}”不是有效日期,请按 2026-01-31 的格式填写") from None


def cmd_export(args: argparse.Namespace) -> int:
    from desktop.exchange.export import export

    store, actor = _store_actor(args)
    try:
        grid_id = community_id = None
        if args.grid:
            area_id, level, _name = _area(store, args.grid)
            if level == "grid":
                grid_id = area_id
            else:
                community_id = area_id
        n = export(store, actor, args.kind, Path(args.out), grid_id=grid_id, community_id=community_id,
                   date_from=_date(args.date_from, "起始日期"), date_to=_date(args.date_to, "截止日期"),
                   unmask=args.unmask)
    finally:
        store.close()
    print(f"已导出{ledger_titles()[args.kind]} {n} 行:{args.out}" + ("(含完整证件号码和电话,请妥善保管)" if args.unmask else ""))
    return 0


def cmd_template(args: argparse.Namespace) -> int:
    from desktop.exchange.templates import write_template

    path = write_template(args.kind, Path(args.out))
    print(f"已生成{import_labels()[args.kind]}导入模板:{path}")
    return 0
