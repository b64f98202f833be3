"""Reads for the case pages and the holdout experiment report."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Case as CaseWhen
from django.db.models import Count, IntegerField, Q, QuerySet, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Account
from accounts.stats import Change, Proportion, proportion, proportion_change
from responses.models import Case, Response
from surveys.models import ScoreGroup, Suppression


def inbox(account: Account, *, user: Any, view: str = "mine", status: str = "", overdue: bool = False,
          survey_id: int | None = None, now: Any = None) -> QuerySet[Case]:
    """Cases for the inbox, overdue first then by due time. Held-out cases never show here."""
    now = now or timezone.now()
    cases = account.cases.filter(holdout=False).select_related("response", "response__survey", "person",
                                                               "assignee")
    if view == "mine":
        cases = cases.filter(assignee=user)
    if status:
        cases = cases.filter(status=status)
    elif view in ("mine", "open"):
        cases = cases.filter(status=Case.Status.OPEN)
    if overdue:
        cases = cases.filter(status=Case.Status.OPEN, due_at__lte=now)
    if survey_id:
        cases = cases.filter(response__survey_id=survey_id)
    late = CaseWhen(When(status=Case.Status.OPEN, due_at__lte=now, then=Value(0)), default=Value(1),
                 output_field=IntegerField())
    return cases.annotate(late=late).order_by("late", "due_at", "pk")


def next_response(case: Case) -> Response | None:
    """The person's first response after the case's response (any survey), if any."""
    if case.person_id is None:
        return None
    return (case.account.responses.filter(person_id=case.person_id, created_at__gt=case.response.created_at,
                                          suspected_bot=False)
            .exclude(pk=case.response_id).select_related("survey").order_by("created_at", "pk").first())


def case_detail(case: Case) -> dict[str, Any]:
    response = case.response
    earlier = []
    if case.person_id:
        earlier = list(case.account.responses.filter(person_id=case.person_id, created_at__lt=response.created_at)
                       .select_related("survey").order_by("-created_at")[:20])
    after = next_response(case)
    return {
        "case": case, "response": response, "group": case.group, "earlier": earlier,
        "next": after, "next_group": after.survey.group_of(after.score) if after else None,
        "notes": list(response.notes.select_related("author")),
        "history": list(case.events.select_related("by")),
        "person_properties": (case.person.properties if case.person else {}) or {},
        "overdue": case.is_overdue(),
    }


# --- the holdout experiment ------------------------------------------------------------------------

@dataclass
class Arm:
    """One arm of the experiment: contacted (every non-held-out case) or held out."""

    cases: int
    answered_again: int
    improved: Proportion
    became_passive_or_promoter: Proportion
    unsubscribed: Proportion


@dataclass
class Comparison:
    label: str
    contacted: Proportion
    holdout: Proportion
    change: Change  # contacted minus held out, in percentage points
    verdict: str  # plain words, only when significant


def _arm(rows: list[tuple[Case, Response | None, bool]]) -> Arm:
    answered = [(case, nxt) for case, nxt, _unsub in rows if nxt is not None]
    improved = sum(1 for case, nxt in answered if nxt.score > case.response.score)
    became = sum(1 for _case, nxt in answered
                 if nxt.survey.group_of(nxt.score) in (ScoreGroup.PASSIVE, ScoreGroup.PROMOTER))
    unsubscribed = sum(1 for *_rest, unsub in rows if unsub)
    return Arm(cases=len(rows), answered_again=len(answered), improved=proportion(improved, len(answered)),
               became_passive_or_promoter=proportion(became, len(answered)),
               unsubscribed=proportion(unsubscribed, len(rows)))


def _verdict(label: str, change: Change) -> str:
    if not change.significant or change.delta is None:
        return ""
    more = change.delta > 0
    return (_("Contacted detractors were more likely than held-out ones to %(what)s "
              "(%(a).0f%% vs %(b).0f%%, p = %(p).3f).") if more else
            _("Contacted detractors were less likely than held-out ones to %(what)s "
              "(%(a).0f%% vs %(b).0f%%, p = %(p).3f).")) % {"what": label, "a": change.after, "b": change.before,
                                                         "p": change.p_value}


def holdout_report(account: Account) -> dict[str, Any]:
    """Contacted versus held-out detractor cases of the experiment (intention to treat: a case counts in
    the contacted arm whether or not someone actually called).

    Per arm: the share whose next response was higher, the share whose next response was passive or
    promoter (both among those who answered again), and the share unsubscribed after the case (among
    all cases); 95% Wilson intervals, a two-proportion z-test, and a verdict only when significant.
    """
    cases = list(account.cases.filter(experiment=True).select_related("response", "response__survey", "person"))
    person_ids = {c.person_id for c in cases if c.person_id}
    later: dict[int, list[Response]] = {}
    for r in (account.responses.filter(person_id__in=person_ids, suspected_bot=False).select_related("survey")
              .order_by("created_at", "pk")):
        later.setdefault(r.person_id, []).append(r)
    emails = {c.person.email.lower() for c in cases if c.person and c.person.email}
    unsubscribed_at = {s.email: s.created_at for s in account.suppressions.filter(
        email__in=emails, reason=Suppression.Reason.UNSUBSCRIBED)}
    arms: dict[bool, list[tuple[Case, Response | None, bool]]] = {True: [], False: []}
    for case in cases:
        nxt = next((r for r in later.get(case.person_id, []) if r.created_at > case.response.created_at
                    and r.pk != case.response_id), None)
        email = (case.person.email or "").lower() if case.person else ""
        unsub = email in unsubscribed_at and unsubscribed_at[email] >= case.created_at
        arms[case.holdout].append((case, nxt, unsub))
    contacted, holdout = _arm(arms[False]), _arm(arms[True])
    comparisons = []
    for attr, label in (("improved", _("give a higher score next time")),
                        ("became_passive_or_promoter", _("become passives or promoters")),
                        ("unsubscribed", _("unsubscribe"))):
        a, b = getattr(contacted, attr), getattr(holdout, attr)
        change = proportion_change(b, a)
        comparisons.append(Comparison(label=label, contacted=a, holdout=b, change=change,
                                      verdict=_verdict(label, change)))
    return {"contacted": contacted, "holdout": holdout, "comparisons": comparisons,
            "holdout_cases": [c for c in cases if c.holdout]}


ACTION_GROUPS = ("promoter", "passive", "detractor")


def action_clicks_report(account: Account) -> dict[str, Any]:
    """Clicks on the thank-you page actions (review, referral...), per survey and score group.

    ``rows``: one per survey with a click, ``{"survey", "promoter", "passive", "detractor", "total"}``
    (clicks, repeated clicks included); ``totals``: the same sums over all surveys; ``people``: the
    number of distinct responses that clicked at least once.
    """
    counts = {f"{g}": Count("id", filter=Q(group=g)) for g in ACTION_GROUPS}
    by_survey = (account.action_clicks.values("survey_id").annotate(total=Count("id"), **counts)
                 .order_by("-total", "survey_id"))
    names = dict(account.surveys.filter(pk__in=[r["survey_id"] for r in by_survey]).values_list("pk", "name"))
    rows = [{"survey": names.get(r["survey_id"], ""), "survey_id": r["survey_id"],
             **{g: r[g] for g in ACTION_GROUPS}, "total": r["total"]} for r in by_survey]
    totals = {key: sum(r[key] for r in rows) for key in (*ACTION_GROUPS, "total")}
    people = account.action_clicks.exclude(response=None).values("response_id").distinct().count()
    return {"rows": rows, "totals": totals, "people": people}
