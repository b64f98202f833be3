"""Every write and business rule of surveys, people and distribution.

Split by topic; import from here: ``from surveys import services``.
"""
from surveys.services.invitations import schedule_invitation
from surveys.services.people import upsert_person
from surveys.services.surveys import create_default_survey, create_survey, default_question

__all__ = [
    "create_default_survey",
    "create_survey",
    "default_question",
    "schedule_invitation",
    "upsert_person",
]
