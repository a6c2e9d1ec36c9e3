"""Services: the operations the GUI, the CLI and the sync use (records, users, sessions, lists,
search, backups). Empty on purpose: import the module you need, e.g. ``desktop.services.users``."""
