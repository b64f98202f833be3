import factory

from accounts.models import IdempotencyRecord
from integrations.delighted.models import AutopilotMembership, SurveyBinding, Trend
from tests.factories.accounts import AccountFactory, ApiKeyFactory
from tests.factories.surveys import PersonFactory, SurveyFactory


class SurveyBindingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SurveyBinding

    account = factory.SubFactory(AccountFactory)
    api_key = factory.SubFactory(ApiKeyFactory, account=factory.SelfAttribute("..account"))
    survey = factory.SubFactory(SurveyFactory, account=factory.SelfAttribute("..account"))


class AutopilotMembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AutopilotMembership

    account = factory.SubFactory(AccountFactory)
    survey = factory.SubFactory(SurveyFactory, account=factory.SelfAttribute("..account"))
    person = factory.SubFactory(PersonFactory, account=factory.SelfAttribute("..account"))
    platform = AutopilotMembership.Platform.EMAIL


class IdempotencyRecordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = IdempotencyRecord

    account = factory.SubFactory(AccountFactory)
    key = factory.Sequence(lambda n: f"idem-{n}")
    method = "POST"
    path = "/api/v1/people"
    request_hash = "0" * 64
    status_code = 201
    body = factory.LazyFunction(dict)


class TrendFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Trend

    account = factory.SubFactory(AccountFactory)
    name = factory.Sequence(lambda n: f"Trend {n}")
    filters = factory.LazyFunction(lambda: {"properties": {"plan": "pro"}})
