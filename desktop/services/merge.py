"""Merging two duplicate records (人员, 房屋, 车辆): one survivor, one tombstone that points to it.

A kind can be merged when its model has a ``merged_into`` column (desktop/models/domain.py).
`Merges.compare` shows the two side by side; `Merges.merge` does, in one transaction:

1. Every record that points at the loser (any foreign key of any registered kind that refers to
   the kind's table, found from the registry's models, and the loser's photos) is moved to the
   survivor, through the records service (new versions, so every laptop and the server get it).
2. The loser becomes a tombstone: deleted, with ``merged_into`` = the survivor's id. It syncs
   as any delete does; an edit of the loser made offline elsewhere arrives after the tombstone
   and is kept by the server as a conflict record (“该记录已合并…”) for review, never lost.
3. The fields chosen from the loser (``take={"phone": "drop"}``) are written on the survivor.
4. One audit entry: who, why, which fields came from which record, what moved, and the
   survivor's values before — which is what `undo` puts back.

Rules: a reason is required; both records must be live, of the same kind, and in the actor's
scope; merging across grids needs ``Ability.ALL_GRIDS`` (a grid worker is refused);
``Ability.MERGE_RECORDS`` to merge, ``Ability.UNDO_MERGE`` to undo, on the same (local) day only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from desktop import kinds
from desktop.models import Attachment, AuditEntry
from desktop.policy import Ability, allows, denial
from desktop.services.audit import write_audit
from desktop.services.errors import NotFound, PermissionDenied, ServiceError, require
from desktop.services.records import Records, to_dict

NOT_COMPARED = {"id", "version", "created_at", "created_by", "updated_at", "updated_by", "deleted_at",
                "deleted_by", "merged_into"}


def mergeable(kind: str) -> bool:
    entry = kinds.find(kind)
    return entry is not None and "merged_into" in entry.model.__table__.c


def mergeable_kinds() -> list[str]:
    return kinds.keys(where=lambda k: mergeable(k.key))


def references(kind: str) -> list[tuple[str, str]]:
    """(kind, column) of every registered kind whose column is a foreign key to `kind`'s table."""
    table = kinds.get(kind).model.__table__
    out = []
    for entry in kinds.all_kinds():
        for col in entry.model.__table__.c:
            if any(fk.column.table is table for fk in col.foreign_keys):
                out.append((entry.key, col.key))
    return out


@dataclass(frozen=True)
class Comparison:
    kind: str
    keep: dict[str, Any]
    drop: dict[str, Any]
    fields: list[tuple[str, str, Any, Any]]  # column, label, survivor's value, loser's value

    @property
    def differing(self) -> list[str]:
        return [c for c, _l, a, b in self.fields if a != b]


class Merges(Records):
    def _check(self, kind: str) -> None:
        if not mergeable(kind):
            raise ServiceError(f"{kinds.label(kind)}不能合并;可以合并的是:{'、'.join(kinds.label(k) for k in mergeable_kinds())}")

    def compare(self, kind: str, keep_id: str, drop_id: str) -> Comparison:
        self._check(kind)
        if keep_id == drop_id:
            raise ServiceError("请选择两条不同的记录进行合并")
        with self.store.session() as s:
            keep, drop = to_dict(self._load(s, kind, keep_id)), to_dict(self._load(s, kind, drop_id))
        entry = kinds.get(kind)
        cols = [c.key for c in entry.model.__table__.c
                if c.key not in NOT_COMPARED and c.key not in entry.derived]
        return Comparison(kind, keep, drop, [(c, entry.label_of(c), keep.get(c), drop.get(c)) for c in cols])

    def merge(self, kind: str, keep_id: str, drop_id: str, *, take: dict[str, str] | None = None,
              reason: str) -> dict[str, Any]:
        """Merge `drop_id` into `keep_id`; `take` maps a field to ``"drop"`` (the loser's value) or
        ``"keep"``. Returns the survivor."""
        require(self.actor, Ability.MERGE_RECORDS)
        if not (reason or "").strip():
            raise ServiceError("请填写合并原因(例如“同一人重复登记”)")
        cmp = self.compare(kind, keep_id, drop_id)
        take = dict(take or {})
        columns = {c for c, *_ in cmp.fields}
        for f, side in take.items():
            if f not in columns:
                raise ServiceError(f"“{f}”不是{kinds.label(kind)}可合并的项")
            if side not in ("keep", "drop"):
                raise ServiceError(f"“{kinds.field_label(kind, f)}”只能取 keep(保留记录)或 drop(被合并记录)的值")
        if cmp.keep.get("grid_id") != cmp.drop.get("grid_id") and not allows(self.actor, Ability.ALL_GRIDS):
            raise PermissionDenied("两条记录属于不同的网格:" + denial(Ability.ALL_GRIDS, act="跨网格合并记录"))
        chosen = {f: cmp.drop.get(f) for f, side in take.items() if side == "drop" and cmp.drop.get(f) != cmp.keep.get(f)}
        with self.store.transaction() as s:
            moved: list[list[str]] = []
            for ref_kind, col in references(kind):
                model = kinds.get(ref_kind).model
                rows = s.scalars(select(model.id).where(getattr(model, col) == drop_id)).all()  # type: ignore[attr-defined]  # every merged kind's model has an id
                for rid in rows:
                    self._update(s, ref_kind, rid, {col: keep_id}, allow_duplicate=True)
                    moved.append([ref_kind, rid, col])
            for (aid,) in s.execute(select(Attachment.id).where(
                    Attachment.owner_kind == kind, Attachment.owner_id == drop_id, Attachment.deleted_at.is_(None))):
                self._update(s, "attachment", aid, {"owner_id": keep_id})
                moved.append(["attachment", aid, "owner_id"])
            self._update(s, kind, drop_id, {"merged_into": keep_id}, allow_duplicate=True)
            self._set_deleted(s, kind, drop_id, True, None)
            before = {f: cmp.keep.get(f) for f in chosen}
            if chosen:
                self._update(s, kind, keep_id, chosen, allow_duplicate=True)
            write_audit(s, self.actor, "merge", kind, keep_id, {
                "drop": drop_id, "reason": reason.strip(),
                "fields": {f: ("drop" if f in chosen else "keep") for f in sorted(columns)
                           if cmp.keep.get(f) != cmp.drop.get(f)},
                "moved": moved, "before": before,
            }, summary=f"合并{kinds.label(kind)}")
            return to_dict(self._load(s, kind, keep_id))

    def last_merge(self, kind: str, keep_id: str) -> dict[str, Any] | None:
        """The latest merge into `keep_id` not undone yet, with its audit details."""
        with self.store.session() as s:
            return self._last_merge(s, kind, keep_id)

    def _last_merge(self, s: Session, kind: str, keep_id: str) -> dict[str, Any] | None:
        entries = s.scalars(select(AuditEntry).where(
            AuditEntry.entity == kind, AuditEntry.entity_id == keep_id,
            AuditEntry.action.in_(("merge", "unmerge"))).order_by(AuditEntry.seq.desc())).all()
        undone = set()
        for e in entries:
            detail = json.loads(e.detail or "{}")
            if e.action == "unmerge":
                undone.add(detail.get("merge"))
            elif e.seq not in undone:
                return {"audit_id": e.seq, "at": e.at, "actor": e.actor, **detail}
        return None

    def undo(self, kind: str, keep_id: str, *, today: date | None = None) -> dict[str, Any]:
        """Undo the latest merge into `keep_id`, on the day it was made: the loser comes back,
        what moved moves back, the survivor's fields get their values before."""
        require(self.actor, Ability.UNDO_MERGE)
        self._check(kind)
        with self.store.transaction() as s:
            m = self._last_merge(s, kind, keep_id)
            if m is None:
                raise NotFound(f"该{kinds.label(kind)}没有可撤销的合并")
            if m["at"].replace(tzinfo=UTC).astimezone().date() != (today or date.today()):
                raise ServiceError("只能撤销当天的合并;更早的合并请核对后手工修改")
            drop_id = m["drop"]
            self._set_deleted(s, kind, drop_id, False, None)
            self._update(s, kind, drop_id, {"merged_into": None}, allow_duplicate=True)
            for ref_kind, rid, col in m["moved"]:
                obj = s.get(kinds.get(ref_kind).model, rid)
                if obj is not None and getattr(obj, col) == keep_id:
                    self._update(s, ref_kind, rid, {col: drop_id}, allow_duplicate=True)
            if m["before"]:
                self._update(s, kind, keep_id, m["before"], allow_duplicate=True)
            write_audit(s, self.actor, "unmerge", kind, keep_id, {"merge": m["audit_id"], "drop": drop_id},
                        summary=f"撤销合并{kinds.label(kind)}")
            return to_dict(self._load(s, kind, drop_id))
