"""Daily rollups, written in the response's transaction so dashboards cost O(days)."""
from __future__ import annotations

from datetime import date, datetime

from django.db import transaction

from accounts import sql
from accounts.models import Account
from responses.models import SCORE_COLUMNS, DailyRollup, Response


def rollup_day(account: Account, moment: datetime) -> date:
    """The day a response counts for: its creation date in the account's time zone."""
    return moment.astimezone(account.tz).date()


def apply_to_rollup(*, account: Account, survey_id: int, day: date, channel: str, score: int,
                    has_comment: bool, sign: int) -> None:
    """Add (sign=+1) or remove (sign=-1) one response from its rollup bucket, atomically: one upsert
    (hand-written: it runs in every respondent's transaction; the row is the hot one)."""
    column = SCORE_COLUMNS[score]
    comments = sign if has_comment else 0
    if sign < 0:
        sql.execute(f"UPDATE responses_dailyrollup SET {column} = {column} - 1, comments = comments - %s "  # noqa: S608
                    "WHERE account_id = %s AND survey_id = %s AND day = %s AND channel = %s",
                    [-comments, account.pk, survey_id, sql.prep(DailyRollup, "day", day), channel])
        return
    sql.execute(f"INSERT INTO responses_dailyrollup (account_id, survey_id, day, channel, {column}, comments, "  # noqa: S608
                f"{', '.join(c for c in SCORE_COLUMNS if c != column)}) "
                f"VALUES (%s, %s, %s, %s, 1, %s, {', '.join('0' for c in SCORE_COLUMNS if c != column)}) "
                "ON CONFLICT (account_id, survey_id, day, channel) DO UPDATE SET "
                f"{column} = responses_dailyrollup.{column} + 1, comments = responses_dailyrollup.comments + %s",
                [account.pk, survey_id, sql.prep(DailyRollup, "day", day), channel, comments, comments])


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
