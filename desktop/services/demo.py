"""A deterministic synthetic street for demos, tests and benchmarks.

Everything is generated (names from common characters, ID numbers with valid check characters
on real county codes); nothing comes from real people. Rows go in through Core bulk inserts in
one transaction (docs/design/STACK.md § Storage: per-object ORM adds are ~20x slower); the storage layer's triggers
still write the sync change log and the search index for every row."""

from __future__ import annotations

import math
import random
import time
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import insert

from desktop.data import names as N
from desktop.domain.marks import derived_marks, elder_cutoff, marks_list, marks_text
from desktop.models import (
    Address,
    Area,
    Base,
    Dispute,
    EventStep,
    GridEvent,
    House,
    Household,
    HouseholdLedger,
    LifeEvent,
    OrgUnit,
    Person,
    User,
    UserGrid,
    Vehicle,
    Visit,
    VisitNeed,
)
from desktop.policy import Role
from desktop.services import rules
from desktop.services.audit import write_audit
from desktop.services.auth import hash_password
from desktop.services.events import TRANSITIONS
from desktop.services.pinyin import name_pinyin
from desktop.services.store import Actor, Store
from desktop.validation import code_table, make_id_number, uscc_check_char
from desktop.validation.regions import counties

HOUSEHOLDS_PER_GRID = 200
GRIDS_PER_COMMUNITY = 10
DEMO_PASSWORD = "demo1234"
HOME_COUNTY = "620104"  # 甘肃省兰州市西固区 (the case study's district)
PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
# what kind of event each kind of need becomes (labels of need_category -> event_category)
DEMO_EVENT_CATEGORY = {
    "矛盾纠纷": "矛盾纠纷", "治安隐患": "治安隐患", "消防隐患": "消防安全", "环境卫生": "市容环境",
    "群众诉求": "设施维修", "就业": "民生服务", "救助": "民生服务", "意见建议": "民生服务",
}


@dataclass
class DemoReport:
    households: int
    people: int
    vehicles: int
    grids: int
    communities: int
    visits: int
    events: int
    disputes: int
    users: int
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class _Ids:
    """Deterministic UUIDv7 values: a fixed millisecond clock and the seeded generator."""

    def __init__(self, rng: random.Random, start_ms: int) -> None:
        self.rng = rng
        self.ms = start_ms

    def __call__(self) -> str:
        self.ms += 1
        rand = self.rng.getrandbits(74)
        value = (self.ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | (rand >> 62) << 64 | 0b10 << 62 | (rand & ((1 << 62) - 1))
        return str(uuid.UUID(int=value))


class _Site:
    """A plausible layout for a demo grid's buildings: slab blocks in rows, about 45 m apart,
    a little out of line, the grids side by side in 西固区 (兰州). Its own generator, so the rest of
    the demo street (people, visits …) stays what it was for a given seed."""

    PER_ROW, DX, DY = 5, 45.0, 40.0

    def __init__(self, seed: int, grid_no: int) -> None:
        self.rng = random.Random(f"site-{seed}-{grid_no}")
        self.lon0 = 103.600 + (grid_no % 4) * 0.006
        self.lat0 = 36.100 - (grid_no // 4) * 0.005

    def building(self, n: int) -> tuple[float, float]:
        col, row = (n - 1) % self.PER_ROW, (n - 1) // self.PER_ROW
        x = col * self.DX + self.rng.uniform(-4, 4)
        y = row * self.DY + self.rng.uniform(-3, 3)
        lat = self.lat0 - y / 111320.0
        lon = self.lon0 + x / (111320.0 * math.cos(math.radians(self.lat0)))
        return round(lon, 7), round(lat, 7)


def generate(
    store: Store, *, households: int = 300, seed: int = 1, today: date | None = None,
    actor: Actor | None = None, progress: Any = None, history_years: int = 1,
) -> DemoReport:
    started = time.perf_counter()
    gen = _Generator(households, seed, today or date.today(), actor or Actor("demo", Role.SUPERVISOR))
    gen.build()
    history = _PlanHistory(gen, seed, history_years)
    history.cards()
    with store.transaction() as s:
        conn = s.connection()
        conn.exec_driver_sql("PRAGMA defer_foreign_keys=ON")
        for model, rows in gen.tables():
            for i in range(0, len(rows), 5000):
                conn.execute(insert(model), rows[i : i + 5000])
            if progress:
                progress(model.__tablename__, len(rows))
        # safety net: derived marks were computed while generating; this must change nothing
        changed = rules.refresh_derived_marks(s, gen.actor, today=gen.today)
        # the visit plan's history: regular visits at each household's interval, some late, some
        # households overdue today, recent life events and residence cards near their end date
        history.build(conn)
        for model, rows in history.tables():
            for i in range(0, len(rows), 5000):
                conn.execute(insert(model), rows[i : i + 5000])
            if progress:
                progress(model.__tablename__, len(rows))
        write_audit(s, gen.actor, "demo", None, None, {"households": households, "seed": seed, "fixed": changed})
    conn_count = gen.counts()
    conn_count["visits"] += len(history.visits)
    return DemoReport(**conn_count, seconds=round(time.perf_counter() - started, 2))


DEMO_MARK = "演示数据(程序合成,并非真实居民)"


def demo_mark(store: Store) -> str | None:
    """What every window, print and export made from a demo database says about it (None for a
    real one): the synthetic street must never pass for real residents."""
    return DEMO_MARK if is_demo(store) else None


def is_demo(store: Store) -> bool:
    """Whether the open database was made by `generate` (its audit trail starts with "demo"): only
    such a database may be thrown away and generated again."""
    from sqlalchemy import select

    from desktop.models import AuditEntry

    with store.session() as s:
        return s.scalar(select(AuditEntry.seq).where(AuditEntry.action == "demo").limit(1)) is not None


class _Generator:
    def __init__(self, households: int, seed: int, today: date, actor: Actor) -> None:
        self.n_households = households
        self.rng = random.Random(seed)
        self.seed = seed
        self.today = today
        self.actor = actor
        base = datetime(today.year, today.month, today.day) - timedelta(days=400)
        self.new_id = _Ids(self.rng, int(base.timestamp() * 1000))
        self.now = datetime(today.year, today.month, today.day, 8, 0, 0)
        self.rows: dict[type[Base], list[dict[str, Any]]] = {
            m: [] for m in (Area, User, UserGrid, Address, House, Household, Person, Vehicle, OrgUnit,
                            Visit, VisitNeed, HouseholdLedger, GridEvent, EventStep, Dispute)
        }
        self.used_ids: set[str] = set()
        self.used_plates: set[str] = set()
        self.used_phones: set[str] = set()
        all_counties = [c for c, _ in counties()]
        self.far_counties = [c for c in all_counties if not c.startswith("62") and c[:2] not in ("71", "81", "82")]
        self.local_counties = [c for c in all_counties if c.startswith("6201")] or [HOME_COUNTY]
        self.codes = {name: [c for c, _ in code_table(name).items] for name in ("ethnicity", "residence_reason")}
        self.pw_hash = hash_password(DEMO_PASSWORD, salt=self.rng.randbytes(16))

    # --- bookkeeping ----------------------------------------------------------------------
    def _row(self, model: type, **values: Any) -> dict[str, Any]:
        values.setdefault("id", self.new_id())
        values.update(version=1, created_at=self.now, created_by=self.actor.username,
                      updated_at=self.now, updated_by=self.actor.username, deleted_at=None, deleted_by=None)
        self.rows[model].append(values)
        return values

    def tables(self) -> list[tuple[type[Base], list[dict[str, Any]]]]:
        return [(m, rows) for m, rows in self.rows.items() if rows]

    def counts(self) -> dict[str, int]:
        return {
            "households": len(self.rows[Household]), "people": len(self.rows[Person]),
            "vehicles": len(self.rows[Vehicle]),
            "grids": sum(1 for a in self.rows[Area] if a["level"] == "grid"),
            "communities": sum(1 for a in self.rows[Area] if a["level"] == "community"),
            "visits": len(self.rows[Visit]), "events": len(self.rows[GridEvent]),
            "disputes": len(self.rows[Dispute]), "users": len(self.rows[User]),
        }

    # --- people ---------------------------------------------------------------------------
    def _surname(self) -> str:
        if self.rng.random() < 0.01:
            return self.rng.choice(N.COMPOUND_SURNAMES)
        idx = min(int(self.rng.expovariate(1 / 18)), len(N.SURNAMES) - 1)
        return N.SURNAMES[idx]

    def _given(self, gender: str) -> str:
        pool = N.GIVEN_MALE if gender == "1" else N.GIVEN_FEMALE
        return "".join(self.rng.choice(pool) for _ in range(1 if self.rng.random() < 0.3 else 2))

    def _birth(self, age: int) -> date:
        start = self.today.replace(month=1, day=1) - timedelta(days=365 * age)
        return start - timedelta(days=self.rng.randrange(365))

    def _id_number(self, region: str, birth: date, gender: str) -> str:
        while True:
            seq = self.rng.randrange(0, 999)
            if (seq % 2 == 1) != (gender == "1"):
                seq = (seq + 1) % 1000
            number = make_id_number(region, birth, seq)
            if number not in self.used_ids:
                self.used_ids.add(number)
                return number

    def _phone(self) -> str:
        while True:
            p = "1" + self.rng.choice("3456789") + "".join(self.rng.choice("0123456789") for _ in range(9))
            if p not in self.used_phones:
                self.used_phones.add(p)
                return p

    def _person(self, hh: dict, house_id: str, grid_id: str, *, age: int, gender: str, relation: str,
                surname: str | None, floating: bool, region: str, hukou: str | None) -> dict[str, Any]:
        rng = self.rng
        name = (surname or self._surname()) + self._given(gender)
        birth = self._birth(age)
        cert = self._id_number(region, birth, gender)
        py, initials = name_pinyin(name)
        if age < 6:
            employment, education = "50", None
        elif age < 19:
            employment, education = "40", "70" if age >= 12 else "80"
        elif age >= 60:
            employment, education = "30", rng.choice(("70", "60", "80", "30"))
        else:
            employment = "20" if rng.random() < 0.06 else ("60" if rng.random() < 0.05 else "10")
            education = rng.choice(("20", "30", "60", "70", "40", "10"))
        marks: list[str] = []
        if rng.random() < 0.03:
            marks.append("assisted")
        disability = None
        if rng.random() < 0.02:
            marks.append("disabled")
            disability = (str(rng.randint(1, 7)), str(rng.randint(1, 4)))
        if rng.random() < 0.004:
            marks.append("key_person")
        if gender == "1" and age >= 40 and rng.random() < 0.03:
            marks.append("veteran")
        row = self._row(
            Person, grid_id=grid_id, household_id=hh["id"], house_id=house_id, name=name,
            name_py=py, name_initials=initials, cert_type="111", cert_no=cert, cert_no_rev=cert[::-1],
            gender=gender, birth_date=birth, ethnicity="01" if rng.random() < 0.93 else rng.choice(self.codes["ethnicity"][1:12]),
            native_region=region, phone=None, phone_rev=None, person_type="2" if floating else "1",
            hukou_address=hukou, relation=relation, education=education,
            political="13" if age >= 14 and rng.random() > 0.12 else ("01" if age >= 18 else ("03" if age >= 14 else None)),
            marital=("20" if relation in ("02", "10") and age >= 22 else ("10" if age >= 18 else None)),
            religion=None, health="健康" if rng.random() < 0.85 else rng.choice(("良好", "慢性病", "残疾")),
            employment=employment, employer=rng.choice(N.EMPLOYERS) if employment == "10" else None,
            occupation=None,
            residence_reason=rng.choice(self.codes["residence_reason"][:5]) if floating else None,
            arrived_on=(self.today - timedelta(days=rng.randrange(30, 2000))) if floating else None,
            intended_stay=rng.choice(("半年以内", "一年", "三年以上")) if floating else None,
            residence_card_no=(f"6201{rng.randrange(10**11, 10**12)}" if floating and rng.random() < 0.6 else None),
            marks=marks_text(marks), derived_marks="",
            assistance_type="1" if "assisted" in marks else None,
            disability_category=disability[0] if disability else None,
            disability_grade=disability[1] if disability else None,
            disability_cert_no=(cert + disability[0] + disability[1]) if disability else None, note=None,
        )
        if age >= 16 and (relation == "02" or rng.random() < 0.5):
            row["phone"] = self._phone()
            row["phone_rev"] = row["phone"][::-1]
        return row

    # --- places and households ------------------------------------------------------------
    def build(self) -> None:
        rng = self.rng
        n_grids = max(1, -(-self.n_households // HOUSEHOLDS_PER_GRID))
        n_comm = max(1, -(-n_grids // GRIDS_PER_COMMUNITY))
        district = self._row(Area, level="district", code=HOME_COUNTY, name="西固区", parent_id=None, note=None)
        street = self._row(Area, level="street", code=HOME_COUNTY + "001", name="福利路街道",
                           parent_id=district["id"], note=None)
        admin = self._user("admin", "社区管理员", Role.COMMUNITY_ADMIN)
        self._user("wgz001", "网格长", Role.SUPERVISOR)
        _ = admin
        left = self.n_households
        grid_no = 0
        self.grid_workers: dict[str, str] = {}
        for c in range(n_comm):
            word = N.ESTATE_WORDS[c % len(N.ESTATE_WORDS)]
            comm = self._row(Area, level="community", code=f"{street['code']}{c + 1:03d}",
                             name=f"{word}社区" if c >= len(N.ESTATE_WORDS) - 1 or c else "兰化22街区社区",
                             parent_id=street["id"], note=None)
            for g in range(min(GRIDS_PER_COMMUNITY, n_grids - c * GRIDS_PER_COMMUNITY)):
                grid_no += 1
                grid = self._row(Area, level="grid", code=f"{comm['code']}{g + 1:02d}", name=f"第{g + 1}网格",
                                 parent_id=comm["id"], note=None)
                worker = self._user(f"wgy{grid_no:03d}", self._surname() + self._given(rng.choice("12")), Role.GRID_WORKER)
                self._row(UserGrid, user_id=worker["id"], grid_id=grid["id"])
                self.grid_workers[grid["id"]] = worker["username"]
                take = min(HOUSEHOLDS_PER_GRID, left)
                left -= take
                self._grid(grid, take, grid_no)
                self._events(grid, max(7, take // 8))
                self._disputes(grid, max(1, take // 60))
        self._defects()

    def _defects(self) -> None:
        """The flaws a real street's data has, for the 数据质量 queue to find (a separate random
        stream, so the street itself is the same as without them): about 0.4% of people
        registered twice (same name, birth date and ID number, the copy with no household or
        house), 0.5% not linked to their house, residence cards that have run out, 0.5% of
        vehicles registered twice without an owner, and 核实日期 for about 75% of people, houses
        and vehicles within the last 18 months (the rest never verified)."""
        rng = random.Random(self.rng.random())
        people = self.rows[Person]
        for p in list(people):
            p["verified_on"] = (self.today - timedelta(days=rng.randrange(0, 540))) if rng.random() < 0.75 else None
            p["residence_card_until"] = None
            if p["residence_card_no"]:
                p["residence_card_until"] = self.today + timedelta(days=rng.randrange(-400, 1100))
        for p in list(people):
            roll = rng.random()
            if roll < 0.004:
                copy = {k: v for k, v in p.items() if k != "id"}
                copy.update(household_id=None, house_id=None, relation=None, verified_on=None,
                            derived_marks=derived_marks(p["person_type"], p["employment"], p["birth_date"], None,
                                                        elder_cutoff(self.today)))
                self._row(Person, **copy)
            elif roll < 0.009 and p["relation"] != "02":
                p["house_id"] = None
        for model in (House, Vehicle):
            for row in self.rows[model]:
                row["verified_on"] = (self.today - timedelta(days=rng.randrange(0, 540))) if rng.random() < 0.75 else None
        for v in list(self.rows[Vehicle]):
            if rng.random() < 0.005:
                copy = {k: val for k, val in v.items() if k != "id"}
                copy.update(owner_person_id=None, household_id=None, verified_on=None)
                self._row(Vehicle, **copy)

    def _user(self, username: str, display: str, role: str) -> dict[str, Any]:
        return self._row(User, username=username, display_name=display, role=role,
                         password_hash=self.pw_hash, active=True, phone=None)

    def _grid(self, grid: dict, n_households: int, grid_no: int) -> None:
        rng = self.rng
        estate = (N.ESTATE_WORDS[(grid_no * 7) % len(N.ESTATE_WORDS)]
                  + N.ESTATE_SUFFIX[grid_no % len(N.ESTATE_SUFFIX)])
        if grid_no > len(N.ESTATE_WORDS):
            estate = f"{estate}{grid_no // len(N.ESTATE_WORDS) + 1}期"
        units, floors, per_floor = 2, 6, 2
        made = 0
        building = 0
        hh_seq = 0
        site = _Site(self.seed, grid_no)
        while made < n_households:
            building += 1
            lon, lat = site.building(building)
            for unit in range(1, units + 1):
                for floor in range(1, floors + 1):
                    for r in range(1, per_floor + 1):
                        if made >= n_households:
                            break
                        room = f"{floor}{r:02d}"
                        full = f"{estate}{building}栋{unit}单元{room}室"
                        addr = self._row(
                            Address, grid_id=grid["id"], code=f"{grid['code']}{building:02d}{unit}{room}",
                            estate=estate, building=str(building), unit=str(unit), floor=floor, room=room,
                            full_text=full, longitude=lon, latitude=lat, cancelled=False,
                        )
                        vacant = rng.random() < 0.04
                        made += 0 if vacant else 1
                        rented = not vacant and rng.random() < 0.26
                        house = self._row(
                            House, grid_id=grid["id"], address_id=addr["id"],
                            area_m2=round(rng.uniform(45, 140), 1), layout=rng.choice(("一室一厅", "两室一厅", "三室一厅", "三室两厅")),
                            built_year=rng.randint(1985, 2020), use="3" if vacant else ("2" if rented else "1"),
                            nature=rng.choice(("1", "2", "1", "6")), title_no=None if rented else f"甘({self.today.year - rng.randint(1, 20)})兰州市不动产权第{rng.randrange(10**6, 10**7)}号",
                            title_date=None, owner_person_id=None, owner_name=None, owner_cert_no=None,
                            owner_phone=None, tenant_name=None, rent_start=None, rent_months=None,
                            rent_monthly=None, rent_rooms=None, rent_registered=None, security_pledge=None, note=None,
                        )
                        if vacant:
                            continue
                        hh_seq += 1
                        self._household(grid, house, hh_seq, floating=rented)
            if building > 500:
                break

    def _household(self, grid: dict, house: dict, seq: int, *, floating: bool) -> None:
        rng = self.rng
        hh = self._row(Household, grid_id=grid["id"], house_id=house["id"], hh_no=f"{grid['code'][-8:]}{seq:04d}",
                       hh_type="1", head_person_id=None, phone=None, note=None)
        region = rng.choice(self.far_counties) if floating else (HOME_COUNTY if rng.random() < 0.7 else rng.choice(self.local_counties))
        hukou = None  # (was `None if floating else house and None`: None either way)
        size_roll = rng.random()
        if floating:
            size = rng.choice((1, 1, 2, 2, 3, 4))
        else:
            size = 1 if size_roll < 0.16 else 2 if size_roll < 0.42 else 3 if size_roll < 0.72 else 4 if size_roll < 0.9 else rng.choice((5, 6))
        head_age = rng.randint(62, 88) if size == 1 and rng.random() < 0.45 else rng.randint(24, 78)
        head_gender = "1" if rng.random() < 0.7 else "2"
        surname = self._surname()
        members = [self._person(hh, house["id"], grid["id"], age=head_age, gender=head_gender, relation="02",
                                surname=surname if head_gender == "1" else None, floating=floating,
                                region=region, hukou=hukou)]
        if size >= 2:
            sp_age = max(20, head_age + rng.randint(-5, 5))
            members.append(self._person(hh, house["id"], grid["id"], age=sp_age, gender="2" if head_gender == "1" else "1",
                                        relation="10", surname=None if head_gender == "1" else surname,
                                        floating=floating, region=region if rng.random() < 0.6 else rng.choice(self.local_counties if not floating else self.far_counties), hukou=hukou))
        child_surname = surname if head_gender == "1" else members[-1]["name"][0] if size >= 2 else surname
        extra = size - len(members)
        if extra and head_age > 52 and rng.random() < 0.25:
            # a parent of the head living with the family
            members.append(self._person(hh, house["id"], grid["id"], age=min(100, head_age + rng.randint(22, 30)),
                                        gender=rng.choice("12"), relation="50", surname=None,
                                        floating=floating, region=region, hukou=hukou))
            extra -= 1
        for _ in range(extra):
            age = max(0, head_age - rng.randint(22, 36))
            g = rng.choice("12")
            members.append(self._person(hh, house["id"], grid["id"], age=age, gender=g,
                                        relation="20" if g == "1" else "30", surname=child_surname,
                                        floating=floating, region=region, hukou=hukou))
        hh["head_person_id"] = members[0]["id"]
        hh["phone"] = members[0]["phone"]
        # derived marks: the rule that rules.refresh_derived_marks runs in SQL
        cutoff = elder_cutoff(self.today)
        for m in members:
            m["derived_marks"] = derived_marks(m["person_type"], m["employment"], m["birth_date"], len(members), cutoff)
        if len(members) == 2 and all(m["birth_date"] <= cutoff for m in members):
            for m in members:
                m["marks"] = marks_text([*marks_list(m["marks"]), "empty_nest_elderly"])
        if floating:
            owner_name = self._surname() + self._given(rng.choice("12"))
            house.update(owner_name=owner_name, owner_phone=self._phone(), tenant_name=members[0]["name"],
                         rent_start=self.today - timedelta(days=rng.randrange(30, 900)), rent_months=12,
                         rent_monthly=float(rng.randrange(800, 2600, 100)), rent_rooms=1,
                         rent_registered=rng.random() < 0.8, security_pledge=rng.random() < 0.7)
        else:
            house.update(owner_person_id=members[0]["id"], owner_name=members[0]["name"],
                         title_date=self.today - timedelta(days=rng.randrange(365, 7000)))
        if rng.random() < 0.33:
            self._vehicle(grid, hh, members[0])
        if rng.random() < 0.15:
            self._ledger(grid, hh, len(members))
        self._visits(grid, hh)

    def _vehicle(self, grid: dict, hh: dict, owner: dict) -> None:
        rng = self.rng
        while True:
            if rng.random() < 0.15:
                serial = rng.choice("DF") + rng.choice(PLATE_LETTERS + "0123456789") + f"{rng.randrange(10000):04d}"
                ptype = "52"
            else:
                chars = "0123456789" * 3 + PLATE_LETTERS
                serial = "".join(rng.choice(chars) for _ in range(5))
                ptype = "02"
            plate = "甘A" + serial
            if plate not in self.used_plates:
                self.used_plates.add(plate)
                break
        brand = rng.choice(N.BRANDS)
        self._row(Vehicle, grid_id=grid["id"], owner_person_id=owner["id"], household_id=hh["id"], plate_no=plate,
                  plate_type=ptype, vehicle_type=("04" if "五菱" in brand else "02" if any(x in brand for x in ("CS75", "H6", "瑞虎")) else "01"), brand=brand,
                  colour=rng.choice(N.COLOURS), vin=None, parking=rng.choice(("地面车位", "地下车库", "路边")), note=None)

    def _ledger(self, grid: dict, hh: dict, size: int) -> None:
        rng = self.rng
        for year in (self.today.year - 1, self.today.year):
            wage = float(rng.randrange(10000, 80000, 500))
            farming = float(rng.randrange(0, 8000, 500))
            self._row(HouseholdLedger, grid_id=grid["id"], household_id=hh["id"], period=str(year),
                      income_total=wage + farming, income_wage=wage, income_business=0.0,
                      income_farming=farming, income_transfer=0.0,
                      farming="日光温室种植蔬菜" if farming else None, breeding=None,
                      workers=min(size, rng.randint(1, 2)), work_notes=rng.choice(N.EMPLOYERS))

    def _visits(self, grid: dict, hh: dict) -> None:
        rng = self.rng
        worker = self.grid_workers[grid["id"]]
        for _ in range(rng.choice((0, 1, 1, 2, 2, 3))):
            day = self.today - timedelta(days=rng.randrange(0, 360))
            visit = self._row(
                Visit, grid_id=grid["id"], household_id=hh["id"], visited_on=day, duration_min=rng.choice((10, 15, 20, 30, 45)),
                visitor=worker, companions=rng.choice((None, None, "社区民警", "楼栋长")), method=rng.choice("1111234"),
                situation=rng.choice(N.SITUATIONS), actions=None, follow_up_on=None, return_visit=None,
                satisfaction=rng.choice(("1", "1", "1", "2", None)),
            )
            if rng.random() < 0.2:
                cat, content = rng.choice(N.NEEDS)
                status = rng.choice(("open", "resolved", "resolved"))
                visit["actions"] = "已当场解答" if status == "resolved" else "已记录,待跟进"
                if status == "open":
                    visit["follow_up_on"] = day + timedelta(days=7)
                self._row(VisitNeed, grid_id=grid["id"], visit_id=visit["id"],
                          category=code_table("need_category").code_for(cat), content=content, status=status, event_id=None)

    def _events(self, grid: dict, count: int) -> None:
        rng = self.rng
        states = list(TRANSITIONS)
        cats = [c for c, _ in code_table("event_category").items]
        sources = [c for c, _ in code_table("event_source").items]
        for i in range(count):
            # every workflow state appears in every grid; most events are settled (case study 003)
            final = states[i] if i < len(states) else ("evaluated" if rng.random() < 0.8 else rng.choice(states))
            reported = datetime.combine(self.today - timedelta(days=rng.randrange(1, 300)), datetime.min.time()) + timedelta(hours=rng.randint(8, 17))
            need_label, content = rng.choice(N.NEEDS)
            event_label = DEMO_EVENT_CATEGORY.get(need_label, "民生服务")
            ev = self._row(
                GridEvent, grid_id=grid["id"], address_id=None, household_id=None, title=content[:20],
                category=code_table("event_category").code_for(event_label) or rng.choice(cats), subcategory=None, source=rng.choice(sources), description=content,
                place=None, responsible_unit=None, deadline=(reported + timedelta(days=15)).date(), state=final,
                result_type=None, satisfaction=None, reported_at=reported, reported_by=self.grid_workers[grid["id"]],
                closed_at=None,
            )
            path = ["reported", "accepted", "dispatched", "handling", "verified", "closed", "evaluated"]
            path = path[: path.index(final) + 1]
            when = reported
            for state in path:
                if state != "reported":
                    when += timedelta(hours=rng.randint(2, 48))
                if state == "dispatched":
                    ev["responsible_unit"] = rng.choice(("社区物业", "街道城管科", "派出所", "社区居委会"))
                if state == "closed":
                    ev["result_type"] = rng.choice(("1", "2", "3"))
                    ev["closed_at"] = when
                if state == "evaluated":
                    ev["satisfaction"] = "1" if rng.random() < 0.9 else rng.choice(("2", "3"))
                self._row(EventStep, grid_id=grid["id"], event_id=ev["id"], state=state,
                          actor=self.grid_workers[grid["id"]] if state in ("reported", "handling") else "admin",
                          acted_at=when, note=None)

    def _disputes(self, grid: dict, count: int) -> None:
        rng = self.rng
        types = [c for c, _ in code_table("dispute_type").items]
        for _ in range(count):
            result = rng.choice(("1", "1", "1", "2", None))
            self._row(
                Dispute, grid_id=grid["id"], event_id=None, dispute_type=rng.choice(types),
                parties=f"{self._surname()}某某与{self._surname()}某某", place=None,
                occurred_on=self.today - timedelta(days=rng.randrange(1, 300)), people_involved=rng.randint(2, 5),
                description="因生活琐事发生争执", mediator="社区调解委员会", result=result,
                agreement_form=rng.choice(("1", "2")) if result == "1" else None,
                fulfilled=True if result == "1" else None, return_visit_on=None, return_visit_note=None,
            )
        # a couple of units (实有单位) per grid
        for k in range(2):
            first17 = "92" + HOME_COUNTY + f"{rng.randrange(10**8, 10**9)}"
            first17 = first17.replace("I", "1").replace("O", "0")
            self._row(OrgUnit, grid_id=grid["id"], address_id=None, name=f"{rng.choice(N.ESTATE_WORDS)}便民{('超市', '药店')[k]}",
                      uscc=first17 + uscc_check_char(first17), kind="个体工商户", legal_person=self._surname() + self._given("1"),
                      contact_phone=self._phone(), employees=rng.randint(1, 8), note=None)




class _PlanHistory:
    """Visit histories and life events for 今日走访 (desktop.services.plan), drawn from a random
    stream of their own so that the rest of the street stays what the seed always gave.

    Per household with an interval I (the default rules): visits every I days (a fifth of them a
    few days early, one in eight up to a third of I late) back `years` years from the last one;
    the last one is within the current interval for most households, exactly I days ago (due
    today) for 3 %, and 1–30 days past due (overdue) for 10 %. 4 % of households had a life event
    in the last ten days (出院 with its 住院 before it, 新迁入, 丧偶, 失业, 新生儿); every floating
    person with a residence card gets an end date between 20 days ago and a year ahead."""

    EVENTS = ("discharged", "moved_in", "bereaved", "unemployed", "newborn")

    def __init__(self, gen: _Generator, seed: int, years: int) -> None:
        self.gen = gen
        self.rng = random.Random(seed * 7919 + 17)
        base = datetime(gen.today.year, gen.today.month, gen.today.day) - timedelta(days=400)
        self.new_id = _Ids(self.rng, int(base.timestamp() * 1000) + 1)
        self.years = years
        self.visits: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []

    def _row(self, out: list[dict[str, Any]], **values: Any) -> dict[str, Any]:
        g = self.gen
        values.update(id=self.new_id(), version=1, created_at=g.now, created_by=g.actor.username, updated_at=g.now,
                      updated_by=g.actor.username, deleted_at=None, deleted_by=None)
        out.append(values)
        return values

    def tables(self) -> list[tuple[type, list[dict[str, Any]]]]:
        return [(m, rows) for m, rows in ((Visit, self.visits), (LifeEvent, self.events)) if rows]

    def build(self, conn: Any) -> None:
        from desktop.services.plan import household_intervals

        rng, today = self.rng, self.gen.today
        intervals = household_intervals(conn, today)
        start = today - timedelta(days=365 * self.years)
        for hh in self.gen.rows[Household]:
            interval = intervals.get(hh["id"])
            if interval is None:
                continue
            worker = self.gen.grid_workers[hh["grid_id"]]
            roll = rng.random()
            if roll < 0.10:
                last = today - timedelta(days=interval + rng.randint(1, 30))
            elif roll < 0.13:
                last = today - timedelta(days=interval)
            else:
                last = today - timedelta(days=rng.randrange(0, interval))
            day = last
            while day >= start:
                self._row(self.visits, grid_id=hh["grid_id"], household_id=hh["id"], visited_on=day,
                          duration_min=rng.choice((10, 15, 20, 30)), visitor=worker, companions=None,
                          method=rng.choice("1111112"), situation=rng.choice(N.SITUATIONS), actions=None,
                          follow_up_on=None, return_visit=None, satisfaction=rng.choice(("1", "1", "2", None)))
                step = interval
                r = rng.random()
                if r < 0.2:
                    step -= rng.randint(0, max(1, interval // 5))
                elif r < 0.325:
                    step += rng.randint(1, max(1, interval // 3))
                day -= timedelta(days=max(1, step))
            if rng.random() < 0.04:
                kind = rng.choice(self.EVENTS)
                when = today - timedelta(days=rng.randint(0, 10))
                person = hh["head_person_id"]
                if kind == "discharged":
                    self._row(self.events, grid_id=hh["grid_id"], household_id=hh["id"], person_id=person,
                              event_type="hospitalized", occurred_on=when - timedelta(days=rng.randint(3, 12)), note=None)
                self._row(self.events, grid_id=hh["grid_id"], household_id=hh["id"],
                          person_id=None if kind == "newborn" else person, event_type=kind, occurred_on=when, note=None)

    def cards(self) -> None:
        """Residence-card end dates, set on the person rows before they are written."""
        today = self.gen.today
        for p in self.gen.rows[Person]:
            p["residence_card_until"] = (today + timedelta(days=self.rng.randint(-20, 365))
                                         if p.get("residence_card_no") else None)
