"""Merchant catalog API: add a photo to one of your products (the guard checks it first)."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from catalog.images import read_upload
from catalog.models import Product
from catalog.permissions import MerchantApiView
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
