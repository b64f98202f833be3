import datetime

import factory

from reports.models import MonthlyReport, ReportRecipient
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
