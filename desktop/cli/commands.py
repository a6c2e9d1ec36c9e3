"""The core's own commands: init, demo, stats, search, validate, reindex, backup, restore,
encrypt, keys, users, purge (registered as `core` in the gridledger.commands entry points)."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date
from pathlib import Path
from typing import Any

from desktop import APP_TITLE, kinds
from desktop.cli.common import (
    CliError,
    actor_for,
    db_path,
    open_store,
    password_for,
    print_json,
    print_recovery_key,
    stdin_lines,
)
from desktop.policy import ROLES

# --- commands -------------------------------------------------------------------------------


def cmd_init(args: argparse.Namespace) -> int:
    """A new community (the same questions as the app's 首次使用向导, one service for both), or an
    existing database brought up to date."""
    from desktop.db.keys import keyring_path
    from desktop.services import first_run

    path = db_path(args)
    asked = args.community or args.grids is not None or args.admin
    if not asked and (path.exists() or keyring_path(path).exists()):
        store = open_store(args)
        try:
            rep = store.migration
            print(f"数据库已就绪:{store.path}(结构版本 {rep.to_revision})")
            if rep.backup:
                print(f"升级前已备份到:{rep.backup}")
        finally:
            store.close()
        return 0
    first_run.check_free(path)
    interactive = sys.stdin.isatty() and not args.password_stdin
    if not asked and not interactive:
        raise CliError(f"还没有数据库 {path}。新建社区请运行 gridledger init --community 12位社区代码 --grids 网格数 "
                       "--admin 管理员用户名(密码从提示输入或用 --password-stdin);也可在程序的首次使用向导中新建。")
    plan, admin = _init_answers(args, interactive)
    if args.no_encrypt:
        print("警告:按 --no-encrypt 新建未加密的数据库;电脑丢失时其中的个人信息可被直接读取。", file=sys.stderr)
    first_run.create_community(path, plan, admin, encrypt=not args.no_encrypt)
    print(f"已新建社区 {plan.name}({plan.code}),{len(plan.grids)} 个网格:"
          + "、".join(f"{g.name}({g.code})" for g in plan.grids))
    print(f"数据库:{path}" + ("(未加密)" if args.no_encrypt else f"(已加密,用 {admin.username} 的密码解锁)"))
    print(f"社区管理员:{admin.display_name}({admin.username})。打开网格台账后用该用户登录。")
    return 0


def _init_answers(args: argparse.Namespace, interactive: bool) -> tuple[Any, Any]:
    """The community, its grids and the first administrator, from the options or asked for."""
    import getpass

    from desktop.services import first_run

    def ask(value: Any, question: str, default: str = "") -> str:
        if value not in (None, ""):
            return str(value)
        if not interactive:
            if default:
                return default
            raise CliError(f"请用选项给出{question}(见 gridledger init --help)。")
        text = input(f"{question}{f'(默认 {default})' if default else ''}:").strip()
        return text or default

    code = ask(args.community, "社区代码(12 位统计用区划代码)")
    county = first_run.county_of(code)
    if county is not None and interactive and not args.community:
        print(f"  所在区县:{county[1]}")
    name = ask(args.community_name, "社区名称")
    street = args.street_name or (input("街道(乡镇)名称(可不填):").strip() if interactive else "")
    grids = ask(args.grids, "网格数量", "1" if interactive else "")
    if not str(grids).isdigit() or not 1 <= int(grids) <= first_run.MAX_GRIDS:
        raise CliError(f"网格数量 {grids} 不正确:应为 1–{first_run.MAX_GRIDS} 的整数。")
    plan = first_run.CommunityPlan(code, name, street, tuple(first_run.suggested_grids(code, int(grids))))
    issues = first_run.check_community(plan)
    if issues:
        raise CliError(";".join(i.message for i in issues))
    username = ask(args.admin, "社区管理员的用户名(英文字母或数字)")
    display = ask(args.admin_name, "社区管理员的姓名", username if not interactive else "")
    if args.password_stdin:
        password = password_for(args, username)
    else:
        if not sys.stdin.isatty():
            raise CliError("请在终端中输入密码,或用 --password-stdin 从标准输入读取。")
        password = getpass.getpass(f"{username} 的密码(至少 8 位):")
        if getpass.getpass("再输入一次密码:") != password:
            raise CliError("两次输入的密码不一致,没有创建数据库。请重新运行 gridledger init。")
    admin = first_run.AdminPlan(username, display or username, password)
    issues = first_run.check_admin(admin)
    if issues:
        raise CliError(";".join(i.message for i in issues) + "。没有创建数据库。")
    return plan, admin


def cmd_demo(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from desktop.db.keys import keyring_path
    from desktop.services.demo import generate

    path = db_path(args)
    if args.replace and (path.exists() or keyring_path(path).exists()):
        _replaceable_demo(args, path)
        for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), keyring_path(path)):
            p.unlink(missing_ok=True)
    created = not path.exists()
    store = open_store(args, create=True)
    try:
        from desktop.services.first_run import content_count

        existing = content_count(store)
        if existing:
            raise CliError(f"数据库 {path} 中已有用户或记录({existing} 条);演示数据只能生成到空数据库,数据未改动"
                           "(由 demo 生成的演示数据库可加 --replace --yes 重新生成)。")
        rep = generate(store, households=args.households, seed=args.seed)
        with store.session() as s:
            from desktop.models import User

            demo_users = list(s.scalars(select(User.username)))
    except BaseException:
        store.close()
        if created:  # a full disk halfway: the new file is not left behind
            from desktop.services.store import remove_database_files

            remove_database_files(path)
        raise
    store.close()
    if args.encrypt:
        from desktop.services.demo import DEMO_PASSWORD
        from desktop.services.session import encrypt

        done = encrypt(path, "admin", DEMO_PASSWORD, others={u: DEMO_PASSWORD for u in demo_users})
        if not args.json:
            print_recovery_key(done.recovery_key)
    if args.json:
        print_json(rep.to_dict())
    else:
        print(
            f"已生成演示社区:{rep.communities} 个社区、{rep.grids} 个网格、{rep.households} 户、"
            f"{rep.people} 人、{rep.vehicles} 辆车、{rep.visits} 条走访、{rep.events} 件事件、"
            f"{rep.disputes} 件纠纷、{rep.users} 个用户,用时 {rep.seconds} 秒。"
        )
        print(f"数据库:{path};演示用户 admin(社区管理员)/ wgz001(网格长)/ wgy001…(网格员),密码 demo1234")
    return 0


def _replaceable_demo(args: argparse.Namespace, path: Path) -> None:
    """`demo --replace` deletes a database: only one `demo` made, only with --yes, and an encrypted
    one only for a user who can unlock it (--user and their password)."""
    from desktop.services.demo import is_demo

    if not args.yes:
        raise CliError(f"--replace 会删除数据库 {path} 及其中的全部数据,数据未改动。确认请再加 --yes。")
    store = open_store(args)  # a damaged file is refused here; an encrypted one needs its password
    try:
        demo = is_demo(store)
    finally:
        store.close()
    if not demo:
        raise CliError(f"数据库 {path} 不是由 gridledger demo 生成的演示数据库,--replace 不会删除它,数据未改动。"
                       "如确需重新开始,请先用 gridledger backup 备份,再手动移走该文件。")


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x * 100:.1f}%"


def cmd_stats(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from desktop.models import Area
    from desktop.services.stats import Period, Stats

    store = open_store(args)
    try:
        actor = actor_for(store, args.user)
        area_id = None
        if args.area:
            with store.session() as s:
                area_id = s.scalar(select(Area.id).where(Area.code == args.area, Area.deleted_at.is_(None)))
            if area_id is None:
                raise CliError(f"找不到代码为 {args.area} 的社区或网格。")
        today = date.today()
        period = Period(
            date.fromisoformat(args.date_from) if args.date_from else date(today.year, 1, 1),
            date.fromisoformat(args.date_to) if args.date_to else today,
        )
        result = Stats(store, actor).compute(area_id=area_id, period=period)
        from desktop.services.plan import VisitPlan

        ontime = VisitPlan(store, actor).on_time(period.start, period.end, today=today)
        if area_id is not None:  # the grids of the area asked for
            keep = {g["id"] for g in result["grids"]}
            ontime["grids"] = [g for g in ontime["grids"] if g["grid_id"] in keep]
            ontime["workers"] = [w for w in ontime["workers"]
                                 if set(w["grids"]) & {g["name"] for g in ontime["grids"]}]
            ontime["total"] = {k: sum(g[k] for g in ontime["grids"]) for k in ("due", "on_time", "late", "overdue")}
            ontime["total"]["rate"] = (round(ontime["total"]["on_time"] / ontime["total"]["due"], 4)
                                       if ontime["total"]["due"] else None)
        ontime.pop("late_or_overdue", None)
        result["ontime"] = ontime
    finally:
        store.close()
    if args.json:
        print_json(result)
        return 0
    t = result["total"]
    print(f"{APP_TITLE} 统计({result['period']['from']} 至 {result['period']['to']})")
    print(f"  网格 {len(result['grids'])} 个;户 {t['households']};人口 {t['people']};房屋 {t['houses']};车辆 {t['vehicles']};单位 {t['units']}")
    print("  人口类型:" + "、".join(f"{v['label']} {v['count']}" for v in t["people_by_type"].values()))
    print("  房屋用途:" + "、".join(f"{v['label']} {v['count']}" for v in t["houses_by_use"].values()))
    print("  关注人员:" + "、".join(f"{v['label']} {v['count']}" for v in t["care_marks"].values()))
    print(f"  人房关联完善率 {_pct(t['person_house_link_rate'])};房屋住户知晓率 {_pct(t['house_occupancy_known_rate'])}")
    print(f"  走访 {t['visits']} 次,覆盖 {t['households_visited']} 户,走访覆盖率 {_pct(t['visit_coverage'])}")
    print(f"  事件 受理 {t['events_received']} 件,办结 {t['events_closed']} 件,办结率 {_pct(t['events_closed_rate'])},"
          f"满意率 {_pct(t['events_satisfied_rate'])};在办 {t['events_open']} 件")
    print(f"  矛盾纠纷 {t['disputes']} 件:" + "、".join(f"{v['label']} {v['count']}" for v in t["disputes_by_result"].values()))
    o = result["ontime"]["total"]
    print(f"  按时走访率 {_pct(o['rate'])}:应访 {o['due']},按时 {o['on_time']},迟访 {o['late']},仍逾期 {o['overdue']}")
    if args.grids:
        for w in result["ontime"]["workers"]:
            print(f"  - 网格员 {w['name']}({'、'.join(w['grids'])}):应访 {w['due']},按时 {w['on_time']},"
                  f"迟访 {w['late']},仍逾期 {w['overdue']},按时走访率 {_pct(w['rate'])}")
        for g in result["grids"]:
            print(f"  - {g['community']} {g['name']}({g['code']}):户 {g['households']},人口 {g['people']},"
                  f"走访覆盖率 {_pct(g['visit_coverage'])},办结率 {_pct(g['events_closed_rate'])}")
    return 0


def _searched_labels() -> str:
    searched = sorted(kinds.searchable(), key=lambda k: k.search_rank)
    return "、".join(k.search_label or k.label for k in searched)


def _query_source(args: argparse.Namespace, given: Any, what: str, how: str) -> None:
    if given and args.query_stdin:
        raise CliError(f"{what}不能同时写在命令后和用 --query-stdin 从标准输入读取,请只用一种(标准输入不会留在进程列表和命令历史里)。")
    if not given and not args.query_stdin:
        raise CliError(f"请在命令后写出{what},或用 --query-stdin 从标准输入{how}。")


def cmd_search(args: argparse.Namespace) -> int:
    from desktop.services.search import Search

    _query_source(args, args.query, "检索词", "读取")
    query = args.query
    if args.query_stdin:
        if args.password_stdin:  # the password is the first line; open_store uses it
            password_for(args, args.user or "")
        query = " ".join(stdin_lines("检索词"))
    store = open_store(args)
    try:
        hits = Search(store, actor_for(store, args.user)).search(query, limit=args.limit)
    finally:
        store.close()
    if args.json:
        print_json([h.to_dict() for h in hits])
        return 0
    if not hits:
        print(f"没有找到与“{query}”相符的{_searched_labels()}。")
        return 0

    for h in hits:
        print(f"[{h.to_dict()['kind_label']}] {h.title}  {h.subtitle}")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from desktop.validation import check_id_number, check_phone, check_plate, check_uscc

    _query_source(args, args.values, "要校验的值", "逐行读取")
    checker = {"id": check_id_number, "plate": check_plate, "phone": check_phone, "uscc": check_uscc}[args.kind]
    values = stdin_lines("要校验的值") if args.query_stdin else args.values
    results = [checker(v) for v in values]
    if args.json:
        print_json([r.to_dict() for r in results])
    else:
        for r in results:
            mark = "有效" if r.ok else "无效"
            print(f"{r.raw}:{mark}" + (f",规范写法 {r.normalized}" if r.normalized else ""))
            for e in r.errors:
                print(f"  错误:{e.message}")
            for w in r.warnings:
                print(f"  提示:{w.message}")
            d = r.details
            if args.kind == "id" and r.ok:
                print(f"  出生日期 {d.get('birth_date')},性别 {d.get('gender_label')},"
                      f"地区 {d.get('region_name') or '未知(' + str(d.get('region_code')) + ')'}")
            elif args.kind == "plate" and r.ok and d.get("plate_type_label"):
                print(f"  号牌种类 {d.get('plate_type_label')}")
            elif args.kind == "phone" and r.ok:
                print(f"  类型 {'手机' if d.get('kind') == 'mobile' else '固定电话'}")
    return 0 if all(r.ok for r in results) else 1


def cmd_reindex(args: argparse.Namespace) -> int:
    from desktop.db.ddl import rebuild_search_sql

    store = open_store(args)
    try:
        with store.transaction() as s:
            conn = s.connection()
            for stmt in rebuild_search_sql():
                conn.exec_driver_sql(stmt)
    finally:
        store.close()
    print("检索索引已重建。")
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    from desktop.services.backup import backup_now, list_backups

    store = open_store(args)
    try:
        if args.list:
            rows = list_backups(store.path)
            if not rows:
                print("还没有备份。")
            for b in rows:
                print(f"{b.taken_at:%Y-%m-%d %H:%M:%S}  {b.label:<24} {b.size / 1024 / 1024:7.1f} MB  {b.path}")
            return 0
        path = backup_now(store, actor_for(store, args.user), keep=args.keep)
        print(f"已备份到:{path}")
    finally:
        store.close()
    return 0


def recovery_key_for(args: argparse.Namespace) -> str:
    """The recovery key: $GRIDLEDGER_RECOVERY_KEY (scripts, tests), else a prompt (never an
    argument: it would stay in the shell history and the process list)."""
    import getpass

    return os.environ.get("GRIDLEDGER_RECOVERY_KEY") or getpass.getpass("恢复密钥(5 组,每组 5 个字母或数字):")


def cmd_restore(args: argparse.Namespace) -> int:
    from desktop.services.backup import restore

    path = db_path(args)
    backup = Path(args.file).expanduser()
    if not backup.exists():
        raise CliError(f"备份文件不存在:{backup}")
    if not args.yes:
        raise CliError("恢复会用备份替换当前数据库(当前数据库会先另存一份)。确认请加 --yes")
    if args.recovery_key:
        from desktop.services.session import restore_with_recovery_key

        safety = restore_with_recovery_key(path, backup, recovery_key_for(args))
    else:
        store = open_store(args)
        try:
            actor = actor_for(store, args.user)
            key = store.key
        finally:
            store.close()
        safety = restore(path, backup, actor, key=key)
    print(f"已从 {backup.name} 恢复。恢复前的数据库已另存为:{safety}")
    print("下次同步时本机会重新登记为新设备(不会丢失或重复任何修改)。")
    return 0


def cmd_purge(args: argparse.Namespace) -> int:
    from desktop.services.purge import purge_person

    if not args.yes:
        raise CliError("彻底清除后无法恢复(同步后各台电脑上的该人员信息都会被清除)。确认请加 --yes")
    store = open_store(args)
    try:
        res = purge_person(store, actor_for(store, args.user), args.person_id, reason=args.reason)
    finally:
        store.close()
    print(f"已彻底清除该人员的信息(照片 {res['photos']} 张),并从本机 {res['backups_scrubbed']} 份备份中清除;"
          "下次同步后其他电脑和服务器上也会清除。")
    for failed in res["backups_failed"]:
        print(f"警告:备份 {failed} 无法打开,未能清除,请删除该文件。", file=sys.stderr)
    return 0


def cmd_encrypt(args: argparse.Namespace) -> int:
    from desktop.services.session import encrypt

    path = db_path(args)
    done = encrypt(path, args.user, password_for(args, args.user))
    print(f"数据库已加密:{path}(密钥文件 {path.name}.keys;加密前的备份:{done.backup},已同样加密)")
    print_recovery_key(done.recovery_key)
    print("其他用户由社区管理员或网格长在 设置 → 本机用户 中重置密码(或用 gridledger keys add-user)开通本机。")
    return 0


def cmd_keys(args: argparse.Namespace) -> int:
    from desktop.services import session

    path = db_path(args)
    if args.keys_command == "status":
        print(session.describe(path))
    elif args.keys_command == "add-user":
        import getpass

        admin_pw = password_for(args, args.user)
        pw = os.environ.get("GRIDLEDGER_NEW_PASSWORD") or getpass.getpass(f"用户 {args.username} 的密码:")
        session.add_local_user(path, args.user, admin_pw, args.username, pw)
        print(f"已为 {args.username} 开通本机数据库")
    elif args.keys_command == "recover":
        if not args.user:
            raise CliError("请用 --user 指定要恢复解锁的用户(恢复后用其原密码解锁本机)。")
        recovery = recovery_key_for(args)
        session.recover_keyring(path, recovery, args.user, password_for(args, args.user))
        print(f"已用恢复密钥重建密钥文件 {path.name}.keys:{args.user} 可以用自己的密码解锁本机了;"
              "其他用户由社区管理员或网格长在 设置 → 本机用户 中重置密码开通。")
    elif args.keys_command == "recovery-key":
        if not args.user:
            raise CliError("请用 --user 指定社区管理员或网格长(需输入其密码)。")
        print_recovery_key(session.new_recovery_key_for(path, args.user, password_for(args, args.user)))
        print("旧的恢复密钥已不能解锁本机数据库(旧备份旁保存的密钥文件中仍是旧的)。")
    elif args.keys_command == "passwd":
        import getpass

        old = password_for(args, args.user)
        new = os.environ.get("GRIDLEDGER_NEW_PASSWORD") or getpass.getpass("新密码:")
        session.change_password(path, args.user, old, new)
        print("密码已修改(数据库不需要重新加密)")
    return 0


def cmd_users(args: argparse.Namespace) -> int:
    """Local users (admins and supervisors): the operator signs in with their password even on a
    plain laptop, then everything goes through desktop.services.users."""
    import getpass

    from desktop.policy import sees_all_grids
    from desktop.services.auth import sign_in
    from desktop.services.users import Users

    store = open_store(args)
    try:
        operator = sign_in(store, args.user, password_for(args, args.user))
        users = Users(store, operator)

        def new_password(who: str) -> str:
            return os.environ.get("GRIDLEDGER_NEW_PASSWORD") or getpass.getpass(f"用户 {who} 的新密码:")

        def grid_ids(codes: list[str] | None) -> list[str] | None:
            if codes is None:
                return None
            by_code = {}
            with store.engine.connect() as c:
                for gid, code, name in c.exec_driver_sql(
                        "SELECT id, code, name FROM area WHERE level = 'grid' AND deleted_at IS NULL"):
                    by_code.update({gid: gid, code: gid, name: gid})
            unknown = [g for g in codes if g not in by_code]
            if unknown:
                raise CliError("找不到网格:" + "、".join(unknown) + "(请用网格代码、名称或编号)")
            return [by_code[g] for g in codes]

        cmd = args.users_command
        if cmd == "list":
            rows = users.list()
            if args.json:
                print_json(rows)
            for u in [] if args.json else rows:
                unlock = {None: "", True: " · 可解锁本机", False: " · 未开通本机"}[u["can_unlock"]]
                grids = "全社区" if sees_all_grids(u["role"]) else "、".join(n for _, n in u["grids"])
                print(f"{u['username']}\t{u['display_name']}\t{u['role_label']}\t{grids or '(未分配)'}\t"
                      f"{'启用' if u['active'] else '已停用'}{unlock}")
        elif cmd == "add":
            users.create(args.username, args.name or args.username, args.role, new_password(args.username),
                         grid_ids=grid_ids(args.grid) or [], phone=args.phone)
            print(f"已新增用户 {args.username}" + ("(可用其密码解锁本机)" if users.encrypted else ""))
        elif cmd == "set":
            users.update(args.username, display_name=args.name, role=args.role, grid_ids=grid_ids(args.grid),
                         phone=args.phone)
            print(f"已修改用户 {args.username}(下次登录时生效)")
        elif cmd == "reset-password":
            users.reset_password(args.username, new_password(args.username))
            print(f"已重置 {args.username} 的密码")
        elif cmd == "disable":
            users.set_active(args.username, False)
            print(f"已停用 {args.username}")
        elif cmd == "enable":
            users.set_active(args.username, True, password=new_password(args.username))
            print(f"已启用 {args.username}")
    finally:
        store.close()
    return 0


def register(sub: Any, root: argparse.ArgumentParser | None = None) -> None:
    """Add the core's own commands to the main parser's sub-commands."""

    ini = sub.add_parser("init", help="新建社区(与程序的首次使用向导相同的问题),或升级已有的数据库")
    ini.add_argument("--community", help="社区(村)的 12 位统计用区划代码")
    ini.add_argument("--community-name", help="社区(村)名称")
    ini.add_argument("--street-name", help="街道(乡镇)名称")
    ini.add_argument("--grids", type=int, help="网格数量(代码为社区代码加 01、02…,名称为 第1网格…)")
    ini.add_argument("--admin", help="第一位社区管理员的用户名")
    ini.add_argument("--admin-name", help="社区管理员的姓名")
    ini.add_argument("--password-stdin", action="store_true", help="从标准输入的第一行读取管理员密码")
    ini.add_argument("--no-encrypt", action="store_true", help="新建未加密的数据库(不建议:电脑丢失时数据可被读取)")
    ini.set_defaults(func=cmd_init)

    d = sub.add_parser("demo", help="生成演示社区(合成数据)")
    d.add_argument("--households", type=int, default=300, help="户数(默认 300)")
    d.add_argument("--seed", type=int, default=1, help="随机种子(相同种子生成相同数据)")
    d.add_argument("--replace", action="store_true",
                   help="删除已有的演示数据库后重新生成(只删除由 demo 生成的数据库,需加 --yes)")
    d.add_argument("--yes", action="store_true", help="确认 --replace 删除已有的演示数据库")
    d.add_argument("--user", help="已有演示数据库加密时:能解锁它的用户(需输入其密码)")
    d.add_argument("--password-stdin", action="store_true")
    d.add_argument("--json", action="store_true")
    d.add_argument("--encrypt", action="store_true", help="生成后加密数据库(每个演示用户都能用自己的密码解锁)")
    d.set_defaults(func=cmd_demo)

    from desktop.cli import quality

    quality.register(sub)

    st = sub.add_parser("stats", help="统计数字")
    st.add_argument("--area", help="社区或网格代码(默认全部)")
    st.add_argument("--from", dest="date_from", help="统计期开始 YYYY-MM-DD(默认今年 1 月 1 日)")
    st.add_argument("--to", dest="date_to", help="统计期结束 YYYY-MM-DD(默认今天)")
    st.add_argument("--grids", action="store_true", help="逐网格列出")
    st.add_argument("--user", help="以该用户的权限范围统计")
    st.add_argument("--json", action="store_true")
    st.set_defaults(func=cmd_stats)

    se = sub.add_parser("search", help="检索" + _searched_labels())
    se.add_argument("query", nargs="?", help="检索词(姓名、证件号等个人信息请改用 --query-stdin)")
    se.add_argument("--query-stdin", action="store_true",
                    help="从标准输入读取检索词(不会出现在进程列表和命令历史里;与 --password-stdin 同用时密码在第一行)")
    se.add_argument("--limit", type=int, default=20)
    se.add_argument("--user", help="以该用户的权限范围检索")
    se.add_argument("--password-stdin", action="store_true", help="从标准输入的第一行读取密码(加密的数据库)")
    se.add_argument("--json", action="store_true")
    se.set_defaults(func=cmd_search)

    v = sub.add_parser("validate", help="校验身份证号、号牌、电话、统一社会信用代码")
    v.add_argument("kind", choices=["id", "plate", "phone", "uscc"])
    v.add_argument("values", nargs="*", help="要校验的值(身份证号等个人信息请改用 --query-stdin)")
    v.add_argument("--query-stdin", action="store_true",
                   help="从标准输入逐行读取要校验的值(不会出现在进程列表和命令历史里)")
    v.add_argument("--json", action="store_true")
    v.set_defaults(func=cmd_validate)

    sub.add_parser("reindex", help="重建检索索引").set_defaults(func=cmd_reindex)
    b = sub.add_parser("backup", help="立即备份数据库(在线备份,保留最近若干份)")
    b.add_argument("--list", action="store_true", help="列出已有备份")
    b.add_argument("--keep", type=int, default=10, help="保留最近几份(默认 10)")
    b.add_argument("--user", help="操作人(记入审计)")
    b.set_defaults(func=cmd_backup)
    r = sub.add_parser("restore", help="从备份恢复数据库")
    r.add_argument("file", help="备份文件(见 gridledger backup --list)")
    r.add_argument("--yes", action="store_true", help="确认替换当前数据库")
    r.add_argument("--user", help="操作人(社区管理员或网格长)")
    r.add_argument("--password-stdin", action="store_true")
    r.add_argument("--recovery-key", action="store_true",
                   help="用加密时打印的恢复密钥解锁(密钥文件丢失或密码全部遗忘时;运行后提示输入恢复密钥)")
    r.set_defaults(func=cmd_restore)
    en = sub.add_parser("encrypt", help="加密本机数据库(SQLCipher;先自动备份)")
    en.add_argument("--user", required=True, help="执行加密的用户(需输入其密码)")
    en.add_argument("--password-stdin", action="store_true")
    en.set_defaults(func=cmd_encrypt)
    ky = sub.add_parser("keys", help="本机数据库的解锁密钥:状态、为用户开通、修改密码")
    ky.add_argument("--user", help="操作人(需输入其密码)")
    ky.add_argument("--password-stdin", action="store_true")
    kys = ky.add_subparsers(dest="keys_command", required=True)
    kys.add_parser("status", help="是否加密、哪些用户能解锁")
    ka = kys.add_parser("add-user", help="为本机的另一个用户开通(需社区管理员或网格长)")
    ka.add_argument("username")
    kys.add_parser("passwd", help="修改本机密码(不重新加密)")
    kys.add_parser("recovery-key", help="生成新的恢复密钥(只显示一次;需社区管理员或网格长)")
    kys.add_parser("recover", help="用恢复密钥重建丢失或损坏的密钥文件(--user 指定用户,提示输入恢复密钥和该用户的密码)")
    ky.set_defaults(func=cmd_keys)
    us = sub.add_parser("users", help="本机用户:列出、新增、修改、重置密码、停用、启用(需社区管理员或网格长)")
    us.add_argument("--user", required=True, help="操作人(社区管理员或网格长,需输入其密码)")
    us.add_argument("--password-stdin", action="store_true")
    uss = us.add_subparsers(dest="users_command", required=True)
    ul = uss.add_parser("list", help="列出本机用户")
    ul.add_argument("--json", action="store_true")
    for name, text in (("add", "新增用户(新密码从提示输入;脚本可用环境变量 GRIDLEDGER_NEW_PASSWORD,但写在命令行上的变量会留在命令历史里)"),
                       ("set", "修改姓名、角色、网格或电话")):
        ua = uss.add_parser(name, help=text)
        ua.add_argument("username")
        ua.add_argument("--name", help="姓名")
        ua.add_argument("--role", required=name == "add", help="角色:" + "、".join(f"{n}({c})" for c, n in ROLES.items()))
        ua.add_argument("--grid", action="append", help="负责网格的代码或名称(可重复;网格员至少一个)")
        ua.add_argument("--phone", help="联系电话")
    for name, text in (("reset-password", "重置密码"), ("disable", "停用(并删除其本机解锁密钥)"),
                       ("enable", "重新启用(需设置新密码)")):
        uss.add_parser(name, help=text).add_argument("username")
    us.set_defaults(func=cmd_users)
    pg = sub.add_parser("purge", help="按本人申请彻底清除一名人员的信息(同步到所有电脑)")
    pg.add_argument("person_id")
    pg.add_argument("--reason", required=True, help="清除原因(记入审计)")
    pg.add_argument("--user", required=True, help="操作人(社区管理员或网格长)")
    pg.add_argument("--yes", action="store_true")
    pg.set_defaults(func=cmd_purge)

    from desktop.cli import plan

    plan.register(sub)
