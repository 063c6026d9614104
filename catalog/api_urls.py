from django.urls import path

from catalog import apis

urlpatterns = [
    path("merchant/token/", apis.MerchantTokenApi.as_view(), name="api-merchant-token"),
    path(
        "merchant/products/<int:pk>/images/",
        apis.ProductImageUploadApi.as_view(),
        name="api-product-image-upload",
    ),
]
