"""What to tell the user when something fails: the one sentence for a refused use case
(ServiceError), a storage or file failure (desktop.db.failures), or None for a bug. The command
line's handler and the app's start-up both ask here, so they say the same thing."""

from __future__ import annotations

from pathlib import Path

from desktop.db.failures import describe
from desktop.paths import log_file
from desktop.services.errors import ServiceError


def user_message(exc: BaseException, path: Path | str | None = None) -> str | None:
    """The Chinese sentence for `exc` (`path`: the database in use), or None when it is a bug."""
    if isinstance(exc, ServiceError):
        return exc.message
    return describe(exc, path)


def unexpected(exc: BaseException) -> str:
    """A failure nobody foresaw (a bug): no promise about the data, where the details are."""
    return (f"操作没有完成:程序遇到了意外的问题({type(exc).__name__})。详情已写入日志文件 {log_file()},"
            "请把该文件发给技术支持。")
