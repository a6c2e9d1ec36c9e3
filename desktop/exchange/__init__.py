"""Excel and CSV exchange: import (with a dry run first), export of the standard ledgers,
blank templates. Core only (no Qt); the GUI's import wizard and export buttons call these."""

from desktop.exchange.export import export
from desktop.exchange.fields import field_choices, suggest_mapping
from desktop.exchange.importer import dry_run, proposed_grid, run_import
from desktop.exchange.report import ImportOptions, ImportReport, RowResult
from desktop.exchange.sheet import Sheet, read_sheet
from desktop.exchange.templates import write_template

__all__ = [
    "ImportOptions",
    "ImportReport",
    "RowResult",
    "Sheet",
    "dry_run",
    "export",
    "field_choices",
    "proposed_grid",
    "read_sheet",
    "run_import",
    "suggest_mapping",
    "write_template",
]
