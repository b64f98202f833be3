"""Idempotency-Key replays: the first result again, never a second object, and never the webhook secret twice."""
from __future__ import annotations

import json

import pytest

from accounts.models import IdempotencyRecord
from accounts.scoping import account_scope
from integrations.models import WebhookEndpoint

pytestmark = pytest.mark.django_db

BODY = {"url": "https://hooks.example.com/verbatim", "description": "CRM", "events": ["response.created"]}


def create_webhook(client, key: str, idem: str):
    return client.post("/api/v1/webhooks", json.dumps(BODY), content_type="application/json",
                       HTTP_AUTHORIZATION=f"Bearer {key}", HTTP_IDEMPOTENCY_KEY=idem)


def test_a_replayed_webhook_creation_answers_the_first_result_without_the_secret(client, acme, acme_key):
    first = create_webhook(client, acme_key, "hook-1")
    assert first.status_code == 201, first.content
    assert first.json()["secret"]
    replay = create_webhook(client, acme_key, "hook-1")
    assert replay.status_code == 201 and replay["Idempotent-Replayed"] == "true"
    assert replay.json() == {**first.json(), "secret": None}
    with account_scope(acme):
        assert WebhookEndpoint.objects.count() == 1
        record = IdempotencyRecord.objects.get(key="hook-1")
        # at rest too: the record holds no secret
        assert record.body["secret"] is None and first.json()["secret"] not in json.dumps(record.body)
