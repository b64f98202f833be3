"""Per-endpoint ``sequence``: consecutive per endpoint, in event order, in the header of both formats."""
from __future__ import annotations

import json

from accounts.events import Event, emit_event
from accounts.scoping import account_scope
from integrations import services, tasks
from integrations.models import WebhookEndpoint
from tests.factories import PersonFactory
from tests.integrations.conftest import verify


def received(httpserver, path: str) -> list[tuple[dict, dict]]:
    return [({k.lower(): v for k, v in r.headers.items()}, json.loads(r.get_data()))
            for r, _ in httpserver.log if r.path == path]


def test_each_endpoint_numbers_its_own_deliveries_from_one(acme, survey, record, httpserver):
    httpserver.expect_request("/all").respond_with_data("ok")
    httpserver.expect_request("/promoters").respond_with_data("ok")
    with account_scope(acme):
        everything = services.create_webhook_endpoint(account=acme, url=httpserver.url_for("/all"),
                                                      events=["response.created"])
        services.create_webhook_endpoint(account=acme, url=httpserver.url_for("/promoters"),
                                         events=["response.created"], filters={"score_groups": ["promoter"]})
    for score in (9, 3, 10, 7, 9):
        record(survey, score)

    all_ = received(httpserver, "/all")
    assert [body["sequence"] for _h, body in all_] == [1, 2, 3, 4, 5]
    assert [h["webhook-sequence"] for h, _b in all_] == ["1", "2", "3", "4", "5"]
    for request, _ in httpserver.log:
        if request.path == "/all":
            verify(everything.secret, request)
    # a filtered-out event takes no number: the promoters endpoint counts 1, 2, 3 without gaps
    promoters = received(httpserver, "/promoters")
    assert [(body["sequence"], body["data"]["score"]) for _h, body in promoters] == [(1, 9), (2, 10), (3, 9)]


def test_a_delighted_endpoint_gets_the_sequence_and_id_as_headers_and_an_unchanged_body(acme, survey, record,
                                                                                          httpserver):
    httpserver.expect_request("/delighted").respond_with_data("ok")
    with account_scope(acme):
        services.create_webhook_endpoint(account=acme, url=httpserver.url_for("/delighted"),
                                         events=["response.created"], format=WebhookEndpoint.Format.DELIGHTED)
    first, second = record(survey, 9), record(survey, 4)

    got = received(httpserver, "/delighted")
    assert [h["webhook-sequence"] for h, _b in got] == ["1", "2"]
    assert all(h["webhook-id"].startswith("evt_") for h, _b in got)
    assert all(set(body) == {"event_type", "event_id", "event_data"} for _h, body in got)
    assert [body["event_data"]["id"] for _h, body in got] == [str(first.pk), str(second.pk)]


def test_an_earlier_event_still_waiting_in_the_outbox_is_numbered_first(acme, httpserver,
                                                                        django_capture_on_commit_callbacks):
    httpserver.expect_request("/hook").respond_with_data("ok")
    with account_scope(acme):
        services.create_webhook_endpoint(account=acme, url=httpserver.url_for("/hook"),
                                         events=["person.unsubscribed"])
        person = PersonFactory(account=acme)
        # two events committed in this order; the task of the first is late (lost, or still queued)
        older = emit_event(acme, "person.unsubscribed", {"email": "a@acme.example", "person_id": person.pk})
        newer = emit_event(acme, "person.unsubscribed", {"email": "b@acme.example", "person_id": person.pk})
    with django_capture_on_commit_callbacks(execute=True):
        tasks.fan_out_event(acme.pk, newer.pk)
    with django_capture_on_commit_callbacks(execute=True):
        tasks.fan_out_event(acme.pk, older.pk)  # the late task finds its event done

    got = received(httpserver, "/hook")
    assert [(body["sequence"], body["data"]["email"]) for _h, body in got] == [
        (1, "a@acme.example"), (2, "b@acme.example")]
    with account_scope(acme):
        assert set(Event.objects.filter(pk__in=[older.pk, newer.pk]).values_list("status", flat=True)) == {"done"}


def test_the_test_ping_is_outside_the_count(acme, httpserver, django_capture_on_commit_callbacks):
    httpserver.expect_request("/hook").respond_with_data("ok")
    with account_scope(acme):
        endpoint = services.create_webhook_endpoint(account=acme, url=httpserver.url_for("/hook"))
        with django_capture_on_commit_callbacks(execute=True):
            services.send_test_message(target=endpoint)
        endpoint.refresh_from_db()
    [(headers, body)] = received(httpserver, "/hook")
    assert body["sequence"] == 0
    assert "webhook-sequence" not in {k.lower() for k in headers}
    assert endpoint.last_sequence == 0


def test_after_a_backlog_the_oldest_events_go_first_and_the_late_one_follows(acme, httpserver,
                                                                            django_capture_on_commit_callbacks):
    from integrations.services.fanout import EVENTS_PER_FAN_OUT

    httpserver.expect_request("/hook").respond_with_data("ok")
    backlog = EVENTS_PER_FAN_OUT + 2  # more than one fan-out takes at once (the broker was down, say)
    with account_scope(acme):
        services.create_webhook_endpoint(account=acme, url=httpserver.url_for("/hook"),
                                         events=["person.unsubscribed"])
        events = [emit_event(acme, "person.unsubscribed", {"email": f"p{i}@acme.example"}) for i in range(backlog)]
    with django_capture_on_commit_callbacks(execute=True):
        tasks.fan_out_event(acme.pk, events[-1].pk)  # the newest event's task runs first

    got = received(httpserver, "/hook")
    assert [(body["sequence"], body["data"]["email"]) for _h, body in got] == [
        (i + 1, f"p{i}@acme.example") for i in range(backlog)]
    with account_scope(acme):
        assert not Event.objects.filter(pk__in=[e.pk for e in events], status=Event.Status.PENDING).exists()
