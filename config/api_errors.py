"""The API's error shape in OpenAPI, and errors that carry their own status and code."""

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, inline_serializer
from rest_framework import exceptions, serializers

from config.lockout import cool_off_seconds, lockout_message

ERROR_BODY = inline_serializer(
    "Error",
    {
        "error": inline_serializer(
            "ErrorDetail",
            {
                "code": serializers.CharField(help_text="stable, for programs"),
                "message": serializers.CharField(help_text="a sentence, for people"),
                "fields": serializers.DictField(
                    child=serializers.ListField(child=serializers.CharField()),
                    required=False,
                    help_text="field name: its messages",
                ),
            },
        )
    },
)
ERROR_RESPONSE = OpenApiResponse(
    ERROR_BODY,
    description="An error: its code and a sentence.",
    examples=[
        OpenApiExample(
            "Bad parameter",
            {"error": {"code": "min_value", "message": "page: Ensure this value is >= 1."}},
        )
    ],
)


class LoginLockedOut(exceptions.Throttled):
    """Too many failed sign-ins (django-axes): 429 with Retry-After, like a throttle."""

    default_code = "locked_out"

    def __init__(self, request):
        seconds = cool_off_seconds(request)
        super().__init__(wait=seconds, detail=lockout_message(seconds))


class UnknownParameter(exceptions.APIException):
    status_code = 400
    default_code = "unknown_parameter"


def reject_unknown(names, allowed) -> None:
    """The one unknown-parameter check of every endpoint and page: a misspelt parameter is an
    error, never silently ignored."""
    unknown = sorted(set(names) - set(allowed))
    if unknown:
        raise UnknownParameter(
            f"Unknown parameter(s): {', '.join(unknown)}. Allowed: {', '.join(sorted(allowed))}."
        )


class StrictSerializer(serializers.Serializer):
    """A request serializer that refuses parameters it does not declare."""

    def validate(self, data):
        reject_unknown(self.initial_data, self.fields)
        return data
