"""Draft autosave for the forms: desktop.services.drafts (the service also used by encryption)."""

from desktop.services.drafts import (
    MAGIC,
    drafts_dir,
    list_drafts,
    remove_draft,
    save_draft,
)

__all__ = ["MAGIC", "drafts_dir", "list_drafts", "remove_draft", "save_draft"]
