"""One shape for every API error: {"error": {"code": ..., "message": ..., "fields": {...}}}."""

from django.core.exceptions import ObjectDoesNotExist
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


def api_exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        code = getattr(exc, "code", None) or "invalid"
        exc = exceptions.ValidationError({"detail": exc.messages[0]}, code=code)
        exc.status_code = IMAGE_ERROR_STATUS.get(code, status.HTTP_400_BAD_REQUEST)
    elif isinstance(exc, ObjectDoesNotExist):
        exc = Http404()
    response = exception_handler(exc, context)
    if response is None:
        return None
    response.data = {"error": _error_body(exc, response.data)}
    return response


def _error_body(exc, data) -> dict:
    if isinstance(exc, exceptions.ValidationError) and isinstance(data, dict):
        fields = {k: [str(m) for m in (v if isinstance(v, list) else [v])] for k, v in data.items()}
        codes = exc.get_codes()
        detail = fields.pop("detail", None) or fields.pop("non_field_errors", None)
        first_code = _first_code(codes)
        message = detail[0] if detail else "; ".join(f"{k}: {v[0]}" for k, v in fields.items())
        body = {"code": first_code, "message": message}
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


def _first_code(codes) -> str:
    while isinstance(codes, dict | list):
        if not codes:
            return "invalid"
        codes = next(iter(codes.values())) if isinstance(codes, dict) else codes[0]
    return str(codes)
