"""CURVE keys for the ZeroMQ bridge (optional encryption and server authentication).

Keys are Z85 text of 40 characters, as made by :func:`zmq.curve_keypair`. The
field side holds the server secret key; every controller side needs the
server's public key (and has its own key pair, made fresh when not given). A
client with a wrong or missing server key never completes the handshake and
receives nothing.
"""

from __future__ import annotations

import zmq
import zmq.utils.z85

__all__ = ["as_key", "keypair", "public_of", "secure_client", "secure_server"]


def keypair() -> tuple[bytes, bytes]:
    """A fresh ``(public, secret)`` CURVE key pair (Z85, 40 bytes each)."""
    public, secret = zmq.curve_keypair()
    return public, secret


def as_key(key: bytes | str, what: str) -> bytes:
    """``key`` as 40 Z85 bytes, or ValueError naming ``what`` with a hint."""
    raw = key.encode("ascii", "replace") if isinstance(key, str) else key
    if not isinstance(raw, bytes) or len(raw) != 40:
        raise ValueError(
            f"{what} must be a 40-character Z85 CURVE key (make one with "
            f"hil.zmq.curve.keypair() or zmq.curve_keypair()), got {key!r:.60}"
        )
    try:
        zmq.utils.z85.decode(raw)
    except Exception as err:  # z85 raises ValueError/KeyError on bad characters
        raise ValueError(f"{what} is not valid Z85 text: {err}") from None
    return raw


def public_of(secret: bytes) -> bytes:
    """The public key (Z85) belonging to ``secret`` (Z85)."""
    return zmq.curve_public(secret)


def secure_server(sock: zmq.Socket[bytes], secret: bytes) -> None:
    """Make ``sock`` (before bind) a CURVE server with ``secret``."""
    sock.curve_secretkey = secret
    sock.curve_server = True


def secure_client(sock: zmq.Socket[bytes], server_public: bytes, keys: tuple[bytes, bytes]) -> None:
    """Make ``sock`` (before connect) a CURVE client of ``server_public`` with ``keys``."""
    public, secret = keys
    sock.curve_serverkey = server_public
    sock.curve_publickey = public
    sock.curve_secretkey = secret
