"""The account page of the Delighted CSV import (/app/<account>/delighted/import)."""
from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from integrations.delighted import imports
from integrations.delighted.forms import DelightedImportForm


def import_delighted(request: HttpRequest, account: str) -> HttpResponse:
    """Upload a Delighted export; the import runs in the request (capped at imports.MAX_ROWS rows)."""
    result = None
    form = DelightedImportForm(request.POST or None, request.FILES or None, account=request.account)
    if request.method == "POST":
        if not request.membership.can_edit:
            raise PermissionDenied
        if form.is_valid():
            file = form.cleaned_data["file"]
            try:
                if form.cleaned_data["kind"] == "people":
                    result = imports.import_people(account=request.account, file=file)
                else:
                    result = imports.import_responses(account=request.account, survey=form.cleaned_data["survey"],
                                                      file=file)
            except (ValidationError, UnicodeDecodeError) as exc:
                form.add_error("file", "; ".join(getattr(exc, "messages", [str(exc)])))
    return render(request, "delighted/import.html", {"form": form, "result": result})
