import factory
from django.utils import timezone

from surveys.models import Autopilot, Invitation, Person, PersonImport, Question, Suppression, Survey, SurveyKind
from tests.factories.accounts import AccountFactory


class SurveyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Survey

    account = factory.SubFactory(AccountFactory)
    name = factory.Sequence(lambda n: f"Survey {n}")
    kind = SurveyKind.NPS
    question = "How likely are you to recommend {{company}} to a friend or colleague?"
    scale_min = 0
    scale_max = 10
    placeholder_defaults = factory.LazyAttribute(lambda o: {"company": o.account.name})


class QuestionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Question

    account = factory.SubFactory(AccountFactory)
    survey = factory.SubFactory(SurveyFactory, account=factory.SelfAttribute("..account"))
    kind = Question.Kind.SINGLE
    text = "Which channel did you use?"
    choices = factory.LazyFunction(lambda: ["Phone", "Chat", "Email"])


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Person

    account = factory.SubFactory(AccountFactory)
    email = factory.Sequence(lambda n: f"person{n}@example.com")
    name = factory.Sequence(lambda n: f"Person {n}")
    properties = factory.LazyFunction(dict)


class SuppressionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Suppression

    account = factory.SubFactory(AccountFactory)
    email = factory.Sequence(lambda n: f"suppressed{n}@example.com")
    reason = Suppression.Reason.UNSUBSCRIBED


class InvitationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Invitation

    account = factory.SubFactory(AccountFactory)
    survey = factory.SubFactory(SurveyFactory, account=factory.SelfAttribute("..account"))
    person = factory.SubFactory(PersonFactory, account=factory.SelfAttribute("..account"))
    scheduled_at = factory.LazyFunction(timezone.now)


class PersonImportFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PersonImport

    account = factory.SubFactory(AccountFactory)
    filename = "people.csv"
    file = factory.django.FileField(filename="people.csv", data=b"email,name\nann@example.com,Ann\n")
    mapping = factory.LazyFunction(lambda: {"email": "email", "name": "name"})


class AutopilotFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Autopilot

    account = factory.SubFactory(AccountFactory)
    survey = factory.SubFactory(SurveyFactory, account=factory.SelfAttribute("..account"))
    every_days = 90
