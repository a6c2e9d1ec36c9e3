"""GridLedger core: models, storage, validation and services. Never imports Qt."""

__version__ = "0.1.0"
APP_NAME = "GridLedger"
APP_TITLE = "网格台账"
