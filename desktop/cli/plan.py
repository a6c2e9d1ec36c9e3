"""The day's work on the command line: ``gridledger rules`` (走访频次规则) and ``gridledger plan``
(今日走访, and the route sheet with --print). Registered by the core's registration."""

from __future__ import annotations

import argparse
from typing import Any

from desktop.cli.common import CliError, actor_for, open_store, print_json


def _target(text: str) -> tuple[str, str]:
    """“mark:独居老人”, “house_use:出租”, “all” -> (kind, value)."""
    kind, _, value = text.partition(":")
    return kind.strip(), value.strip()


def cmd_rules(args: argparse.Namespace) -> int:
    from desktop.services.visit_rules import VisitRules

    store = open_store(args)
    try:
        rules = VisitRules(store, actor_for(store, args.user))
        cmd = args.rules_command
        if cmd == "list":
            rows = rules.list()
            if args.json:
                print_json(rows)
                return 0
            for r in rows:
                state = "默认" if r["is_default"] else ("社区设置" if r["active"] else "已停用")
                print(f"{r['target']}\t每 {r['interval_days']} 天\t{r['reason']}\t{state}")
        elif cmd == "set":
            out = rules.set(*_target(args.target), args.days, args.reason, active=not args.off)
            print(f"已设置:{out['target']} 每 {out['interval_days']} 天一次({out['reason']})"
                  + (",已停用" if not out["active"] else ""))
        elif cmd == "reset":
            kind, value = _target(args.target) if args.target else (None, None)
            n = rules.reset(kind, value)
            print(f"已恢复默认规则(撤销 {n} 条社区设置)")
        else:  # pragma: no cover - argparse requires a sub-command
            raise CliError("请指定 list、set 或 reset")
    finally:
        store.close()
    return 0


def _day(text: str | None) -> Any:
    from datetime import date

    if not text:
        return date.today()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CliError(f"日期“{text}”不对:请写成 2026-06-10 这样的年-月-日。") from None


def cmd_plan(args: argparse.Namespace) -> int:
    from desktop.services.plan import VisitPlan

    store = open_store(args)
    try:
        actor = actor_for(store, args.user)
        vp = VisitPlan(store, actor)
        grid_id = vp.grid_for_code(args.grid) if args.grid else None
        today = _day(args.date)
        if args.print:
            from desktop.printing.common import PrintOptions
            from desktop.printing.route import print_route

            res = print_route(store, actor, args.print, today=today, scope=args.scope, grid_id=grid_id,
                              worker=args.worker, mark=args.mark, options=PrintOptions(font_path=args.font))
            print(f"已生成走访路线单:{res.files[0]}(共 {res.pages} 页,{res.households} 户)")
            for w in res.warnings:
                print(f"提示:{w}")
            return 0
        plan = vp.plan(today=today, scope=args.scope, grid_id=grid_id, worker=args.worker, mark=args.mark)
    finally:
        store.close()
    if args.json:
        print_json(plan.as_json())
        return 0
    overdue = sum(1 for i in plan.items if i.overdue)
    print(f"今日走访 {plan.today.isoformat()}(到 {plan.horizon.isoformat()}):{len(plan.items)} 项,逾期 {overdue} 项")
    for building, units in plan.groups():
        print(f"■ {building}")
        for unit, items in units:
            print(f"  {unit + '单元' if unit else ''}")
            for it in items:
                late = f"逾期 {it.days_overdue} 天" if it.overdue else "今日到期" if it.due_on <= plan.today else f"{it.due_on.isoformat()} 到期"
                last = it.last_visit.isoformat() if it.last_visit else "从未走访"
                print(f"    {it.room or '-'}\t{it.head or '(未定户主)'}\t{it.reason}\t上次 {last}\t{late}")
    if not plan.items:
        print("  没有到期的走访。")
    return 0


def register(sub: Any) -> None:
    pl = sub.add_parser("plan", help="今日走访:到期和逾期的户、情况变化回访(与程序首页相同);--print 生成走访路线单")
    pl.add_argument("--user", help="以该用户身份查看(网格员看自己的网格)")
    pl.add_argument("--date", help="哪一天的计划(默认今天,本机时区)")
    pl.add_argument("--grid", help="只看一个网格(代码或名称)")
    pl.add_argument("--worker", help="只看一名网格员负责的网格(用户名;需社区管理员或网格长)")
    pl.add_argument("--scope", choices=["today", "week", "overdue"], default="today", help="今日、本周或仅逾期")
    pl.add_argument("--mark", help="只看有该关注标识成员的户,如 独居老人")
    pl.add_argument("--json", action="store_true")
    pl.add_argument("--print", metavar="FILE", help="把计划打印成走访路线单 PDF(每栋楼一页)")
    pl.add_argument("--font", help="打印用的中文字体文件")
    pl.set_defaults(func=cmd_plan)

    ru = sub.add_parser("rules", help="走访频次规则:列出、设置、恢复默认(设置需社区管理员或网格长)")
    ru.add_argument("--user", help="以该用户身份操作")
    rus = ru.add_subparsers(dest="rules_command", required=True)
    rl = rus.add_parser("list", help="列出正在使用的走访规则")
    rl.add_argument("--json", action="store_true")
    rs = rus.add_parser("set", help="设置一个对象的走访间隔,如 gridledger rules set mark:独居老人 14")
    rs.add_argument("target", help="对象:mark:关注标识、person_type:人员类型、house_use:房屋用途、group:人群,或 all(全部户)")
    rs.add_argument("days", help="间隔天数(1–3650)")
    rs.add_argument("--reason", help="显示给网格员的简短说明(最多 40 字)")
    rs.add_argument("--off", action="store_true", help="停用该对象的规则")
    rr = rus.add_parser("reset", help="恢复默认规则(不写对象则全部恢复)")
    rr.add_argument("target", nargs="?")
    ru.set_defaults(func=cmd_rules)
