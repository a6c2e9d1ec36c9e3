"""Sync fixtures: a real server on loopback (SQLite file or a throwaway PostgreSQL cluster), and a
small demo community pushed to it by the community admin's laptop."""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from desktop.services.store import Store
from tests.sync.harness import ThreadServer, demo_file, laptop, sync

DEMO_HOUSEHOLDS = 220  # two grids (200 + 20 households)


@pytest.fixture(scope="session")
def pg_cluster(tmp_path_factory):
    from tests.pgcluster import PgCluster, find_pg_bin

    if find_pg_bin() is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not installed: make test installs it (DEB_PACKAGES)")
        pytest.skip("PostgreSQL binaries not found (outside CI)")
    cluster = PgCluster()
    cluster.start()
    yield cluster
    cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def server_db(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'server.db'}"
    cluster = request.getfixturevalue("pg_cluster")
    return cluster.create_database("gl_" + uuid.uuid4().hex[:12])


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory) -> Path:
    """A demo community file, never synced: copied for each test's admin laptop."""
    return demo_file(tmp_path_factory.mktemp("tpl") / "demo.db", DEMO_HOUSEHOLDS, 3)


@dataclass
class World:
    server: ThreadServer
    tmp: Path
    admin: Store
    grids: list[str]

    @property
    def url(self) -> str:
        return self.server.url

    def laptop(self, name: str) -> Store:
        return laptop(self.tmp / f"{name}.db")

    def sync(self, store: Store, user: str, **kw):
        return sync(store, self.url, user, **kw)


@pytest.fixture
def world(server_db, demo_template, tmp_path):
    shutil.copy(demo_template, tmp_path / "admin.db")
    srv = ThreadServer(server_db).start()
    admin = Store.open(tmp_path / "admin.db")
    srv.add_user("admin", "community_admin")
    srv.add_user("sup", "supervisor")
    first = sync(admin, srv.url, "admin")
    assert first.push_status.get("applied", 0) > 1000
    with admin.engine.connect() as c:
        grids = [r[0] for r in c.exec_driver_sql("SELECT id FROM area WHERE level = 'grid' ORDER BY code")]
    assert len(grids) == 2
    srv.add_user("w1", "grid_worker", [grids[0]])
    srv.add_user("w2", "grid_worker", [grids[1]])
    w = World(srv, tmp_path, admin, grids)
    yield w
    admin.close()
    srv.stop()
