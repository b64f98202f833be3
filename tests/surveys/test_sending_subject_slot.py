"""Per-person subjects ("Hi {{name}}") on the SMTP fast path: a plain ASCII subject short enough
never to be folded goes into a slot of one shared frame; its bytes equal the full build's (Date and
MIME boundary aside). Any other subject is baked into a frame of its own, as before."""
from __future__ import annotations

import pytest

from accounts.scoping import account_scope
from surveys.models import Invitation
from surveys.services import emails
from tests.factories import AccountFactory, PersonFactory, SurveyFactory
from tests.surveys.test_sending_bytes import both, normalised

pytestmark = pytest.mark.django_db

NAMES = ["Ann", "Bo", "Christopher-Alexander", "O'Neil", "x" * 40, "Ann  Lee", "a=?b", "Dr. Who; (the) <first>"]


def people_subjects(subject: str, names: list[str]) -> list[tuple[str, bytes, bytes]]:
    account = AccountFactory(name="Acme", sender_email="feedback@acme.example")
    out = []
    with account_scope(account):
        survey = SurveyFactory(account=account, email_subject=subject, placeholder_defaults={"company": "Acme"})
        emails._FRAMES.clear()
        for position, name in enumerate(names):
            person = PersonFactory(account=account, email=f"p{position}@example.com", name=name)
            invitation = Invitation.objects.create(account=account, survey=survey, person=person)
            (_sender, _recipients, fast), full = both(invitation)
            out.append((name, fast, full))
    return out


@pytest.mark.parametrize("subject", ["Hi {{name}}, a question from {{company}}", "{{name}}",
                                     "{{name}} {{name}} {{name}} - how likely are you to recommend us"])
def test_per_person_subjects_take_the_fast_path_with_the_full_builds_bytes(subject):
    for name, fast, full in people_subjects(subject, NAMES):
        assert normalised(fast) == normalised(full), name


def test_short_ascii_subjects_of_different_people_share_one_frame():
    people_subjects("Hi {{name}}, a question from {{company}}", ["Ann", "Bo", "Carl"])
    assert len(emails._FRAMES) == 1 and None not in emails._FRAMES.values()


@pytest.mark.parametrize("length", range(50, 80, 3))
def test_subjects_near_the_folding_length_are_equal_to_the_full_build(length):
    words = ("word " * 20)[:length - 1].strip() + "X"
    [(_name, fast, full)] = people_subjects("{{name}}", [words])
    assert normalised(fast) == normalised(full)


def test_a_non_ascii_per_person_subject_is_baked_into_its_frame():
    [(_name, fast, full)] = people_subjects("Hei {{name}}", ["Åsa Ölander"])
    assert normalised(fast) == normalised(full)
    assert b"=?utf-8?" in fast
