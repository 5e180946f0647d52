"""Encryption of secrets at rest (stream keys, platform tokens).

Keys come from STREAM_KEY_ENCRYPTION_KEYS, newest first. MultiFernet decrypts
with any of them and encrypts with the first, so rotating means: put a new
key in front, run `manage.py rotate_secrets`, then drop the old key.
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

MASK_CHAR = "\u2022"  # •


def _fernet_key(raw: str) -> bytes:
    """Accept a proper Fernet key, or derive one from any other secret string."""
    raw = raw.strip()
    try:
        if len(base64.urlsafe_b64decode(raw.encode())) == 32:
            return raw.encode()
    except (ValueError, TypeError):
        pass
    return base64.urlsafe_b64encode(hashlib.sha256(raw.encode()).digest())


@lru_cache(maxsize=4)
def _multifernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("STREAM_KEY_ENCRYPTION_KEYS is empty: secrets cannot be stored.")
    return MultiFernet([Fernet(_fernet_key(k)) for k in keys])


def fernet() -> MultiFernet:
    return _multifernet(tuple(settings.STREAM_KEY_ENCRYPTION_KEYS))


def encrypt(plaintext: str) -> str:
    return fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured("A stored secret cannot be decrypted with the configured keys.") from exc


def rotate(token: str) -> str:
    """Re-encrypt a stored secret with the newest key."""
    return fernet().rotate(token.encode()).decode()


def mask(secret: str | None, visible: int = 4) -> str:
    """`••••1234`: enough to recognise a key, never enough to use it."""
    if not secret:
        return ""
    tail = secret[-visible:] if len(secret) > visible * 2 else ""
    return MASK_CHAR * 4 + tail


def hash_token(token: str) -> str:
    """Tokens we hand out (invites) are stored as their SHA-256 only."""
    return hashlib.sha256(token.encode()).hexdigest()
