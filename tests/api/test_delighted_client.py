"""The official, unmodified ``delighted`` 4.2.0 client drives every public method against a live Verbatim."""
from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.scoping import account_scope
from responses.models import Response
from surveys.models import Autopilot, Invitation, Person, Suppression
from tests.api.conftest import delighted, new_key
from tests.factories import PersonFactory, ResponseFactory, SuppressionFactory

pytestmark = pytest.mark.django_db(transaction=True)


def default_survey(account):
    with account_scope(account):
        from integrations.delighted.services import survey_for_key

        key = account.api_keys.first()
        return survey_for_key(key)


def test_person_create_upserts_and_schedules_a_survey_with_delay_and_special_properties(delighted_client, acme):
    person = delighted.Person.create(
        email="Jony@Appleseed.com", name="Jony", delay=60, channel="email",
        properties={"question_product_name": "The London Trench", "locale": "fr",
                    "delighted_email_subject": "Quick question", "Plan": "Pro",
                    "Delighted Source": "forged"})
    assert person["id"].isdigit() and person["email"] == "jony@appleseed.com" and person["name"] == "Jony"
    assert person["survey_scheduled_at"] >= int(time.time()) + 55
    assert person["properties"]["Plan"] == "Pro" and "Delighted Source" not in person["properties"]
    again = delighted.Person.create(email="jony@appleseed.com", properties={"State": "CA"}, send=False)
    assert again["id"] == person["id"] and again["survey_scheduled_at"] is None
    assert again["properties"] == {**person["properties"], "State": "CA"}
    with account_scope(acme):
        invitation = Invitation.objects.get(person_id=int(person["id"]))
        assert invitation.status == Invitation.Status.SCHEDULED
        assert invitation.properties["question_product_name"] == "The London Trench"
        assert invitation.properties["locale"] == "fr"


def test_person_create_by_sms_sets_last_sent_at_and_updates_email(delighted_client, acme):
    sms = delighted.Person.create(phone_number="+14155551212", channel="sms", name="Texter")
    assert sms["phone_number"] == "+14155551212" and sms["survey_scheduled_at"] is not None
    last_sent = int(time.time()) - 86400
    delighted.Person.create(email="old@example.com", send=False, last_sent_at=last_sent)
    moved = delighted.Person.create(email="old@example.com", email_update="new@example.com", send=False)
    assert moved["email"] == "new@example.com"
    listed = delighted.Person.all(email="new@example.com")
    assert len(listed) == 1 and listed[0]["last_sent_at"] == last_sent
    assert delighted.Person.all(email="old@example.com") == []


def test_person_create_with_a_bad_email_is_a_validation_error(delighted_client, acme):
    with pytest.raises(delighted.errors.ResourceValidationError) as error:
        delighted.Person.create(email="not an email")
    assert error.value.response.status_code == 422
    assert "email" in json.loads(error.value.response.body)["errors"]
    with account_scope(acme):
        assert not Person.objects.exists()


def test_people_list_follows_absolute_link_cursors_through_every_page(delighted_client, acme):
    with account_scope(acme):
        base = timezone.now() - timedelta(hours=1)
        ids = [str(PersonFactory(account=acme, created_at=base + timedelta(seconds=i)).pk) for i in range(5)]
    seen = [p["id"] for p in delighted.Person.list(per_page=2).auto_paging_iter()]
    assert seen == ids
    first_page = delighted.Person.all(per_page=2)
    assert [p["id"] for p in first_page] == ids[:2]
    assert set(first_page[0]) >= {"id", "email", "name", "created_at", "phone_number", "last_sent_at",
                                  "last_responded_at", "next_survey_scheduled_at"}
    since = int((base + timedelta(seconds=3)).timestamp())
    assert [p["id"] for p in delighted.Person.list(since=since).auto_paging_iter()] == ids[3:]


def test_person_delete_by_id_email_and_phone_removes_their_data(delighted_client, acme):
    a = delighted.Person.create(email="a+b@x.com", send=False)
    b = delighted.Person.create(email="b@x.com", send=False)
    c = delighted.Person.create(phone_number="+14155550000", channel="sms", send=False)
    delighted.SurveyResponse.create(person=a["id"], score=9)
    assert delighted.Person.delete(email="a+b@x.com") == {"ok": True}
    assert delighted.Person.delete(id=b["id"]) == {"ok": True}
    assert delighted.Person.delete(phone_number="+14155550000") == {"ok": True}
    with account_scope(acme):
        assert not Person.objects.filter(pk__in=[a["id"], b["id"], c["id"]]).exists()
        assert not Response.objects.exists()
    with pytest.raises(delighted.errors.GeneralAPIError) as error:
        delighted.Person.delete(id=b["id"])
    assert error.value.response.status_code == 404


def test_delete_pending_cancels_unsent_surveys(delighted_client, acme):
    delighted.Person.create(email="a+b@x.com", delay=3600)
    assert delighted.SurveyRequest.delete_pending(person_email="a+b@x.com") == {"ok": True}
    with account_scope(acme):
        assert Invitation.objects.get().status == Invitation.Status.CANCELLED
    with pytest.raises(delighted.errors.GeneralAPIError):
        delighted.SurveyRequest.delete_pending(person_email="nobody@x.com")


def test_survey_response_create_retrieve_save_and_list(delighted_client, acme):
    person = delighted.Person.create(email="r@x.com", name="Rita", send=False)
    created_at = int(time.time()) - 3600
    response = delighted.SurveyResponse.create(person=person["id"], score=6, comment="Slow",
                                               person_properties={"Plan": "Pro"}, created_at=created_at)
    assert response["score"] == 6 and response["survey_type"] == "nps" and response["created_at"] == created_at
    assert response["person_properties"] == {"Plan": "Pro"} and response["permalink"].startswith("http://")
    fetched = delighted.SurveyResponse.retrieve(response["id"], expand=["person"])
    assert isinstance(fetched.person, delighted.Person) and fetched.person["email"] == "r@x.com"
    fetched.score = 10
    fetched.comment = "Fast now"
    fetched.person_properties = {"Seat": "3"}
    saved = fetched.save()
    assert saved["score"] == 10 and saved["comment"] == "Fast now"
    assert saved["person_properties"] == {"Plan": "Pro", "Seat": "3"}
    assert saved["updated_at"] >= saved["created_at"]
    listed = delighted.SurveyResponse.all(person_email="r@x.com", expand=["person"], order="desc:updated_at")
    assert [r["id"] for r in listed] == [response["id"]] and listed[0]["person"]["name"] == "Rita"
    assert delighted.SurveyResponse.all(updated_since=int(time.time()) + 60) == []
    with pytest.raises(delighted.errors.ResourceValidationError):
        delighted.SurveyResponse.create(person=person["id"], score=11)


def test_survey_responses_page_and_filter(delighted_client, acme):
    survey = default_survey(acme)
    with account_scope(acme):
        person = PersonFactory(account=acme)
        base = (timezone.now() - timedelta(days=2)).replace(microsecond=0)
        ids = [str(ResponseFactory(account=acme, survey=survey, person=person, score=i,
                                   created_at=base + timedelta(minutes=i), updated_at=base).pk) for i in range(5)]
    assert [r["id"] for r in delighted.SurveyResponse.all(per_page=2, page=2)] == ids[2:4]
    assert [r["id"] for r in delighted.SurveyResponse.all(order="desc", per_page=100)] == ids[::-1]
    since = int((base + timedelta(minutes=3)).timestamp())
    assert [r["id"] for r in delighted.SurveyResponse.all(since=since)] == ids[3:]
    until = int((base + timedelta(minutes=1)).timestamp())
    assert [r["id"] for r in delighted.SurveyResponse.all(until=until, person_id=str(person.pk))] == ids[:2]
    with pytest.raises(delighted.errors.ResourceValidationError):
        delighted.SurveyResponse.all(trend="123")


def test_metrics_are_integers_over_the_default_window_and_a_range(delighted_client, acme):
    person = delighted.Person.create(email="m@x.com", send=False)
    for score in (10, 9, 9, 8, 3):
        delighted.SurveyResponse.create(person=person["id"], score=score)
    old = int(time.time()) - 90 * 86400
    delighted.SurveyResponse.create(person=person["id"], score=0, created_at=old)
    metrics = delighted.Metrics.retrieve()
    assert dict(metrics) == {"nps": 40, "promoter_count": 3, "promoter_percent": 60, "passive_count": 1,
                             "passive_percent": 20, "detractor_count": 1, "detractor_percent": 20,
                             "response_count": 5}
    everything = delighted.Metrics.retrieve(since=old - 1, until=int(time.time()) + 1)
    assert everything["response_count"] == 6 and everything["nps"] == 17
    assert delighted.Metrics.retrieve(since=old - 1, until=old + 1)["detractor_count"] == 1
    assert delighted.Metrics.retrieve(groups=["core"])["response_count"] == 5


def test_unsubscribe_and_list_unsubscribes_and_bounces(delighted_client, acme):
    delighted.Person.create(email="u@x.com", name="Una", delay=600)
    assert delighted.Unsubscribe.create(person_email="u@x.com") == {"ok": True}
    unsubscribes = delighted.Unsubscribe.all()
    assert [(u["email"], u["name"]) for u in unsubscribes] == [("u@x.com", "Una")]
    assert unsubscribes[0]["person_id"].isdigit() and isinstance(unsubscribes[0]["unsubscribed_at"], int)
    assert delighted.Unsubscribe.all(page=2) == []
    with account_scope(acme):
        assert Invitation.objects.get().status == Invitation.Status.CANCELLED
        SuppressionFactory(account=acme, email="gone@x.com", reason=Suppression.Reason.BOUNCED)
    bounces = delighted.Bounce.all(per_page=5)
    assert [(b["email"], b["person_id"]) for b in bounces] == [("gone@x.com", None)]
    with pytest.raises(delighted.errors.ResourceValidationError):
        delighted.Unsubscribe.create(person_email="")


def test_autopilot_configuration_and_memberships_for_email_and_sms(delighted_client, acme):
    with pytest.raises(delighted.errors.GeneralAPIError):
        delighted.AutopilotConfiguration.retrieve("email")
    survey = default_survey(acme)
    with account_scope(acme):
        Autopilot.objects.create(account=acme, survey=survey, every_days=90)
    config = delighted.AutopilotConfiguration.retrieve("email")
    assert config["platform_id"] == "email" and config["active"] is True and config["frequency"] == 7776000
    email = delighted.AutopilotMembership.forEmail()
    added = email.create(person_email="ap@x.com", person_name="Ada", properties={"Plan": "Pro"})
    assert added["person"]["email"] == "ap@x.com" and added["properties"] == {"Plan": "Pro"}
    updated = email.create(person_email="ap@x.com", properties={"Plan": "Team"})
    assert updated["properties"] == {"Plan": "Team"}
    email.create(person_email="ap2@x.com")
    members = list(email.list(per_page=1).auto_paging_iter())
    assert [m["person"]["email"] for m in members] == ["ap@x.com", "ap2@x.com"]
    assert members[0]["next_survey_request"]["survey_scheduled_at"] is not None
    assert [m["person"]["email"] for m in email.list(person_email="ap2@x.com").auto_paging_iter()] == ["ap2@x.com"]
    removed = email.delete(person_email="ap@x.com")
    assert removed["person"]["email"] == "ap@x.com"
    with account_scope(acme):
        assert Invitation.objects.get(person__email="ap@x.com").status == Invitation.Status.CANCELLED
    sms = delighted.AutopilotMembership.forSms()
    assert sms.create(person_phone_number="+14155551212", properties={"a": "b"})["person"]["phone_number"] \
        == "+14155551212"
    assert [m["person"]["phone_number"] for m in sms.list().auto_paging_iter()] == ["+14155551212"]
    assert sms.delete(person_phone_number="+14155551212")["person"]["phone_number"] == "+14155551212"
    with pytest.raises(delighted.errors.ResourceValidationError):
        email.delete()


def test_a_wrong_key_is_an_authentication_error(delighted_client):
    delighted.shared_client = delighted.Client(api_key="vb_nope_nope", api_base_url=delighted.api_base_url)
    with pytest.raises(delighted.errors.AuthenticationError):
        delighted.Person.all()


def test_the_rate_limit_raises_too_many_requests_with_retry_after(delighted_client, settings):
    settings.API_RATE_LIMIT = "2/60"
    delighted.Person.all()
    delighted.Person.all()
    with pytest.raises(delighted.errors.TooManyRequestsError) as error:
        delighted.Person.all()
    assert 1 <= error.value.retry_after <= 60


def test_mallory_key_cannot_reach_acme_people_or_responses(delighted_client, acme, globex):
    person = delighted.Person.create(email="secret@acme.example", send=False)
    response = delighted.SurveyResponse.create(person=person["id"], score=9)
    mallory = delighted.Client(api_key=new_key(globex), api_base_url=delighted.api_base_url)
    assert delighted.Person.all(client=mallory) == []
    assert delighted.SurveyResponse.all(client=mallory) == []
    for call in (lambda: delighted.SurveyResponse.retrieve(response["id"], client=mallory),
                 lambda: delighted.Person.delete(id=person["id"], client=mallory),
                 lambda: delighted.SurveyResponse.create(person=person["id"], score=0, client=mallory)):
        with pytest.raises(delighted.errors.GeneralAPIError) as error:
            call()
        assert error.value.response.status_code == 404
    with account_scope(acme):
        assert Person.objects.filter(pk=person["id"]).exists()
        assert Response.objects.get().score == 9
