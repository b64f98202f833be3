"""The services other apps call: suppression, erasure, cancellation."""
from __future__ import annotations

import subprocess

import pytest
from django.conf import settings
from django.db import connection

from accounts.scoping import cross_account
from surveys import services
from surveys.models import Invitation, Suppression
from tests.conftest import database_url_for_subprocess
from tests.factories import InvitationFactory, PersonFactory, ResponseFactory

pytestmark = pytest.mark.django_db


def test_cancel_pending_invitations_of_a_person_or_a_survey(survey, person, in_acme):
    scheduled = services.schedule_invitation(survey=survey, person=person)
    sent = InvitationFactory(account=in_acme, survey=survey, person=person, status=Invitation.Status.SENT)
    other = services.schedule_invitation(survey=survey, person=PersonFactory(account=in_acme))
    assert services.cancel_pending_invitations(person=person) == 1
    scheduled.refresh_from_db(), sent.refresh_from_db()
    assert scheduled.status == "cancelled" and sent.status == "sent"
    assert services.cancel_pending_invitations(survey=survey) == 1
    other.refresh_from_db()
    assert other.status == "cancelled"


def test_an_unknown_suppression_reason_is_refused(in_acme):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as exc:
        services.suppress_address(account=in_acme, email="a@example.com", reason="because")
    assert "reason" in exc.value.message_dict


def test_erasure_leaves_no_trace_of_the_person_in_the_database(transactional_db, survey, in_acme):
    """GD-1: after erasure, a dump of the database holds none of the person's strings; only a hash."""
    canary = "canary-7f3a9c"
    person = PersonFactory(account=in_acme, email=f"{canary}@example.com", name=f"Name {canary}",
                           properties={"note": canary})
    invitation = InvitationFactory(account=in_acme, survey=survey, person=person, status="sent",
                                   properties={"ticket": canary})
    ResponseFactory(account=in_acme, survey=survey, person=person, comment=f"comment {canary}")
    services.suppress_address(account=in_acme, email=person.email, reason=Suppression.Reason.UNSUBSCRIBED)
    services.erase_person(person=person)
    with cross_account():
        assert not Invitation.objects.filter(pk=invitation.pk).exists()
        assert Suppression.objects.get(account=in_acme).email.startswith("sha256:")
    db = settings.DATABASES["default"]
    if connection.vendor == "sqlite":  # the embedded default: SQLite dumps itself (every table, as SQL)
        connection.ensure_connection()
        assert canary not in "\n".join(connection.connection.iterdump())
    else:
        dump = subprocess.run(["pg_dump", "--data-only", database_url_for_subprocess()], capture_output=True,
                              text=True, check=False)
        if dump.returncode != 0:
            pytest.skip(f"pg_dump unavailable: {dump.stderr[:200]} ({db['NAME']})")
        assert canary not in dump.stdout
    assert services.is_suppressed(account=in_acme, email=f"{canary}@example.com")


def test_an_import_whose_task_was_lost_is_resumed_by_the_dispatcher(in_acme):
    import io
    from datetime import timedelta

    from django.core.files.base import ContentFile
    from django.core.management import call_command
    from django.utils import timezone

    from surveys.models import PersonImport

    job = PersonImport(account=in_acme, filename="lost.csv", status=PersonImport.Status.PENDING,
                       mapping={"email": "email"}, created_at=timezone.now() - timedelta(minutes=5))
    job.file.save("lost.csv", ContentFile(b"email\nlost@example.com\n"), save=True)
    call_command("dispatch", "--once", stdout=io.StringIO())
    job.refresh_from_db()
    assert job.status == PersonImport.Status.DONE and in_acme.people.filter(email="lost@example.com").exists()
