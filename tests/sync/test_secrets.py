"""The server's signing secret and its database: only `--dev` runs with the public development
secret, and then only on loopback; weak secrets and secret files others can read are refused
(with the command that fixes them); the server database, which holds the signing keys and the
password hashes, is created readable by its owner only."""

from __future__ import annotations

import asyncio
import base64
import os
import random
import stat
import sys
import time

import httpx
import jwt
import pytest

from server.app import DEV_SECRET, ConfigError, Settings, create_app
from server.store import ServerStore

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for name in ("GRIDLEDGER_SECRET", "GRIDLEDGER_ENV"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def served(monkeypatch):
    """`gridledger serve` up to the point where uvicorn would start: what it would have run."""
    import uvicorn

    calls: list[dict] = []

    def fake_run(self, sockets=None):
        c = self.config
        calls.append({"app": c.app, "host": c.host, "port": c.port,
                      "timeout_graceful_shutdown": c.timeout_graceful_shutdown})

    monkeypatch.setattr(uvicorn.Server, "run", fake_run)
    return calls


def _serve(tmp_path, *args: str) -> int:
    from desktop.cli import main

    return main(["serve", "--database", f"sqlite:///{tmp_path / 's.db'}", *args])


def _secret_file(tmp_path, text: str, mode: int = 0o600):
    path = tmp_path / "gridledger.secret"
    path.write_text(text + "\n", encoding="utf-8")
    path.chmod(mode)
    return path


def _strong() -> str:
    return base64.b64encode(os.urandom(48)).decode()


# --- the development secret -------------------------------------------------------------------

def test_environment_variable_no_longer_switches_on_the_development_secret(tmp_path, monkeypatch, served, capsys):
    monkeypatch.setenv("GRIDLEDGER_ENV", "development")
    with pytest.raises(ConfigError, match="GRIDLEDGER_ENV"):
        Settings.load("sqlite://")
    assert _serve(tmp_path) == 2
    err = capsys.readouterr().err
    assert "拒绝启动" in err and "--dev" in err and "Traceback" not in err
    assert served == []


def test_a_token_forged_with_the_public_secret_is_refused(tmp_path, monkeypatch):
    """The failure the issue describes: a server started with GRIDLEDGER_ENV=development accepted
    a token anyone can sign with the secret printed in the source."""
    monkeypatch.setenv("GRIDLEDGER_ENV", "development")
    secret = _strong()
    settings = Settings.load(f"sqlite:///{tmp_path / 's.db'}", secret=secret)
    assert not settings.development and settings.secret == secret
    now = int(time.time())
    forged = jwt.encode({"sub": "admin", "dev": "x", "iat": now, "exp": now + 600}, DEV_SECRET, algorithm="HS256")
    app = create_app(settings)

    async def ask() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            return await client.get("/api/v1/stats", headers={"Authorization": f"Bearer {forged}"})

    resp = asyncio.run(ask())
    app.state.store.close()
    assert resp.status_code == 401 and resp.json()["code"] == "bad_token"


def test_dev_binds_to_loopback_only(tmp_path, served, capsys):
    for host in ("0.0.0.0", "192.168.1.10", "::"):
        assert _serve(tmp_path, "--dev", "--host", host) == 2
        err = capsys.readouterr().err
        assert "--dev" in err and "127.0.0.1" in err and host in err
    assert served == []
    for host in ("127.0.0.1", "localhost", "::1"):
        assert _serve(tmp_path, "--dev", "--host", host) == 0
    assert [c["host"] for c in served] == ["127.0.0.1", "localhost", "::1"]
    assert all(c["app"].state.settings.development for c in served)


def test_settings_made_directly_refuse_the_public_secret_too():
    with pytest.raises(ConfigError, match="公开的开发密钥"):
        Settings("sqlite://", DEV_SECRET)
    with pytest.raises(ConfigError, match="太弱"):
        Settings("sqlite://", "a" * 40)
    assert Settings("sqlite://", DEV_SECRET, development=True).development


def test_dev_loopback_rule_holds_for_settings_too():
    with pytest.raises(ConfigError, match="127.0.0.1"):
        Settings.load("sqlite://", development=True, host="0.0.0.0")
    assert Settings.load("sqlite://", development=True, host="127.0.0.1").secret == DEV_SECRET


# --- weak secrets -----------------------------------------------------------------------------

@pytest.mark.parametrize("weak", [
    "a" * 32, "a" * 64, "ab" * 20, "abcdefgh" * 5, "0123456789" * 4,
    "abcdefghijklmnopqrstuvwxyz0123456789",  # a run of neighbouring characters
    "Xk3#Xk3#Xk3#Xk3#Xk3#Xk3#Xk3#Xk3#Xk3#",  # a repeated block
    "0" * 31 + "1",
])
def test_low_entropy_secrets_are_refused(weak):
    with pytest.raises(ConfigError, match="太弱") as exc:
        Settings.load("sqlite://", secret=weak)
    assert "/dev/urandom" in str(exc.value)


def test_a_short_secret_is_refused():
    with pytest.raises(ConfigError, match="太短"):
        Settings.load("sqlite://", secret="Xk3#pQ9!")


def test_random_secrets_from_the_usual_recipes_pass():
    rnd = random.Random(20261205)
    for _ in range(300):
        raw = rnd.randbytes(48)
        for secret in (base64.b64encode(raw).decode(),  # head -c 48 /dev/urandom | base64 (the README)
                       raw[:32].hex(),  # openssl rand -hex 32
                       base64.urlsafe_b64encode(raw[:32]).decode().rstrip("=")):  # secrets.token_urlsafe(32)
            assert Settings.load("sqlite://", secret=secret).secret == secret


# --- the secret file --------------------------------------------------------------------------

@posix_only
@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_a_secret_file_others_can_read_is_refused(tmp_path, served, capsys, mode):
    path = _secret_file(tmp_path, _strong(), mode)
    assert _serve(tmp_path, "--secret-file", str(path)) == 2
    err = capsys.readouterr().err
    assert f"chmod 600 {path}" in err and str(path) in err and "Traceback" not in err
    assert served == []


@posix_only
def test_a_private_secret_file_starts_the_server(tmp_path, served):
    secret = _strong()
    path = _secret_file(tmp_path, secret, 0o600)
    assert _serve(tmp_path, "--secret-file", str(path), "--host", "0.0.0.0") == 0
    (call,) = served
    assert call["host"] == "0.0.0.0"
    assert call["app"].state.settings.secret == secret and not call["app"].state.settings.development


def test_a_weak_secret_file_is_refused_with_its_name(tmp_path, served, capsys):
    path = _secret_file(tmp_path, "a" * 48, 0o600)
    assert _serve(tmp_path, "--secret-file", str(path)) == 2
    err = capsys.readouterr().err
    assert "太弱" in err and str(path) in err
    assert served == []


# --- the server database ----------------------------------------------------------------------

@posix_only
def test_server_database_is_created_for_its_owner_only(tmp_path):
    old = os.umask(0o022)
    try:
        db = tmp_path / "server.db"
        store = ServerStore(f"sqlite:///{db}")
        try:
            store.key("sign_private", lambda: "00" * 32)
            files = [p for p in tmp_path.iterdir() if p.name.startswith("server.db")]
            assert db in files
            for p in files:  # the database and its -wal/-shm
                assert stat.S_IMODE(p.stat().st_mode) == 0o600, p.name
        finally:
            store.close()
    finally:
        os.umask(old)


@posix_only
def test_an_existing_server_database_others_can_read_is_made_private(tmp_path):
    db = tmp_path / "server.db"
    ServerStore(f"sqlite:///{db}").close()
    db.chmod(0o644)
    ServerStore(f"sqlite:///{db}").close()
    assert stat.S_IMODE(db.stat().st_mode) == 0o600


# --- what the commands say --------------------------------------------------------------------

def test_a_database_password_is_never_printed(tmp_path, served, capsys):
    from desktop.cli import main

    url = "postgresql+psycopg://gl:s3cret-pw@127.0.0.1:1/gridledger"
    assert main(["server", "--database", url, "list-users"]) == 2
    err = capsys.readouterr().err
    assert "无法打开服务器数据库" in err and "s3cret-pw" not in err and "gl:***@127.0.0.1" in err
    path = _secret_file(tmp_path, _strong(), 0o600)
    assert main(["serve", "--database", url, "--secret-file", str(path)]) == 2
    err = capsys.readouterr().err
    assert "s3cret-pw" not in err and "Traceback" not in err


def test_the_dev_server_says_it_runs_with_the_public_secret(tmp_path, served, capsys):
    assert _serve(tmp_path, "--dev") == 0
    err = capsys.readouterr().err
    assert "开发模式" in err and "公开的开发密钥" in err and "只能从本机访问" in err
    path = _secret_file(tmp_path, _strong(), 0o600)
    assert _serve(tmp_path, "--secret-file", str(path)) == 0
    assert "开发" not in capsys.readouterr().err


@posix_only
def test_the_readme_recipe_makes_a_secret_file_the_server_accepts(tmp_path, served):
    """The recipe as the README prints it (and as the refusals quote it), run under the usual
    umask: the file is its owner's only and the secret is strong enough."""
    import subprocess
    from pathlib import Path

    from server.secret_key import RECIPE

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert RECIPE in readme
    target = tmp_path / "gridledger.secret"
    subprocess.run(["bash", "-c", f"umask 022; {RECIPE.replace('/etc/gridledger.secret', str(target))}"],
                   check=True, timeout=60)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert _serve(tmp_path, "--secret-file", str(target), "--host", "0.0.0.0") == 0
