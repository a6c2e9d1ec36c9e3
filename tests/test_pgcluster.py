"""The throwaway PostgreSQL cluster the sync tests run against (tests/pgcluster.py)."""

from __future__ import annotations

import os

import pytest

from tests.pgcluster import PgCluster, PgClusterError, find_pg_bin


@pytest.fixture
def pg_bin():
    bin_dir = find_pg_bin()
    if bin_dir is None:
        if os.environ.get("CI"):
            pytest.fail(
                "PostgreSQL is not installed, but CI must test against it: `make test` installs "
                "it (DEB_PACKAGES in the Makefile, scripts/ensure-debs.sh, as root)"
            )
        pytest.skip("PostgreSQL binaries not found under /usr/lib/postgresql/*/bin (outside CI)")
    return bin_dir


def test_cluster_round_trip(pg_bin):
    from sqlalchemy import create_engine, text

    cluster = PgCluster()
    try:
        url = cluster.start()
        assert url == f"postgresql+psycopg://postgres@127.0.0.1:{cluster.port}/postgres"
        root = cluster.root
        assert root is not None and root.is_dir() and str(root).startswith("/tmp/gl-pg-")
        assert cluster.log_file.parent == cluster.data_dir

        db_url = cluster.create_database("gl_roundtrip")
        assert db_url.endswith(f":{cluster.port}/gl_roundtrip")
        engine = create_engine(db_url)
        try:
            with engine.begin() as conn:
                version = conn.execute(text("SHOW server_version_num")).scalar_one()
                assert int(version) >= 150000
                assert conn.execute(text("SHOW fsync")).scalar_one() == "off"
                conn.execute(text("CREATE TABLE t (id integer PRIMARY KEY, name text NOT NULL)"))
                conn.execute(text("INSERT INTO t VALUES (1, '张三'), (2, 'b')"))
            with engine.connect() as conn:
                rows = conn.execute(text("SELECT id, name FROM t ORDER BY id")).all()
            assert [tuple(r) for r in rows] == [(1, "张三"), (2, "b")]
        finally:
            engine.dispose()
    finally:
        cluster.stop()

    assert not root.exists()
    assert cluster.root is None
    cluster.stop()  # a second stop is harmless
    with pytest.raises(PgClusterError):
        cluster.create_database("after_stop")


def test_context_manager_and_two_clusters(pg_bin):
    import psycopg

    with PgCluster() as a, PgCluster() as b:
        assert a.port != b.port
        for c in (a, b):
            with psycopg.connect(c.dsn()) as conn:
                assert conn.execute("SELECT 1").fetchone() == (1,)
        roots = (a.root, b.root)
    assert not any(r.exists() for r in roots)


def test_failed_start_reports_and_cleans_up(pg_bin):
    # A bogus setting makes the server refuse to start: the error carries the server log, and
    # the folder is gone.
    cluster = PgCluster()
    seen = []

    def bad_conf():
        PgCluster._write_conf(cluster)
        seen.append(cluster.root)
        with (cluster.data_dir / "postgresql.auto.conf").open("a") as f:
            f.write("no_such_setting_gl = 1\n")

    cluster._write_conf = bad_conf
    with pytest.raises(PgClusterError, match="no_such_setting_gl"):
        cluster.start()
    assert cluster.root is None
    assert seen and not seen[0].exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="only root hands the folder to the postgres user")
def test_base_dir_the_postgres_user_cannot_enter(pg_bin, tmp_path):
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    os.chmod(tmp_path, 0o700)
    cluster = PgCluster(base_dir=private)
    with pytest.raises(PgClusterError, match="cannot reach"):
        cluster.start()
    assert not list(private.iterdir())
