"""Every test gets its own temporary database and data folder; nothing touches the user's files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def _isolated_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIDLEDGER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("GRIDLEDGER_DB", raising=False)


@pytest.fixture(autouse=True)
def _factory_seed(request: pytest.FixtureRequest) -> None:
    """tests/factories.py draws its ID numbers from a generator seeded by the test's own id."""
    from tests.factories import reseed

    reseed(request.node.nodeid)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "t.db"


@pytest.fixture
def store(db_path: Path):
    from desktop.services.store import Store

    s = Store.open(db_path, create=True)
    yield s
    s.close()


@pytest.fixture
def admin():
    from desktop.services.store import Actor

    return Actor("admin", "community_admin", None, "dev-1", "管理员")


@pytest.fixture
def community(store, admin):
    from tests.factories import Community

    return Community.build(store, admin)
