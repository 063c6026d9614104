"""One shape for every API error: {"error": {"code": ..., "message": ..., "fields": {...}}}.

`message` is always a sentence for a person; `code` is stable for programs; `fields` maps each
field (nested ones as "field.0.key") to its plain messages, never Python reprs.
"""

from django.core.exceptions import ObjectDoesNotExist, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.views import exception_handler

# Image problems get the most specific 4xx there is.
IMAGE_ERROR_STATUS = {
    "file_too_large": status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    "unsupported_format": status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
    # The provenance guard refused a generated image: well-formed, but never a product.
    "generated_image": status.HTTP_422_UNPROCESSABLE_ENTITY,
}


class RequestRefused(exceptions.APIException):
    status_code = status.HTTP_400_BAD_REQUEST


def api_exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        code = getattr(exc, "code", None) or "invalid"
        exc = exceptions.ValidationError({"detail": exc.messages[0]}, code=code)
        exc.status_code = IMAGE_ERROR_STATUS.get(code, status.HTTP_400_BAD_REQUEST)
    elif isinstance(exc, ObjectDoesNotExist):
        exc = Http404()
    elif isinstance(exc, SuspiciousOperation):
        # Too many fields in a form body, for one (config.middleware answers the body size and
        # the file parts before a view runs).
        exc = RequestRefused("The request is malformed and was refused.", code="bad_request")
    response = exception_handler(exc, context)
    if response is None:
        return None
    response.data = {"error": _error_body(exc, response.data)}
    return response


def _error_body(exc, data) -> dict:
    if isinstance(exc, exceptions.ValidationError) and isinstance(data, dict | list):
        fields = dict(_flatten(data if isinstance(data, dict) else {"detail": data}))
        detail = fields.pop("detail", None) or fields.pop("non_field_errors", None)
        message = detail[0] if detail else " ".join(f"{k}: {v[0]}" for k, v in fields.items())
        body = {"code": _first_code(exc.get_codes()), "message": message}
        if fields:
            body["fields"] = fields
        return body
    if isinstance(exc, Http404):
        return {"code": "not_found", "message": str(exc) or "Not found."}
    detail = getattr(exc, "detail", str(exc))
    code = getattr(exc, "default_code", "error")
    if hasattr(exc, "get_codes") and isinstance(exc.get_codes(), str):
        code = exc.get_codes()
    return {"code": code, "message": str(detail)}


def _flatten(errors, prefix: str = ""):
    """("field.0.key", [messages]) for each leaf of DRF's nested error structure."""
    if isinstance(errors, dict):
        for key, value in errors.items():
            yield from _flatten(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(errors, list) and any(isinstance(e, dict | list) for e in errors):
        for index, value in enumerate(errors):
            yield from _flatten(value, f"{prefix}.{index}" if prefix else str(index))
    elif isinstance(errors, list):
        yield prefix, [str(message) for message in errors]
    else:
        yield prefix, [str(errors)]


def _first_code(codes) -> str:
    while isinstance(codes, dict | list):
        if not codes:
            return "invalid"
        codes = next(iter(codes.values())) if isinstance(codes, dict) else codes[0]
    return str(codes)
