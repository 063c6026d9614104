"""Create mode is for merchants only: shoppers and anonymous users get 403 everywhere."""

from functools import wraps

from django.core.exceptions import PermissionDenied

from catalog.permissions import IsMerchantMember
from catalog.selectors import merchant_of_user

NOT_A_MERCHANT = "Create mode is a merchant-only studio feature: sign in with a merchant account."


class IsCreateMerchant(IsMerchantMember):
    message = NOT_A_MERCHANT


def merchant_required(view):
    """Page views: 403 (not a login redirect) for anyone who is not a merchant's user."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        merchant = merchant_of_user(request.user)
        if merchant is None:
            raise PermissionDenied(NOT_A_MERCHANT)
        return view(request, merchant, *args, **kwargs)

    return wrapper
