"""Requests refused before any view runs."""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse

NUL_MESSAGE = (
    "The request contains a NUL byte (\\x00), which no field accepts: remove it and send the "
    "request again."
)


class RejectNulBytesMiddleware:
    """400 for a NUL byte anywhere a view could read it: PostgreSQL refuses NUL in text, so a
    crafted header, query or form field used to end as a 500 (a DataError) deep inside a view."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _has_nul(request):
            if request.path.startswith("/api/"):
                body = {"error": {"code": "nul_byte", "message": NUL_MESSAGE}}
                return JsonResponse(body, status=400)
            return HttpResponseBadRequest(NUL_MESSAGE, content_type="text/plain; charset=utf-8")
        return self.get_response(request)


def _has_nul(request: HttpRequest) -> bool:
    if "\x00" in request.path or b"\x00" in unquote_to_bytes(request.META.get("QUERY_STRING", "")):
        return True
    if any("\x00" in str(value) for key, value in request.META.items() if key.startswith("HTTP_")):
        return True
    content_type = request.content_type or ""
    if content_type == "application/x-www-form-urlencoded":
        return b"\x00" in unquote_to_bytes(request.body.replace(b"+", b" "))
    if content_type == "application/json":
        return b"\\u0000" in request.body or b"\x00" in request.body
    if content_type == "multipart/form-data":
        # Files may hold any bytes; the text fields may not.
        return any("\x00" in value for values in request.POST.lists() for value in values[1])
    return False
