"""Full values of masked fields (ID numbers, phones), for those allowed to see them, audited.

Lists and printouts show these fields masked. Revealing one is a deliberate act: only roles that
cover the whole community may do it, only for records in their scope, and every reveal leaves an
audit entry (which field of which record - never the value itself) in the same transaction."""

from __future__ import annotations

from desktop import kinds
from desktop.kinds import field_label
from desktop.kinds import label as kind_label
from desktop.policy import Ability
from desktop.services.audit import write_audit
from desktop.services.errors import ServiceError, require
from desktop.services.records import Records
from desktop.services.store import Actor, Store


def is_sensitive(kind: str, field: str) -> bool:
    """Whether `field` of `kind` is shown masked (Kind.sensitive in desktop/kinds.py)."""
    entry = kinds.find(kind)
    return entry is not None and field in entry.sensitive


def reveal(store: Store, actor: Actor, kind: str, record_id: str, field: str) -> str:
    """The unmasked value of one sensitive field ("" when the field is empty)."""
    if not is_sensitive(kind, field):
        raise ServiceError(f"“{field_label(kind, field)}”不是需要脱敏显示的信息,无需单独查看")
    require(actor, Ability.REVEAL, act=f"查看完整的{field_label(kind, field)}")
    with store.transaction() as s:
        # _load refuses deleted records and records outside the actor's grids
        obj = Records(store, actor)._load(s, kind, record_id)
        value = getattr(obj, field)
        write_audit(
            s, actor, "reveal", kind, record_id, {"field": field},
            summary=f"查看完整信息:{kind_label(kind)}的{field_label(kind, field)}",
        )
        return "" if value is None else str(value)
