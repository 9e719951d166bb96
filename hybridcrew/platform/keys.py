"""API keys: ``hc_<id>_<secret>``, bound to a tenant and a role; only a digest is stored.

The secret is 32 random bytes, so a plain SHA-256 digest is as strong as a slow password hash
here and costs microseconds per request. The id lets a request find its key without a scan.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import secrets
import time
from dataclasses import dataclass, field

from hybridcrew.errors import ConfigError, HybridCrewError
from hybridcrew.graphs.ports import DEFAULT_TENANT
from hybridcrew.platform.store import ROLES, ApiKey, KeyLimits, Role, Store

_FORMAT = re.compile(r"^hc_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")
_TENANT = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_RANK = {"viewer": 0, "operator": 1, "admin": 2}


class AuthError(HybridCrewError):
    """A request's credentials are missing, malformed, unknown or revoked."""


@dataclass(frozen=True)
class Caller:
    """Who is calling: their tenant and role (and key id, when they used one)."""

    tenant: str
    role: Role
    key_id: str | None = None
    limits: KeyLimits = field(default_factory=KeyLimits)
    """The key's own rate limits on the compatible endpoints."""

    def can(self, role: Role) -> bool:
        """Roles nest: an admin may do what an operator may, an operator what a viewer may."""
        return _RANK[self.role] >= _RANK[role]


def create_key(store: Store, tenant: str, role: str, name: str = "",
               limits: KeyLimits | None = None) -> tuple[ApiKey, str]:
    """Create and store a key; returns it with its token (shown once, never stored)."""
    if not _TENANT.match(tenant):
        raise ConfigError.single("keys", "--tenant", "not a valid tenant name",
                                 "use lowercase letters, digits, '-' or '_' (at most 63)")
    if role not in ROLES:
        raise ConfigError.single("keys", "--role", "not a known role",
                                 f"use one of: {', '.join(ROLES)}")
    key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    key = ApiKey(key_id, _digest(secret), tenant, role, name, time.time(),
                 limits=limits or KeyLimits())
    store.add_key(key)
    return key, f"hc_{key_id}_{secret}"


def ensure_admin_token(store: Store, token: str) -> ApiKey:
    """Register ``token`` (``HYBRIDCREW_ADMIN_TOKEN``) as an admin key of the default tenant.

    Idempotent, so every replica may call it at start; a revoked token stays revoked.
    """
    match = _FORMAT.match(token)
    if match is None:
        raise ConfigError.single(
            "environment", "HYBRIDCREW_ADMIN_TOKEN", "not a key in the hc_<id>_<secret> format",
            "generate one: python3 -c \"import secrets; print('hc_' + secrets.token_hex(6) + '_' "
            "+ secrets.token_urlsafe(32))\"")
    key_id, digest = match.group(1), _digest(match.group(2))
    existing = store.get_key(key_id)
    if existing is not None:
        if not hmac.compare_digest(existing.digest, digest):
            raise ConfigError.single("environment", "HYBRIDCREW_ADMIN_TOKEN",
                                     f"key id {key_id} belongs to another key",
                                     "generate a new token")
        return existing
    key = ApiKey(key_id, digest, DEFAULT_TENANT, "admin", "HYBRIDCREW_ADMIN_TOKEN", time.time())
    store.add_key(key)
    return key


def authenticate(store: Store, token: str) -> Caller:
    """The caller a bearer token stands for, or :class:`AuthError` (never echoing the token)."""
    match = _FORMAT.match(token)
    if match is None:
        raise AuthError("malformed API key: expected hc_<id>_<secret> as created by "
                        "`hybridcrew keys create`")
    key = store.get_key(match.group(1))
    if key is None or not hmac.compare_digest(key.digest, _digest(match.group(2))):
        raise AuthError("unknown API key")
    if key.revoked_at is not None:
        raise AuthError(f"API key {key.id} was revoked")
    return Caller(key.tenant, key.role, key.id, key.limits)


def has_active_keys(store: Store) -> bool:
    """Whether any unrevoked key exists (then every request must present one)."""
    return any(k.revoked_at is None for k in store.list_keys())


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or address) is this machine's loopback."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
