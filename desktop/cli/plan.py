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


def register(sub: Any) -> None:
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
