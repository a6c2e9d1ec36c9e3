"""The server's token-signing secret: where it may come from and what it must look like.

Only `--dev` runs with the public development secret, and only on a loopback address (nobody
else can reach a server signed with a key printed in the source). Otherwise the secret must be
at least 32 characters with about 128 bits of randomness in them (estimated from how often each
character and each step between neighbouring characters occurs; a repeated block counts as one
block), and a secret file must not be accessible to other users."""

from __future__ import annotations

import ipaddress
import math
import os
import shlex
import stat
from collections import Counter
from pathlib import Path

DEV_SECRET = "gridledger-development-secret-do-not-use"
MIN_CHARS = 32
MIN_BITS = 128
RECIPE = "(umask 077; head -c 48 /dev/urandom | base64 > /etc/gridledger.secret)"
ENV_SECRET = "GRIDLEDGER_SECRET"
OLD_ENV_DEV = "GRIDLEDGER_ENV"  # once switched the development secret on; ignored now


class ConfigError(Exception):
    """A server that must not start; str(exc) is one Chinese sentence saying what to do."""


def _shannon_bits(items: list[int] | str) -> float:
    n = len(items)
    if n == 0:
        return 0.0
    return -sum(c * math.log2(c / n) for c in Counter(items).values())


def _period(secret: str) -> int:
    """The length of the shortest block the secret repeats (its own length if none)."""
    n = len(secret)
    for p in range(1, n // 2 + 1):
        if secret[p:] == secret[:-p]:
            return p
    return n


def estimated_bits(secret: str) -> float:
    """A rough upper bound of the randomness in `secret`, in bits: the smaller of the character
    entropy and the entropy of the steps between neighbours, over one repeated block."""
    block = secret[: _period(secret)]
    steps = [ord(b) - ord(a) for a, b in zip(block, block[1:], strict=False)]
    return min(_shannon_bits(block), _shannon_bits(steps))


def is_loopback(host: str) -> bool:
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_secret(secret: str, source: str | None = None) -> None:
    """Refuse the public development secret, a short one and a low-entropy one. `source` names
    where it came from ("密钥文件 /etc/gridledger.secret "), for the message."""
    where = f"{source}中的" if source else ""
    if secret == DEV_SECRET:
        raise ConfigError(f"拒绝启动:{where}服务器密钥是公开的开发密钥,任何人都能用它伪造登录凭据。"
                          f"请生成随机密钥:{RECIPE}")
    if len(secret) < MIN_CHARS:
        raise ConfigError(f"拒绝启动:{where}服务器密钥太短({len(secret)} 个字符,至少需要 {MIN_CHARS} 个)。"
                          f"请生成随机密钥:{RECIPE}")
    bits = estimated_bits(secret)
    if bits < MIN_BITS:
        raise ConfigError(f"拒绝启动:{where}服务器密钥太弱(字符重复或有规律,估计只有约 {int(bits)} 位随机性,"
                          f"至少需要 {MIN_BITS} 位)。请生成随机密钥:{RECIPE}")


def resolve(secret: str | None, *, development: bool, host: str | None, source: str | None) -> str:
    """The secret the server signs its tokens with, or a ConfigError."""
    if development:
        if host is not None and not is_loopback(host):
            raise ConfigError(f"拒绝启动:--dev 使用公开的开发密钥,只能监听本机地址(127.0.0.1、localhost 或 ::1),"
                              f"不能监听 {host}。正式使用请去掉 --dev,并用 --secret-file 提供随机密钥。")
        return secret or os.environ.get(ENV_SECRET) or DEV_SECRET
    if not secret and os.environ.get(ENV_SECRET):
        secret, source = os.environ[ENV_SECRET], f"环境变量 {ENV_SECRET} "
    if not secret:
        note = (f"环境变量 {OLD_ENV_DEV} 已不再生效,只在本机试用时请改用 --dev。"
                if os.environ.get(OLD_ENV_DEV) else "只在本机试用时可加 --dev。")
        raise ConfigError(f"拒绝启动:未设置服务器密钥。请先生成随机密钥:{RECIPE},"
                          f"再用 --secret-file /etc/gridledger.secret 启动({note})")
    check_secret(secret, source)
    return secret


def read_secret_file(path: str | os.PathLike[str]) -> str:
    """The secret in `path`, refused when other users can read or change the file."""
    p = Path(path)
    try:
        if os.name != "nt":
            mode = stat.S_IMODE(p.stat().st_mode)
            if mode & 0o077:
                raise ConfigError(f"拒绝启动:密钥文件 {p} 其他用户也能访问(权限 {mode:04o}),"
                                  f"请执行 chmod 600 {shlex.quote(str(p))} 后再启动。")
        return p.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"拒绝启动:无法读取密钥文件 {p}:{exc.strerror},请检查路径和权限。") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"拒绝启动:密钥文件 {p} 不是文本文件,请按 {RECIPE} 重新生成。") from exc
