"""一标三实 and ledger tables. Code-table fields store the national code (see desktop.validation.codes)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from desktop.models.base import Base, Synced

ID = String(36)


def fk(target: str, *, nullable: bool = True, index: bool = True, **kw) -> Mapped:
    return mapped_column(ID, ForeignKey(target, **kw), nullable=nullable, index=index)


class Area(Synced, Base):
    """District / street / community / grid / 小区 (estate), one table with a level and a parent."""

    __tablename__ = "area"
    level: Mapped[str] = mapped_column(String(16))  # district | street | community | grid | estate (小区)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    parent_id: Mapped[str | None] = fk("area.id")
    note: Mapped[str | None] = mapped_column(Text)


class Address(Synced, Base):
    """标准地址: components, full text, code, optional coordinates, cancelled instead of deleted."""

    __tablename__ = "address"
    grid_id: Mapped[str] = fk("area.id", nullable=False)
    code: Mapped[str | None] = mapped_column(String(40), index=True)
    estate: Mapped[str] = mapped_column(String(64))  # 小区 or 街路巷
    building: Mapped[str | None] = mapped_column(String(16))
    unit: Mapped[str | None] = mapped_column(String(16))
    floor: Mapped[int | None] = mapped_column(Integer)
    room: Mapped[str | None] = mapped_column(String(16))
    full_text: Mapped[str] = mapped_column(String(200))
    longitude: Mapped[float | None] = mapped_column(Float)
    latitude: Mapped[float | None] = mapped_column(Float)
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)
    __table_args__ = (Index("ix_address_grid_estate_building", "grid_id", "estate", "building", "unit"),)


class House(Synced, Base):
    """实有房屋."""

    __tablename__ = "house"
    grid_id: Mapped[str] = fk("area.id", nullable=False)
    address_id: Mapped[str] = fk("address.id", nullable=False)
    area_m2: Mapped[float | None] = mapped_column(Numeric(8, 2, asdecimal=False))
    layout: Mapped[str | None] = mapped_column(String(32))  # 户型, e.g. 三室一厅
    built_year: Mapped[int | None] = mapped_column(Integer)
    use: Mapped[str] = mapped_column(String(8), default="1")  # code table house_use
    nature: Mapped[str | None] = mapped_column(String(8))  # house_nature
    title_no: Mapped[str | None] = mapped_column(String(64))
    title_date: Mapped[date | None] = mapped_column(Date)
    owner_person_id: Mapped[str | None] = fk("person.id", use_alter=True)
    owner_name: Mapped[str | None] = mapped_column(String(64))
    owner_cert_no: Mapped[str | None] = mapped_column(String(32))
    owner_phone: Mapped[str | None] = mapped_column(String(32))
    tenant_name: Mapped[str | None] = mapped_column(String(64))
    rent_start: Mapped[date | None] = mapped_column(Date)
    rent_months: Mapped[int | None] = mapped_column(Integer)
    rent_monthly: Mapped[float | None] = mapped_column(Numeric(10, 2, asdecimal=False))
    rent_rooms: Mapped[int | None] = mapped_column(Integer)
    rent_registered: Mapped[bool | None] = mapped_column(Boolean)
    security_pledge: Mapped[bool | None] = mapped_column(Boolean)
    note: Mapped[str | None] = mapped_column(Text)
    verified_on: Mapped[date | None] = mapped_column(Date)  # last 核实 (desktop.services.quality)
    merged_into: Mapped[str | None] = mapped_column(String(36))  # a merged duplicate's survivor


class Household(Synced, Base):
    """户: 户号, type, head, house."""

    __tablename__ = "household"
    grid_id: Mapped[str] = fk("area.id", nullable=False)
    house_id: Mapped[str | None] = fk("house.id")
    hh_no: Mapped[str] = mapped_column(String(32), index=True)  # 户号
    hh_type: Mapped[str] = mapped_column(String(4), default="1")  # household_type
    head_person_id: Mapped[str | None] = fk("person.id", use_alter=True)
    phone: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)


class Person(Synced, Base):
    """实有人口."""

    __tablename__ = "person"
    grid_id: Mapped[str] = fk("area.id", nullable=False)
    household_id: Mapped[str | None] = fk("household.id")
    house_id: Mapped[str | None] = fk("house.id")  # 现住房屋
    name: Mapped[str] = mapped_column(String(64), index=True)
    name_py: Mapped[str] = mapped_column(String(128), index=True, default="")  # full pinyin
    name_initials: Mapped[str] = mapped_column(String(32), index=True, default="")
    cert_type: Mapped[str] = mapped_column(String(4), default="111")
    cert_no: Mapped[str | None] = mapped_column(String(32), index=True)
    cert_no_rev: Mapped[str | None] = mapped_column(String(32), index=True)  # for suffix search
    gender: Mapped[str | None] = mapped_column(String(1))
    birth_date: Mapped[date | None] = mapped_column(Date, index=True)
    ethnicity: Mapped[str | None] = mapped_column(String(4))
    native_region: Mapped[str | None] = mapped_column(String(6))  # 籍贯 / 户籍地 county code
    phone: Mapped[str | None] = mapped_column(String(32), index=True)
    phone_rev: Mapped[str | None] = mapped_column(String(32), index=True)
    person_type: Mapped[str] = mapped_column(String(4), default="1", index=True)
    hukou_address: Mapped[str | None] = mapped_column(String(200))
    relation: Mapped[str | None] = mapped_column(String(4))  # relation to head
    education: Mapped[str | None] = mapped_column(String(4))
    political: Mapped[str | None] = mapped_column(String(4))
    marital: Mapped[str | None] = mapped_column(String(4))
    religion: Mapped[str | None] = mapped_column(String(32))
    health: Mapped[str | None] = mapped_column(String(64))
    employment: Mapped[str | None] = mapped_column(String(4))
    employer: Mapped[str | None] = mapped_column(String(128))
    occupation: Mapped[str | None] = mapped_column(String(64))
    # 流动人口
    residence_reason: Mapped[str | None] = mapped_column(String(4))
    arrived_on: Mapped[date | None] = mapped_column(Date)
    intended_stay: Mapped[str | None] = mapped_column(String(32))
    residence_card_no: Mapped[str | None] = mapped_column(String(32))
    residence_card_until: Mapped[date | None] = mapped_column(Date)  # 居住证有效期至
    no_cert_reason: Mapped[str | None] = mapped_column(String(64))  # 无证件 and why
    verified_on: Mapped[date | None] = mapped_column(Date)  # last 核实 (desktop.services.quality)
    merged_into: Mapped[str | None] = mapped_column(String(36))  # a merged duplicate's survivor
    # care marks: manual ones are typed; derived ones follow from data (kept by the services)
    marks: Mapped[str] = mapped_column(String(256), default="")  # ",code,code," form
    derived_marks: Mapped[str] = mapped_column(String(128), default="")
    assistance_type: Mapped[str | None] = mapped_column(String(4))
    disability_category: Mapped[str | None] = mapped_column(String(4))
    disability_grade: Mapped[str | None] = mapped_column(String(4))
    disability_cert_no: Mapped[str | None] = mapped_column(String(40))
    note: Mapped[str | None] = mapped_column(Text)
    # the 数据质量 duplicate checks group live people by these, from the index alone
    __table_args__ = (
        Index("ix_person_live_cert", "cert_no", "deleted_at"),
        Index("ix_person_live_name_birth", "name", "birth_date", "deleted_at", "household_id"),
        Index("ix_person_live_phone", "phone", "deleted_at", "household_id"),
    )


class Vehicle(Synced, Base):
    """实有车辆."""

    __tablename__ = "vehicle"
    grid_id: Mapped[str] = fk("area.id", nullable=False)
    owner_person_id: Mapped[str | None] = fk("person.id")
    household_id: Mapped[str | None] = fk("household.id")
    plate_no: Mapped[str] = mapped_column(String(16), index=True)
    plate_type: Mapped[str | None] = mapped_column(String(4))
    vehicle_type: Mapped[str | None] = mapped_column(String(8))
    brand: Mapped[str | None] = mapped_column(String(64))
    colour: Mapped[str | None] = mapped_column(String(16))
    vin: Mapped[str | None] = mapped_column(String(17))
    parking: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    verified_on: Mapped[date | None] = mapped_column(Date)  # last 核实 (desktop.services.quality)
    merged_into: Mapped[str | None] = mapped_column(String(36))  # a merged duplicate's survivor


class OrgUnit(Synced, Base):
    """实有单位 (units, shops and organisations) with the unified social credit code."""

    __tablename__ = "org_unit"
    grid_id: Mapped[str] = fk("area.id", nullable=False)
    address_id: Mapped[str | None] = fk("address.id")
    name: Mapped[str] = mapped_column(String(128), index=True)
    uscc: Mapped[str | None] = mapped_column(String(18), index=True)
    kind: Mapped[str | None] = mapped_column(String(32))
    legal_person: Mapped[str | None] = mapped_column(String(64))
    contact_phone: Mapped[str | None] = mapped_column(String(32))
    employees: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)


class Visit(Synced, Base):
    """入户走访台账: one visit to a household."""

    __tablename__ = "visit"
    grid_id: Mapped[str] = fk("area.id", nullable=False)
    household_id: Mapped[str] = fk("household.id", nullable=False)
    visited_on: Mapped[date] = mapped_column(Date, index=True)
    duration_min: Mapped[int | None] = mapped_column(Integer)
    visitor: Mapped[str] = mapped_column(String(64))  # user name of the grid worker
    companions: Mapped[str | None] = mapped_column(String(128))
    method: Mapped[str] = mapped_column(String(4), default="1")  # visit_method
    situation: Mapped[str | None] = mapped_column(Text)
    actions: Mapped[str | None] = mapped_column(Text)
    follow_up_on: Mapped[date | None] = mapped_column(Date)
    return_visit: Mapped[str | None] = mapped_column(Text)
    satisfaction: Mapped[str | None] = mapped_column(String(4))
    # the visit plan reads a period's live visits by day (desktop/services/plan.py): covering, live rows only
    __table_args__ = (Index("ix_visit_live_day", "visited_on", "household_id", "grid_id",
                            sqlite_where=text("deleted_at IS NULL")),)


class VisitNeed(Synced, Base):
    """A need raised during a visit; may be escalated into a grid event."""

    __tablename__ = "visit_need"
    grid_id: Mapped[str] = fk("area.id", nullable=False)
    visit_id: Mapped[str] = fk("visit.id", nullable=False)
    category: Mapped[str] = mapped_column(String(8))
    content: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default="open")  # open|resolved|escalated
    event_id: Mapped[str | None] = fk("grid_event.id")


class HouseholdLedger(Synced, Base):
    """户情台账: income, farming and work of a household for one period (e.g. 2026 or 2026-03)."""

    __tablename__ = "household_ledger"
    grid_id: Mapped[str] = fk("area.id", nullable=False)
    household_id: Mapped[str] = fk("household.id", nullable=False)
    period: Mapped[str] = mapped_column(String(7))
    income_total: Mapped[float | None] = mapped_column(Numeric(12, 2, asdecimal=False))
    income_wage: Mapped[float | None] = mapped_column(Numeric(12, 2, asdecimal=False))
    income_business: Mapped[float | None] = mapped_column(Numeric(12, 2, asdecimal=False))
    income_farming: Mapped[float | None] = mapped_column(Numeric(12, 2, asdecimal=False))
    income_transfer: Mapped[float | None] = mapped_column(Numeric(12, 2, asdecimal=False))
    farming: Mapped[str | None] = mapped_column(Text)  # 种植
    breeding: Mapped[str | None] = mapped_column(Text)  # 养殖
    workers: Mapped[int | None] = mapped_column(Integer)  # 务工人数
    work_notes: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (Index("ix_household_ledger_hh_period", "household_id", "period"),)


class GridEvent(Synced, Base):
    """网格事件 with its workflow state."""

    __tablename__ = "grid_event"
    grid_id: Mapped[str] = fk("area.id", nullable=False)
    address_id: Mapped[str | None] = fk("address.id")
    household_id: Mapped[str | None] = fk("household.id")
    title: Mapped[str] = mapped_column(String(128))
    category: Mapped[str] = mapped_column(String(8))
    subcategory: Mapped[str | None] = mapped_column(String(32))
    source: Mapped[str | None] = mapped_column(String(8))
    description: Mapped[str | None] = mapped_column(Text)
    place: Mapped[str | None] = mapped_column(String(200))
    responsible_unit: Mapped[str | None] = mapped_column(String(128))
    handler: Mapped[str | None] = mapped_column(String(64))  # 处置人: who settles it, by name
    deadline: Mapped[date | None] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(12), default="reported", index=True)
    result_type: Mapped[str | None] = mapped_column(String(8))
    satisfaction: Mapped[str | None] = mapped_column(String(4))
    reported_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    reported_by: Mapped[str | None] = mapped_column(String(64))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)


class EventStep(Synced, Base):
    """One workflow step of an event: who moved it to which state and when."""

    __tablename__ = "event_step"
    grid_id: Mapped[str] = fk("area.id", nullable=False)
    event_id: Mapped[str] = fk("grid_event.id", nullable=False)
    state: Mapped[str] = mapped_column(String(12))
    actor: Mapped[str] = mapped_column(String(64))
    acted_at: Mapped[datetime] = mapped_column(DateTime)
    note: Mapped[str | None] = mapped_column(Text)


class Dispute(Synced, Base):
    """矛盾纠纷 and its mediation."""

    __tablename__ = "dispute"
    grid_id: Mapped[str] = fk("area.id", nullable=False)
    event_id: Mapped[str | None] = fk("grid_event.id")
    dispute_type: Mapped[str] = mapped_column(String(4))
    parties: Mapped[str] = mapped_column(Text)
    place: Mapped[str | None] = mapped_column(String(200))
    occurred_on: Mapped[date] = mapped_column(Date, index=True)
    people_involved: Mapped[int | None] = mapped_column(Integer)
    description: Mapped[str | None] = mapped_column(Text)
    mediator: Mapped[str | None] = mapped_column(String(64))
    result: Mapped[str | None] = mapped_column(String(4))
    agreement_form: Mapped[str | None] = mapped_column(String(4))
    fulfilled: Mapped[bool | None] = mapped_column(Boolean)
    return_visit_on: Mapped[date | None] = mapped_column(Date)
    return_visit_note: Mapped[str | None] = mapped_column(Text)


class User(Synced, Base):
    """A local user: grid worker, community admin or supervisor."""

    __tablename__ = "app_user"
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(24))  # user_role
    password_hash: Mapped[str | None] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    phone: Mapped[str | None] = mapped_column(String(32))


class UserGrid(Synced, Base):
    """A grid assigned to a user."""

    __tablename__ = "user_grid"
    user_id: Mapped[str] = fk("app_user.id", nullable=False)
    grid_id: Mapped[str] = fk("area.id", nullable=False)


class VisitRule(Synced, Base):
    """走访频次规则: a community's change to the default visit intervals (desktop.services.visit_rules).

    The target is (target_kind, target_value): a care mark, a person type, a house use, a named
    group (高龄独居或重病老人) or every household. A row overrides the built-in default of the same
    target; ``active`` False switches that target's rule off. Community-wide: no grid."""

    __tablename__ = "visit_rule"
    target_kind: Mapped[str] = mapped_column(String(16))  # mark | person_type | house_use | group | all
    target_value: Mapped[str] = mapped_column(String(32), default="")
    interval_days: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(40))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    __table_args__ = (Index("ix_visit_rule_target", "target_kind", "target_value"),)


class LifeEvent(Synced, Base):
    """情况变化: something that happened to a household or one of its members (住院, 出院, 新迁入 …)
    and asks for a visit within a window (desktop.domain.plan_rules.EVENT_TYPES)."""

    __tablename__ = "life_event"
    grid_id: Mapped[str] = fk("area.id", nullable=False)
    household_id: Mapped[str] = fk("household.id", nullable=False)
    person_id: Mapped[str | None] = fk("person.id")
    event_type: Mapped[str] = mapped_column(String(16))  # code table life_event
    occurred_on: Mapped[date] = mapped_column(Date, index=True)
    note: Mapped[str | None] = mapped_column(String(200))


class MapShape(Synced, Base):
    """A shape on the grid map (网格一张图): a building's outline, linked to its 楼栋 by 小区 and
    楼栋 (the standard addresses that make the building), or the grid's outline.

    ``geometry`` is JSON, the coordinates of a GeoJSON MultiPolygon (polygons of rings, holes
    after the outer ring; desktop.domain.geo.check_polygons) in ``space``: ``wgs84`` (longitude,
    latitude: from a GeoJSON import) or ``image`` (pixels of the grid's background plan, origin
    top left: drawn by hand over it). The plan itself is an attachment of the grid (owner_kind
    ``area``, purpose ``map_plan``), so it syncs as a photo does (desktop.services.map_shapes)."""

    __tablename__ = "map_shape"
    grid_id: Mapped[str] = fk("area.id", nullable=False)
    what: Mapped[str] = mapped_column(String(16))  # building | grid_outline
    estate: Mapped[str | None] = mapped_column(String(64))  # a building's 小区 (address.estate)
    building: Mapped[str | None] = mapped_column(String(16))  # a building's 楼栋 (address.building)
    space: Mapped[str] = mapped_column(String(8))  # wgs84 | image
    geometry: Mapped[str] = mapped_column(String(16000))  # GEOMETRY_CHARS in desktop.domain.geo
