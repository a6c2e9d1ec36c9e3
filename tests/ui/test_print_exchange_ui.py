"""The 打印 page and the Excel wizard, driven through their widgets (offscreen)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

from desktop.services.households import Households
from tests.factories import id_number, years_ago


@pytest.fixture
def family(store, admin, community):
    return Households(store, admin).register(
        grid_id=community.grid1["id"], address={"estate": "幸福小区", "building": "3", "unit": "2", "room": "501"},
        members=[community.member("陈建国", 52, phone="13912345678"), community.member("李秀英", 50, "2", relation="10")],
    )


def test_print_one_household_from_the_household_page(qtbot, ui_ctx, family, tmp_path):
    from ui.pages.printing import PrintPage

    page = PrintPage(ui_ctx)
    qtbot.addWidget(page)
    page.activate(household_ids=[family["household"]["id"]])
    assert "已选择 1 户" in page.selection_label.text()
    out = tmp_path / "archive.pdf"
    with qtbot.waitSignal(page.status, timeout=60000):
        page.start(out)
    assert out.exists() and page.last_pdf == out
    assert page.pages_box.count() >= 1  # preview rendered inside the app
    text = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True, check=True).stdout
    assert "陈建国" in text and "李秀英" in text
    cert = family["members"][0]["cert_no"]
    assert cert not in text and cert[:6] in text  # masked by default


def test_previews_live_in_a_private_folder_that_keeps_only_the_newest(qtbot, ui_ctx, family):
    import stat

    from PySide6.QtWidgets import QApplication

    from ui.pages.printing import PrintPage, preview_dir

    page = PrintPage(ui_ctx)
    qtbot.addWidget(page)
    page.activate(household_ids=[family["household"]["id"]])
    for _ in range(2):
        with qtbot.waitSignal(page.status, timeout=60000):
            page.start(None)
    folder = preview_dir()
    assert [p for p in folder.iterdir()] == [page.last_pdf]  # the older preview is gone
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    QApplication.instance().aboutToQuit.emit()  # what quitting the app does
    assert not folder.exists()


def test_print_a_ledger_and_cancel_leaves_nothing(qtbot, ui_ctx, family, tmp_path):
    from ui.pages.printing import PrintPage

    page = PrintPage(ui_ctx)
    qtbot.addWidget(page)
    page.activate(ledger="house", grid_id=family["household"]["grid_id"])
    assert page.kind_ledger.isChecked()
    out = tmp_path / "houses.pdf"
    with qtbot.waitSignal(page.status, timeout=60000):
        page.start(out)
    assert out.exists()
    text = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True, check=True).stdout
    assert "幸福小区3栋2单元501室" in text


def test_send_to_printer_paints_every_page(qtbot, ui_ctx, family, tmp_path):
    from PySide6.QtPrintSupport import QPrinter

    from ui.pages.printing import PrintPage

    page = PrintPage(ui_ctx)
    qtbot.addWidget(page)
    page.activate(household_ids=[family["household"]["id"]])
    out = tmp_path / "a.pdf"
    with qtbot.waitSignal(page.status, timeout=60000):
        page.start(out)
    printer = QPrinter(QPrinter.PrinterMode.ScreenResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printed = tmp_path / "printed.pdf"
    printer.setOutputFileName(str(printed))
    n = PrintPage.print_pdf(out, printer)
    info = subprocess.run(["pdfinfo", str(out)], capture_output=True, text=True, check=True).stdout
    pages = int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))
    assert n == pages and printed.exists() and printed.stat().st_size > 1000


def test_import_wizard_dry_run_then_valid_rows(qtbot, ui_ctx, store, admin, community, tmp_path, answers):
    from openpyxl import Workbook

    from ui.forms.exchange import ImportWizard

    wb = Workbook()
    ws = wb.active
    ws.append(["幸福社区实有人口登记表"])
    ws.merge_cells("A1:E1")
    ws.append(["名字", "身份证号", "手机号", "民族", "性别"])
    good = id_number(years_ago(40))
    bad = good[:17] + ("1" if good[17] != "1" else "2")
    ws.append(["张三", good, "13800001111", "汉", "男"])
    ws.append(["李四", bad, "13800002222", "汉族", "男"])
    ws.append([None, None, None, None, None])
    path = tmp_path / "people.xlsx"
    wb.save(path)
    wizard = ImportWizard(ui_ctx, "person")
    qtbot.addWidget(wizard)
    wizard.grid.setCurrentIndex(wizard.grid.findData(community.grid1["id"]))
    wizard.load_file(path)
    qtbot.waitUntil(lambda: wizard.sheet is not None, timeout=30000)
    assert wizard.sheet.header_row == 2
    wizard.go_next()
    mapped = {k: v for k, v in wizard.current_mapping().items() if v}
    assert set(mapped.values()) >= {"name", "cert_no", "phone", "ethnicity", "gender"}
    wizard.start_dry_run()
    qtbot.waitUntil(lambda: wizard.report is not None, timeout=60000)
    assert wizard.report.counts.get("rejected") == 1 and not wizard.report.written
    assert "校验" in wizard.rows.item(0, 2).text() or "校验" in wizard.summary.text() + "".join(
        wizard.rows.item(i, 2).text() for i in range(wizard.rows.rowCount()))
    assert wizard.start_import() is None  # rejected rows: must opt in to valid-only
    wizard.valid_only.setChecked(True)
    wizard.start_import()
    qtbot.waitUntil(lambda: wizard.written is not None, timeout=60000)
    from desktop.services.search import Search

    assert [h.title for h in Search(store, admin).search(good)][:1] == ["张三"]
    report_path = tmp_path / "report.xlsx"
    answers.save_file(report_path)
    wizard.save_report()
    assert report_path.exists()


def test_export_dialog_writes_a_workbook(qtbot, ui_ctx, family, tmp_path):
    from python_calamine import CalamineWorkbook

    from ui.forms.exchange import ExportDialog

    dlg = ExportDialog(ui_ctx, "person")
    qtbot.addWidget(dlg)
    out = tmp_path / "people.xlsx"
    dlg.start(out)
    qtbot.waitUntil(lambda: dlg.rows_written is not None, timeout=60000)
    assert dlg.rows_written == 2 and "已导出 2 行" in dlg.state.text()
    rows = CalamineWorkbook.from_path(str(out)).get_sheet_by_index(0).to_python()
    flat = " ".join(str(c) for r in rows for c in r)
    assert "陈建国" in flat and family["members"][0]["cert_no"] not in flat


def test_missing_glyph_is_asked_before_printing(qtbot, ui_ctx, store, admin, community, tmp_path, answers):
    from ui.pages.printing import PrintPage

    view = Households(store, admin).register(grid_id=community.grid1["id"], address={"estate": "丙小区", "building": "1", "room": "1"},
                                             members=[community.member("王䶮", 30)])
    answers.question(yes=False)
    page = PrintPage(ui_ctx)
    qtbot.addWidget(page)
    page.activate(household_ids=[view["household"]["id"]])
    out = tmp_path / "x.pdf"
    page.start(out)
    qtbot.waitUntil(lambda: page.job is None, timeout=60000)
    from desktop.printing import check_glyphs

    missing = check_glyphs(store, admin, [view["household"]["id"]])
    assert missing, "the test needs a font without 䶮 (wqy-microhei, as installed by make test)"
    assert "䶮" in answers.texts("question")[0] and not out.exists()  # asked before printing; "No" writes nothing
    _ = Path


def test_print_font_setting(qtbot, ui_ctx, answers):
    from ui.pages.printing import PrintPage
    from ui.pages.settings import SettingsPage

    answers.warning()
    page = SettingsPage(ui_ctx)
    qtbot.addWidget(page)
    page.set_font("/etc/hostname")  # not a font: refused, setting unchanged
    assert answers.titles("warning") == ["不能使用该字体"] and ui_ctx.settings.value("print/font", "", type=str) == ""
    from desktop.printing import font_info

    real = font_info()["path"]
    page.set_font(real)
    assert ui_ctx.settings.value("print/font", "", type=str) == real
    printing = PrintPage(ui_ctx)
    qtbot.addWidget(printing)
    assert printing.options().font_path == real


def test_the_wizard_reads_files_off_the_gui_thread_and_refuses_a_crafted_one(qtbot, ui_ctx, tmp_path, monkeypatch):
    import threading

    import ui.forms.exchange as wizard_module
    from tests.exchange.crafted import crafted_xlsx
    from ui.forms.exchange import ImportWizard

    threads = []
    real = wizard_module.read_sheet

    def spy(*args, **kw):
        threads.append(threading.current_thread())
        return real(*args, **kw)

    monkeypatch.setattr(wizard_module, "read_sheet", spy)
    wizard = ImportWizard(ui_ctx, "person")
    qtbot.addWidget(wizard)
    # two cells far apart: calamine alone would abort the whole app
    wizard.load_file(crafted_xlsx(tmp_path / "far.xlsx", [("A1", "姓名"), ("XFD1048576", "x")]))
    qtbot.waitUntil(lambda: wizard.message.text() != "", timeout=30000)
    assert "far.xlsx" in wizard.message.text() and "超过导入上限" in wizard.message.text()
    assert wizard.sheet is None and wizard.choose.isEnabled()
    assert threads and threads[0] is not threading.main_thread()
    wizard.load_file(crafted_xlsx(tmp_path / "ok.xlsx"))
    qtbot.waitUntil(lambda: wizard.sheet is not None, timeout=30000)
    assert wizard.sheet.rows == [["张三"]] and threads[1] is not threading.main_thread()


def test_the_export_dialog_leaves_no_file_when_the_audit_fails(qtbot, ui_ctx, store, family, tmp_path):
    from sqlalchemy import text

    from ui.forms.exchange import ExportDialog

    with store.transaction() as s:  # the way a read-only or locked database refuses the audit entry
        s.execute(text("CREATE TRIGGER no_audit BEFORE INSERT ON audit_log "
                       "BEGIN SELECT RAISE(ABORT, 'attempt to write a readonly database'); END"))
    dlg = ExportDialog(ui_ctx, "person")
    qtbot.addWidget(dlg)
    out = tmp_path / "people.xlsx"
    dlg.start(out)
    qtbot.waitUntil(lambda: dlg.job is None, timeout=60000)
    assert "未导出" in dlg.state.text() and "审计" in dlg.state.text()
    assert list(tmp_path.glob("*.xlsx")) == [] and list(tmp_path.glob(".~*")) == []


def test_the_wizard_refuses_a_csv_in_two_encodings(qtbot, ui_ctx, tmp_path):
    from ui.forms.exchange import ImportWizard

    path = tmp_path / "混合.csv"
    path.write_bytes("姓名,户号\n张三,H1\n".encode("gbk") + "李四,H2\n".encode())
    wizard = ImportWizard(ui_ctx, "person")
    qtbot.addWidget(wizard)
    wizard.load_file(path)
    qtbot.waitUntil(lambda: wizard.message.text() != "", timeout=30000)
    assert "编码前后不一致" in wizard.message.text() and "混合.csv" in wizard.message.text()
    assert wizard.sheet is None


def test_import_wizard_lists_changes_and_updates_only_when_confirmed(qtbot, ui_ctx, store, admin, community, tmp_path):
    """The app's masked people ledger, corrected in another program: the wizard says once that it
    is masked, lists the registered people with what would change (masked), and updates them only
    after the user ticks the confirmation."""
    from openpyxl import load_workbook
    from sqlalchemy import select

    from desktop.exchange.export import export
    from desktop.models import Person
    from ui.forms.exchange import ImportWizard

    cert = id_number(years_ago(50))
    Households(store, admin).register(grid_id=community.grid1["id"], household={"hh_no": "W001"},
                                      members=[{"name": "周敏", "cert_no": cert, "phone": "13900008765"}],
                                      address={"estate": "幸福小区", "building": "7", "unit": "1", "room": "101"})
    path = tmp_path / "人口台账.xlsx"
    export(store, admin, "person", path)
    wb = load_workbook(path)
    ws = wb.active
    headers = {c.value: c.column for c in ws[2]}
    ws.cell(3, headers["联系电话"]).value = "17000002598"
    wb.save(path)
    wizard = ImportWizard(ui_ctx, "person")
    qtbot.addWidget(wizard)
    assert wizard.on_existing.currentData() == "ask"  # the safe default
    wizard.load_file(path)
    qtbot.waitUntil(lambda: wizard.sheet is not None, timeout=30000)
    wizard.go_next()
    wizard.start_dry_run()
    qtbot.waitUntil(lambda: wizard.report is not None, timeout=60000)
    assert wizard.summary.text().startswith("这是脱敏导出的台账")
    assert "需确认 1" in wizard.summary.text()
    assert "联系电话: 139****8765 → 170****2598" in wizard.rows.item(0, 2).text()
    assert not wizard.confirm_all.isHidden() and not wizard.confirm_all.isChecked()
    wizard.confirm_all.setChecked(True)
    wizard.start_import()
    qtbot.waitUntil(lambda: wizard.written is not None, timeout=60000)
    assert wizard.written.counts["updated"] == 1
    with store.session() as s:
        p = s.scalars(select(Person).where(Person.cert_no == cert)).one()
        assert p.phone == "17000002598"


def test_the_proposed_file_name_says_what_is_in_it(qtbot, ui_ctx, family, answers, tmp_path):
    from ui.pages.printing import PrintPage

    page = PrintPage(ui_ctx)
    qtbot.addWidget(page)
    page.activate(household_ids=[family["household"]["id"]])
    hh_no = family["household"]["hh_no"]
    assert page.proposed_name() == f"户档案_{hh_no}.pdf"
    page.scope.setCurrentIndex(page.scope.findData("grid"))
    assert page.proposed_name() == f"户档案_{page.grid.currentText().split()[-1]}.pdf"
    page.scope.setCurrentIndex(page.scope.findData("building"))
    page.estate.setText("幸福小区")
    page.building.setText("3")
    assert page.proposed_name() == "户档案_幸福小区3栋.pdf"
    answers.save_file(None)  # the dialog offers it; cancelled here
    page.save_as()
    assert answers.asked[-1].text.endswith("户档案_幸福小区3栋.pdf")


def test_the_print_page_keeps_its_layout_when_the_scope_changes(qtbot, ui_ctx, family):
    from ui.pages.printing import PrintPage

    page = PrintPage(ui_ctx)
    qtbot.addWidget(page)
    page.resize(1000, 700)
    page.show()
    page.activate(household_ids=[family["household"]["id"]])
    places = []
    for scope in ("selection", "grid", "building", "selection"):
        page.scope.setCurrentIndex(page.scope.findData(scope))
        QApplication.processEvents()
        places.append([w.mapTo(page, w.rect().topLeft()).y() for w in (page.unmask, page.split, page.scope)])
    assert all(p == places[0] for p in places), places
