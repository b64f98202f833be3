"""The SMTP fast path (emails.message_bytes) sends exactly the bytes of the full build.

The full build is ``build_message(...).message().as_bytes()``, what Django's SMTP backend sends.
The fast path renders a message once per (survey, locale, texts, sender) with sentinels and puts
each message's values in; the two must be equal byte for byte, except the ``Date`` header (the
clock) and the MIME boundary (random per build).
"""
from __future__ import annotations

import re
from email import message_from_bytes, policy

import pytest
from django.core.mail.message import sanitize_address

from accounts.scoping import account_scope
from surveys.models import Invitation
from surveys.services import emails
from tests.factories import AccountFactory, PersonFactory, SurveyFactory

pytestmark = pytest.mark.django_db
TOKEN = "AbCdEfGhIjKlMnOpQrStUvWxYz012345"


def normalised(data: bytes) -> bytes:
    data = re.sub(rb"={15}\d+==", b"BOUNDARY", data)
    return re.sub(rb"\r\nDate: [^\r\n]*\r\n", b"\r\nDate: DATE\r\n", data, count=1)


def both(invitation: Invitation, attempt: int = 1) -> tuple[tuple, bytes]:
    fast = emails.message_bytes(invitation=invitation, raw_token=TOKEN, attempt=attempt)
    full = emails.build_message(invitation=invitation, raw_token=TOKEN, attempt=attempt).message()
    return fast, full.as_bytes(linesep="\r\n")


CASES = {
    "plain": {},
    "german, non-ASCII body": {"locale": "de", "account_name": "Müller & Söhne"},
    "long sender domain folds Message-ID": {"sender": "feedback@" + "very-long-subdomain." * 3 + "example.com"},
    "long recipient folds To": {"email": "a.really.long.local.part.for.folding.tests" + "x" * 20 + "@example.com"},
    "upper-case address": {"email": "Ann.Smith@Example.COM"},
    "person placeholder in the subject": {"subject": "Hei {{name}}, a question from {{company}}",
                                          "name": "Åsa Ölander"},
    "long site URL folds List-Unsubscribe": {"site": "https://feedback." + "long-host-name-" * 4 + "example.com"},
}


@pytest.mark.parametrize("case", list(CASES))
def test_the_fast_bytes_equal_the_full_build(case, settings):
    spec = CASES[case]
    if "site" in spec:
        settings.SITE_URL = spec["site"]
    account = AccountFactory(name=spec.get("account_name", "Acme"),
                             sender_email=spec.get("sender", "feedback@acme.example"))
    with account_scope(account):
        survey = SurveyFactory(account=account, locale=spec.get("locale", "en"),
                               email_subject=spec.get("subject", ""), placeholder_defaults={"company": "Acme"})
        person = PersonFactory(account=account, email=spec.get("email", "ann@example.com"),
                               name=spec.get("name", "Ann"))
        invitation = Invitation.objects.create(account=account, survey=survey, person=person)
        emails._FRAMES.clear()
        for attempt in (1, 2):  # the second one reuses the cached frame
            (sender, recipients, fast), full = both(invitation, attempt)
            assert normalised(fast) == normalised(full)
            assert recipients == [person.email] and sender == account.from_email.rsplit("<", 1)[-1].strip(">")
        assert any(frame is not None for frame in emails._FRAMES.values()), "the fast path was not taken"
        parsed = message_from_bytes(fast, policy=policy.default)
        assert parsed["X-Verbatim-Invitation"].strip() == str(invitation.pk)  # folded: a leading space
        assert parsed["Message-ID"].strip() == f"<inv-{invitation.pk}.2@{emails.sending_domain(account.from_email)}>"
        assert TOKEN in parsed.get_body(("html",)).get_content()


def test_an_address_that_needs_encoding_takes_the_full_build(settings):
    account = AccountFactory(name="Acme", sender_email="feedback@acme.example")
    with account_scope(account):
        survey = SurveyFactory(account=account)
        person = PersonFactory(account=account, email="josé@exämple.com")
        invitation = Invitation.objects.create(account=account, survey=survey, person=person)
        emails._FRAMES.clear()
        (_sender, recipients, fast), full = both(invitation)
        assert normalised(fast) == normalised(full)
        assert emails._FRAMES == {}  # never built a frame for it
        assert recipients == [sanitize_address(person.email, "utf-8")]  # what Django's SMTP backend uses


def test_a_skipped_row_ends_its_smtp_envelope_and_the_batch_goes_on_over_one_connection(smtp_sink, survey, in_acme):
    """The envelope of a message goes out while its mark commits; a row that turns out suppressed
    (or throttled) is reset (RSET) without DATA, and the next message uses the same connection."""
    from surveys import services
    from tests.factories import SuppressionFactory

    people = [PersonFactory(account=survey.account, email=f"batch{i}@example.com") for i in range(4)]
    SuppressionFactory(account=survey.account, email="batch1@example.com", reason="unsubscribed")
    invitations = [services.schedule_invitation(survey=survey, person=p) for p in people]
    counts = services.send_invitations(account=survey.account, invitation_ids=[i.pk for i in invitations])
    assert counts == {"sent": 3, "skipped_suppressed": 1}
    received = smtp_sink.wait_for(3)
    assert sorted(m["To"] for m in received) == ["batch0@example.com", "batch2@example.com", "batch3@example.com"]
    assert smtp_sink.connections == 1  # EM-29: one connection for the batch
    statuses = dict(Invitation.objects.filter(pk__in=[i.pk for i in invitations]).values_list("person__email",
                                                                                               "status"))
    assert statuses == {"batch0@example.com": "sent", "batch1@example.com": "skipped_suppressed",
                        "batch2@example.com": "sent", "batch3@example.com": "sent"}
