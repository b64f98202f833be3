"""Demo data: an account with surveys, a few hundred people and a year of realistic responses."""
from __future__ import annotations

import random
import uuid
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from accounts import services as account_services
from accounts.models import Account, Role
from accounts.scoping import account_scope
from responses.models import Answer, Response
from responses.rollups import rebuild_rollups
from surveys import services as survey_services
from surveys.models import Channel, Invitation, Person, Question, SurveyKind

DEMO_SLUG = "demo"
DEMO_EMAIL = "demo@verbatim.example"
DEMO_PASSWORD = "verbatim-demo"
VIEWER_EMAIL = "stakeholder@verbatim.example"

FIRST = ["Anna", "Ben", "Chloé", "Dieter", "Eero", "Fatima", "Giulia", "Hugo", "Ines", "Jonas", "Kaisa",
         "Liam", "Marta", "Noah", "Olivia", "Pablo", "Quentin", "Rosa", "Sami", "Tuuli", "Ulla", "Victor"]
LAST = ["Meyer", "Dubois", "Virtanen", "García", "Smith", "Korhonen", "Martin", "Schmidt", "López", "Brown"]
AGENTS = ["anna", "ben", "carla", "dmitri", "eva"]
STORES = ["Helsinki", "Berlin", "Paris", "Madrid", "London"]
PLANS = ["free", "pro", "enterprise"]
CHANNEL_PROPS = ["phone", "chat", "email", "in person"]
LOCALE_BY_STORE = {"Helsinki": "fi", "Berlin": "de", "Paris": "fr", "Madrid": "es", "London": "en"}

COMMENTS = {
    "en": {
        "promoter": ["Fast and friendly support, solved in minutes.", "Love the new dashboard, very easy to use.",
                     "Great product, great people.", "The mobile app is excellent.", "Anna was super helpful!"],
        "passive": ["Good overall but the app is a bit slow.", "Fine, though pricing is confusing.",
                    "Support was ok, took two tries."],
        "detractor": ["Waited 40 minutes on the phone.", "Billing error again, nobody called back.",
                      "The app keeps crashing on login.", "Too expensive for what it does.",
                      "Slow delivery and no tracking updates."],
    },
    "de": {
        "promoter": ["Schneller und freundlicher Support.", "Sehr einfach zu bedienen."],
        "passive": ["Ganz gut, aber die App ist langsam."],
        "detractor": ["Lange Wartezeit am Telefon.", "Die Rechnung war schon wieder falsch.",
                      "Die App stürzt ständig ab."],
    },
    "fr": {
        "promoter": ["Service rapide et aimable.", "Produit excellent, très simple."],
        "passive": ["Correct, mais l'application est lente."],
        "detractor": ["Attente trop longue au téléphone.", "Erreur de facturation, personne ne rappelle."],
    },
    "fi": {
        "promoter": ["Nopea ja ystävällinen palvelu.", "Todella helppokäyttöinen."],
        "passive": ["Ihan hyvä, mutta sovellus on hidas."],
        "detractor": ["Jonotin puhelimessa 40 minuuttia.", "Laskussa oli taas virhe."],
    },
    "es": {
        "promoter": ["Atención rápida y amable.", "Muy fácil de usar."],
        "passive": ["Bien, pero la aplicación es lenta."],
        "detractor": ["Esperé mucho al teléfono.", "Error en la factura otra vez."],
    },
}


def _nps_score(rng: random.Random, quality: float) -> int:
    """A score 0-10 whose mean rises with quality (0..1)."""
    roll = rng.random()
    if roll < 0.45 + 0.2 * quality:
        return rng.choice([9, 10, 10])
    if roll < 0.72 + 0.1 * quality:
        return rng.choice([7, 8])
    return rng.randint(0, 6)


def _group(kind: str, score: int) -> str:
    from surveys.models import score_group

    return score_group(kind, score)


@transaction.atomic
def load_demo(*, people: int = 300, days: int = 365, seed: int = 7) -> tuple[Account, bool]:
    """Create the demo account (idempotent: an existing one is returned unchanged)."""
    existing = Account.objects.filter(slug=DEMO_SLUG).first()
    if existing is not None:
        return existing, False
    rng = random.Random(seed)
    owner = account_services.get_or_create_user(email=DEMO_EMAIL, password=DEMO_PASSWORD)
    account = account_services.create_account(name="Acme Support (demo)", owner=owner, time_zone="Europe/Helsinki")
    account.slug = DEMO_SLUG
    account.save(update_fields=["slug"])
    viewer = account_services.get_or_create_user(email=VIEWER_EMAIL, password=DEMO_PASSWORD)
    account.memberships.create(user=viewer, role=Role.VIEWER)
    now = timezone.now()
    with account_scope(account):
        nps = account.surveys.get(is_default=True)
        nps.name = "Relationship NPS"
        nps.save(update_fields=["name"])
        Question.objects.create(account=account, survey=nps, position=1, kind=Question.Kind.MULTIPLE,
                                text="What should we improve?", choices=["Price", "App", "Support", "Delivery"],
                                allow_other=True, show_to=Question.ShowTo.DETRACTOR)
        ces = survey_services.create_survey(account=account, name="Support CES", kind=SurveyKind.CES)
        resolved = Question.objects.create(account=account, survey=ces, position=1, kind=Question.Kind.YES_NO,
                                           text="Was your issue resolved?", is_resolution=True)
        csat = survey_services.create_survey(account=account, name="Onboarding CSAT", kind=SurveyKind.CSAT)

        persons = []
        for i in range(people):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            store = rng.choice(STORES)
            persons.append(Person(
                account=account,
                email=f"{first.lower()}.{last.lower()}.{i}@example.com".replace("é", "e").replace("í", "i"),
                name=f"{first} {last}", created_at=now - timedelta(days=rng.randint(days, days + 200)),
                properties={"plan": rng.choice(PLANS), "country": LOCALE_BY_STORE[store].upper(), "store": store,
                            "locale": LOCALE_BY_STORE[store]},
            ))
        Person.objects.bulk_create(persons)
        persons = list(account.people.all())

        responses, invitations = [], []
        for day in range(days, 0, -1):
            moment_base = now - timedelta(days=day)
            # Quality dips in the middle of the year (a billing incident) and recovers.
            quality = 0.6 - (0.35 if 150 < day < 200 else 0.0) + (days - day) / days * 0.2
            for _n in range(rng.randint(4, 12)):
                person = rng.choice(persons)
                survey = rng.choices([nps, ces, csat], weights=[5, 4, 1])[0]
                channel_prop = rng.choice(CHANNEL_PROPS)
                quality_here = quality - 0.2 if channel_prop == "chat" and 150 < day < 200 else quality
                if survey.kind == SurveyKind.NPS:
                    score = _nps_score(rng, quality_here)
                elif survey.kind == SurveyKind.CES:
                    score = max(1, min(7, round(rng.gauss(4.5 + 2 * quality_here, 1.4))))
                else:
                    score = max(1, min(5, round(rng.gauss(3 + 1.5 * quality_here, 1))))
                locale = person.properties["locale"]
                group = _group(survey.kind, score)
                comment = rng.choice(COMMENTS[locale][group]) if rng.random() < 0.6 else ""
                created = moment_base + timedelta(minutes=rng.randint(0, 1439))
                source = rng.choices([Channel.EMAIL, Channel.LINK], weights=[3, 1])[0]
                invitation = None
                if source == Channel.EMAIL:
                    invitation = Invitation(account=account, survey=survey, person=person, channel=Channel.EMAIL,
                                            status=Invitation.Status.SENT, scheduled_at=created - timedelta(hours=2),
                                            sent_at=created - timedelta(hours=2), attempts=1,
                                            attempt_id=uuid.UUID(int=rng.getrandbits(128)),
                                            esp_message_id=f"demo-{len(invitations)}")
                    invitations.append(invitation)
                responses.append((Response(
                    account=account, survey=survey, person=person, score=score, comment=comment, channel=source,
                    properties={**person.properties, "channel": channel_prop, "agent": rng.choice(AGENTS)},
                    locale=locale, created_at=created, updated_at=created, completed_at=created,
                ), invitation, survey is ces and rng.random() < 0.9, score))
        # Invitations nobody answered, so the response rate means something (about 45%).
        for day in range(days, 0, -1):
            for _n in range(rng.randint(5, 12)):
                sent = now - timedelta(days=day, minutes=rng.randint(0, 1439))
                invitations.append(Invitation(
                    account=account, survey=rng.choices([nps, ces, csat], weights=[5, 4, 1])[0],
                    person=rng.choice(persons), channel=Channel.EMAIL, status=Invitation.Status.SENT,
                    scheduled_at=sent, sent_at=sent, attempts=1, attempt_id=uuid.UUID(int=rng.getrandbits(128)),
                    esp_message_id=f"demo-{len(invitations)}"))
        Invitation.objects.bulk_create(invitations, batch_size=1000)
        for response, invitation, _has_resolution, _score in responses:
            response.invitation = invitation
        Response.objects.bulk_create([r for r, *_ in responses], batch_size=1000)
        answers = [
            Answer(account=account, response=r, question=resolved,
                   value=bool(score >= 5 or rng.random() < 0.3), updated_at=r.created_at)
            for r, _inv, has_resolution, score in responses if has_resolution
        ]
        Answer.objects.bulk_create(answers, batch_size=1000)
        # A few invitations still waiting, so the dispatcher has work in the demo.
        for person in persons[:5]:
            survey_services.schedule_invitation(survey=nps, person=person,
                                                scheduled_at=now + timedelta(minutes=2))
        rebuild_rollups(account=account)
    return account, True
