"""Masking rules per role, the audit trail, batches (split / one PDF, both cores) and cancel."""

from __future__ import annotations

import json
import re
import threading

import pytest
from sqlalchemy import select, text

from desktop.models import AuditEntry
from desktop.printing import (
    PrintCancelled,
    PrintOptions,
    archive_pages,
    households_for,
    print_archives,
    print_ledger,
)
from desktop.services.auth import actor_for
from desktop.services.errors import PermissionDenied
from desktop.services.store import SYSTEM, Actor
from tests.printing.conftest import GRID1, GRID2, needs_poppler, pdfpages, pdftext

pytestmark = needs_poppler
PAGE_NO = r"第\s*(\d+)\s*页\s*/\s*共\s*(\d+)\s*页"


def _prints(store):
    with store.session() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == "print").order_by(AuditEntry.seq)))


def test_grid_worker_prints_masked_only_and_only_own_grid(store, community, family, tmp_path):
    worker = Actor("wgy001", "grid_worker", frozenset({community.grid1["id"]}), None, "王网格")
    hh = family["household_id"]
    with pytest.raises(PermissionDenied, match="没有权限打印完整证件号码"):
        print_archives(store, worker, [hh], tmp_path / "a.pdf", PrintOptions(unmask=True))
    with pytest.raises(PermissionDenied):
        print_ledger(store, worker, "key_person", grid_code=GRID1, date_from=None, date_to=None,
                     out=tmp_path / "l.pdf", options=PrintOptions(unmask=True))
    assert not (tmp_path / "a.pdf").exists() and _prints(store) == []
    result = print_archives(store, worker, [hh], tmp_path / "a.pdf", PrintOptions())
    flat = re.sub(r"\s+", "", pdftext(result.files[0]))
    assert "王网格" in flat and family["view"]["members"][0]["cert_no"] not in flat
    # another grid's households and ledgers are out of reach
    with pytest.raises(PermissionDenied):
        print_ledger(store, worker, "visit", grid_code=GRID2, date_from=None, date_to=None, out=tmp_path / "x.pdf")
    with pytest.raises(PermissionDenied):
        households_for(store, worker, grid_code=GRID2)
    other = Actor("wgy002", "grid_worker", frozenset({community.grid2["id"]}))
    with pytest.raises(PermissionDenied):
        print_archives(store, other, [hh], tmp_path / "b.pdf", PrintOptions())
    entries = _prints(store)
    assert len(entries) == 1 and entries[0].actor == "wgy001"
    assert json.loads(entries[0].detail)["masked"] is True


def test_supervisor_unmasks_a_ledger_and_it_is_audited(street_store, tmp_path):
    sup = actor_for(street_store, "wgz001")
    out = tmp_path / "floating.pdf"
    result = print_ledger(street_store, sup, "floating", grid_code=GRID1, date_from=None, date_to=None, out=out,
                          options=PrintOptions(unmask=True))
    flat = re.sub(r"\s+", "", pdftext(out))
    assert re.search(r"\d{17}[\dX]", flat)  # full ID numbers
    entry = _prints(street_store)[-1]
    detail = json.loads(entry.detail)
    assert entry.actor == "wgz001" and detail["masked"] is False and detail["kind"] == "ledger:floating"
    assert detail["grids"] == [GRID1] and detail["pages"] == result.pages == pdfpages(out)
    blob = entry.detail + entry.summary
    with street_store.session() as s:
        people = s.execute(text("SELECT name, cert_no, phone FROM person WHERE person_type = '2'")).all()
    assert people and not any(v and v in blob for p in people for v in p)  # never personal values
    # masked by default: no full number anywhere
    print_ledger(street_store, sup, "floating", grid_code=GRID1, date_from=None, date_to=None, out=out)
    assert not re.search(r"\d{17}[\dX]", re.sub(r"\s+", "", pdftext(out)))


@pytest.mark.slow
def test_split_grid_with_two_processes(street_store, tmp_path):
    ids = households_for(street_store, SYSTEM, grid_code=GRID1)
    assert len(ids) > 100
    seen = []
    result = print_archives(street_store, SYSTEM, ids, tmp_path / "out", PrintOptions(split=True, processes=2),
                            progress=lambda d, t, text: seen.append((d, t)))
    files = sorted((tmp_path / "out").iterdir())
    assert len(files) == len(ids) == result.households == len(result.files)
    assert all(re.fullmatch(r"\d{12}_[\u4e00-\u9fff]{2,4}\.pdf", f.name) for f in files), files[:3]
    assert seen[-1] == (len(ids), len(ids)) and len(seen) > len(ids) // 2
    total = sum(pdfpages(f) for f in files)
    assert total == result.pages
    sample = result.files[7]
    text = pdftext(sample)
    numbers = re.findall(PAGE_NO, text)
    assert {int(y) for _, y in numbers} == {pdfpages(sample)}
    entry = _prints(street_store)[-1]
    assert json.loads(entry.detail)["files"] == len(ids)


@pytest.mark.slow
@pytest.mark.parametrize("processes", [1, 2])
def test_one_pdf_numbers_each_archive_on_its_own(street_store, tmp_path, processes):
    ids = households_for(street_store, SYSTEM, grid_code=GRID2)[:40]
    out = tmp_path / "o" / "grid.pdf"
    result = print_archives(street_store, SYSTEM, ids, out, PrintOptions(processes=processes))
    pages = pdfpages(out)
    assert result.files == [out] and result.pages == pages
    numbers = [(int(x), int(y)) for x, y in re.findall(PAGE_NO, pdftext(out))]
    assert len(numbers) == pages
    starts = [y for x, y in numbers if x == 1]
    assert len(starts) == len(ids) and sum(starts) == pages  # 共 y 页 per archive adds up to the file
    assert list(out.parent.iterdir()) == [out]  # no temporary parts left


@pytest.mark.parametrize("processes", [1, 2])
@pytest.mark.parametrize("split", [True, False])
def test_cancel_after_the_first_household_leaves_nothing(street_store, tmp_path, processes, split):
    ids = households_for(street_store, SYSTEM, grid_code=GRID1)[:60]
    done = threading.Event()

    def progress(d, t, text):
        if d >= 1:
            done.set()

    target = tmp_path / "o" / ("folder" if split else "one.pdf")
    with pytest.raises(PrintCancelled):
        print_archives(street_store, SYSTEM, ids, target, PrintOptions(split=split, processes=processes),
                       progress=progress, cancel=done)
    assert not target.exists()
    assert list((tmp_path / "o").iterdir()) == []
    assert _prints(street_store) == []  # nothing printed, nothing audited


def test_error_midway_removes_temporary_files(street_store, tmp_path, monkeypatch):
    ids = households_for(street_store, SYSTEM, grid_code=GRID1)[:5]
    real = archive_pages.flowables
    calls = []

    def failing(c, st, part):
        calls.append(c.hh_no)
        if len(calls) == 3:
            raise OSError("disk full")
        return real(c, st, part)

    monkeypatch.setattr(archive_pages, "flowables", failing)
    with pytest.raises(OSError):
        print_archives(street_store, SYSTEM, ids, tmp_path / "out", PrintOptions(split=True, processes=1))
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []
