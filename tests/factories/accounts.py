from datetime import timedelta

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from accounts.models import Account, ApiKey, Event, MemberInvite, Membership, Role, hash_secret

PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}@example.com")
    email = factory.LazyAttribute(lambda o: o.username)
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def saved(obj, create, extracted, **kwargs):  # noqa: N805
        if create:
            obj.save()


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    name = factory.Sequence(lambda n: f"Company {n}")
    slug = factory.Sequence(lambda n: f"company-{n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    account = factory.SubFactory(AccountFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.ADMIN


class ApiKeyFactory(factory.django.DjangoModelFactory):
    """``ApiKeyFactory(account=a, raw="vb_...")`` stores the hash of ``raw``."""

    class Meta:
        model = ApiKey
        exclude = ("raw",)

    account = factory.SubFactory(AccountFactory)
    name = "test key"
    raw = factory.Sequence(lambda n: f"vb_test{n:04d}_secret-{n}")
    prefix = factory.LazyAttribute(lambda o: o.raw.split("_")[1])
    key_hash = factory.LazyAttribute(lambda o: hash_secret(o.raw))


class EventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Event

    account = factory.SubFactory(AccountFactory)
    kind = "response.created"
    payload = factory.LazyFunction(dict)


class MemberInviteFactory(factory.django.DjangoModelFactory):
    """``MemberInviteFactory(account=a, raw="...")`` stores the hash of ``raw``."""

    class Meta:
        model = MemberInvite
        exclude = ("raw",)

    account = factory.SubFactory(AccountFactory)
    email = factory.Sequence(lambda n: f"invitee{n}@example.com")
    role = Role.MEMBER
    raw = factory.Sequence(lambda n: f"invite-token-{n}")
    token_hash = factory.LazyAttribute(lambda o: hash_secret(o.raw))
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=7))
