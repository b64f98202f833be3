"""The tenant scope: one mechanism, four doors (pages, API, respondent links, tasks).

Every tenant model uses ``ScopedManager(account="account")`` (django-scopes): outside a scope its
queries raise ``ScopeError``; inside, they see one account. Only the doors enter a scope, all
through ``account_scope()``; cross-account code (dispatcher, Django admin, migrations, demo data)
says so with ``cross_account()``.
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from django.db import models
from django_scopes import ScopedManager, scope, scopes_disabled
from django_scopes.exceptions import ScopeError
from django_scopes.state import state

if TYPE_CHECKING:
    from accounts.models import Account

__all__ = [
    "ScopeError",
    "TenantManager",
    "account_scope",
    "account_task",
    "activate_account_scope",
    "cross_account",
    "current_account_id",
]

F = TypeVar("F", bound=Callable[..., Any])


def TenantManager(_manager_class: type[models.Manager] = models.Manager) -> models.Manager:  # noqa: N802
    """The fail-closed manager every tenant model uses (``objects = TenantManager()``)."""
    return ScopedManager(account="account", _manager_class=_manager_class)


@contextmanager
def account_scope(account: Account | int) -> Iterator[None]:
    """Enter the scope of one account; refuses None so a missing account never means 'all'."""
    if account is None:
        raise ScopeError("account_scope() needs an account, got None.")
    with scope(account=account):
        yield


@contextmanager
def cross_account() -> Iterator[None]:
    """Disable the scope for code that works across accounts on purpose; always say why."""
    with scopes_disabled():
        yield


def activate_account_scope(account: Account) -> None:
    """Enter a scope for the rest of this request (DRF authentication cannot wrap the view).

    ``accounts.middleware.ScopeResetMiddleware`` restores the previous state when the request ends.
    """
    if account is None:
        raise ScopeError("activate_account_scope() needs an account, got None.")
    current = dict(state.get() or {})
    current.update({"_enabled": True, "account": account})
    state.set(current)


def current_account_id() -> int | None:
    """The id of the account whose scope is active, or None."""
    account = (state.get() or {}).get("account")
    if account is None:
        return None
    return account if isinstance(account, int) else account.pk


def account_task(func: F) -> F:
    """Run a Celery task body inside the scope of the account whose id is its first argument."""

    @functools.wraps(func)
    def wrapper(account_id: int, *args: Any, **kwargs: Any) -> Any:
        from accounts.models import Account

        account = Account.objects.filter(pk=account_id).first()
        if account is None:  # account deleted since the task was queued: nothing to do
            return None
        with account_scope(account):
            return func(account_id, *args, **kwargs)

    return wrapper  # type: ignore[return-value]
