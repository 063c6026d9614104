"""Merchant catalog API: an API token; add a photo to one of your products (guard-checked)."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiExample, extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.images import read_upload
from catalog.models import Product
from catalog.permissions import MerchantApiView
from catalog.selectors import merchant_of_user
from catalog.services import product_image_create


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
        data = read_upload(request.FILES.get("image"))
        position = product.images.count()
        image = product_image_create(product=product, data=data, position=position)
        return Response({"id": image.pk, "url": image.file.url}, status=status.HTTP_201_CREATED)


class MerchantTokenApi(APIView):
    """A merchant user's username and password in, an API token out (`Authorization: Token ...`)."""

    authentication_classes = []
    permission_classes = []

    @extend_schema(
        request=AuthTokenSerializer,
        responses={
            200: inline_serializer(
                "MerchantToken",
                {"token": serializers.CharField(), "merchant": serializers.CharField()},
            )
        },
        examples=[OpenApiExample("Demo merchant", {"username": "merchant", "password": "..."})],
        summary="Get the API token of a merchant user",
    )
    def post(self, request):
        credentials = AuthTokenSerializer(data=request.data, context={"request": request})
        credentials.is_valid(raise_exception=True)
        user = credentials.validated_data["user"]
        merchant = merchant_of_user(user)
        if merchant is None:
            raise exceptions.PermissionDenied("Only a merchant's users get API tokens.")
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key, "merchant": merchant.slug})
