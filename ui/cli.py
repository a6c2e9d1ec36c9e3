"""The desktop app's registration in the `gridledger` command: `gridledger gui`, which is also what
runs when no command is given (registered as `gui` in the gridledger.commands entry points)."""

from __future__ import annotations

import argparse
from typing import Any

from desktop.cli.common import CliError


def cmd_gui(args: argparse.Namespace) -> int:
    try:
        from ui.app import main as gui_main
    except ImportError as exc:
        raise CliError(f"无法启动桌面界面:缺少组件({exc.name})。请运行 make run 安装。") from exc
    return int(gui_main(args) or 0)


def register(sub: Any, root: argparse.ArgumentParser | None = None) -> None:
    g = sub.add_parser("gui", help="打开桌面程序(默认)")
    g.add_argument("--user", help="直接以该用户登录(密码从标准输入读取,需配合 --password-stdin)")
    g.add_argument("--password-stdin", action="store_true", help="从标准输入读取密码")
    g.add_argument("--quit-after", type=int, metavar="MS", help="启动后若干毫秒自动退出(冒烟测试用)")
    g.set_defaults(func=cmd_gui)
    if root is not None:  # `gridledger` alone opens the app
        root.set_defaults(func=cmd_gui)
