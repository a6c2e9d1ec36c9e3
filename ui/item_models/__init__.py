"""Qt item models over plain data from the services."""

from ui.item_models.record_table import RecordTableModel

__all__ = ["RecordTableModel"]
