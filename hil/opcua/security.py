"""Who may talk to the field server, over which channel, and who may write.

Rules (issue 7):

- Off loopback the server offers only Basic256Sha256 SignAndEncrypt, and
  every session needs a user name and password (:class:`OpcUaUser`).
- Roles: ``operator`` reads and writes (actuators, the lock-step ack),
  ``viewer`` only reads (browse, read, subscribe).
- Anonymous sessions exist only when the endpoint host is loopback AND the
  server was built with ``allow_anonymous_loopback=True``; they only read:
  a write is answered ``BadUserAccessDenied``.
- A client certificate on a secure channel must be one the server trusts
  (pinned DER copies: the generated client certificate and any
  ``trusted/*.der|*.pem`` in the certificate folder, see :mod:`hil.opcua.certs`).

Passwords are kept as salted PBKDF2-SHA256 hashes (:func:`hash_password`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import logging
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any
from urllib.parse import urlparse

from asyncua import ua
from asyncua.common.utils import ServiceError
from asyncua.crypto.permission_rules import USER_TYPES, SimpleRoleRuleset, User, UserRole
from asyncua.server.user_managers import UserManager
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from hil.opcua._ua import node_id

__all__ = [
    "OpcUaUser",
    "Role",
    "Security",
    "TwinUser",
    "check_exposure",
    "hash_password",
    "is_loopback_url",
    "verify_password",
]

log = logging.getLogger(__name__)

_PBKDF2_ITERATIONS = 60_000
_WRITE_REQUESTS = frozenset(
    node_id(i, 0)
    for i in (
        ua.ObjectIds.WriteRequest_Encoding_DefaultBinary,
        ua.ObjectIds.CallRequest_Encoding_DefaultBinary,
    )
)
_READ_REQUESTS = frozenset(node_id(i, 0) for i in USER_TYPES) - _WRITE_REQUESTS


class Security(Enum):
    """Which endpoints the field server offers.

    ``SIGN_ENCRYPT``: Basic256Sha256 SignAndEncrypt only (needs certificates);
    the only choice off loopback. ``NONE``: no message security (loopback
    only; passwords travel in clear on the loopback interface). ``BOTH``: both
    endpoints (loopback only), e.g. for asyncua's command-line tools.
    """

    NONE = "none"
    SIGN_ENCRYPT = "sign_encrypt"
    BOTH = "both"

    def policies(self) -> list[ua.SecurityPolicyType]:
        """The asyncua endpoint policies of this choice."""
        none = [ua.SecurityPolicyType.NoSecurity]
        secure = [ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt]
        return {Security.NONE: none, Security.SIGN_ENCRYPT: secure, Security.BOTH: secure + none}[
            self
        ]

    @property
    def needs_certificates(self) -> bool:
        """True when a server certificate and key are needed."""
        return self is not Security.NONE


class Role(Enum):
    """What a user may do: ``operator`` reads and writes, ``viewer`` only reads."""

    OPERATOR = "operator"
    VIEWER = "viewer"


def hash_password(password: str, *, iterations: int = _PBKDF2_ITERATIONS) -> str:
    """A salted PBKDF2-SHA256 hash: ``pbkdf2_sha256$<iterations>$<salt>$<hash>`` (base64)."""
    if not isinstance(password, str) or not password:
        raise ValueError("a password must be a non-empty string")
    salt = secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    b64 = base64.b64encode
    return f"pbkdf2_sha256${iterations}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, encoded: str) -> bool:
    """True when ``password`` matches a :func:`hash_password` hash (constant-time compare)."""
    try:
        scheme, iterations, salt, digest = encoded.split("$")
        if scheme != "pbkdf2_sha256":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.pbkdf2_hmac(
            "sha256", password.encode("utf-8"), base64.b64decode(salt), int(iterations)
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(expected, actual)


@dataclass(frozen=True, slots=True)
class OpcUaUser:
    """A user of the field server.

    Attributes:
        name: login name (non-empty).
        role: :class:`Role` (operator: read + write, viewer: read only).
        password_hash: from :func:`hash_password` (never the clear password).
    """

    name: str
    role: Role
    password_hash: str

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError(f"user name must be non-empty text, got {self.name!r}")
        if not isinstance(self.role, Role):
            raise ValueError(f"user {self.name!r}: role must be a Role, got {self.role!r}")
        if not self.password_hash.startswith("pbkdf2_sha256$"):
            raise ValueError(
                f"user {self.name!r}: password_hash must come from hash_password(); "
                "use OpcUaUser.with_password(name, password, role)"
            )

    @classmethod
    def with_password(cls, name: str, password: str, role: Role | str) -> OpcUaUser:
        """A user whose clear ``password`` is hashed here (role may be given as text)."""
        return cls(name, Role(role), hash_password(password))


@dataclass
class TwinUser(User):
    """An asyncua session user, with this bridge's write permission."""

    can_write: bool = False


def is_loopback_url(url: str) -> bool:
    """True when the host of ``url`` is ``localhost`` or a loopback address (127/8, ::1)."""
    host = urlparse(url).hostname or ""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a DNS name other than localhost: assume it is reachable from outside


def check_exposure(
    url: str, security: Security, users: Sequence[OpcUaUser], allow_anonymous: bool
) -> bool:
    """Apply the exposure rules to a server configuration; True when ``url`` is loopback.

    ValueError (with the fix) when: off loopback and not SignAndEncrypt only,
    anonymous sessions off loopback, no users off loopback, or nobody at all
    could log in.
    """
    loopback = is_loopback_url(url)
    if not loopback:
        if security is not Security.SIGN_ENCRYPT:
            raise ValueError(
                f"{url}: off loopback the server must use Basic256Sha256 SignAndEncrypt only; "
                "pass security=Security.SIGN_ENCRYPT and cert_dir=..."
            )
        if allow_anonymous:
            raise ValueError(
                f"{url}: anonymous sessions are allowed on loopback only (127.0.0.1, ::1, "
                "localhost); drop allow_anonymous_loopback or bind to loopback"
            )
        if not users:
            raise ValueError(
                f"{url}: off loopback every session needs a user; pass users=[OpcUaUser."
                "with_password('op', '...', 'operator'), ...]"
            )
    if not users and not allow_anonymous:
        raise ValueError(
            "nobody could log in: pass users=[...] (and/or allow_anonymous_loopback=True "
            "on a loopback URL)"
        )
    return loopback


class TwinUserManager(UserManager):
    """Username/password users with roles, plus read-only anonymous when allowed."""

    def __init__(self, users: Iterable[OpcUaUser], allow_anonymous: bool) -> None:
        self._users: dict[str, OpcUaUser] = {}
        for user in users:
            if not isinstance(user, OpcUaUser):
                raise TypeError(
                    f"users must be OpcUaUser objects, got {type(user).__name__}; "
                    "use OpcUaUser.with_password(name, password, 'operator')"
                )
            if user.name in self._users:
                raise ValueError(f"user {user.name!r} is given twice")
            self._users[user.name] = user
        self.allow_anonymous = allow_anonymous

    def get_user(
        self,
        iserver: Any,
        username: str | None = None,
        password: str | None = None,
        certificate: Any = None,
    ) -> User | None:
        """The session's user, or None to refuse the session (BadUserAccessDenied)."""
        if username is None:  # X509 identity tokens are not offered, so this is anonymous
            if self.allow_anonymous:
                return TwinUser(role=UserRole.Anonymous, name="anonymous", can_write=False)
            return None
        user = self._users.get(username or "")
        if user is None or password is None or not verify_password(password, user.password_hash):
            log.warning("OPC-UA login refused for user %r", username)
            return None
        return TwinUser(role=UserRole.User, name=user.name, can_write=user.role is Role.OPERATOR)


def user_can_write(user: User | None) -> bool:
    """True for operators (and the server's own internal admin session)."""
    if user is None:
        return False
    if isinstance(user, TwinUser):
        return user.can_write
    return user.role is UserRole.Admin and user.name is None  # the server's internal session


class RolePermissions(SimpleRoleRuleset):
    """Service-level rule: everyone signed in may read; only operators may write or call."""

    def check_validity(self, user: Any, action_type_id: Any, body: Any) -> bool:
        if action_type_id in _READ_REQUESTS:
            return True
        if action_type_id in _WRITE_REQUESTS:
            return isinstance(user, TwinUser) and user.can_write
        return False  # AddNodes, DeleteNodes, RegisterServer, ...: nobody over the wire


class PinnedCertificates:
    """Accept only client certificates whose DER bytes were pinned (and are in date)."""

    def __init__(self, certificates: Sequence[bytes]) -> None:
        self._pinned = frozenset(certificates)

    def __len__(self) -> int:
        return len(self._pinned)

    async def __call__(self, cert: x509.Certificate, app: ua.ApplicationDescription) -> None:
        now = datetime.now(UTC)
        if not (cert.not_valid_before_utc <= now <= cert.not_valid_after_utc):
            log.warning("refused client certificate %s: out of date", cert.subject.rfc4514_string())
            raise ServiceError(ua.StatusCodes.BadCertificateTimeInvalid)
        if cert.public_bytes(Encoding.DER) not in self._pinned:
            log.warning(
                "refused untrusted client certificate %s; copy it into <cert_dir>/trusted/ "
                "to trust it",
                cert.subject.rfc4514_string(),
            )
            raise ServiceError(ua.StatusCodes.BadCertificateUntrusted)
