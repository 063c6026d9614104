"""The OpenAPI schema documents every status an endpoint can answer, with the error shape.

The statuses follow from what every request goes through (config.middleware, DRF's
authentication, parsers and throttles) and from the view itself, so a new endpoint is
documented as it is written.
"""

from drf_spectacular.openapi import AutoSchema
from rest_framework.parsers import MultiPartParser

from config.api_errors import ERROR_RESPONSE

BODY_METHODS = {"POST", "PUT", "PATCH"}


class FidelisAutoSchema(AutoSchema):
    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for code in self._error_statuses():
            responses.setdefault(code, self._get_response_for_code(ERROR_RESPONSE, code))
        if any(p.get("in") == "query" for p in self._get_parameters()):
            # Answered by gunicorn before the app (limit_request_line), as its own HTML page.
            responses.setdefault(
                "414",
                {
                    "description": "The request line is over 4,094 bytes, gunicorn's limit: "
                    "send fewer or shorter parameter values."
                },
            )
        return responses

    def _error_statuses(self) -> list[str]:
        # 400: a NUL byte, a bad Content-Length or an unknown parameter, anywhere.
        # 403: a bad or expired token on any endpoint, and the permission checks.
        codes = ["400", "403"]
        if "{" in self.path or self._has_page_parameter():
            codes.append("404")  # an object that is not yours, or a page past the last
        if self.method in BODY_METHODS:
            codes += ["413", "415"]  # a body over the limit; a media type the view cannot parse
        if any(issubclass(parser, MultiPartParser) for parser in self.view.parser_classes):
            codes.append("422")  # an image the provenance guard refuses
        if self.view.get_throttles() or self.method in BODY_METHODS:
            codes.append("429")  # a throttle, a sign-in lockout or the create quota
        return codes

    def _has_page_parameter(self) -> bool:
        return any(p.get("name") == "page" for p in self._get_parameters())
