"""The fail-closed tenant scope (django-scopes under Django 5.2, finding F12)."""
import pytest
from django_scopes.exceptions import ScopeError

from accounts.scoping import account_scope, cross_account
from surveys.models import Survey
from tests.factories import SurveyFactory


def test_a_tenant_query_outside_a_scope_raises(acme):
    SurveyFactory(account=acme)
    with pytest.raises(ScopeError):
        list(Survey.objects.all())


def test_a_scope_sees_only_its_own_account(acme, globex):
    mine = SurveyFactory(account=acme)
    SurveyFactory(account=globex)
    with account_scope(acme):
        assert list(Survey.objects.values_list("pk", flat=True)) == [mine.pk]


def test_account_scope_refuses_none():
    with pytest.raises(ScopeError), account_scope(None):
        pass


def test_cross_account_code_sees_everything_when_it_says_so(acme, globex):
    SurveyFactory(account=acme)
    SurveyFactory(account=globex)
    with cross_account():
        assert Survey.objects.count() == 2
