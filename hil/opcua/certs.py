"""Self-signed certificates for the OPC-UA bridge (Basic256Sha256 SignAndEncrypt).

:func:`generate_certificates` writes into one folder::

    server_cert.der   server application instance certificate (SAN: URI + host)
    server_key.pem    its RSA-2048 key (PKCS#8, mode 0600)
    client_cert.der   client certificate for the controller link (SAN: URI + host)
    client_key.pem    its key (mode 0600)
    trusted/          more client certificates the server accepts (*.der / *.pem)

The server (:class:`~hil.opcua.server.OpcUaField` with ``cert_dir``) trusts
``client_cert.der`` and every certificate in ``trusted/``; nothing else.

Command line, for the user::

    python -m hil.opcua.certs FOLDER [--hostname HOST] [--days 365] [--force]
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

from asyncua.crypto import cert_gen
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID

__all__ = [
    "CLIENT_APP_URI",
    "SERVER_APP_URI",
    "CertificatePaths",
    "generate_certificates",
    "trusted_client_certificates",
]

SERVER_APP_URI = "urn:dongha-twin:server"
CLIENT_APP_URI = "urn:dongha-twin:client"


@dataclass(frozen=True, slots=True)
class CertificatePaths:
    """Where :func:`generate_certificates` put the files (see the module docstring)."""

    folder: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    trusted: Path

    @classmethod
    def in_folder(cls, folder: str | Path) -> CertificatePaths:
        """The standard file names inside ``folder`` (whether or not they exist)."""
        root = Path(folder)
        return cls(
            root,
            root / "server_cert.der",
            root / "server_key.pem",
            root / "client_cert.der",
            root / "client_key.pem",
            root / "trusted",
        )


def _alt_names(app_uri: str, hostname: str) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = [x509.UniformResourceIdentifier(app_uri)]
    try:
        names.append(x509.IPAddress(ipaddress.ip_address(hostname)))
    except ValueError:
        names.append(x509.DNSName(hostname))
    return names


def _write_pair(
    cert_path: Path,
    key_path: Path,
    app_uri: str,
    hostname: str,
    usage: list[x509.ObjectIdentifier],
    days: int,
) -> None:
    key = cert_gen.generate_private_key()
    cert = cert_gen.generate_self_signed_app_certificate(
        key,
        app_uri,
        {"organizationName": "Dong Ha digital twin"},
        _alt_names(app_uri, hostname),
        extended=usage,
        days=days,
    )
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(cert_gen.dump_private_key_as_pem(key))
    cert_path.write_bytes(cert.public_bytes(Encoding.DER))


def generate_certificates(
    folder: str | Path, hostname: str, *, days: int = 365, overwrite: bool = False
) -> CertificatePaths:
    """Generate a self-signed server pair and client pair into ``folder``.

    Args:
        folder: created if missing.
        hostname: the server's host name or IP address as clients dial it (goes
            into both certificates' SubjectAltName, next to the application URI).
        days: validity from now (days, > 0).
        overwrite: replace existing files; otherwise FileExistsError.
    """
    if not isinstance(hostname, str) or not hostname.strip():
        raise ValueError(
            "hostname must be the server's host name or IP address, e.g. 'gw-dongha-01'"
        )
    if not isinstance(days, int) or days <= 0:
        raise ValueError(f"days must be a positive integer, got {days!r}")
    paths = CertificatePaths.in_folder(folder)
    existing = [
        p
        for p in (paths.server_cert, paths.server_key, paths.client_cert, paths.client_key)
        if p.exists()
    ]
    if existing and not overwrite:
        raise FileExistsError(
            f"{existing[0]} exists; pass overwrite=True (--force) to replace the certificates"
        )
    paths.folder.mkdir(parents=True, exist_ok=True)
    paths.trusted.mkdir(exist_ok=True)
    server_usage = [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
    _write_pair(paths.server_cert, paths.server_key, SERVER_APP_URI, hostname, server_usage, days)
    client_usage = [ExtendedKeyUsageOID.CLIENT_AUTH]
    _write_pair(paths.client_cert, paths.client_key, CLIENT_APP_URI, hostname, client_usage, days)
    return paths


def trusted_client_certificates(folder: str | Path) -> list[bytes]:
    """DER bytes of the client certificates a server with this ``folder`` trusts."""
    paths = CertificatePaths.in_folder(folder)
    found: list[bytes] = []
    candidates = [paths.client_cert]
    if paths.trusted.is_dir():
        candidates += sorted(p for p in paths.trusted.iterdir() if p.suffix in (".der", ".pem"))
    for path in candidates:
        if not path.is_file():
            continue
        data = path.read_bytes()
        if path.suffix == ".pem":
            data = x509.load_pem_x509_certificate(data).public_bytes(Encoding.DER)
        else:
            x509.load_der_x509_certificate(data)  # fail loud on a corrupt file
        found.append(data)
    return found


def main(argv: list[str] | None = None) -> int:
    """``python -m hil.opcua.certs FOLDER [--hostname H] [--days N] [--force]``."""
    parser = argparse.ArgumentParser(
        prog="python -m hil.opcua.certs",
        description="Generate self-signed OPC-UA server and client certificates.",
    )
    parser.add_argument("folder", type=Path)
    parser.add_argument("--hostname", default=socket.gethostname(), help="server host name or IP")
    parser.add_argument("--days", type=int, default=365, help="validity in days")
    parser.add_argument("--force", action="store_true", help="overwrite existing files")
    args = parser.parse_args(argv)
    try:
        paths = generate_certificates(
            args.folder, args.hostname, days=args.days, overwrite=args.force
        )
    except (FileExistsError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for path in (paths.server_cert, paths.server_key, paths.client_cert, paths.client_key):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
