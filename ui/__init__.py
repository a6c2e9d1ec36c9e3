"""PySide6 desktop app: widgets, Qt item models and workers only. All data goes through desktop.services."""
