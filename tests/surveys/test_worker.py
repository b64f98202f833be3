"""The send path on a real Celery worker (Redis broker, PostgreSQL, the SMTP sink)."""
from __future__ import annotations

import threading
import time
from collections import Counter

from django.db import connection

from accounts.scoping import account_scope, cross_account
from surveys import services, tasks
from surveys.models import Invitation
from tests.factories import PersonFactory, SurveyFactory

TERMINAL = {Invitation.Status.SENT, Invitation.Status.SKIPPED_THROTTLED}


def wait_until_terminal(ids, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with cross_account():
            statuses = list(Invitation.objects.filter(pk__in=ids).values_list("status", flat=True))
        if all(s in TERMINAL for s in statuses):
            return Counter(statuses)
        time.sleep(0.1)
    raise AssertionError(f"not all invitations finished: {Counter(statuses)}")


def test_two_dispatchers_and_duplicate_tasks_send_each_invitation_once(celery_worker, acme, smtp_sink):
    with account_scope(acme):
        survey = SurveyFactory(account=acme)
        second_survey = SurveyFactory(account=acme)
        people = [PersonFactory(account=acme) for _ in range(40)]
        ids = [services.schedule_invitation(survey=survey, person=p).pk for p in people]
        # the same person twice, due together: the throttle lets one through
        ids.append(services.schedule_invitation(survey=second_survey, person=people[0]).pk)

    def dispatcher():
        # every batch published twice: duplicate deliveries of one hand-out run concurrently, and
        # each message's ``sending`` mark is won by one of them only
        services.dispatch_due(batch_size=7, enqueue=lambda account_id, batch, attempt: [
            tasks.send_invitations.delay(account_id, batch, str(attempt)) for _ in range(2)])
        connection.close()

    threads = [threading.Thread(target=dispatcher) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    counts = wait_until_terminal(ids)
    assert counts == {Invitation.Status.SENT: 40, Invitation.Status.SKIPPED_THROTTLED: 1}
    per_invitation = Counter(m["X-Verbatim-Invitation"] for m in smtp_sink.wait_for(40))
    assert len(per_invitation) == 40 and max(per_invitation.values()) == 1


def test_the_beat_task_dispatches_through_the_worker(celery_worker, acme, smtp_sink):
    with account_scope(acme):
        survey = SurveyFactory(account=acme)
        invitation = services.schedule_invitation(survey=survey, person=PersonFactory(account=acme))
    tasks.dispatch.delay()
    wait_until_terminal([invitation.pk])
    [message] = smtp_sink.wait_for(1)
    assert message["X-Verbatim-Invitation"] == str(invitation.pk)
