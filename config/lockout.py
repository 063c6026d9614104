"""What a locked-out sign-in gets (django-axes' AXES_LOCKOUT_CALLABLE): 429 with Retry-After."""

from axes.helpers import get_cool_off
from django.http import HttpResponse

from config.middleware import refusal


def lockout_message(seconds: int) -> str:
    minutes = max(1, round(seconds / 60))
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
    response = refusal(request, 429, "locked_out", lockout_message(seconds))
    response["Retry-After"] = str(seconds)
    return response
