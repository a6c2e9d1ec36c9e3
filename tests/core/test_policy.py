"""The permission policy: one table of abilities, one sentence per refusal, no role names elsewhere."""

from __future__ import annotations

import re

import pytest

from desktop import policy
from desktop.policy import Ability, Role, allows, denial, holders, sees_all_grids
from desktop.services.errors import PermissionDenied, require
from desktop.services.store import Actor
from desktop.validation import code_table
from tests.source import source_lines


def test_roles_are_the_code_table_and_the_enum():
    assert list(policy.ROLES) == code_table("user_role").codes()
    assert {r.value for r in Role} == set(policy.ROLES)


def test_every_ability_is_granted_and_has_a_sentence():
    for ability in Ability:
        assert ability in policy.GRANTS, ability
        assert holders(ability) <= set(policy.ROLES), ability
        sentence = denial(ability)
        assert sentence.startswith("您没有权限") and "只有" in sentence and "请联系" in sentence


# Abilities every role holds (within its scope): merging duplicates in one's own grids.
EVERY_ROLE = {Ability.MERGE_RECORDS}


def test_abilities_of_every_role():
    for ability in EVERY_ROLE:
        assert holders(ability) == set(policy.ROLES)


@pytest.mark.parametrize("ability", [a for a in Ability if a not in EVERY_ROLE])
def test_grid_workers_hold_no_office_ability_and_offices_hold_all(ability):
    worker = Actor("w", Role.GRID_WORKER, frozenset({"g1"}))
    admin = Actor("a", Role.COMMUNITY_ADMIN)
    supervisor = Actor("s", Role.SUPERVISOR)
    assert not allows(worker, ability)
    assert allows(admin, ability) and allows(supervisor, ability)
    with pytest.raises(PermissionDenied, match="只有社区管理员或网格长/督导可以"):
        require(worker, ability)
    require(admin, ability)  # no exception


def test_unknown_role_and_missing_subject_hold_nothing():
    assert not allows("visitor", Ability.REVEAL)
    assert not allows(None, Ability.REVEAL)
    assert not sees_all_grids("visitor")
    assert sees_all_grids(Role.SUPERVISOR) and not sees_all_grids(Role.GRID_WORKER)


def test_denial_names_the_act_given():
    assert denial(Ability.REVEAL, act="查看完整的证件号码") == (
        "您没有权限查看完整的证件号码:只有社区管理员或网格长/督导可以,请联系他们办理")


ROLE_CODE = re.compile(r"""["'](grid_worker|community_admin|supervisor)["']""")
ROLE_TEST = re.compile(r"\.role\s*(==|!=|in\b|not in\b)|may_reveal|ROLES_ALL_GRIDS")


def test_no_role_name_or_role_test_outside_the_policy():
    """grep: services, CLI, server and UI ask the policy; none spells a role code or tests one.
    (The demo's user called "supervisor" is a user name, not a role: it is passed as username.)"""
    offenders = []
    for rel, no, line in source_lines(skip=("desktop/policy.py",)):
        code = line.split("#", 1)[0]
        if ROLE_TEST.search(code) or ROLE_CODE.search(code):
            offenders.append(f"{rel}:{no}: {line.strip()}")
    assert offenders == []
