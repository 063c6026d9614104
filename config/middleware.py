"""Requests refused before any view runs."""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from django.conf import settings
from django.core.exceptions import TooManyFieldsSent, TooManyFilesSent
from django.http import HttpRequest, HttpResponse, JsonResponse

NUL_MESSAGE = (
    "The request contains a NUL byte (\\x00), which no field accepts: remove it and send the "
    "request again."
)

TOO_MANY_FILES_MESSAGE = (
    f"The request has more than {settings.DATA_UPLOAD_MAX_NUMBER_FILES} file parts: send fewer."
)
TOO_MANY_FIELDS_MESSAGE = (
    f"The request has more than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} fields: send fewer."
)


class RejectNulBytesMiddleware:
    """400 for a NUL byte anywhere a view could read it: PostgreSQL refuses NUL in text, so a
    crafted header, query or form field used to end as a 500 (a DataError) deep inside a view."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            has_nul = _has_nul(request)
        except TooManyFilesSent:
            return refusal(request, 400, "too_many_files", TOO_MANY_FILES_MESSAGE)
        except TooManyFieldsSent:
            return refusal(request, 400, "too_many_fields", TOO_MANY_FIELDS_MESSAGE)
        if has_nul:
            return refusal(request, 400, "nul_byte", NUL_MESSAGE)
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


class LimitRequestBodyMiddleware:
    """413 for a body larger than FIDELIS_MAX_REQUEST_BYTES, answered from its Content-Length
    before a byte of it is read or spooled to disk. Django reads at most Content-Length bytes
    (a body without one is read as empty), so the declared length bounds what arrives."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        limit = settings.FIDELIS_MAX_REQUEST_BYTES
        if length < 0:
            return refusal(request, 400, "bad_content_length", BAD_LENGTH_MESSAGE)
        if length > limit:
            message = (
                f"The request body is {length / 2**20:.1f} MB; the largest accepted is "
                f"{limit / 2**20:.0f} MB: send a smaller image."
            )
            return refusal(request, 413, "file_too_large", message)
        return self.get_response(request)


BAD_LENGTH_MESSAGE = "The Content-Length header is not a number of bytes: send a valid one."


def refusal(request: HttpRequest, status: int, code: str, message: str) -> HttpResponse:
    """An error answered outside DRF, in the API's error shape on /api/, as text on pages."""
    if request.path.startswith("/api/"):
        return JsonResponse({"error": {"code": code, "message": message}}, status=status)
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
