"""A grid worker's whole day leaves a log (the laptop's rotating file and the server's JSON lines)
that holds no personal value: no name, ID number, phone, address, password, key or token."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from desktop.cli import main
from desktop.paths import start_log_file
from desktop.services.auth import sign_in
from desktop.services.demo import DEMO_PASSWORD
from desktop.services.errors import PermissionDenied
from desktop.services.households import Households
from desktop.services.session import LocalDatabase
from desktop.sync.client import SyncClient, SyncError
from tests.exchange.conftest import person_ids, write_xlsx
from tests.factories import encrypted_demo, id_number, years_ago
from tests.privacy_scan import Leak, merge, personal_values, scan
from tests.sync.harness import free_port

ROOT = Path(__file__).resolve().parent.parent
SERVER_PASSWORD = "srv-Pass-7391"
WRONG_PASSWORD = "wrong-Pass-5521"


# --- the scanner itself ---------------------------------------------------------------------------

def test_the_scanner_finds_a_logged_name_id_number_and_token(tmp_path):
    log = tmp_path / "gridledger.log"
    log.write_text("2026-01-01 INFO desktop.x: registered 马明珠 with 620104199003070016\n", encoding="utf-8")
    secrets = {"name": {"马明珠", "赵六"}, "id_number": {"620104199003070016"}, "token": {"eyJabc"}}
    assert sorted(map(str, scan([log], secrets))) == sorted(map(str, [Leak(str(log), "id_number", "620104199003070016"),
                                                                      Leak(str(log), "name", "马明珠")]))


def test_the_scanner_opens_zips(tmp_path):
    import zipfile

    z = tmp_path / "diag.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("logs/gridledger.log", "sign-in by 赵六")
    assert scan([z], {"name": {"赵六"}}) == [Leak(f"{z}!logs/gridledger.log", "name", "赵六")]


def test_a_clean_log_passes(tmp_path):
    log = tmp_path / "gridledger.log"
    log.write_text("2026-01-01 INFO desktop.sync.client: sync done in 1.2 s\n", encoding="utf-8")
    assert scan([log], {"name": {"赵六"}, "password": {"demo1234"}}) == []


@pytest.fixture(autouse=True)
def _log_handlers_restored():
    """The log handlers a test adds (the log file in its tmp folder) go when it ends."""
    import logging

    root = logging.getLogger()
    before = list(root.handlers)
    yield
    for h in list(root.handlers):
        if h not in before:
            root.removeHandler(h)
            h.close()


# --- the demo day ---------------------------------------------------------------------------------

def _cli(capsys, *argv: str, stdin: str = "") -> tuple[int, str, str]:
    old = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        code = main(list(argv))
    finally:
        sys.stdin = old
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def server(tmp_path):
    """`gridledger serve` as a real process, its stderr and --log-file captured."""
    from server import service
    from server.store import ServerStore

    url = f"sqlite:///{tmp_path / 'server.db'}"
    st = ServerStore(url)
    service.add_user(st, "admin", SERVER_PASSWORD, "community_admin")
    st.close()
    port = free_port()
    stderr = tmp_path / "server.stderr"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with stderr.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "desktop.cli", "serve", "--dev", "--port", str(port), "--database", url,
             "--log-file", str(tmp_path / "server-log" / "server.log")],
            stdout=subprocess.DEVNULL, stderr=err, env=env, cwd=tmp_path)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"{base}/api/v1/info", timeout=1).raise_for_status()
            break
        except httpx.HTTPError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"the server did not start: {stderr.read_text(encoding='utf-8', errors='replace')}")
            time.sleep(0.1)
    yield base, stderr, tmp_path / "server-log" / "server.log"
    proc.terminate()
    proc.wait(timeout=20)


def test_a_demo_day_logs_no_personal_value(tmp_path, monkeypatch, capsys, server):
    url, server_stderr, server_file = server
    logs = tmp_path / "logs"
    monkeypatch.setenv("GRIDLEDGER_LOG_DIR", str(logs))
    assert start_log_file() == logs / "gridledger.log"  # as the app and every command do first
    db = tmp_path / "street.db"
    store, admin = encrypted_demo(db, households=12, seed=11)
    key = store.key
    assert key is not None
    secrets: dict[str, set[str]] = {
        "password": {DEMO_PASSWORD, SERVER_PASSWORD, WRONG_PASSWORD},
        "key": {key.hex()}, "token": set(),
    }
    # register a household, record a visit (the services the forms call)
    cert = id_number(years_ago(41), "2")
    hh = Households(store, admin).register(
        grid_id=store.engine.connect().exec_driver_sql(
            "SELECT id FROM area WHERE level = 'grid' ORDER BY code LIMIT 1").scalar_one(),
        address={"estate": "翠柳苑", "building": "8", "unit": "2", "room": "808"},
        members=[{"name": "欧阳明珠", "cert_no": cert, "phone": "13912345678"}])
    person_id = hh["members"][0]["id"]
    from desktop.services.events import Visits

    Visits(store, admin).record({"household_id": hh["household"]["id"], "method": "入户", "situation": "欧阳明珠在家"})
    with pytest.raises(PermissionDenied):
        sign_in(store, "admin", WRONG_PASSWORD)
    # a sync through the services against the real server: its token is a secret too
    client = SyncClient(store, url, "admin", SERVER_PASSWORD)
    try:
        first = client.run()
        assert client.conn.token
        secrets["token"].add(client.conn.token)
    finally:
        client.close()
    assert first.push_status.get("applied", 0) > 50
    wrong = SyncClient(store, url, "admin", WRONG_PASSWORD)
    try:
        with pytest.raises(SyncError) as refused:
            wrong.run()
        assert refused.value.code == "bad_credentials"
    finally:
        wrong.close()
    store.close()

    user = ["--db", str(db)]
    auth = ["--user", "admin"]
    # the sync made the server's password admin's password on this laptop too
    monkeypatch.setenv("GRIDLEDGER_PASSWORD", SERVER_PASSWORD)
    # search by name, through the command line (the query comes on stdin)
    code, out, err = _cli(capsys, *user, "search", "--query-stdin", "--json", *auth, "--password-stdin",
                          stdin=SERVER_PASSWORD + "\n欧阳明珠\n")
    assert code == 0, err
    assert "欧阳明珠" in out
    # import, print, export, a backup
    ids = person_ids(2, seed=83)
    sheet = write_xlsx(tmp_path / "people.xlsx", [["姓名", "身份证号", "联系电话"], ["司马青", ids[0][0], "13787654321"],
                                                  ["东方白", ids[1][0], "15911112222"]])
    code, out, err = _cli(capsys, *user, "import", str(sheet), "--kind", "person", "--grid", "62010400100101", *auth)
    assert code == 0, err
    code, out, err = _cli(capsys, *user, "print", "archive", "--all", "--out", str(tmp_path / "all.pdf"),
                          "--allow-missing", *auth)
    assert code == 0, err
    code, out, err = _cli(capsys, *user, "export", "person", "--out", str(tmp_path / "p.xlsx"), "--unmask", *auth)
    assert code == 0, err
    code, out, err = _cli(capsys, *user, "backup", *auth)
    assert code == 0, err
    # a second sync, through the command line
    code, out, err = _cli(capsys, *user, "sync", "--server", url, "--user", "admin", "--password-stdin", "--quiet",
                          stdin=SERVER_PASSWORD + "\n")
    assert code == 0, err
    # a wrong password on the laptop
    monkeypatch.setenv("GRIDLEDGER_PASSWORD", WRONG_PASSWORD)
    code, out, err = _cli(capsys, *user, "stats", *auth)
    assert code == 2 and "密码" in err
    monkeypatch.setenv("GRIDLEDGER_PASSWORD", SERVER_PASSWORD)
    # every value of the street, taken before the purge
    secrets = merge(secrets, personal_values(db, key), {"name": {"欧阳明珠", "司马青", "东方白"},
                                                        "id_number": {cert, ids[0][0], ids[1][0]},
                                                        "phone": {"13912345678", "13787654321", "15911112222"}})
    code, out, err = _cli(capsys, *user, "purge", person_id, "--reason", "本人申请删除", "--user", "admin", "--yes")
    assert code == 0, err
    # the diagnostics package, made from these logs
    from desktop.services.diagnostics import write_package

    st, _ = LocalDatabase(db).open("admin", SERVER_PASSWORD)
    try:
        package = write_package(tmp_path / "diag.zip", st)
    finally:
        st.close()

    files = sorted(p for p in logs.iterdir() if p.is_file())
    laptop_log = (logs / "gridledger.log").read_text(encoding="utf-8")
    # every line the server wrote on stderr is one JSON object
    server_lines = [json.loads(line) for line in server_stderr.read_text(encoding="utf-8").splitlines() if line]
    assert any("网格台账同步服务器" in e["message"] for e in server_lines)
    assert any(e["message"].startswith("server start-up: ") for e in server_lines)
    # the logs do say what happened
    for said in ("start-up", "sync with", "import person", "printed archives", "exported person",
                 "backup ", "purged one person", "local sign-in refused", "unlocking the encrypted database refused"):
        assert said in laptop_log, said
    requests = [e for e in server_lines if e.get("message") == "request"]
    assert {"/api/v1/sync/push", "/api/v1/sync/pull", "/api/v1/auth/token"} <= {e["route"] for e in requests}
    assert {e["status"] for e in requests if e["route"] == "/api/v1/auth/token"} >= {200, 401}
    assert all(e["request_id"] and isinstance(e["ms"], float) for e in requests)
    assert "admin" in {e.get("user") for e in requests}
    assert server_file.read_text(encoding="utf-8").count('"message": "request"') == len(requests)
    assert len(secrets["name"]) > 20 and len(secrets["id_number"]) > 20 and secrets["token"]
    leaks = scan([*files, server_stderr, server_file, package], secrets)
    assert leaks == [], "\n".join(map(str, leaks))


def test_id_and_phone_numbers_are_masked_in_every_log_line():
    from desktop.paths import redact

    line = "row 620104199003070016 and 62010419900307001x, call 13912345678; seq 1234567890123456789, id a13912345678b"
    assert redact(line) == ("row [已隐去] and [已隐去], call [已隐去]; seq 1234567890123456789, "
                            "id a13912345678b")


def test_the_home_folder_is_written_as_a_tilde(monkeypatch, tmp_path):
    from desktop.paths import tidy_path

    monkeypatch.setattr(Path, "home", staticmethod(lambda: tmp_path / "张三"))
    assert tidy_path(tmp_path / "张三" / "data" / "gridledger.db") == str(Path("~/data/gridledger.db"))
    assert tidy_path(tmp_path / "张三之家" / "x.db") == str(tmp_path / "张三之家" / "x.db")
    assert tidy_path(None) is None
