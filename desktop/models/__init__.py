"""SQLAlchemy 2 typed models. Import from here so every table is registered on Base.metadata."""

from desktop.models.attachments import Attachment
from desktop.models.base import BOOKKEEPING_COLUMNS, Base, Synced, new_id, utcnow
from desktop.models.domain import (
    Address,
    Area,
    Dispute,
    EventStep,
    GridEvent,
    House,
    Household,
    HouseholdLedger,
    OrgUnit,
    Person,
    User,
    UserGrid,
    Vehicle,
    Visit,
    VisitNeed,
)
from desktop.models.local import AuditEntry, LocalMeta, OutboxEntry

SYNCED_MODELS = (
    Area,
    Address,
    House,
    Household,
    Person,
    Vehicle,
    OrgUnit,
    Visit,
    VisitNeed,
    HouseholdLedger,
    GridEvent,
    EventStep,
    Dispute,
    User,
    UserGrid,
    Attachment,
)
SYNCED_TABLES = tuple(m.__tablename__ for m in SYNCED_MODELS)

__all__ = [
    "BOOKKEEPING_COLUMNS",
    "SYNCED_MODELS",
    "SYNCED_TABLES",
    "Address",
    "Area",
    "Attachment",
    "AuditEntry",
    "Base",
    "Dispute",
    "EventStep",
    "GridEvent",
    "House",
    "Household",
    "HouseholdLedger",
    "LocalMeta",
    "OrgUnit",
    "OutboxEntry",
    "Person",
    "Synced",
    "User",
    "UserGrid",
    "Vehicle",
    "Visit",
    "VisitNeed",
    "new_id",
    "utcnow",
]
