"""The factories give a test the same ID numbers however many tests ran before it."""

from __future__ import annotations

from tests.factories import id_number, reseed, years_ago


def _three() -> list[str]:
    return [id_number(years_ago(30 + i), "12"[i % 2]) for i in range(3)]


def test_a_test_s_numbers_do_not_depend_on_what_ran_before(request):
    first = _three()  # seeded by the autouse fixture from this test's id
    reseed("another test")
    _three()
    reseed(request.node.nodeid)
    assert _three() == first


def test_different_tests_get_different_numbers(request):
    reseed(request.node.nodeid)
    mine = _three()
    reseed(request.node.nodeid + "x")
    assert _three() != mine
