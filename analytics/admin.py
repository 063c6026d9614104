"""The search dashboard in the admin: SearchEvent's list page shows charts, not rows."""

import csv

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.urls import path

from analytics.charts import bar_chart, line_chart
from analytics.dashboard import dashboard_for
from analytics.models import SearchEvent
from catalog.selectors import merchant_of_user


def _merchant_id(request) -> int | None:
    """The merchant whose figures `request` may see; None: the whole shop (a superuser)."""
    if request.user.is_superuser:
        return None
    merchant = merchant_of_user(request.user)
    if merchant is None:
        raise PermissionDenied
    return merchant.pk


@admin.register(SearchEvent)
class SearchDashboardAdmin(admin.ModelAdmin):
    list_display = ["query", "mode", "results", "latency_ms", "created_at"]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        merchant = merchant_of_user(request.user)
        if merchant is None:
            return queryset.none()
        return queryset.filter(merchant_ids__contains=[merchant.pk])

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        export = path(
            "export.csv",
            self.admin_site.admin_view(self.export_view),
            name="analytics_searchevent_export",
        )
        return [export, *super().get_urls()]

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        board = dashboard_for(_merchant_id(request))
        context = {
            **self.admin_site.each_context(request),
            "title": "Search dashboard",
            "opts": self.model._meta,
            "board": board,
            "top_chart": bar_chart(
                [(row.query, row.searches) for row in board.top], title="Top queries (searches)"
            ),
            "zero_chart": bar_chart(board.zero, title="Queries that found nothing"),
            "ctr_chart": bar_chart(
                [(row.query, round(100 * row.click_through, 1)) for row in board.top],
                title="Click-through rate per query",
                unit="%",
            ),
            "latency_chart": line_chart(
                [day for day, *_ in board.latency],
                {
                    "p50": [p50 for _, p50, _, _ in board.latency],
                    "p95": [p95 for _, _, p95, _ in board.latency],
                },
                title="Search latency per day (ms)",
                unit=" ms",
            ),
        }
        return TemplateResponse(request, "analytics/dashboard.html", context)

    def export_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        if request.method != "GET":
            return HttpResponse(status=405, headers={"Allow": "GET"})
        board = dashboard_for(_merchant_id(request))
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="search-dashboard.csv"'
        writer = csv.writer(response)
        writer.writerow(["section", "query or day", "searches", "clicks", "click_through",
                         "mean_click_position", "p50_ms", "p95_ms"])  # fmt: skip
        for row in board.top:
            writer.writerow(["top_query", row.query, row.searches, row.clicks,
                             row.click_through, row.mean_position or "", "", ""])  # fmt: skip
        for query, count in board.zero:
            writer.writerow(["zero_results", query, count, 0, 0, "", "", ""])
        for day, p50, p95, count in board.latency:
            writer.writerow(["latency", day, count, "", "", "", p50, p95])
        return response
