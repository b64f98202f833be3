import factory

from integrations.models import (
    AlertRoute,
    AlertRule,
    Delivery,
    DeliveryAttempt,
    SlackIntegration,
    WebhookEndpoint,
    ZapierSubscription,
)
from tests.factories.accounts import AccountFactory


class WebhookEndpointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WebhookEndpoint

    account = factory.SubFactory(AccountFactory)
    url = factory.Sequence(lambda n: f"https://hooks.example.com/{n}")


class SlackIntegrationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SlackIntegration

    account = factory.SubFactory(AccountFactory)
    name = "#feedback"
    webhook_url = factory.Sequence(lambda n: f"https://hooks.slack.com/services/T0/B0/{n:08d}")


class ZapierSubscriptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ZapierSubscription

    account = factory.SubFactory(AccountFactory)
    target_url = factory.Sequence(lambda n: f"https://hooks.zapier.com/hooks/standard/{n}")
    event = "response.created"


class AlertRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AlertRule

    account = factory.SubFactory(AccountFactory)
    name = "Detractors"
    filters = factory.LazyFunction(lambda: {"max_score": 6})
    emails = factory.LazyFunction(lambda: ["cx@example.com"])


class AlertRouteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AlertRoute

    account = factory.SubFactory(AccountFactory)
    property_name = "store"
    property_value = factory.Sequence(lambda n: f"store-{n}")
    email = "manager@example.com"


class DeliveryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Delivery

    account = factory.SubFactory(AccountFactory)
    channel = Delivery.Channel.WEBHOOK
    endpoint = factory.SubFactory(WebhookEndpointFactory, account=factory.SelfAttribute("..account"))
    event_type = "ping"
    message_id = factory.Sequence(lambda n: f"ping_{n}")
    dedupe_key = factory.Sequence(lambda n: f"factory:{n}")
    body = "{}"
    status = Delivery.Status.DELIVERED
    next_attempt_at = None


class DeliveryAttemptFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DeliveryAttempt

    account = factory.SubFactory(AccountFactory)
    delivery = factory.SubFactory(DeliveryFactory, account=factory.SelfAttribute("..account"))
    number = 1
    status_code = 200
