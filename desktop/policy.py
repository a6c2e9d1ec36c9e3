"""Who may do what: the one permission policy of GridLedger.

Services, the command line, the sync server and the app ask this module; none of them tests a role
name. A role is stored by its code (``app_user.role`` on the laptop, ``srv_user.role`` on the
server); its Chinese label comes from the code table ``user_role`` (desktop/data/codes.json), which
a test keeps equal to ``ROLES`` below.

The rules, as the offices run them:

1. Three roles. 网格员 (``grid_worker``) works in the grids assigned to them; 社区管理员
   (``community_admin``) runs the community's office; 网格长/督导 (``supervisor``) oversees
   all grids.
2. Scope. A role that holds ``Ability.ALL_GRIDS`` reads and writes every grid of the community
   (``Actor.grid_ids`` is None); every other role is limited to its assigned grids, and has at
   least one.
3. Abilities are named acts (the table ``GRANTS``); each is granted to a set of roles. An ability
   not in the table is granted to nobody.
4. A refusal is one Chinese sentence from ``denial(ability)``: what is not allowed and who may do
   it, so the user knows whom to ask.
5. Guards that depend on the data rather than on the role (nobody disables themselves, the last
   user who can manage users stays) live in the service that owns the data; they ask
   ``allows(…, Ability.MANAGE_USERS)`` to know who counts.

``subject`` below is anything with a ``role`` attribute: the laptop's ``Actor``, the server's
``Scope``, or a plain role code.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

from desktop.validation.codes import code_table


class Role(StrEnum):
    GRID_WORKER = "grid_worker"
    COMMUNITY_ADMIN = "community_admin"
    SUPERVISOR = "supervisor"


# Role code -> label, in the order lists and combo boxes show them: the code table user_role.
ROLES: dict[str, str] = dict(code_table("user_role"))
if set(ROLES) != {r.value for r in Role}:  # pragma: no cover - caught by tests/core/test_policy.py
    raise RuntimeError("desktop/data/codes.json user_role does not list the roles of desktop.policy.Role")


class Ability(StrEnum):
    ALL_GRIDS = "all_grids"                  # scope: every grid of the community
    MANAGE_USERS = "manage_users"            # add, change, disable users; reset passwords
    EDIT_AREAS = "edit_areas"                # the area tree (社区, 网格, …)
    REVIEW_CONFLICTS = "review_conflicts"    # the sync conflict review
    REVEAL = "reveal"                        # see a full ID number or phone (audited)
    UNMASK_OUTPUT = "unmask_output"          # print or export full numbers (audited)
    PURGE = "purge"                          # erase a person's data on request
    READ_AUDIT = "read_audit"                # the audit trail
    RESTORE_BACKUP = "restore_backup"        # replace the database with a backup
    ENCRYPT_DATABASE = "encrypt_database"    # encrypt this laptop's database
    GRANT_ACCESS = "grant_access"            # give another user a key to this laptop
    SET_IDLE_LOCK = "set_idle_lock"          # the idle lock's minutes for this laptop
    SERVER_STATS = "server_stats"            # the sync server's figures
    ASSIGN_TASKS = "assign_tasks"            # tasks from the office to grid workers
    EDIT_VISIT_RULES = "edit_visit_rules"    # the community's visit intervals (走访频次规则)
    SEE_ALL_PLANS = "see_all_plans"          # every grid's and worker's visit plan and on-time figures
    MAINTAIN = "maintain"                    # upkeep of this laptop's database (search index)
    MERGE_RECORDS = "merge_records"          # merge two duplicate records (within one's scope)
    UNDO_MERGE = "undo_merge"                # undo a merge on the day it was made
    QUALITY_SETTINGS = "quality_settings"    # the 数据质量 settings (months before 久未核实)


_OFFICE = frozenset({Role.COMMUNITY_ADMIN, Role.SUPERVISOR})

# Ability -> the roles that hold it.
GRANTS: dict[Ability, frozenset[str]] = {
    Ability.ALL_GRIDS: _OFFICE,
    Ability.MANAGE_USERS: _OFFICE,
    Ability.EDIT_AREAS: _OFFICE,
    Ability.REVIEW_CONFLICTS: _OFFICE,
    Ability.REVEAL: _OFFICE,
    Ability.UNMASK_OUTPUT: _OFFICE,
    Ability.PURGE: _OFFICE,
    Ability.READ_AUDIT: _OFFICE,
    Ability.RESTORE_BACKUP: _OFFICE,
    Ability.ENCRYPT_DATABASE: _OFFICE,
    Ability.GRANT_ACCESS: _OFFICE,
    Ability.SET_IDLE_LOCK: _OFFICE,
    Ability.SERVER_STATS: _OFFICE,
    Ability.ASSIGN_TASKS: _OFFICE,
    Ability.EDIT_VISIT_RULES: _OFFICE,
    Ability.SEE_ALL_PLANS: _OFFICE,
    Ability.MAINTAIN: _OFFICE,
    Ability.MERGE_RECORDS: frozenset(Role),
    Ability.UNDO_MERGE: _OFFICE,
    Ability.QUALITY_SETTINGS: _OFFICE,
}

# Ability -> what the act is, for the refusal sentence.
_ACTS: dict[Ability, str] = {
    Ability.ALL_GRIDS: "查看全社区的数据",
    Ability.MANAGE_USERS: "管理用户",
    Ability.EDIT_AREAS: "修改社区和网格设置",
    Ability.REVIEW_CONFLICTS: "审核同步冲突",
    Ability.REVEAL: "查看完整的证件号码和电话",
    Ability.UNMASK_OUTPUT: "打印或导出完整的证件号码和电话",
    Ability.PURGE: "彻底清除个人信息",
    Ability.READ_AUDIT: "查看审计记录",
    Ability.RESTORE_BACKUP: "从备份恢复数据库",
    Ability.ENCRYPT_DATABASE: "加密本机数据库",
    Ability.GRANT_ACCESS: "为其他用户开通本机",
    Ability.SET_IDLE_LOCK: "设置无操作自动锁定",
    Ability.SERVER_STATS: "查看服务器统计",
    Ability.ASSIGN_TASKS: "分派任务",
    Ability.EDIT_VISIT_RULES: "修改走访频次规则",
    Ability.SEE_ALL_PLANS: "查看各网格和各网格员的走访计划",
    Ability.MAINTAIN: "维护本机数据库",
    Ability.MERGE_RECORDS: "合并重复记录",
    Ability.UNDO_MERGE: "撤销合并",
    Ability.QUALITY_SETTINGS: "修改数据质量设置",
}


class HasRole(Protocol):
    @property
    def role(self) -> str: ...


def _role_of(subject: HasRole | str | None) -> str | None:
    if subject is None or isinstance(subject, str):
        return subject
    return subject.role


def allows(subject: HasRole | str | None, ability: Ability) -> bool:
    """Whether `subject` (an actor, a server scope or a role code) holds `ability`."""
    return _role_of(subject) in GRANTS.get(ability, frozenset())


def holders(ability: Ability) -> frozenset[str]:
    """The role codes that hold `ability` (for queries such as "the other users who can manage
    users")."""
    return GRANTS.get(ability, frozenset())


def sees_all_grids(subject: HasRole | str | None) -> bool:
    return allows(subject, Ability.ALL_GRIDS)


def role_label(role: str | None) -> str:
    return ROLES.get(role or "", role or "")


def holder_labels(ability: Ability) -> str:
    """“社区管理员或网格长/督导”: who holds `ability`, in the order of ROLES."""
    names = [label for code, label in ROLES.items() if code in holders(ability)]
    return "或".join(names) if names else "任何人"


def denial(ability: Ability, *, act: str | None = None) -> str:
    """The refusal sentence: what is not allowed, and who may do it."""
    return f"您没有权限{act or _ACTS[ability]}:只有{holder_labels(ability)}可以,请联系他们办理"
