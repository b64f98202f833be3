from datetime import timedelta

import factory
from django.utils import timezone

from responses.models import (
    ActionClick,
    Answer,
    Case,
    CaseEvent,
    CaseRule,
    CaseSettings,
    DailyRollup,
    FollowUp,
    FollowUpRule,
    Response,
    ResponseNote,
    RoutingRule,
)
from tests.factories.accounts import AccountFactory
from tests.factories.surveys import PersonFactory, QuestionFactory, SurveyFactory


class ResponseFactory(factory.django.DjangoModelFactory):
    """A raw row (no rollup, no event): use responses.services.record_response for the real path."""

    class Meta:
        model = Response

    account = factory.SubFactory(AccountFactory)
    survey = factory.SubFactory(SurveyFactory, account=factory.SelfAttribute("..account"))
    person = factory.SubFactory(PersonFactory, account=factory.SelfAttribute("..account"))
    score = 9
    comment = "Great service"
    channel = "email"


class AnswerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Answer

    account = factory.SubFactory(AccountFactory)
    response = factory.SubFactory(ResponseFactory, account=factory.SelfAttribute("..account"))
    question = factory.SubFactory(QuestionFactory, account=factory.SelfAttribute("..account"),
                                  survey=factory.SelfAttribute("..response.survey"))
    value = "Phone"


class DailyRollupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DailyRollup

    account = factory.SubFactory(AccountFactory)
    survey = factory.SubFactory(SurveyFactory, account=factory.SelfAttribute("..account"))
    day = factory.LazyFunction(lambda: timezone.now().date())
    channel = "email"
    s9 = 1


class CaseSettingsFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CaseSettings
        django_get_or_create = ("account",)

    account = factory.SubFactory(AccountFactory)
    holdout_seed = "test-seed"


class CaseRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CaseRule

    account = factory.SubFactory(AccountFactory)
    name = "Every detractor"
    score_groups = factory.LazyFunction(lambda: ["detractor"])


class RoutingRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RoutingRule

    account = factory.SubFactory(AccountFactory)
    property_name = "store"
    property_value = "Paris"
    assignee_email = "paris@example.com"


class CaseFactory(factory.django.DjangoModelFactory):
    """A raw case row; use responses.cases.open_case_for_response for the real path."""

    class Meta:
        model = Case

    account = factory.SubFactory(AccountFactory)
    response = factory.SubFactory(ResponseFactory, account=factory.SelfAttribute("..account"), score=3)
    person = factory.SelfAttribute("response.person")
    group = "detractor"
    due_at = factory.LazyFunction(lambda: timezone.now() + timedelta(hours=1))


class ResponseNoteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ResponseNote

    account = factory.SubFactory(AccountFactory)
    response = factory.SubFactory(ResponseFactory, account=factory.SelfAttribute("..account"))
    body = "Called, left a message"


class CaseEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CaseEvent

    account = factory.SubFactory(AccountFactory)
    case = factory.SubFactory(CaseFactory, account=factory.SelfAttribute("..account"))
    kind = "opened"


class ActionClickFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ActionClick

    account = factory.SubFactory(AccountFactory)
    survey = factory.SubFactory(SurveyFactory, account=factory.SelfAttribute("..account"))
    response = factory.SubFactory(ResponseFactory, account=factory.SelfAttribute("..account"),
                                  survey=factory.SelfAttribute("..survey"), score=10)
    group = "promoter"
    url = "https://reviews.example/acme"


class FollowUpRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FollowUpRule

    account = factory.SubFactory(AccountFactory)
    group = "promoter"
    subject = "Thanks, {{name}}!"
    body = "Would you tell others?"


class FollowUpFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FollowUp

    account = factory.SubFactory(AccountFactory)
    response = factory.SubFactory(ResponseFactory, account=factory.SelfAttribute("..account"), score=10)
    person = factory.SelfAttribute("response.person")
    group = "promoter"
    due_at = factory.LazyFunction(lambda: timezone.now() + timedelta(hours=1))
