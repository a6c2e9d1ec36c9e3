"""The registry of record kinds (desktop/kinds.py): each kind the same on every surface, one
spelling everywhere, and a throwaway kind that appears in lists, search, import, export and a form from
one registry entry plus its model."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from desktop import kinds
from desktop.cli import build_parser
from desktop.db.ddl import DOC_SELECT
from desktop.exchange.export import spec_for
from desktop.exchange.fields import field_choices
from desktop.models import SYNCED_MODELS
from desktop.services.lists import Lists
from desktop.services.search import Hit
from desktop.validation import code_table
from tests.source import source_lines

ROOT = Path(__file__).resolve().parents[2]


def test_every_synced_table_is_one_registered_kind():
    tables = {m.__tablename__ for m in SYNCED_MODELS}  # type: ignore[attr-defined]
    assert tables == set(kinds.keys())
    for kind in kinds.all_kinds():
        assert kind.model.__tablename__ == kind.key  # type: ignore[attr-defined]


@pytest.mark.parametrize("kind", list(kinds.all_kinds()), ids=lambda k: k.key)
def test_entry_names_real_columns_and_code_tables(kind):
    columns = set(kind.model.__table__.c.keys())  # type: ignore[attr-defined]
    assert set(kind.fields) <= columns, set(kind.fields) - columns
    for column, table in kind.code_fields.items():
        assert column in kind.fields and len(code_table(table)) > 0
    assert set(kind.live_checks) <= set(kind.fields)
    assert set(kind.derived) <= columns and set(kind.natural_key) <= columns
    assert kind.label and not re.search(r"[A-Za-z]", kind.label)


def test_keys_are_singular_and_aliases_lead_to_real_keys():
    for key in [*kinds.keys(), *kinds.LEDGERS]:
        assert not key.endswith("s") or key == "address", key
    for old, new in kinds.ALIASES.items():
        assert new in kinds.keys() or new in kinds.LEDGERS  # noqa: SIM118 - kinds is a module
        assert kinds.canonical(old) == new and new in kinds.alias_note(old)


@pytest.mark.parametrize("kind", kinds.listed(), ids=lambda k: k.key)
def test_a_listed_kind_has_a_list_with_its_title(kind, store):
    cols = Lists.columns(kind.key)
    assert cols and cols[-1].key == "grid"
    assert kind.title and kind.list_hint and kind.new_label
    assert Lists(store, _admin()).count(kind.key) == 0


@pytest.mark.parametrize("kind", kinds.searchable(), ids=lambda k: k.key)
def test_a_searchable_kind_is_indexed_or_scanned_and_tagged(kind):
    assert kind.key in DOC_SELECT or kind.search_columns
    assert Hit(kind.key, "x", "t", "", 1, None).to_dict()["kind_label"] == kind.search_label


@pytest.mark.parametrize("kind", kinds.importable(), ids=lambda k: k.key)
def test_an_importable_kind_has_fields_a_template_and_a_cli_choice(kind, tmp_path):
    from desktop.exchange.templates import write_template

    assert field_choices(kind.key)
    path = write_template(kind.key, tmp_path / f"{kind.key}.xlsx")
    from python_calamine import CalamineWorkbook

    assert CalamineWorkbook.from_path(str(path)).sheet_names[0] == f"{kind.label}信息"
    args = build_parser().parse_args(["import", "x.xlsx", "--kind", kind.key])
    assert args.kind == kind.key


def test_ledgers_of_kinds_are_exported_and_printed_under_one_key():
    for kind in kinds.all_kinds():
        if kind.export_ledger:
            assert kinds.ledger(kind.export_ledger).exportable
        if kind.print_ledger:
            assert kinds.ledger(kind.print_ledger).printable
    for ledger in kinds.ledgers(exportable=True):
        assert spec_for(ledger.key).cols
        assert build_parser().parse_args(["export", ledger.key, "--out", "x.xlsx"]).kind == ledger.key
    for ledger in kinds.ledgers(printable=True):
        assert build_parser().parse_args(["print", "ledger", ledger.key]).kind == ledger.key


def test_old_spellings_work_on_the_command_line_with_a_note(capsys):
    args = build_parser().parse_args(["print", "ledger", "visits"])
    assert args.kind == "visit"
    assert "“visits”是旧的写法,已按“visit”处理" in capsys.readouterr().err
    assert build_parser().parse_args(["export", "key_persons", "--out", "x.xlsx"]).kind == "key_person"
    with pytest.raises(SystemExit):
        build_parser().parse_args(["export", "nonsense", "--out", "x.xlsx"])
    assert "可选:person(人员台账)" in capsys.readouterr().err


def test_no_kind_label_table_outside_the_registry():
    """grep: a mapping from a kind key to one of its labels is written only in desktop/kinds.py."""
    pairs = set()
    for kind in kinds.all_kinds():
        for text in {kind.label, kind.title, kind.search_label} - {None}:
            pairs.add((kind.key, text))
    for ledger in kinds.LEDGERS.values():
        pairs.add((ledger.key, ledger.title))
    pattern = re.compile(
        "|".join(rf"""["']{re.escape(k)}["']\s*:\s*["']{re.escape(v)}["']""" for k, v in pairs))
    offenders = [f"{rel}:{no}: {line.strip()}" for rel, no, line in source_lines(skip=("desktop/kinds.py",))
                 if pattern.search(line)]
    assert offenders == []


def _admin():
    from desktop.policy import Role
    from desktop.services.store import Actor

    return Actor("admin", Role.COMMUNITY_ADMIN)


@pytest.fixture
def store(tmp_path):
    from desktop.services.store import Store

    s = Store.open(tmp_path / "k.db", create=True)
    yield s
    s.close()


# --- a throwaway kind, in its own process (its model must not join this process's metadata) ------

THROWAWAY = r'''
import json, sys
from pathlib import Path

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from desktop import kinds
from desktop.models import Base, Synced
from desktop.models.domain import fk
from desktop.validation import check_phone


class Volunteer(Synced, Base):  # the throwaway kind's model
    __tablename__ = "tmp_volunteer"
    grid_id: Mapped[str] = fk("area.id", nullable=False)
    name: Mapped[str] = mapped_column(String(64))
    skill: Mapped[str | None] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(32))


# the one registry entry (plus its ledger)
kinds.register(kinds.Kind(
    "tmp_volunteer", Volunteer, "志愿者",
    {"grid_id": "所属网格", "name": "姓名", "skill": "特长", "phone": "联系电话"},
    live_checks={"phone": check_phone}, listed=True, list_title="志愿者名册", list_hint="姓名或特长",
    new_label="登记志愿者…", searchable=True, search_label="志愿者", search_columns=("name", "skill"),
    importable=True, natural_key=("name",), export_ledger="tmp_volunteer",
))
kinds.register_ledger(kinds.Ledger("tmp_volunteer", "志愿者台账", "tmp_volunteer", exportable=True))

from python_calamine import CalamineWorkbook

from desktop.cli import build_parser
from desktop.exchange import dry_run, export, read_sheet, run_import, suggest_mapping, write_template
from desktop.policy import Role
from desktop.services.demo import generate
from desktop.services.lists import Lists
from desktop.services.records import Records
from desktop.services.search import Search
from desktop.services.store import Actor, Store

tmp = Path(sys.argv[1])
store = Store.open(tmp / "t.db", create=True)
generate(store, households=4, seed=2)
Base.metadata.create_all(store.engine, tables=[Volunteer.__table__])  # its migration, in a test
admin = Actor("admin", Role.COMMUNITY_ADMIN)
grid = store.engine.connect().exec_driver_sql(
    "SELECT id, code FROM area WHERE level = 'grid' ORDER BY code LIMIT 1").one()
out = {}

Records(store, admin).create("tmp_volunteer", {"grid_id": grid[0], "name": "甄志远", "skill": "理发"})
lists = Lists(store, admin)
out["list_columns"] = [c.title for c in lists.columns("tmp_volunteer")]
out["list_rows"] = lists.page("tmp_volunteer", {"text": "理发"})
out["search"] = [h.to_dict() for h in Search(store, admin).search("志远")]

template = write_template("tmp_volunteer", tmp / "template.xlsx")
out["template_sheets"] = CalamineWorkbook.from_path(str(template)).sheet_names
(tmp / "in.csv").write_text("网格代码,姓名,特长,联系电话\n" + f"{grid[1]},贾乐助,修电器,13912345678\n"
                            + f"{grid[1]},甄志远,理发 修鞋,\n" + f"{grid[1]},,缺姓名,\n", encoding="utf-8")
sheet = read_sheet(tmp / "in.csv", kind="tmp_volunteer")
mapping = suggest_mapping("tmp_volunteer", sheet.headers)
out["mapping"] = {sheet.headers[i]: k for i, k in mapping.items()}
from desktop.exchange import ImportOptions
out["dry_run_default"] = dry_run(store, admin, "tmp_volunteer", sheet, mapping).counts
out["dry_run"] = dry_run(store, admin, "tmp_volunteer", sheet, mapping, ImportOptions(on_existing="update")).counts
rep = run_import(store, admin, "tmp_volunteer", sheet, mapping, ImportOptions(valid_only=True, on_existing="update"))
out["import"] = {"counts": rep.counts, "summary": rep.summary(), "rejected": [r.messages for r in rep.rows_with("rejected")]}
out["count_after_import"] = lists.count("tmp_volunteer")

n = export(store, admin, "tmp_volunteer", tmp / "out.xlsx")
book = CalamineWorkbook.from_path(str(tmp / "out.xlsx"))
out["export"] = {"rows": n, "sheets": book.sheet_names,
                 "data": book.get_sheet_by_index(0).to_python()}
# the form: the entry's typed fields under their labels, live checks, saved through the service
import os
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from PySide6.QtWidgets import QApplication

from ui.context import AppContext
from ui.forms.opener import record_dialog

app = QApplication([])
dialog = record_dialog(AppContext(store, admin), "tmp_volunteer")
out["form_title"] = dialog.windowTitle()
out["form_fields"] = list(dialog.form.widgets)
dialog.form.set_values({"grid_id": grid[0], "name": "乐助人", "skill": "陪诊", "phone": "12345"},
                       as_initial=False)
dialog._live_check()
out["form_live_error"] = dialog.form.errors["phone"].text()
dialog.form.set_values({"phone": "13912345670"}, as_initial=False)
out["form_saved"] = dialog.save()
out["count_after_form"] = lists.count("tmp_volunteer")
out["cli_import_choice"] = build_parser().parse_args(["import", "x.csv", "--kind", "tmp_volunteer"]).kind
print(json.dumps(out, ensure_ascii=False, default=str))
'''


def test_a_throwaway_kind_appears_in_lists_search_import_export_and_its_form(tmp_path):
    done = subprocess.run([sys.executable, "-c", THROWAWAY, str(tmp_path)], capture_output=True, text=True,
                          cwd=ROOT, timeout=240)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    # lists: its columns, labelled from the entry, and its rows filtered by text
    assert out["list_columns"] == ["姓名", "特长", "联系电话", "网格"]
    assert [r["name"] for r in out["list_rows"]] == ["甄志远"]
    # search: found by a fragment, tagged with its search label
    assert [(h["kind"], h["title"], h["kind_label"]) for h in out["search"]] == [("tmp_volunteer", "甄志远", "志愿者")]
    # import: template, header mapping, the same checks as a form, the natural key for updates
    assert out["template_sheets"][0] == "志愿者信息"
    assert out["mapping"] == {"网格代码": "grid", "姓名": "name", "特长": "skill", "联系电话": "phone"}
    # the safe default lists the registered one for confirmation (its natural key found it) and writes nothing
    assert out["dry_run_default"] == {"imported": 1, "updated": 0, "skipped": 1, "ask": 1, "rejected": 1}
    assert out["dry_run"] == {"imported": 1, "updated": 1, "skipped": 0, "ask": 0, "rejected": 1}
    assert out["import"]["counts"]["imported"] == 1 and out["import"]["counts"]["updated"] == 1
    assert "志愿者" in out["import"]["summary"]
    assert out["import"]["rejected"] == [["【姓名】姓名不能为空"]]
    assert out["count_after_import"] == 2
    # export: its ledger, with its title and labelled columns
    assert out["export"]["rows"] == 2 and out["export"]["sheets"] == ["志愿者台账"]
    data = out["export"]["data"]
    assert data[0][0].startswith("志愿者台账") and data[1] == ["网格", "网格代码", "姓名", "特长", "联系电话"]
    assert sorted(r[2] for r in data[2:]) == ["甄志远", "贾乐助"]
    assert out["cli_import_choice"] == "tmp_volunteer"
    # the form: no field list written for it, checks as typed, saved through the service
    assert out["form_title"] == "新建志愿者"
    assert out["form_fields"] == ["grid_id", "name", "skill", "phone"]
    assert out["form_live_error"] and "13912345670" not in out["form_live_error"]
    assert out["form_saved"] is True and out["count_after_form"] == 3
