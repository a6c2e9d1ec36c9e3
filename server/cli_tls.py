"""`gridledger server make-cert` and the TLS options of `gridledger serve` (--certfile, --keyfile)."""

from __future__ import annotations

import argparse
import logging
from datetime import UTC, datetime
from typing import Any

from desktop.cli.common import CliError

log = logging.getLogger("server")


def add_serve_options(s: argparse.ArgumentParser) -> None:
    s.add_argument("--certfile", help="TLS 证书文件(PEM;可用 gridledger server make-cert 生成),与 --keyfile 一起用")
    s.add_argument("--keyfile", help="TLS 私钥文件(PEM,不设密码,只允许服务器用户读取)")


def serve_tls(args: argparse.Namespace) -> dict[str, Any]:
    """uvicorn's ssl options for `serve`, after checking the pair (nothing when neither is given);
    logs the fingerprint for the users to compare (through the server's JSON log: `serve` calls
    this after server.logs.configure, so every line on stderr stays one JSON object)."""
    from server.tls import TlsError, check_pair, format_fingerprint

    if not args.certfile and not args.keyfile:
        from server.secret_key import is_loopback

        if not is_loopback(args.host):
            log.warning("警告:未加密(HTTP):在 %s 上,登录密码和居民的个人信息会以明文经过网络。"
                        "请用 --certfile/--keyfile 启用加密(可用 gridledger server make-cert 生成证书),"
                        "或只监听 127.0.0.1 并在前面放 nginx 等反向代理(见 deploy/nginx-gridledger-tls.conf)。",
                        args.host)
        return {}
    if not (args.certfile and args.keyfile):
        raise CliError("--certfile 与 --keyfile 需要一起提供(证书和它的私钥)。")
    try:
        info = check_pair(args.certfile, args.keyfile)
    except TlsError as exc:
        raise CliError(f"{exc}服务器未启动。") from exc
    log.info("加密连接(HTTPS):证书指纹 SHA-256 %s,有效期至 %s", format_fingerprint(info.fingerprint),
             f"{info.not_after:%Y-%m-%d}")
    left = (info.not_after - datetime.now(UTC)).days
    if left < 30:
        log.warning("提醒:证书还有 %s 天过期,请及早生成新证书,并把新指纹告诉各网格员(他们需要重新核对)。", left)
    return {"ssl_certfile": str(args.certfile), "ssl_keyfile": str(args.keyfile)}


def cmd_make_cert(args: argparse.Namespace) -> int:
    from server.tls import TlsError, format_fingerprint, make_cert

    try:
        cert, key, info = make_cert(args.out, list(args.host or []), args.days, force=args.force)
    except TlsError as exc:
        raise CliError(str(exc)) from exc
    print(f"证书:{cert}")
    print(f"私钥:{key}(只有本用户可读;请勿外传,也不要拷到网格员电脑上)")
    print(f"适用地址:{'、'.join(info.names)};有效期至 {info.not_after:%Y-%m-%d}")
    print(f"证书指纹(SHA-256):{format_fingerprint(info.fingerprint)}")
    print("请把这个指纹告诉各网格员(当面或电话),他们第一次同步时要逐段核对。")
    print(f"启动:gridledger serve --host 0.0.0.0 --certfile {cert} --keyfile {key} --secret-file ...")
    return 0


def register(ss: Any) -> None:
    """Adds `make-cert` to the `gridledger server` sub-commands."""
    m = ss.add_parser("make-cert", help="为没有证书机构的办公室生成自签名 TLS 证书(打印指纹供核对)")
    m.add_argument("--host", action="append", metavar="NAME_OR_IP",
                   help="服务器的 IP 或主机名,网格员用它连接;可写多次(默认:本机名、localhost、127.0.0.1)")
    m.add_argument("--days", type=int, default=1825, help="有效天数(默认 1825,约五年)")
    m.add_argument("--out", default=".", metavar="DIR", help="写到哪个文件夹(默认当前文件夹)")
    m.add_argument("--force", action="store_true", help="覆盖已有的证书和私钥")
    m.set_defaults(func=cmd_make_cert)
