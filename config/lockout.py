"""What a locked-out sign-in gets (django-axes' AXES_LOCKOUT_CALLABLE): 429 with Retry-After."""

from axes.helpers import get_cool_off
from django.http import HttpResponse, JsonResponse


def lockout_message(minutes: int) -> str:
    return (
        "Too many failed sign-ins for this username from your address: try again in "
        f"{minutes} minute{'s' if minutes != 1 else ''}, or ask an administrator to reset it "
        "(manage.py axes_reset_username)."
    )


def cool_off_seconds(request) -> int:
    cool_off = get_cool_off(request)
    return int(cool_off.total_seconds()) if cool_off else 3600


def lockout_response(request, original_response=None, credentials=None) -> HttpResponse:
    seconds = cool_off_seconds(request)
    message = lockout_message(max(1, round(seconds / 60)))
    if request.path.startswith("/api/"):
        response = JsonResponse({"error": {"code": "locked_out", "message": message}}, status=429)
    else:
        response = HttpResponse(message, status=429, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = str(seconds)
    return response
