"""The `gridledger` command, assembled from registrations.

Each part of the product registers its own sub-commands through the entry-point group
``gridledger.commands`` (pyproject.toml): the core (desktop.cli.commands, .printing, .exchange,
.sync), the desktop app (ui.cli: `gui`, and the default when no command is given) and the sync
server (server.cli: `serve`, `server`). Nothing here imports the app or the server: a desktop-only
or server-only install simply has fewer commands. Shared helpers (opening the database as a user,
passwords, errors) are public in desktop.cli.common.
"""

from desktop.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
