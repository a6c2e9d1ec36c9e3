"""The sync server's TLS certificate as the user compares it: its SHA-256 fingerprint (of the DER
certificate), fetched without trusting any authority, so a community server with its own
certificate can be checked by eye and pinned on the first connection."""

from __future__ import annotations

import hashlib
import socket
import ssl
from urllib.parse import urlsplit


def is_protected(url: str) -> bool:
    """Whether the address uses TLS (https); http is an unencrypted connection."""
    return urlsplit((url or "").strip()).scheme.lower() == "https"


def fetch_fingerprint(url: str, timeout: float = 10.0) -> str | None:
    """The SHA-256 fingerprint (lower-case hex, no separators) of the certificate the server at
    `url` presents; None for an http address. Network failures raise OSError."""
    if not is_protected(url):
        return None
    parts = urlsplit(url.strip())
    host = parts.hostname or ""
    port = parts.port or 443
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the fingerprint is what the user checks, not an authority
    with socket.create_connection((host, port), timeout=timeout) as raw, \
            context.wrap_socket(raw, server_hostname=host) as tls:
        der = tls.getpeercert(binary_form=True)
    if not der:
        raise OSError("服务器没有出示证书")
    return hashlib.sha256(der).hexdigest()


def normalise_fingerprint(text: str) -> str:
    """A fingerprint as typed or pasted (colons, spaces, either case) as lower-case hex."""
    return "".join(ch for ch in (text or "").lower() if ch in "0123456789abcdef")


def format_fingerprint(fp: str) -> str:
    """Upper-case pairs separated by colons, in two lines' worth of groups (as browsers show it)."""
    clean = normalise_fingerprint(fp).upper()
    return ":".join(clean[i:i + 2] for i in range(0, len(clean), 2))
