"""gridledger import / export / template."""

from __future__ import annotations

import json

from desktop.cli import main
from desktop.services.demo import generate
from desktop.services.store import Store
from tests.exchange.conftest import person_ids, write_xlsx


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_import_export_template_commands(capsys, tmp_path):
    db = tmp_path / "cli.db"
    store = Store.open(db, create=True)
    generate(store, households=30, seed=2)
    store.close()
    ids = person_ids(3, seed=81)
    good = write_xlsx(tmp_path / "good.xlsx", [["姓名", "身份证号", "户号"], ["甲", ids[0][0], "N1"], ["乙", ids[1][0], "N1"]])
    bad = write_xlsx(tmp_path / "bad.xlsx", [["姓名", "身份证号"], ["丙", ids[2][0]], ["丁", "12345"]])

    code, out, err = run(capsys, "--db", str(db), "import", str(good), "--kind", "person", "--grid", "62010400100101", "--dry-run")
    assert code == 0 and "检查结果" in out and "新增 2" in out and "列对应" in out
    code, out, err = run(capsys, "--db", str(db), "import", str(bad), "--kind", "person", "--grid", "62010400100101",
                         "--report", str(tmp_path / "r.json"))
    assert code == 3 and "未导入" in out and "第 3 行" in out
    assert json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["counts"]["rejected"] == 1
    code, out, err = run(capsys, "--db", str(db), "import", str(bad), "--kind", "person", "--grid", "62010400100101",
                         "--valid-only", "--report", str(tmp_path / "r.xlsx"), "--user", "admin")
    assert code == 3 and "已导入" in out and (tmp_path / "r.xlsx").exists()
    code, out, err = run(capsys, "--db", str(db), "import", str(good), "--kind", "person", "--grid", "62010400100101")
    assert code == 0 and "新增 2" in out
    code, out, err = run(capsys, "--db", str(db), "import", str(good), "--kind", "person", "--on-existing", "skip", "--json")
    assert code == 0 and json.loads(out)["counts"]["skipped"] == 2
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04garbage")
    code, out, err = run(capsys, "--db", str(db), "import", str(broken), "--kind", "person")
    assert code == 2 and "无法读取" in err
    code, out, err = run(capsys, "--db", str(db), "import", str(good), "--kind", "person", "--grid", "nope")
    assert code == 2 and "找不到代码为 nope" in err

    code, out, err = run(capsys, "--db", str(db), "export", "person", "--out", str(tmp_path / "p.xlsx"), "--grid", "620104001001")
    assert code == 0 and "已导出人员台账" in out
    code, out, err = run(capsys, "--db", str(db), "export", "visit", "--out", str(tmp_path / "v.xlsx"),
                         "--from", "2020-01-01", "--to", "2030-12-31", "--user", "wgy001")
    assert code == 0 and "走访台账" in out
    code, out, err = run(capsys, "--db", str(db), "export", "person", "--out", str(tmp_path / "u.xlsx"), "--unmask", "--user", "wgy001")
    assert code == 2 and "没有权限导出完整证件号码" in err
    code, out, err = run(capsys, "--db", str(db), "export", "visit", "--out", str(tmp_path / "v.xlsx"), "--from", "2020-13-01")
    assert code == 2 and "不是有效日期" in err
    code, out, err = run(capsys, "template", "vehicle", "--out", str(tmp_path / "t.xlsx"))
    assert code == 0 and (tmp_path / "t.xlsx").exists()


def test_import_lists_registered_people_until_confirmed(capsys, tmp_path):
    from sqlalchemy import text

    db = tmp_path / "cli.db"
    store = Store.open(db, create=True)
    generate(store, households=5, seed=3)
    with store.session() as s:
        name, cert, phone = s.execute(text(
            "SELECT name, cert_no, phone FROM person WHERE phone LIKE '1__________' AND deleted_at IS NULL LIMIT 1")).one()
    store.close()
    new_phone = "17000002598" if phone != "17000002598" else "17000002599"
    path = write_xlsx(tmp_path / "p.xlsx", [["姓名", "身份证号", "联系电话"], [name, cert, new_phone]])  # no 网格: theirs
    code, out, err = run(capsys, "--db", str(db), "import", str(path), "--kind", "person")
    masked_old, masked_new = phone[:3] + "****" + phone[7:], new_phone[:3] + "****" + new_phone[7:]
    assert code == 0 and "需确认 1" in out and f"联系电话: {masked_old} → {masked_new}" in out
    assert "--confirm" in out and phone not in out and new_phone not in out
    code, out, err = run(capsys, "--db", str(db), "import", str(path), "--kind", "person", "--confirm", "x-2")
    assert code != 0 and "--confirm 中的“x-2”不是行号" in err
    code, out, err = run(capsys, "--db", str(db), "import", str(path), "--kind", "person", "--confirm", "2")
    assert code == 0 and "更新 1" in out
    store = Store.open(db)
    with store.session() as s:
        assert s.execute(text("SELECT phone FROM person WHERE cert_no = :c"), {"c": cert}).scalar() == new_phone
    store.close()
