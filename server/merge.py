"""Push: the three-way, per-field merge of a batch of device changes, in one transaction.

A change is {seq, table, id, op, fields: {name: [old, new]}, known, at, by, prev}:
`known` is the device's pull cursor when the edit was made (every server change at or below it
had been seen), `prev` the device sequence of the previous unacknowledged change to the same row.

Per field: if the server's value was last set at a sequence above `known` by another device, and
differs from the pushed value, both sides changed it: a clash. The later arrival wins so that
every copy converges, and a Conflict keeps base, server and laptop values with who, device and
when. Fields changed on one side only simply apply. A delete wins over an edit it did not see;
the edit is kept in a conflict record. Nothing here looks at a wall clock to order anything.

How a batch runs (Merger.push), whatever its size: the batch takes one commit sequence first
(held until commit, so batches commit in order), then reads in bulk what it needs: the device's
earlier answers for these device sequences (duplicates), and the current state of every record
the batch names, one `row_id IN (...)` query per table. The changes are then merged one after
the other, in the order sent, in memory: each is checked whole first (`protocol.fields_problem`:
every field's [old, new] form and its new value by the rules of `check_value`; a change that
fails is set aside, never half applied), and a record new to the server is built from the
change directly. At the end one executemany INSERT writes the new records, one UPDATE by key
the changed ones, one INSERT the answers (`srv_received`), then the conflict records; a kill
before the commit leaves nothing of the batch. In `field_meta` an entry that several fields
share (every field one change set) is stored once (server.models.dump_meta)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, cast

import orjson
from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from desktop.policy import Ability, allows, denial
from desktop.sync.protocol import (
    COMMUNITY_WIDE,
    FIELDS,
    GRID_WRITERS,
    RECORD_META,
    SYNC_TABLES,
    fields_problem,
    group_of,
    has_grid,
    ts_storage,
    write_ability,
)
from server.models import (
    AttachmentRef,
    Conflict,
    Device,
    Received,
    Record,
    dump_meta,
    load_meta,
    utcnow,
)
from server.store import Scope, next_seq, widen_scope


def _table(model: type[Received] | type[Record]) -> Table:
    return cast(Table, model.__table__)  # a mapped class's FromClause is its Table

_TOMBSTONE = ("deleted_at", "deleted_by")
PURGED_TEXT = "(已清除)"
MAX_FIELDS = 200
# What one device may leave set aside for review (open, refused changes): beyond this its further
# refused changes are not stored but deferred (the laptop keeps them and sends them again once a
# reviewer has worked through the queue). One change is kept whole up to ASIDE_CHANGE_BYTES.
ASIDE_MAX_CHANGES = 1000
ASIDE_MAX_BYTES = 8 * 1024 * 1024
ASIDE_CHANGE_BYTES = 64 * 1024
REASON_CHARS = 300
SHA256 = re.compile("[0-9a-f]{64}")


def _dumps(value: Any) -> bytes:
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # integers beyond 64 bits: refused later, but still described
        return json.dumps(value, sort_keys=True, default=str).encode()


def change_digest(ch: dict[str, Any]) -> str:
    return hashlib.sha256(_dumps([ch.get("table"), ch.get("id"), ch.get("op"), ch.get("fields")])).hexdigest()


@dataclass
class State:
    """A record being merged, in memory until the batch is written."""

    table: str
    row_id: str
    data: dict[str, Any]
    meta: dict[str, list[Any]]
    version: int
    grid_id: str | None
    prev_grid_id: str | None
    deleted: bool
    is_new: bool
    dirty: bool = False


@dataclass
class Outcome:
    status: str  # applied | merged | conflict | rejected | duplicate | deferred
    version: int | None = None
    message: str | None = None
    conflicts: list[dict[str, Any]] = field(default_factory=list)


class Rejected(Exception):
    pass


# (built once: SQLAlchemy compiles each once and keeps it)
_STATES = select(Record).where(Record.table_name == bindparam("table"),
                               Record.row_id.in_(bindparam("ids", expanding=True)))
_RECEIVED = select(Received).where(Received.device_id == bindparam("device"),
                                   Received.device_seq.in_(bindparam("seqs", expanding=True)))


def _load_states(s: Session, keys: set[tuple[str, str]]) -> dict[tuple[str, str], State]:
    # One query per table with `row_id IN (...)`: a row-value IN would scan the whole table.
    out: dict[tuple[str, str], State] = {}
    by_table: dict[str, list[str]] = {}
    for table, row_id in keys:
        by_table.setdefault(table, []).append(row_id)
    for table, ids in by_table.items():
        for i in range(0, len(ids), 500):
            rows = s.execute(_STATES, {"table": table, "ids": ids[i : i + 500]}).scalars()
            for r in rows:
                out[(r.table_name, r.row_id)] = State(
                    r.table_name, r.row_id, orjson.loads(r.data), load_meta(r.field_meta), r.version,
                    r.grid_id, r.prev_grid_id, r.deleted, False,
                )
    return out


class Merger:
    """Merges one batch from one device (or one supervisor's resolution) under one sequence."""

    def __init__(self, s: Session, scope: Scope, device: Device | None, *, is_sqlite: bool,
                 proven: frozenset[str] = frozenset()) -> None:
        self.s = s
        self.proven = proven  # photos whose bytes came with the changes (a bundle), hash checked
        self.scope = scope
        self.device_id = device.id if device else "server"
        self.predecessor = device.predecessor if device else None
        self.is_sqlite = is_sqlite
        self.seq: int | None = None
        self.states: dict[tuple[str, str], State] = {}
        self.conflicts: list[dict[str, Any]] = []
        self.purged: list[tuple[str, str]] = []
        self.aside: list[int] | None = None  # this device's open set-aside changes: count, bytes
        self.claim: str | None = None  # the author the current change names, when not the signed-in user

    def _stamp(self, seq: int, dev_seq: Any, by: str, at: str) -> list[Any]:
        """A field's meta entry: [server_seq, device, device_seq, signed-in user, laptop time
        (display only)] and, when the laptop named another author, that claim."""
        entry = [seq, self.device_id, dev_seq, by, at]
        return [*entry, self.claim] if self.claim else entry

    def take_seq(self) -> int:
        if self.seq is None:
            self.seq = next_seq(self.s, self.is_sqlite)
        return self.seq

    # --- the batch ------------------------------------------------------------------------
    def push(self, changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
        self.take_seq()  # locks the sequence first: batches commit one after the other
        seqs = [c.get("seq") for c in changes if isinstance(c.get("seq"), int)]
        received = self._received(self.device_id, seqs)
        pred = self._received(self.predecessor, seqs) if self.predecessor else {}
        prevs = [c.get("prev") for c in changes if isinstance(c.get("prev"), int) and c.get("prev")]
        prev_seen = set(self._received(self.device_id, prevs)) if prevs else set()
        if prevs and self.predecessor:  # a re-enrolled copy: its predecessor's changes count
            prev_seen |= set(self._received(self.predecessor, prevs))
        keys = {
            (c["table"], c["id"]) for c in changes
            if isinstance(c.get("table"), str) and isinstance(c.get("id"), str)
        }
        self.states = _load_states(self.s, keys)
        results: list[dict[str, Any]] = []
        new_received: list[tuple[Any, ...]] = []
        in_batch: set[int] = set()
        now = utcnow()
        for ch in changes:
            seq = ch.get("seq")
            if not isinstance(seq, int) or seq <= 0:
                results.append({"seq": seq, "status": "rejected", "message": "缺少有效的设备序号"})
                continue
            digest = change_digest(ch)
            if seq in received:
                r = received[seq]
                results.append({"seq": seq, "status": "duplicate", "version": r.version, "was": r.status})
                in_batch.add(seq)
                continue
            if seq in pred and pred[seq].digest == digest:
                results.append({"seq": seq, "status": "duplicate", "version": pred[seq].version})
                in_batch.add(seq)
                continue
            if seq in in_batch:
                results.append({"seq": seq, "status": "duplicate"})
                continue
            prev = ch.get("prev")
            if isinstance(prev, int) and prev and prev not in prev_seen and prev not in in_batch:
                # An earlier change to the same row has not arrived yet (batches out of order):
                # wait for it instead of merging against a state the laptop never had.
                results.append({"seq": seq, "status": "deferred", "message": "等待更早的修改先到达"})
                continue
            outcome = self.apply(ch)
            if outcome.status == "deferred":  # no room left to set it aside: sent again later
                results.append({"seq": seq, "status": "deferred", "message": outcome.message})
                continue
            in_batch.add(seq)
            results.append(
                {"seq": seq, "status": outcome.status, "version": outcome.version, "message": outcome.message}
            )
            new_received.append((self.device_id, seq, digest, outcome.status, outcome.version, self.seq,
                                 outcome.message, now))
        self.flush()
        if new_received:
            insert_many(self.s, _table(Received), _RECEIVED_COLUMNS, new_received)
        return results

    def _received(self, device_id: str | None, seqs: Iterable[Any]) -> dict[int, Received]:
        seqs_l = sorted({q for q in seqs if isinstance(q, int)})
        out: dict[int, Received] = {}
        if not device_id:
            return out
        for i in range(0, len(seqs_l), 500):
            rows = self.s.execute(_RECEIVED, {"device": device_id, "seqs": seqs_l[i : i + 500]}).scalars()
            out.update({r.device_seq: r for r in rows})
        return out

    # --- one change ----------------------------------------------------------------------
    def apply_one(self, ch: dict[str, Any]) -> Outcome:
        """Apply a single change outside a device batch (a supervisor's resolution)."""
        self.take_seq()
        if isinstance(ch.get("table"), str) and isinstance(ch.get("id"), str):
            self.states.update(_load_states(self.s, {(ch["table"], ch["id"])}))
        outcome = self.apply(ch)
        self.flush()
        return outcome

    def apply(self, ch: dict[str, Any]) -> Outcome:
        before = len(self.conflicts)
        try:
            outcome = self._apply(ch)
        except Rejected as exc:
            reason = str(exc)
        except Exception as exc:  # one bad change never blocks the rest of the batch
            reason = f"服务器无法处理该修改({type(exc).__name__}),已暂存待审核"
        else:
            if ch.get("table") == "area" and self.scope.areas:
                self._widen_scope()
            return outcome
        del self.conflicts[before:]
        reason = reason[:REASON_CHARS]
        kept = _dumps(ch)
        if not self._room_to_set_aside(len(kept) if len(kept) <= ASIDE_CHANGE_BYTES else 0):
            return Outcome("deferred", message=(
                f"本设备在服务器上待审核的修改已达 {ASIDE_MAX_CHANGES} 条或 {ASIDE_MAX_BYTES // (1024 * 1024)} MB 上限,"
                "此修改暂未上传,请网格长先处理冲突审核队列,之后同步时会自动重发"))
        if len(kept) > ASIDE_CHANGE_BYTES:
            reason = (reason[:200] + f";修改内容过大({len(kept) // 1024} KB),服务器未保存其内容,"
                      "请在该电脑上核对后重新录入")
        self._set_aside(ch, reason, kept if len(kept) <= ASIDE_CHANGE_BYTES else None)
        return Outcome("rejected", message=reason)

    def _widen_scope(self) -> None:
        """A grid created in this batch under the user's community is theirs for the rest of it."""
        rows = [(st.row_id, st.data.get("parent_id"), st.data.get("level") or "", st.data.get("code") or "",
                 st.data.get("name") or "") for (table, _id), st in self.states.items()
                if table == "area" and not st.deleted]
        self.scope = widen_scope(self.scope, self.s, rows)

    def _room_to_set_aside(self, size: int) -> bool:
        """Whether this device's open set-aside changes leave room for one more of `size` bytes."""
        if self.aside is None:
            n, total = self.s.execute(
                select(func.count(), func.coalesce(func.sum(func.length(Conflict.change)), 0)).where(
                    Conflict.client_device == self.device_id, Conflict.kind == "rejected",
                    Conflict.status == "open")
            ).one()
            self.aside = [int(n), int(total)]
        if self.aside[0] + 1 > ASIDE_MAX_CHANGES or self.aside[1] + size > ASIDE_MAX_BYTES:
            return False
        self.aside[0] += 1
        self.aside[1] += size
        return True

    def _validate(self, ch: dict[str, Any]) -> tuple[str, str, str, dict[str, list[Any]]]:
        table, row_id, op, fields = ch.get("table"), ch.get("id"), ch.get("op"), ch.get("fields")
        if table not in SYNC_TABLES:
            raise Rejected(f"不同步的记录类型:{table}")
        if not isinstance(row_id, str) or not 1 <= len(row_id) <= 36:
            raise Rejected("记录编号无效")
        if op not in ("I", "U", "D"):
            raise Rejected(f"未知的操作:{op}")
        if not isinstance(fields, dict) or len(fields) > MAX_FIELDS:
            raise Rejected("修改内容格式不正确")
        problem = fields_problem(table, fields)  # every field: its [old, new] form, the new value
        if problem:
            raise Rejected(problem)
        return table, row_id, op, fields

    def _apply(self, ch: dict[str, Any]) -> Outcome:
        table, row_id, op, fields = self._validate(ch)
        known = ch.get("known") if isinstance(ch.get("known"), int) else 0
        at = str(ch.get("at") or "")[:32]
        # Authorship is the signed-in user's, whatever the laptop wrote: its `by` is kept
        # beside it as a claim (meta entries and conflict records), never as the author.
        by = self.scope.username[:64]
        self.claim = _claim(ch, by)
        dev_seq = ch.get("seq")
        seq = self.take_seq()
        # one meta entry for every field this change sets (entries are replaced, never changed)
        stamp = self._stamp(seq, dev_seq, by, at)
        st = self.states.get((table, row_id))
        if st is None:
            if op == "D":
                return Outcome("applied")
            if op == "U":
                raise Rejected("服务器上没有这条记录(它的新建记录未能同步),修改已暂存待审核")
            grid = fields.get("grid_id", [None, None])[1] if has_grid(table) else None
            if has_grid(table) and not grid:
                raise Rejected("新记录缺少所属网格")
            if not self.scope.writes(table, grid):
                if table == "visit_rule":
                    raise Rejected(denial(Ability.EDIT_VISIT_RULES) + ",已暂存待审核")
                if table in COMMUNITY_WIDE:
                    raise Rejected("只有社区管理员或网格长可以新建区域与网格,已暂存待审核")
                if table in GRID_WRITERS and self.scope.writes("attachment", grid):
                    raise Rejected(denial(GRID_WRITERS[table]) + ",已暂存待审核")
                raise Rejected("该记录不在您负责的网格内,服务器拒绝写入,已暂存待审核")
            self._check_ability(table, fields.get("owner_kind", [None, None])[1])
            if table == "attachment":
                self._check_photo(row_id, fields.get("sha256", [None, None])[1])
            data = _BLANK[table].copy()  # already in the stored order (_ordered)
            for f, pair in fields.items():
                data[f] = pair[1]
            ts = _ts(at)
            data.update(id=row_id, version=1, created_at=ts, created_by=by, updated_at=ts, updated_by=by)
            st = State(table, row_id, data, dict.fromkeys(fields, stamp), 1, grid, None,
                       data.get("deleted_at") is not None, True, True)
            self.states[(table, row_id)] = st
            return Outcome("applied", version=1)

        if not self.scope.writes(table, st.grid_id):
            if table == "visit_rule":
                raise Rejected(denial(Ability.EDIT_VISIT_RULES) + ",修改已暂存待审核")
            if table in COMMUNITY_WIDE:
                raise Rejected("只有社区管理员或网格长可以修改区域与网格,修改已暂存待审核")
            if table in GRID_WRITERS and self.scope.writes("attachment", st.grid_id):
                raise Rejected(denial(GRID_WRITERS[table]) + ",修改已暂存待审核")
            raise Rejected("该记录已不在您负责的网格内,服务器拒绝写入,已暂存待审核")
        self._check_ability(table, st.data.get("owner_kind"))
        if "owner_kind" in fields:
            self._check_ability(table, fields["owner_kind"][1])
        if has_grid(table) and "grid_id" in fields:
            new_grid = fields["grid_id"][1]
            if not new_grid or not self.scope.writes(table, new_grid):
                raise Rejected("不能把记录移到您不负责的网格,已暂存待审核")
        if op == "D":
            return self._purge(st, by, at, dev_seq)
        if table == "attachment" and "sha256" in fields and fields["sha256"][1] != st.data.get("sha256"):
            self._check_photo(row_id, fields["sha256"][1])
        if st.data.get("_purged"):
            # erased on request: an edit from a laptop that had not heard yet is dropped, and
            # its values are not kept anywhere (not even in a conflict record)
            return Outcome("applied", version=st.version, message="该记录已按要求彻底清除,修改未保存")

        def unseen(name: str) -> bool:
            m = st.meta.get(name) or []
            # (a predecessor's later changes are another file's: a copy never saw them)
            return bool(m) and m[0] > known and m[1] != self.device_id

        new_vals = {f: pair[1] for f, pair in fields.items()}
        deleting = "deleted_at" in fields and new_vals["deleted_at"] is not None
        touches_tombstone = "deleted_at" in fields
        status = "applied"
        if st.data.get("deleted_at") is not None and not touches_tombstone and unseen("deleted_at"):
            # Edit of a record deleted meanwhile: the delete wins, the edit is kept for review.
            self._conflict("delete_edit", st, list(fields), {f: p[0] for f, p in fields.items()},
                           {f: st.data.get(f) for f in fields}, st.meta.get("deleted_at"),
                           new_vals, by, at, winner="server",
                           reason=("该记录已合并到另一条记录(重复登记),此修改未生效,已保留待审核,请改在保留的记录上"
                                   if st.data.get("merged_into") else "该记录在别处已被删除,此修改未生效,已保留待审核"))
            return Outcome("conflict", version=st.version, message="记录已被删除,修改保留待审核")

        done: set[str] = set()
        for name in fields:
            if name in done:
                continue
            group = [f for f in group_of(table, name) if f in fields]
            done.update(group)
            clash = any(unseen(f) and st.data.get(f) != new_vals[f] for f in group)
            if clash:
                server_meta = max((st.meta[f] for f in group if st.meta.get(f)), key=lambda m: m[0])
                self._conflict("field", st, group, {f: fields[f][0] for f in group},
                               {f: st.data.get(f) for f in group}, server_meta,
                               {f: new_vals[f] for f in group}, by, at, winner="client")
                status = "conflict"
        if deleting:
            seen_edits = [
                f for f in st.meta
                if f not in fields and f not in _TOMBSTONE and unseen(f)
            ]
            if seen_edits:
                server_meta = max((st.meta[f] for f in seen_edits), key=lambda m: m[0])
                self._conflict("delete_edit", st, seen_edits, None,
                               {f: st.data.get(f) for f in seen_edits}, server_meta,
                               {"deleted_at": new_vals["deleted_at"]}, by, at, winner="client",
                               reason="删除与别处的修改冲突:删除生效,修改内容保留在记录中待审核")
                status = "conflict"
        if status == "applied" and any(unseen(f) for f in st.meta):
            status = "merged"
        changed = False
        for f, v in new_vals.items():
            if st.data.get(f) != v or f not in st.meta:
                st.data[f] = v
                st.meta[f] = stamp
                changed = True
        if changed:
            if "grid_id" in fields and fields["grid_id"][1] != st.grid_id:
                st.prev_grid_id = st.grid_id
                st.grid_id = fields["grid_id"][1]
            st.deleted = st.data.get("deleted_at") is not None
            st.version += 1
            st.data.update(version=st.version, updated_at=_ts(at), updated_by=by)
            st.dirty = True
        return Outcome(status, version=st.version)

    def _purge(self, st: State, by: str, at: str, dev_seq: Any) -> Outcome:
        """A hard delete (erasure): every field blanked but the grid (for scope), the tombstone
        kept so every copy learns it, conflict records of the row emptied."""
        seq = self.take_seq()
        for name, col in FIELDS[st.table].items():
            if name == "grid_id":
                continue
            if col.nullable:
                st.data[name] = None
            elif col.kind == "text":
                st.data[name] = PURGED_TEXT if name == "name" else ""
            elif col.kind in ("int", "float", "bool"):
                st.data[name] = 0
            st.meta[name] = self._stamp(seq, dev_seq, by, at)
        st.data["deleted_at"] = _ts(at) or st.data.get("updated_at")
        st.data["deleted_by"] = by
        st.data["_purged"] = True
        st.deleted = True
        st.version += 1
        st.data.update(version=st.version, updated_at=_ts(at), updated_by=by)
        st.dirty = True
        self.purged.append((st.table, st.row_id))
        return Outcome("applied", version=st.version)

    def _check_ability(self, table: str, owner_kind: Any) -> None:
        """A write that needs an ability beyond the grid scope (a grid's background plan)."""
        needed = write_ability(table, owner_kind if isinstance(owner_kind, str) else None)
        if needed is not None and table not in COMMUNITY_WIDE and not allows(self.scope, needed):
            raise Rejected(denial(needed) + ",已暂存待审核")

    def _check_photo(self, row_id: str, sha: Any) -> None:
        """An attachment record may name a photo the server already knows only if this device
        sent it (or named it before) or its user may already see it: naming another grid's photo
        would otherwise be a way to download it."""
        if not isinstance(sha, str) or not SHA256.fullmatch(sha):
            raise Rejected("附件记录的照片校验值(sha256)格式不正确,已暂存待审核")
        if sha in self.proven:
            return
        refs = self.s.execute(
            select(AttachmentRef.grid_id, AttachmentRef.device_id).where(
                AttachmentRef.sha256 == sha, AttachmentRef.row_id != row_id)
        ).all()
        mine = {self.device_id, self.predecessor} - {None}
        if refs and not any(dev in mine or self.scope.reads("attachment", grid) for grid, dev in refs):
            raise Rejected("附件记录指向一张属于您无权查看的记录的照片,且本机从未上传过它,已暂存待审核")

    def _conflict(
        self, kind: str, st: State, fields: list[str], base: dict[str, Any] | None, server: dict[str, Any],
        server_meta: list[Any] | None, client: dict[str, Any], by: str, at: str, *, winner: str,
        reason: str | None = None,
    ) -> None:
        sm = server_meta or [None, None, None, None, None]
        self.conflicts.append({
            "kind": kind, "table_name": st.table, "row_id": st.row_id, "grid_id": st.grid_id,
            "fields": json.dumps(fields), "base_value": _j(base), "server_value": _j(server),
            "server_by": sm[3], "server_device": sm[1], "server_at": sm[4],
            "server_claimed_by": sm[5] if len(sm) > 5 else None,
            "client_value": _j(client), "client_by": by, "client_device": self.device_id,
            "client_claimed_by": self.claim,
            "client_at": at, "winner": winner, "reason": reason, "change": None,
            "status": "open", "created_seq": self.take_seq(),
        })

    def _set_aside(self, ch: dict[str, Any], reason: str, kept: bytes | None) -> None:
        table, row_id, raw = ch.get("table"), ch.get("id"), ch.get("fields")
        table = table if isinstance(table, str) else "?"
        st = self.states.get((table, row_id)) if isinstance(row_id, str) else None
        fields: dict[str, Any] = raw if isinstance(raw, dict) else {}
        grid = st.grid_id if st else None
        if grid is None and isinstance(fields.get("grid_id"), list) and len(fields["grid_id"]) == 2:
            grid = fields["grid_id"][1][:36] if isinstance(fields["grid_id"][1], str) else None
        self.conflicts.append({
            "kind": "rejected", "table_name": str(table)[:32], "row_id": str(ch.get("id"))[:36],
            "grid_id": grid, "fields": json.dumps(sorted(str(f)[:64] for f in fields)[:MAX_FIELDS]),
            "base_value": None, "server_value": None, "server_by": None, "server_device": None,
            "server_at": None, "client_value": None, "client_by": self.scope.username[:64],
            "server_claimed_by": None, "client_claimed_by": _claim(ch, self.scope.username[:64]),
            "client_device": self.device_id, "client_at": str(ch.get("at") or "")[:32],
            "winner": "none", "reason": reason,
            "change": kept.decode() if kept is not None else None, "status": "open",
            "created_seq": self.take_seq(),
        })

    # --- write everything touched, in bulk -------------------------------------------------
    def flush(self) -> None:
        seq = self.seq
        new_rows: list[tuple[Any, ...]] = []
        upd_rows: list[dict[str, Any]] = []
        photos = [st for st in self.states.values() if st.dirty and st.table == "attachment"]
        if photos:
            self._write_photo_refs(photos)
        for st in self.states.values():
            if not st.dirty:
                continue
            # (a row new in this batch is in the stored order already, and holds this device's
            # entries only)
            other = 0 if st.is_new else max((m[0] for m in st.meta.values() if m[1] != self.device_id), default=0)
            values = (
                st.table, st.row_id, st.grid_id, st.prev_grid_id, st.version, seq, st.deleted,
                orjson.dumps(st.data if st.is_new else _ordered(st)).decode(), dump_meta(st.meta),
                # an erased row always travels (the purging laptop deleted it outright)
                None if st.data.get("_purged") else self.device_id, other,
            )
            if st.is_new:
                new_rows.append(values)
            else:
                upd_rows.append(dict(zip(_RECORD_COLUMNS, values, strict=True)))
            st.is_new = False
            st.dirty = False
        if new_rows:
            insert_many(self.s, _table(Record), _RECORD_COLUMNS, new_rows)
        if upd_rows:  # ORM bulk UPDATE by primary key: one executemany
            self.s.execute(update(Record), upd_rows)
        if self.conflicts:
            self.s.execute(insert(Conflict), self.conflicts)
            self.conflicts = []
        for table, row_id in self.purged:
            self.s.execute(
                update(Conflict).where(Conflict.table_name == table, Conflict.row_id == row_id).values(
                    base_value=None, server_value=None, client_value=None, change=None, status="purged")
            )
        self.purged = []


    def _write_photo_refs(self, states: list[State]) -> None:
        ids = [st.row_id for st in states]
        have: dict[str, AttachmentRef] = {}
        for i in range(0, len(ids), 500):
            have.update({r.row_id: r for r in self.s.scalars(
                select(AttachmentRef).where(AttachmentRef.row_id.in_(ids[i : i + 500])))})
        new = []
        for st in states:
            sha = st.data.get("sha256")
            ref = have.get(st.row_id)
            if ref is None:
                if isinstance(sha, str) and sha:
                    new.append({"row_id": st.row_id, "sha256": sha, "grid_id": st.grid_id,
                                "device_id": self.device_id, "deleted": st.deleted})
                continue
            if sha != ref.sha256 and isinstance(sha, str) and sha:
                ref.sha256, ref.device_id = sha, self.device_id
            ref.grid_id, ref.deleted = st.grid_id, st.deleted
        if new:
            self.s.execute(insert(AttachmentRef), new)
        self.s.flush()


_RECORD_COLUMNS = ("table_name", "row_id", "grid_id", "prev_grid_id", "version", "server_seq", "deleted", "data",
                   "field_meta", "last_device", "other_seq")
_RECEIVED_COLUMNS = ("device_id", "device_seq", "digest", "status", "version", "server_seq", "message",
                     "received_at")


def insert_many(s: Session, table: Table, names: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    """One executemany INSERT of `rows` (values of the columns `names`, in that order). On SQLite
    they go to the driver as they are, each value through its column type's conversion as
    SQLAlchemy would (its own per-row work was a tenth of a first push); PostgreSQL takes
    SQLAlchemy's Core insert, which sends many rows per statement."""
    conn = s.connection()
    dialect = conn.dialect
    if dialect.name != "sqlite":
        s.execute(insert(table), [dict(zip(names, row, strict=True)) for row in rows])
        return
    procs = [(i, p) for i, name in enumerate(names)
             if (p := table.c[name].type.dialect_impl(dialect).bind_processor(dialect))]
    if procs:
        converted = []
        for row in rows:
            values = list(row)
            for i, proc in procs:
                if values[i] is not None:
                    values[i] = proc(values[i])
            converted.append(tuple(values))
        rows = converted
    cols = ", ".join(f'"{name}"' for name in names)
    conn.exec_driver_sql(f'INSERT INTO "{table.name}" ({cols}) VALUES ({", ".join("?" * len(names))})', rows)


# A new record before its fields are set: the bookkeeping columns first, then every field, all
# null (the order _ordered gives).
_BLANK: dict[str, dict[str, Any]] = {t: dict.fromkeys((*RECORD_META, *cols)) for t, cols in FIELDS.items()}


def _ordered(st: State) -> dict[str, Any]:
    out = {k: st.data.get(k) for k in RECORD_META}
    out.update({k: v for k, v in st.data.items() if k not in out})
    return out


def _claim(ch: dict[str, Any], by: str) -> str | None:
    claimed = ch.get("by")
    return str(claimed)[:64] if claimed and str(claimed)[:64] != by else None


def _ts(at: str) -> str | None:
    """The laptop's wall-clock time, for display only (it never orders anything), in SQLite's
    storage form with six fraction digits."""
    return ts_storage(at)


def _j(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)
