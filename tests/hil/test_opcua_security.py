"""Basic256Sha256 SignAndEncrypt with users: viewers read, operators write, strangers are
refused; anonymous sessions never exist off loopback."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest
from asyncua import Client, ua
from cryptography import x509
from opcua_support import (
    FLOW,
    IRRIGATION,
    IRRIGATION_INPUTS,
    IRRIGATION_OUTPUTS,
    OPERATOR,
    VIEWER,
    VWC,
    free_port,
    running_field,
    users,
)

from controllers.io import Quality, Sample
from hil.opcua import (
    CertificatePaths,
    ClientSecurity,
    OpcUaControllerLink,
    OpcUaField,
    Security,
    generate_certificates,
)
from hil.opcua.certs import CLIENT_APP_URI, SERVER_APP_URI, main


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> CertificatePaths:
    return generate_certificates(tmp_path_factory.mktemp("pki"), socket.gethostname())


def _link(
    url: str, security: ClientSecurity | None, login: tuple[str, str] | None
) -> OpcUaControllerLink:
    user, password = login if login else (None, None)
    return OpcUaControllerLink(
        url, IRRIGATION_INPUTS, IRRIGATION_OUTPUTS, user=user, password=password, security=security
    )


def _refused(url: str, security: ClientSecurity | None, login: tuple[str, str] | None) -> str:
    link = _link(url, security, login)
    try:
        with pytest.raises(ConnectionError, match="refused") as info:
            link.connect(5.0)
    finally:
        link.close()
    return str(info.value)


async def _endpoints(url: str) -> list[ua.EndpointDescription]:
    return await Client(url).connect_and_get_server_endpoints()


def test_certificates_name_application_and_host(certs: CertificatePaths, tmp_path: Path) -> None:
    server = x509.load_der_x509_certificate(certs.server_cert.read_bytes())
    san = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert SERVER_APP_URI in san.get_values_for_type(x509.UniformResourceIdentifier)
    assert socket.gethostname() in san.get_values_for_type(x509.DNSName)
    client = x509.load_der_x509_certificate(certs.client_cert.read_bytes())
    client_san = client.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert CLIENT_APP_URI in client_san.get_values_for_type(x509.UniformResourceIdentifier)
    assert certs.server_key.stat().st_mode & 0o077 == 0
    with pytest.raises(FileExistsError, match="overwrite"):
        generate_certificates(certs.folder, "host")
    assert main([str(tmp_path / "cli"), "--hostname", "10.0.0.7"]) == 0
    ip_cert = x509.load_der_x509_certificate((tmp_path / "cli" / "server_cert.der").read_bytes())
    ip_san = ip_cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(a) for a in ip_san.get_values_for_type(x509.IPAddress)] == ["10.0.0.7"]


def test_sign_and_encrypt_with_roles(certs: CertificatePaths, tmp_path: Path) -> None:
    secure = ClientSecurity.from_cert_dir(certs.folder)
    with running_field(security=Security.SIGN_ENCRYPT, cert_dir=certs.folder) as field:
        url = field.url
        field.publish(1.0, {VWC: Sample(0.3, Quality.GOOD, 1.0)})
        endpoints = asyncio.run(_endpoints(url))
        assert {(e.SecurityPolicyUri.rsplit("#")[-1], e.SecurityMode) for e in endpoints} == {
            ("Basic256Sha256", ua.MessageSecurityMode.SignAndEncrypt)
        }
        tokens = {t.TokenType for e in endpoints for t in e.UserIdentityTokens}
        assert tokens == {ua.UserTokenType.UserName}

        viewer = _link(url, secure, VIEWER)
        operator = _link(url, secure, OPERATOR)
        try:
            viewer.connect(10.0)
            assert viewer.latest(1.0)[VWC] == Sample(0.3, Quality.GOOD, 1.0)
            with pytest.raises(PermissionError, match="may only read"):
                viewer.write({FLOW: 10.0})
            assert field.take_writes() == {}
            operator.connect(10.0)
            operator.write({FLOW: 10.0})
            assert field.take_writes() == {FLOW: 10.0}
        finally:
            viewer.close()
            operator.close()

        assert "BadIdentityTokenRejected" in _refused(url, secure, None)  # anonymous
        assert "BadUserAccessDenied" in _refused(url, secure, (OPERATOR[0], "wrong"))
        assert "No matching endpoints" in _refused(url, None, OPERATOR)  # no message security
        other = generate_certificates(tmp_path / "other", socket.gethostname())
        stranger = ClientSecurity(other.client_cert, other.client_key, certs.server_cert)
        assert "BadCertificateUntrusted" in _refused(url, stranger, OPERATOR)
        wrong_pin = ClientSecurity(certs.client_cert, certs.client_key, other.server_cert)
        assert "does not match the pinned" in _refused(url, wrong_pin, OPERATOR)
        assert field.take_writes() == {}


def test_off_loopback_requires_sign_encrypt_users_and_no_anonymous(certs: CertificatePaths) -> None:
    url = f"opc.tcp://0.0.0.0:{free_port()}/dongha"
    common = {"run_start_utc_s": 0.0, "cert_dir": certs.folder}
    with pytest.raises(ValueError, match="SignAndEncrypt"):
        OpcUaField(IRRIGATION, url, security=Security.NONE, users=users(), **common)
    with pytest.raises(ValueError, match="SignAndEncrypt"):
        OpcUaField(IRRIGATION, url, security=Security.BOTH, users=users(), **common)
    with pytest.raises(ValueError, match="loopback only"):
        OpcUaField(IRRIGATION, url, users=users(), allow_anonymous_loopback=True, **common)
    with pytest.raises(ValueError, match="needs a user"):
        OpcUaField(IRRIGATION, url, **common)
    with pytest.raises(ValueError, match="loopback only"):
        OpcUaField(
            IRRIGATION,
            "opc.tcp://gw-dongha:4840/x",
            users=users(),
            allow_anonymous_loopback=True,
            **common,
        )

    field = OpcUaField(IRRIGATION, url, users=users(), **common)
    field.start()
    try:
        assert not field.loopback
        assert f":{url.rsplit(':', 1)[1]}" in field.url and "0.0.0.0" not in field.url
        local = url.replace("0.0.0.0", "127.0.0.1")
        endpoints = asyncio.run(_endpoints(local))
        assert {e.SecurityMode for e in endpoints} == {ua.MessageSecurityMode.SignAndEncrypt}
        tokens = {t.TokenType for e in endpoints for t in e.UserIdentityTokens}
        assert ua.UserTokenType.Anonymous not in tokens
        secure = ClientSecurity.from_cert_dir(certs.folder)
        assert "BadIdentityTokenRejected" in _refused(local, secure, None)
    finally:
        field.stop()
