"""Every write and business rule of surveys, people and distribution.

Split by topic; import from here: ``from surveys import services``.
"""
import uuid

from surveys.services.autopilot import run_autopilot, run_due_autopilots, segment, set_autopilot
from surveys.services.emails import check_placeholders, fill_placeholders, render_invitation
from surveys.services.imports import (
    create_person_import,
    import_preview,
    run_person_import,
    stale_imports,
    start_person_import,
)
from surveys.services.invitations import (
    cancel_invitation,
    invitation_counts,
    resend_invitation,
    schedule_invitation,
    send_survey_to,
)
from surveys.services.people import upsert_person
from surveys.services.sending import dispatch_due, expire_send_leases, send_invitations
from surveys.services.suppressions import (
    cancel_pending_invitations,
    erase_person,
    is_suppressed,
    read_unsubscribe_token,
    suppress_address,
    suppression_reason,
    unsubscribe_person,
    unsubscribe_token,
)
from surveys.services.surveys import (
    archive_survey,
    create_default_survey,
    create_survey,
    default_question,
    pause_survey,
    resume_survey,
    update_survey,
)
from surveys.services.tracking import handle_tracking_event


def run_dispatch_cycle(*, inline: bool = False) -> int:
    """One dispatcher cycle: autopilots, lost imports, then due invitations. ``inline``: send here
    (``manage.py dispatch``, no broker needed) instead of publishing send tasks."""
    from accounts.models import Account
    from accounts.scoping import account_scope
    from accounts.tasks_util import enqueue_on_commit
    from surveys import tasks

    run_due_autopilots()
    for account_id, import_id in stale_imports():
        if inline:
            account = Account.objects.get(pk=account_id)
            with account_scope(account):
                run_person_import(account=account, import_id=import_id)
        else:
            enqueue_on_commit(tasks.run_person_import, account_id, import_id)
    if inline:
        def enqueue(account_id: int, ids: list[int], attempt_id: uuid.UUID) -> None:
            send_invitations(account=Account.objects.get(pk=account_id), invitation_ids=ids, attempt_id=attempt_id)

        return dispatch_due(enqueue=enqueue)
    return dispatch_due()


__all__ = [
    "archive_survey",
    "cancel_invitation",
    "cancel_pending_invitations",
    "check_placeholders",
    "create_default_survey",
    "create_person_import",
    "create_survey",
    "default_question",
    "dispatch_due",
    "erase_person",
    "expire_send_leases",
    "fill_placeholders",
    "handle_tracking_event",
    "import_preview",
    "invitation_counts",
    "is_suppressed",
    "pause_survey",
    "read_unsubscribe_token",
    "render_invitation",
    "resend_invitation",
    "resume_survey",
    "run_autopilot",
    "run_dispatch_cycle",
    "run_due_autopilots",
    "run_person_import",
    "schedule_invitation",
    "segment",
    "send_invitations",
    "send_survey_to",
    "set_autopilot",
    "stale_imports",
    "start_person_import",
    "suppress_address",
    "suppression_reason",
    "unsubscribe_person",
    "unsubscribe_token",
    "update_survey",
    "upsert_person",
]
