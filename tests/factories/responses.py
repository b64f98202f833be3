import factory
from django.utils import timezone

from responses.models import Answer, DailyRollup, Response
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
