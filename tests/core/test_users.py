"""Local users: an admin or supervisor adds, edits, disables and re-enables users and resets
passwords; on an encrypted laptop each of those keeps the keyring right (a new user unlocks with
their own password, a disabled one cannot); a grid worker cannot manage users by any path, nor
raise their own role; every act is audited without the password."""

from __future__ import annotations

import pytest

from desktop.db.keys import Keyring
from desktop.services.auth import actor_for, sign_in
from desktop.services.demo import DEMO_PASSWORD
from desktop.services.errors import PermissionDenied, ServiceError, ValidationFailed
from desktop.services.records import Records
from desktop.services.search import Search
from desktop.services.session import LocalDatabase, change_password
from desktop.services.users import Users
from tests.factories import encrypted_demo


@pytest.fixture(params=["plain", "encrypted"])
def laptop(request, tmp_path):
    path = tmp_path / "laptop.db"
    store, admin = encrypted_demo(path, households=40, seed=11, encrypt_db=request.param == "encrypted",
                                  others={"wgz001": DEMO_PASSWORD})
    yield path, store, admin
    store.close()


def _grids(store, admin):
    return Users(store, admin).grid_choices()


def test_admin_adds_a_grid_worker_who_signs_in_and_sees_only_their_grid(laptop):
    path, store, admin = laptop
    grid_id, label = _grids(store, admin)[0]
    assert " / " in label  # community / grid, so two grids of one name can be told apart
    Users(store, admin).create("newworker", "新网格员", "grid_worker", "first-pass-1", grid_ids=[grid_id])
    rows = {u["username"]: u for u in Users(store, admin).list()}
    new = rows["newworker"]
    assert new["role_label"] == "网格员" and [g for g, _ in new["grids"]] == [grid_id] and new["active"]
    if store.key is not None:
        assert new["can_unlock"] is True and rows["wgy001"]["can_unlock"] is False
    else:
        assert new["can_unlock"] is None
    store.close()
    other, worker = LocalDatabase(path).open("newworker", "first-pass-1")
    try:
        assert worker.grid_ids == frozenset({grid_id})
        with other.engine.connect() as c:
            surname = c.exec_driver_sql("SELECT substr(name, 1, 1) FROM person GROUP BY 1 ORDER BY count(*) DESC").scalar()
        hits = Search(other, worker).search(surname, limit=200)
        assert hits and all(h.grid_id == grid_id for h in hits)
    finally:
        other.close()
    if path.with_name(path.name + ".keys").exists():
        assert Keyring.load(path).users["newworker"]["role"] == "grid_worker"  # shown on the sign-in list


def test_bad_input_is_refused_in_chinese_and_nothing_is_written(laptop):
    _, store, admin = laptop
    users = Users(store, admin)
    before = len(users.list())
    with pytest.raises(ValidationFailed) as err:
        users.create("王", "王一", "grid_worker", "short")
    fields = err.value.by_field()
    assert "用户名" in fields and "密码" in fields and "至少需要 8 个字符" in str(err.value)
    with pytest.raises(ValidationFailed, match="至少需要分配一个网格"):
        users.create("wangyi", "王一", "grid_worker", "long-enough-1")
    with pytest.raises(ValidationFailed, match="已被使用"):
        users.create("wgy001", "重复", "supervisor", "long-enough-1")
    with pytest.raises(ValidationFailed, match="用户角色"):
        users.create("wangyi", "王一", "emperor", "long-enough-1")
    assert len(users.list()) == before


def test_a_grid_worker_cannot_manage_users_by_any_path(laptop):
    _, store, admin = laptop
    worker = actor_for(store, "wgy001")
    with pytest.raises(PermissionDenied):
        Users(store, worker).list()
    with pytest.raises(PermissionDenied):
        Users(store, worker).create("sneaky", "某人", "supervisor", "long-enough-1")
    with pytest.raises(PermissionDenied):
        Users(store, worker).reset_password("admin", "long-enough-1")
    me = next(u for u in Users(store, admin).list() if u["username"] == "wgy001")
    with pytest.raises(PermissionDenied):  # the generic record service refuses too
        Records(store, worker).update("app_user", me["id"], {"role": "supervisor"})
    with pytest.raises(PermissionDenied):
        Records(store, worker).create("user_grid", {"user_id": me["id"], "grid_id": _grids(store, admin)[-1][0]})
    assert actor_for(store, "wgy001").role == "grid_worker"


def test_reset_disable_enable_and_the_keyring(laptop):
    path, store, admin = laptop
    users = Users(store, admin)
    grid_id = _grids(store, admin)[0][0]
    users.create("temp", "临时", "grid_worker", "first-pass-1", grid_ids=[grid_id])
    users.reset_password("temp", "second-pass-2")
    with pytest.raises(PermissionDenied):
        sign_in(store, "temp", "first-pass-1")
    assert sign_in(store, "temp", "second-pass-2").username == "temp"
    users.set_active("temp", False)
    with pytest.raises(PermissionDenied):
        sign_in(store, "temp", "second-pass-2")
    if store.key is not None:
        assert "temp" not in Keyring.load(path).users
        assert "temp" not in [u for u, _, _ in LocalDatabase(path).users()]  # gone from the sign-in list
    with pytest.raises(ValidationFailed):
        users.set_active("temp", True)  # a re-enabled user needs a new password
    users.set_active("temp", True, password="third-pass-3")
    assert sign_in(store, "temp", "third-pass-3").username == "temp"
    if store.key is not None:
        assert Keyring.load(path).unlock("temp", "third-pass-3") == store.key


def test_admins_cannot_lock_themselves_or_the_laptop_out(laptop):
    _, store, admin = laptop
    users = Users(store, admin)
    with pytest.raises(ServiceError, match="不能停用自己"):
        users.set_active("admin", False)
    with pytest.raises(ServiceError, match="不能修改自己的角色"):
        users.update("admin", role="grid_worker", grid_ids=[_grids(store, admin)[0][0]])
    users.set_active("wgz001", False)  # admin remains
    supervisor_gone = {u["username"]: u for u in users.list()}["wgz001"]
    assert supervisor_gone["active"] is False


def test_role_and_grid_changes_take_effect_at_next_sign_in(laptop):
    _, store, admin = laptop
    users = Users(store, admin)
    g1 = _grids(store, admin)[0][0]
    parent = Records(store, admin).get("area", g1)["parent_id"]
    g2 = Records(store, admin).create("area", {"name": "第九网格", "code": "G99", "level": "grid", "parent_id": parent})["id"]
    users.update("wgy001", grid_ids=[g1, g2], display_name="改名")
    assert actor_for(store, "wgy001").grid_ids == frozenset({g1, g2})
    users.update("wgy001", grid_ids=[g2])
    assert actor_for(store, "wgy001").grid_ids == frozenset({g2})
    users.update("wgy001", grid_ids=[g1, g2])  # a removed grid comes back (its row is restored)
    assert actor_for(store, "wgy001").grid_ids == frozenset({g1, g2})
    users.update("wgy001", role="supervisor")
    assert actor_for(store, "wgy001").grid_ids is None
    with pytest.raises(ValidationFailed, match="至少需要分配一个网格"):
        users.update("wgy001", role="grid_worker", grid_ids=[])


def test_own_password_change_and_audit_without_the_password(laptop):
    path, store, admin = laptop
    worker = actor_for(store, "wgy001")
    with pytest.raises(PermissionDenied, match="原密码不正确"):
        Users(store, worker).change_own_password("wrong-one", "new-pass-123")
    with pytest.raises(ValidationFailed, match="至少需要 8 个字符"):
        Users(store, worker).change_own_password(DEMO_PASSWORD, "short")
    Users(store, worker).change_own_password(DEMO_PASSWORD, "new-pass-123")
    assert sign_in(store, "wgy001", "new-pass-123").username == "wgy001"
    if store.key is not None:  # a worker who had no key entry yet can now unlock with the new password
        assert Keyring.load(path).unlock("wgy001", "new-pass-123") == store.key
    Users(store, admin).create("audited", "审计", "supervisor", "secret-pass-9")
    Users(store, admin).reset_password("audited", "other-secret-8")
    with store.engine.connect() as c:
        rows = c.exec_driver_sql(
            "SELECT actor, action, coalesce(detail, '') || summary FROM audit_log "
            "WHERE action IN ('create', 'password') ORDER BY seq").all()
    text = " ".join(r[2] for r in rows)
    assert ("wgy001", "password") in [(r[0], r[1]) for r in rows]
    assert ("admin", "password") in [(r[0], r[1]) for r in rows]
    for secret in ("new-pass-123", "secret-pass-9", "other-secret-8", "scrypt$"):
        assert secret not in text
    store.close()
    if store.key is not None:
        change_password(path, "admin", DEMO_PASSWORD, "admin-new-pass")
        other, _ = LocalDatabase(path).open("admin", "admin-new-pass")
        other.close()


def test_users_command(laptop, monkeypatch, capsys):
    """`gridledger users`: the operator's password is checked even on a plain laptop; a grid
    worker is refused; a mistake is a Chinese message and exit code 2."""
    import json

    from desktop.cli import main

    path, store, admin = laptop
    grid_code = store.engine.connect().exec_driver_sql("SELECT code FROM area WHERE level = 'grid' LIMIT 1").scalar()
    store.close()
    db = ["--db", str(path)]
    monkeypatch.setenv("GRIDLEDGER_PASSWORD", "wrong-password")
    assert main([*db, "users", "--user", "admin", "list"]) == 2
    assert "不正确" in capsys.readouterr().err
    monkeypatch.setenv("GRIDLEDGER_PASSWORD", DEMO_PASSWORD)
    monkeypatch.setenv("GRIDLEDGER_NEW_PASSWORD", "cli-pass-123")
    assert main([*db, "users", "--user", "admin", "add", "zhaoliu", "--name", "赵六", "--role", "网格员",
                 "--grid", grid_code]) == 0
    assert "已新增用户 zhaoliu" in capsys.readouterr().out
    assert main([*db, "users", "--user", "admin", "add", "zhaoqi", "--role", "网格员", "--grid", "没有这个网格"]) == 2
    assert "找不到网格" in capsys.readouterr().err
    assert main([*db, "users", "--user", "admin", "list", "--json"]) == 0
    rows = {u["username"]: u for u in json.loads(capsys.readouterr().out)}
    assert rows["zhaoliu"]["display_name"] == "赵六" and rows["zhaoliu"]["role"] == "grid_worker"
    other, worker = LocalDatabase(path).open("zhaoliu", "cli-pass-123")
    other.close()
    assert len(worker.grid_ids) == 1
    # a grid worker (here the new one) cannot manage users
    monkeypatch.setenv("GRIDLEDGER_PASSWORD", "cli-pass-123")
    assert main([*db, "users", "--user", "zhaoliu", "set", "zhaoliu", "--role", "网格长"]) == 2
    assert "只有社区管理员或网格长" in capsys.readouterr().err
    monkeypatch.setenv("GRIDLEDGER_PASSWORD", DEMO_PASSWORD)
    assert main([*db, "users", "--user", "admin", "disable", "zhaoliu"]) == 0
    assert main([*db, "users", "--user", "admin", "list"]) == 0
    assert "zhaoliu\t赵六\t网格员" in capsys.readouterr().out
