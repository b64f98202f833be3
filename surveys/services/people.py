"""People: create, update, import."""
from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from accounts.models import Account
from surveys.models import Person

E164 = re.compile(r"^\+[1-9]\d{1,14}$")
MAX_PROPERTIES = 100
MAX_PROPERTY_LENGTH = 1000


def normalize_email(email: str | None) -> str | None:
    if email is None:
        return None
    email = email.strip().lower()
    return email or None


def clean_person_fields(*, email: str | None, phone_number: str | None, name: str | None,
                        properties: dict[str, Any] | None) -> dict[str, Any]:
    """Validate person input; raises ValidationError naming each bad field."""
    errors: dict[str, str] = {}
    email = normalize_email(email)
    if email:
        try:
            validate_email(email)
        except ValidationError:
            errors["email"] = _("Enter a valid email address.")
    phone_number = (phone_number or "").strip() or None
    if phone_number and not E164.match(phone_number):
        errors["phone_number"] = _("Use the international format, e.g. +14155551212.")
    if not email and not phone_number:
        errors.setdefault("email", _("An email address or a phone number is required."))
    if name and len(name) > 255:
        errors["name"] = _("Names are at most 255 characters.")
    properties = properties or {}
    if not isinstance(properties, dict):
        errors["properties"] = _("Properties must be an object of names and values.")
    elif len(properties) > MAX_PROPERTIES:
        errors["properties"] = _("At most %(n)d properties.") % {"n": MAX_PROPERTIES}
    else:
        for key, value in properties.items():
            if len(str(key)) > 100 or len(str(value)) > MAX_PROPERTY_LENGTH:
                errors["properties"] = _("Property %(key)s is too long.") % {"key": str(key)[:100]}
                break
    if errors:
        raise ValidationError(errors)
    return {"email": email, "phone_number": phone_number, "name": (name or "").strip(),
            "properties": {str(k): v for k, v in properties.items()}}


def upsert_person(*, account: Account, email: str | None = None, phone_number: str | None = None,
                  name: str | None = None, properties: dict[str, Any] | None = None) -> tuple[Person, bool]:
    """Create or update the person with this email (or phone). Properties merge; returns (person, created)."""
    clean = clean_person_fields(email=email, phone_number=phone_number, name=name, properties=properties)
    lookup = {"email": clean["email"]} if clean["email"] else {"phone_number": clean["phone_number"]}
    for _attempt in range(2):
        try:
            with transaction.atomic():
                person = account.people.select_for_update().filter(**lookup).first()
                if person is None:
                    person = Person.objects.create(account=account, **clean)
                    return person, True
                changed = []
                if clean["name"] and clean["name"] != person.name:
                    person.name = clean["name"]
                    changed.append("name")
                if clean["phone_number"] and clean["phone_number"] != person.phone_number:
                    person.phone_number = clean["phone_number"]
                    changed.append("phone_number")
                if clean["properties"]:
                    person.properties = {**person.properties, **clean["properties"]}
                    changed.append("properties")
                if changed:
                    person.save(update_fields=[*changed, "updated_at"])
                return person, False
        except IntegrityError:  # a concurrent create won the race: update that row instead
            continue
    raise ValidationError({"email": _("This person is being changed by another request; try again.")})
