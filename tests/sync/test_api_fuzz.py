"""Property-based requests against the OpenAPI document (schemathesis): whatever arrives, the
server answers with a 4xx and a Chinese message, never a 500, signed in or not."""

from __future__ import annotations

import hypothesis
import pytest
import schemathesis

from tests.sync.harness import PASSWORD, ThreadServer

# Bounded: enough examples per operation to find crashes, small enough for `make test`.
hypothesis_settings = hypothesis.settings(
    max_examples=40, deadline=None, derandomize=True,
    suppress_health_check=list(hypothesis.HealthCheck),
)


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    srv = ThreadServer(f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'server.db'}").start()
    srv.add_user("sup", "supervisor")
    import httpx

    from desktop.sync.bundle_file import box_public, new_box_key, new_signing_key, signing_public

    enrol = httpx.post(srv.url + "/api/v1/devices/enrol", json={
        "username": "sup", "password": PASSWORD, "file_id": "fuzz-file",
        "sign_public": signing_public(new_signing_key()).hex(), "box_public": box_public(new_box_key()).hex(),
    }).json()
    srv.token = enrol["access_token"]
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def api_schema(live):
    return schemathesis.openapi.from_url(live.url + "/api/v1/openapi.json")


def _operations(api_schema):
    ops = [r.ok() for r in api_schema.get_all_operations()]
    assert len(ops) >= 10
    return ops


@pytest.mark.parametrize("signed_in", [True, False], ids=["signed-in", "anonymous"])
def test_no_server_errors(live, api_schema, signed_in):
    headers = {"Authorization": f"Bearer {live.token}"} if signed_in else {}
    seen = 0
    for op in _operations(api_schema):

        @hypothesis_settings
        @hypothesis.given(case=op.as_strategy())
        def run(case):
            nonlocal seen
            seen += 1
            response = case.call(base_url=live.url, headers=headers)
            assert response.status_code < 500, f"{case.method} {case.path}: {response.status_code} {response.text[:300]}"
            if response.status_code >= 400:
                body = response.json()
                assert body.get("message"), f"{case.method} {case.path}: no message in {body}"

        run()
    assert seen > 200
