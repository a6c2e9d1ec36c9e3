"""Qt item models over plain data from the services."""

from ui.models.record_table import RecordTableModel

__all__ = ["RecordTableModel"]
