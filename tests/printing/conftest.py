"""Fixtures for printing: a realistic family (built through the services) and a demo street."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from desktop.services.events import Events, Visits
from desktop.services.households import Households
from desktop.services.records import Records
from desktop.services.store import Actor, Store

LONG_SITUATION = (
    "老人独自在家,腿脚不便,平时由女儿每周来照看两次。"
    "她说:“社区上次送来的米面已经吃完了,希望能再帮忙申请一下临时救助。”"
    "我们当场核对了低保材料,并告知办理流程;楼道照明损坏,已拍照上报物业。"
    "另外反映:楼下夜间烧烤噪音较大(多在晚上十点以后),影响休息!"
) * 2

POPPLER = all(shutil.which(x) for x in ("pdftotext", "pdfinfo", "pdffonts", "pdftoppm"))
needs_poppler = pytest.mark.skipif(not POPPLER, reason="poppler-utils (pdftotext, pdfinfo…) not installed")


def pdftext(path: Path, first: int | None = None, last: int | None = None, *, layout: bool = False) -> str:
    cmd = ["pdftotext", "-enc", "UTF-8"]
    if first:
        cmd += ["-f", str(first)]
    if last:
        cmd += ["-l", str(last)]
    if layout:
        cmd.append("-layout")
    done = subprocess.run([*cmd, str(path), "-"], capture_output=True, text=True, check=True, timeout=120)
    return done.stdout


def pdfinfo(path: Path) -> dict[str, str]:
    done = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True, timeout=60)
    out = {}
    for line in done.stdout.splitlines():
        key, _, value = line.partition(":")
        out[key.strip()] = value.strip()
    return out


def pdfpages(path: Path) -> int:
    return int(pdfinfo(path)["Pages"])


def pdffonts(path: Path) -> list[list[str]]:
    done = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True, timeout=60)
    return [line.split() for line in done.stdout.splitlines()[2:] if line.strip()]


@pytest.fixture
def family(store: Store, admin: Actor, community: Any) -> dict[str, Any]:
    """A rented flat: three people, a car, a shop at the same address, visits and events."""
    h = Households(store, admin)
    view = h.register(
        grid_id=community.grid1["id"],
        address={"estate": "幸福家园", "building": "3", "unit": "2", "room": "501"},
        members=[
            community.member("陈建国", 52, phone="13700001111", education="大学本科", political="中共党员",
                             employment="在业", employer="兰州石化公司", ethnicity="汉族"),
            community.member("李秀英", 50, "2", relation="10", phone="13900002222", marks="帮扶人员,残疾人",
                             assistance_type="低保", disability_category="肢体残疾", disability_grade="三级"),
            community.member("陈欣", 20, "2", relation="30", education="大学专科", employment="在校学生"),
        ],
        house={"use": "出租", "area_m2": "89.5", "layout": "两室一厅", "owner_name": "赵德明",
               "owner_phone": "13800003333", "tenant_name": "陈建国", "rent_start": "2024-03-01",
               "rent_months": 24, "rent_monthly": "1500", "rent_registered": True, "security_pledge": True},
        household={"phone": "13700001111"},
    )
    hh = view["household"]
    r = Records(store, admin)
    r.create("vehicle", {"plate_no": "甘A12345", "owner_person_id": view["members"][0]["id"],
                         "brand": "大众朗逸", "colour": "白", "parking": "地下车库B2-117"})
    r.create("org_unit", {"grid_id": community.grid1["id"], "address_id": view["address"]["id"],
                          "name": "幸福家园便民小卖部", "kind": "个体工商户", "legal_person": "马小花",
                          "contact_phone": "13600004444", "employees": 2})
    visits = Visits(store, admin)
    visits.record({"household_id": hh["id"], "visited_on": "2026-03-02", "method": "入户", "duration_min": 30,
                   "situation": LONG_SITUATION, "actions": "已联系民政专干,材料齐全后上报。",
                   "satisfaction": "满意"},
                  needs=[{"category": "救助", "content": "申请临时救助(米面油)"}])
    visits.record({"household_id": hh["id"], "visited_on": "2026-01-15", "method": "电话",
                   "situation": "电话回访,家中情况稳定。"})
    events = Events(store, admin)
    open_ev = events.report({"grid_id": community.grid1["id"], "household_id": hh["id"],
                             "title": "楼道照明损坏待维修", "category": "设施维修"})
    closed = events.report({"grid_id": community.grid1["id"], "household_id": hh["id"],
                            "title": "已办结的噪音投诉", "category": "矛盾纠纷"})
    for step, kw in (("accepted", {}), ("handling", {}), ("verified", {}), ("closed", {"result_type": "1"})):
        events.advance(closed["id"], step, **kw)
    view = h.view(hh["id"])
    return {"view": view, "household_id": hh["id"], "open_event": open_ev, "closed_event": closed}


@pytest.fixture(scope="session")
def street(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated demo street (300 households, 2 grids), created once; tests print from copies."""
    from desktop.services.demo import generate

    path = tmp_path_factory.mktemp("street") / "street.db"
    store = Store.open(path, create=True)
    try:
        generate(store, households=300, seed=5)
    finally:
        store.close()
    return path


@pytest.fixture
def street_store(street: Path, tmp_path: Path):
    path = tmp_path / "street.db"
    shutil.copy(street, path)
    s = Store.open(path)
    yield s
    s.close()


GRID1 = "62010400100101"
GRID2 = "62010400100102"
