"""Survey link tokens: 192 random bits, shown only in the email, stored as SHA-256 (D4)."""
from __future__ import annotations

import secrets

from accounts.models import hash_secret


def new_token() -> tuple[str, str]:
    """A fresh (raw token, hash). Only the hash is stored."""
    raw = secrets.token_urlsafe(24)
    return raw, hash_secret(raw)
