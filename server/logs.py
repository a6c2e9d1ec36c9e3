"""The sync server's log: one JSON object per line on stderr (and, with `gridledger serve
--log-file`, in a rotating file), one line per request: request id, user, device, route
(the template, never the raw path or query), status and duration.

Never logged: a record's values, a password, a token (the Authorization header and the bodies are
not read here; the user is the one the token named, set by the route's dependency). Every line
passes desktop.paths.redact, which masks ID and phone numbers should an exception quote one."""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import UTC, datetime
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import Any, TextIO

from desktop.paths import LOG_BACKUPS, LOG_MAX_BYTES, redact

log = logging.getLogger("server.request")

FIELDS = ("request_id", "method", "route", "status", "ms", "user", "device", "client")
STATE = "gridledger.request"  # the ASGI scope key where the route's dependency leaves the user
_GOOD_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in FIELDS:
            value = record.__dict__.get(name)
            if value is not None:
                entry[name] = value
        if record.exc_info:
            entry["traceback"] = "".join(traceback.format_exception(*record.exc_info))
        return redact(json.dumps(entry, ensure_ascii=False, default=str))


class _Stderr(logging.StreamHandler):
    """To whatever sys.stderr is when a line is written (a test's capture, a redirected stream)."""

    gridledger_server = True  # the server's own handler

    def __init__(self, stream: TextIO | None) -> None:
        super().__init__(stream)
        self._fixed = stream

    @property
    def stream(self) -> TextIO:
        return self._fixed or sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass

    def handleError(self, record: logging.LogRecord) -> None:  # a closed stderr must not stop the server
        pass


class _Quiet(RotatingFileHandler):
    gridledger_server = True  # the server's own handler

    def handleError(self, record: logging.LogRecord) -> None:  # a full disk must not stop the server
        pass


def configure(stream: TextIO | None = None, log_file: Path | str | None = None) -> Callable[[], None]:
    """Send the log (everything from INFO) as JSON lines to `stream` (stderr) and `log_file`,
    instead of any handler the root logger had (the desktop log file). Returns the function that
    puts the previous handlers and levels back (when the server stops)."""
    root = logging.getLogger()
    saved = list(root.handlers), root.level, {n: logging.getLogger(n).level
                                             for n in ("desktop", "server", "uvicorn.access")}
    for h in list(root.handlers):
        root.removeHandler(h)
    fmt = JsonFormatter()
    out = _Stderr(stream)
    handlers: list[logging.Handler] = [out]
    if log_file is not None:
        path = Path(log_file).expanduser()
        path.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(_Quiet(path, maxBytes=LOG_MAX_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8"))
    for h in handlers:
        h.setFormatter(fmt)
        root.addHandler(h)
    root.setLevel(logging.INFO)
    for name in ("desktop", "server"):
        logging.getLogger(name).setLevel(logging.INFO)
    for name in ("uvicorn.access",):  # our own request line replaces uvicorn's (raw path and query)
        logging.getLogger(name).setLevel(logging.WARNING)

    def restore() -> None:
        for h in handlers:
            root.removeHandler(h)
            h.close()
        for h in saved[0]:
            root.addHandler(h)
        root.setLevel(saved[1])
        for n, level in saved[2].items():
            logging.getLogger(n).setLevel(level)

    return restore


def note_caller(scope: MutableMapping[str, Any], username: str, device_id: str) -> None:
    """Called by the route's dependency once the token is checked: who this request is."""
    state = scope.get(STATE)
    if isinstance(state, dict):
        state["user"] = username
        state["device"] = device_id


class RequestLog:
    """Pure ASGI middleware, outermost: a request id for every request (the client's X-Request-ID
    when it is a plain token, else a new one; sent back in the answer), one log line when it ends,
    and the traceback of anything that escaped the routes."""

    def __init__(self, app: Callable[..., Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Callable[[], Awaitable[dict]],
                       send: Callable[[dict], Awaitable[None]]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        given = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _GOOD_ID.match(given) else uuid.uuid4().hex[:16]
        state: dict[str, Any] = {"user": None, "device": None}
        scope[STATE] = state
        status = {"code": 500}
        started = time.perf_counter()

        async def sending(message: dict) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                message = {**message, "headers": [*message.get("headers", []),
                                                  (b"x-request-id", request_id.encode())]}
            await send(message)

        failed: BaseException | None = None
        try:
            await self.app(scope, receive, sending)
        except BaseException as exc:
            failed = exc
            raise
        finally:
            route = scope.get("route")
            extra = {
                "request_id": request_id, "method": scope.get("method"),
                "route": getattr(route, "path", None) or "(no route)", "status": status["code"],
                "ms": round((time.perf_counter() - started) * 1000, 1),
                "user": state["user"], "device": state["device"],
            }
            if failed is not None:
                log.error("request failed", extra=extra, exc_info=failed)
            else:
                log.info("request", extra=extra)
