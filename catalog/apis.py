"""Merchant catalog API: an API token; add a photo to one of your products (guard-checked)."""

from django.contrib.auth import authenticate
from django.db import transaction
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiExample, extend_schema, inline_serializer
from knox.auth import TokenAuthentication
from knox.models import AuthToken
from rest_framework import exceptions, serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.images import read_upload, single_upload
from catalog.models import Product
from catalog.permissions import MerchantApiView
from catalog.selectors import merchant_of_user
from catalog.services import product_image_create
from config.api_errors import LoginLockedOut
from config.throttles import TokenThrottle


class ProductImageUploadApi(MerchantApiView):
    parser_classes = [MultiPartParser]

    @extend_schema(
        request=inline_serializer("ImageUpload", {"image": serializers.ImageField()}),
        responses={
            201: inline_serializer(
                "UploadedImage",
                {"id": serializers.IntegerField(), "url": serializers.CharField()},
            )
        },
        summary="Add a photo to your product (refused if it is a generated image)",
    )
    def post(self, request, pk: int):
        product = get_object_or_404(Product, pk=pk, merchant=self.merchant)
        data = read_upload(single_upload(request.FILES))
        position = product.images.count()
        image = product_image_create(product=product, data=data, position=position)
        return Response({"id": image.pk, "url": image.file.url}, status=status.HTTP_201_CREATED)


class TokenOutput(serializers.Serializer):
    token = serializers.CharField(help_text="Send as `Authorization: Token <token>`; shown once.")
    expiry = serializers.DateTimeField(help_text="When the token stops working.")
    merchant = serializers.CharField()


# Django's own username limit; the sign-in log (django-axes) stores at most 255 characters.
USERNAME_MAX_LENGTH = 150


class TokenRequest(serializers.Serializer):
    # Bounded before anything is looked up or logged: a longer username reached the sign-in
    # log and ended as a 500 (found by the API fuzzing).
    username = serializers.CharField(max_length=USERNAME_MAX_LENGTH)
    password = serializers.CharField(max_length=1024, trim_whitespace=False)


def _issue_token(user, merchant) -> Response:
    instance, token = AuthToken.objects.create(user=user)
    return Response({"token": token, "expiry": instance.expiry, "merchant": merchant.slug})


class MerchantTokenApi(APIView):
    """A merchant user's username and password in, a new expiring API token out.

    Tokens are stored hashed (django-rest-knox); a user may hold several (one per client).
    Repeated wrong passwords lock the username out from that address (django-axes).
    """

    authentication_classes = []
    permission_classes = []
    throttle_classes = [TokenThrottle]

    @extend_schema(
        request=TokenRequest,
        responses=TokenOutput,
        examples=[OpenApiExample("Demo merchant", {"username": "merchant", "password": "..."})],
        summary="Get a new API token for a merchant user",
    )
    def post(self, request):
        credentials = TokenRequest(data=request.data)
        credentials.is_valid(raise_exception=True)
        user = authenticate(request=request, **credentials.validated_data)
        # django-axes flags the request it was given when the sign-in is locked out.
        if getattr(request, "axes_locked_out", False):
            raise LoginLockedOut(request)
        if user is None:
            raise exceptions.ValidationError(
                "The username and password do not match an active user: check them and try again.",
                code="invalid_credentials",
            )
        merchant = merchant_of_user(user)
        if merchant is None:
            raise exceptions.PermissionDenied("Only a merchant's users get API tokens.")
        return _issue_token(user, merchant)


class TokenApi(MerchantApiView):
    """Endpoints that act on the token the request is signed with."""

    authentication_classes = [TokenAuthentication]


class TokenRotateApi(TokenApi):
    @extend_schema(
        request=None,
        responses=TokenOutput,
        summary="Replace the token you send with a new one (the old one stops working)",
    )
    def post(self, request):
        with transaction.atomic():
            request.auth.delete()
            return _issue_token(request.user, self.merchant)


class TokenRevokeApi(TokenApi):
    @extend_schema(
        request=None,
        responses={204: None},
        summary="Revoke the token you send",
    )
    def post(self, request):
        request.auth.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class TokenRevokeAllApi(TokenApi):
    @extend_schema(
        request=None,
        responses={204: None},
        summary="Revoke every token of your user (for example after a leak)",
    )
    def post(self, request):
        AuthToken.objects.filter(user=request.user).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)
