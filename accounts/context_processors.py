from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from accounts.middleware import accounts_of


def account_nav(request: HttpRequest) -> dict[str, Any]:
    """The current account, the user's role in it, and the accounts for the switcher."""
    account = getattr(request, "account", None)
    if account is None and not request.path.startswith("/app/"):
        return {}
    return {
        "current_account": account,
        "current_membership": getattr(request, "membership", None),
        "switchable_accounts": accounts_of(request.user) if hasattr(request, "user") else [],
    }
