"""Blank templates: the expected headers, one synthetic example row that the import skips."""

from __future__ import annotations

import pytest
from python_calamine import CalamineWorkbook

from desktop.exchange import (
    ImportOptions,
    dry_run,
    read_sheet,
    suggest_mapping,
    write_template,
)
from desktop.exchange.base_importer import EXAMPLE_CERT
from desktop.exchange.templates import EXAMPLE_USCC
from desktop.kinds import import_labels
from desktop.services.errors import ServiceError
from desktop.validation import check_id_number, check_uscc


@pytest.mark.parametrize("kind", list(import_labels()))
def test_template_reads_back_and_maps_completely(kind, tmp_path, store, admin, community):
    path = write_template(kind, tmp_path / f"{kind}.xlsx")
    sheet = read_sheet(path, kind=kind)
    assert sheet.header_row == 2 and len(sheet.rows) == 1
    mapping = suggest_mapping(kind, sheet.headers)
    assert all(mapping[i] for i in range(len(sheet.headers))), sheet.headers
    assert CalamineWorkbook.from_path(str(path)).sheet_names == [f"{import_labels()[kind]}信息", "填写说明"]
    if kind == "person":
        report = dry_run(store, admin, kind, sheet, mapping, ImportOptions())
        assert [r.status for r in report.rows] == ["skipped"] and "示例" in report.rows[0].messages[0]


def test_example_numbers_are_valid_and_synthetic():
    assert check_id_number(EXAMPLE_CERT).ok and check_uscc(EXAMPLE_USCC).ok


def test_unknown_template(tmp_path):
    with pytest.raises(ServiceError, match="没有“x”的导入模板"):
        write_template("x", tmp_path / "x.xlsx")
