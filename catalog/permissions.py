"""Who may use merchant-only API endpoints: users of a merchant, nobody else (403)."""

from rest_framework import exceptions
from rest_framework.permissions import BasePermission
from rest_framework.views import APIView

from catalog.selectors import merchant_of_user


class IsMerchantMember(BasePermission):
    message = "Only a merchant's users may change its catalog."

    def has_permission(self, request, view) -> bool:
        return merchant_of_user(request.user) is not None


class MerchantApiView(APIView):
    """Base for merchant-only endpoints; `self.merchant` is the signed-in user's shop."""

    permission_classes = [IsMerchantMember]

    def get_authenticate_header(self, request):
        return None  # not signed in is answered 403 like any non-merchant, not 401

    def permission_denied(self, request, message=None, code=None):
        # Signed in or not, the answer names what is missing: a merchant's account.
        raise exceptions.PermissionDenied(detail=message, code=code)

    @property
    def merchant(self):
        return merchant_of_user(self.request.user)
