"""gridledger quality: the completeness figures and the 数据质量 queue (desktop.services.quality)."""

from __future__ import annotations

import argparse
from typing import Any

from desktop.cli.common import CliError, actor_for, open_store, print_json


def _pct(fig: dict[str, Any]) -> str:
    rate = fig.get("rate")
    num, den = fig.get("num", fig.get("complete")), fig.get("den", fig.get("records"))
    return "—" if rate is None else f"{rate * 100:.1f}%({num}/{den})"


def cmd_quality(args: argparse.Namespace) -> int:
    from desktop.services.quality import FIGURES, GROUPS, REASONS, Quality, formula

    if args.list and args.list not in REASONS:
        raise CliError(f"没有“{args.list}”这一类问题;可选:{'、'.join(f'{k}({v[1]})' for k, v in REASONS.items())}")
    store = open_store(args)
    try:
        q = Quality(store, actor_for(store, args.user))
        if args.stale_months is not None:
            q.set_stale_months(args.stale_months)
        grid_id = q.grid_for_code(args.grid) if args.grid else None
        if args.list:
            items = q.queue(grid_id=grid_id, reason=args.list)
            if args.json:
                print_json(items)
                return 0
            print(f"{REASONS[args.list][1]}:{len(items)} 条")
            for it in items:
                print(f"  {it['grid']}\t{it['title']}\t{it['detail']}\t{it['kind']}:{it['id']}")
            return 0
        figures = q.figures()
        counts = q.counts(grid_id=grid_id)
    finally:
        store.close()
    if grid_id:
        figures["grids"] = [g for g in figures["grids"] if g["id"] == grid_id]
        figures["buildings"] = [b for b in figures["buildings"] if b["grid_id"] == grid_id]
    if args.json:
        print_json({"figures": figures, "queue": counts})
        return 0
    rows = figures["grids"] if grid_id else [*figures["grids"], figures["total"]]
    print(f"数据质量(截至 {figures['today']};核实期限 {figures['stale_months']} 个月)")
    for g in rows:
        name = g["name"] if "community" not in g else f"{g['community'] or ''} {g['name']}({g['code']})".strip()
        complete = ",".join(f"{v['label']} {_pct(v)}" for v in g["complete"].values() if v["records"])
        print(f"  {name}:人房关联(房屋) {_pct(g['link_houses'])};人房关联(人员) {_pct(g['link_people'])};"
              f"信息完整率 {complete or '—'};重点人群知晓率 {_pct(g['known'])};核实率 {_pct(g['verified'])}")
    print(f"问题 {counts['total']} 个:" + "、".join(f"{label} {counts['by_group'][k]}" for k, label in GROUPS.items()))
    for code, n in counts["by_reason"].items():
        if n:
            print(f"  {REASONS[code][1]} {n}(gridledger quality --list {code})")
    print("公式:")
    for key in FIGURES:
        print(f"  {formula(key)}")
    return 0


def register(sub: Any) -> None:
    qa = sub.add_parser("quality", help="数据质量:完善率、完整率、知晓率、核实率,以及待修正的问题清单")
    qa.add_argument("--grid", help="网格代码(默认全部)")
    qa.add_argument("--list", metavar="REASON", help="逐条列出某一类问题(例如 dup_cert、missing、stale)")
    qa.add_argument("--stale-months", type=int, metavar="N",
                    help="把核实期限设为 N 个月(超过即“久未核实”,默认 12;社区管理员或网格长)")
    qa.add_argument("--user", help="以该用户的权限范围检查")
    qa.add_argument("--json", action="store_true")
    qa.set_defaults(func=cmd_quality)
    register_merge(sub)


def cmd_merge(args: argparse.Namespace) -> int:
    from desktop import kinds
    from desktop.services.merge import Merges, mergeable_kinds

    kind = kinds.ALIASES.get(args.kind, args.kind)
    if kind not in mergeable_kinds():
        raise CliError(f"不能合并“{args.kind}”;可以合并的是:{'、'.join(mergeable_kinds())}")
    take: dict[str, str] = {}
    for item in args.field or []:
        name, sep, side = item.partition("=")
        if not sep or side not in ("drop", "keep"):
            raise CliError(f"--field 的写法是 字段=drop 或 字段=keep(例如 --field phone=drop),“{item}”不对")
        take[name] = side
    store = open_store(args)
    try:
        m = Merges(store, actor_for(store, args.user))
        if not args.undo and not args.id_drop:
            raise CliError("请给出两条记录的编号:gridledger merge KIND 保留ID 被合并ID --reason 原因")
        if args.undo:
            back = m.undo(kind, args.id_keep)
            result = {"undone": True, "restored": back["id"]}
            text_ = f"已撤销合并:{kinds.label(kind)} {back['id']} 已恢复,转移的关联已移回。"
        else:
            if not args.reason:
                raise CliError("请用 --reason 写明合并原因(例如 --reason 同一人重复登记)")
            survivor = m.merge(kind, args.id_keep, args.id_drop, take=take, reason=args.reason)
            result = {"kept": survivor["id"], "dropped": args.id_drop, "fields_from_drop": sorted(k for k, v in take.items() if v == "drop")}
            text_ = (f"已合并:{kinds.label(kind)} {args.id_drop} 并入 {survivor['id']}"
                     f"{'(采用被合并记录的:' + '、'.join(kinds.field_label(kind, f) for f in result['fields_from_drop']) + ')' if result['fields_from_drop'] else ''};"
                     "当天可由社区管理员撤销(gridledger merge KIND 保留ID --undo)。")
    finally:
        store.close()
    if args.json:
        print_json(result)
    else:
        print(text_)
    return 0


def register_merge(sub: Any) -> None:
    mg = sub.add_parser("merge", help="合并两条重复的人员、房屋或车辆记录(保留第一条)")
    mg.add_argument("kind", help="person、house 或 vehicle")
    mg.add_argument("id_keep", help="保留的记录编号")
    mg.add_argument("id_drop", nargs="?", help="被合并(删除)的记录编号")
    mg.add_argument("--field", action="append", metavar="F=drop", help="该字段采用被合并记录的值(可重复)")
    mg.add_argument("--reason", help="合并原因(必填)")
    mg.add_argument("--undo", action="store_true", help="撤销当天对保留记录的最近一次合并(社区管理员或网格长)")
    mg.add_argument("--user", help="以该用户身份操作")
    mg.add_argument("--json", action="store_true")
    mg.set_defaults(func=cmd_merge)
