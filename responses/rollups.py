"""Daily rollups, written in the response's transaction so dashboards cost O(days)."""
from __future__ import annotations

from datetime import date, datetime

from django.db import IntegrityError, transaction
from django.db.models import F

from accounts.models import Account
from responses.models import SCORE_COLUMNS, DailyRollup, Response


def rollup_day(account: Account, moment: datetime) -> date:
    """The day a response counts for: its creation date in the account's time zone."""
    return moment.astimezone(account.tz).date()


def apply_to_rollup(*, account: Account, survey_id: int, day: date, channel: str, score: int,
                    has_comment: bool, sign: int) -> None:
    """Add (sign=+1) or remove (sign=-1) one response from its rollup bucket, atomically."""
    changes = {f"s{score}": F(f"s{score}") + sign}
    if has_comment:
        changes["comments"] = F("comments") + sign
    key = {"account": account, "survey_id": survey_id, "day": day, "channel": channel}
    if DailyRollup.objects.filter(**key).update(**changes):
        return
    if sign < 0:
        return
    try:
        with transaction.atomic():
            DailyRollup.objects.create(**key, **{f"s{score}": 1, "comments": 1 if has_comment else 0})
    except IntegrityError:  # created concurrently: increment theirs
        DailyRollup.objects.filter(**key).update(**changes)


def counted(response: Response) -> bool:
    return not response.suspected_bot


def bucket(response: Response) -> tuple:
    return (counted(response), response.survey_id, response.created_at, response.channel, response.score,
            bool(response.comment))


def record_change(*, account: Account, before: Response | None, after: Response | None) -> None:
    """Move one response between buckets: before is its state before the write, after its new state."""
    if before is not None and after is not None and bucket(before) == bucket(after):
        return  # same bucket: nothing to move (and no lock taken on the hot rollup row)
    if before is not None and counted(before):
        apply_to_rollup(account=account, survey_id=before.survey_id, day=rollup_day(account, before.created_at),
                        channel=before.channel, score=before.score, has_comment=bool(before.comment), sign=-1)
    if after is not None and counted(after):
        apply_to_rollup(account=account, survey_id=after.survey_id, day=rollup_day(account, after.created_at),
                        channel=after.channel, score=after.score, has_comment=bool(after.comment), sign=+1)


@transaction.atomic
def rebuild_rollups(*, account: Account) -> int:
    """Recompute every rollup of an account from raw responses; returns the number of rows."""
    DailyRollup.objects.filter(account=account).delete()
    buckets: dict[tuple[int, date, str], DailyRollup] = {}
    rows = (Response.objects.filter(account=account, suspected_bot=False)
            .values_list("survey_id", "created_at", "channel", "score", "comment").iterator(chunk_size=5000))
    for survey_id, created_at, channel, score, comment in rows:
        key = (survey_id, rollup_day(account, created_at), channel)
        rollup = buckets.get(key)
        if rollup is None:
            rollup = buckets[key] = DailyRollup(account=account, survey_id=survey_id, day=key[1], channel=channel)
        setattr(rollup, SCORE_COLUMNS[score], getattr(rollup, SCORE_COLUMNS[score]) + 1)
        if comment:
            rollup.comments += 1
    DailyRollup.objects.bulk_create(buckets.values(), batch_size=1000)
    return len(buckets)
