"""The admin response feed, under /app/<account>/responses/ (AccountMiddleware sets the scope)."""
from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from responses import selectors
from responses.forms import ResponseFilterForm


def response_list(request: HttpRequest, account: str) -> HttpResponse:
    """Newest responses first, filtered by survey, score group, comment; scanners shown flagged."""
    form = ResponseFilterForm(request.GET or None, account=request.account)
    filters = form.cleaned_data if form.is_valid() else {}
    responses = selectors.filtered_responses(request.account, **{k: v for k, v in filters.items() if v})
    page = Paginator(responses, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "responses/response_list.html",
                  {"form": form, "page": page, "query": query.urlencode()})


def response_detail(request: HttpRequest, account: str, pk: int) -> HttpResponse:
    response = get_object_or_404(request.account.responses.select_related("survey", "person", "invitation"), pk=pk)
    context = selectors.response_detail(response)
    context.update(notes=list(response.notes.select_related("author")),
                   case=request.account.cases.filter(response=response, holdout=False).first(),
                   tags_value=", ".join(response.tags or []))
    return render(request, "responses/response_detail.html", context)
