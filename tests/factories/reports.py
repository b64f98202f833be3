import datetime

import factory

from reports.models import MonthlyReport, ReportRecipient, SegmentRollup, SelfAssessment
from tests.factories.accounts import AccountFactory


class ReportRecipientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ReportRecipient

    account = factory.SubFactory(AccountFactory)
    email = factory.Sequence(lambda n: f"stakeholder{n}@example.com")


class MonthlyReportFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MonthlyReport

    account = factory.SubFactory(AccountFactory)
    month = datetime.date(2026, 1, 1)


class SelfAssessmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SelfAssessment

    account = factory.SubFactory(AccountFactory)
    survey = factory.SubFactory("tests.factories.surveys.SurveyFactory", account=factory.SelfAttribute("..account"))
    agent = "Ana"
    score = 8


class SegmentRollupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SegmentRollup

    account = factory.SubFactory(AccountFactory)
    survey = factory.SubFactory("tests.factories.surveys.SurveyFactory", account=factory.SelfAttribute("..account"))
    day = factory.LazyFunction(datetime.date.today)
    key = "plan"
    value = "pro"
    s9 = 1
