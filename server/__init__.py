"""GridLedger sync server (FastAPI) over the core models."""
